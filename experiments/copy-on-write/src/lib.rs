//! Experiment `copy-on-write`: MAP_PRIVATE, fork, and which physical frame a
//! page really is. It follows one file page frame by frame through
//! MAP_SHARED (two processes), MAP_PRIVATE before and after a write, and a
//! read() buffer (S4); counts the faults, private dirty pages and new frames
//! of k private writes and checks that the file and every other view keep
//! the old bytes (S9); follows anonymous pages across fork(); measures the
//! memory cost of read() against mmap, the time of one fault of each kind and
//! the time of fork() against the parent's memory.
//!
//! Frame numbers need root (CAP_SYS_ADMIN); without it the frames are
//! `not-measured` and everything else still runs. On tmpfs the file cannot
//! be evicted: the memory split of S4 and the on-disk check of S9 are then
//! not measured (the evidence names tmpfs), and the frames still decide. This crate measures and
//! writes a result; it draws nothing (its figures are declared as data).

pub mod fault_cost;
pub mod figures;
pub mod folios;
pub mod fork_cow;
pub mod frames;
pub mod judge;
pub mod measure;
pub mod memory_cost;
pub mod os;
pub mod private_writes;

use std::time::Instant;

use anyhow::Context;
use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::stats::median;
use mmlab_core::{Experiment, ResultFile, RunContext, Summary, Warning, format_size};
use serde::Serialize;
use serde_json::{Value, json};

/// The experiment, for the `mmlab` registry.
pub const EXPERIMENT: &dyn Experiment = &CopyOnWrite;

#[derive(Debug)]
pub struct CopyOnWrite;

impl Experiment for CopyOnWrite {
    fn id(&self) -> &'static str {
        "copy-on-write"
    }

    fn question(&self) -> &'static str {
        "Which physical frame is a page really: when do MAP_PRIVATE and fork() copy it, and what does a copy cost?"
    }

    fn claims(&self) -> &'static [&'static str] {
        &["S4", "S9"]
    }

    fn measure(&self, context: &RunContext) -> anyhow::Result<ResultFile> {
        measure(context)
    }

    fn judge(&self, result: &ResultFile) -> Vec<mmlab_core::Claim> {
        judge::judge(result)
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// The numbers of pages written through MAP_PRIVATE: 1, 4, 16, ... up to n.
pub fn pages_written_steps(n: usize) -> Vec<usize> {
    let mut steps: Vec<usize> = std::iter::successors(Some(1usize), |k| Some(k * 4))
        .take_while(|k| *k < n)
        .collect();
    steps.push(n);
    steps
}

fn to_row(scenario: &str, value: &impl Serialize) -> Value {
    let mut row = serde_json::to_value(value).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut row {
        map.insert("scenario".into(), scenario.into());
    }
    row
}

/// Measures everything and writes params, samples, tables, summaries,
/// warnings and figures; the verdicts are [`judge::judge`]'s, from the file.
pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let page = os::page_size() as u64;
    let size_bytes = context
        .size(16 << 20, 64 << 20)
        .max(16 * page)
        .div_ceil(page)
        * page;
    let n_pages = (size_bytes / page) as usize;
    let repetitions = context.repetitions(5, 15).max(1);
    let memory_repetitions = repetitions.min(3);
    let ks = pages_written_steps(n_pages);
    let fork_sizes: Vec<u64> = match context.profile {
        mmlab_core::Profile::Quick => vec![0, 16 << 20, 64 << 20, 256 << 20],
        mmlab_core::Profile::Full => vec![0, 64 << 20, 256 << 20, 1 << 30],
    };
    let is_root = mmlab_core::fingerprint::is_root();

    context.print_param("file_size", format_size(size_bytes));
    context.print_param("pages", n_pages);
    context.print_param("repetitions", repetitions);
    context.print_param("memory-cost repetitions", memory_repetitions);
    context.print_param(
        "pages written through MAP_PRIVATE (k)",
        ks.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    context.print_param(
        "fork parent sizes",
        fork_sizes
            .iter()
            .map(|s| format_size(*s))
            .collect::<Vec<_>>()
            .join(", "),
    );
    context.print_param("root (physical frames readable)", is_root);

    let dir = context.data_dir()?;
    let mut result = context.new_result("copy-on-write", dir.path());
    // On tmpfs nothing can be evicted: said in the warnings of what needed
    // eviction, from the fingerprint (the judge reads the same fingerprint).
    let why_not_evicted =
        mmlab_core::datafile::why_nothing_is_evicted(&result.env.data_dir_fs, &result.env.data_dir);
    result.param("file_size_bytes", size_bytes);
    result.param("n_pages", n_pages);
    result.param("page_size_bytes", page);
    result.param("repetitions", repetitions);
    result.param("memory_cost_repetitions", memory_repetitions);
    result.param("pages_written_steps", json!(ks));
    result.param("fork_parent_anon_bytes", json!(fork_sizes));
    result.figures = figures::figures();

    let meter = measure::Meter::open()?;
    result.counters_available = meter.availability();

    let total_steps =
        1 + 4 * memory_repetitions + ks.len() * repetitions + 3 + fork_sizes.len() + repetitions;
    let progress = context.progress(total_steps as u64, "copy-on-write");

    // Frames of one file page.
    progress.set_message("frames");
    let frames_file = dir.create_file("frames", 16 * page)?;
    let frames = frames::measure_frames(&frames_file)?;
    progress.inc(1);

    // Memory cost of read() against mmap.
    let file = dir.create_file("data", size_bytes)?;
    let mut memory = Vec::new();
    for repetition in 0..memory_repetitions {
        progress.set_message("memory cost");
        memory.push(memory_cost::measure_read(&file, repetition)?);
        progress.inc(1);
        memory.push(memory_cost::measure_read_streaming(&file, repetition)?);
        progress.inc(1);
        memory.push(memory_cost::measure_mmap(&file, repetition)?);
        progress.inc(1);
        memory.push(memory_cost::measure_mmap_two_processes(&file, repetition)?);
        progress.inc(1);
    }

    // k pages written through MAP_PRIVATE.
    progress.set_message("private writes");
    let shared = os::map_shared_read(&file)?;
    os::read_every_page(&shared);
    // The folios the pre-read of every private mapping meets (the page
    // cache as the last memory-cost path left it): with the fault-around
    // window they explain the pre-read's fault count.
    let mut folio_rows = vec![
        frames.folios.clone(),
        folios::of_mapping("data", MOMENT_FOLIOS_PRE_READ, &shared),
    ];
    let mut writes = Vec::new();
    for repetition in 0..repetitions {
        for &k in &ks {
            writes.push(private_writes::write_k_pages(
                &meter, &file, &shared, k, repetition,
            )?);
            progress.inc(1);
        }
    }
    let k_max = ks.last().copied().unwrap_or(0);
    let other_process = private_writes::other_process_sees_file(&file, k_max)?;
    drop(shared);
    let file_unchanged_on_disk = private_writes::file_unchanged_on_disk(&file)?;
    progress.inc(1);
    let visibility_file = dir.create_file("visibility", 4 * page)?;
    let visibility = private_writes::measure_visibility(&visibility_file)?;
    progress.inc(1);

    // fork().
    progress.set_message("fork");
    let fork = fork_cow::measure_fork_frames()?;
    progress.inc(1);
    let mut fork_costs = Vec::new();
    for &size in &fork_sizes {
        fork_costs.extend(fork_cow::measure_fork_cost(size, repetitions)?);
        progress.inc(1);
    }

    // What one fault costs (the file is warm again first).
    progress.set_message("fault cost");
    std::fs::read(&file.path).with_context(|| format!("read {}", file.path.display()))?;
    {
        let warm = os::map_shared_read(&file)?;
        os::read_every_page(&warm);
        folio_rows.push(folios::of_mapping("data", MOMENT_FOLIOS_FAULT_COST, &warm));
    }
    let fault_around = folios::fault_around();
    let mut fault_costs = Vec::new();
    for repetition in 0..repetitions {
        fault_costs.extend(fault_cost::measure_fault_costs(&meter, &file, repetition)?);
        progress.inc(1);
    }
    progress.finish_and_clear();

    // Samples, tables and summaries.
    result
        .samples
        .extend(writes.iter().map(|w| to_row("private-writes", w)));
    result
        .samples
        .extend(memory.iter().map(|m| to_row("memory-cost", m)));
    result.samples.extend(fork_costs.iter().map(|f| {
        let mut row = to_row("fork-cost", f);
        if let Value::Object(map) = &mut row {
            map.insert("fork_us".into(), json!(f.fork_ns as f64 / 1000.0));
            map.insert(
                "parent_anon_mib".into(),
                json!(f.parent_anon_bytes as f64 / MIB),
            );
        }
        row
    }));
    result
        .samples
        .extend(fault_costs.iter().map(|c| to_row("fault-cost", c)));

    result.extra.insert("frames".into(), json!(frames.rows));
    result.extra.insert("fork_frames".into(), json!(fork.rows));
    result.extra.insert("fork".into(), json!(fork));
    result.extra.insert("visibility".into(), json!(visibility));
    result
        .extra
        .insert("page_cache_folios".into(), json!(folio_rows));
    result
        .extra
        .insert("fault_around".into(), json!(fault_around));
    result.extra.insert(
        "checks".into(),
        json!({
            "frames_file_unchanged_after_private_write": frames.file_bytes_unchanged,
            "frames_file_unchanged_on_disk": frames.file_bytes_unchanged_on_disk,
            "frames_private_write_faults": frames.private_write_faults,
            "data_file_unchanged_on_disk_after_private_writes": file_unchanged_on_disk,
            "second_process_written_pages_unchanged": other_process.0,
            "second_process_written_pages_checked": other_process.1,
            "frames_unreadable": frames.frames_unreadable,
        }),
    );
    let mut curve = Vec::new();
    for w in &writes {
        for (measure, count) in [
            ("faults while writing", w.n_faults_write as i64),
            (
                "Private_Dirty growth (pages)",
                w.n_pages_private_dirty_growth,
            ),
            (
                "faults while pre-reading every page",
                w.n_faults_prefault_read as i64,
            ),
        ] {
            curve.push(json!({
                "n_pages_written": w.n_pages_written,
                "repetition": w.repetition,
                "measure": measure,
                "count": count,
            }));
        }
    }
    result
        .extra
        .insert("private_writes_curve".into(), json!(curve));
    let mut memory_rows = Vec::new();
    for m in &memory {
        for (component, bytes) in [
            ("page cache (mincore)", m.page_cache_growth_bytes as f64),
            ("RssAnon growth", m.rss_anon_growth_bytes as f64),
            ("RssFile growth", m.rss_file_growth_bytes as f64),
            ("Pss of the buffer or mapping", m.mapping_pss_bytes as f64),
        ] {
            memory_rows.push(json!({
                "path": m.path,
                "repetition": m.repetition,
                "component": component,
                "mib": bytes / MIB,
            }));
        }
    }
    result.extra.insert("memory".into(), json!(memory_rows));

    for fault_type in fault_cost::FAULT_TYPES {
        let values: Vec<f64> = fault_costs
            .iter()
            .filter(|c| c.fault_type == fault_type)
            .map(|c| c.ns_per_fault)
            .collect();
        result
            .summaries
            .extend(Summary::of(fault_type, "ns_per_fault", &values));
    }
    for &size in &fork_sizes {
        let values: Vec<f64> = fork_costs
            .iter()
            .filter(|f| f.parent_anon_bytes == size)
            .map(|f| f.fork_ns as f64)
            .collect();
        result.summaries.extend(Summary::of(
            format!("fork with {} written", format_size(size)),
            "fork_ns",
            &values,
        ));
    }
    for &k in &ks {
        let values: Vec<f64> = writes
            .iter()
            .filter(|w| w.n_pages_written == k)
            .map(|w| w.n_faults_write as f64)
            .collect();
        result.summaries.extend(Summary::of(
            format!("MAP_PRIVATE write of {k} pages"),
            "n_faults_write",
            &values,
        ));
    }
    for path in memory_cost::PATHS {
        let values: Vec<f64> = memory
            .iter()
            .filter(|m| m.path == path)
            .map(|m| m.physical_copies)
            .collect();
        result
            .summaries
            .extend(Summary::of(path, "physical_copies", &values));
    }

    // Warnings.
    if let Some(reason) = frames
        .frames_unreadable
        .as_ref()
        .or(fork.frames_unreadable.as_ref())
    {
        result.warnings.push(Warning::new(
            "frames-not-measured",
            format!("physical frame numbers: {reason}"),
            "run as root (sudo mmlab run copy-on-write): /proc/<pid>/pagemap shows frame numbers only with CAP_SYS_ADMIN",
        ));
    }
    if memory.iter().any(|m| m.page_cache_before_bytes > 0) {
        result.warnings.push(match &why_not_evicted {
            Some(why) => Warning::new(
                "eviction-incomplete",
                format!(
                    "the memory-cost paths could not start from an evicted file: {why}, so S4's memory split (page cache against anonymous memory) was not measured"
                ),
                DISK_DATA_DIR,
            ),
            None => Warning::new(
                "eviction-incomplete",
                "some memory-cost paths did not start from a fully evicted file, so their page-cache growth is smaller than the file",
                "run again when the machine is less busy; another process may have the file mapped",
            ),
        });
    }
    if file_unchanged_on_disk.is_none() {
        result.warnings.push(match &why_not_evicted {
            Some(why) => Warning::new(
                "eviction-incomplete",
                format!(
                    "the data file could not be evicted: {why}, so 'unchanged on disk' was checked in memory only"
                ),
                DISK_DATA_DIR,
            ),
            None => Warning::new(
                "eviction-incomplete",
                "the data file could not be evicted, so 'unchanged on disk' was checked in the page cache only",
                "run again; nothing else should map the run's data file",
            ),
        });
    }

    if !context.quiet {
        print_summary(
            &Printed {
                frames: &frames,
                fork: &fork,
                writes: &writes,
                memory: &memory,
                fault_costs: &fault_costs,
                fork_costs: &fork_costs,
                folios: &folio_rows,
                fault_around: &fault_around,
            },
            page,
        );
    }
    Ok(result.finish(started))
}

/// The moments at which the data file's folios are recorded.
pub const MOMENT_FOLIOS_PRE_READ: &str = "private-writes pre-read";
pub const MOMENT_FOLIOS_FAULT_COST: &str = "fault-cost, after read() warmed the file";

/// What the printed summary shows.
struct Printed<'a> {
    frames: &'a frames::FramesReport,
    fork: &'a fork_cow::ForkReport,
    writes: &'a [private_writes::WritePoint],
    memory: &'a [memory_cost::MemoryPoint],
    fault_costs: &'a [fault_cost::FaultCost],
    fork_costs: &'a [fork_cow::ForkCost],
    folios: &'a [folios::FolioRow],
    fault_around: &'a folios::FaultAround,
}

fn print_summary(p: &Printed<'_>, page: u64) {
    let Printed {
        frames,
        fork,
        writes,
        memory,
        fault_costs,
        fork_costs,
        folios,
        fault_around,
    } = p;
    println!("  frames of the file's page 0 (PFN from pagemap; * = the page-cache frame):");
    println!(
        "    {:<28} {:>18} {:>18}  kpageflags after",
        "view", "before write", "after write"
    );
    for view in [
        frames::VIEW_SHARED_HERE,
        frames::VIEW_SHARED_CHILD,
        frames::VIEW_PRIVATE,
        frames::VIEW_READ_BUFFER,
    ] {
        let cell = |moment| {
            frames.row(view, moment).map_or(String::new(), |r| {
                let mark = if r.same_as_page_cache == Some(true) {
                    "*"
                } else {
                    ""
                };
                format!("{}{mark}", r.pfn)
            })
        };
        let flags = frames
            .row(view, frames::MOMENT_AFTER)
            .and_then(|r| r.kpageflags.clone())
            .unwrap_or_default();
        println!(
            "    {view:<28} {:>18} {:>18}  {flags}",
            cell(frames::MOMENT_BEFORE),
            cell(frames::MOMENT_AFTER)
        );
    }
    println!(
        "  fork: the child's write took {} fault(s), the parent's {}; after the child ended, a write faulted in {} of {} repetitions and kept its frame in {}",
        fork.child_write_faults,
        fork.parent_write_faults,
        fork.reuse.n_write_faulted,
        fork.reuse.n_repetitions,
        if fork.reuse.n_measured == 0 {
            fork.reuse.describe()
        } else {
            format!("{} of {}", fork.reuse.n_kept, fork.reuse.n_measured)
        }
    );
    let mut ks: Vec<usize> = writes.iter().map(|w| w.n_pages_written).collect();
    ks.dedup();
    ks.sort_unstable();
    ks.dedup();
    let faults: Vec<String> = ks
        .iter()
        .map(|&k| {
            let values: Vec<f64> = writes
                .iter()
                .filter(|w| w.n_pages_written == k)
                .map(|w| w.n_faults_write as f64)
                .collect();
            format!("{k}->{:.0}", median(&values).unwrap_or(f64::NAN))
        })
        .collect();
    println!(
        "  MAP_PRIVATE pages written -> write faults (median): {}",
        faults.join(", ")
    );
    let pre_read: Vec<f64> = writes
        .iter()
        .map(|w| w.n_faults_prefault_read as f64)
        .collect();
    let n_pages = writes.first().map_or(0, |w| w.n_pages_file) as u64;
    let window_pages = fault_around.bytes / page.max(1);
    println!(
        "  pre-read of each MAP_PRIVATE mapping: {:.0} faults (median) for {n_pages} pages; {}",
        median(&pre_read).unwrap_or(f64::NAN),
        fault_around.describe()
    );
    for row in folios.iter() {
        let expected = match folios::read_faults_one_per_window_or_folio(
            row.folio_histogram.as_ref(),
            window_pages,
        ) {
            Some(n) if row.file == "data" => format!(
                "; one fault per {window_pages}-page window or per larger folio would be {n} faults"
            ),
            _ => String::new(),
        };
        println!(
            "  page-cache folios, {} file, {}: {}{expected}",
            row.file,
            row.moment,
            row.describe()
        );
    }
    for path in memory_cost::PATHS {
        let of_path: Vec<&memory_cost::MemoryPoint> =
            memory.iter().filter(|m| m.path == path).collect();
        if let Some(m) = of_path.first() {
            println!(
                "  memory, {path}: page cache {}, RssAnon {}, RssFile {}, mapping Pss {}",
                signed_size(m.page_cache_growth_bytes),
                signed_size(m.rss_anon_growth_bytes),
                signed_size(m.rss_file_growth_bytes),
                format_size(m.mapping_pss_bytes)
            );
        }
    }
    for fault_type in fault_cost::FAULT_TYPES {
        let of_type: Vec<&fault_cost::FaultCost> = fault_costs
            .iter()
            .filter(|c| c.fault_type == fault_type)
            .collect();
        let ns: Vec<f64> = of_type.iter().map(|c| c.ns_per_fault).collect();
        let pages: Vec<f64> = of_type.iter().map(|c| c.pages_per_fault).collect();
        let kept: Vec<String> = of_type
            .iter()
            .filter_map(|c| {
                c.n_pages_frame_kept
                    .map(|k| format!("{k} of {}", c.n_pages))
            })
            .collect();
        println!(
            "  fault cost, {fault_type}: {:.0} ns per fault ({:.1} pages per fault){}",
            median(&ns).unwrap_or(f64::NAN),
            median(&pages).unwrap_or(f64::NAN),
            if kept.is_empty() {
                String::new()
            } else {
                format!("; frames kept per repetition: {}", kept.join(", "))
            }
        );
    }
    let mut sizes: Vec<u64> = fork_costs.iter().map(|f| f.parent_anon_bytes).collect();
    sizes.dedup();
    let forks: Vec<String> = sizes
        .iter()
        .map(|&s| {
            let values: Vec<f64> = fork_costs
                .iter()
                .filter(|f| f.parent_anon_bytes == s)
                .map(|f| f.fork_ns as f64 / 1000.0)
                .collect();
            format!(
                "{}: {:.0} us",
                format_size(s),
                median(&values).unwrap_or(f64::NAN)
            )
        })
        .collect();
    println!(
        "  fork() time by parent memory (median): {}",
        forks.join(", ")
    );
}

/// `+16 MiB`, `-4 KiB`: a growth as measured, sign kept.
fn signed_size(bytes: i64) -> String {
    let sign = if bytes < 0 { "-" } else { "+" };
    format!("{sign}{}", format_size(bytes.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_written_steps_go_by_four_up_to_n() {
        assert_eq!(pages_written_steps(4096), [1, 4, 16, 64, 256, 1024, 4096]);
        assert_eq!(pages_written_steps(100), [1, 4, 16, 64, 100]);
        assert_eq!(pages_written_steps(1), [1]);
    }

    #[test]
    fn spread_pages_are_distinct_and_in_range() {
        let pages: Vec<usize> = os::spread_pages(3, 10).collect();
        assert_eq!(pages, [0, 3, 6]);
        assert_eq!(os::spread_pages(10, 10).count(), 10);
        assert_eq!(os::spread_pages(20, 10).count(), 10);
        assert_eq!(os::spread_pages(0, 10).count(), 0);
    }
}
