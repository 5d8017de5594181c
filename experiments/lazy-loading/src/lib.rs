//! Experiment `lazy-loading`: what a mapped file costs, page by page. It
//! maps a data file (and anonymous memory of the same size), touches pages
//! in measured regions on the calling thread, and records for each region
//! the page faults (perf software counters, the fault tracepoints and
//! getrusage side by side), the system calls, the storage reads
//! (/proc/self/io), and afterwards the pages in the page cache (mincore) and
//! in the page table (pagemap). Scenarios: touching k pages in three orders,
//! cold and warm; full passes cold vs warm, by mmap and by read(); madvise
//! advice and MAP_POPULATE; folio and fault-around effects; anonymous
//! memory; a second pass; and /proc/meminfo around a cold read and around
//! statting fresh files. The verdicts on S3, S6, S13 and S15 are given by
//! [`judge`] from the result file alone.
//!
//! It changes no system setting. It reads fault_around_bytes only if
//! debugfs is already mounted, and, as root, drops the machine's clean
//! caches once to measure metadata loading (see [`metadata`]).

pub mod analysis;
pub mod figures;
pub mod judge;
pub mod mapping;
pub mod metadata;
pub mod meter;
pub mod plan;
pub mod scenarios;
pub mod system;
pub mod verdicts;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use mmlab_core::fingerprint::page_size;
use mmlab_core::{Experiment, Profile, ResultFile, RunContext, Warning, format_size};

use crate::analysis::{cell, select};
use crate::meter::Meter;
use crate::scenarios::{Lab, Prepare};

pub const EXPERIMENT: &dyn Experiment = &LazyLoading;

pub const ID: &str = "lazy-loading";

/// The claims this experiment judges, in the order of its result file.
pub const CLAIMS: &[&str] = &["S3", "S6", "S13", "S15"];

/// The most cells a residency strip has (the plot stays readable).
pub const MAX_STRIP_CELLS: usize = 4096;

#[derive(Debug)]
pub struct LazyLoading;

impl Experiment for LazyLoading {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "What does a mapped file cost, page by page: which touch loads what, with how many faults?"
    }

    fn claims(&self) -> &'static [&'static str] {
        CLAIMS
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context, RunOptions::default())
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

/// What a caller may forbid beyond the [`RunContext`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Drop the machine's caches (only as root and when the user asked with
    /// `MMLAB_DROP_CACHES=1`) to measure metadata loading cold. Tests turn it off: a test must
    /// not empty the caches of the machine it runs on.
    pub allow_drop_caches: bool,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            allow_drop_caches: true,
        }
    }
}

/// The sizes and counts of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file_size_bytes: u64,
    pub n_repetitions: usize,
    pub n_meminfo_repetitions: usize,
    pub n_metadata_repetitions: usize,
    pub n_dirs: usize,
    pub files_per_dir: usize,
    pub seed: u64,
}

impl Plan {
    pub fn of(context: &RunContext) -> Plan {
        let page = page_size() as u64;
        let size = context.size(64 << 20, 1 << 30).max(page);
        let n_repetitions = context.repetitions(3, 5);
        Plan {
            file_size_bytes: size.div_ceil(page) * page,
            n_repetitions,
            n_meminfo_repetitions: n_repetitions.min(3),
            n_metadata_repetitions: match context.profile {
                Profile::Quick => 1,
                Profile::Full => n_repetitions.min(3),
            },
            n_dirs: match context.profile {
                Profile::Quick => 100,
                Profile::Full => 200,
            },
            files_per_dir: 100,
            seed: 0x006d_6d6c_6162,
        }
    }
}

/// Runs the experiment: measures (everything but the verdicts), then judges
/// the result as its JSON reads back.
pub fn run_with(context: &RunContext, options: RunOptions) -> anyhow::Result<ResultFile> {
    let mut result = measure(context, options)?;
    result.claims = judge::judge(&mmlab_core::io::as_read_back(&result)?);
    Ok(result)
}

/// Measures, then tabulates and declares figures: params, samples, tables,
/// summaries, warnings and figures, no claims.
pub fn measure(context: &RunContext, options: RunOptions) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let plan = Plan::of(context);
    let dir = context.data_dir()?;
    let mut result = context.new_result(ID, dir.path());
    let n_pages = plan.file_size_bytes / page_size() as u64;

    // The fingerprint's reading of the data folder's disk (bdi, queue, or
    // a partition's disk), kept as a param too for readers of older files.
    let read_ahead = match &result.env.data_dir_read_ahead_kb {
        mmlab_core::fingerprint::Known::Value(kb) => system::Knob::Value(kb.to_string()),
        mmlab_core::fingerprint::Known::Unknown(why) => {
            system::Knob::Unknown(why.strip_prefix("unknown: ").unwrap_or(why).to_string())
        }
    };
    let fault_around = system::fault_around_bytes();
    let thp = system::thp_settings();
    let drop_caches = if options.allow_drop_caches {
        metadata::may_drop_caches()
    } else {
        Err("the caller did not allow dropping the machine's caches (tests never do)".to_string())
    };
    let steps = plan::pages_touched_steps(n_pages as usize);
    let params: Vec<(&str, Value, String)> = vec![
        (
            "file_size_bytes",
            plan.file_size_bytes.into(),
            format_size(plan.file_size_bytes),
        ),
        ("n_pages_file", n_pages.into(), n_pages.to_string()),
        (
            "page_size_bytes",
            page_size().into(),
            format_size(page_size() as u64),
        ),
        (
            "n_repetitions",
            plan.n_repetitions.into(),
            plan.n_repetitions.to_string(),
        ),
        (
            "n_pages_touched_steps",
            json!(steps),
            steps
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (
            "orders",
            json!(["sequential", "strided", "random"]),
            "sequential, strided, random".into(),
        ),
        ("random_seed", plan.seed.into(), format!("{:#x}", plan.seed)),
        ("read_ahead_kb", read_ahead.to_json(), read_ahead.display()),
        (
            "fault_around_bytes",
            fault_around.to_json(),
            fault_around.display(),
        ),
        (
            "n_metadata_files",
            (plan.n_dirs * plan.files_per_dir).into(),
            format!(
                "{} ({} folders of {})",
                plan.n_dirs * plan.files_per_dir,
                plan.n_dirs,
                plan.files_per_dir
            ),
        ),
        (
            "n_meminfo_repetitions",
            plan.n_meminfo_repetitions.into(),
            plan.n_meminfo_repetitions.to_string(),
        ),
        (
            "n_metadata_repetitions",
            plan.n_metadata_repetitions.into(),
            plan.n_metadata_repetitions.to_string(),
        ),
        (
            "drop_caches",
            match &drop_caches {
                Ok(()) => "yes (root): once per metadata repetition".into(),
                Err(reason) => format!("no: {reason}").into(),
            },
            match &drop_caches {
                Ok(()) => "yes (root), once per metadata repetition".to_string(),
                Err(reason) => format!("no ({reason})"),
            },
        ),
    ];
    for (name, value, shown) in params {
        context.print_param(name, shown);
        result.param(name, value);
    }
    for (name, knob) in &thp {
        context.print_param(name, knob.display());
        result.param(name, knob.to_json());
    }

    let meter = Meter::open()?;
    result.counters_available = meter.availability();
    let data = dir.create_file("lazy-loading.dat", plan.file_size_bytes)?;
    let file = data.open()?;
    let mut lab = Lab::new(&meter, file, plan.file_size_bytes as usize);
    lab.expected_checksum = Some(data.checksum);

    let bar = context.progress((plan.n_repetitions * 5 + 3) as u64, "lazy-loading");
    // Wall time per scenario, preparation included: where the run's time goes.
    let mut durations: BTreeMap<&str, f64> = BTreeMap::new();
    let mut timed = |name: &'static str, since: &mut Instant| {
        *durations.entry(name).or_default() += since.elapsed().as_secs_f64() * 1e3;
        *since = Instant::now();
    };
    let mut clock = Instant::now();
    // The file as write() left it in the page cache: measured before
    // anything evicts it.
    for repetition in 0..plan.n_repetitions {
        lab.folios("written", repetition)?;
    }
    timed("folios", &mut clock);
    bar.inc(1);
    for repetition in 0..plan.n_repetitions {
        bar.set_message(format!("repetition {}", repetition + 1));
        lab.touch_k(repetition, plan.seed + repetition as u64)?;
        timed("touch-k", &mut clock);
        bar.inc(1);
        lab.prepare(Prepare::WarmByRead)?;
        lab.folios("read()", repetition)?;
        timed("folios", &mut clock);
        lab.cold_vs_warm(repetition)?;
        timed("cold-vs-warm", &mut clock);
        bar.inc(1);
        lab.advice(repetition)?;
        timed("advice (with split folios)", &mut clock);
        bar.inc(1);
        lab.anonymous(repetition)?;
        timed("anonymous", &mut clock);
        bar.inc(1);
        lab.second_pass(repetition)?;
        timed("second-pass", &mut clock);
        bar.inc(1);
    }
    let residency = lab.residency_rows(MAX_STRIP_CELLS)?;
    timed("residency", &mut clock);
    bar.inc(1);

    bar.set_message("meminfo");
    let mut meminfo_changes = Vec::new();
    for repetition in 0..plan.n_meminfo_repetitions {
        meminfo_changes.push(metadata::cold_file_read(&mut lab, repetition)?);
    }
    let mut metadata_runs = Vec::new();
    for repetition in 0..plan.n_metadata_repetitions {
        metadata_runs.push(metadata::stat_fresh_tree(
            dir.path(),
            plan.n_dirs,
            plan.files_per_dir,
            repetition,
            drop_caches.clone(),
        )?);
    }
    timed("meminfo", &mut clock);
    bar.inc(1);
    bar.finish_and_clear();

    // Tables: nothing below measures, and nothing gives a verdict.
    let samples = std::mem::take(&mut lab.samples);
    let (agreement, unexplained) = analysis::fault_counter_agreement(&samples);
    let mut warnings = Vec::new();
    if unexplained > 0 {
        warnings.push(Warning::new(
            "fault-counters-disagree",
            format!("{unexplained} regions had different fault counts from perf and from getrusage with no known reason (see fault_counter_agreement)"),
            "rerun; if it persists, compare with `perf stat -e minor-faults,major-faults` on the same kernel",
        ));
    }
    if lab.n_state_failures > 0 {
        warnings.push(Warning::new(
            "file-not-warm",
            format!(
                "{} times the data file was not fully cached after reading it whole",
                lab.n_state_failures
            ),
            "free memory on the machine or use a smaller --size",
        ));
    }
    if lab.n_data_mismatches > 0 {
        warnings.push(Warning::new(
            "data-mismatch",
            format!(
                "{} touches read bytes that differ from the data file's pattern",
                lab.n_data_mismatches
            ),
            "report this: a mapping returned wrong data",
        ));
    }
    if let Some(reason) = meter.perf_unavailable() {
        warnings.push(Warning::new(
            "no-perf",
            reason,
            "lower /proc/sys/kernel/perf_event_paranoid (as root) or run as root",
        ));
    }
    let folio_rows = analysis::folio_size_rows(&samples);
    let folio_reason = samples
        .iter()
        .find_map(|s| s.get("folio_sizes_unavailable").and_then(Value::as_str));
    if let Some(reason) = folio_reason.filter(|_| folio_rows.is_empty()) {
        warnings.push(Warning::new(
            "folio-sizes-not-measured",
            format!("folio sizes were not read ({reason}), so the folio-sizes figure is left out"),
            "run as root: physical frames and /proc/kpageflags need CAP_SYS_ADMIN",
        ));
    }
    if !meter.missing_events.is_empty() {
        warnings.push(Warning::new(
            "missing-tracepoints",
            format!(
                "this kernel has no tracepoint {}",
                meter.missing_events.join(", ")
            ),
            "their counts are left out; the fault counts from perf and getrusage remain",
        ));
    }
    if drop_caches.is_ok() && !metadata_runs.is_empty() {
        warnings.push(Warning::new(
            "caches-dropped",
            format!(
                "the machine's clean page cache, dentries and inodes were dropped {} time(s) (drop_caches = 3) to measure metadata loading cold; other processes' caches were dropped too",
                metadata_runs.len()
            ),
            format!("leave {} unset to skip it (S3 then becomes not-measured)", metadata::DROP_CACHES_VARIABLE),
        ));
    }
    if let Some(change) = meminfo_changes.first() {
        let expected_kib = (plan.file_size_bytes / 1024) as f64;
        let off = meminfo_changes
            .iter()
            .filter(|c| {
                c.kib("Cached")
                    .is_some_and(|k| (k as f64 - expected_kib).abs() > 0.25 * expected_kib)
            })
            .count();
        if off > 0 {
            warnings.push(Warning::new(
                "meminfo-noise",
                format!(
                    "in {off} of {} cold reads, Cached changed by more than 25% off the file's {} KiB (first: {} KiB): other processes changed the machine-wide counters meanwhile",
                    meminfo_changes.len(),
                    expected_kib,
                    kib_text(change.kib("Cached"))
                ),
                "rerun on a quieter machine, or with --size 1g for a larger effect",
            ));
        }
    }

    if !context.quiet {
        print_tables(&plan, &samples, &meminfo_changes, &metadata_runs);
        let compared = agreement["n_samples_compared"].as_u64().unwrap_or(0);
        let agreeing = agreement["n_samples_agreeing"].as_u64().unwrap_or(0);
        println!(
            "  fault counters: perf and getrusage agree in {agreeing} of {compared} regions; {} differ for a known reason (faults taken inside mmap or madvise by MAP_POPULATE or MADV_POPULATE_READ: getrusage counts them, perf's software counters do not), {unexplained} for none",
            compared - agreeing - unexplained as u64,
        );
    }

    let pages_per_cell = residency
        .first()
        .and_then(|r| r["pages_per_cell"].as_u64())
        .unwrap_or(1) as usize;
    result
        .extra
        .insert("residency".into(), Value::Array(residency));
    result.extra.insert(
        "pages_per_fault".into(),
        Value::Array(analysis::pages_per_fault_rows(&samples)),
    );
    result
        .extra
        .insert("folio_sizes".into(), Value::Array(folio_rows.clone()));
    result.extra.insert(
        "cold_vs_warm".into(),
        Value::Array(analysis::cold_vs_warm_rows(&samples)),
    );
    result.extra.insert(
        "second_pass".into(),
        Value::Array(analysis::second_pass_rows(&samples)),
    );
    result.extra.insert(
        "meminfo_deltas".into(),
        Value::Array(meminfo_rows(&meminfo_changes, &metadata_runs)),
    );
    result.extra.insert(
        "metadata_runs".into(),
        Value::Array(metadata_runs.iter().map(metadata_run_row).collect()),
    );
    result
        .extra
        .insert("fault_counter_agreement".into(), agreement);
    result.extra.insert(
        "scenario_wall_ms".into(),
        durations
            .iter()
            .map(|(name, ms)| (name.to_string(), Value::from(ms.round())))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    );
    result.extra.insert(
        "touch_k".into(),
        Value::Array(figures::touch_k_rows(&samples)),
    );
    let facts = figures::FigureFacts::of(&samples, &result.env);
    result.summaries = analysis::summaries(&samples);
    result.samples = samples;
    result.warnings = warnings;
    result.figures = figures::all(n_pages, plan.file_size_bytes, pages_per_cell, &facts);
    if folio_rows.is_empty() {
        result.figures.retain(|f| f.id != "folio-sizes");
    }
    drop(lab);
    drop(dir);
    Ok(result.finish(started))
}

/// A meminfo change for a table: the KiB, or why there is none.
fn kib_text(kib: Option<i64>) -> String {
    kib.map_or("missing from /proc/meminfo".to_string(), |k| k.to_string())
}

/// One row of the `metadata_runs` table: whether the stat walk with the
/// metadata evicted was measured, and why not.
fn metadata_run_row(run: &metadata::MetadataMeasurement) -> Value {
    json!({
        "repetition": run.create.repetition,
        "n_files": run.n_files,
        "stat_measured": run.stat.is_ok(),
        "reason": run.stat.as_ref().err(),
    })
}

fn meminfo_rows(
    reads: &[metadata::MeminfoChange],
    metadata_runs: &[metadata::MetadataMeasurement],
) -> Vec<Value> {
    let mut changes: Vec<(&str, &metadata::MeminfoChange)> =
        reads.iter().map(|r| ("cold-read", r)).collect();
    for run in metadata_runs {
        changes.push(("create", &run.create));
        if let Ok(stat) = &run.stat {
            changes.push(("stat", stat));
        }
    }
    let mut rows = Vec::new();
    for (kind, change) in changes {
        for field in system::MEMINFO_FIELDS {
            rows.push(json!({
                "kind": kind,
                "action": change.action,
                "field": field,
                "delta_kib": change.kib(field),
                "delta_mib": change.kib(field).map(|k| k as f64 / 1024.0),
                "storage_read_bytes": change.storage_read_bytes,
                "elapsed_ns": change.elapsed_ns,
                "repetition": change.repetition,
            }));
        }
    }
    rows
}

fn print_tables(
    plan: &Plan,
    samples: &[Value],
    reads: &[metadata::MeminfoChange],
    metadata_runs: &[metadata::MetadataMeasurement],
) {
    println!(
        "  medians of {} repetition(s); faults = minor + major from getrusage; resident = in the page cache (mincore); mapped = in the page table (pagemap)",
        plan.n_repetitions
    );
    let steps = plan::pages_touched_steps((plan.file_size_bytes / page_size() as u64) as usize);
    let mut rows = Vec::new();
    for state in ["warm", "cold"] {
        for order in ["sequential", "strided", "random"] {
            for k in &steps {
                let case = format!("{order} k={k}");
                let s = select(
                    samples,
                    &[
                        ("scenario", "touch-k"),
                        ("file_state", state),
                        ("case", &case),
                        ("phase", "touch"),
                    ],
                );
                rows.push(vec![
                    format!("{state} {order}"),
                    k.to_string(),
                    cell(&s, "n_faults"),
                    cell(&s, "rusage_major_faults"),
                    cell(&s, "n_pages_resident_after"),
                    cell(&s, "n_pages_mapped_after"),
                    cell(&s, "pages_mapped_per_fault"),
                    cell(&s, "ns_per_touched_page"),
                    cell(&s, "storage_read_bytes"),
                ]);
            }
        }
    }
    analysis::print_table(
        "touch k pages of a fresh mapping",
        &[
            "file, order",
            "pages",
            "faults",
            "major",
            "resident",
            "mapped",
            "pages/fault",
            "ns/page",
            "read bytes",
        ],
        &rows,
    );

    let mut rows = Vec::new();
    for scenario in ["advice", "cold-vs-warm", "anonymous", "second-pass"] {
        let mut seen: Vec<(String, String, String)> = Vec::new();
        for s in select(samples, &[("scenario", scenario)]) {
            let key = (
                analysis::text(s, "case").to_string(),
                analysis::text(s, "file_state").to_string(),
                analysis::text(s, "phase").to_string(),
            );
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
        for (case, state, phase) in seen {
            let s = select(
                samples,
                &[
                    ("scenario", scenario),
                    ("case", &case),
                    ("file_state", &state),
                    ("phase", &phase),
                ],
            );
            // An mmap or madvise call that faulted and read nothing is one
            // system call and nothing else: left off the screen (not the file).
            let quiet_call = matches!(phase.as_str(), "mmap" | "madvise")
                && analysis::median_count(&s, "n_faults") == Some(0)
                && analysis::median_count(&s, "storage_read_bytes") == Some(0);
            if quiet_call {
                continue;
            }
            rows.push(vec![
                format!("{scenario}: {case} ({state})"),
                phase,
                cell(&s, "n_faults"),
                cell(&s, "perf_minor_faults"),
                cell(&s, "rusage_major_faults"),
                cell(&s, "perf_raw_syscalls_sys_enter"),
                cell(&s, "n_pages_mapped_after"),
                cell(&s, "pages_mapped_per_fault"),
                cell(&s, "storage_read_bytes"),
                cell(&s, "elapsed_ms"),
            ]);
        }
    }
    analysis::print_table(
        "full passes (mmap and madvise calls that took no fault and read nothing are left out)",
        &[
            "scenario: case (file)",
            "region",
            "faults",
            "perf minor",
            "major",
            "syscalls",
            "mapped",
            "pages/fault",
            "read bytes",
            "ms",
        ],
        &rows,
    );

    print_folio_table(samples);

    let mut rows = Vec::new();
    let mut changes: Vec<&metadata::MeminfoChange> = reads.iter().collect();
    for run in metadata_runs {
        changes.push(&run.create);
        match &run.stat {
            Ok(stat) => changes.push(stat),
            Err(reason) => rows.push(vec![format!(
                "stat, metadata evicted: not measured ({reason})"
            )]),
        }
    }
    for c in changes {
        rows.push(vec![
            c.action.clone(),
            kib_text(c.kib("Cached")),
            kib_text(c.kib("Buffers")),
            kib_text(c.kib("SReclaimable")),
            c.storage_read_bytes
                .map_or("-".to_string(), |b| b.to_string()),
        ]);
    }
    for row in &mut rows {
        row.resize(5, String::new());
    }
    analysis::print_table(
        "/proc/meminfo changes (KiB, machine-wide)",
        &["action", "Cached", "Buffers", "SReclaimable", "read bytes"],
        &rows,
    );
}

/// The folios scenario on screen: per page-cache state and advice, the
/// faults of a warm pass, pages per fault, FilePmdMapped, and the folio
/// sizes behind the mapping (first repetition, kpageflags, root only).
fn print_folio_table(samples: &[Value]) {
    let mut rows = Vec::new();
    for state in ["written", "read()", "split"] {
        for case in ["default", "MADV_NOHUGEPAGE"] {
            let s = select(
                samples,
                &[
                    ("scenario", "folios"),
                    ("case", case),
                    ("file_state", state),
                    ("phase", "touch"),
                ],
            );
            if s.is_empty() {
                continue;
            }
            let histogram = s
                .iter()
                .find(|x| x["repetition"] == 0)
                .and_then(|x| x.get("folio_histogram"))
                .and_then(Value::as_object)
                .map(|h| {
                    let mut sizes: Vec<(u64, u64)> = h
                        .iter()
                        .filter_map(|(pages, n)| Some((pages.parse().ok()?, n.as_u64()?)))
                        .collect();
                    sizes.sort_unstable();
                    sizes
                        .iter()
                        .map(|(pages, n)| format!("{pages}:{n}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| {
                    if case == "default" {
                        "-"
                    } else {
                        "(the same page cache)"
                    }
                    .to_string()
                });
            rows.push(vec![
                analysis::folio_state_label(state).to_string(),
                case.to_string(),
                cell(&s, "n_faults"),
                cell(&s, "perf_filemap_mm_filemap_map_pages"),
                cell(&s, "pages_mapped_per_fault"),
                cell(&s, "file_pmd_mapped_kib"),
                histogram,
            ]);
        }
    }
    analysis::print_table(
        "folios: a warm pass over the file as it entered the page cache (folios as pages:count, first repetition, kpageflags, root only)",
        &[
            "page cache state",
            "advice",
            "faults",
            "map_pages",
            "pages/fault",
            "FilePmdMapped kB",
            "folios (pages:count)",
        ],
        &rows,
    );
}
