//! One counter set for the whole run (software, tracepoint and hardware
//! events of `mmlab-counters`), and the fault count every scenario reads from
//! a measured region: the perf `minor-faults` software event where it can be
//! opened, else getrusage's minor faults over the same region.

use mmlab_counters::{CounterSet, Measurement};

/// The run's counters, opened on the measuring thread.
#[derive(Debug)]
pub struct Meter {
    set: CounterSet,
}

/// What one measured region cost.
#[derive(Debug, Clone)]
pub struct Counted {
    pub elapsed_ns: u64,
    /// Minor faults of the region (see [`Counted::fault_source`]).
    pub n_minor_faults: u64,
    pub n_major_faults: u64,
    /// `perf minor-faults` or `getrusage`.
    pub fault_source: &'static str,
    /// The flat counter fields of the sample (`perf_cycles`: null here).
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Meter {
    pub fn open() -> anyhow::Result<Meter> {
        let set = CounterSet::standard_with(&[])
            .map_err(|e| anyhow::anyhow!("opening the perf counters: {e}"))?;
        Ok(Meter { set })
    }

    pub fn availability(&self) -> std::collections::BTreeMap<String, mmlab_core::Availability> {
        self.set.availability()
    }

    /// Runs `f` with the counters on.
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, Counted) {
        let (value, m) = self.set.measure(f);
        (value, counted(&m))
    }
}

fn counted(m: &Measurement) -> Counted {
    let (n_minor_faults, fault_source) = match m.get("minor-faults") {
        Some(n) => (n, "perf minor-faults"),
        None => (m.rusage.n_minor_faults, "getrusage"),
    };
    Counted {
        elapsed_ns: m.elapsed_ns,
        n_minor_faults,
        n_major_faults: m.get("major-faults").unwrap_or(m.rusage.n_major_faults),
        fault_source,
        fields: m.sample_fields(),
    }
}
