//! The judge step of `where-mmap-loses`: L1-L4 from the result file alone
//! (its `samples`, tagged by `part`, and the `error_outcomes`,
//! `unmap_counts` and `io_error_setup` tables).
//!
//! Every comparison is between methods measured in the same rounds,
//! interleaved: per round the cost (time per file, time per read, time per
//! munmap) of one method divided by the other's, then the median and the
//! p5-p95 spread of those per-round ratios. One side *wins* when the median
//! ratio is beyond the margin (`1 + margin` times faster) and the whole
//! p5-p95 spread of the ratio lies on its side of 1; otherwise the two are
//! too close to call.

use mmlab_core::stats::quantile;
use mmlab_core::{Claim, ResultFile, Verdict};
use serde_json::{Value, json};

use crate::errors::{ACCESS_MAP, ACCESS_READ, SCENARIO_PAST_END};
use crate::{random_reads, small_files, unmap};

pub const L1_MARGIN: f64 = 0.10;
pub const L2_MARGIN: f64 = 0.20;
pub const L3_MARGIN: f64 = 0.25;
/// Shootdown interrupts on other CPUs per munmap, above the
/// single-threaded baseline's, that count as "the kernel interrupted
/// other CPUs".
pub const L3_SHOOTDOWNS_PER_MUNMAP_MIN: f64 = 0.5;

pub const L1_RULE: &str = "per file size, per round: the median time per file (open to close, every byte summed) of mmap divided by that of the fastest read()-family method at that size (read() into a reused buffer, pread(), std::fs::read; fastest by median over rounds); a side wins at a size when the median of those per-round ratios is beyond 1 + margin in its favour and their whole p5-p95 spread lies on its side of 1, otherwise too close to call. The crossover is the smallest size at which mmap wins and above which no read()-family method wins (too close to call allowed); none in range when there is no such size. Refuted when a read()-family method wins at some size; holds when mmap wins at every size; holds-with-nuance otherwise; not-measured when there are no rows or a method's sum did not match the file's checksum";
pub const L2_RULE: &str = "random 4 KiB reads of an evicted file: per round, the reads per second of the fastest read()-family method (pread() from 1 or N threads, io_uring at each depth; fastest by median over rounds) divided by that of the fastest mmap method (MADV_RANDOM, 1 or N threads); passes with a failed read, a wrong page or pages left resident before the pass do not count. The alternative wins when the median of the per-round ratios is at least 1 + margin and their p5 is above 1 (refuted); mmap wins when the median is at most 1 / (1 + margin) and the p95 below 1 (holds); holds-with-nuance between; not-measured when either side has no valid pass";
pub const L3_RULE: &str = "per round, the median munmap time with T threads that touched the mapping and still run, divided by the median with 1 thread (the baseline); it grows when the median of those per-round ratios is at least 1 + margin and their p5 above 1. Shootdowns are the TLB interrupts other CPUs received during the munmap (the TLB line of /proc/interrupts), per munmap, above the baseline's: at least shootdowns_per_munmap_min counts (or, without that line, tlb:tlb_flush events on the helper threads per munmap-and-mprotect pair). Refuted when for some T >= 2 the time grows and the shootdowns are counted; holds when for no T either happens; holds-with-nuance when one does without the other; not-measured with fewer than 2 CPUs (no other CPU to interrupt) or no rows";
pub const L4_RULE: &str = "per scenario, the outcome of read() (a returned count or an errno) against that of the same access through a mapping in a forked child (a value read, or the signal that ended it): refuted when in some scenario read() returned a count or an errno while the mapped access was ended by a signal; holds when in every scenario both returned data; holds-with-nuance when they differ otherwise; not-measured when the truncation scenario's two outcomes are missing";

/// Who won a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The alternative (the read()-family method, or for L3 the cost with
    /// more threads) is beyond the margin.
    Alternative,
    /// mmap is (for L3: the cost did not grow, beyond the margin, the other
    /// way).
    Mmap,
    TooClose,
}

/// A comparison over rounds: `ratios` are per-round "mmap's cost over the
/// alternative's" (above 1: the alternative is faster).
#[derive(Debug, Clone)]
pub struct Contest {
    pub median: f64,
    pub p5: f64,
    pub p95: f64,
    pub rounds: usize,
    pub outcome: Outcome,
}

pub fn contest(ratios: &[f64], margin: f64) -> Option<Contest> {
    let mut sorted: Vec<f64> = ratios.iter().copied().filter(|r| r.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let (p5, median, p95) = (
        quantile(&sorted, 0.05),
        quantile(&sorted, 0.5),
        quantile(&sorted, 0.95),
    );
    let outcome = if median >= 1.0 + margin && p5 > 1.0 {
        Outcome::Alternative
    } else if median <= 1.0 / (1.0 + margin) && p95 < 1.0 {
        Outcome::Mmap
    } else {
        Outcome::TooClose
    };
    Some(Contest {
        median,
        p5,
        p95,
        rounds: sorted.len(),
        outcome,
    })
}

fn claim(id: &str, verdict: Verdict, evidence: String) -> Claim {
    let (rule, thresholds): (&str, Vec<(&str, Value)>) = match id {
        "L1" => (L1_RULE, vec![("margin", json!(L1_MARGIN))]),
        "L2" => (L2_RULE, vec![("margin", json!(L2_MARGIN))]),
        "L3" => (
            L3_RULE,
            vec![
                ("margin", json!(L3_MARGIN)),
                (
                    "shootdowns_per_munmap_min",
                    json!(L3_SHOOTDOWNS_PER_MUNMAP_MIN),
                ),
            ],
        ),
        _ => (L4_RULE, vec![]),
    };
    Claim::new(id, verdict, evidence).with_rule(rule, thresholds)
}

pub fn judge(result: &ResultFile) -> Vec<Claim> {
    vec![l1(result), l2(result), l3(result), l4(result)]
}

fn rows<'a>(result: &'a ResultFile, part: &str) -> Vec<&'a Value> {
    result
        .samples
        .iter()
        .filter(|r| r["part"] == part)
        .collect()
}

fn median(values: &[f64]) -> Option<f64> {
    mmlab_core::stats::median(values)
}

/// Per round, the value of `field` of the rows matching `pick`.
fn per_round(
    rows: &[&Value],
    pick: impl Fn(&Value) -> bool,
    field: &str,
) -> std::collections::BTreeMap<u64, f64> {
    rows.iter()
        .filter(|r| pick(r))
        .filter_map(|r| Some((r["round"].as_u64()?, r[field].as_f64()?)))
        .collect()
}

/// Per-round ratios `a / b` over the rounds both have.
fn ratios(
    a: &std::collections::BTreeMap<u64, f64>,
    b: &std::collections::BTreeMap<u64, f64>,
) -> Vec<f64> {
    a.iter()
        .filter_map(|(round, x)| b.get(round).map(|y| x / y))
        .collect()
}

pub fn format_bytes(bytes: f64) -> String {
    mmlab_core::format_size(bytes as u64)
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// L1's finding at one size.
#[derive(Debug, Clone)]
pub struct SizeFinding {
    pub size_bytes: u64,
    pub mmap_ns: f64,
    pub best_alternative: String,
    pub alternative_ns: f64,
    pub contest: Contest,
}

/// L1's per-size findings (sizes ascending) and the crossover, from the
/// samples; also used by the run for the figure's crossover line.
pub fn l1_findings(result: &ResultFile) -> Result<(Vec<SizeFinding>, Option<u64>), String> {
    let rows = rows(result, small_files::PART);
    if rows.is_empty() {
        return Err("the result file has no small-files rows".into());
    }
    if let Some(bad) = rows.iter().find(|r| r["sums_ok"] == false) {
        return Err(format!(
            "{} at {} summed a file to something other than its checksum",
            bad["method"].as_str().unwrap_or("?"),
            format_bytes(bad["size_bytes"].as_f64().unwrap_or(0.0))
        ));
    }
    let mut sizes: Vec<u64> = rows
        .iter()
        .filter_map(|r| r["size_bytes"].as_u64())
        .collect();
    sizes.sort();
    sizes.dedup();
    let mut findings = Vec::new();
    for size in sizes {
        let of = |method: &str| {
            per_round(
                &rows,
                |r| r["size_bytes"] == size && r["method"] == method,
                "ns_per_file",
            )
        };
        let mmap = of(small_files::MMAP);
        let Some(mmap_ns) = median(&mmap.values().copied().collect::<Vec<_>>()) else {
            continue;
        };
        let best = small_files::METHODS
            .iter()
            .filter(|m| **m != small_files::MMAP)
            .filter_map(|m| {
                let r = of(m);
                median(&r.values().copied().collect::<Vec<_>>()).map(|med| (*m, med, r))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let Some((name, alternative_ns, alt)) = best else {
            continue;
        };
        let Some(contest) = contest(&ratios(&mmap, &alt), L1_MARGIN) else {
            continue;
        };
        findings.push(SizeFinding {
            size_bytes: size,
            mmap_ns,
            best_alternative: name.to_string(),
            alternative_ns,
            contest,
        });
    }
    if findings.is_empty() {
        return Err("no size has both mmap and read()-family rows in the same rounds".into());
    }
    // The smallest size where mmap wins and from which no read()-family
    // method wins at any larger size.
    let mut crossover = None;
    for f in findings.iter().rev() {
        match f.contest.outcome {
            Outcome::Mmap => crossover = Some(f.size_bytes),
            Outcome::TooClose => {}
            Outcome::Alternative => break,
        }
    }
    Ok((findings, crossover))
}

fn l1(result: &ResultFile) -> Claim {
    let (findings, crossover) = match l1_findings(result) {
        Ok(f) => f,
        Err(why) => return claim("L1", Verdict::NotMeasured, why),
    };
    let describe = |f: &SizeFinding| {
        let who = match f.contest.outcome {
            Outcome::Alternative => format!("{} wins", f.best_alternative),
            Outcome::Mmap => "mmap wins".to_string(),
            Outcome::TooClose => "too close to call".to_string(),
        };
        format!(
            "{}: mmap {} vs {} {} per file, mmap/{} = {:.2}x (rounds p5-p95 {:.2}-{:.2}, {} rounds): {who}",
            format_bytes(f.size_bytes as f64),
            format_ns(f.mmap_ns),
            f.best_alternative,
            format_ns(f.alternative_ns),
            f.best_alternative,
            f.contest.median,
            f.contest.p5,
            f.contest.p95,
            f.contest.rounds,
        )
    };
    let table: Vec<String> = findings.iter().map(describe).collect();
    let crossover_text = match crossover {
        Some(size) => format!(
            "crossover: mmap wins from {} (and no read()-family method wins above it)",
            format_bytes(size as f64)
        ),
        None => format!(
            "crossover: none in range ({} to {}: no size where mmap wins with no read()-family win above it)",
            format_bytes(findings.first().map_or(0, |f| f.size_bytes) as f64),
            format_bytes(findings.last().map_or(0, |f| f.size_bytes) as f64)
        ),
    };
    let lost: Vec<String> = findings
        .iter()
        .filter(|f| f.contest.outcome == Outcome::Alternative)
        .map(|f| format_bytes(f.size_bytes as f64))
        .collect();
    let body = table.join("; ");
    if !lost.is_empty() {
        return claim(
            "L1",
            Verdict::Refuted,
            format!(
                "a read()-family method beat mmap at {} ({crossover_text}): {body}",
                lost.join(", ")
            ),
        );
    }
    if findings.iter().all(|f| f.contest.outcome == Outcome::Mmap) {
        return claim(
            "L1",
            Verdict::Holds,
            format!("mmap won at every size measured ({crossover_text}): {body}"),
        );
    }
    claim(
        "L1",
        Verdict::HoldsWithNuance,
        format!(
            "no read()-family method won beyond the margin, but mmap did not win at every size ({crossover_text}): {body}"
        ),
    )
}

/// One L2 method over its valid passes: name, family, median reads per
/// second, reads per second by round, the device's median requests in flight.
type MethodStats = (
    String,
    String,
    f64,
    std::collections::BTreeMap<u64, f64>,
    Option<f64>,
);

fn l2(result: &ResultFile) -> Claim {
    let all = rows(result, random_reads::PART);
    if all.is_empty() {
        return claim(
            "L2",
            Verdict::NotMeasured,
            "the result file has no random-reads rows".into(),
        );
    }
    let valid = |r: &&Value| {
        r.get("error").is_none_or(Value::is_null)
            && r["bad_reads"] == 0
            && r["resident_pages_before"] == 0
            && r["reads_per_s"].as_f64().is_some()
    };
    let mut methods: Vec<String> = Vec::new();
    for r in &all {
        if let Some(m) = r["method"].as_str()
            && !methods.iter().any(|x| x == m)
        {
            methods.push(m.to_string());
        }
    }
    let mut not_counted = Vec::new();
    let mut stats: Vec<MethodStats> = Vec::new();
    for m in &methods {
        let of: Vec<&Value> = all
            .iter()
            .copied()
            .filter(|r| r["method"] == m.as_str())
            .collect();
        let good: Vec<&Value> = of.iter().copied().filter(valid).collect();
        if good.len() < of.len() {
            let why = of
                .iter()
                .find(|r| !valid(r))
                .map(|r| {
                    if let Some(e) = r["error"].as_str() {
                        e.to_string()
                    } else if r["resident_pages_before"] != 0 {
                        format!(
                            "{} pages were still cached before the pass",
                            r["resident_pages_before"]
                        )
                    } else {
                        format!("{} reads failed or read the wrong page", r["bad_reads"])
                    }
                })
                .unwrap_or_default();
            not_counted.push(format!(
                "{m}: {} of {} passes not counted ({why})",
                of.len() - good.len(),
                of.len()
            ));
        }
        let rounds = per_round(&good, |_| true, "reads_per_s");
        let Some(med) = median(&rounds.values().copied().collect::<Vec<_>>()) else {
            continue;
        };
        let in_flight = median(
            &good
                .iter()
                .filter_map(|r| r["device_avg_in_flight"].as_f64())
                .collect::<Vec<_>>(),
        );
        let family = of[0]["family"].as_str().unwrap_or("?").to_string();
        stats.push((m.clone(), family, med, rounds, in_flight));
    }
    let best = |family: &str| {
        stats
            .iter()
            .filter(|s| s.1 == family)
            .max_by(|a, b| a.2.total_cmp(&b.2))
    };
    let tail = if not_counted.is_empty() {
        String::new()
    } else {
        format!("; {}", not_counted.join("; "))
    };
    let (Some(mmap), Some(alt)) = (
        best(random_reads::FAMILY_MMAP),
        best(random_reads::FAMILY_READ),
    ) else {
        return claim(
            "L2",
            Verdict::NotMeasured,
            format!("no valid pass of an mmap method and a read()-family method both{tail}"),
        );
    };
    let Some(c) = contest(&ratios(&alt.3, &mmap.3), L2_MARGIN) else {
        return claim(
            "L2",
            Verdict::NotMeasured,
            format!("{} and {} share no round{tail}", alt.0, mmap.0),
        );
    };
    let listing: Vec<String> = stats
        .iter()
        .map(|s| {
            format!(
                "{} {:.0} reads/s{}",
                s.0,
                s.2,
                s.4.map_or(String::new(), |q| format!(" (device in flight {q:.1})"))
            )
        })
        .collect();
    let single = stats
        .iter()
        .find(|s| s.1 == random_reads::FAMILY_MMAP && s.0.ends_with(", 1 thread"))
        .map(|s| format!("; against mmap from 1 thread: {:.2}x", alt.2 / s.2))
        .unwrap_or_default();
    let body = format!(
        "{} / {} = {:.2}x reads per second (per-round ratios p5-p95 {:.2}-{:.2}, {} rounds){single}; {}{tail}",
        alt.0,
        mmap.0,
        c.median,
        c.p5,
        c.p95,
        c.rounds,
        listing.join(", ")
    );
    match c.outcome {
        Outcome::Alternative => claim(
            "L2",
            Verdict::Refuted,
            format!("the fastest read()-family method beat the fastest mmap method: {body}"),
        ),
        Outcome::Mmap => claim(
            "L2",
            Verdict::Holds,
            format!("the fastest mmap method beat every read()-family method: {body}"),
        ),
        Outcome::TooClose => claim(
            "L2",
            Verdict::HoldsWithNuance,
            format!("too close to call between the fastest of each: {body}"),
        ),
    }
}

fn l3(result: &ResultFile) -> Claim {
    let all = rows(result, unmap::PART);
    let n_cpus = result
        .params
        .get("cpus_allowed")
        .and_then(Value::as_array)
        .map(Vec::len);
    if all.is_empty() {
        return claim(
            "L3",
            Verdict::NotMeasured,
            "the result file has no unmap rows".into(),
        );
    }
    if n_cpus.is_some_and(|n| n < 2) {
        return claim(
            "L3",
            Verdict::NotMeasured,
            "this process could run on one CPU only: there is no other CPU to interrupt, so no shootdown can be seen".into(),
        );
    }
    let munmaps: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|r| r["op"] == unmap::OP_MUNMAP && r["rc"] == 0)
        .collect();
    let mut threads: Vec<u64> = munmaps
        .iter()
        .filter_map(|r| r["threads"].as_u64())
        .collect();
    threads.sort();
    threads.dedup();
    // Per round: the median munmap time at T.
    let round_medians = |t: u64, op: &str| {
        let mut by_round: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
        for r in all
            .iter()
            .filter(|r| r["op"] == op && r["threads"] == t && r["rc"] == 0)
        {
            if let (Some(round), Some(ns)) = (r["round"].as_u64(), r["elapsed_ns"].as_f64()) {
                by_round.entry(round).or_default().push(ns);
            }
        }
        by_round
            .into_iter()
            .filter_map(|(round, v)| median(&v).map(|m| (round, m)))
            .collect::<std::collections::BTreeMap<u64, f64>>()
    };
    let irqs = |t: u64, op: &str| -> Option<f64> {
        let v: Vec<f64> = all
            .iter()
            .filter(|r| r["op"] == op && r["threads"] == t)
            .filter_map(|r| r["tlb_irqs_other_cpus"].as_f64())
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    let counts = result.extra.get("unmap_counts").and_then(Value::as_array);
    let tracepoint = |t: u64| -> Option<f64> {
        counts?
            .iter()
            .find(|c| c["threads"] == t)
            .and_then(|c| c["helper_events_per_pair"].as_f64())
    };
    if !threads.contains(&1) {
        return claim(
            "L3",
            Verdict::NotMeasured,
            "no single-threaded baseline (T = 1) among the unmap rows".into(),
        );
    }
    let base = round_medians(1, unmap::OP_MUNMAP);
    let base_ns = median(&base.values().copied().collect::<Vec<_>>()).unwrap_or(f64::NAN);
    let base_irqs = irqs(1, unmap::OP_MUNMAP);
    let base_mprotect = median(
        &round_medians(1, unmap::OP_MPROTECT)
            .values()
            .copied()
            .collect::<Vec<_>>(),
    );
    let mapping = result
        .params
        .get("unmap_mapping_bytes")
        .and_then(Value::as_f64)
        .map_or(String::new(), |b| {
            format!(" of a {} mapping", format_bytes(b))
        });
    let mut texts = vec![format!(
        "1 thread (baseline): munmap{mapping} {} median, {} shootdown interrupts on other CPUs per munmap{}",
        format_ns(base_ns),
        base_irqs.map_or("unknown".into(), |v| format!("{v:.2}")),
        base_mprotect.map_or(String::new(), |m| format!("; mprotect {}", format_ns(m))),
    )];
    let (mut both, mut time_only, mut shootdowns_only) = (Vec::new(), Vec::new(), Vec::new());
    for &t in threads.iter().filter(|t| **t >= 2) {
        let at = round_medians(t, unmap::OP_MUNMAP);
        let ns = median(&at.values().copied().collect::<Vec<_>>()).unwrap_or(f64::NAN);
        let Some(c) = contest(&ratios(&at, &base), L3_MARGIN) else {
            continue;
        };
        let grows = c.outcome == Outcome::Alternative;
        let irq = irqs(t, unmap::OP_MUNMAP);
        let tp = tracepoint(t);
        let shot = match (irq, base_irqs) {
            (Some(i), Some(b)) => i - b >= L3_SHOOTDOWNS_PER_MUNMAP_MIN,
            _ => tp.is_some_and(|v| v >= L3_SHOOTDOWNS_PER_MUNMAP_MIN),
        };
        let mprotect = median(
            &round_medians(t, unmap::OP_MPROTECT)
                .values()
                .copied()
                .collect::<Vec<_>>(),
        );
        texts.push(format!(
            "{t} threads: munmap {} ({:.2}x the baseline, per-round p5-p95 {:.2}-{:.2}, {} more per call), {} shootdown interrupts on other CPUs per munmap{}{}",
            format_ns(ns),
            c.median,
            c.p5,
            c.p95,
            format_ns(ns - base_ns),
            irq.map_or("unknown".into(), |v| format!("{v:.2}")),
            tp.map_or(String::new(), |v| format!(", {v:.2} tlb:tlb_flush on the helper threads per mprotect+munmap")),
            mprotect.map_or(String::new(), |m| format!("; mprotect {}", format_ns(m))),
        ));
        match (grows, shot) {
            (true, true) => both.push(t),
            (true, false) => time_only.push(t),
            (false, true) => shootdowns_only.push(t),
            _ => {}
        }
    }
    if texts.len() == 1 {
        return claim(
            "L3",
            Verdict::NotMeasured,
            "no munmap rows with 2 or more threads in the same rounds as the baseline".into(),
        );
    }
    let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
    let body = texts.join("; ");
    if !both.is_empty() {
        return claim(
            "L3",
            Verdict::Refuted,
            format!(
                "with {} threads munmap took longer beyond the margin and other CPUs received TLB shootdowns: {body}",
                list(&both)
            ),
        );
    }
    if time_only.is_empty() && shootdowns_only.is_empty() {
        return claim(
            "L3",
            Verdict::Holds,
            format!(
                "munmap's time did not grow with threads and no shootdowns were counted: {body}"
            ),
        );
    }
    let mut what = Vec::new();
    if !shootdowns_only.is_empty() {
        what.push(format!(
            "with {} threads other CPUs received shootdowns but the time stayed within the margin or the spread",
            list(&shootdowns_only)
        ));
    }
    if !time_only.is_empty() {
        what.push(format!(
            "with {} threads munmap took longer but no shootdowns were counted",
            list(&time_only)
        ));
    }
    claim(
        "L3",
        Verdict::HoldsWithNuance,
        format!("{}: {body}", what.join("; ")),
    )
}

fn l4(result: &ResultFile) -> Claim {
    let Some(rows) = result.extra.get("error_outcomes").and_then(Value::as_array) else {
        return claim(
            "L4",
            Verdict::NotMeasured,
            "the result file has no error_outcomes table".into(),
        );
    };
    let find = |scenario: &str, access: &str| {
        rows.iter()
            .find(|r| r["scenario"] == scenario && r["access"] == access)
    };
    if find(SCENARIO_PAST_END, ACCESS_READ).is_none()
        || find(SCENARIO_PAST_END, ACCESS_MAP).is_none()
    {
        return claim(
            "L4",
            Verdict::NotMeasured,
            "the truncation scenario's read() or mapped outcome is missing".into(),
        );
    }
    let mut scenarios: Vec<&str> = Vec::new();
    for r in rows {
        if let Some(s) = r["scenario"].as_str()
            && !scenarios.contains(&s)
        {
            scenarios.push(s);
        }
    }
    let (mut differ_by_signal, mut differ_otherwise, mut texts) =
        (Vec::new(), Vec::new(), Vec::new());
    let mut alone = Vec::new();
    for s in &scenarios {
        match (find(s, ACCESS_READ), find(s, ACCESS_MAP)) {
            (Some(r), Some(m)) => {
                texts.push(format!(
                    "{s}: read() {}, through the mapping {}",
                    r["outcome"].as_str().unwrap_or("?"),
                    m["outcome"].as_str().unwrap_or("?")
                ));
                let read_kind = r["kind"].as_str().unwrap_or("");
                let map_kind = m["kind"].as_str().unwrap_or("");
                if matches!(read_kind, "returned" | "errno") && map_kind == "signal" {
                    differ_by_signal.push(*s);
                } else if !(read_kind == "returned" && map_kind == "returned") {
                    differ_otherwise.push(*s);
                }
            }
            (one, other) => {
                if let Some(x) = one.or(other) {
                    alone.push(format!(
                        "{s}: {} {}",
                        x["access"].as_str().unwrap_or("?"),
                        x["outcome"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    let io = match result.extra.get("io_error_setup") {
        Some(v) if v.get("error").is_some_and(|e| !e.is_null()) => format!(
            "; the I/O-error scenario was not measured: {}",
            v["error"].as_str().unwrap_or("?")
        ),
        _ => String::new(),
    };
    let mut body = texts.join("; ");
    if !alone.is_empty() {
        body = format!("{body}; {}", alone.join("; "));
    }
    body.push_str(&io);
    if !differ_by_signal.is_empty() {
        return claim(
            "L4",
            Verdict::Refuted,
            format!(
                "read() reported it as a return value or an error code while the mapped access was killed by a signal in: {}. A program reading through a mapping must handle SIGBUS (or check the file's size and lock it against truncation) where read() would check a count: {body}",
                differ_by_signal.join(", ")
            ),
        );
    }
    if differ_otherwise.is_empty() {
        return claim(
            "L4",
            Verdict::Holds,
            format!("read() and the mapping returned data in every scenario: {body}"),
        );
    }
    claim(
        "L4",
        Verdict::HoldsWithNuance,
        format!(
            "no signal where read() returned, but the outcomes differ in {}: {body}",
            differ_otherwise.join(", ")
        ),
    )
}
