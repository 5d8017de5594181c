//! Why an event could not be opened, in the words the result files use.

use crate::events::EventKind;

/// The reason for a failed perf_event_open of `kind`.
pub(crate) fn open_failure(kind: &EventKind, err: &std::io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return format!("cannot open: {err}");
    };
    let name = errno_name(code);
    match code {
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV if kind.is_hardware() => {
            format!("unsupported: no hardware PMU ({name})")
        }
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => {
            format!("unsupported: this kernel does not provide the event ({name})")
        }
        libc::EPERM if seccomp_filtered() => "blocked by seccomp (EPERM)".to_string(),
        libc::EACCES | libc::EPERM => match paranoid() {
            Some(level) => format!("denied: perf_event_paranoid={level}"),
            None => format!("denied ({name})"),
        },
        libc::ENOSYS => "unsupported: no perf_event_open in this kernel (ENOSYS)".to_string(),
        _ => format!("cannot open: {err} ({name})"),
    }
}

/// The symbolic errno name, e.g. "ENOENT".
pub(crate) fn errno_name(code: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(code))
}

/// /proc/sys/kernel/perf_event_paranoid.
pub(crate) fn paranoid() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether this process runs under a seccomp filter (`Seccomp: 2`).
fn seccomp_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Seccomp:") && l.split_whitespace().nth(1) == Some("2"))
        })
        .unwrap_or(false)
}
