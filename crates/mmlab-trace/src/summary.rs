//! The summary table per call, like `strace -c`: calls, errors, total and
//! median time (entry to exit as the tracer saw it, ptrace stops included).
//! Calls that never returned (`exit_group`, a call the process was killed
//! in) have no duration: they count as calls and as `unfinished`, and are
//! left out of the time columns.

use serde::{Deserialize, Serialize};

use crate::tracer::SyscallRecord;

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    pub syscall: String,
    /// Every call, finished or not.
    pub calls: u64,
    pub errors: u64,
    /// Calls that never returned (no duration); not in the times.
    pub unfinished: u64,
    /// Sum of the finished calls' durations.
    pub total_ns: u64,
    /// Median of the finished calls' durations; `None` if none finished.
    pub median_ns: Option<u64>,
}

/// One row per call name, the most time-consuming first (ties by name).
pub fn summarize(records: &[SyscallRecord]) -> Vec<SummaryRow> {
    #[derive(Default)]
    struct Tally {
        calls: u64,
        errors: u64,
        unfinished: u64,
        durations: Vec<u64>,
    }
    let mut by_name: std::collections::BTreeMap<&str, Tally> = Default::default();
    for record in records {
        let entry = by_name.entry(record.syscall.as_str()).or_default();
        entry.calls += 1;
        if record.failed() {
            entry.errors += 1;
        }
        match record.duration_ns {
            Some(ns) => entry.durations.push(ns),
            None => entry.unfinished += 1,
        }
    }
    let mut rows: Vec<SummaryRow> = by_name
        .into_iter()
        .map(|(name, mut tally)| {
            let durations = &mut tally.durations;
            durations.sort_unstable();
            let n = durations.len();
            let median = match n {
                0 => None,
                _ if n % 2 == 1 => Some(durations[n / 2]),
                _ => Some((durations[n / 2 - 1] + durations[n / 2]) / 2),
            };
            SummaryRow {
                syscall: name.to_string(),
                calls: tally.calls,
                errors: tally.errors,
                unfinished: tally.unfinished,
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
        "{:>7} {:>12} {:>12} {:>8} {:>7} {:>10}  {}\n",
        "% time", "total", "median", "calls", "errors", "unfinished", "syscall"
    );
    let rule = format!("{}\n", "-".repeat(75));
    let blank_if_zero = |n: u64| if n > 0 { n.to_string() } else { String::new() };
    out.push_str(&rule);
    for row in rows {
        let share = if total_ns > 0 {
            100.0 * row.total_ns as f64 / total_ns as f64
        } else {
            0.0
        };
        out.push_str(&format!(
            "{share:>7.2} {:>12} {:>12} {:>8} {:>7} {:>10}  {}\n",
            format_duration(row.total_ns),
            row.median_ns.map_or("-".to_string(), format_duration),
            row.calls,
            blank_if_zero(row.errors),
            blank_if_zero(row.unfinished),
            row.syscall
        ));
    }
    out.push_str(&rule);
    out.push_str(&format!(
        "{:>7.2} {:>12} {:>12} {:>8} {:>7} {:>10}  total\n",
        100.0,
        format_duration(total_ns),
        "",
        rows.iter().map(|r| r.calls).sum::<u64>(),
        rows.iter().map(|r| r.errors).sum::<u64>(),
        rows.iter().map(|r| r.unfinished).sum::<u64>()
    ));
    let unfinished: u64 = rows.iter().map(|r| r.unfinished).sum();
    if unfinished > 0 {
        out.push_str(&format!(
            "({unfinished} call(s) never returned, e.g. exit_group: counted as calls, not in the times)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(syscall: &str, duration_ns: Option<u64>) -> SyscallRecord {
        SyscallRecord {
            pid: 1,
            tgid: 1,
            syscall: syscall.to_string(),
            number: 0,
            start_s: 0.0,
            duration_ns,
            args: Default::default(),
            raw_args: Vec::new(),
            return_value: duration_ns.map(|_| 0),
            errno: None,
            return_path: None,
            text: String::new(),
        }
    }

    #[test]
    fn unfinished_calls_count_but_stay_out_of_the_times() {
        let rows = summarize(&[
            record("read", Some(100)),
            record("read", Some(300)),
            record("read", None),
            record("exit_group", None),
        ]);
        let read = rows.iter().find(|r| r.syscall == "read").unwrap();
        assert_eq!((read.calls, read.unfinished), (3, 1));
        assert_eq!((read.total_ns, read.median_ns), (400, Some(200)));
        let exit = rows.iter().find(|r| r.syscall == "exit_group").unwrap();
        assert_eq!((exit.calls, exit.unfinished), (1, 1));
        assert_eq!((exit.total_ns, exit.median_ns), (0, None));
        let table = format_summary(&rows);
        assert!(table.contains("unfinished"), "{table}");
        assert!(table.contains("2 call(s) never returned"), "{table}");
    }
}
