//! Hardware, software and tracepoint counters over `perf_event_open` (the
//! `perf-event2` crate), named as `perf` names them, opened as groups and read
//! atomically, with getrusage/wait4 faults recorded beside every measured
//! region as a cross-check. An event that cannot be opened here (no hardware
//! PMU, perf_event_paranoid, no tracefs, perf_event_open refused by a seccomp
//! filter, even for the group leaders) is kept in the set with its reason and
//! reads as `None`, never as a silent zero and never as a crash; a measured
//! region still runs and still has its getrusage counts. Only an unknown name
//! or a tracepoint that does not exist is an error.
//!
//! ```no_run
//! let set = mmlab_counters::CounterSet::standard_with(&["syscalls:sys_enter_read"])?;
//! let (_, m) = set.measure(|| std::fs::read("/etc/hostname"));
//! println!("{:?} minor faults, {:?} read() calls", m.get("minor-faults"),
//!          m.get("syscalls:sys_enter_read"));
//! # Ok::<(), mmlab_counters::CounterError>(())
//! ```
//!
//! Counters observe the calling thread only (pid 0, any CPU, no inherit), so
//! threads measure independently; [`measure_command`] observes a child
//! process and its descendants from `exec` onwards, like `perf stat`.

mod child;
pub mod cross_check;
mod events;
pub mod probe;
mod reason;
pub mod tracefs;

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use mmlab_core::Availability;
use mmlab_core::pages::Rusage;
use perf_event::events::Tracepoint;
use perf_event::{Builder, Counter, Group};

pub use child::{CommandMeasurement, measure_command};
pub use events::{HARDWARE_EVENTS, SOFTWARE_EVENTS, STANDARD_EVENTS, field_name, syscall_event};

/// Why a counter set could not be built: bad input, or a system call that
/// failed for a reason that is not about one event (for a command: pipe2,
/// fork, wait4). perf_event_open failing is never one of these: its events
/// become unavailable with the reason.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error(
        "unknown event {0:?}: use a perf name ({known}, ...) or a tracepoint subsystem:name",
        known = events::known_names().join(", ")
    )]
    UnknownEvent(String),
    #[error("tracepoint {name} does not exist: no {} in tracefs", path.display())]
    NoSuchTracepoint {
        name: String,
        path: std::path::PathBuf,
    },
    #[error("{call}: {source}")]
    Io {
        call: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {command:?}: {source}")]
    CannotStart {
        command: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where one requested event stands.
#[derive(Debug)]
enum Slot {
    /// Member `member` of group `group`.
    Open {
        group: usize,
        member: usize,
    },
    Unavailable(String),
}

#[derive(Debug)]
struct CounterGroup {
    /// A dummy software event with PERF_FORMAT_GROUP.
    leader: Counter,
    members: Vec<Counter>,
    /// Leader times at the end of the previous measurement (times are
    /// cumulative; counts are reset).
    last_enabled_ns: AtomicU64,
    last_running_ns: AtomicU64,
}

/// Events whose count in a region includes one system call of the
/// measurement itself: the `ioctl` that stops the counters enters while they
/// run, and the one that starts them exits while they run. Subtracted.
const OWN_SYSCALLS: &[&str] = &[
    "raw_syscalls:sys_enter",
    "raw_syscalls:sys_exit",
    "syscalls:sys_enter_ioctl",
    "syscalls:sys_exit_ioctl",
];

/// A set of counters on the calling thread (or on a child process, see
/// [`measure_command`]): hardware events in groups of at most
/// [`HARDWARE_GROUP_SIZE`] (each scaled by its own time_enabled /
/// time_running when multiplexed), software events and tracepoints in one
/// group (never multiplexed). Group leaders are dummy software events opened
/// disabled; members are opened enabled and so count exactly while their
/// leader does.
#[derive(Debug)]
pub struct CounterSet {
    names: Vec<String>,
    slots: Vec<Slot>,
    /// Index 0.. : hardware groups first, the software/tracepoint group last.
    groups: Vec<CounterGroup>,
    /// Per-event notes that are not failures (e.g. user space only).
    notes: BTreeMap<String, String>,
    /// Whether `OWN_SYSCALLS` correction applies (this thread, not a child).
    on_self: bool,
}

/// Hardware events per group: small enough to fit the general-purpose
/// counters of every x86 PMU (4 on Intel with hyper-threading, 6 on AMD).
pub const HARDWARE_GROUP_SIZE: usize = 4;

/// The counts of one measured region.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Measurement {
    /// Wall-clock time of the region.
    pub elapsed_ns: u64,
    /// Every event of the set: `None` where it could not be counted (the
    /// reason is in `notes`). Multiplexed hardware counts are scaled.
    pub counts: BTreeMap<String, Option<u64>>,
    /// getrusage(RUSAGE_THREAD) delta over the region (for a command: its
    /// rusage from wait4, children included, less what the child had used
    /// between fork and exec, so that it covers what the counters cover).
    pub rusage: Rusage,
    /// Why a count is `None`, or how it was obtained when that matters
    /// ("scaled: counted 41% of the time", "user space only ...").
    pub notes: BTreeMap<String, String>,
}

impl Measurement {
    /// The count of `event`, `None` when unavailable or not in the set.
    pub fn get(&self, event: &str) -> Option<u64> {
        self.counts.get(event).copied().flatten()
    }

    /// A flat sample: `elapsed_ns`, one `perf_<event>` field per event (null
    /// when unavailable), `rusage_minor_faults`, `rusage_major_faults`,
    /// `user_ns`, `system_ns`.
    pub fn sample_fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut map = serde_json::Map::new();
        map.insert("elapsed_ns".into(), self.elapsed_ns.into());
        for (event, count) in &self.counts {
            map.insert(
                field_name(event),
                count.map_or(serde_json::Value::Null, Into::into),
            );
        }
        map.insert(
            "rusage_minor_faults".into(),
            self.rusage.n_minor_faults.into(),
        );
        map.insert(
            "rusage_major_faults".into(),
            self.rusage.n_major_faults.into(),
        );
        map.insert("user_ns".into(), self.rusage.user_ns.into());
        map.insert("system_ns".into(), self.rusage.system_ns.into());
        map
    }
}

/// How the counters attach.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// The calling thread, counting while enabled by `measure`.
    ThisThread,
    /// A child process (and its descendants) from its next exec onwards.
    ChildOnExec(libc::pid_t),
}

impl CounterSet {
    /// Opens `events` on the calling thread. Unknown names and tracepoints
    /// that do not exist are errors; every other failure to open an event
    /// keeps the event with its reason.
    pub fn open(events: &[&str]) -> Result<CounterSet, CounterError> {
        CounterSet::open_for(events, Target::ThisThread)
    }

    /// [`STANDARD_EVENTS`] followed by `extra` (duplicates dropped).
    pub fn standard_with(extra: &[&str]) -> Result<CounterSet, CounterError> {
        let all: Vec<&str> = STANDARD_EVENTS.iter().chain(extra).copied().collect();
        CounterSet::open(&all)
    }

    /// Checks `events` without opening anything: an unknown name or a
    /// tracepoint that does not exist is an error (what `open` would say).
    pub fn check(events: &[&str]) -> Result<(), CounterError> {
        CounterSet::plan(events).map(drop)
    }

    /// The event names of the set, in the order asked for.
    pub fn events(&self) -> &[String] {
        &self.names
    }

    /// For `result.counters_available`: `true` or the reason.
    pub fn availability(&self) -> BTreeMap<String, Availability> {
        self.names
            .iter()
            .zip(&self.slots)
            .map(|(name, slot)| {
                let a = match slot {
                    Slot::Open { .. } => Availability::Available,
                    Slot::Unavailable(reason) => Availability::Unavailable(reason.clone()),
                };
                (name.clone(), a)
            })
            .collect()
    }

    /// Notes on events that opened with a restriction (e.g. user space
    /// only because perf_event_paranoid forbids counting the kernel).
    pub fn notes(&self) -> &BTreeMap<String, String> {
        &self.notes
    }

    pub(crate) fn open_for(events: &[&str], target: Target) -> Result<CounterSet, CounterError> {
        CounterSet::plan(events)?.open(target)
    }

    /// Parses the names and resolves tracepoint ids: all bad input is found
    /// here, before anything is opened (or any child forked).
    pub(crate) fn plan(events: &[&str]) -> Result<Plan, CounterError> {
        let mut names: Vec<String> = Vec::new();
        let mut kinds = Vec::new();
        for &name in events {
            let name = name.trim();
            if names.iter().any(|n| n == name) {
                continue;
            }
            let kind =
                events::parse(name).ok_or_else(|| CounterError::UnknownEvent(name.to_string()))?;
            names.push(name.to_string());
            kinds.push(kind);
        }
        let wanted: Vec<(String, String)> = kinds
            .iter()
            .filter_map(|k| match k {
                events::EventKind::Tracepoint { subsystem, name } => {
                    Some((subsystem.clone(), name.clone()))
                }
                _ => None,
            })
            .collect();
        let ids = if wanted.is_empty() {
            Default::default()
        } else {
            tracefs::resolve(&wanted)
        };

        // Builders per event, or the reason it has none.
        let mut builders: Vec<Result<Builder<'static>, String>> = Vec::new();
        for (name, kind) in names.iter().zip(&kinds) {
            let builder = match kind {
                events::EventKind::Hardware(hw) => Ok(Builder::new(*hw)),
                events::EventKind::Cache(..) => Ok(Builder::new(kind.cache().expect("cache"))),
                events::EventKind::Software(sw) => Ok(Builder::new(*sw)),
                events::EventKind::Tracepoint {
                    subsystem,
                    name: tp,
                } => match ids.get(&(subsystem.clone(), tp.clone())) {
                    Some(Ok(id)) => Ok(Builder::new(Tracepoint::with_id(*id))),
                    Some(Err(tracefs::IdError::NoSuchTracepoint { path })) => {
                        return Err(CounterError::NoSuchTracepoint {
                            name: name.clone(),
                            path: path.clone(),
                        });
                    }
                    Some(Err(tracefs::IdError::Unavailable(reason))) => Err(reason.clone()),
                    None => Err("no tracefs: tracepoint id not resolved".to_string()),
                },
            };
            builders.push(builder);
        }
        Ok(Plan {
            names,
            kinds,
            builders,
        })
    }
}

/// A checked list of events with their perf_event_attr, not opened yet.
#[derive(Debug)]
pub(crate) struct Plan {
    names: Vec<String>,
    kinds: Vec<events::EventKind>,
    builders: Vec<Result<Builder<'static>, String>>,
}

impl Plan {
    /// Opens the groups on `target`.
    pub(crate) fn open(self, target: Target) -> Result<CounterSet, CounterError> {
        let Plan {
            names,
            kinds,
            mut builders,
        } = self;
        let mut set = CounterSet {
            names,
            slots: Vec::new(),
            groups: Vec::new(),
            notes: BTreeMap::new(),
            on_self: matches!(target, Target::ThisThread),
        };
        // Hardware groups of HARDWARE_GROUP_SIZE, then one software group.
        let hw: Vec<usize> = (0..kinds.len())
            .filter(|&i| kinds[i].is_hardware() && builders[i].is_ok())
            .collect();
        let sw: Vec<usize> = (0..kinds.len())
            .filter(|&i| !kinds[i].is_hardware() && builders[i].is_ok())
            .collect();
        let mut slots: Vec<Option<Slot>> = builders
            .iter()
            .map(|b| b.as_ref().err().map(|r| Slot::Unavailable(r.clone())))
            .collect();
        let chunks: Vec<&[usize]> = hw
            .chunks(HARDWARE_GROUP_SIZE)
            .chain(std::iter::once(&sw[..]))
            .filter(|c| !c.is_empty())
            .collect();
        for chunk in chunks {
            let mut leader_builder = Group::builder();
            apply_target(&mut leader_builder, target, true);
            // A leader that cannot open (a seccomp filter refusing
            // perf_event_open, perf_event_paranoid) leaves its members
            // unavailable with the reason each would have got itself; the
            // set is still built, so that a measured region runs and keeps
            // its getrusage counts.
            let mut leader = match leader_builder.build_group() {
                Ok(group) => group.into_counter(),
                Err(e) => {
                    for &i in chunk {
                        slots[i] = Some(Slot::Unavailable(reason::open_failure(&kinds[i], &e)));
                    }
                    continue;
                }
            };
            let mut members = Vec::new();
            for &i in chunk {
                let builder = builders[i].as_mut().expect("filtered on ok");
                apply_target(builder, target, false);
                let tracepoint = matches!(kinds[i], events::EventKind::Tracepoint { .. });
                // Count the kernel side too, as perf stat does as root: page
                // faults taken inside system calls (copy_to_user) and every
                // tracepoint are kernel-side.
                builder.exclude_kernel(false);
                let opened = match builder.build_with_group(&mut leader) {
                    Ok(c) => Ok(c),
                    Err(e)
                        if !tracepoint
                            && matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) =>
                    {
                        builder.exclude_kernel(true);
                        let retry = builder.build_with_group(&mut leader);
                        if retry.is_ok() {
                            set.notes.insert(
                                set.names[i].clone(),
                                format!(
                                    "user space only ({})",
                                    reason::open_failure(&kinds[i], &e)
                                ),
                            );
                        }
                        retry
                    }
                    Err(e) => Err(e),
                };
                slots[i] = Some(match opened {
                    Ok(counter) => {
                        members.push(counter);
                        Slot::Open {
                            group: set.groups.len(),
                            member: members.len() - 1,
                        }
                    }
                    Err(e) => Slot::Unavailable(reason::open_failure(&kinds[i], &e)),
                });
            }
            if !members.is_empty() {
                set.groups.push(CounterGroup {
                    leader,
                    members,
                    last_enabled_ns: AtomicU64::new(0),
                    last_running_ns: AtomicU64::new(0),
                });
            }
        }
        set.slots = slots
            .into_iter()
            .map(|s| s.expect("every event has a slot"))
            .collect();
        Ok(set)
    }
}

impl CounterSet {
    /// Resets, enables, runs `f`, disables and reads. Counts the calling
    /// thread only. Never fails: a counter that cannot be read becomes
    /// `None` with its reason in `notes`.
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, Measurement) {
        let mut errors: Vec<String> = Vec::new();
        for g in &self.groups {
            if let Err(e) = ioctl_group(&g.leader, Ioctl::Reset) {
                errors.push(format!("PERF_EVENT_IOC_RESET: {e}"));
            }
        }
        let before = Rusage::now(true);
        // Hardware groups first, the software/tracepoint group (last) last:
        // the tracepoints then see only their own group's disabling ioctl
        // (subtracted in `read_counts`). The clock is read while the last
        // group is off: where the clocksource has no vDSO path (an emulated
        // guest's, hpet, acpi_pm) each clock read is a clock_gettime system
        // call, and the region's count must not include the timer's own two
        // (seen under qemu TCG on Linux 6.1: every region +2). The time then
        // includes that group's enabling and disabling ioctl, about a
        // microsecond, against regions of milliseconds.
        let (last, first) = match self.groups.split_last() {
            Some((last, first)) => (Some(last), first),
            None => (None, &self.groups[..]),
        };
        let mut toggle = |g: &CounterGroup, how: Ioctl, name: &str| {
            if let Err(e) = ioctl_group(&g.leader, how) {
                errors.push(format!("{name}: {e}"));
            }
        };
        for g in first {
            toggle(g, Ioctl::Enable, "PERF_EVENT_IOC_ENABLE");
        }
        let start = Instant::now();
        if let Some(g) = last {
            toggle(g, Ioctl::Enable, "PERF_EVENT_IOC_ENABLE");
        }
        let value = f();
        if let Some(g) = last {
            toggle(g, Ioctl::Disable, "PERF_EVENT_IOC_DISABLE");
        }
        let elapsed_ns = start.elapsed().as_nanos() as u64;
        for g in first.iter().rev() {
            toggle(g, Ioctl::Disable, "PERF_EVENT_IOC_DISABLE");
        }
        let rusage = Rusage::now(true).since(&before);
        let mut m = self.read_counts(elapsed_ns, rusage);
        if !errors.is_empty() {
            for name in &self.names {
                m.notes
                    .entry(name.clone())
                    .or_insert_with(|| errors.join("; "));
            }
        }
        (value, m)
    }

    /// The counts so far, without stopping or resetting anything: one read
    /// per group (for a closure's set, the counts of the last region).
    pub fn snapshot(&self) -> BTreeMap<String, Option<u64>> {
        self.read_counts(0, Rusage::default()).counts
    }

    /// Reads every group (one read per group) into a measurement.
    pub(crate) fn read_counts(&self, elapsed_ns: u64, rusage: Rusage) -> Measurement {
        let mut counts = BTreeMap::new();
        let mut notes = self.notes.clone();
        let reads: Vec<Result<GroupRead, String>> = self.groups.iter().map(read_group).collect();
        for (name, slot) in self.names.iter().zip(&self.slots) {
            let count = match slot {
                Slot::Unavailable(reason) => {
                    notes.insert(name.clone(), reason.clone());
                    None
                }
                Slot::Open { group, member } => match &reads[*group] {
                    Err(reason) => {
                        notes.insert(name.clone(), reason.clone());
                        None
                    }
                    Ok(read) => {
                        let g = &self.groups[*group];
                        let enabled = read
                            .enabled_ns
                            .saturating_sub(g.last_enabled_ns.load(Relaxed));
                        let running = read
                            .running_ns
                            .saturating_sub(g.last_running_ns.load(Relaxed));
                        let raw = read.values[*member];
                        match scale_count(raw, enabled, running) {
                            Scaled::NotCounted(reason) => {
                                notes.insert(name.clone(), reason.into());
                                None
                            }
                            Scaled::Multiplexed(value, note) => {
                                notes.insert(name.clone(), note);
                                Some(value)
                            }
                            Scaled::Exact(raw)
                                if self.on_self && OWN_SYSCALLS.contains(&name.as_str()) =>
                            {
                                Some(raw.saturating_sub(1))
                            }
                            Scaled::Exact(raw) => Some(raw),
                        }
                    }
                },
            };
            counts.insert(name.clone(), count);
        }
        for (g, read) in self.groups.iter().zip(&reads) {
            if let Ok(read) = read {
                g.last_enabled_ns.store(read.enabled_ns, Relaxed);
                g.last_running_ns.store(read.running_ns, Relaxed);
            }
        }
        Measurement {
            elapsed_ns,
            counts,
            rusage,
            notes,
        }
    }
}

/// A group member's count over a region, from its raw value and its
/// group's time enabled and running over that region.
#[derive(Debug, Clone, PartialEq)]
enum Scaled {
    /// Counted the whole time: the raw value.
    Exact(u64),
    /// Multiplexed: counted part of the time, scaled up as `perf stat`
    /// does (raw x enabled / running), with a note saying how much.
    Multiplexed(u64, String),
    /// Enabled but never on a hardware counter: no value at all.
    NotCounted(&'static str),
}

fn scale_count(raw: u64, enabled_ns: u64, running_ns: u64) -> Scaled {
    if enabled_ns > 0 && running_ns == 0 {
        Scaled::NotCounted("not counted: its group never got a hardware counter (time_running = 0)")
    } else if running_ns < enabled_ns {
        let pct = 100.0 * running_ns as f64 / enabled_ns as f64;
        Scaled::Multiplexed(
            (raw as u128 * enabled_ns as u128 / running_ns as u128) as u64,
            format!("scaled: counted {pct:.0}% of the time (multiplexed)"),
        )
    } else {
        Scaled::Exact(raw)
    }
}

#[derive(Debug, Clone, Copy)]
enum Ioctl {
    Enable,
    Disable,
    Reset,
}

/// PERF_EVENT_IOC_ENABLE / DISABLE / RESET = _IO('$', 0 / 1 / 3).
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const PERF_EVENT_IOC_RESET: libc::c_ulong = 0x2403;
const PERF_IOC_FLAG_GROUP: libc::c_ulong = 1;

/// One ioctl on a group leader. Enable and disable act on the leader alone:
/// the members, opened enabled, follow it. Reset acts on the whole group.
/// (perf-event2 wants `&mut` for these; the raw fd lets `measure` take
/// `&self`.)
fn ioctl_group(leader: &Counter, op: Ioctl) -> std::io::Result<()> {
    let (request, arg) = match op {
        Ioctl::Enable => (PERF_EVENT_IOC_ENABLE, 0),
        Ioctl::Disable => (PERF_EVENT_IOC_DISABLE, 0),
        Ioctl::Reset => (PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP),
    };
    let fd = leader.as_raw_fd();
    // SAFETY: `fd` is an open perf event fd owned by `leader`; these ioctls
    // take an integer argument and touch no user memory.
    let rc = unsafe { libc::ioctl(fd, request as _, arg) };
    if rc == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// One group read: the leader's times and the members' raw values.
#[derive(Debug)]
struct GroupRead {
    enabled_ns: u64,
    running_ns: u64,
    values: Vec<u64>,
}

/// read(2) on the leader with PERF_FORMAT_GROUP | TOTAL_TIME_ENABLED |
/// TOTAL_TIME_RUNNING | ID: `nr, time_enabled, time_running, {value, id} x nr`,
/// the (dummy) leader first.
fn read_group(g: &CounterGroup) -> Result<GroupRead, String> {
    let nr = g.members.len() + 1;
    let mut buf = vec![0u64; 3 + 2 * nr];
    let fd = g.leader.as_raw_fd();
    let len = std::mem::size_of_val(buf.as_slice());
    // SAFETY: `buf` is a writable buffer of `len` bytes that outlives the call.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(format!(
            "read(perf group): {}",
            std::io::Error::last_os_error()
        ));
    }
    if (n as usize) < len || buf[0] as usize != nr {
        return Err(format!(
            "read(perf group): got {n} bytes for {} counters, expected {len} bytes for {nr}",
            buf[0]
        ));
    }
    Ok(GroupRead {
        enabled_ns: buf[1],
        running_ns: buf[2],
        values: (1..nr).map(|i| buf[3 + 2 * i]).collect(),
    })
}

/// Points a builder at the target: the leader opens disabled (and, for a
/// child, enables itself on exec); members open enabled so that they count
/// exactly while their leader does.
fn apply_target(builder: &mut Builder<'static>, target: Target, leader: bool) {
    match target {
        Target::ThisThread => {
            builder.observe_self().inherit(false);
        }
        Target::ChildOnExec(pid) => {
            builder.observe_pid(pid).inherit(true);
            if leader {
                builder.enable_on_exec(true);
            }
        }
    }
    builder.any_cpu().enabled(!leader);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The multiplexing path cannot be reached without a hardware PMU, so
    /// its arithmetic is checked here on the numbers a read would return.
    #[test]
    fn multiplexed_counts_are_scaled_like_perf_stat() {
        assert_eq!(scale_count(1000, 400, 400), Scaled::Exact(1000));
        assert_eq!(scale_count(0, 0, 0), Scaled::Exact(0));
        assert_eq!(
            scale_count(1000, 400, 100),
            Scaled::Multiplexed(4000, "scaled: counted 25% of the time (multiplexed)".into())
        );
        // No overflow for large counts over long regions.
        assert_eq!(
            scale_count(u64::MAX / 2, 3_000_000_000, 1_500_000_000),
            Scaled::Multiplexed(
                u64::MAX - 1,
                "scaled: counted 50% of the time (multiplexed)".into()
            )
        );
        assert!(matches!(
            scale_count(1000, 400, 0),
            Scaled::NotCounted(reason) if reason.contains("time_running = 0")
        ));
    }
}
