//! Which counters are on while a pass is timed.
//!
//! A per-system-call tracepoint is not free: once a `syscalls:sys_enter_*`
//! or `raw_syscalls:sys_enter` event is open anywhere on the machine, every
//! system call of every thread takes the kernel's traced entry path, and an
//! enabled one runs perf's handler on each call. That slows read() (a call
//! per block) and not mmap (no calls after the first), so a timed pass with
//! those counters on would favour mmap. Hence three roles:
//!
//! - **timed** passes run under [`Instrumentation::Timing`]: hardware
//!   counters (none without a PMU), task-clock, context switches and CPU
//!   migrations, which cost nothing per system call. Every GB/s figure and
//!   every verdict on time uses these. Faults come from getrusage, read
//!   before and after the timer.
//! - **counted** passes run under [`Instrumentation::Full`] (the standard set
//!   and the per-call tracepoints), in the same scenario and file state as
//!   the timed ones but separately: the system-call counts come from them,
//!   their times only measure the counters' cost.
//! - **observer** passes: `read 4k` (the most calls per byte) timed under
//!   each set in turn and as a plain loop with no counter at all, so that
//!   the cost of the counters per call is a figure of its own.
//!
//! The sets with tracepoints are opened just before their passes and closed
//! right after, so that no tracepoint is open during a timed pass.

use anyhow::Context;
use mmlab_counters::CounterSet;
use mmlab_counters::{HARDWARE_EVENTS, STANDARD_EVENTS};

use crate::runner::EXTRA_EVENTS;

/// The counters on during a pass's timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Instrumentation {
    /// No counter set at all: a plain loop timed with the clock alone.
    None,
    /// Hardware counters, task-clock, context switches, CPU migrations: no
    /// per-call cost.
    Timing,
    /// task-clock and `raw_syscalls:sys_enter`: the cheapest way to count
    /// system calls.
    Syscalls,
    /// The standard set (with `raw_syscalls:sys_enter` and the user
    /// page-fault tracepoint) and the per-call `syscalls:sys_enter_*` events.
    Full,
}

/// The timed set's software events (the hardware ones are added).
const TIMING_SOFTWARE: &[&str] = &["task-clock", "context-switches", "cpu-migrations"];

impl Instrumentation {
    /// Every set, in the order the observer rounds start from.
    pub const ALL: [Instrumentation; 4] = [
        Instrumentation::None,
        Instrumentation::Timing,
        Instrumentation::Syscalls,
        Instrumentation::Full,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Instrumentation::None => "none",
            Instrumentation::Timing => "timing",
            Instrumentation::Syscalls => "syscalls",
            Instrumentation::Full => "full",
        }
    }

    /// What the set is, for figures and tables.
    pub fn label(self) -> &'static str {
        match self {
            Instrumentation::None => "no counters (plain loop)",
            Instrumentation::Timing => "timing set (no tracepoints)",
            Instrumentation::Syscalls => "raw_syscalls:sys_enter",
            Instrumentation::Full => "all counters (per-call tracepoints)",
        }
    }

    pub fn from_name(name: &str) -> Option<Instrumentation> {
        Instrumentation::ALL.into_iter().find(|i| i.name() == name)
    }

    /// The events of the set.
    pub fn events(self) -> Vec<&'static str> {
        match self {
            Instrumentation::None => Vec::new(),
            Instrumentation::Timing => HARDWARE_EVENTS
                .iter()
                .chain(TIMING_SOFTWARE)
                .copied()
                .collect(),
            Instrumentation::Syscalls => vec!["task-clock", "raw_syscalls:sys_enter"],
            Instrumentation::Full => STANDARD_EVENTS
                .iter()
                .chain(EXTRA_EVENTS)
                .copied()
                .collect(),
        }
    }

    /// Whether the set holds a tracepoint that fires on every system call.
    pub fn traces_calls(self) -> bool {
        matches!(self, Instrumentation::Syscalls | Instrumentation::Full)
    }

    /// Opens the set on the calling thread (`None` for [`Instrumentation::None`]).
    pub fn open(self) -> anyhow::Result<Option<CounterSet>> {
        if self == Instrumentation::None {
            return Ok(None);
        }
        CounterSet::open(&self.events())
            .map(Some)
            .with_context(|| format!("opening the {} counters", self.name()))
    }
}

/// The events of `set` that are counting (open), comma-separated: what a
/// sample's `counters_on` records.
pub fn counters_on(set: &CounterSet) -> String {
    set.availability()
        .iter()
        .filter(|(_, a)| a.is_available())
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timed_set_holds_no_tracepoint() {
        let timing = Instrumentation::Timing.events();
        assert!(timing.contains(&"task-clock"));
        assert!(
            timing.iter().all(|e| !e.contains(':')),
            "a tracepoint in the timed set: {timing:?}"
        );
        assert!(
            Instrumentation::Full
                .events()
                .contains(&"raw_syscalls:sys_enter")
        );
        assert!(
            Instrumentation::Full
                .events()
                .contains(&"syscalls:sys_enter_read")
        );
        for i in Instrumentation::ALL {
            assert_eq!(Instrumentation::from_name(i.name()), Some(i));
            assert_eq!(
                i.traces_calls(),
                i.events().iter().any(|e| e.contains("sys"))
            );
        }
    }
}
