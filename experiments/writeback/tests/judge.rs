//! The judge on a result file recorded on the project's machine
//! (`tests/fixtures/writeback.json`: Linux 6.18, root, scratch ext4 on a
//! loop device and the data folder on ext4, quick profile; claims and
//! figures emptied), mutated to drive S10 and S15 to each verdict.

use std::path::Path;

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};
use writeback::judge::judge;
use writeback::passes::{PASS_2, PASS_3, PASS_READ, SHARED};
use writeback::timeline::{CHAIN_MSYNC, CHAIN_NO_CALL, MS_SYNC, POLLED};

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/writeback.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn claim(file: &Value, id: &str) -> Claim {
    let result: ResultFile = serde_json::from_value(file.clone()).unwrap();
    let claims = judge(&result);
    assert_eq!(claims.len(), 2);
    let claim = claims.into_iter().find(|c| c.id == id).unwrap();
    assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
    claim
}

fn expect(file: &Value, id: &str, verdict: Verdict, says: &str) {
    let claim = claim(file, id);
    assert_eq!(claim.verdict, verdict, "{}", claim.evidence);
    assert!(
        claim.evidence.contains(says),
        "{says:?} in {}",
        claim.evidence
    );
}

/// Sets `field` on the timeline rows of one chain's moment.
fn set_moment(file: &mut Value, chain: &str, moment: &str, field: &str, value: Value) {
    let mut hit = false;
    for row in file["timeline"].as_array_mut().unwrap() {
        if row["chain"] == chain && row["moment"] == moment {
            row[field] = value.clone();
            hit = true;
        }
    }
    assert!(hit, "no {chain} / {moment} row");
}

/// Sets the faults of the fault-pass rows that `pick` selects.
fn set_faults(file: &mut Value, pick: impl Fn(&Value) -> bool, faults: u64) {
    for row in file["fault_passes"].as_array_mut().unwrap() {
        if pick(row) {
            row["faults"] = json!(faults);
        }
    }
}

#[test]
fn the_recorded_run_holds_with_nuance_for_s10_and_refutes_s15() {
    let file = fixture();
    expect(
        &file,
        "S10",
        Verdict::HoldsWithNuance,
        "right after the write, storage held the old bytes in all 16 pages",
    );
    expect(
        &file,
        "S10",
        Verdict::HoldsWithNuance,
        "after msync(MS_SYNC), new bytes in all 16 pages",
    );
    expect(
        &file,
        "S10",
        Verdict::HoldsWithNuance,
        "vm.dirty_expire_centisecs = 3000",
    );
    expect(
        &file,
        "S10",
        Verdict::HoldsWithNuance,
        "after munmap without msync, the old bytes",
    );
    expect(
        &file,
        "S15",
        Verdict::Refuted,
        "MAP_SHARED file \"3: write after msync(MS_SYNC)\" on the scratch ext4 (4096 faults of 4096 pages)",
    );
    expect(
        &file,
        "S15",
        Verdict::Refuted,
        "only MAP_SHARED file writes",
    );
}

#[test]
fn s10_holds_when_the_bytes_reach_storage_with_no_call() {
    let mut file = fixture();
    set_moment(&mut file, CHAIN_NO_CALL, POLLED, "storage_new", json!(16));
    set_moment(&mut file, CHAIN_NO_CALL, POLLED, "storage_old", json!(0));
    set_moment(
        &mut file,
        CHAIN_NO_CALL,
        POLLED,
        "seconds_since_write",
        json!(31.5),
    );
    expect(
        &file,
        "S10",
        Verdict::Holds,
        "on storage 31.5 s after the write",
    );
}

#[test]
fn s10_is_refuted_when_msync_ms_sync_leaves_storage_old() {
    let mut file = fixture();
    set_moment(&mut file, CHAIN_MSYNC, MS_SYNC, "storage_new", json!(3));
    set_moment(&mut file, CHAIN_MSYNC, MS_SYNC, "storage_old", json!(13));
    expect(
        &file,
        "S10",
        Verdict::Refuted,
        "after msync(MS_SYNC), new bytes in 3 of 16 pages",
    );
}

#[test]
fn s10_is_not_measured_without_a_scratch_filesystem_or_readable_storage() {
    let mut file = fixture();
    file["filesystems"] = json!([{"filesystem": "ext4", "made": false,
        "reason": "a scratch ext4 needs root (mount, loop devices): run as root"}]);
    file["timeline"] = json!([]);
    expect(&file, "S10", Verdict::NotMeasured, "needs root");
    let mut file = fixture();
    set_moment(&mut file, CHAIN_MSYNC, MS_SYNC, "storage_new", Value::Null);
    set_moment(
        &mut file,
        CHAIN_MSYNC,
        MS_SYNC,
        "storage_error",
        json!("an extent that is not plainly on the device"),
    );
    expect(
        &file,
        "S10",
        Verdict::NotMeasured,
        "not plainly on the device",
    );
    let mut file = fixture();
    file.as_object_mut().unwrap().remove("timeline");
    expect(
        &file,
        "S10",
        Verdict::NotMeasured,
        "no filesystems or timeline table",
    );
}

#[test]
fn s15_holds_when_no_later_pass_faults_and_holds_with_nuance_on_strays() {
    let later = |r: &Value| [PASS_2, PASS_READ, PASS_3].contains(&r["pass"].as_str().unwrap());
    let mut file = fixture();
    set_faults(&mut file, later, 0);
    expect(
        &file,
        "S15",
        Verdict::Holds,
        "no pass after the first faulted",
    );
    let mut file = fixture();
    set_faults(&mut file, later, 0);
    set_faults(
        &mut file,
        |r| r["mapping"] == SHARED && r["pass"] == PASS_3,
        12,
    );
    expect(
        &file,
        "S15",
        Verdict::HoldsWithNuance,
        "within 1% of the pages",
    );
}

#[test]
fn s15_names_private_or_anonymous_refaults_without_blaming_writeback() {
    let mut file = fixture();
    set_faults(
        &mut file,
        |r| r["mapping"] == "anonymous" && r["pass"] == PASS_2,
        4096,
    );
    let claim = claim(&file, "S15");
    assert_eq!(claim.verdict, Verdict::Refuted);
    assert!(
        claim.evidence.contains("anonymous \"2: write again\""),
        "{}",
        claim.evidence
    );
    assert!(
        !claim.evidence.contains("only MAP_SHARED"),
        "{}",
        claim.evidence
    );
}

#[test]
fn s15_is_not_measured_without_passes() {
    let mut file = fixture();
    file["fault_passes"] = json!([]);
    expect(&file, "S15", Verdict::NotMeasured, "no fault_passes rows");
    let mut file = fixture();
    file["fault_passes"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["pass_index"] == 1);
    expect(
        &file,
        "S15",
        Verdict::NotMeasured,
        "no pass after the first",
    );
}
