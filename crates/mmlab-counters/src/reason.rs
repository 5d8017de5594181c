//! Why an event could not be opened, in the words the result files use.

use mmlab_core::fingerprint::seccomp_mode;

use crate::probe::blocked_by_seccomp;

use crate::events::EventKind;

/// The reason for a failed perf_event_open of `kind`.
pub(crate) fn open_failure(kind: &EventKind, err: &std::io::Error) -> String {
    let Some(code) = err.raw_os_error() else {
        return format!("cannot open: {err}");
    };
    let name = errno_name(code);
    // A seccomp filter answers with the errno it chose (typically EPERM,
    // EACCES or ENOSYS), which would otherwise be read as perf_event_paranoid
    // or a kernel without perf events; a task-clock probe tells them apart.
    if matches!(code, libc::EPERM | libc::EACCES | libc::ENOSYS)
        && let Some(why) = blocked_by_seccomp()
    {
        return why;
    }
    match code {
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV if kind.is_hardware() => {
            format!("unsupported: no hardware PMU ({name})")
        }
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => {
            format!("unsupported: this kernel does not provide the event ({name})")
        }
        libc::EACCES | libc::EPERM => {
            // Under a filter that paranoid alone would explain (a non-root
            // user at perf_event_paranoid 3), both may be the cause.
            let also = if seccomp_mode() == Some(2) {
                " (a seccomp filter is active too: Seccomp: 2 in /proc/self/status)"
            } else {
                ""
            };
            match paranoid() {
                Some(level) => format!("denied: perf_event_paranoid={level}{also}"),
                None => format!("denied ({name}){also}"),
            }
        }
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
