//! The who-calls-mmap experiment: trace small programs built by the
//! workspace with `mmlab-trace` and look at who calls mmap, with which
//! arguments: (a) the start of a dynamically linked program (the loader maps
//! every shared library), (b) malloc around glibc's mmap threshold, found by
//! measurement, (c) reading a file with `std::fs::read`, with 4 KiB `read()`
//! calls and with memmap2 (twice over the mapping), and (d) a fresh
//! anonymous mapping, checked byte by byte and in /proc/self/maps. The cost
//! of watching (a read() loop untraced, counted by perf tracepoints, and
//! under ptrace) is measured in the same run. The verdicts on S1, S2, S5
//! and S11 are given by [`judge`] from the result file alone.
//!
//! The programs are workloads of the `mmlab` binary itself (see
//! [`workload`]), started fresh for every trace. This crate draws nothing:
//! it declares its figures in the result file.

pub mod analysis;
pub mod folios;
pub mod judge;
pub mod workload;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use mmlab_core::{
    Axis, Experiment, FigureKind, FigureSpec, ResultFile, RunContext, Summary, Warning, format_size,
};
use mmlab_trace::{CommandSpec, Selection, Trace, TraceError};
use serde_json::{Value, json};

pub use workload::run_workload;

use analysis::{CaseCalls, Counts};

/// The experiment, for the registry.
pub const EXPERIMENT: &dyn Experiment = &WhoCallsMmap;

#[derive(Debug)]
pub struct WhoCallsMmap;

const ID: &str = "who-calls-mmap";

/// The claims this experiment judges, in the order of its result file.
pub const CLAIMS: &[&str] = &["S1", "S2", "S5", "S11"];

/// The buffer of the read-4k case (S5 expects a read call per buffer).
pub const READ_BUFFER_BYTES: u64 = 4096;

/// The fresh anonymous mapping of the anonymous case (S2).
pub const ANON_SIZE: u64 = 64 << 10;

/// Allocation sizes of the malloc sweep: round numbers on both sides of
/// the documented 128 KiB default, so the threshold is found, not assumed
/// (a bisection between the two grid points around the change follows).
const SWEEP_SIZES: &[u64] = &[
    16 << 10,
    32 << 10,
    64 << 10,
    96 << 10,
    112 << 10,
    120 << 10,
    124 << 10,
    126 << 10,
    127 << 10,
    128 << 10,
    129 << 10,
    130 << 10,
    132 << 10,
    136 << 10,
    144 << 10,
    160 << 10,
    192 << 10,
    256 << 10,
    512 << 10,
    1 << 20,
    4 << 20,
];

/// The malloc cases listed call by call: well below and well above the
/// documented default threshold.
const MALLOC_SMALL: u64 = 64 << 10;
const MALLOC_LARGE: u64 = 256 << 10;

impl Experiment for WhoCallsMmap {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "Who calls mmap in an ordinary program, with which arguments, and what does watching cost?"
    }

    fn claims(&self) -> &'static [&'static str] {
        CLAIMS
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// Everything but the verdicts: params, samples, tables, summaries,
/// warnings and figures.
fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let data_dir = context.data_dir()?;
    let mut result = context.new_result(ID, data_dir.path());
    let runner = Runner::find()?;
    let file_size = context.size(1 << 20, 16 << 20);
    let repetitions = context.repetitions(3, 10);
    let n_read_calls: u64 = match context.profile {
        mmlab_core::Profile::Quick => 10_000,
        mmlab_core::Profile::Full => 100_000,
    };
    context.print_param("runner", runner.binary.display());
    context.print_param("file_size", format_size(file_size));
    context.print_param(
        "malloc_cases",
        format!(
            "{}, {}",
            format_size(MALLOC_SMALL),
            format_size(MALLOC_LARGE)
        ),
    );
    context.print_param("malloc_sweep_points", SWEEP_SIZES.len());
    context.print_param("watch_cost_read_calls", n_read_calls);
    context.print_param("watch_cost_repetitions", repetitions);
    result.param("runner", runner.binary.display().to_string());
    result.param("file_size_bytes", file_size);
    result.param("malloc_small_bytes", MALLOC_SMALL);
    result.param("malloc_large_bytes", MALLOC_LARGE);
    result.param("malloc_sweep_sizes_bytes", SWEEP_SIZES.to_vec());
    result.param("watch_cost_read_calls", n_read_calls);
    result.param("watch_cost_read_bytes", 64);
    result.param("repetitions", repetitions as u64);
    for variable in [
        "GLIBC_TUNABLES",
        "MALLOC_MMAP_THRESHOLD_",
        "MALLOC_TOP_PAD_",
        "MALLOC_ARENA_MAX",
    ] {
        let value = std::env::var(variable).ok();
        if let Some(v) = &value {
            result.warnings.push(Warning::new(
                "malloc-tuned",
                format!("{variable}={v} is set: glibc's malloc thresholds are not the defaults in this run"),
                format!("unset {variable} to measure the defaults"),
            ));
        }
        result.param(
            &format!("env_{}", variable.to_lowercase().trim_end_matches('_')),
            value,
        );
    }

    let file = data_dir.create_file("data.bin", file_size)?;
    let file_path = file.path.display().to_string();
    // What the judge checks the traced calls against.
    result.param("data_file_path", file_path.clone());
    result.param("data_file_checksum", file.checksum);
    result.param("read_buffer_bytes", READ_BUFFER_BYTES);
    result.param(
        "page_size_bytes",
        mmlab_core::fingerprint::page_size() as u64,
    );
    result.param("anon_size_bytes", ANON_SIZE);
    // S11 is judged against it: with MAP_FILE = 0 the flag cannot matter.
    result.param("map_file_value", libc::MAP_FILE as u64);

    // (a) The start of a dynamically linked program.
    let start = match runner.trace("noop", &Selection::default_set()) {
        Ok(trace) => trace,
        Err(TraceError::NotPermitted { call, errno }) => {
            return Ok(not_permitted(result, &call, errno).finish(started));
        }
        Err(error) => return Err(error).context("tracing the start of the mmlab binary"),
    };
    let progress = context.progress(
        (SWEEP_SIZES.len() + 17 + 5 * repetitions) as u64,
        "who-calls-mmap",
    );
    let mut cases = vec![CaseCalls::whole("program-start", "noop", &start)];

    // (b) malloc below and above the threshold, and twice above it.
    let memory_and_marks = Selection::parse("memory,write").expect("known names");
    for (name, spec) in [
        ("malloc-64k", format!("malloc:{MALLOC_SMALL}")),
        ("malloc-256k", format!("malloc:{MALLOC_LARGE}")),
        ("malloc-256k-twice", format!("malloc-twice:{MALLOC_LARGE}")),
    ] {
        let trace = runner.trace(&spec, &memory_and_marks)?;
        cases.push(CaseCalls::between_marks(name, &spec, &trace)?);
        progress.inc(1);
    }

    // (d) A fresh anonymous mapping, checked byte by byte and in
    // /proc/self/maps while it is mapped.
    let spec = format!("anon:{ANON_SIZE}");
    let trace = runner.trace(&spec, &Selection::default_set())?;
    cases.push(CaseCalls::between_marks("anonymous", &spec, &trace)?);
    progress.inc(1);

    // (c) Reading the data file three ways.
    for (name, spec) in [
        ("fs-read", format!("fs-read:{file_path}")),
        ("read-4k", format!("read-4k:{file_path}")),
        ("mmap", format!("mmap:{file_path}")),
    ] {
        let trace = runner.trace(&spec, &Selection::default_set())?;
        cases.push(CaseCalls::between_marks(name, &spec, &trace)?);
        progress.inc(1);
    }
    // The folios the mmap case met (the page cache is shared), with the
    // fault-around window: what its first pass's faults depend on.
    let data_file_folios = folios::measure(&file, "right after the mmap case")?;

    // The malloc threshold, by measurement.
    let mut sweep = Vec::new();
    for &size in SWEEP_SIZES {
        let probe = malloc_probe(&runner, &memory_and_marks, size)?;
        result.samples.push(probe.sample("malloc-sweep"));
        sweep.push(probe);
        progress.inc(1);
    }
    let tick = || progress.inc(1);
    let threshold = find_threshold(&runner, &memory_and_marks, &sweep, &mut result, &tick)?;

    // The cost of watching.
    let watch = watch_cost(
        &runner,
        &data_dir,
        n_read_calls,
        repetitions,
        &mut result,
        &tick,
    )?;
    progress.finish_and_clear();

    // Tables for the figures and the reader.
    let mut per_case = Vec::new();
    for c in &cases {
        for (syscall, n) in c.counts_by_name() {
            per_case.push(json!({"case": c.case, "syscall": syscall, "n_calls": n}));
        }
    }
    let mut sweep_rows = Vec::new();
    for probe in &sweep {
        for (syscall, n) in [
            ("mmap", probe.n_mmap_anonymous),
            ("munmap", probe.n_munmap),
            ("brk", probe.n_brk),
        ] {
            sweep_rows.push(json!({
                "alloc_size_bytes": probe.size_bytes,
                "alloc_size": format_size(probe.size_bytes),
                "syscall": syscall,
                "n_calls": n,
            }));
        }
    }
    result.extra.insert(
        "cases".into(),
        Value::Array(cases.iter().map(|c| c.to_json(Some(&file_path))).collect()),
    );
    result.extra.insert(
        "mmap_calls".into(),
        Value::Array(cases.iter().flat_map(analysis::mmap_rows).collect()),
    );
    result
        .extra
        .insert("calls_per_case".into(), Value::Array(per_case));
    result
        .extra
        .insert("malloc_sweep".into(), Value::Array(sweep_rows));
    result.extra.insert(
        "malloc_threshold".into(),
        match threshold {
            Some(t) => json!({
                "first_mmap_size_bytes": t.first_mmap,
                "last_heap_size_bytes": t.last_heap,
                "chunk_size_bytes": chunk_size(t.first_mmap),
                "documented_default_bytes": 128 << 10,
            }),
            None => Value::Null,
        },
    );
    result.extra.insert("watch_cost".into(), watch);
    result
        .extra
        .insert("data_file_folios".into(), json!(data_file_folios));
    result.figures = figures();
    Ok(result.finish(started))
}

/// glibc's chunk size for a request: request + 8 bytes of header, rounded
/// up to 16 (at least 32).
pub fn chunk_size(request: u64) -> u64 {
    ((request + 8 + 15) & !15).max(32)
}

/// The `mmlab` binary that runs the workloads.
#[derive(Debug, Clone)]
pub struct Runner {
    pub binary: PathBuf,
}

impl Runner {
    /// `MMLAB_BIN` if set; else the running executable when it is `mmlab`;
    /// else `mmlab` next to it or one folder up (a test binary lives in
    /// `target/<profile>/deps/`).
    pub fn find() -> anyhow::Result<Runner> {
        if let Some(path) = std::env::var_os("MMLAB_BIN") {
            return Ok(Runner {
                binary: path.into(),
            });
        }
        let exe = std::env::current_exe().context("cannot find the running executable")?;
        if exe.file_name().is_some_and(|n| n == "mmlab") {
            return Ok(Runner { binary: exe });
        }
        let mut folder = exe.parent();
        for _ in 0..2 {
            let Some(dir) = folder else { break };
            let candidate = dir.join("mmlab");
            if candidate.is_file() {
                return Ok(Runner { binary: candidate });
            }
            folder = dir.parent();
        }
        bail!(
            "cannot find the mmlab binary next to {} (the workloads run in it): build it with \
             `cargo build --release --bin mmlab` or set MMLAB_BIN",
            exe.display()
        )
    }

    pub fn command(&self, workload: &str) -> CommandSpec {
        CommandSpec {
            program: self.binary.display().to_string(),
            args: vec!["trace".into(), "--workload".into(), workload.into()],
            stdout_to: None,
        }
    }

    /// Traces one workload; fails if it did not exit with status 0.
    pub fn trace(&self, workload: &str, selection: &Selection) -> Result<Trace, TraceError> {
        self.trace_command(&self.command(workload), selection)
    }

    fn trace_command(
        &self,
        spec: &CommandSpec,
        selection: &Selection,
    ) -> Result<Trace, TraceError> {
        let trace = mmlab_trace::trace(spec, selection, &mut |_| {})?;
        if trace.ending != (mmlab_trace::Ending::Exited { code: 0 }) {
            return Err(TraceError::CannotStart {
                program: format!("{} {}", spec.program, spec.args.join(" ")),
                reason: format!("the workload {}", trace.ending.describe()),
            });
        }
        Ok(trace)
    }
}

/// ptrace is refused here: a `no-ptrace` warning, which the judge reads to
/// make every claim not-measured with its reason.
fn not_permitted(mut result: ResultFile, call: &str, errno: nix::errno::Errno) -> ResultFile {
    let reason = format!(
        "ptrace is not permitted here ({call}: {errno}); run outside a sandbox that forbids ptrace \
         (seccomp, a container without CAP_SYS_PTRACE) or lower kernel.yama.ptrace_scope"
    );
    result.warnings.push(Warning::new(
        "no-ptrace",
        reason,
        "run where ptrace is allowed",
    ));
    result
}

/// What one `malloc:N` trace showed.
#[derive(Debug, Clone)]
pub struct MallocProbe {
    pub size_bytes: u64,
    pub n_mmap_anonymous: u64,
    pub n_munmap: u64,
    pub n_brk: u64,
    pub mmap_len_bytes: Option<u64>,
}

impl MallocProbe {
    fn sample(&self, scenario: &str) -> Value {
        json!({
            "scenario": scenario,
            "alloc_size_bytes": self.size_bytes,
            "n_mmap_anonymous_calls": self.n_mmap_anonymous,
            "n_munmap_calls": self.n_munmap,
            "n_brk_calls": self.n_brk,
            "mmap_len_bytes": self.mmap_len_bytes,
        })
    }

    fn used_mmap(&self) -> bool {
        self.n_mmap_anonymous > 0
    }
}

fn malloc_probe(runner: &Runner, selection: &Selection, size: u64) -> anyhow::Result<MallocProbe> {
    let spec = format!("malloc:{size}");
    let trace = runner.trace(&spec, selection)?;
    let calls = CaseCalls::between_marks("malloc", &spec, &trace)?;
    let counts = Counts::of(&calls.calls);
    Ok(MallocProbe {
        size_bytes: size,
        n_mmap_anonymous: counts.mmap_anonymous,
        n_munmap: counts.get("munmap"),
        n_brk: counts.get("brk"),
        mmap_len_bytes: calls
            .calls
            .iter()
            .find(|r| analysis::is_anonymous_mmap(r))
            .and_then(|r| r.raw("len_bytes")),
    })
}

/// The measured threshold: the smallest request that malloc served with
/// mmap, and the largest that it served from the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub first_mmap: u64,
    pub last_heap: u64,
}

fn find_threshold(
    runner: &Runner,
    selection: &Selection,
    sweep: &[MallocProbe],
    result: &mut ResultFile,
    tick: &dyn Fn(),
) -> anyhow::Result<Option<Threshold>> {
    let Some(first) = sweep.iter().position(MallocProbe::used_mmap) else {
        result.warnings.push(Warning::new(
            "no-malloc-mmap",
            format!(
                "malloc never called mmap up to {}",
                format_size(sweep.last().map_or(0, |p| p.size_bytes))
            ),
            "check GLIBC_TUNABLES and MALLOC_MMAP_THRESHOLD_; a non-glibc malloc may never use mmap",
        ));
        return Ok(None);
    };
    if sweep[first..].iter().any(|p| !p.used_mmap()) {
        result.warnings.push(Warning::new(
            "non-monotonic-threshold",
            "some sizes above the first one served by mmap were served from the heap",
            "look at the malloc_sweep rows: the heap's free top can serve a large request first",
        ));
    }
    if first == 0 {
        return Ok(Some(Threshold {
            first_mmap: sweep[0].size_bytes,
            last_heap: 0,
        }));
    }
    // Bisection between the last heap size and the first mmap size.
    let (mut low, mut high) = (sweep[first - 1].size_bytes, sweep[first].size_bytes);
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let probe = malloc_probe(runner, selection, middle)?;
        result.samples.push(probe.sample("malloc-bisect"));
        tick();
        if probe.used_mmap() {
            high = middle;
        } else {
            low = middle;
        }
    }
    Ok(Some(Threshold {
        first_mmap: high,
        last_heap: low,
    }))
}

/// The time per read() of a tight loop, five ways, interleaved per
/// repetition: in this process untraced and counted by perf tracepoints; in
/// a child untraced, under ptrace recording nothing (the stops alone), and
/// under ptrace recording and decoding every read.
fn watch_cost(
    runner: &Runner,
    data_dir: &mmlab_core::DataDir,
    n_calls: u64,
    repetitions: usize,
    result: &mut ResultFile,
    tick: &dyn Fn(),
) -> anyhow::Result<Value> {
    // The counters are opened for the perf-counted mode only and closed
    // right after it: while a system-call tracepoint is open, the kernel
    // sends this thread's calls down its slower traced path even when the
    // counter is disabled, which would slow the "untraced" loop too.
    let events = ["syscalls:sys_enter_read", "raw_syscalls:sys_enter"];
    let open_counters = || mmlab_counters::CounterSet::open(&events);
    let mut counters_work = match open_counters() {
        Ok(set) => {
            result.counters_available.extend(set.availability());
            true
        }
        Err(error) => {
            for event in events {
                result.counters_available.insert(
                    event.to_string(),
                    mmlab_core::Availability::Unavailable(error.to_string()),
                );
            }
            false
        }
    };
    let zero = std::fs::File::open("/dev/zero").context("cannot open /dev/zero")?;
    workload::read_loop(&zero, workload::WARM_UP_CALLS)?;
    let output_path = data_dir.path().join("readloop.out");
    let workload = format!("readloop:{n_calls}");
    let mut per_mode: Vec<(&str, Vec<f64>)> = MODES.iter().map(|m| (*m, Vec::new())).collect();
    let mut counted = Vec::new();
    for repetition in 0..repetitions {
        for mode in MODES {
            let mut sample = serde_json::Map::new();
            let elapsed_ns = match *mode {
                "untraced" => workload::read_loop(&zero, n_calls)?,
                "perf-counted" => {
                    if !counters_work {
                        continue;
                    }
                    let Ok(set) = open_counters() else {
                        counters_work = false;
                        continue;
                    };
                    let (elapsed, measurement) =
                        set.measure(|| workload::read_loop(&zero, n_calls));
                    drop(set);
                    std::thread::sleep(SETTLE_AFTER_COUNTERS);
                    let elapsed = elapsed?;
                    sample.extend(measurement.sample_fields());
                    counted.push(measurement.get("syscalls:sys_enter_read"));
                    elapsed
                }
                "child-untraced" => {
                    let output = std::process::Command::new(&runner.binary)
                        .args(["trace", "--workload", &workload])
                        .output()
                        .with_context(|| format!("cannot run {}", runner.binary.display()))?;
                    parse_elapsed(&String::from_utf8_lossy(&output.stdout))?
                }
                "ptrace-stops-only" | "ptrace-decoded" => {
                    let selection = if *mode == "ptrace-stops-only" {
                        Selection::none()
                    } else {
                        Selection::parse("read").expect("known name")
                    };
                    let mut spec = runner.command(&workload);
                    spec.stdout_to = Some(output_path.clone());
                    let trace = runner.trace_command(&spec, &selection)?;
                    sample.insert("n_syscall_stops".into(), trace.n_syscall_stops.into());
                    sample.insert(
                        "n_recorded_calls".into(),
                        (trace.records.len() as u64).into(),
                    );
                    let text = std::fs::read_to_string(&output_path)
                        .with_context(|| format!("cannot read {}", output_path.display()))?;
                    parse_elapsed(&text)?
                }
                _ => unreachable!("MODES lists every mode"),
            };
            let ns_per_call = elapsed_ns as f64 / n_calls as f64;
            sample.insert("scenario".into(), "watch-cost".into());
            sample.insert("mode".into(), (*mode).into());
            sample.insert("repetition".into(), (repetition as u64).into());
            sample.insert("n_read_calls".into(), n_calls.into());
            sample.insert("elapsed_ns".into(), elapsed_ns.into());
            sample.insert("ns_per_call".into(), ns_per_call.into());
            result.samples.push(Value::Object(sample));
            if let Some((_, values)) = per_mode.iter_mut().find(|(m, _)| m == mode) {
                values.push(ns_per_call);
            }
            tick();
        }
    }
    let baseline = per_mode
        .iter()
        .find(|(m, _)| *m == "untraced")
        .and_then(|(_, v)| mmlab_core::stats::median(v))
        .unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    for (mode, values) in &per_mode {
        if let Some(summary) = Summary::of(*mode, "ns_per_call", values) {
            rows.push(json!({
                "mode": mode,
                "median_ns_per_call": summary.median,
                "ratio_to_untraced": summary.median / baseline,
            }));
            result.summaries.push(summary);
        }
    }
    if !counters_work || counted.iter().all(Option::is_none) {
        result.warnings.push(Warning::new(
            "no-tracepoints",
            "the read() loop could not be counted with perf tracepoints: the perf-counted mode is missing or counted nothing",
            "run as root (tracefs at /sys/kernel/tracing, perf_event_paranoid) to count system calls with perf",
        ));
    }
    Ok(json!({
        "n_read_calls": n_calls,
        "perf_counted_read_calls": counted,
        "modes": rows,
    }))
}

/// The ways the read() loop runs, in the order of each repetition.
/// perf-counted comes last, followed by a pause: right after a tracepoint
/// counter is closed, system calls stay on the slow path for a while
/// (measured here: about 4x slower right after, normal 100 ms later).
const MODES: &[&str] = &[
    "untraced",
    "child-untraced",
    "ptrace-stops-only",
    "ptrace-decoded",
    "perf-counted",
];

/// The pause after the perf-counted mode.
const SETTLE_AFTER_COUNTERS: std::time::Duration = std::time::Duration::from_millis(200);

fn parse_elapsed(text: &str) -> anyhow::Result<u64> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix("elapsed_ns="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("the readloop workload printed no elapsed_ns: {text:?}"))
}

fn figures() -> Vec<FigureSpec> {
    let figure = |id: &str, title: &str, kind: FigureKind, data: &str, x: Axis, y: Axis| {
        let mut spec = FigureSpec::new(id, title, kind, data, x, y);
        spec.series = Some("syscall".to_string());
        spec
    };
    let mut calls = figure(
        "calls-per-case",
        "Which system calls does each program make?",
        FigureKind::Bar,
        "calls_per_case",
        Axis::new("case", "case"),
        Axis::log("n_calls", "system calls (count)"),
    );
    calls.how_to_read = "One group per traced case, one bar per system call. program-start is the whole \
        start of the mmlab binary (the loader's openat/mmap/mprotect per library); the other cases count \
        only the calls between the workload's marks (the marks themselves, writes to fd -1, left out). Compare read-4k's read bar (one read per 4 KiB block, plus the one that returns 0) with the mmap case's single mmap bar. The mmap and anonymous cases also open and read /proc/self/maps (to find their mapping's line): their openat, read and close bars are those calls, not reads of the data file (counts_on_data_file in the cases table)."
        .to_string();
    calls.claims = vec!["S1".into(), "S5".into()];

    let mut threshold = figure(
        "malloc-threshold",
        "Above which size does malloc call mmap?",
        FigureKind::Line,
        "malloc_sweep",
        Axis::log("alloc_size_bytes", "malloc request (bytes)"),
        Axis::new("n_calls", "system calls between malloc and free (count)"),
    );
    threshold.how_to_read = "Each point is one fresh process that called malloc(N) once and freed it. \
        Below the threshold malloc needs at most a brk (or nothing: the heap's free top serves it); from \
        the threshold up, one anonymous mmap at malloc and one munmap at free."
        .to_string();
    threshold.claims = vec!["S2".into()];

    let mut cost = figure(
        "watch-cost",
        "What does watching a read() loop cost?",
        FigureKind::Bar,
        "samples",
        Axis::new("mode", "how the loop ran"),
        Axis::log("ns_per_call", "time per read() call (ns)"),
    );
    cost.series = None;
    cost.filter.insert("scenario".into(), "watch-cost".into());
    cost.how_to_read = "Median time per 64-byte read() from /dev/zero, with the p5-p95 whisker. \
        perf-counted is the same loop counted by the syscalls:sys_enter_read tracepoint; the ptrace modes \
        stop the program twice per call (entry and exit). That ratio is why the lab counts with perf and \
        traces only to look."
        .to_string();
    cost.claims = vec!["S5".into()];
    vec![calls, threshold, cost]
}
