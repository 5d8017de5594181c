//! The judge on a result file recorded on the project's machine
//! (`tests/fixtures/syscall-cost.json`: Linux 6.18, x86_64, root, ext4,
//! quick profile, 2026-12-02; samples, summaries, claims and figures
//! emptied: the judge reads only params and tables), mutated to drive S16
//! and S5 to each verdict.

use std::path::Path;

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};
use syscall_cost::judge::{ReadModel, judge};

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syscall-cost.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn result_of(file: &Value) -> ResultFile {
    serde_json::from_value(file.clone()).unwrap()
}

fn claim(file: &Value, id: &str) -> Claim {
    let claims = judge(&result_of(file));
    assert_eq!(claims.len(), 2);
    let claim = claims.into_iter().find(|c| c.id == id).unwrap();
    assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
    claim
}

fn expect(file: &Value, id: &str, verdict: Verdict, says: &[&str]) {
    let claim = claim(file, id);
    assert_eq!(claim.verdict, verdict, "{}", claim.evidence);
    for s in says {
        assert!(claim.evidence.contains(s), "{s:?} in {}", claim.evidence);
    }
}

fn rows<'a>(file: &'a mut Value, key: &str) -> &'a mut Vec<Value> {
    file[key].as_array_mut().unwrap()
}

/// Sets `field` of the fread (stream's own buffer) rows: f(items) per row.
fn set_fread_reads(file: &mut Value, f: impl Fn(u64, u64) -> Value) {
    for row in rows(file, "buffered_counted") {
        if row["method"] == "fread" {
            let items = row["items"].as_u64().unwrap();
            let item = row["item_bytes"].as_u64().unwrap();
            row["read_syscalls"] = f(item, items);
        }
    }
}

#[test]
fn the_recorded_run_refutes_s16_with_the_counts_and_both_entry_costs() {
    expect(
        &fixture(),
        "S16",
        Verdict::Refuted,
        &[
            "1,048,576 freads of 1 B made 256 read(2) system calls",
            "st_blksize 4 KiB",
            "through `syscall` and",
            "through `int $0x80`",
            "a vDSO clock_gettime",
            "with 0 system calls in 1,000 calls",
            "spectre_v2",
            "about one read(2) per fread only at 4 KiB, 64 KiB",
            "after setvbuf to 1 MiB, 1 MiB per read(2)",
        ],
    );
}

#[test]
fn the_recorded_run_holds_s5_with_the_fit() {
    expect(
        &fixture(),
        "S5",
        Verdict::Holds,
        &[
            "exactly the expected read(2) system calls at 15 of 15 block sizes",
            "64 B: 131,073 (ceil(s/b)+1 = 131,073)",
            "the fit time = a + b x size over 15 block sizes",
            "of which the null system call",
            "relative residuals rms",
        ],
    );
}

#[test]
fn the_stored_fit_is_the_one_the_judge_computes() {
    let file = fixture();
    let model = ReadModel::from_result(&result_of(&file)).unwrap();
    // Equal but for the last bits: serde_json's default float parsing may
    // be one unit in the last place off.
    let close = |a: &Value, b: &Value| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()), "{a} vs {b}");
    };
    let computed = model.summary();
    for fit in ["read", "memcpy_stream", "memcpy_hot"] {
        for field in ["a_ns", "b_ns_per_byte", "rms_relative_residual"] {
            close(&computed[fit][field], &file["read_fit"][fit][field]);
        }
    }
    close(
        &computed["null_syscall_ns"],
        &file["read_fit"]["null_syscall_ns"],
    );
}

#[test]
fn fread_trapping_every_time_holds_and_a_small_factor_is_nuanced() {
    let mut file = fixture();
    set_fread_reads(&mut file, |_, items| json!(items));
    expect(
        &file,
        "S16",
        Verdict::Holds,
        &["every fread() made about one read(2) system call"],
    );
    let mut file = fixture();
    set_fread_reads(&mut file, |item, items| {
        json!(if item < 4096 { items / 4 } else { items })
    });
    expect(
        &file,
        "S16",
        Verdict::HoldsWithNuance,
        &["at 1 B items only 4.0 freads per read(2)"],
    );
}

#[test]
fn int80_not_available_keeps_the_verdict_and_says_why() {
    let mut file = fixture();
    let why = "int $0x80 killed a test child with signal SIGSEGV/SI_KERNEL (IA32 emulation is off)";
    rows(&mut file, "entry_costs").retain(|r| r["kind"] != "int80");
    rows(&mut file, "entry_costs").push(json!({
        "kind": "int80", "label": "int $0x80: compat getppid", "repetition": null,
        "n_calls": null, "elapsed_ns": null, "ns_per_call": null, "reason": why,
    }));
    expect(
        &file,
        "S16",
        Verdict::Refuted,
        &["`int $0x80` was not measured: int $0x80 killed a test child"],
    );
}

#[test]
fn uncounted_system_calls_are_not_measured() {
    let reason = "no tracefs: mount it with mount -t tracefs nodev /sys/kernel/tracing";
    let mut file = fixture();
    for key in ["buffered_counted", "read_counted"] {
        for row in rows(&mut file, key) {
            row["read_syscalls"] = Value::Null;
            row["syscalls"] = Value::Null;
            row["reason"] = json!(reason);
        }
    }
    for event in ["raw_syscalls:sys_enter", "syscalls:sys_enter_read"] {
        file["counters_available"][event] = json!(reason);
    }
    expect(&file, "S16", Verdict::NotMeasured, &["no tracefs"]);
    expect(&file, "S5", Verdict::NotMeasured, &["no tracefs"]);
    let mut file = fixture();
    let object = file.as_object_mut().unwrap();
    object.remove("buffered_counted");
    object.remove("read_counted");
    expect(
        &file,
        "S16",
        Verdict::NotMeasured,
        &["no counted fread pass"],
    );
    expect(
        &file,
        "S5",
        Verdict::NotMeasured,
        &["no counted read() pass"],
    );
}

#[test]
fn a_read_that_is_not_one_system_call_refutes_s5() {
    let mut file = fixture();
    for row in rows(&mut file, "read_counted") {
        if row["block_bytes"] == 4096 {
            row["read_syscalls"] = json!(1025);
        }
    }
    expect(
        &file,
        "S5",
        Verdict::Refuted,
        &["4 KiB: 1,025 instead of 2,049"],
    );
    let mut file = fixture();
    for row in rows(&mut file, "buffered_counted") {
        if row["method"] == "read" && row["item_bytes"] == 1 {
            row["read_syscalls"] = json!(1);
        }
    }
    expect(
        &file,
        "S5",
        Verdict::Refuted,
        &["read() of 1 B items: 1 system calls for 65,536 items"],
    );
}

#[test]
fn s5_without_timings_still_counts_and_says_the_cost_was_not_measured() {
    let mut file = fixture();
    file.as_object_mut().unwrap().remove("read_blocks");
    expect(
        &file,
        "S5",
        Verdict::Holds,
        &["the per-call cost was not measured"],
    );
}
