//! The judge on a result file recorded on the project's machine
//! (`tests/fixtures/where-mmap-loses.json`: 2026-12-02, Linux 6.18 in a
//! 2-vCPU VM, root, data folder on ext4 on a virtio disk, quick profile;
//! claims and figures emptied), mutated to drive each claim to each verdict.

use std::path::Path;

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};
use where_mmap_loses::judge::judge;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/where-mmap-loses.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn verdict_of(file: &Value, id: &str) -> Claim {
    let result: ResultFile = serde_json::from_value(file.clone()).unwrap();
    let claims = judge(&result);
    assert_eq!(
        claims.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        where_mmap_loses::CLAIMS
    );
    for c in &claims {
        assert!(!c.rule.is_empty(), "{} has no rule", c.id);
        assert!(
            c.id == "L4" || !c.thresholds.is_empty(),
            "{} has no thresholds",
            c.id
        );
    }
    claims.into_iter().find(|c| c.id == id).unwrap()
}

fn expect(file: &Value, id: &str, verdict: Verdict, says: &str) {
    let claim = verdict_of(file, id);
    assert_eq!(claim.verdict, verdict, "{id}: {}", claim.evidence);
    assert!(
        claim.evidence.contains(says),
        "{id}: {says:?} in {}",
        claim.evidence
    );
}

/// Applies `f` to every sample of `part`.
fn each(file: &mut Value, part: &str, mut f: impl FnMut(&mut Value)) {
    for row in file["samples"].as_array_mut().unwrap() {
        if row["part"] == part {
            f(row);
        }
    }
}

// L1 ------------------------------------------------------------------

#[test]
fn l1_recorded_run_is_refuted_with_its_crossover() {
    let file = fixture();
    expect(
        &file,
        "L1",
        Verdict::Refuted,
        "a read()-family method beat mmap at 4 KiB",
    );
    expect(
        &file,
        "L1",
        Verdict::Refuted,
        "crossover: mmap wins from 4 MiB",
    );
}

/// Sets mmap's time per file at each size to `factor` times the fastest
/// other method's in the same round.
fn mmap_as(file: &mut Value, factor: f64) {
    let rows = file["samples"].as_array().unwrap().clone();
    each(file, "small-files", |row| {
        if row["method"] != "mmap" {
            return;
        }
        let best = rows
            .iter()
            .filter(|r| {
                r["part"] == "small-files"
                    && r["method"] != "mmap"
                    && r["size_bytes"] == row["size_bytes"]
                    && r["round"] == row["round"]
            })
            .filter_map(|r| r["ns_per_file"].as_f64())
            .fold(f64::INFINITY, f64::min);
        row["ns_per_file"] = json!(best * factor);
    });
}

#[test]
fn l1_mmap_winning_everywhere_holds() {
    let mut file = fixture();
    mmap_as(&mut file, 0.5);
    expect(
        &file,
        "L1",
        Verdict::Holds,
        "mmap won at every size measured (crossover: mmap wins from 4 KiB",
    );
}

#[test]
fn l1_a_tie_everywhere_is_holds_with_nuance_and_no_crossover() {
    let mut file = fixture();
    // Every method as fast as mmap in every round.
    let rows = file["samples"].as_array().unwrap().clone();
    each(&mut file, "small-files", |row| {
        let mmap = rows
            .iter()
            .find(|r| {
                r["part"] == "small-files"
                    && r["method"] == "mmap"
                    && r["size_bytes"] == row["size_bytes"]
                    && r["round"] == row["round"]
            })
            .unwrap();
        row["ns_per_file"] = mmap["ns_per_file"].clone();
    });
    expect(
        &file,
        "L1",
        Verdict::HoldsWithNuance,
        "crossover: none in range (4 KiB to 64 MiB",
    );
}

#[test]
fn l1_without_rows_or_with_a_wrong_sum_is_not_measured() {
    let mut file = fixture();
    file["samples"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["part"] != "small-files");
    expect(&file, "L1", Verdict::NotMeasured, "no small-files rows");
    let mut file = fixture();
    let mut first = true;
    each(&mut file, "small-files", |row| {
        if first && row["method"] == "pread()" {
            row["sums_ok"] = json!(false);
            first = false;
        }
    });
    expect(&file, "L1", Verdict::NotMeasured, "pread() at 4 KiB summed");
}

// L2 ------------------------------------------------------------------

fn scale_family(file: &mut Value, family: &str, factor: f64) {
    each(file, "random-reads", |row| {
        if row["family"] == family
            && let Some(v) = row["reads_per_s"].as_f64()
        {
            row["reads_per_s"] = json!(v * factor);
        }
    });
}

#[test]
fn l2_recorded_run_is_too_close_between_the_fastest_of_each() {
    // pread() from 8 threads and mmap from 8 threads: within the margin.
    expect(
        &fixture(),
        "L2",
        Verdict::HoldsWithNuance,
        "too close to call between the fastest of each",
    );
    expect(
        &fixture(),
        "L2",
        Verdict::HoldsWithNuance,
        "against mmap from 1 thread: 2.",
    );
}

#[test]
fn l2_a_clearly_faster_alternative_refutes_and_a_faster_mmap_holds() {
    let mut file = fixture();
    scale_family(&mut file, "mmap", 0.4);
    expect(
        &file,
        "L2",
        Verdict::Refuted,
        "the fastest read()-family method beat the fastest mmap method",
    );
    let mut file = fixture();
    scale_family(&mut file, "mmap", 3.0);
    expect(
        &file,
        "L2",
        Verdict::Holds,
        "the fastest mmap method beat every read()-family method",
    );
}

#[test]
fn l2_invalid_passes_do_not_count_and_no_valid_side_is_not_measured() {
    let mut file = fixture();
    each(&mut file, "random-reads", |row| {
        if row["family"] == "mmap" {
            row["resident_pages_before"] = json!(12);
        }
        if row["method"] == "io_uring, depth 8" {
            row.as_object_mut().unwrap().remove("reads_per_s");
            row["error"] = json!("io_uring_setup failed: Operation not permitted (os error 1)");
        }
    });
    expect(
        &file,
        "L2",
        Verdict::NotMeasured,
        "no valid pass of an mmap method",
    );
    expect(
        &file,
        "L2",
        Verdict::NotMeasured,
        "io_uring, depth 8: 5 of 5 passes not counted (io_uring_setup failed",
    );
    expect(
        &file,
        "L2",
        Verdict::NotMeasured,
        "12 pages were still cached before the pass",
    );
}

// L3 ------------------------------------------------------------------

#[test]
fn l3_recorded_run_is_refuted_by_time_and_shootdowns() {
    expect(
        &fixture(),
        "L3",
        Verdict::Refuted,
        "with 2, 4 threads munmap took longer beyond the margin and other CPUs received TLB shootdowns",
    );
    expect(
        &fixture(),
        "L3",
        Verdict::Refuted,
        "1.00 shootdown interrupts on other CPUs per munmap",
    );
}

/// Gives every munmap with more than one thread the time of a baseline
/// trial of the same round and index.
fn flatten_munmap_time(file: &mut Value) {
    let rows = file["samples"].as_array().unwrap().clone();
    each(file, "unmap", |row| {
        if row["op"] != "munmap" || row["threads"] == 1 {
            return;
        }
        let base = rows
            .iter()
            .find(|r| {
                r["part"] == "unmap"
                    && r["op"] == "munmap"
                    && r["threads"] == 1
                    && r["round"] == row["round"]
                    && r["trial"] == row["trial"]
            })
            .unwrap();
        row["elapsed_ns"] = base["elapsed_ns"].clone();
    });
}

#[test]
fn l3_shootdowns_without_a_slower_munmap_is_holds_with_nuance() {
    let mut file = fixture();
    flatten_munmap_time(&mut file);
    expect(
        &file,
        "L3",
        Verdict::HoldsWithNuance,
        "with 2, 4 threads other CPUs received shootdowns but the time stayed within",
    );
}

#[test]
fn l3_no_shootdowns_and_no_slowdown_holds() {
    let mut file = fixture();
    flatten_munmap_time(&mut file);
    each(&mut file, "unmap", |row| {
        row["tlb_irqs_other_cpus"] = json!(0)
    });
    expect(
        &file,
        "L3",
        Verdict::Holds,
        "munmap's time did not grow with threads",
    );
}

#[test]
fn l3_without_the_tlb_line_the_tracepoint_decides() {
    let mut file = fixture();
    each(&mut file, "unmap", |row| {
        row["tlb_irqs_other_cpus"] = Value::Null;
    });
    expect(
        &file,
        "L3",
        Verdict::Refuted,
        "tlb:tlb_flush on the helper threads",
    );
    file.as_object_mut().unwrap().remove("unmap_counts");
    expect(
        &file,
        "L3",
        Verdict::HoldsWithNuance,
        "munmap took longer but no shootdowns were counted",
    );
}

#[test]
fn l3_one_cpu_or_no_rows_is_not_measured() {
    let mut file = fixture();
    file["params"]["cpus_allowed"] = json!([0]);
    expect(&file, "L3", Verdict::NotMeasured, "one CPU only");
    let mut file = fixture();
    file["samples"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["part"] != "unmap");
    expect(&file, "L3", Verdict::NotMeasured, "no unmap rows");
}

// L4 ------------------------------------------------------------------

#[test]
fn l4_recorded_run_is_refuted_by_sigbus_against_a_count_and_eio() {
    let file = fixture();
    expect(
        &file,
        "L4",
        Verdict::Refuted,
        "truncated: page past the new end: read() returned 0 (end of file), through the mapping killed by signal SIGBUS/BUS_ADRERR",
    );
    expect(
        &file,
        "L4",
        Verdict::Refuted,
        "I/O error: page past the shrunk device: read() failed: EIO, through the mapping killed by signal SIGBUS/BUS_ADRERR",
    );
}

#[test]
fn l4_same_outcomes_hold_and_other_differences_are_nuanced() {
    let mut file = fixture();
    for row in file["error_outcomes"].as_array_mut().unwrap() {
        row["kind"] = json!("returned");
    }
    expect(
        &file,
        "L4",
        Verdict::Holds,
        "returned data in every scenario",
    );
    let mut file = fixture();
    for row in file["error_outcomes"].as_array_mut().unwrap() {
        if row["access"] == "mmap access" && row["kind"] == "signal" {
            row["kind"] = json!("other");
            row["outcome"] = json!("timeout after 5000 ms");
        }
    }
    expect(
        &file,
        "L4",
        Verdict::HoldsWithNuance,
        "the outcomes differ in truncated: page past the new end",
    );
}

#[test]
fn l4_without_the_truncation_scenario_is_not_measured_and_a_missing_io_error_is_named() {
    let mut file = fixture();
    file["error_outcomes"]
        .as_array_mut()
        .unwrap()
        .retain(|r| r["scenario"] != "truncated: page past the new end");
    expect(&file, "L4", Verdict::NotMeasured, "truncation scenario");
    let mut file = fixture();
    file["error_outcomes"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["scenario"].as_str().unwrap().starts_with("I/O error"));
    file["io_error_setup"] = json!({"error": "a scratch ext4 needs root"});
    expect(
        &file,
        "L4",
        Verdict::Refuted,
        "the I/O-error scenario was not measured: a scratch ext4 needs root",
    );
}
