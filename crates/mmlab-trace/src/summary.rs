//! The summary table per call, like `strace -c`: calls, errors, total and
//! median time (entry to exit as the tracer saw it, ptrace stops included).

use serde::{Deserialize, Serialize};

use crate::tracer::SyscallRecord;

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub syscall: String,
    pub calls: u64,
    pub errors: u64,
    pub total_ns: u64,
    pub median_ns: u64,
}

/// One row per call name, the most time-consuming first (ties by name).
pub fn summarize(records: &[SyscallRecord]) -> Vec<SummaryRow> {
    let mut by_name: std::collections::BTreeMap<&str, (u64, Vec<u64>)> = Default::default();
    for record in records {
        let entry = by_name.entry(record.syscall.as_str()).or_default();
        if record.failed() {
            entry.0 += 1;
        }
        entry.1.push(record.duration_ns.unwrap_or(0));
    }
    let mut rows: Vec<SummaryRow> = by_name
        .into_iter()
        .map(|(name, (errors, mut durations))| {
            durations.sort_unstable();
            let n = durations.len();
            let median = if n % 2 == 1 {
                durations[n / 2]
            } else {
                (durations[n / 2 - 1] + durations[n / 2]) / 2
            };
            SummaryRow {
                syscall: name.to_string(),
                calls: n as u64,
                errors,
                total_ns: durations.iter().sum(),
                median_ns: median,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.syscall.cmp(&b.syscall)));
    rows
}

/// `1.23 ms`, `45.6 us`, `789 ns`.
pub fn format_duration(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else if ns >= 1_000 {
        format!("{:.1} us", ns as f64 / 1e3)
    } else {
        format!("{ns} ns")
    }
}

/// The table as text, with a total line.
pub fn format_summary(rows: &[SummaryRow]) -> String {
    let total_ns: u64 = rows.iter().map(|r| r.total_ns).sum();
    let mut out = format!(
        "{:>7} {:>12} {:>12} {:>8} {:>7}  {}\n",
        "% time", "total", "median", "calls", "errors", "syscall"
    );
    let rule = format!("{}\n", "-".repeat(64));
    out.push_str(&rule);
    for row in rows {
        let share = if total_ns > 0 {
            100.0 * row.total_ns as f64 / total_ns as f64
        } else {
            0.0
        };
        out.push_str(&format!(
            "{share:>7.2} {:>12} {:>12} {:>8} {:>7}  {}\n",
            format_duration(row.total_ns),
            format_duration(row.median_ns),
            row.calls,
            if row.errors > 0 {
                row.errors.to_string()
            } else {
                String::new()
            },
            row.syscall
        ));
    }
    out.push_str(&rule);
    out.push_str(&format!(
        "{:>7.2} {:>12} {:>12} {:>8} {:>7}  total\n",
        100.0,
        format_duration(total_ns),
        "",
        rows.iter().map(|r| r.calls).sum::<u64>(),
        rows.iter().map(|r| r.errors).sum::<u64>()
    ));
    out
}
