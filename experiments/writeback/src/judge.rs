//! The judge step of `writeback`: S10 and S15 from the result file alone
//! (its `params` and the `filesystems`, `timeline` and `fault_passes`
//! tables).
//!
//! S10 ("MAP_SHARED changes ... eventually reach the file"), per block
//! filesystem measured (tmpfs has no storage and is only described): a
//! written page is on storage when the image holds its new bytes; the
//! written pages reached storage when at least
//! `storage_pages_fraction_min` of them did. `refuted` when they had not
//! even after msync(MS_SYNC); `holds` when they reached storage with no
//! call at all within the run's bound (`poll_bound_s`), with the delay;
//! `holds-with-nuance` when they reached it only through msync(MS_SYNC)
//! (and fsync, syncfs), the bound passing without: the evidence gives the
//! kernel's writeback sysctls and what munmap and close did;
//! `not-measured` when no block filesystem was made or storage could not
//! be read. Several filesystems combine as experiments do
//! (`Verdict::combined`).
//!
//! S15 ("after setup, mmap access does not trap into the kernel"), per
//! target, mapping and pass, the median over repetitions of the faults
//! counted (the tracepoint, else getrusage): the passes after the first
//! (write again, read after msync(MS_SYNC), write after it) decide.
//! `refuted` when a later pass's median is above `refault_fraction_max`
//! of the pages; `holds` when every later median is 0;
//! `holds-with-nuance` when some are above 0 within that fraction;
//! `not-measured` when no pass was recorded.

use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};

use crate::passes::{MAPPINGS, PASS_1, PASSES, SHARED};
use crate::timeline::{
    CHAIN_MSYNC, CHAIN_NO_CALL, CHAIN_PRIVATE, CHAIN_SYNCFS, CHAIN_UNMAP, CLOSE, FSYNC_OTHER,
    MS_ASYNC, MS_SYNC, MUNMAP, POLLED, PRIVATE_FLUSHED, SYNCFS, WRITTEN,
};

pub const STORAGE_PAGES_FRACTION_MIN: f64 = 1.0;
pub const REFAULT_FRACTION_MAX: f64 = 0.01;

pub const S10_RULE: &str = "per block filesystem measured (tmpfs has no storage and is only described): the written pages reached storage when the filesystem's image (read with O_DIRECT, nothing written back first) held the new bytes in at least storage_pages_fraction_min of them. Refuted when they had not even after msync(MS_SYNC); holds when they reached storage with no call at all within the run's bound (poll_bound_s, with the delay); holds-with-nuance when they reached it only through msync(MS_SYNC), fsync or syncfs, the bound passing without (the evidence gives vm.dirty_expire_centisecs and vm.dirty_writeback_centisecs, and what munmap and close did); not-measured when no block filesystem was made or its storage could not be read. Several filesystems combine as experiments do (refuted by any, else the weakest measured)";

pub const S15_RULE: &str = "per target, mapping (MAP_SHARED file, MAP_PRIVATE file, anonymous) and pass, the median over repetitions of the faults counted in the pass (exceptions:page_fault_user, else getrusage); the passes after the first (write again; read after msync(MS_SYNC); write after msync(MS_SYNC)) decide: refuted when a later pass's median is above refault_fraction_max of the pages; holds when every later median is 0; holds-with-nuance when some are above 0 within that fraction; not-measured when no pass was recorded";

fn s10_claim(verdict: Verdict, evidence: String) -> Claim {
    Claim::new("S10", verdict, evidence).with_rule(
        S10_RULE,
        vec![(
            "storage_pages_fraction_min",
            json!(STORAGE_PAGES_FRACTION_MIN),
        )],
    )
}

fn s15_claim(verdict: Verdict, evidence: String) -> Claim {
    Claim::new("S15", verdict, evidence).with_rule(
        S15_RULE,
        vec![("refault_fraction_max", json!(REFAULT_FRACTION_MAX))],
    )
}

pub fn judge(result: &ResultFile) -> Vec<Claim> {
    vec![s10(result), s15(result)]
}

fn table<'a>(result: &'a ResultFile, key: &str) -> Option<&'a Vec<Value>> {
    result.extra.get(key).and_then(Value::as_array)
}

/// The row of one moment of one chain on one filesystem (the last such).
fn moment<'a>(rows: &'a [Value], fs: &str, chain: &str, moment: &str) -> Option<&'a Value> {
    rows.iter()
        .rev()
        .find(|r| r["filesystem"] == fs && r["chain"] == chain && r["moment"] == moment)
}

fn count(row: Option<&Value>, field: &str) -> Option<u64> {
    row.and_then(|r| r[field].as_u64())
}

fn fmt(value: Option<u64>) -> String {
    value.map_or("unknown".to_string(), |v| v.to_string())
}

/// What storage showed at a moment: "old in 16/16" / "new in 16/16".
fn storage(row: Option<&Value>, k: u64) -> String {
    match row {
        None => "not recorded".into(),
        Some(r) => match (r["storage_new"].as_u64(), r["storage_old"].as_u64()) {
            (Some(new), Some(old)) => {
                if new == k {
                    format!("new bytes in all {k} pages")
                } else if old == k {
                    format!("the old bytes in all {k} pages")
                } else {
                    format!("new bytes in {new} of {k} pages, old in {old}")
                }
            }
            _ => format!(
                "not readable ({})",
                r["storage_error"].as_str().unwrap_or("no storage fields")
            ),
        },
    }
}

fn s10(result: &ResultFile) -> Claim {
    let (Some(filesystems), Some(rows)) = (table(result, "filesystems"), table(result, "timeline"))
    else {
        return s10_claim(
            Verdict::NotMeasured,
            "the result file has no filesystems or timeline table".into(),
        );
    };
    let sysctl = |name: &str| {
        result
            .params
            .get("vm_sysctls")
            .and_then(|s| s.get(name))
            .and_then(Value::as_u64)
    };
    let bound = result.params.get("poll_bound_s").and_then(Value::as_f64);
    let kernel = format!(
        "the kernel writes back pages dirty for longer than vm.dirty_expire_centisecs = {} ({} s), its flusher waking every vm.dirty_writeback_centisecs = {} ({} s) (read, not changed)",
        fmt(sysctl("dirty_expire_centisecs")),
        sysctl("dirty_expire_centisecs").map_or("?".into(), |c| format!("{}", c as f64 / 100.0)),
        fmt(sysctl("dirty_writeback_centisecs")),
        sysctl("dirty_writeback_centisecs").map_or("?".into(), |c| format!("{}", c as f64 / 100.0)),
    );
    let mut verdicts = Vec::new();
    let mut texts = Vec::new();
    let mut not_measured = Vec::new();
    for fs in filesystems {
        let name = fs["filesystem"].as_str().unwrap_or("?");
        if fs["made"] != json!(true) {
            not_measured.push(format!(
                "{name} not made ({})",
                fs["reason"].as_str().unwrap_or("no reason recorded")
            ));
            continue;
        }
        if name == "tmpfs" {
            texts.push(
                "tmpfs has no storage: its pages are the file, nothing is written back".to_string(),
            );
            continue;
        }
        let at = |chain, m| moment(rows, name, chain, m);
        let synced = at(CHAIN_MSYNC, MS_SYNC);
        let Some(k) = count(synced, "k_pages") else {
            not_measured.push(format!("{name} has no msync(MS_SYNC) row"));
            continue;
        };
        let enough = |row: Option<&Value>| {
            count(row, "storage_new")
                .is_some_and(|n| n as f64 >= STORAGE_PAGES_FRACTION_MIN * k as f64)
        };
        if count(synced, "storage_new").is_none() {
            not_measured.push(format!(
                "{name}: storage could not be read ({})",
                synced
                    .and_then(|r| r["storage_error"].as_str())
                    .unwrap_or("no storage fields")
            ));
            continue;
        }
        let polled = at(CHAIN_NO_CALL, POLLED);
        let polled_s = polled.and_then(|r| r["seconds_since_write"].as_f64());
        let no_call = match (polled, polled_s) {
            (Some(r), Some(s)) if enough(Some(r)) => format!("on storage {s:.1} s after the write"),
            (Some(r), Some(s)) => format!(
                "not yet on storage {s:.1} s after the write (the run's bound: {}; {})",
                bound.map_or("?".into(), |b| format!("{b:.1} s")),
                storage(Some(r), k)
            ),
            _ => "not recorded".into(),
        };
        let text = format!(
            "{name}, {k} pages written through MAP_SHARED: right after the write, storage held {} (dirty by kpageflags: {} of {k}; cachestat: {} dirty); after msync(MS_ASYNC), {}; after msync(MS_SYNC), {} (dirty: {}); after munmap without msync, {}; after close, {}; after fsync of another descriptor, {}; after syncfs, {}; with no call at all: {no_call}; MAP_PRIVATE written, then msync(MS_SYNC), fsync and syncfs: storage held {}",
            storage(at(CHAIN_MSYNC, WRITTEN), k),
            fmt(count(at(CHAIN_MSYNC, WRITTEN), "dirty_pages")),
            fmt(count(at(CHAIN_MSYNC, WRITTEN), "cachestat_dirty")),
            storage(at(CHAIN_MSYNC, MS_ASYNC), k),
            storage(synced, k),
            fmt(count(synced, "dirty_pages")),
            storage(at(CHAIN_UNMAP, MUNMAP), k),
            storage(at(CHAIN_UNMAP, CLOSE), k),
            storage(at(CHAIN_UNMAP, FSYNC_OTHER), k),
            storage(at(CHAIN_SYNCFS, SYNCFS), k),
            storage(at(CHAIN_PRIVATE, PRIVATE_FLUSHED), k),
        );
        let verdict = if !enough(synced) {
            Verdict::Refuted
        } else if enough(polled) {
            Verdict::Holds
        } else {
            Verdict::HoldsWithNuance
        };
        verdicts.push(verdict);
        texts.push(text);
    }
    let tail = if not_measured.is_empty() {
        String::new()
    } else {
        format!("; {}", not_measured.join("; "))
    };
    if verdicts.is_empty() {
        return s10_claim(
            Verdict::NotMeasured,
            format!(
                "no block filesystem's storage was read, so when the bytes reach storage is not measured{}{tail}",
                if texts.is_empty() {
                    String::new()
                } else {
                    format!("; {}", texts.join("; "))
                }
            ),
        );
    }
    let verdict = Verdict::combined(verdicts.iter().copied());
    let body = texts.join("; ");
    let head = match verdict {
        Verdict::Refuted => {
            "the written bytes did NOT reach storage even after msync(MS_SYNC)".to_string()
        }
        Verdict::Holds => "the written bytes reached storage with no call at all".to_string(),
        _ => format!(
            "the written bytes reached storage through msync(MS_SYNC), fsync or syncfs, not within the run's {} without a call: \"eventually\" is the kernel's writeback ({kernel}), and munmap and close do not flush",
            bound.map_or("bound".into(), |b| format!("{b:.1} s"))
        ),
    };
    s10_claim(verdict, format!("{head}: {body}{tail}"))
}

/// The median of `field` over the rows of one target, mapping and pass.
fn median(rows: &[Value], target: &str, mapping: &str, pass: &str, field: &str) -> Option<f64> {
    let values: Vec<f64> = rows
        .iter()
        .filter(|r| r["target"] == target && r["mapping"] == mapping && r["pass"] == pass)
        .filter_map(|r| r[field].as_f64())
        .collect();
    mmlab_core::stats::median(&values)
}

fn s15(result: &ResultFile) -> Claim {
    let Some(rows) = table(result, "fault_passes").filter(|r| !r.is_empty()) else {
        return s15_claim(
            Verdict::NotMeasured,
            "the result file has no fault_passes rows".into(),
        );
    };
    let mut targets: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(t) = r["target"].as_str()
            && !targets.contains(&t)
        {
            targets.push(t);
        }
    }
    let mut texts = Vec::new();
    let mut over = Vec::new();
    let mut some = Vec::new();
    let mut any_later = false;
    for target in &targets {
        let pages = rows
            .iter()
            .find(|r| r["target"] == *target)
            .and_then(|r| r["pages"].as_f64())
            .unwrap_or(0.0);
        let source = rows
            .iter()
            .find(|r| r["target"] == *target)
            .and_then(|r| r["fault_source"].as_str())
            .unwrap_or("?");
        let mut parts = Vec::new();
        for mapping in MAPPINGS {
            let mut cells = Vec::new();
            for pass in PASSES {
                let Some(faults) = median(rows, target, mapping, pass, "faults") else {
                    continue;
                };
                let also = |field| {
                    median(rows, target, mapping, pass, field)
                        .map_or("-".into(), |v| format!("{v:.0}"))
                };
                cells.push(format!(
                    "{pass}: {faults:.0} (tracepoint {}, getrusage {})",
                    also("tracepoint_faults"),
                    also("rusage_faults")
                ));
                if pass == PASS_1 {
                    continue;
                }
                any_later = true;
                let label = format!(
                    "{mapping} \"{pass}\" on the {target} ({faults:.0} faults of {pages:.0} pages)"
                );
                if faults > REFAULT_FRACTION_MAX * pages {
                    over.push(label);
                } else if faults > 0.0 {
                    some.push(label);
                }
            }
            if !cells.is_empty() {
                parts.push(format!("{mapping}: {}", cells.join(", ")));
            }
        }
        texts.push(format!(
            "on the {target} ({pages:.0} pages, medians, counted by {source}): {}",
            parts.join("; ")
        ));
    }
    if !any_later {
        return s15_claim(
            Verdict::NotMeasured,
            format!("no pass after the first was recorded: {}", texts.join("; ")),
        );
    }
    let body = texts.join("; ");
    if !over.is_empty() {
        let shared_only = over.iter().all(|l| l.starts_with(SHARED));
        return s15_claim(
            Verdict::Refuted,
            format!(
                "after setup, access trapped again: {}{}: {body}",
                over.join(", "),
                if shared_only {
                    " (only MAP_SHARED file writes: after writeback the kernel write-protects the pages again so the filesystem learns of the next write; reads, and writes to private copies and anonymous memory, did not fault again)"
                } else {
                    ""
                }
            ),
        );
    }
    if !some.is_empty() {
        return s15_claim(
            Verdict::HoldsWithNuance,
            format!(
                "later passes faulted a little (within {:.0}% of the pages): {}: {body}",
                REFAULT_FRACTION_MAX * 100.0,
                some.join(", ")
            ),
        );
    }
    s15_claim(
        Verdict::Holds,
        format!("no pass after the first faulted: {body}"),
    )
}
