//! Measured regions: perf counters and getrusage on the calling thread, with
//! the storage reads of /proc/self/io read just outside the region, and the
//! flat sample each region becomes.

use anyhow::Context;
use std::time::Instant;

use mmlab_core::pages::Rusage;
use mmlab_counters::{CounterError, CounterSet, Measurement, STANDARD_EVENTS, syscall_event};
use serde_json::{Map, Value};

/// Tracepoints this experiment adds to the standard set: how many times the
/// fault-around path mapped pages already in the page cache, and how many
/// folios were added to the page cache (each is one or many pages).
pub const EXTRA_EVENTS: &[&str] = &[
    "filemap:mm_filemap_map_pages",
    "filemap:mm_filemap_add_to_page_cache",
];

/// The system calls counted one by one beside the total.
pub const COUNTED_SYSCALLS: &[&str] = &["mmap", "madvise"];

/// The counters of this thread, opened once and reused for every region.
#[derive(Debug)]
pub struct Meter {
    /// `Err((events, reason))` when perf_event_open cannot be used at all
    /// (perf_event_paranoid 3, seccomp): then only getrusage counts, and
    /// every perf field is null with that reason.
    set: Result<CounterSet, (Vec<String>, String)>,
    /// Events left out because this kernel has no such tracepoint.
    pub missing_events: Vec<String>,
}

/// One measured region.
#[derive(Debug, Clone)]
pub struct Phase {
    pub measurement: Measurement,
    /// Bytes this process caused to be read from storage during the region
    /// (`read_bytes` of /proc/self/io), `None` when unreadable.
    pub read_bytes: Option<u64>,
}

impl Phase {
    /// Minor + major faults as getrusage counts them (always available).
    pub fn faults(&self) -> u64 {
        self.measurement.rusage.n_minor_faults + self.measurement.rusage.n_major_faults
    }

    pub fn major_faults(&self) -> u64 {
        self.measurement.rusage.n_major_faults
    }

    /// System calls entered (raw_syscalls:sys_enter), `None` without tracefs.
    pub fn syscalls(&self) -> Option<u64> {
        self.measurement.get("raw_syscalls:sys_enter")
    }

    pub fn elapsed_ns(&self) -> u64 {
        self.measurement.elapsed_ns
    }
}

impl Meter {
    /// Opens the standard events plus [`EXTRA_EVENTS`] and the counted system
    /// calls. A tracepoint this kernel does not have is left out (and named
    /// in `missing_events`) instead of failing the run.
    pub fn open() -> anyhow::Result<Meter> {
        let mut wanted: Vec<String> = EXTRA_EVENTS.iter().map(|e| e.to_string()).collect();
        wanted.extend(COUNTED_SYSCALLS.iter().map(|s| syscall_event(s)));
        let mut missing_events = Vec::new();
        loop {
            let extra: Vec<&str> = wanted.iter().map(String::as_str).collect();
            match CounterSet::standard_with(&extra) {
                Ok(set) => {
                    return Ok(Meter {
                        set: Ok(set),
                        missing_events,
                    });
                }
                Err(CounterError::NoSuchTracepoint { name, .. }) if wanted.contains(&name) => {
                    wanted.retain(|w| *w != name);
                    missing_events.push(name);
                }
                Err(CounterError::Io { call, source }) => {
                    let events = STANDARD_EVENTS
                        .iter()
                        .map(|e| e.to_string())
                        .chain(wanted)
                        .collect();
                    let reason = format!(
                        "perf_event_open is unusable here ({call}: {source}); only getrusage counts faults"
                    );
                    return Ok(Meter {
                        set: Err((events, reason)),
                        missing_events,
                    });
                }
                Err(error) => return Err(error).context("cannot open the perf counters"),
            }
        }
    }

    pub fn availability(&self) -> std::collections::BTreeMap<String, mmlab_core::Availability> {
        match &self.set {
            Ok(set) => set.availability(),
            Err((events, reason)) => events
                .iter()
                .map(|e| {
                    (
                        e.clone(),
                        mmlab_core::Availability::Unavailable(reason.clone()),
                    )
                })
                .collect(),
        }
    }

    /// Why perf counts nothing in this run, if it does not.
    pub fn perf_unavailable(&self) -> Option<&str> {
        self.set.as_ref().err().map(|(_, reason)| reason.as_str())
    }

    /// `f` measured by getrusage(RUSAGE_THREAD) and the clock alone.
    fn measure_without_perf<T>(
        events: &[String],
        reason: &str,
        f: impl FnOnce() -> T,
    ) -> (T, Measurement) {
        let before = Rusage::now(true);
        let started = Instant::now();
        let value = f();
        let elapsed_ns = started.elapsed().as_nanos() as u64;
        let rusage = Rusage::now(true).since(&before);
        let measurement = Measurement {
            elapsed_ns,
            counts: events.iter().map(|e| (e.clone(), None)).collect(),
            rusage,
            notes: events
                .iter()
                .map(|e| (e.clone(), reason.to_string()))
                .collect(),
        };
        (value, measurement)
    }

    /// Measures `f` on this thread. Nothing is allocated between the start
    /// and the end of the counters except by `f` itself.
    pub fn phase<T>(&self, f: impl FnOnce() -> T) -> (T, Phase) {
        let before = mmlab_core::pages::proc_self_io_read_bytes();
        let (value, measurement) = match &self.set {
            Ok(set) => set.measure(f),
            Err((events, reason)) => Meter::measure_without_perf(events, reason, f),
        };
        let after = mmlab_core::pages::proc_self_io_read_bytes();
        let read_bytes = before.zip(after).map(|(b, a)| a.saturating_sub(b));
        (
            value,
            Phase {
                measurement,
                read_bytes,
            },
        )
    }
}

/// What a sample is about: every field but the counts.
#[derive(Debug, Clone, Default)]
pub struct Tag {
    pub scenario: &'static str,
    /// The variant within the scenario ("MADV_RANDOM", "read then write").
    pub case: String,
    /// cold, warm, written, split, anonymous.
    pub file_state: &'static str,
    pub order: &'static str,
    pub repetition: usize,
    pub n_pages_touched: u64,
    pub n_pages_mapping: u64,
}

/// Page counts read after a region (outside it).
#[derive(Debug, Clone, Copy, Default)]
pub struct After {
    /// mincore: pages in memory (for a file: in the page cache).
    pub resident: Option<u64>,
    /// pagemap: pages mapped in this process's page table.
    pub mapped: Option<u64>,
    /// pagemap before the region, to count the pages the region mapped.
    pub mapped_before: Option<u64>,
    /// mincore before the region (for a file: already in the page cache).
    pub resident_before: Option<u64>,
}

/// The flat sample of one region.
pub fn sample(tag: &Tag, phase_name: &str, phase: &Phase, after: After) -> Value {
    let mut map = Map::new();
    map.insert("scenario".into(), tag.scenario.into());
    map.insert("case".into(), tag.case.clone().into());
    map.insert("file_state".into(), tag.file_state.into());
    map.insert("order".into(), tag.order.into());
    map.insert("phase".into(), phase_name.into());
    map.insert(
        "series".into(),
        format!("{} {}", tag.file_state, tag.order).into(),
    );
    map.insert("repetition".into(), tag.repetition.into());
    map.insert("n_pages_mapping".into(), tag.n_pages_mapping.into());
    map.insert("n_pages_touched".into(), tag.n_pages_touched.into());
    map.extend(phase.measurement.sample_fields());
    let faults = phase.faults();
    map.insert("n_faults".into(), faults.into());
    map.insert(
        "elapsed_ms".into(),
        (phase.elapsed_ns() as f64 / 1e6).into(),
    );
    map.insert(
        "storage_read_bytes".into(),
        phase.read_bytes.map_or(Value::Null, Into::into),
    );
    map.insert(
        "n_pages_resident_after".into(),
        after.resident.map_or(Value::Null, Into::into),
    );
    map.insert(
        "n_pages_resident_before".into(),
        after.resident_before.map_or(Value::Null, Into::into),
    );
    map.insert(
        "n_pages_mapped_after".into(),
        after.mapped.map_or(Value::Null, Into::into),
    );
    // Unknown when either count is: a missing "before" is not zero.
    let newly_mapped = after
        .mapped
        .zip(after.mapped_before)
        .map(|(m, before)| m.saturating_sub(before));
    map.insert(
        "n_pages_newly_mapped".into(),
        newly_mapped.map_or(Value::Null, Into::into),
    );
    map.insert(
        "pages_mapped_per_fault".into(),
        match newly_mapped {
            Some(m) if faults > 0 => (m as f64 / faults as f64).into(),
            _ => Value::Null,
        },
    );
    map.insert(
        "ns_per_touched_page".into(),
        if tag.n_pages_touched > 0 && !matches!(phase_name, "mmap" | "madvise") {
            (phase.elapsed_ns() as f64 / tag.n_pages_touched as f64).into()
        } else {
            Value::Null
        },
    );
    Value::Object(map)
}
