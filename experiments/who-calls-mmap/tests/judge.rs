//! The judge on result files: a run recorded on the project's machine
//! (`tests/fixtures/who-calls-mmap.json`: Linux 6.18, glibc 2.36, quick
//! profile; the call listings, summaries and figures cut out, the stored
//! claims emptied; `maps_file=1` added to the mmap case's passes mark, as
//! later runs record it), mutated to drive every rule to every verdict it can
//! reach; and the committed reference run, judged as it is.

use std::path::Path;

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};
use who_calls_mmap::judge::judge;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/who-calls-mmap.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn judged(file: &Value) -> Vec<Claim> {
    let result: ResultFile = serde_json::from_value(file.clone()).unwrap();
    let claims = judge(&result);
    let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, who_calls_mmap::CLAIMS);
    for claim in &claims {
        assert!(!claim.rule.is_empty(), "{}: a rule", claim.id);
        assert!(!claim.thresholds.is_empty(), "{}: thresholds", claim.id);
        assert!(
            claim.verdict == Verdict::NotMeasured
                || claim.evidence.chars().any(|c| c.is_ascii_digit()),
            "{}: evidence with numbers: {}",
            claim.id,
            claim.evidence
        );
    }
    claims
}

/// The claim `id` of `file`, checked to have `verdict` and to say `says`.
fn expect(file: &Value, id: &str, verdict: Verdict, says: &str) -> Claim {
    let claim = judged(file).into_iter().find(|c| c.id == id).unwrap();
    assert_eq!(claim.verdict, verdict, "{id}: {}", claim.evidence);
    assert!(
        claim.evidence.contains(says),
        "{id}: {says:?} in {}",
        claim.evidence
    );
    claim
}

fn case<'a>(file: &'a mut Value, name: &str) -> &'a mut Value {
    file["cases"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["case"] == name)
        .unwrap()
}

/// Replaces `key=old` by `key=new` in the case's marks.
fn set_mark_value(file: &mut Value, name: &str, key: &str, value: u64) {
    for mark in case(file, name)["marks"].as_array_mut().unwrap() {
        let text = mark.as_str().unwrap().to_string();
        let words: Vec<String> = text
            .split(' ')
            .map(
                |w| match w.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
                    Some(_) => format!("{key}={value}"),
                    None => w.to_string(),
                },
            )
            .collect();
        *mark = Value::from(words.join(" "));
    }
}

fn mmap_rows<'a>(file: &'a mut Value, name: &str) -> Vec<&'a mut Value> {
    file["mmap_calls"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .filter(|r| r["case"] == name)
        .collect()
}

#[test]
fn the_recorded_run_is_judged_as_it_was_run() {
    let file = fixture();
    let verdicts: Vec<Verdict> = judged(&file).iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::Holds,
            Verdict::Holds,
            Verdict::HoldsWithNuance,
            Verdict::HoldsWithNuance
        ]
    );
}

#[test]
fn s1_holds_is_refuted_by_other_bytes_or_length_and_not_measured_without_a_mapping() {
    let file = fixture();
    expect(&file, "S1", Verdict::Holds, "matched the file's checksum");

    let mut other_bytes = fixture();
    set_mark_value(&mut other_bytes, "mmap", "checksum", 17);
    expect(&other_bytes, "S1", Verdict::Refuted, "did NOT match");

    let mut short = fixture();
    for row in mmap_rows(&mut short, "mmap") {
        row["len_bytes"] = json!(4096);
    }
    expect(
        &short,
        "S1",
        Verdict::Refuted,
        "the mapping's length is 4096",
    );

    let mut unmapped = fixture();
    unmapped["mmap_calls"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["case"] != "mmap");
    expect(&unmapped, "S1", Verdict::NotMeasured, "made no mmap");

    let mut failed = fixture();
    for row in mmap_rows(&mut failed, "mmap") {
        row["errno"] = json!("ENODEV");
    }
    expect(&failed, "S1", Verdict::NotMeasured, "failed");

    let mut elsewhere = fixture();
    set_mark_value(&mut elsewhere, "mmap", "maps_file", 0);
    expect(
        &elsewhere,
        "S1",
        Verdict::Refuted,
        "did NOT name the data file",
    );
    let mut lineless = fixture();
    set_mark_value(&mut lineless, "mmap", "maps_file", 2);
    expect(&lineless, "S1", Verdict::Refuted, "was NOT found");
    let mut unlooked = fixture();
    set_mark_value(&mut unlooked, "mmap", "maps_file", 1);
    for mark in case(&mut unlooked, "mmap")["marks"].as_array_mut().unwrap() {
        let text = mark.as_str().unwrap().replace(" maps_file=1", "");
        *mark = Value::from(text);
    }
    expect(&unlooked, "S1", Verdict::NotMeasured, "maps_file");

    let mut uncounted = fixture();
    uncounted["params"]
        .as_object_mut()
        .unwrap()
        .remove("data_file_checksum");
    expect(&uncounted, "S1", Verdict::NotMeasured, "data_file_checksum");
}

#[test]
fn s2_reaches_every_verdict() {
    expect(
        &fixture(),
        "S2",
        Verdict::Holds,
        "made 0 of 65536 bytes non-zero and has a blank pathname",
    );

    let mut dirty = fixture();
    set_mark_value(&mut dirty, "anonymous", "nonzero_bytes", 12);
    expect(&dirty, "S2", Verdict::Refuted, "12 of 65536 bytes non-zero");

    let mut named = fixture();
    set_mark_value(&mut named, "anonymous", "maps_path", 1);
    expect(
        &named,
        "S2",
        Verdict::Refuted,
        "not zero-filled memory backed by no file",
    );

    let mut other_fd = fixture();
    for row in mmap_rows(&mut other_fd, "malloc-256k") {
        row["fd"] = json!(3);
    }
    expect(
        &other_fd,
        "S2",
        Verdict::HoldsWithNuance,
        "1 with another fd",
    );

    let mut lost = fixture();
    set_mark_value(&mut lost, "anonymous", "maps_line", 0);
    expect(
        &lost,
        "S2",
        Verdict::NotMeasured,
        "not found in /proc/self/maps",
    );

    let mut absent = fixture();
    absent["cases"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["case"] != "anonymous");
    expect(&absent, "S2", Verdict::NotMeasured, "no anonymous case");
}

#[test]
fn s5_holds_only_without_first_pass_faults_and_is_refuted_by_calls_or_faults_that_should_not_be() {
    let claim = expect(
        &fixture(),
        "S5",
        Verdict::HoldsWithNuance,
        "no Linux run avoids them",
    );
    assert!(claim.evidence.contains("257 read calls of it (256 blocks)"));
    assert_eq!(claim.thresholds["second_pass_faults_allowed"], 2);

    let mut populated = fixture();
    set_mark_value(&mut populated, "mmap", "first_pass_faults", 0);
    expect(&populated, "S5", Verdict::Holds, "then plain memory access");

    let mut stray = fixture();
    set_mark_value(&mut stray, "mmap", "second_pass_faults", 2);
    expect(&stray, "S5", Verdict::HoldsWithNuance, "2 stray fault(s)");

    let mut faulting = fixture();
    set_mark_value(&mut faulting, "mmap", "second_pass_faults", 3);
    expect(
        &faulting,
        "S5",
        Verdict::Refuted,
        "more than the 2 strays allowed",
    );

    // System calls added to the second pass over the mapping.
    let mut calling = fixture();
    case(&mut calling, "mmap")["counts_after_mark"]["second pass"] = json!({"read": 256});
    expect(
        &calling,
        "S5",
        Verdict::Refuted,
        "the second pass made 256 system calls",
    );

    let mut reading = fixture();
    case(&mut reading, "mmap")["counts_on_data_file"]["read"] = json!(1);
    expect(
        &reading,
        "S5",
        Verdict::Refuted,
        "the mmap path read the file 1 time(s)",
    );

    let mut twice = fixture();
    case(&mut twice, "mmap")["counts_on_data_file"]["mmap"] = json!(2);
    expect(&twice, "S5", Verdict::Refuted, "made 2 mmap calls");

    let mut few = fixture();
    case(&mut few, "read-4k")["counts_on_data_file"]["read"] = json!(100);
    expect(
        &few,
        "S5",
        Verdict::Refuted,
        "delivered 256 blocks in 100 calls",
    );

    let mut silent = fixture();
    case(&mut silent, "fs-read")["counts_on_data_file"]["read"] = json!(0);
    expect(&silent, "S5", Verdict::Refuted, "without a read call");

    let mut uncounted = fixture();
    case(&mut uncounted, "mmap")["marks"]
        .as_array_mut()
        .unwrap()
        .retain(|m| !m.as_str().unwrap().starts_with("passes"));
    expect(&uncounted, "S5", Verdict::NotMeasured, "first_pass_faults");

    let mut old = fixture();
    case(&mut old, "read-4k")
        .as_object_mut()
        .unwrap()
        .remove("counts_on_data_file");
    expect(&old, "S5", Verdict::NotMeasured, "counts_on_data_file");
}

#[test]
fn s5_names_the_folios_and_the_fault_around_window_and_they_never_move_the_verdict() {
    // A file recorded before `data_file_folios` existed: no folio sentence.
    let plain = expect(
        &fixture(),
        "S5",
        Verdict::HoldsWithNuance,
        "minor faults in the case",
    );
    assert!(!plain.evidence.contains("folio"), "{}", plain.evidence);

    // The folios of a run on the project's machine (the 1 MiB file written
    // with one write(), Linux 6.18, ext4: one 256-page folio), debugfs not
    // mounted.
    let mut with_folios = fixture();
    with_folios["data_file_folios"] = json!({
        "moment": "right after the mmap case",
        "n_pages_file": 256,
        "folio_histogram": {"256": 1},
        "largest_folio_pages": 256,
        "unreadable": null,
        "fault_around_bytes": 65536,
        "fault_around_read": false,
        "fault_around_source": "not read: debugfs is not mounted; the kernel's default",
    });
    let claim = expect(
        &with_folios,
        "S5",
        Verdict::HoldsWithNuance,
        "(kernel entries that are not system calls; the page cache held the file in folios: 1 of 256 pages; fault_around_bytes = 65536 (not read: debugfs is not mounted; the kernel's default)), and",
    );
    assert_eq!(claim.rule, plain.rule);
    assert_eq!(claim.thresholds, plain.thresholds);
    // The folios explain, they never decide: many first-pass faults with
    // the same folios, same verdict.
    let mut many = with_folios.clone();
    set_mark_value(&mut many, "mmap", "first_pass_faults", 18);
    expect(
        &many,
        "S5",
        Verdict::HoldsWithNuance,
        "took 18 page fault(s)",
    );

    // Without root the sizes are not measured, and the evidence says why.
    let mut unreadable = with_folios.clone();
    unreadable["data_file_folios"]["folio_histogram"] = Value::Null;
    unreadable["data_file_folios"]["unreadable"] = json!("needs CAP_SYS_ADMIN");
    expect(
        &unreadable,
        "S5",
        Verdict::HoldsWithNuance,
        "folio sizes not measured: needs CAP_SYS_ADMIN; fault_around_bytes = 65536",
    );
}

#[test]
fn s11_can_hold_only_where_map_file_has_bits() {
    expect(
        &fixture(),
        "S11",
        Verdict::HoldsWithNuance,
        "no Linux run can show more",
    );

    let mut with_bits = fixture();
    with_bits["params"]["map_file_value"] = json!(0x8000);
    expect(
        &with_bits,
        "S11",
        Verdict::Holds,
        "MAP_FILE need not be given",
    );

    let mut all_gave_it = with_bits.clone();
    for row in all_gave_it["mmap_calls"].as_array_mut().unwrap() {
        if let Some(flags) = row["flags_raw"].as_u64() {
            row["flags_raw"] = json!(flags | 0x8000);
        }
    }
    expect(
        &all_gave_it,
        "S11",
        Verdict::NotMeasured,
        "no file mapping was made without MAP_FILE",
    );

    let mut other_bytes = fixture();
    set_mark_value(&mut other_bytes, "mmap", "checksum", 17);
    expect(
        &other_bytes,
        "S11",
        Verdict::Refuted,
        "did NOT deliver the file's bytes",
    );

    let mut unrecorded = fixture();
    unrecorded["params"]
        .as_object_mut()
        .unwrap()
        .remove("map_file_value");
    expect(&unrecorded, "S11", Verdict::NotMeasured, "map_file_value");
}

#[test]
fn a_run_without_ptrace_is_not_measured_with_the_reason() {
    let mut file = fixture();
    file["warnings"] = json!([{
        "kind": "no-ptrace",
        "message": "ptrace is not permitted here (PTRACE_TRACEME: EPERM); run outside a sandbox",
        "remedy": "run where ptrace is allowed",
    }]);
    for claim in judged(&file) {
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.id);
        assert!(claim.evidence.contains("EPERM"), "{}", claim.evidence);
    }
}

#[test]
fn the_reference_run_can_be_judged() {
    // Recorded before some of the tables the rules read: whatever it lacks
    // makes a claim not-measured, named in the evidence, never a refutation.
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/reference/who-calls-mmap.json");
    let result = mmlab_core::io::read_result(&path).unwrap();
    let claims = judge(&result);
    assert_eq!(claims.len(), who_calls_mmap::CLAIMS.len());
    for claim in &claims {
        assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
        assert_ne!(
            claim.verdict,
            Verdict::Refuted,
            "{}: {}",
            claim.id,
            claim.evidence
        );
    }
}
