//! Whether perf events open here at all, and why not: the probes behind the
//! fingerprint's `pmu` field, `mmlab env` and the reasons of failed events.
//! Only this crate opens perf events (ARCHITECTURE.md); the fingerprint in
//! mmlab-core receives the probe's answer through the run context.

use mmlab_core::fingerprint::{is_root, seccomp_mode};
use perf_event::Builder;
use perf_event::events::{Event, Hardware, Software};

/// What the reasons say when a seccomp filter refuses perf_event_open.
pub const SECCOMP_BLOCKED: &str = "blocked by a seccomp filter (Seccomp: 2 in /proc/self/status)";

/// Opens a hardware cycles counter on this thread to see whether a PMU
/// answers. Returns the reason when it does not.
pub fn hardware_pmu() -> Result<(), String> {
    let Err(code) = open_and_close(Hardware::CPU_CYCLES) else {
        return Ok(());
    };
    let name = errno_name(code);
    // A filter answers for every event alike, so whether a PMU exists
    // cannot be told from here: say what stops the call.
    if matches!(code, libc::EACCES | libc::EPERM | libc::ENOSYS)
        && let Some(why) = blocked_by_seccomp()
    {
        return Err(why);
    }
    Err(match code {
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => {
            format!("unsupported: no hardware PMU ({name})")
        }
        libc::EACCES | libc::EPERM => match paranoid() {
            Some(level) => format!("denied: perf_event_paranoid={level} ({name})"),
            None => format!("denied ({name})"),
        },
        _ => format!(
            "unsupported: {} ({name})",
            std::io::Error::from_raw_os_error(code)
        ),
    })
}

/// Opens a software task-clock counter on this thread, user space only: the
/// one perf_event_open that needs neither a PMU nor privilege (with
/// perf_event_paranoid <= 2), so when it fails the call itself is refused.
/// Returns the reason when it does not open.
pub fn perf_event_open() -> Result<(), String> {
    let Err(code) = open_and_close(Software::TASK_CLOCK) else {
        return Ok(());
    };
    let name = errno_name(code);
    if let Some(why) = seccomp_block_reason(seccomp_mode(), code, paranoid(), is_root()) {
        return Err(why);
    }
    Err(match code {
        libc::EACCES | libc::EPERM => match paranoid() {
            Some(level) => format!("denied: perf_event_paranoid={level} ({name})"),
            None => format!("denied ({name})"),
        },
        libc::ENOSYS => "unsupported: no perf_event_open in this kernel (ENOSYS)".into(),
        _ => format!(
            "cannot open task-clock: {} ({name})",
            std::io::Error::from_raw_os_error(code)
        ),
    })
}

/// The reason when a seccomp filter refuses perf_event_open here: the
/// calling thread runs under a filter and even the task-clock probe fails
/// with EPERM, EACCES or ENOSYS. `None` when it is not that (no filter, or
/// the probe opens, or a paranoid level that would refuse it anyway).
pub fn blocked_by_seccomp() -> Option<String> {
    let mode = seccomp_mode();
    if mode != Some(2) {
        return None; // no probe needed
    }
    let code = open_and_close(Software::TASK_CLOCK).err()?;
    seccomp_block_reason(mode, code, paranoid(), is_root())
}

/// Whether a task-clock probe that failed with `errno` was refused by a
/// seccomp filter, from the thread's seccomp mode, perf_event_paranoid and
/// whether it is root. A filter chooses any errno, typically EPERM, EACCES
/// or ENOSYS; EPERM/EACCES are the filter's only where paranoid could not
/// have refused the probe (root, or paranoid <= 2: user-space counting of
/// the own process is allowed), and ENOSYS only where the kernel has
/// perf events at all (perf_event_paranoid exists).
pub fn seccomp_block_reason(
    seccomp: Option<u32>,
    errno: i32,
    paranoid: Option<i32>,
    root: bool,
) -> Option<String> {
    if seccomp != Some(2) {
        return None;
    }
    let by_filter = match errno {
        libc::EPERM | libc::EACCES => root || paranoid.is_some_and(|p| p <= 2),
        libc::ENOSYS => paranoid.is_some(),
        _ => false,
    };
    by_filter.then(|| {
        format!(
            "{SECCOMP_BLOCKED}: perf_event_open returns {}, even for task-clock",
            errno_name(errno)
        )
    })
}

/// Opens `event` on this thread, any CPU, disabled and user space only, and
/// closes it at once; the errno when it fails.
fn open_and_close(event: impl Event + 'static) -> Result<(), i32> {
    let mut builder = Builder::new(event);
    builder.exclude_kernel(true).exclude_hv(true);
    match builder.build() {
        Ok(counter) => {
            drop(counter);
            Ok(())
        }
        Err(err) => Err(err.raw_os_error().unwrap_or(0)),
    }
}

fn errno_name(code: i32) -> String {
    crate::reason::errno_name(code)
}

fn paranoid() -> Option<i32> {
    crate::reason::paranoid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_is_blamed_only_where_nothing_else_could_refuse_the_probe() {
        let blamed = |mode, errno, paranoid, root| {
            seccomp_block_reason(mode, errno, paranoid, root)
                .is_some_and(|r| r.starts_with(SECCOMP_BLOCKED))
        };
        assert!(blamed(Some(2), libc::EPERM, Some(2), false));
        assert!(blamed(Some(2), libc::EACCES, Some(4), true));
        assert!(blamed(Some(2), libc::ENOSYS, Some(3), false));
        // paranoid 3 (Debian) refuses a non-root user by itself.
        assert!(!blamed(Some(2), libc::EPERM, Some(3), false));
        // No filter, or strict mode (which would have killed us): not seccomp.
        assert!(!blamed(Some(0), libc::EPERM, Some(2), false));
        assert!(!blamed(None, libc::EPERM, Some(2), true));
        // A kernel without perf events, or an errno a filter is unlikely to pick.
        assert!(!blamed(Some(2), libc::ENOSYS, None, true));
        assert!(!blamed(Some(2), libc::ENOENT, Some(2), true));
        assert!(
            seccomp_block_reason(Some(2), libc::EPERM, Some(2), false)
                .unwrap()
                .contains("returns EPERM, even for task-clock")
        );
    }

    #[test]
    fn the_software_probe_opens_where_the_counters_do() {
        // Both go through the same perf_event_open: where the counter set
        // opens task-clock, so does the probe, and the other way round.
        let probe = perf_event_open();
        let set = crate::CounterSet::open(&["task-clock"]).expect("a known event");
        let opened = matches!(
            set.availability().get("task-clock"),
            Some(mmlab_core::Availability::Available)
        );
        assert_eq!(opened, probe.is_ok(), "probe says {probe:?}");
    }
}
