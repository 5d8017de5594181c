//! The judge on a result file recorded on the project's machine
//! (`tests/fixtures/filesystems.json`: Linux 6.18, root, scratch ext4, xfs,
//! btrfs and tmpfs, quick profile; claims and figures emptied), mutated to
//! drive S3 to each verdict.

use std::path::Path;

use filesystems::judge::judge;
use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/filesystems.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s3(file: &Value) -> Claim {
    let result: ResultFile = serde_json::from_value(file.clone()).unwrap();
    let claims = judge(&result);
    assert_eq!(claims.len(), 1);
    let claim = claims.into_iter().next().unwrap();
    assert_eq!(claim.id, "S3");
    assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
    claim
}

fn expect(file: &Value, verdict: Verdict, says: &str) {
    let claim = s3(file);
    assert_eq!(claim.verdict, verdict, "{}", claim.evidence);
    assert!(
        claim.evidence.contains(says),
        "{says:?} in {}",
        claim.evidence
    );
}

/// Keeps only the filesystems named.
fn only(file: &mut Value, names: &[&str]) {
    for table in ["filesystems", "cache_moves"] {
        file[table]
            .as_array_mut()
            .unwrap()
            .retain(|r| names.contains(&r["filesystem"].as_str().unwrap()));
    }
}

fn set(file: &mut Value, fs: &str, action: &str, field: &str, value: Value) {
    for row in file["cache_moves"].as_array_mut().unwrap() {
        if row["filesystem"] == fs && row["action"] == action {
            row[field] = value.clone();
        }
    }
}

#[test]
fn the_recorded_run_holds_with_nuance_ext4_splits_and_xfs_btrfs_do_not() {
    expect(
        &fixture(),
        Verdict::HoldsWithNuance,
        "on ext4 file data went to the file's page-cache pages and metadata to the block device's",
    );
    expect(
        &fixture(),
        Verdict::HoldsWithNuance,
        "xfs, btrfs keep metadata elsewhere",
    );
}

#[test]
fn ext4_alone_holds() {
    let mut file = fixture();
    only(&mut file, &["ext4", "tmpfs"]);
    expect(&file, Verdict::Holds, "tmpfs has no storage");
}

#[test]
fn metadata_in_no_device_cache_is_refuted() {
    let mut file = fixture();
    set(
        &mut file,
        "ext4",
        "walk metadata",
        "device_pages_delta",
        json!(0),
    );
    expect(
        &file,
        Verdict::Refuted,
        "on no filesystem measured did metadata reach",
    );
}

#[test]
fn data_not_in_the_files_pages_or_in_the_devices_is_refuted() {
    let mut file = fixture();
    set(
        &mut file,
        "xfs",
        "read file data",
        "file_pages_delta",
        json!(100),
    );
    expect(&file, Verdict::Refuted, "on xfs file data did NOT go");
    let mut file = fixture();
    set(
        &mut file,
        "btrfs",
        "read file data",
        "device_pages_delta",
        json!(8192),
    );
    expect(&file, Verdict::Refuted, "on btrfs file data did NOT go");
}

#[test]
fn nothing_made_or_nothing_recorded_is_not_measured() {
    let mut file = fixture();
    for row in file["filesystems"].as_array_mut().unwrap() {
        if row["filesystem"] != "tmpfs" {
            row["made"] = json!(false);
            row["reason"] = json!("a scratch ext4 needs root");
        }
    }
    expect(&file, Verdict::NotMeasured, "needs root");
    let mut file = fixture();
    file.as_object_mut().unwrap().remove("cache_moves");
    expect(
        &file,
        Verdict::NotMeasured,
        "no filesystems or cache_moves table",
    );
    let mut file = fixture();
    set(
        &mut file,
        "ext4",
        "walk metadata",
        "device_pages_delta",
        Value::Null,
    );
    only(&mut file, &["ext4"]);
    expect(&file, Verdict::NotMeasured, "no complete cache_moves rows");
}
