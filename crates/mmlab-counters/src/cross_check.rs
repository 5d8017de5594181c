//! Cross-checks against the tools people already trust: the system's
//! `perf stat` on the same command, and the tolerance the lab uses when two
//! counts of the same events are compared ("within 1% or N events").

use std::ffi::OsStr;
use std::process::Command;

/// Whether `a` and `b` differ by at most `abs` events or `pct` percent of
/// the larger one.
pub fn within_tolerance(a: u64, b: u64, pct: f64, abs: u64) -> bool {
    let difference = a.abs_diff(b);
    difference <= abs || (difference as f64) <= pct / 100.0 * a.max(b) as f64
}

/// Runs `perf stat -x, -e EVENTS -- ARGV` and returns one count per event
/// (`None` where perf printed `<not counted>` or `<not supported>`), or why
/// perf could not be run. Tracepoints are given to perf by id
/// (`tracepoint/config=ID/`), so perf does not mount tracefs itself (it
/// would leave it mounted).
pub fn perf_stat<S: AsRef<OsStr>>(events: &[&str], argv: &[S]) -> Result<Vec<Option<u64>>, String> {
    let mut spec = Vec::new();
    for event in events {
        if event.contains(':') {
            let id = crate::tracefs::tracepoint_id(event)?;
            spec.push(format!("tracepoint/config={id}/"));
        } else {
            spec.push(event.to_string());
        }
    }
    let out = Command::new("perf")
        .args(["stat", "-x,", "-e", &spec.join(","), "--"])
        .args(argv)
        .output()
        .map_err(|e| format!("perf not runnable: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "perf stat failed ({}): {}",
            out.status,
            stderr.lines().next().unwrap_or("")
        ));
    }
    let rows: Vec<&str> = stderr.lines().filter(|l| l.contains(',')).collect();
    if rows.len() != events.len() {
        return Err(format!("unexpected perf stat output: {stderr}"));
    }
    Ok(rows
        .iter()
        .map(|row| row.split(',').next().and_then(|v| v.parse().ok()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::within_tolerance;

    #[test]
    fn tolerance_is_one_percent_or_n_events() {
        assert!(within_tolerance(100, 105, 1.0, 5));
        assert!(!within_tolerance(100, 106, 1.0, 5));
        assert!(within_tolerance(10_000, 10_090, 1.0, 5));
        assert!(!within_tolerance(10_000, 10_200, 1.0, 5));
    }
}
