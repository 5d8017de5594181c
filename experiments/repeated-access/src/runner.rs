//! The measuring loop: data files, the ceiling buffer, and the passes of
//! every (scenario, method, block size), repetitions interleaved.

use std::io::Read;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use memmap2::{Advice, MmapMut};
use mmlab_core::cgroup::{CgroupStats, MemoryCgroup};
use mmlab_core::datafile::pattern_word;
use mmlab_core::probe::Ending;
use mmlab_core::size::format_size_short;
use mmlab_core::{DataFile, ResultFile, RunContext, format_size};
use mmlab_counters::{CounterSet, Measurement};

use crate::kernel::checked_sum;
use crate::methods::{Family, Method, MethodRun};
use crate::plan::{Plan, Scenario};
use crate::{params, report};

/// Tracepoints counted beside the standard events: the system calls that
/// carry each method's data, and the ones a mapping makes.
pub const EXTRA_EVENTS: &[&str] = &[
    "syscalls:sys_enter_read",
    "syscalls:sys_enter_pread64",
    "syscalls:sys_enter_mmap",
    "syscalls:sys_enter_munmap",
    "syscalls:sys_enter_madvise",
];

/// One measured pass.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PassRecord {
    pub file_size_bytes: u64,
    pub scenario: Scenario,
    pub method: Method,
    /// 0 for methods that take no block size.
    pub block_bytes: u64,
    /// 0-based repetition.
    pub repetition: usize,
    /// 1-based pass index within the series of passes.
    pub pass_index: usize,
    /// The file's pages resident just before the pass (mincore); `None` for
    /// the memory ceiling.
    pub resident_pages_before: Option<u64>,
    pub file_pages: u64,
    /// Bytes this process caused to be read from storage during the pass
    /// (`/proc/self/io` read_bytes), `None` where unreadable.
    pub io_read_bytes: Option<u64>,
    pub checksum: u64,
    pub measurement: Measurement,
}

impl PassRecord {
    pub fn elapsed_ns(&self) -> u64 {
        self.measurement.elapsed_ns
    }

    pub fn gb_per_s(&self) -> f64 {
        self.file_size_bytes as f64 / self.measurement.elapsed_ns.max(1) as f64
    }

    /// System calls made by the pass (raw_syscalls:sys_enter), `None` when
    /// the tracepoint cannot be counted here.
    pub fn n_syscalls(&self) -> Option<u64> {
        self.measurement.get("raw_syscalls:sys_enter")
    }

    /// Calls of the method's data-carrying system call (read, pread64 or mmap).
    pub fn n_calls_of_interest(&self) -> Option<u64> {
        self.method
            .call_of_interest()
            .and_then(|call| self.measurement.get(&format!("syscalls:sys_enter_{call}")))
    }

    /// Page faults from getrusage: unlike the perf software counter, it also
    /// counts the faults MAP_POPULATE takes inside `mmap`.
    pub fn n_faults(&self) -> u64 {
        self.measurement.rusage.n_minor_faults + self.measurement.rusage.n_major_faults
    }

    /// Time on a CPU (perf task-clock) over elapsed time: below 1 when the
    /// thread waited for I/O or for a CPU that other processes held.
    pub fn on_cpu_fraction(&self) -> Option<f64> {
        self.measurement
            .get("task-clock")
            .map(|ns| ns as f64 / self.measurement.elapsed_ns.max(1) as f64)
    }

    /// Bytes per nanosecond of CPU time (perf task-clock): the speed the
    /// pass would have had with a CPU to itself. Meaningful for cached
    /// passes only (a storage read waits off the CPU).
    pub fn on_cpu_gb_per_s(&self) -> Option<f64> {
        self.measurement
            .get("task-clock")
            .map(|ns| self.file_size_bytes as f64 / ns.max(1) as f64)
    }

    pub fn is_first_pass(&self) -> bool {
        self.pass_index == 1
    }

    /// The series name in figures and summaries: `read 64k`, `mmap-reused`.
    pub fn series(&self) -> String {
        series_name(self.method, self.block_bytes)
    }
}

/// `read 64k` for the read family, the method's name otherwise.
pub fn series_name(method: Method, block_bytes: u64) -> String {
    if method.family() == Family::Block {
        format!("{} {}", method.name(), format_size_short(block_bytes))
    } else {
        method.name().to_string()
    }
}

/// One unmeasured cold read of the whole file before a scenario that reads
/// from storage. Without it, whichever method came first after a stretch
/// of cached passes paid extra for its cold pass (up to 3x the next method's
/// time here, the same for read() and pread()), an effect of position, not
/// of the method.
fn prime_storage(data: &DataFile) -> anyhow::Result<()> {
    data.evict()?;
    read_whole_file(data)
}

/// Reads the whole file once (1 MiB blocks) so that it is cached.
fn read_whole_file(data: &DataFile) -> anyhow::Result<()> {
    let mut file = data.open()?;
    let mut buffer = vec![0u8; 1 << 20];
    while file
        .read(&mut buffer)
        .with_context(|| format!("cannot read {}", data.path.display()))?
        > 0
    {}
    Ok(())
}

fn resident_pages(fd: BorrowedFd<'_>, data: &DataFile) -> anyhow::Result<u64> {
    mmlab_core::pages::file_resident_pages(fd)
        .with_context(|| format!("mincore on {}", data.path.display()))
}

/// Runs `passes` passes of `method` over `data` in `scenario`, each one
/// measured by `counters`, and checks every pass's checksum against the
/// file's: a mismatch fails the run. `anonymous` is the ceiling's buffer.
#[allow(clippy::too_many_arguments)] // one call site per caller, every argument named there
pub fn run_passes(
    counters: &CounterSet,
    data: &DataFile,
    anonymous: Option<&[u8]>,
    scenario: Scenario,
    method: Method,
    block_bytes: u64,
    passes: usize,
    repetition: usize,
) -> anyhow::Result<Vec<PassRecord>> {
    let mut run = MethodRun::open(method, block_bytes as usize, data, anonymous)?;
    let reads_file = method != Method::MemoryCeiling;
    let file_pages = data.number_of_pages();
    if reads_file && scenario == Scenario::Warm && resident_pages(run.fd(), data)? < file_pages {
        read_whole_file(data)?;
    }
    let mut records = Vec::with_capacity(passes);
    for pass_index in 1..=passes {
        if reads_file && scenario.evicts_before(pass_index) {
            run.unmap_pages()?;
            mmlab_core::pages::evict_file(run.fd())
                .with_context(|| format!("evicting {}", data.path.display()))?;
        }
        let resident_pages_before = if reads_file {
            Some(resident_pages(run.fd(), data)?)
        } else {
            None
        };
        run.prepare_pass()?;
        let io_before = mmlab_core::pages::proc_self_io_read_bytes();
        let (checksum, measurement) = counters.measure(|| run.pass());
        let io_after = mmlab_core::pages::proc_self_io_read_bytes();
        let series = series_name(method, block_bytes);
        let checksum = checksum.with_context(|| {
            format!(
                "{series}, {} pass {pass_index}: reading {}",
                scenario.name(),
                data.path.display()
            )
        })?;
        if checksum != data.checksum {
            bail!(
                "checksum mismatch: {series}, {} pass {pass_index} over {} summed to {checksum:#018x}, the file's checksum is {:#018x}: the pass did not read every byte exactly once",
                scenario.name(),
                data.path.display(),
                data.checksum
            );
        }
        records.push(PassRecord {
            file_size_bytes: data.size_bytes,
            scenario,
            method,
            block_bytes: if method.family() == Family::Block {
                block_bytes
            } else {
                0
            },
            repetition,
            pass_index,
            resident_pages_before,
            file_pages,
            io_read_bytes: io_before.zip(io_after).map(|(b, a)| a.saturating_sub(b)),
            checksum,
            measurement,
        });
    }
    drop(run); // a kept mapping is unmapped here, outside every timed pass
    Ok(records)
}

/// The longest one series of passes may take in the memory cgroup's child
/// before it is killed (every pass may read the whole file from storage).
const LIMITED_SERIES_TIMEOUT: Duration = Duration::from_secs(3600);

/// Runs [`run_passes`] in a forked child that first joins `cgroup`, so that
/// the page cache it brings in is charged to the cgroup and cannot exceed
/// its limit. The child opens its own counters (counters count the thread
/// that opened them) and sends its records back as JSON; a failure in the
/// child (a checksum mismatch included) fails the run here, and a child the
/// OOM killer ended is reported as such.
pub fn run_limited(
    cgroup: &MemoryCgroup,
    data: &DataFile,
    method: Method,
    block_bytes: u64,
    passes: usize,
    repetition: usize,
) -> anyhow::Result<Vec<PassRecord>> {
    let outcome = mmlab_core::probe::run_in_child(LIMITED_SERIES_TIMEOUT, |channel| {
        let result = cgroup
            .add_self()
            .and_then(|()| {
                let counters =
                    CounterSet::standard_with(EXTRA_EVENTS).context("opening the counters")?;
                run_passes(
                    &counters,
                    data,
                    None,
                    Scenario::MemoryLimit,
                    method,
                    block_bytes,
                    passes,
                    repetition,
                )
            })
            .map_err(|e| format!("{e:#}"));
        channel.send_json(&result);
        i32::from(result.is_err())
    })?;
    let series = series_name(method, block_bytes);
    match (
        &outcome.ending,
        outcome.output_json::<Result<Vec<PassRecord>, String>>(),
    ) {
        (Ending::Exited { code: 0 }, Some(Ok(records))) => Ok(records),
        (_, Some(Err(message))) => bail!("{series} in the memory cgroup: {message}"),
        (ending, _) => {
            let CgroupStats { oom_kills, .. } = cgroup.stats();
            let cause = match oom_kills {
                Some(n) if n > 0 => format!(
                    "; the kernel's OOM killer ended {n} process(es) in the cgroup: raise --memory-limit"
                ),
                _ => String::new(),
            };
            bail!(
                "{series} in the memory cgroup ({}): the child ended with {} before sending its passes{cause}",
                cgroup.describe(),
                ending.describe()
            )
        }
    }
}

/// An anonymous buffer of the file's size holding the file's bytes, so its
/// checksum is the file's: the memory-bandwidth ceiling reads it. Advised
/// MADV_HUGEPAGE (where THP allows) so that, like the file mapping with its
/// large folios, it is not slowed by 4 KiB TLB entries.
pub struct CeilingBuffer {
    mapping: MmapMut,
    /// AnonHugePages of the buffer (smaps), in bytes; `None` if unreadable.
    pub huge_bytes: Option<u64>,
}

impl std::fmt::Debug for CeilingBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CeilingBuffer")
            .field("len", &self.mapping.len())
            .field("huge_bytes", &self.huge_bytes)
            .finish()
    }
}

impl CeilingBuffer {
    pub fn new(data: &DataFile) -> anyhow::Result<CeilingBuffer> {
        let len = usize::try_from(data.size_bytes).context("file larger than memory")?;
        let mut mapping = MmapMut::map_anon(len)
            .with_context(|| format!("mmap of a {} anonymous buffer", format_size(len as u64)))?;
        // Best effort: with THP "never" the advice is accepted and ignored.
        let _ = mapping.advise(Advice::HugePage);
        for (index, word) in mapping.chunks_mut(8).enumerate() {
            let bytes = pattern_word(index as u64).to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        let sum = checked_sum(&mapping);
        if sum != data.checksum {
            bail!(
                "the ceiling buffer sums to {sum:#018x}, the file {} to {:#018x}",
                data.path.display(),
                data.checksum
            );
        }
        let huge_bytes = mmlab_core::pages::smaps_entry(None, mapping.as_ptr() as usize)
            .ok()
            .map(|entry| entry.kib("AnonHugePages") * 1024);
        Ok(CeilingBuffer {
            mapping,
            huge_bytes,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.mapping
    }
}

/// The kernel's speed on data that stays in the L2 cache (128 KiB summed
/// repeatedly, best of 5), in GB/s: far above memory bandwidth, it shows
/// that the loop is not what limits a pass.
pub fn kernel_in_cache_gb_per_s(buffer: &[u8]) -> f64 {
    let slice = &buffer[..buffer.len().min(128 << 10)];
    let rounds = ((64usize << 20) / slice.len().max(1)).max(1);
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..rounds {
            checked_sum(slice);
        }
        best = best.min(start.elapsed().as_nanos().max(1) as f64);
    }
    (slice.len() * rounds) as f64 / best
}

/// MemAvailable from /proc/meminfo, in bytes (through `mmlab_core::proc`).
pub fn mem_available_bytes() -> Option<u64> {
    mmlab_core::proc::meminfo_kib("MemAvailable").map(|kib| kib * 1024)
}

/// What one file size contributed besides its passes.
#[derive(Debug, Clone)]
pub struct SizeInfo {
    pub file_size_bytes: u64,
    pub checksum: u64,
    pub ceiling_huge_bytes: Option<u64>,
    pub kernel_in_cache_gb_per_s: f64,
}

pub(crate) fn run_experiment(id: &str, context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let plan = Plan::for_context(context);
    let dir = context.data_dir()?;
    let mut result = context.new_result(id, dir.path());
    let counters = CounterSet::standard_with(EXTRA_EVENTS).context("opening the counters")?;
    result.counters_available = counters.availability();

    // Both the file (page cache) and the ceiling buffer must fit in memory
    // at once, with room to spare, or "warm" would be a lie.
    let available = mem_available_bytes();
    let mut sizes = Vec::new();
    for size in &plan.sizes_bytes {
        let needed = 2 * size + (512 << 20);
        match available {
            Some(free) if free < needed => result.warnings.push(mmlab_core::Warning::new(
                "size-skipped",
                format!(
                    "file size {} skipped: the file and its ceiling buffer need {} of memory, {} is available",
                    format_size(*size),
                    format_size(needed),
                    format_size(free)
                ),
                "choose a smaller --size, or run on a machine with more memory",
            )),
            _ => sizes.push(*size),
        }
    }
    if sizes.is_empty() {
        bail!(
            "no file size fits in memory ({} available): choose a smaller --size",
            available
                .map(format_size)
                .unwrap_or_else(|| "unknown".into())
        );
    }

    let cgroup = plan
        .memory_limit_bytes
        .map(MemoryCgroup::create)
        .transpose()?;
    params::record_params(&mut result, context, &plan, &sizes, cgroup.as_ref());
    let total_passes = (plan.passes_per_repetition() * plan.repetitions * sizes.len()) as u64;
    let bar = context.progress(total_passes, "repeated-access");
    let mut records = Vec::new();
    let mut size_infos = Vec::new();
    for size in &sizes {
        let data = dir.create_file(&format!("repeated-{}", format_size_short(*size)), *size)?;
        let ceiling = CeilingBuffer::new(&data)?;
        size_infos.push(SizeInfo {
            file_size_bytes: *size,
            checksum: data.checksum,
            ceiling_huge_bytes: ceiling.huge_bytes,
            kernel_in_cache_gb_per_s: kernel_in_cache_gb_per_s(ceiling.bytes()),
        });
        // Interleaved: every repetition runs every scenario and method once,
        // so that drift on a shared machine hits all of them alike.
        for repetition in 0..plan.repetitions {
            for scenario in plan.scenarios() {
                if scenario != Scenario::Warm {
                    // Unmeasured: see `prime_storage`.
                    prime_storage(&data)?;
                }
                for (method, block) in plan.configurations(scenario) {
                    bar.set_message(format!(
                        "{} {} {}",
                        format_size_short(*size),
                        scenario.name(),
                        series_name(method, block)
                    ));
                    let passes = plan.passes(scenario);
                    records.extend(if scenario == Scenario::MemoryLimit {
                        let cgroup = cgroup
                            .as_ref()
                            .context("the memory-limit scenario runs only with a memory cgroup")?;
                        run_limited(cgroup, &data, method, block, passes, repetition)?
                    } else {
                        run_passes(
                            &counters,
                            &data,
                            Some(ceiling.bytes()),
                            scenario,
                            method,
                            block,
                            passes,
                            repetition,
                        )?
                    });
                    bar.inc(passes as u64);
                }
            }
        }
        drop(ceiling);
        let _ = std::fs::remove_file(&data.path); // free the disk before the next size
    }
    bar.finish_and_clear();
    report::fill(&mut result, &plan, &records, &size_infos, cgroup.as_ref())?;
    drop(cgroup); // removed now; the guard also removes it on error or Ctrl-C
    Ok(result.finish(started))
}
