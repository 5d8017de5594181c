//! A quick run on this machine: what every kernel must do, asserted; the
//! rest recorded. Set `SYSCALL_COST_OUT=DIR` to keep the result file.

use std::time::Instant;

use mmlab_core::testing::{Capability, skip};
use mmlab_core::{ResultFile, RunContext, Verdict};
use serde_json::Value;
use syscall_cost::judge::judge;

fn run() -> (ResultFile, f64) {
    let base = tempfile::tempdir().unwrap();
    let context = RunContext {
        data_dir_base: Some(base.path().to_path_buf()),
        ..RunContext::default()
    };
    let started = Instant::now();
    let result = syscall_cost::EXPERIMENT.run(&context).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(dir) = std::env::var_os("SYSCALL_COST_OUT") {
        mmlab_core::io::write_result(std::path::Path::new(&dir), &result).unwrap();
    }
    assert!(
        std::fs::read_dir(base.path()).unwrap().next().is_none(),
        "the data folder is removed"
    );
    (result, seconds)
}

fn rows<'a>(result: &'a ResultFile, key: &str) -> &'a [Value] {
    result.extra[key].as_array().unwrap()
}

#[test]
fn a_quick_run_counts_what_every_kernel_must_and_is_judged_from_its_file() {
    let (result, seconds) = run();
    eprintln!("quick profile: {seconds:.1} s");
    assert_eq!(
        result.claims,
        judge(&mmlab_core::io::as_read_back(&result).unwrap())
    );
    let ids: Vec<&str> = result.claims.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["S16", "S5"]);
    for claim in &result.claims {
        assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
    }
    // Every timed kind has a time or a reason.
    for row in rows(&result, "entry_costs") {
        assert!(
            row["ns_per_call"].as_f64().is_some_and(|ns| ns > 0.0) || row["reason"].is_string(),
            "{row}"
        );
    }
    let counted = rows(&result, "read_counted");
    if counted[0]["read_syscalls"].is_null() {
        skip(
            Capability::Tracefs,
            "read(2) system calls counted",
            counted[0]["reason"]
                .as_str()
                .unwrap_or("no reason recorded"),
        );
        for claim in &result.claims {
            assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        }
        return;
    }
    // read() with block b over a file of s bytes: ceil(s/b) + 1 calls.
    for row in counted {
        assert_eq!(row["read_syscalls"], row["expected_syscalls"], "{row}");
        assert_eq!(row["read_calls"], row["expected_syscalls"], "{row}");
    }
    // read() of single items: one system call each.
    let buffered = rows(&result, "buffered_counted");
    for row in buffered.iter().filter(|r| r["method"] == "read") {
        assert_eq!(row["read_syscalls"], row["items"], "{row}");
    }
    // fread with 1-byte items: far fewer read(2) calls than items (a stream
    // buffer holds at least 512 bytes).
    let fread_1 = buffered
        .iter()
        .find(|r| r["method"] == "fread" && r["item_bytes"] == 1)
        .unwrap();
    let items = fread_1["items"].as_u64().unwrap();
    let reads = fread_1["read_syscalls"].as_u64().unwrap();
    assert!(reads > 0 && reads * 100 < items, "{fread_1}");
    // The vDSO clock_gettime makes no system call, where the clock source
    // can be read from user space.
    let clocksource = result.params["clocksource"].as_str().unwrap_or("");
    let vdso = rows(&result, "entry_counted")
        .iter()
        .find(|r| r["kind"] == "vdso")
        .unwrap();
    if [
        "tsc",
        "kvm-clock",
        "arch_sys_counter",
        "hyperv_clocksource_tsc_page",
    ]
    .contains(&clocksource)
    {
        assert_eq!(vdso["syscalls"], 0, "{vdso}");
    } else {
        eprintln!(
            "clock source {clocksource:?}: the vDSO may fall back to a system call; counted {vdso}"
        );
    }
    // The null system call is one system call each.
    let trap = rows(&result, "entry_counted")
        .iter()
        .find(|r| r["kind"] == "trap")
        .unwrap();
    if !trap["syscalls"].is_null() {
        assert_eq!(trap["syscalls"], trap["n_calls"], "{trap}");
    }
}
