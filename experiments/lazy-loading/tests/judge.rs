//! The judge on result files: a run of this experiment frozen in
//! `tests/fixtures/run-2026-12-02.json` (quick profile, 64 MiB, 3
//! repetitions, Linux 6.18 on ext4, root, caches dropped for S3), judged as
//! it is and mutated to drive every rule to every verdict it can reach; and
//! the committed reference run, judged as stored. No kernel is involved:
//! these read JSON only.

use std::path::Path;

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};

/// A fixed run to mutate, frozen here so that re-recording
/// `results/reference` does not move the numbers these tests check.
fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-2026-12-02.json");
    let result = mmlab_core::io::read_result(&path).unwrap();
    serde_json::to_value(result).unwrap()
}

/// Today's committed reference run is judged as it is stored.
#[test]
fn the_committed_reference_run_is_judged_as_stored() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/reference/lazy-loading.json");
    let result = mmlab_core::io::read_result(&path).unwrap();
    let verdicts = |claims: &[Claim]| {
        claims
            .iter()
            .map(|c| (c.id.clone(), c.verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        verdicts(&lazy_loading::judge::judge(&result)),
        verdicts(&result.claims)
    );
}

fn judged(file: &Value) -> Vec<Claim> {
    let result: ResultFile = serde_json::from_value(file.clone()).unwrap();
    let claims = lazy_loading::judge::judge(&result);
    let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, lazy_loading::CLAIMS);
    for claim in &claims {
        assert!(!claim.rule.is_empty(), "{}: a rule", claim.id);
        assert!(!claim.thresholds.is_empty(), "{}: thresholds", claim.id);
        assert!(
            claim.evidence.chars().any(|c| c.is_ascii_digit()),
            "{}: evidence with numbers: {}",
            claim.id,
            claim.evidence
        );
    }
    claims
}

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

/// Sets `field` to `value` in every sample matching `filter`; returns how
/// many there were.
fn set(file: &mut Value, filter: &[(&str, &str)], field: &str, value: Value) -> usize {
    let mut n = 0;
    for sample in file["samples"].as_array_mut().unwrap() {
        if filter.iter().all(|(k, v)| sample[*k] == *v) {
            sample[field] = value.clone();
            n += 1;
        }
    }
    assert!(n > 0, "no sample matches {filter:?}");
    n
}

/// Sets `field` of the sample of `filter` in repetition `repetition`.
fn set_in(file: &mut Value, filter: &[(&str, &str)], repetition: u64, field: &str, value: Value) {
    let sample = file["samples"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| filter.iter().all(|(k, v)| s[*k] == *v) && s["repetition"] == repetition)
        .expect("the sample");
    sample[field] = value;
}

/// Sets `delta_kib` of the meminfo rows of `kind` and `field`.
fn set_meminfo(file: &mut Value, action_prefix: &str, field: &str, kib: i64) {
    for row in file["meminfo_deltas"].as_array_mut().unwrap() {
        if row["action"].as_str().unwrap().starts_with(action_prefix) && row["field"] == field {
            row["delta_kib"] = json!(kib);
        }
    }
}

const COLD_MMAP: &[(&str, &str)] = &[
    ("scenario", "touch-k"),
    ("file_state", "cold"),
    ("phase", "mmap"),
];
const FILE_SECOND: &[(&str, &str)] = &[
    ("scenario", "second-pass"),
    ("case", "file MAP_SHARED, read"),
    ("phase", "second pass"),
];

#[test]
fn the_fixture_run_is_judged_from_its_file() {
    let verdicts: Vec<Verdict> = judged(&reference()).iter().map(|c| c.verdict).collect();
    assert_eq!(
        verdicts,
        [
            Verdict::HoldsWithNuance,
            Verdict::HoldsWithNuance,
            Verdict::HoldsWithNuance,
            Verdict::Holds
        ]
    );
}

#[test]
fn s3_reaches_every_verdict() {
    let file = reference();
    expect(
        &file,
        "S3",
        Verdict::HoldsWithNuance,
        // The recorded numbers change with each re-recording: the sentence's
        // shape is checked, not them.
        "KiB to SReclaimable (dentries and inodes in the slab",
    );

    let mut slab_small = reference();
    set_meminfo(&mut slab_small, "stat ", "SReclaimable", 3000);
    expect(
        &slab_small,
        "S3",
        Verdict::Holds,
        "which hold more of the metadata than the slab does",
    );

    // Where metadata lands is the data folder's filesystem's choice.
    expect(
        &file,
        "S3",
        Verdict::HoldsWithNuance,
        "on ext4 (the data folder's filesystem), metadata blocks to Buffers",
    );

    let mut no_buffers = reference();
    set_meminfo(&mut no_buffers, "stat ", "Buffers", 10);
    no_buffers["env"]["data_dir_fs"] = json!("xfs");
    expect(
        &no_buffers,
        "S3",
        Verdict::Refuted,
        "metadata did not land in Buffers on xfs",
    );

    let mut data_elsewhere = reference();
    set_meminfo(&mut data_elsewhere, "cold read()", "Cached", 100);
    expect(
        &data_elsewhere,
        "S3",
        Verdict::Refuted,
        "file data did not land in Cached alone",
    );

    // A read that was not cold says nothing about where data lands.
    let mut warm = reference();
    for row in warm["meminfo_deltas"].as_array_mut().unwrap() {
        if row["action"].as_str().unwrap().starts_with("cold read()") {
            row["storage_read_bytes"] = json!(0);
        }
    }
    expect(&warm, "S3", Verdict::NotMeasured, "the file was not cold");

    // Without MMLAB_DROP_CACHES there is no stat walk: the reason is named.
    let mut not_asked = reference();
    not_asked["meminfo_deltas"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["action"].as_str().unwrap().starts_with("stat "));
    not_asked["metadata_runs"] = json!([{
        "repetition": 0, "n_files": 10000, "stat_measured": false,
        "reason": "evicting the fresh files' metadata means dropping every process's clean caches (drop_caches), which the lab does only when asked: run as root with MMLAB_DROP_CACHES=1 to measure",
    }]);
    expect(
        &not_asked,
        "S3",
        Verdict::NotMeasured,
        "MMLAB_DROP_CACHES=1",
    );
}

#[test]
fn s6_reaches_every_verdict() {
    expect(
        &reference(),
        "S6",
        Verdict::HoldsWithNuance,
        "touching 1 page took 1 fault(s) (1 major), read 8.0 MiB from storage and made 2048 pages resident",
    );

    // The conditions: the disk's readahead window (the fingerprint's, else
    // the param of older files), the kernel and the filesystem.
    expect(
        &reference(),
        "S6",
        Verdict::HoldsWithNuance,
        "(read_ahead_kb of the data folder's disk is 8192: a fault's readahead reads up to 2048 pages)",
    );
    expect(
        &reference(),
        "S6",
        Verdict::HoldsWithNuance,
        "ext4 has them since Linux 6.16) and fault-around maps a large folio whole (Linux 6.18 and later); over single-page folios it maps at most 16 (this run: Linux 6.18.44-fc-v1045 on ext4)",
    );
    let mut older = reference();
    older["env"]["data_dir_read_ahead_kb"] = json!("unknown: no block device");
    older["params"]["read_ahead_kb"] = json!(128);
    older["env"]["kernel"] = json!("6.1.0");
    let warm_all = [
        ("scenario", "touch-k"),
        ("file_state", "warm"),
        ("case", "sequential k=16384"),
        ("phase", "touch"),
    ];
    set(&mut older, &warm_all, "n_faults", json!(1024));
    expect(
        &older,
        "S6",
        Verdict::HoldsWithNuance,
        "(read_ahead_kb of the data folder's disk is 128: a fault's readahead reads up to 32 pages)",
    );
    expect(
        &older,
        "S6",
        Verdict::HoldsWithNuance,
        "took 1024 faults (16 pages per fault); fault-around maps up to 16 pages per fault (fault_around_bytes = 65536, the kernel's default, unreadable in this run; this run: Linux 6.1.0 on ext4)",
    );

    let mut eager = reference();
    set(
        &mut eager,
        COLD_MMAP,
        "n_pages_resident_after",
        json!(16_384),
    );
    expect(&eager, "S6", Verdict::Refuted, "mmap itself loaded data");

    let mut not_cold = eager.clone();
    set(
        &mut not_cold,
        COLD_MMAP,
        "n_pages_resident_before",
        json!(16_384),
    );
    expect(&not_cold, "S6", Verdict::NotMeasured, "was not evicted");

    let mut one_page = reference();
    let one = [
        ("scenario", "touch-k"),
        ("file_state", "cold"),
        ("case", "sequential k=1"),
        ("phase", "touch"),
    ];
    set(&mut one_page, &one, "n_pages_resident_after", json!(1));
    set(&mut one_page, &warm_all, "n_faults", json!(16_384));
    expect(&one_page, "S6", Verdict::Holds, "one page per reference");

    let mut gone = reference();
    set(&mut gone, &one, "n_pages_resident_after", json!(0));
    expect(&gone, "S6", Verdict::Refuted, "left 0 pages");

    let mut unsampled = reference();
    unsampled["samples"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["scenario"] != "touch-k");
    expect(
        &unsampled,
        "S6",
        Verdict::NotMeasured,
        "rerun the touch-k scenario on the 64 MiB file",
    );
}

#[test]
fn s13_can_hold_only_where_map_populate_does_not_prefault() {
    expect(
        &reference(),
        "S13",
        Verdict::HoldsWithNuance,
        "no Linux run can do better",
    );
    // Both passes summed every byte: their times stand side by side.
    expect(
        &reference(),
        "S13",
        Verdict::HoldsWithNuance,
        "both passes summed every byte of the file with the same loop",
    );
    // A run whose mmap pass read one byte per page (recorded before the
    // passes summed every byte) compares storage reads and faults only.
    let mut unequal = reference();
    set(
        &mut unequal,
        &[("scenario", "cold-vs-warm"), ("case", "mmap")],
        "access",
        Value::Null,
    );
    let claim = expect(
        &unequal,
        "S13",
        Verdict::HoldsWithNuance,
        "their times are not compared: in this run the mmap pass read one byte per page",
    );
    assert!(!claim.evidence.contains(" ms, and the read() pass"));

    let populate_mmap = [
        ("scenario", "advice"),
        ("case", "MAP_POPULATE"),
        ("file_state", "cold"),
        ("phase", "mmap"),
    ];
    let mut lazy_populate = reference();
    set(
        &mut lazy_populate,
        &populate_mmap,
        "storage_read_bytes",
        json!(0),
    );
    expect(
        &lazy_populate,
        "S13",
        Verdict::Holds,
        "both paths pay once, on first access",
    );

    let cold_touch = [
        ("scenario", "cold-vs-warm"),
        ("case", "mmap"),
        ("file_state", "cold"),
        ("phase", "touch"),
    ];
    let mut free_lunch = reference();
    set(
        &mut free_lunch,
        &cold_touch,
        "storage_read_bytes",
        json!(1 << 20),
    );
    expect(
        &free_lunch,
        "S13",
        Verdict::Refuted,
        "did not read it from storage",
    );

    // The same numbers with a file that was never evicted: not-measured.
    let cold_call = [
        ("scenario", "cold-vs-warm"),
        ("case", "mmap"),
        ("file_state", "cold"),
        ("phase", "mmap"),
    ];
    set(
        &mut free_lunch,
        &cold_call,
        "n_pages_resident_before",
        json!(16_384),
    );
    expect(&free_lunch, "S13", Verdict::NotMeasured, "was not evicted");

    let warm_read = [
        ("scenario", "cold-vs-warm"),
        ("case", "read()"),
        ("file_state", "warm"),
        ("phase", "read()"),
    ];
    let mut rereads = reference();
    set(
        &mut rereads,
        &warm_read,
        "storage_read_bytes",
        json!(16 << 20),
    );
    expect(
        &rereads,
        "S13",
        Verdict::HoldsWithNuance,
        "not exactly once",
    );

    let mut no_io = reference();
    for sample in no_io["samples"].as_array_mut().unwrap() {
        sample["storage_read_bytes"] = Value::Null;
    }
    expect(
        &no_io,
        "S13",
        Verdict::NotMeasured,
        "CONFIG_TASK_IO_ACCOUNTING",
    );
}

#[test]
fn s15_is_decided_by_medians_and_reports_strays() {
    let claim = expect(
        &reference(),
        "S15",
        Verdict::Holds,
        "no repetition entered the kernel",
    );
    // What was tested, and what was not.
    for part in [
        "tested: writes to private anonymous memory already written once and reads of a warm MAP_SHARED file mapping",
        "not tested, and each able to fault again after set-up: writes to a MAP_SHARED file mapping after writeback",
        "NUMA hinting faults",
        "reclaim of the mapped pages",
    ] {
        assert!(
            claim.evidence.contains(part),
            "{part} in {}",
            claim.evidence
        );
    }
    assert!(!claim.evidence.contains("only interrupts"));

    // One stray fault in one repetition is reported, not a refutation.
    let mut stray = reference();
    set_in(&mut stray, FILE_SECOND, 2, "n_faults", json!(1));
    expect(
        &stray,
        "S15",
        Verdict::Holds,
        "strays: file MAP_SHARED, read repetition 2: 1 fault(s), 0 system call(s)",
    );

    let mut few = reference();
    set(&mut few, FILE_SECOND, "n_faults", json!(2));
    expect(
        &few,
        "S15",
        Verdict::HoldsWithNuance,
        "within 1% of the pages",
    );

    let mut many = reference();
    set(&mut many, FILE_SECOND, "n_faults", json!(1000));
    expect(
        &many,
        "S15",
        Verdict::Refuted,
        "entered the kernel in most repetitions",
    );

    let mut calls = reference();
    set_in(
        &mut calls,
        FILE_SECOND,
        0,
        "perf_raw_syscalls_sys_enter",
        json!(3),
    );
    set_in(
        &mut calls,
        FILE_SECOND,
        1,
        "perf_raw_syscalls_sys_enter",
        json!(3),
    );
    expect(&calls, "S15", Verdict::Refuted, "3 system calls");

    let mut uncounted = reference();
    set(
        &mut uncounted,
        FILE_SECOND,
        "perf_raw_syscalls_sys_enter",
        Value::Null,
    );
    expect(
        &uncounted,
        "S15",
        Verdict::NotMeasured,
        "system calls could not be counted",
    );
}
