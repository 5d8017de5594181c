//! Fixture tests of the judge step: the committed reference run (quick
//! profile, 256 MiB, ext4, root), mutated, drives each rule to each
//! verdict it can reach. No kernel is involved: these read JSON only.

use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::{Availability, Claim, ResultFile, Verdict};
use repeated_access::judge::judge;
use repeated_access::rows::Passes;
use serde_json::{Value, json};
const MIB: u64 = 1 << 20;

/// A fixed run to mutate: the reference run of 2026-11-28, frozen here so
/// that re-recording `results/reference` does not move the numbers these
/// tests were written against.
fn reference() -> ResultFile {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/reference-run-2026-11-28.json"
    );
    mmlab_core::io::read_result(std::path::Path::new(path)).expect("the fixture run")
}

/// Today's committed reference run is judged the same as it is stored.
#[test]
fn the_committed_reference_run_is_judged_as_stored() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../results/reference/repeated-access.json"
    );
    let result = mmlab_core::io::read_result(std::path::Path::new(path)).unwrap();
    let judged = repeated_access::judge::judge(&result);
    let verdicts = |claims: &[Claim]| {
        claims
            .iter()
            .map(|c| (c.id.clone(), c.verdict))
            .collect::<Vec<_>>()
    };
    assert_eq!(verdicts(&judged), verdicts(&result.claims));
}

fn judged(result: &ResultFile) -> [Claim; 3] {
    let claims = judge(result);
    let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["S5", "S13", "S14"]);
    for claim in &claims {
        assert!(!claim.rule.is_empty(), "{}", claim.id);
        assert!(!claim.thresholds.is_empty(), "{}", claim.id);
        assert!(!claim.evidence.is_empty(), "{}", claim.id);
    }
    [claims[0].clone(), claims[1].clone(), claims[2].clone()]
}

/// Applies `f` to every sample of `scenario` and `series` (any when
/// `None`) that `passes` selects.
fn edit(
    result: &mut ResultFile,
    scenario: Option<&str>,
    series: &str,
    passes: Passes,
    f: impl Fn(&mut Value),
) {
    for sample in &mut result.samples {
        let index = sample["pass_index"].as_u64().unwrap();
        let chosen = scenario.is_none_or(|s| sample["scenario"] == s)
            && sample["series"] == series
            && match passes {
                Passes::First => index == 1,
                Passes::Later => index > 1,
                Passes::Every => true,
            };
        if chosen {
            f(sample);
        }
    }
}

fn scale(sample: &mut Value, field: &str, by: f64) {
    sample[field] = json!(sample[field].as_f64().unwrap() * by);
}

fn assert_has(claim: &Claim, needle: &str) {
    assert!(
        claim.evidence.contains(needle),
        "{needle}: {}",
        claim.evidence
    );
}

#[test]
fn the_reference_run_is_judged_as_it_was_recorded() {
    let [s5, s13, s14] = judged(&reference());
    assert_eq!(s5.verdict, Verdict::HoldsWithNuance, "{}", s5.evidence);
    assert_has(
        &s5,
        "read() made 65,537 / 4,097 / 257 system calls per pass",
    );
    assert_has(&s5, "No Linux run avoids those faults");
    assert_eq!(s13.verdict, Verdict::Holds, "{}", s13.evidence);
    assert_has(&s13, "read from storage: 256 MiB and 256 MiB");
    assert_eq!(s14.verdict, Verdict::Holds, "{}", s14.evidence);
    assert_has(
        &s14,
        "steady-state mmap-reused 13.5 GB/s = 2.58x at 4k, 1.98x at 64k, 1.95x at 1m read()'s (p5-p95 1.72-2.21x over 14 paired passes at read()'s best block size, 1m)",
    );
}

// The acceptance checks.

#[test]
fn s14_is_refuted_when_every_mmap_reused_sample_is_ten_times_slower() {
    let mut result = reference();
    edit(&mut result, None, "mmap-reused", Passes::Every, |s| {
        scale(s, "gb_per_s", 0.1)
    });
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::Refuted, "{}", s14.evidence);
    assert_has(&s14, "slower than read() at 1m");
}

#[test]
fn s5_is_refuted_when_later_mmap_passes_make_system_calls() {
    let mut result = reference();
    for series in [
        "mmap-reused",
        "mmap-copy 4k",
        "mmap-copy 64k",
        "mmap-copy 1m",
    ] {
        edit(&mut result, None, series, Passes::Later, |s| {
            s["n_syscalls"] = json!(s["n_syscalls"].as_u64().unwrap() + 3)
        });
    }
    let [s5, _, _] = judged(&result);
    assert_eq!(s5.verdict, Verdict::Refuted, "{}", s5.evidence);
    assert_has(&s5, "later passes made 3 system calls each (median)");
}

// S5: every verdict.

#[test]
fn s5_holds_only_with_a_first_mmap_pass_that_takes_no_fault() {
    let mut result = reference();
    edit(
        &mut result,
        Some("warm"),
        "mmap-reused",
        Passes::First,
        |s| s["n_faults"] = json!(0),
    );
    let [s5, _, _] = judged(&result);
    assert_eq!(s5.verdict, Verdict::Holds, "{}", s5.evidence);
}

#[test]
fn s5_is_refuted_by_read_calls_or_later_faults_but_not_by_one_stray_pass() {
    let mut result = reference();
    edit(&mut result, Some("warm"), "read 64k", Passes::Every, |s| {
        s["n_syscalls"] = json!(2 * 4097)
    });
    let [s5, _, _] = judged(&result);
    assert_eq!(s5.verdict, Verdict::Refuted, "{}", s5.evidence);
    assert_has(&s5, "read() was off ceil(s/b)+1 by 100.00%");

    let mut result = reference();
    edit(
        &mut result,
        Some("warm"),
        "mmap-reused",
        Passes::Later,
        |s| s["n_faults"] = json!(1000),
    );
    let [s5, _, _] = judged(&result);
    assert_eq!(s5.verdict, Verdict::Refuted, "{}", s5.evidence);
    assert_has(&s5, "later passes took 1,000 faults each");

    // One later pass of fourteen with a stray call and fault: the median
    // does not move.
    let mut result = reference();
    let mut first = true;
    for sample in result
        .samples
        .iter_mut()
        .filter(|s| s["scenario"] == "warm" && s["series"] == "mmap-reused" && s["pass_index"] == 5)
    {
        if std::mem::take(&mut first) {
            sample["n_syscalls"] = json!(1);
            sample["n_faults"] = json!(3);
        }
    }
    assert_eq!(judged(&result)[0].verdict, Verdict::HoldsWithNuance);
}

#[test]
fn s5_is_not_measured_without_system_call_counts() {
    let mut result = reference();
    for sample in &mut result.samples {
        sample["n_syscalls"] = Value::Null;
    }
    result.counters_available.insert(
        "raw_syscalls:sys_enter".into(),
        Availability::Unavailable("needs root (tracefs)".into()),
    );
    let [s5, _, _] = judged(&result);
    assert_eq!(s5.verdict, Verdict::NotMeasured, "{}", s5.evidence);
    assert_has(
        &s5,
        "system calls could not be counted (needs root (tracefs))",
    );
}

// S13: every verdict.

#[test]
fn s13_nuance_when_the_prices_differ_or_are_too_close_to_call() {
    let mut result = reference();
    edit(
        &mut result,
        Some("cold"),
        "mmap-reused",
        Passes::First,
        |s| scale(s, "elapsed_ms", 2.0),
    );
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::HoldsWithNuance, "{}", s13.evidence);
    assert_has(
        &s13,
        "not the same price (mmap-reused was the slower one cold",
    );

    // read 64k cold: 150 and 250 ms against mmap's 172 and 173 ms: the
    // median ratio (1.16x) is below 1.25x, its range is not.
    let mut result = reference();
    for (repetition, ms) in [(0, 150.0), (1, 250.0)] {
        edit(&mut result, Some("cold"), "read 64k", Passes::First, |s| {
            if s["repetition"] == repetition {
                s["elapsed_ms"] = json!(ms);
            }
        });
    }
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::HoldsWithNuance, "{}", s13.evidence);
    assert_has(&s13, "too close to call");
    assert_has(&s13, "read 64k / mmap-reused = 1.16x, p5-p95 0.90-1.42x");
}

#[test]
fn s13_unknown_storage_reads_cap_the_verdict_at_nuance() {
    let mut result = reference();
    edit(
        &mut result,
        Some("cold"),
        "mmap-reused",
        Passes::First,
        |s| s["io_read_bytes"] = Value::Null,
    );
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::HoldsWithNuance, "{}", s13.evidence);
    assert_has(&s13, "storage reads unknown");
}

#[test]
fn s13_is_refuted_when_one_did_not_pay() {
    let mut result = reference();
    edit(
        &mut result,
        Some("cold"),
        "mmap-reused",
        Passes::First,
        |s| s["io_read_bytes"] = json!(100 * MIB),
    );
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::Refuted, "{}", s13.evidence);
    assert_has(&s13, "less than 90%");

    // Not slower cold than warm, storage reads unknown: timing decides.
    let mut result = reference();
    edit(
        &mut result,
        Some("cold"),
        "mmap-reused",
        Passes::First,
        |s| {
            s["elapsed_ms"] = json!(19.0);
            s["io_read_bytes"] = Value::Null;
        },
    );
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::Refuted, "{}", s13.evidence);
    assert_has(&s13, "mmap-reused was not 1.1x slower cold than warm");
}

#[test]
fn s13_is_not_measured_when_the_file_stayed_cached_or_residency_is_unknown() {
    // tmpfs: nothing evicted, nothing read, no slower: never refuted.
    let mut result = reference();
    result.env.data_dir_fs = "tmpfs".into();
    result.env.data_dir = "/dev/shm/mmlab-1-2".into();
    for sample in &mut result.samples {
        if sample["scenario"] != "warm" {
            sample["resident_pages_before"] = sample["file_pages"].clone();
            sample["io_read_bytes"] = json!(0);
        }
    }
    let [_, s13, s14] = judged(&result);
    assert_eq!(s13.verdict, Verdict::NotMeasured, "{}", s13.evidence);
    for needle in ["65,536 of 65,536 pages", "on tmpfs", DISK_DATA_DIR] {
        assert_has(&s13, needle);
    }
    // S14 is decided by the warm passes and says the rest was not measured.
    assert_eq!(s14.verdict, Verdict::Holds, "{}", s14.evidence);
    assert_has(
        &s14,
        "the evict-every-pass scenario (page cache too small, simulated) was not measured: 24 of 24 passes",
    );

    let mut result = reference();
    edit(&mut result, Some("cold"), "read 64k", Passes::First, |s| {
        s["resident_pages_before"] = Value::Null
    });
    let [_, s13, _] = judged(&result);
    assert_eq!(s13.verdict, Verdict::NotMeasured, "{}", s13.evidence);
    assert_has(
        &s13,
        "residency was not read before 2 of 2 cold first passes",
    );
}

// S14: every verdict.

#[test]
fn s14_nuance_when_faster_at_some_block_sizes_only_or_too_close_to_call() {
    // mmap-reused at 0.55x: clearly faster than read() at 4k only.
    let mut result = reference();
    edit(
        &mut result,
        Some("warm"),
        "mmap-reused",
        Passes::Every,
        |s| scale(s, "gb_per_s", 0.55),
    );
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::HoldsWithNuance, "{}", s14.evidence);
    assert_has(&s14, "faster than read() with 4k");

    // Every read() block size at read() 1m's own speeds, and mmap-reused
    // at 1.0 and 1.2 times them in turn: the paired ratios run from 1.0x
    // to 1.2x, a range that straddles 1.10x at every block size.
    let mut result = reference();
    let read_1m: Vec<f64> = result
        .samples
        .iter()
        .filter(|s| s["scenario"] == "warm" && s["series"] == "read 1m")
        .map(|s| s["gb_per_s"].as_f64().unwrap())
        .collect();
    for series in ["mmap-reused", "read 4k", "read 64k"] {
        let chosen = result
            .samples
            .iter_mut()
            .filter(|s| s["scenario"] == "warm" && s["series"] == series);
        for (i, (sample, speed)) in chosen.zip(&read_1m).enumerate() {
            let by = match (series, i % 2) {
                ("mmap-reused", 0) => 1.0,
                ("mmap-reused", _) => 1.2,
                _ => 1.0,
            };
            sample["gb_per_s"] = json!(speed * by);
        }
    }
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::HoldsWithNuance, "{}", s14.evidence);
    assert_has(
        &s14,
        "too close to call whether mmap is 1.10x faster than read()",
    );
}

#[test]
fn s14_is_refuted_when_slower_or_about_as_fast_at_every_block_size() {
    let mut result = reference();
    edit(
        &mut result,
        Some("warm"),
        "mmap-reused",
        Passes::Every,
        |s| scale(s, "gb_per_s", 0.3),
    );
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::Refuted, "{}", s14.evidence);
    assert_has(&s14, "slower than read() at 1m");
    // Steady speeds (no spread): 1.05x, 1.00x and 0.98x read().
    let mut result = reference();
    for (series, gb) in [
        ("mmap-reused", 10.0),
        ("read 4k", 9.5),
        ("read 64k", 10.0),
        ("read 1m", 10.2),
    ] {
        edit(&mut result, Some("warm"), series, Passes::Every, |s| {
            s["gb_per_s"] = json!(gb)
        });
    }
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::Refuted, "{}", s14.evidence);
    assert_has(&s14, "about as fast as read() at 4k (1.05x");
}

#[test]
fn s14_is_not_measured_when_the_page_cache_did_not_hold_the_file() {
    let mut result = reference();
    for sample in &mut result.samples {
        if sample["scenario"] == "warm" && sample["pass_index"].as_u64() > Some(1) {
            sample["resident_pages_before"] = json!(30_000);
        }
    }
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::NotMeasured, "{}", s14.evidence);
    assert_has(&s14, "the page cache did not hold the file");

    let mut result = reference();
    result
        .samples
        .retain(|s| !(s["scenario"] == "warm" && s["series"] == "mmap-reused"));
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::NotMeasured, "{}", s14.evidence);
}

/// The reference with a memory-limit scenario of `limit`: the cold
/// samples again under that name.
fn with_memory_limit(limit: u64) -> ResultFile {
    let mut result = reference();
    result
        .params
        .insert("memory_limit_bytes".into(), json!(limit));
    let limited: Vec<Value> = result
        .samples
        .iter()
        .filter(|s| s["scenario"] == "cold")
        .map(|s| {
            let mut s = s.clone();
            s["scenario"] = json!("memory-limit");
            s
        })
        .collect();
    result.samples.extend(limited);
    result
}

#[test]
fn s14_says_what_a_memory_limit_was() {
    let [_, _, s14] = judged(&with_memory_limit(128 * MIB));
    assert_has(
        &s14,
        "in a memory cgroup limited to 128 MiB (a real page cache too small)",
    );
    assert_eq!(
        s14.scenario.as_deref(),
        Some("warm, cold, evict-every-pass and memory-limit over a 256 MiB file")
    );
    let [_, _, s14] = judged(&with_memory_limit(512 * MIB));
    assert_has(
        &s14,
        "in a memory cgroup limited to 512 MiB, not smaller than the 256 MiB file",
    );
    // On tmpfs neither scenario measured an eviction; the reason once.
    let mut result = with_memory_limit(128 * MIB);
    result.env.data_dir_fs = "tmpfs".into();
    result.env.data_dir = "/dev/shm/mmlab-1-2".into();
    for sample in &mut result.samples {
        if sample["scenario"] != "warm" {
            sample["resident_pages_before"] = sample["file_pages"].clone();
        }
    }
    let [_, _, s14] = judged(&result);
    assert_eq!(s14.verdict, Verdict::Holds, "{}", s14.evidence);
    assert_has(
        &s14,
        "the memory-limit scenario (a memory cgroup limited to 128 MiB) was not measured either: 12 of 12 passes",
    );
    assert_eq!(
        s14.evidence.matches("on tmpfs").count(),
        1,
        "{}",
        s14.evidence
    );
    for wrong in [
        "with the file evicted before every pass",
        "a real page cache too small",
    ] {
        assert!(!s14.evidence.contains(wrong), "{wrong}: {}", s14.evidence);
    }
}

#[test]
fn a_file_without_samples_or_params_is_not_measured() {
    let mut result = reference();
    result.params.remove("file_sizes_bytes");
    for claim in judged(&result) {
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        assert_has(&claim, "params.file_sizes_bytes");
    }
    let mut result = reference();
    result.samples[3]["gb_per_s"] = json!("fast");
    for claim in judged(&result) {
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        assert_has(&claim, "sample 3 cannot be read");
    }
}

/// S14's evict-every-pass speeds are the medians of passes 2 and later, as
/// in the series table and the figures (one definition everywhere).
#[test]
fn s14_quotes_the_evict_every_pass_scenario_over_its_later_passes() {
    let result = reference();
    let later = |series: &str| {
        let v: Vec<f64> = result
            .samples
            .iter()
            .filter(|s| {
                s["scenario"] == "evict-every-pass"
                    && s["series"] == series
                    && s["pass_index"].as_u64().unwrap() > 1
            })
            .map(|s| s["gb_per_s"].as_f64().unwrap())
            .collect();
        mmlab_core::stats::median(&v).unwrap()
    };
    let (m, r) = (later("mmap-reused"), later("read 64k"));
    let [_, _, s14] = judged(&result);
    assert_has(
        &s14,
        &format!(
            "mmap-reused ran at {m:.1} GB/s and read() 64k at {r:.1} GB/s ({:.2}x, passes 2 and later",
            m / r
        ),
    );
    let table = result.extra["series_table"].as_array().unwrap();
    let row = |series: &str| {
        table
            .iter()
            .find(|row| row["scenario"] == "evict-every-pass" && row["series"] == series)
            .unwrap()["steady_state_gb_per_s"]
            .as_f64()
            .unwrap()
    };
    assert!((row("mmap-reused") - m).abs() < 1e-9 && (row("read 64k") - r).abs() < 1e-9);
}
