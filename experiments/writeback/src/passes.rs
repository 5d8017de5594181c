//! Write faults over passes, what one costs, and msync(MS_SYNC)'s time.
//!
//! Passes: a fresh mapping of a cached, clean file (MAP_SHARED or
//! MAP_PRIVATE) or of fresh anonymous memory, one byte written per page:
//! pass 1, pass 2 at once, then msync(MS_SYNC) (for MAP_PRIVATE also
//! fsync; for anonymous memory msync has nothing to write), a read pass,
//! and pass 3. Counted with the `exceptions:page_fault_user` tracepoint
//! and the perf `minor-faults` software event, getrusage beside them.
//!
//! Costs are timed in separate passes with no counter open (a tracepoint
//! costs time at every fault it counts); the faults of a timed pass come
//! from getrusage(RUSAGE_THREAD) around it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use mmlab_core::pages::Rusage;
use mmlab_counters::CounterSet;
use serde_json::{Value, json};

pub const SHARED: &str = "MAP_SHARED file";
pub const PRIVATE: &str = "MAP_PRIVATE file";
pub const ANONYMOUS: &str = "anonymous";
pub const MAPPINGS: [&str; 3] = [SHARED, PRIVATE, ANONYMOUS];

pub const PASS_1: &str = "1: first write";
pub const PASS_2: &str = "2: write again";
pub const PASS_READ: &str = "read after msync(MS_SYNC)";
pub const PASS_3: &str = "3: write after msync(MS_SYNC)";
pub const PASSES: [&str; 4] = [PASS_1, PASS_2, PASS_READ, PASS_3];

pub const COST_SHARED_FRESH: &str = "write fault, clean MAP_SHARED page (fresh mapping)";
pub const COST_SHARED_AGAIN: &str = "write fault, MAP_SHARED page after msync(MS_SYNC)";
pub const COST_COW: &str = "copy-on-write, MAP_PRIVATE file page";
pub const COST_ZERO: &str = "zero-fill, anonymous page";
pub const COST_TYPES: [&str; 4] = [COST_SHARED_FRESH, COST_SHARED_AGAIN, COST_COW, COST_ZERO];

/// The tracepoint that counts every fault taken from user mode.
pub const TRACEPOINT: &str = "exceptions:page_fault_user";

/// Where passes run: a file on the data folder or on a scratch filesystem.
#[derive(Debug, Clone)]
pub struct Target {
    /// `scratch ext4`, `data folder (ext4)`.
    pub name: String,
    pub file: PathBuf,
}

/// The counters of the fault passes.
#[derive(Debug)]
pub struct Meter {
    set: CounterSet,
}

impl Meter {
    /// The tracepoint, minor-faults and major-faults; without the
    /// tracepoint where this kernel has none.
    pub fn open() -> anyhow::Result<Meter> {
        let set = match CounterSet::open(&[TRACEPOINT, "minor-faults", "major-faults"]) {
            Ok(set) => set,
            Err(mmlab_counters::CounterError::NoSuchTracepoint { .. }) => {
                CounterSet::open(&["minor-faults", "major-faults"])
                    .map_err(|e| anyhow::anyhow!("opening the perf counters: {e}"))?
            }
            Err(e) => anyhow::bail!("opening the perf counters: {e}"),
        };
        Ok(Meter { set })
    }

    pub fn availability(&self) -> std::collections::BTreeMap<String, mmlab_core::Availability> {
        self.set.availability()
    }
}

fn open_rw(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("open {} for writing", path.display()))
}

/// A mapping of one of the three kinds over `len` bytes.
enum Mapping {
    Shared(memmap2::MmapMut),
    Private(memmap2::MmapMut),
    Anonymous(memmap2::MmapMut),
}

impl Mapping {
    fn new(kind: &str, file: &File, len: usize) -> anyhow::Result<Mapping> {
        // SAFETY (memmap2's contract): the lab's own file, which nothing
        // truncates while it is mapped.
        Ok(match kind {
            SHARED => Mapping::Shared(
                unsafe { memmap2::MmapMut::map_mut(file) }.context("mmap MAP_SHARED")?,
            ),
            PRIVATE => Mapping::Private(
                unsafe { memmap2::MmapOptions::new().map_copy(file) }
                    .context("mmap MAP_PRIVATE")?,
            ),
            _ => {
                let map = memmap2::MmapMut::map_anon(len).context("mmap MAP_ANONYMOUS")?;
                // 4 KiB pages, so a zero-fill fault is one page whatever THP
                // is set to (the setting is in the fingerprint).
                let _ = map.advise(memmap2::Advice::NoHugePage);
                Mapping::Anonymous(map)
            }
        })
    }

    fn bytes(&mut self) -> &mut memmap2::MmapMut {
        match self {
            Mapping::Shared(m) | Mapping::Private(m) | Mapping::Anonymous(m) => m,
        }
    }

    /// msync(MS_SYNC) of the mapping (and fsync of the file for
    /// MAP_PRIVATE, which msync leaves alone).
    fn sync(&mut self, file: &File) -> anyhow::Result<()> {
        self.bytes().flush().context("msync(MS_SYNC)")?;
        if let Mapping::Private(_) = self {
            file.sync_all().context("fsync")?;
        }
        Ok(())
    }
}

/// One byte written per page (volatile: every page is really written).
fn write_pass(map: &mut [u8], page: usize, value: u8) {
    let base = map.as_mut_ptr();
    for offset in (0..map.len()).step_by(page) {
        // SAFETY: offset < map.len().
        unsafe { std::ptr::write_volatile(base.add(offset), value) };
    }
}

/// One byte read per page.
fn read_pass(map: &[u8], page: usize) -> u64 {
    let base = map.as_ptr();
    let mut sum = 0u64;
    for offset in (0..map.len()).step_by(page) {
        // SAFETY: offset < map.len().
        sum = sum.wrapping_add(u64::from(unsafe {
            std::ptr::read_volatile(base.add(offset))
        }));
    }
    sum
}

/// The passes of every mapping kind over `target`'s file (cached, clean),
/// `repetitions` times.
pub fn fault_passes(
    meter: &Meter,
    target: &Target,
    page: usize,
    repetitions: usize,
) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for repetition in 0..repetitions {
        for kind in MAPPINGS {
            mmlab_core::cleanup::checkpoint();
            let file = open_rw(&target.file)?;
            let len = file.metadata().context("stat")?.len() as usize;
            let mut map = Mapping::new(kind, &file, len)?;
            let pages = len.div_ceil(page);
            for (index, pass) in PASSES.into_iter().enumerate() {
                if pass == PASS_READ {
                    map.sync(&file)?;
                }
                let value = 0x40 + index as u8 + repetition as u8;
                let (_, m) = meter.set.measure(|| {
                    if pass == PASS_READ {
                        std::hint::black_box(read_pass(map.bytes(), page));
                    } else {
                        write_pass(map.bytes(), page, value);
                    }
                });
                let tracepoint = m.get(TRACEPOINT);
                let rusage = m.rusage.n_minor_faults + m.rusage.n_major_faults;
                let (faults, source) = match tracepoint {
                    Some(n) => (n, TRACEPOINT),
                    None => (rusage, "getrusage"),
                };
                // The folios the first pass met (root): why one fault can
                // map many pages.
                let folios = if pass == PASS_1 {
                    let bytes = map.bytes();
                    match mmlab_core::pages::folio_sizes(bytes.as_ptr() as usize, bytes.len()) {
                        Ok(f) => json!(f.histogram),
                        Err(e) => json!(e.to_string()),
                    }
                } else {
                    Value::Null
                };
                rows.push(json!({
                    "folio_histogram": folios,
                    "target": target.name,
                    "mapping": kind,
                    "pass": pass,
                    "pass_index": index + 1,
                    "repetition": repetition,
                    "pages": pages,
                    "faults": faults,
                    "fault_source": source,
                    "tracepoint_faults": tracepoint,
                    "perf_minor_faults": m.get("minor-faults"),
                    "rusage_minor_faults": m.rusage.n_minor_faults,
                    "rusage_major_faults": m.rusage.n_major_faults,
                    "rusage_faults": rusage,
                    "elapsed_ns": m.elapsed_ns,
                }));
            }
            // Leave the file clean for whatever runs next.
            map.sync(&file)?;
        }
    }
    Ok(rows)
}

fn cost_row(
    target: &Target,
    fault_type: &str,
    repetition: usize,
    pages: usize,
    elapsed_ns: u64,
    used: Rusage,
) -> Value {
    let faults = used.n_minor_faults + used.n_major_faults;
    json!({
        "target": target.name,
        "fault_type": fault_type,
        "repetition": repetition,
        "pages": pages,
        "faults": faults,
        "elapsed_ns": elapsed_ns,
        "ns_per_fault": if faults > 0 { json!(elapsed_ns as f64 / faults as f64) } else { Value::Null },
        "ns_per_page": elapsed_ns as f64 / pages.max(1) as f64,
        "pages_per_fault": if faults > 0 { json!(pages as f64 / faults as f64) } else { Value::Null },
    })
}

/// One timed write pass over `map`.
fn timed_write(map: &mut [u8], page: usize, value: u8) -> (u64, Rusage) {
    let before = Rusage::now(true);
    let started = Instant::now();
    write_pass(map, page, value);
    let elapsed = started.elapsed().as_nanos() as u64;
    (elapsed, Rusage::now(true).since(&before))
}

/// Nanoseconds per fault by kind, the kinds interleaved in each repetition.
pub fn fault_costs(target: &Target, page: usize, repetitions: usize) -> anyhow::Result<Vec<Value>> {
    let mut rows = Vec::new();
    for repetition in 0..repetitions {
        for fault_type in COST_TYPES {
            mmlab_core::cleanup::checkpoint();
            let file = open_rw(&target.file)?;
            let len = file.metadata().context("stat")?.len() as usize;
            let pages = len.div_ceil(page);
            let kind = match fault_type {
                COST_SHARED_FRESH | COST_SHARED_AGAIN => SHARED,
                COST_COW => PRIVATE,
                _ => ANONYMOUS,
            };
            let mut map = Mapping::new(kind, &file, len)?;
            if fault_type == COST_SHARED_AGAIN {
                write_pass(map.bytes(), page, 0x70);
                map.sync(&file)?;
            }
            let (elapsed, used) = timed_write(map.bytes(), page, 0x71 + repetition as u8);
            rows.push(cost_row(
                target, fault_type, repetition, pages, elapsed, used,
            ));
            if kind == SHARED {
                map.sync(&file)?;
            }
        }
    }
    Ok(rows)
}

/// msync(MS_SYNC)'s time with `k` dirty pages (the first k of the file,
/// contiguous), for each k of `sizes`, `repetitions` times.
pub fn msync_times(
    target: &Target,
    page: usize,
    sizes: &[u64],
    repetitions: usize,
) -> anyhow::Result<Vec<Value>> {
    let file = open_rw(&target.file)?;
    // SAFETY (memmap2's contract): as above.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&file) }.context("mmap MAP_SHARED")?;
    map.flush().context("msync(MS_SYNC)")?;
    let mut rows = Vec::new();
    for repetition in 0..repetitions {
        for &k in sizes {
            mmlab_core::cleanup::checkpoint();
            let bytes = (k as usize * page).min(map.len());
            write_pass(&mut map[..bytes], page, 0x30 + repetition as u8);
            let started = Instant::now();
            map.flush().context("msync(MS_SYNC)")?;
            let elapsed_ns = started.elapsed().as_nanos() as u64;
            rows.push(json!({
                "target": target.name,
                "dirty_pages": k,
                "repetition": repetition,
                "elapsed_ns": elapsed_ns,
                "ms": elapsed_ns as f64 / 1e6,
            }));
        }
    }
    Ok(rows)
}
