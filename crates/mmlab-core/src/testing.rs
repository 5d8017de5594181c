//! Visible skips for the project's tests, and a way for CI to refuse them.
//!
//! A test that cannot check something on this machine (no root, no tracefs,
//! no `perf` or `strace`, ptrace denied, no Chromium, no aarch64 cross
//! tools, counters denied, no memory cgroup) calls [`skip`] with the
//! capability it lacks and the reason. What happens then depends on the
//! environment:
//!
//! - By default the skip is printed as one line on the terminal's stderr
//!   (`SKIPPED <test>: <capability>: <reason>`), written straight to file
//!   descriptor 2 so that `cargo test`'s output capture does not swallow it,
//!   and appended to the file named by `MMLAB_SKIP_LOG` when that is set
//!   (`make test` prints that list at the end). The test then returns.
//! - When `MMLAB_REQUIRE` (a comma-separated list, e.g.
//!   `root,tracefs,perf,strace,ptrace,chromium,aarch64`) names the
//!   capability, the skip is a failure: the test panics with the reason.
//!   `.ci/run` sets the list of what its machine has, so a capability that
//!   disappears fails CI instead of silently checking nothing.

use std::fmt;
use std::io::Write;

/// The environment variable naming the capabilities a run demands.
pub const REQUIRE_VARIABLE: &str = "MMLAB_REQUIRE";
/// The environment variable naming a file every skip is appended to.
pub const SKIP_LOG_VARIABLE: &str = "MMLAB_SKIP_LOG";

/// Something a test needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Running as root (physical frames, kpageflags, memory cgroups).
    Root,
    /// A readable tracefs (tracepoint counters).
    Tracefs,
    /// The `perf` tool, and perf_event_open for the software events.
    Perf,
    /// The `strace` tool.
    Strace,
    /// ptrace of a child.
    Ptrace,
    /// Headless Chromium (the report's browser test).
    Chromium,
    /// The aarch64 cross tools and qemu-user.
    Aarch64,
    /// A memory cgroup this process may create.
    MemoryCgroup,
    /// Scratch filesystems of every kind (`mmlab_core::scratch`): loop
    /// devices, and mkfs for ext4, xfs and btrfs.
    Scratch,
    /// qemu-system-x86_64, a static busybox, cpio and apt-get download of a
    /// Debian kernel (`mmlab kernels`; `make kernels-deps` installs them).
    Qemu,
}

impl Capability {
    /// Every capability, in the order `MMLAB_REQUIRE` lists them.
    pub const ALL: [Capability; 10] = [
        Capability::Root,
        Capability::Tracefs,
        Capability::Perf,
        Capability::Strace,
        Capability::Ptrace,
        Capability::Chromium,
        Capability::Aarch64,
        Capability::MemoryCgroup,
        Capability::Scratch,
        Capability::Qemu,
    ];

    /// What a counter that cannot be opened lacks: tracefs for a
    /// tracepoint (`group:name`), perf_event_open for the others.
    pub fn for_counter(event: &str) -> Capability {
        if event.contains(':') {
            Capability::Tracefs
        } else {
            Capability::Perf
        }
    }

    /// The name used in `MMLAB_REQUIRE`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Root => "root",
            Capability::Tracefs => "tracefs",
            Capability::Perf => "perf",
            Capability::Strace => "strace",
            Capability::Ptrace => "ptrace",
            Capability::Chromium => "chromium",
            Capability::Aarch64 => "aarch64",
            Capability::MemoryCgroup => "memory-cgroup",
            Capability::Scratch => "scratch-fs",
            Capability::Qemu => "qemu",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The capabilities named in a `MMLAB_REQUIRE` value; an unknown name is
/// an error naming it (a typo must not silently demand nothing).
pub fn parse_required(value: &str) -> Result<Vec<Capability>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            Capability::ALL
                .into_iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| {
                    let known: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
                    format!(
                        "{REQUIRE_VARIABLE}: unknown capability {name:?} (known: {})",
                        known.join(", ")
                    )
                })
        })
        .collect()
}

/// Whether this run demands `capability` (`MMLAB_REQUIRE`). Panics on an
/// unknown name in the variable.
pub fn required(capability: Capability) -> bool {
    match std::env::var(REQUIRE_VARIABLE) {
        Ok(value) => parse_required(&value)
            .unwrap_or_else(|e| panic!("{e}"))
            .contains(&capability),
        Err(_) => false,
    }
}

/// The name of the running test (libtest names each test's thread).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_string()
}

/// Reports that the calling test cannot check `what` here because
/// `capability` is missing, for `reason`. Prints one line on stderr that
/// `cargo test` shows (and logs it to `MMLAB_SKIP_LOG`), or panics when
/// `MMLAB_REQUIRE` names the capability. The caller returns afterwards.
pub fn skip(capability: Capability, what: &str, reason: impl fmt::Display) {
    let test = test_name();
    if required(capability) {
        panic!(
            "{test}: {what}: {REQUIRE_VARIABLE} demands {capability}, which is missing: {reason}"
        );
    }
    let line = format!("SKIPPED {test}: {what}: {capability} missing: {reason}\n");
    // Straight to fd 2: eprintln! would be captured by the test harness.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os(SKIP_LOG_VARIABLE)
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Faults the kernel may add to any measured region beyond the ones the
/// test causes: NUMA hinting faults, migration, compaction or reclaim
/// touching a page, the counting code's own stack or heap pages. Tests that
/// expect "no fault" or "one fault per page" allow this many more and say so.
pub const STRAY_FAULTS: u64 = 4;

/// The most read faults touching `n_pages` pages of a mapping can take:
/// one per page. Fault-around (`fault_around_bytes`, in debugfs) and large
/// folios usually map many pages per fault, but neither is a guarantee (a
/// page not cached, locked or under I/O is skipped), so a test bounds the
/// count by the pages and records the rest as data.
pub fn read_fault_bound(n_pages: u64) -> u64 {
    n_pages + STRAY_FAULTS
}

/// True as root; otherwise reports the skip of `what` and returns false.
pub fn root_or_skip(what: &str) -> bool {
    if crate::fingerprint::is_root() {
        return true;
    }
    skip(
        Capability::Root,
        what,
        "physical frame numbers and kpageflags need root (CAP_SYS_ADMIN)",
    );
    false
}

/// Turns off transparent huge pages of every size for this process (and
/// what it forks and execs): `prctl(PR_SET_THP_DISABLE)`. Tests that count
/// one fault per anonymous page call it, since THP (`always`, or an mTHP
/// size under `hugepages-*kB/enabled`) would fault many pages at once.
pub fn disable_thp_for_this_process() {
    // SAFETY: prctl with integer arguments only; no memory is passed.
    let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    assert_eq!(
        rc,
        0,
        "prctl(PR_SET_THP_DISABLE): {}",
        std::io::Error::last_os_error()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capability_list_is_parsed_and_typos_are_errors() {
        assert_eq!(
            parse_required("root, strace,,perf").unwrap(),
            [Capability::Root, Capability::Strace, Capability::Perf]
        );
        assert_eq!(parse_required("").unwrap(), []);
        let err = parse_required("root,stracee").unwrap_err();
        assert!(
            err.contains("\"stracee\"") && err.contains("strace"),
            "{err}"
        );
        for c in Capability::ALL {
            assert_eq!(parse_required(c.name()).unwrap(), [c]);
        }
    }
}
