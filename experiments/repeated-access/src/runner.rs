//! The measuring loop: data files, the ceiling buffer, and the passes of
//! every (scenario, method, block size), repetitions interleaved.

use std::io::{self, Read};
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use memmap2::{Advice, MmapMut};
use mmlab_core::cgroup::{CgroupStats, MemoryCgroup};
use mmlab_core::cleanup;
use mmlab_core::datafile::pattern_word;
use mmlab_core::pages::Rusage;
use mmlab_core::probe::Ending;
use mmlab_core::size::format_size_short;
use mmlab_core::{DataFile, ResultFile, RunContext, format_size};
use mmlab_counters::{CounterSet, Measurement};

use crate::adaptive::{self, Stop};
use crate::instrument::{self, Instrumentation};
use crate::kernel::checked_sum;
use crate::methods::{Config, MappingState, Method, MethodRun};
use crate::plan::{Plan, Repetitions, Scenario};
use crate::state::{self, FileState, Reclaimers};
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

/// What a pass is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// Timed without per-call counters: every speed and time comes from
    /// these.
    Timed,
    /// Every counter on (per-call tracepoints included): the system-call
    /// counts come from these; their times only show what counting costs.
    Counted,
    /// A round of the observer measurement: one pass under each counter
    /// set and as a plain loop.
    Observer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Timed => "timed",
            Role::Counted => "counted",
            Role::Observer => "observer",
        }
    }
}

/// One measured pass.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PassRecord {
    pub file_size_bytes: u64,
    pub scenario: Scenario,
    pub method: Method,
    /// 0 for methods that take no block size.
    pub block_bytes: u64,
    /// Where the buffer was asked to start past a page (0 by default).
    pub buffer_offset: u64,
    /// 0-based repetition.
    pub repetition: usize,
    /// 1-based pass index within the series of passes (the round, for
    /// observer passes).
    pub pass_index: usize,
    pub role: Role,
    /// The counter set on during the pass's timer.
    pub instrumentation: Instrumentation,
    /// The events that were counting during the timer, comma-separated.
    pub counters_on: String,
    /// Where the buffer the pass read into started past a page (the first
    /// one, for fresh buffers); `None` for methods without a buffer.
    pub buffer_page_offset: Option<u64>,
    /// Fresh buffers only: whether they started at different offsets.
    pub buffer_offsets_varied: bool,
    /// Threads the pass summed in (1 but for the all-CPU ceiling).
    pub threads: usize,
    /// A kept mapping after the pass (smaps), `None` for other methods.
    pub mapping: Option<MappingState>,
    /// The file's pages resident just before the pass (mincore); `None` for
    /// the memory ceilings.
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
    /// the tracepoint was not counted (timed passes) or cannot be here.
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
    /// thread waited for I/O or for a CPU that other processes held. `None`
    /// for the all-CPU ceiling, whose task-clock is one thread's of several.
    pub fn on_cpu_fraction(&self) -> Option<f64> {
        self.on_cpu_ns()
            .map(|ns| ns as f64 / self.measurement.elapsed_ns.max(1) as f64)
    }

    /// Nanoseconds on a CPU: perf task-clock, or, for the plain loop that
    /// opens no counter, getrusage's user + system time (the scheduler's
    /// exact runtime, split between the two at timer ticks). `None` for the
    /// all-CPU ceiling, whose counters see one thread of several.
    pub fn on_cpu_ns(&self) -> Option<u64> {
        (self.threads == 1).then_some(())?;
        let rusage = &self.measurement.rusage;
        match self.instrumentation {
            Instrumentation::None => Some(rusage.user_ns + rusage.system_ns),
            _ => self.measurement.get("task-clock"),
        }
    }

    /// Bytes per nanosecond of CPU time (perf task-clock): the speed the
    /// pass would have had with a CPU to itself. Meaningful for cached
    /// passes only (a storage read waits off the CPU).
    pub fn on_cpu_gb_per_s(&self) -> Option<f64> {
        self.on_cpu_ns()
            .map(|ns| self.file_size_bytes as f64 / ns.max(1) as f64)
    }

    pub fn is_first_pass(&self) -> bool {
        self.pass_index == 1
    }

    pub fn config(&self) -> Config {
        Config::new(self.method, self.block_bytes).at_offset(self.buffer_offset)
    }

    /// The series name in figures and summaries: `read 64k`, `mmap-reused`.
    pub fn series(&self) -> String {
        self.config().series()
    }
}

/// The counter set a series of passes runs under, and what the passes are
/// for.
#[derive(Debug, Clone, Copy)]
pub struct Counting<'a> {
    /// `None`: a plain loop, timed by the clock alone.
    pub set: Option<&'a CounterSet>,
    pub instrumentation: Instrumentation,
    pub role: Role,
}

impl<'a> Counting<'a> {
    /// Timed passes under the timed set ([`Instrumentation::Timing`]).
    pub fn timed(set: &'a CounterSet) -> Counting<'a> {
        Counting {
            set: Some(set),
            instrumentation: Instrumentation::Timing,
            role: Role::Timed,
        }
    }

    /// Counted passes under every counter ([`Instrumentation::Full`]).
    pub fn counted(set: &'a CounterSet) -> Counting<'a> {
        Counting {
            set: Some(set),
            instrumentation: Instrumentation::Full,
            role: Role::Counted,
        }
    }
}

/// One series: which method over which file, in which scenario, in which
/// repetition.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub data: &'a DataFile,
    /// The ceilings' buffer (`None` where no ceiling runs).
    pub anonymous: Option<&'a [u8]>,
    pub scenario: Scenario,
    pub config: Config,
    pub repetition: usize,
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

/// Measures one pass of `run` (prepared) under `counting`: the timed
/// region is the pass alone.
fn measure_pass(run: &mut MethodRun<'_>, counting: Counting<'_>) -> (io::Result<u64>, Measurement) {
    match counting.set {
        Some(set) => set.measure(|| run.pass()),
        None => {
            let before = Rusage::now(true);
            let outcome = run.plain_pass();
            let rusage = Rusage::now(true).since(&before);
            let (sum, elapsed_ns) = match outcome {
                Ok((sum, ns)) => (Ok(sum), ns),
                Err(e) => (Err(e), 0),
            };
            let measurement = Measurement {
                elapsed_ns,
                counts: Default::default(),
                rusage,
                notes: Default::default(),
            };
            (sum, measurement)
        }
    }
}

impl<'a> Series<'a> {
    /// Opens the series' method over its file.
    pub fn open(&self) -> anyhow::Result<MethodRun<'a>> {
        MethodRun::open(self.config, self.data, self.anonymous)
    }

    /// Runs `passes` passes of the series on `run`, numbered from 1, each
    /// measured under `counting`, and checks every pass's checksum against
    /// the file's: a mismatch fails the run. The warm scenario reads the
    /// file first if it is not fully cached; the others evict it where
    /// they say.
    pub fn passes(
        &self,
        run: &mut MethodRun<'_>,
        counting: Counting<'_>,
        passes: usize,
    ) -> anyhow::Result<Vec<PassRecord>> {
        let (data, scenario, config) = (self.data, self.scenario, self.config);
        let reads_file = config.method.reads_file();
        let file_pages = data.number_of_pages();
        if reads_file && scenario == Scenario::Warm && resident_pages(run.fd(), data)? < file_pages
        {
            read_whole_file(data)?;
        }
        let counters_on = counting
            .set
            .map(instrument::counters_on)
            .unwrap_or_default();
        let mut records = Vec::with_capacity(passes);
        for pass_index in 1..=passes {
            cleanup::checkpoint();
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
            let (checksum, measurement) = measure_pass(run, counting);
            let io_after = mmlab_core::pages::proc_self_io_read_bytes();
            let series = config.series();
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
            let offsets = run.buffer_offsets();
            records.push(PassRecord {
                file_size_bytes: data.size_bytes,
                scenario,
                method: config.method,
                block_bytes: config.block_bytes,
                buffer_offset: config.buffer_offset,
                repetition: self.repetition,
                pass_index,
                role: counting.role,
                instrumentation: counting.instrumentation,
                counters_on: counters_on.clone(),
                buffer_page_offset: offsets.first,
                buffer_offsets_varied: offsets.varied,
                threads: run.threads(),
                mapping: run.mapping_state(),
                resident_pages_before,
                file_pages,
                io_read_bytes: io_before.zip(io_after).map(|(b, a)| a.saturating_sub(b)),
                checksum,
                measurement,
            });
        }
        Ok(records)
    }

    /// The series' timed passes, then (where `counted` > 0) its counted
    /// passes on the same method run (the same buffer, a fresh mapping):
    /// every counter is opened just before them and closed right after, so
    /// that no per-call tracepoint is open while a timed pass runs. (Closing
    /// a tracepoint waits for the kernel to retire its probes, a quarter of
    /// a second here: the main loop counts a whole scenario under one
    /// opening instead, see [`counted_phase`].)
    pub fn timed_then_counted(
        &self,
        timing: &CounterSet,
        passes: usize,
        counted: usize,
    ) -> anyhow::Result<Vec<PassRecord>> {
        let mut run = self.open()?;
        let mut records = self.passes(&mut run, Counting::timed(timing), passes)?;
        if counted > 0 {
            run.restart();
            let full = Instrumentation::Full
                .open()?
                .context("the full counter set")?;
            records.extend(self.passes(&mut run, Counting::counted(&full), counted)?);
            drop(full);
        }
        drop(run); // a kept mapping is unmapped here, outside every timed pass
        Ok(records)
    }
}

/// The counted passes of every series of a scenario, under one opening of
/// every counter (opened after the scenario's timed passes, closed before
/// the next scenario's): each series on a fresh method run with its
/// buffer at the same offset, in the scenario's file state.
pub fn counted_phase(series: &[Series<'_>], passes: usize) -> anyhow::Result<Vec<PassRecord>> {
    if series.is_empty() || passes == 0 {
        return Ok(Vec::new());
    }
    let full = Instrumentation::Full
        .open()?
        .context("the full counter set")?;
    let mut records = Vec::new();
    for one in series {
        let mut run = one.open()?;
        records.extend(one.passes(&mut run, Counting::counted(&full), passes)?);
    }
    drop(full);
    Ok(records)
}

/// Runs `passes` passes of `config` over `data` in `scenario`, each
/// measured by `set` in `role`; see [`Series::passes`].
#[allow(clippy::too_many_arguments)] // the tests' entry point, every argument named there
pub fn run_passes(
    set: &CounterSet,
    role: Role,
    data: &DataFile,
    anonymous: Option<&[u8]>,
    scenario: Scenario,
    config: Config,
    passes: usize,
    repetition: usize,
) -> anyhow::Result<Vec<PassRecord>> {
    let series = Series {
        data,
        anonymous,
        scenario,
        config,
        repetition,
    };
    let counting = Counting {
        set: Some(set),
        instrumentation: if role == Role::Counted {
            Instrumentation::Full
        } else {
            Instrumentation::Timing
        },
        role,
    };
    let mut run = series.open()?;
    series.passes(&mut run, counting, passes)
}

/// The longest one series of passes may take in the memory cgroup's child
/// before it is killed (every pass may read the whole file from storage).
const LIMITED_SERIES_TIMEOUT: Duration = Duration::from_secs(3600);

/// Runs a series' timed passes (and `counted` counted ones) in a forked
/// child that first joins `cgroup`, so that the page cache it brings in is
/// charged to the cgroup and cannot exceed its limit. The child opens its
/// own counters (counters count the thread that opened them) and sends its
/// records back as JSON; a failure in the child (a checksum mismatch
/// included) fails the run here, and a child the OOM killer ended is
/// reported as such.
pub fn run_limited(
    cgroup: &MemoryCgroup,
    data: &DataFile,
    config: Config,
    passes: usize,
    counted: usize,
    repetition: usize,
) -> anyhow::Result<Vec<PassRecord>> {
    let series = Series {
        data,
        anonymous: None,
        scenario: Scenario::MemoryLimit,
        config,
        repetition,
    };
    let outcome = mmlab_core::probe::run_in_child(LIMITED_SERIES_TIMEOUT, |channel| {
        let result = cgroup
            .add_self()
            .and_then(|()| {
                let timing = Instrumentation::Timing
                    .open()?
                    .context("the timing counters")?;
                series.timed_then_counted(&timing, passes, counted)
            })
            .map_err(|e| format!("{e:#}"));
        channel.send_json(&result);
        i32::from(result.is_err())
    })?;
    let name = config.series();
    match (
        &outcome.ending,
        outcome.output_json::<Result<Vec<PassRecord>, String>>(),
    ) {
        (Ending::Exited { code: 0 }, Some(Ok(records))) => Ok(records),
        (_, Some(Err(message))) => bail!("{name} in the memory cgroup: {message}"),
        (ending, _) => {
            let CgroupStats { oom_kills, .. } = cgroup.stats();
            let cause = match oom_kills {
                Some(n) if n > 0 => format!(
                    "; the kernel's OOM killer ended {n} process(es) in the cgroup: raise --memory-limit"
                ),
                _ => String::new(),
            };
            bail!(
                "{name} in the memory cgroup ({}): the child ended with {} before sending its passes{cause}",
                cgroup.describe(),
                ending.describe()
            )
        }
    }
}

/// The observer measurement of one repetition: `read` at the observer
/// block size over the warm file, `rounds` passes under each counter set
/// and as a plain loop. The plain loop and the timing set alternate (their
/// order swapped every round), with no tracepoint open, half of their
/// rounds before and half after the tracepoint sets, each of which is
/// opened once for its passes and closed after
/// (closing one takes the kernel a quarter of a second here, so a set is
/// not reopened for every pass).
pub fn observer_passes(
    series: &Series<'_>,
    timing: &CounterSet,
    rounds: usize,
) -> anyhow::Result<Vec<PassRecord>> {
    let pair = |round: usize| {
        let mut pair = [Instrumentation::None, Instrumentation::Timing];
        if round % 2 == 1 {
            pair.reverse();
        }
        pair.map(|i| (round, i))
    };
    // Half the pairs before the tracepoint sets and half after, so that the
    // reference brackets them in time.
    let half = rounds.div_ceil(2);
    let mut schedule: Vec<(usize, Instrumentation)> = (0..half).flat_map(pair).collect();
    for traced in [Instrumentation::Syscalls, Instrumentation::Full] {
        schedule.extend((0..rounds).map(|round| (round, traced)));
    }
    schedule.extend((half..rounds).flat_map(pair));
    let mut run = series.open()?;
    let mut records = Vec::new();
    let mut opened: Option<(Instrumentation, CounterSet)> = None;
    for (round, instrumentation) in schedule {
        if opened.as_ref().map(|(i, _)| *i) != Some(instrumentation) {
            drop(opened.take()); // closed before any other pass runs
            if instrumentation.traces_calls() {
                let set = instrumentation
                    .open()?
                    .context("a tracepoint counter set")?;
                opened = Some((instrumentation, set));
            }
        }
        let set = match instrumentation {
            Instrumentation::None => None,
            Instrumentation::Timing => Some(timing),
            _ => opened.as_ref().map(|(_, set)| set),
        };
        let counting = Counting {
            set,
            instrumentation,
            role: Role::Observer,
        };
        for mut r in series.passes(&mut run, counting, 1)? {
            r.pass_index = round + 1;
            records.push(r);
        }
    }
    drop(opened);
    Ok(records)
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

/// How one series' repetitions went.
#[derive(Debug, Clone)]
pub struct SeriesRun {
    pub scenario: Scenario,
    pub config: Config,
    pub repetitions: usize,
    /// Why it stopped (`None` while it runs).
    pub stop: Option<Stop>,
    /// Its last repetition's wall time, for the budget's projection.
    pub last_ns: u64,
}

/// What one file size contributed besides its passes.
#[derive(Debug, Clone)]
pub struct SizeInfo {
    pub file_size_bytes: u64,
    pub checksum: u64,
    pub ceiling_huge_bytes: Option<u64>,
    pub kernel_in_cache_gb_per_s: f64,
    /// Threads of the all-CPU ceiling.
    pub ceiling_threads: usize,
    /// The file's state before each scenario's first pass, per repetition.
    pub file_states: Vec<(usize, Scenario, FileState)>,
    /// Time to write the file afresh, per repetition (ms).
    pub write_ms: Vec<f64>,
    /// Every series' repetitions and why they stopped.
    pub series: Vec<SeriesRun>,
}

/// Writes the data file (again): a fresh write leaves it cached in the
/// folios a sequential write makes, the same state at the start of every
/// repetition whatever reclaim did to it before.
fn write_file(
    dir: &mmlab_core::DataDir,
    name: &str,
    size: u64,
    expected: Option<u64>,
) -> anyhow::Result<(DataFile, f64)> {
    let start = Instant::now();
    let data = dir.create_file(name, size)?;
    if let Some(checksum) = expected {
        anyhow::ensure!(
            data.checksum == checksum,
            "the rewritten {} sums to {:#018x}, the first write to {checksum:#018x}",
            data.path.display(),
            data.checksum
        );
    }
    Ok((data, start.elapsed().as_secs_f64() * 1e3))
}

/// The progress bar, through closures (this crate does not name its type).
struct Progress<'a> {
    inc: &'a dyn Fn(u64),
    inc_length: &'a dyn Fn(u64),
    message: &'a dyn Fn(String),
}

/// The run's measuring loop for one file size: repetitions (fixed, or until
/// every series' median is known well enough), each writing the file
/// afresh, then every scenario (its file state read first) and every series
/// still running, then the observer rounds.
struct SizeRun<'a> {
    plan: &'a Plan,
    dir: &'a mmlab_core::DataDir,
    timing: &'a CounterSet,
    cgroup: Option<&'a MemoryCgroup>,
    progress: Progress<'a>,
}

impl SizeRun<'_> {
    fn measure(
        &self,
        index: usize,
        size: u64,
        deadline: Instant,
        records: &mut Vec<PassRecord>,
    ) -> anyhow::Result<SizeInfo> {
        let plan = self.plan;
        let name = format!("repeated-{}", format_size_short(size));
        let (mut data, first_write_ms) = write_file(self.dir, &name, size, None)?;
        let ceiling = CeilingBuffer::new(&data)?;
        let mut info = SizeInfo {
            file_size_bytes: size,
            checksum: data.checksum,
            ceiling_huge_bytes: ceiling.huge_bytes,
            kernel_in_cache_gb_per_s: kernel_in_cache_gb_per_s(ceiling.bytes()),
            ceiling_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            file_states: Vec::new(),
            write_ms: vec![first_write_ms],
            series: Vec::new(),
        };
        let scenarios = plan.scenarios(index);
        info.series = scenarios
            .iter()
            .flat_map(|s| {
                plan.configurations(*s, index)
                    .into_iter()
                    .map(|config| SeriesRun {
                        scenario: *s,
                        config,
                        repetitions: 0,
                        stop: None,
                        last_ns: 0,
                    })
            })
            .collect();
        let rule = match plan.repetitions {
            Repetitions::Adaptive { rule, .. } => Some(rule),
            Repetitions::Fixed(_) => None,
        };
        let observes = index == 0 && plan.observer_rounds > 0;
        let mut last_overhead_ns = 0u64;
        for repetition in 0..plan.repetitions.max() {
            if let Some(rule) = rule.filter(|_| repetition >= plan.repetitions.min()) {
                for series in info.series.iter_mut().filter(|s| s.stop.is_none()) {
                    let values = later_speeds(records, size, series.scenario, series.config);
                    if adaptive::converged(&rule, series.repetitions, &values) {
                        series.stop = Some(Stop::WidthReached);
                    }
                }
                let active: Vec<&SeriesRun> =
                    info.series.iter().filter(|s| s.stop.is_none()).collect();
                if active.is_empty() {
                    break;
                }
                let projected = Duration::from_nanos(
                    active.iter().map(|s| s.last_ns).sum::<u64>() + last_overhead_ns,
                );
                if Instant::now() + projected > deadline {
                    for series in info.series.iter_mut().filter(|s| s.stop.is_none()) {
                        series.stop = Some(Stop::TimeBudget);
                    }
                    break;
                }
                let more = active
                    .iter()
                    .map(|s| plan.passes(s.scenario))
                    .sum::<usize>()
                    + if observes { plan.observer_passes() } else { 0 };
                (self.progress.inc_length)(more as u64);
            }
            let repetition_start = Instant::now();
            let mut series_ns = 0u64;
            if repetition > 0 {
                let (fresh, ms) = write_file(self.dir, &name, size, Some(info.checksum))?;
                data = fresh;
                info.write_ms.push(ms);
            }
            for &scenario in &scenarios {
                let running: Vec<usize> = (0..info.series.len())
                    .filter(|&i| {
                        info.series[i].scenario == scenario && info.series[i].stop.is_none()
                    })
                    .collect();
                let observes_here = observes && scenario == Scenario::Warm;
                if running.is_empty() && !observes_here {
                    continue;
                }
                if scenario != Scenario::Warm {
                    // Unmeasured: see `prime_storage`.
                    prime_storage(&data)?;
                }
                info.file_states
                    .push((repetition, scenario, state::file_state(&data)?));
                let mut to_count: Vec<Series<'_>> = Vec::new();
                for i in running {
                    let config = info.series[i].config;
                    (self.progress.message)(format!(
                        "{} {} {} (repetition {})",
                        format_size_short(size),
                        scenario.name(),
                        config.series(),
                        repetition + 1
                    ));
                    let start = Instant::now();
                    let passes = plan.passes(scenario);
                    let counted = if repetition == 0 {
                        plan.counted_passes(scenario)
                    } else {
                        0
                    };
                    let series = Series {
                        data: &data,
                        anonymous: Some(ceiling.bytes()),
                        scenario,
                        config,
                        repetition,
                    };
                    records.extend(if scenario == Scenario::MemoryLimit {
                        let cgroup = self
                            .cgroup
                            .context("the memory-limit scenario runs only with a memory cgroup")?;
                        run_limited(cgroup, &data, config, passes, counted, repetition)?
                    } else {
                        series.timed_then_counted(self.timing, passes, 0)?
                    });
                    if counted > 0 && scenario != Scenario::MemoryLimit {
                        to_count.push(series);
                    }
                    let ns = start.elapsed().as_nanos() as u64;
                    series_ns += ns;
                    info.series[i].repetitions += 1;
                    info.series[i].last_ns = ns;
                    (self.progress.inc)(passes as u64);
                }
                if !to_count.is_empty() {
                    (self.progress.message)(format!(
                        "{} {} counted passes",
                        format_size_short(size),
                        scenario.name()
                    ));
                    let counted = plan.counted_passes(scenario);
                    records.extend(counted_phase(&to_count, counted)?);
                    (self.progress.inc)((counted * to_count.len()) as u64);
                }
                if observes_here {
                    (self.progress.message)(format!(
                        "{} observer rounds (repetition {})",
                        format_size_short(size),
                        repetition + 1
                    ));
                    let series = Series {
                        data: &data,
                        anonymous: None,
                        scenario,
                        config: Config::new(Method::Read, plan.observer_block_bytes),
                        repetition,
                    };
                    records.extend(observer_passes(&series, self.timing, plan.observer_rounds)?);
                    (self.progress.inc)(plan.observer_passes() as u64);
                }
            }
            let total_ns = repetition_start.elapsed().as_nanos() as u64;
            last_overhead_ns = total_ns.saturating_sub(series_ns);
        }
        let last_stop = if rule.is_some() {
            Stop::MaxRepetitions
        } else {
            Stop::Fixed
        };
        for series in info.series.iter_mut().filter(|s| s.stop.is_none()) {
            series.stop = Some(last_stop);
        }
        drop(ceiling);
        let _ = std::fs::remove_file(&data.path); // free the disk before the next size
        Ok(info)
    }
}

/// GB/s of the timed passes after the first of one series so far: what the
/// stopping rule reads.
pub(crate) fn later_speeds(
    records: &[PassRecord],
    size: u64,
    scenario: Scenario,
    config: Config,
) -> Vec<f64> {
    records
        .iter()
        .filter(|r| {
            r.file_size_bytes == size
                && r.scenario == scenario
                && r.role == Role::Timed
                && r.config() == config
                && !r.is_first_pass()
        })
        .map(PassRecord::gb_per_s)
        .collect()
}

pub(crate) fn run_experiment(id: &str, context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let plan = Plan::for_context(context);
    let dir = context.data_dir()?;
    let mut result = context.new_result(id, dir.path());
    // The timed set is open for the whole run; every counter is opened once
    // here to learn what this machine can count, then closed: no per-call
    // tracepoint stays open outside the counted and observer passes.
    let timing = Instrumentation::Timing
        .open()?
        .context("the timing counters")?;
    {
        let full = Instrumentation::Full.open()?.context("the full counters")?;
        result.counters_available = full.availability();
        result.counters_available.extend(timing.availability());
    }
    let reclaimers = Reclaimers::find();

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
    params::record_params(
        &mut result,
        context,
        &plan,
        &sizes,
        cgroup.as_ref(),
        &reclaimers,
    );
    let total_passes: usize = (0..sizes.len())
        .map(|i| {
            plan.passes_per_repetition(i) * plan.repetitions.min()
                + plan.counted_passes_total(i)
                + if i == 0 {
                    plan.observer_passes() * plan.repetitions.min()
                } else {
                    0
                }
        })
        .sum();
    let bar = context.progress(total_passes as u64, "repeated-access");
    // Each size may measure until its share of the budget, in proportion to
    // what one repetition of it costs (bytes times passes).
    let budget = match plan.repetitions {
        Repetitions::Adaptive { budget, .. } => Some(budget),
        Repetitions::Fixed(_) => None,
    };
    let weights: Vec<f64> = sizes
        .iter()
        .enumerate()
        .map(|(i, size)| *size as f64 * plan.passes_per_repetition(i) as f64)
        .collect();
    let total_weight: f64 = weights.iter().sum::<f64>().max(1.0);
    let size_run = SizeRun {
        plan: &plan,
        dir: &dir,
        timing: &timing,
        cgroup: cgroup.as_ref(),
        progress: Progress {
            inc: &|n| bar.inc(n),
            inc_length: &|n| bar.inc_length(n),
            message: &|m| bar.set_message(m),
        },
    };
    let mut records = Vec::new();
    let mut size_infos = Vec::new();
    let mut weight_so_far = 0.0;
    for (index, size) in sizes.iter().enumerate() {
        weight_so_far += weights[index];
        // Fixed repetitions have no deadline: a day from now.
        let deadline = match budget {
            Some(budget) => started + budget.mul_f64(weight_so_far / total_weight),
            None => Instant::now() + Duration::from_secs(86_400),
        };
        size_infos.push(size_run.measure(index, *size, deadline, &mut records)?);
    }
    bar.finish_and_clear();
    report::fill(
        &mut result,
        &plan,
        &records,
        &size_infos,
        cgroup.as_ref(),
        &reclaimers,
    )?;
    drop(cgroup); // removed now; the guard also removes it on error or Ctrl-C
    Ok(result.finish(started))
}
