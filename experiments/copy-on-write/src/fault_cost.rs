//! Scenario "fault-cost": what one fault costs, by kind, over n pages: a read
//! fault on a cached file page, a copy-on-write fault on a file page
//! (MAP_PRIVATE, pre-faulted by reading), a copy-on-write fault after fork
//! (in the child), a write fault after fork whose page is no longer shared
//! (usually no copy: as root, the frames kept are counted), and a zero-fill fault on fresh anonymous memory. The time of
//! the whole loop is divided by the faults counted in it.

use std::time::{Duration, Instant};

use mmlab_core::DataFile;
use mmlab_core::pages::Rusage;
use mmlab_core::probe::run_in_child;
use serde::Serialize;

use crate::measure::{Counted, Meter};
use crate::os;

pub const READ_FILE: &str = "read fault, cached file page";
pub const COW_FILE: &str = "copy-on-write, file page (MAP_PRIVATE)";
pub const COW_FORK: &str = "copy-on-write after fork (anonymous)";
pub const REUSE_FORK: &str = "write after fork, page no longer shared";
pub const ZERO_FILL: &str = "zero-fill, fresh anonymous page";

/// Every fault type, in the order of the figure.
pub const FAULT_TYPES: [&str; 5] = [READ_FILE, COW_FILE, COW_FORK, REUSE_FORK, ZERO_FILL];

/// One repetition of one fault type.
#[derive(Debug, Clone, Serialize)]
pub struct FaultCost {
    pub fault_type: String,
    pub repetition: usize,
    pub n_pages: usize,
    pub n_faults: u64,
    pub elapsed_ns: u64,
    pub ns_per_fault: f64,
    pub ns_per_page: f64,
    pub pages_per_fault: f64,
    pub fault_source: String,
    /// `write after fork, page no longer shared` only, as root: pages whose
    /// frame stayed the same across the write (reused in place, no copy).
    /// The kernel reuses a page only when nothing else holds a reference to
    /// it, so this is usually, not always, every page. Null otherwise.
    pub n_pages_frame_kept: Option<u64>,
    #[serde(flatten)]
    pub counters: serde_json::Map<String, serde_json::Value>,
}

fn cost(
    fault_type: &str,
    repetition: usize,
    n_pages: usize,
    n_faults: u64,
    elapsed_ns: u64,
    fault_source: &str,
    counters: serde_json::Map<String, serde_json::Value>,
) -> FaultCost {
    let per = |d: f64| if d > 0.0 { elapsed_ns as f64 / d } else { 0.0 };
    FaultCost {
        fault_type: fault_type.to_string(),
        repetition,
        n_pages,
        n_faults,
        elapsed_ns,
        ns_per_fault: per(n_faults as f64),
        ns_per_page: per(n_pages as f64),
        pages_per_fault: if n_faults > 0 {
            n_pages as f64 / n_faults as f64
        } else {
            0.0
        },
        fault_source: fault_source.to_string(),
        n_pages_frame_kept: None,
        counters,
    }
}

fn from_counted(fault_type: &str, repetition: usize, n_pages: usize, c: Counted) -> FaultCost {
    cost(
        fault_type,
        repetition,
        n_pages,
        c.n_minor_faults + c.n_major_faults,
        c.elapsed_ns,
        c.fault_source,
        c.fields,
    )
}

/// One repetition of every fault type over `file` (warm, all pages cached).
pub fn measure_fault_costs(
    meter: &Meter,
    file: &DataFile,
    repetition: usize,
) -> anyhow::Result<Vec<FaultCost>> {
    let n = file.number_of_pages() as usize;
    let len = file.size_bytes as usize;
    let mut costs = Vec::with_capacity(FAULT_TYPES.len());

    let shared = os::map_shared_read(file)?;
    let (_, c) = meter.measure(|| os::read_every_page(&shared));
    costs.push(from_counted(READ_FILE, repetition, n, c));
    drop(shared);

    let mut private = os::map_private(file)?;
    os::read_every_page(&private);
    let (_, c) = meter.measure(|| os::write_pages(&mut private, 0..n));
    costs.push(from_counted(COW_FILE, repetition, n, c));
    drop(private);

    let mut region = os::map_anonymous(len)?;
    os::write_pages(&mut region, 0..n);
    let frames_before_fork = os::frames_of(&region);
    let raw = os::RawRegion::of(&region);
    let outcome = run_in_child(Duration::from_secs(30), move |channel| {
        // SAFETY: runs in the forked child, on its own copy of `region`.
        let bytes = unsafe { raw.bytes_mut_in_child() };
        let usage = Rusage::now(false);
        let started = Instant::now();
        for page in 0..n {
            bytes[page * os::page_size()] ^= 0xFF;
        }
        std::hint::black_box(&bytes[..]);
        let elapsed_ns = started.elapsed().as_nanos() as u64;
        let faults = Rusage::now(false).since(&usage).n_minor_faults;
        os::send_words(channel, &[elapsed_ns, faults]);
        0
    })?;
    match os::received_words(&outcome)[..] {
        [elapsed_ns, faults] => costs.push(cost(
            COW_FORK,
            repetition,
            n,
            faults,
            elapsed_ns,
            "getrusage (in the child)",
            serde_json::Map::new(),
        )),
        _ => anyhow::bail!(
            "the forked child did not report its copy-on-write cost ({})",
            outcome.ending.describe()
        ),
    }
    let (_, c) = meter.measure(|| os::write_pages(&mut region, 0..n));
    let mut reuse = from_counted(REUSE_FORK, repetition, n, c);
    reuse.n_pages_frame_kept = frames_before_fork
        .zip(os::frames_of(&region))
        .map(|(before, after)| before.iter().zip(&after).filter(|(a, b)| a == b).count() as u64);
    costs.push(reuse);
    drop(region);

    let mut fresh = os::map_anonymous(len)?;
    let (_, c) = meter.measure(|| os::write_pages(&mut fresh, 0..n));
    costs.push(from_counted(ZERO_FILL, repetition, n, c));
    Ok(costs)
}
