//! System calls counted in untimed passes, through mmlab-counters: every
//! system call (`raw_syscalls:sys_enter`, which fires for the 32-bit
//! `int $0x80` entry too) and read(2) alone (`syscalls:sys_enter_read`).
//!
//! The set is opened only for the counted passes and closed before any
//! timed one: while a syscall tracepoint exists, the kernel sends every
//! system call of every task through its slow path.

use std::collections::BTreeMap;

use mmlab_core::Availability;
use mmlab_counters::CounterSet;

pub const ALL_SYSCALLS: &str = "raw_syscalls:sys_enter";
pub const READ_SYSCALLS: &str = "syscalls:sys_enter_read";

/// What a counted region gave: `None` where the event could not be counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub syscalls: Option<u64>,
    pub reads: Option<u64>,
}

#[derive(Debug)]
pub struct Counter {
    set: Option<CounterSet>,
    availability: BTreeMap<String, Availability>,
}

impl Counter {
    /// Opens both events (or the ones this kernel has), never failing: what
    /// cannot be counted is recorded with its reason.
    pub fn open() -> Counter {
        let mut availability = BTreeMap::new();
        let mut set = None;
        let mut errors = Vec::new();
        for events in [&[ALL_SYSCALLS, READ_SYSCALLS][..], &[ALL_SYSCALLS][..]] {
            match CounterSet::open(events) {
                Ok(opened) => {
                    availability = opened.availability();
                    set = Some(opened);
                    break;
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        for event in [ALL_SYSCALLS, READ_SYSCALLS] {
            availability.entry(event.to_string()).or_insert_with(|| {
                Availability::Unavailable(format!(
                    "could not be opened: {}",
                    if errors.is_empty() {
                        "unknown reason".to_string()
                    } else {
                        errors.join("; ")
                    }
                ))
            });
        }
        Counter { set, availability }
    }

    pub fn availability(&self) -> BTreeMap<String, Availability> {
        self.availability.clone()
    }

    /// Why `event` is not counted, or `None` when it is.
    pub fn reason(&self, event: &str) -> Option<String> {
        match self.availability.get(event) {
            Some(Availability::Available) => None,
            Some(Availability::Unavailable(reason)) => Some(reason.clone()),
            None => Some("not asked for".into()),
        }
    }

    /// Runs `f` with the counters on.
    pub fn count<T>(&self, f: impl FnOnce() -> T) -> (T, Counts) {
        match &self.set {
            None => (f(), Counts::default()),
            Some(set) => {
                let (value, m) = set.measure(f);
                (
                    value,
                    Counts {
                        syscalls: m.get(ALL_SYSCALLS),
                        reads: m.get(READ_SYSCALLS),
                    },
                )
            }
        }
    }
}
