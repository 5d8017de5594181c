//! Experiment `writeback`: when does a write through a MAP_SHARED mapping
//! reach storage, what do msync and its neighbours do, and why does a
//! shared write trap into the kernel again after writeback (claims S10 and
//! S15)?
//!
//! - Timeline (root, a scratch filesystem the lab can read the storage of:
//!   `mmlab_core::scratch`, ext4 unless `--filesystems` says otherwise):
//!   k pages written through MAP_SHARED, then chains of calls (msync
//!   MS_ASYNC and MS_SYNC; munmap, close, fsync of another descriptor;
//!   syncfs; no call at all, polled up to a bound; MAP_PRIVATE and every
//!   flush), each page's bytes in the page cache, its dirty flag and its
//!   bytes on storage after each call (`timeline`).
//! - Fault passes (any user, on the data folder and on each scratch
//!   filesystem): write, write again, msync(MS_SYNC), read, write again,
//!   for MAP_SHARED, MAP_PRIVATE and anonymous memory, counted with the
//!   fault tracepoint and getrusage (`passes`).
//! - Costs: ns per write fault on a clean shared page, after msync, a
//!   copy-on-write and a zero-fill fault, interleaved; msync(MS_SYNC)'s
//!   time against the number of dirty pages.

pub mod judge;
pub mod passes;
pub mod timeline;

use std::time::{Duration, Instant};

use anyhow::Context;
use mmlab_core::scratch::{FsKind, ScratchFs};
use mmlab_core::{
    Axis, Experiment, FigureKind, FigureSpec, ResultFile, RunContext, Warning, format_size,
};
use serde_json::{Value, json};

use crate::passes::Target;

pub const ID: &str = "writeback";
pub const CLAIMS: &[&str] = &["S10", "S15"];
pub const EXPERIMENT: &dyn Experiment = &Writeback;

/// The data file's byte before the first chain.
pub const INITIAL_BYTE: u8 = 0x01;

/// The name of the data folder's target in the tables.
pub const DATA_FOLDER: &str = "data folder";

/// The vm sysctls that decide when the kernel writes dirty pages back
/// (read, never changed).
pub const SYSCTLS: [&str; 6] = [
    "dirty_expire_centisecs",
    "dirty_writeback_centisecs",
    "dirty_background_ratio",
    "dirty_ratio",
    "dirty_background_bytes",
    "dirty_bytes",
];

#[derive(Debug)]
pub struct Writeback;

impl Experiment for Writeback {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "When does a MAP_SHARED write reach storage, what does msync do, and why do shared writes trap again after writeback?"
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

/// The kinds to make: `--filesystems`, else ext4.
pub fn kinds_of(context: &RunContext) -> anyhow::Result<Vec<FsKind>> {
    match &context.filesystems {
        None => Ok(vec![FsKind::Ext4]),
        Some(names) => names
            .iter()
            .map(|n| FsKind::parse(n).map_err(|e| anyhow::anyhow!("--filesystems: {e}")))
            .collect(),
    }
}

/// A vm sysctl's value, read from /proc/sys/vm (never written).
pub fn vm_sysctl(name: &str) -> Result<u64, String> {
    let path = format!("/proc/sys/vm/{name}");
    std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))
}

/// The msync sizes: powers of 4 up to the file's pages (quick: every
/// second one), and the whole file.
fn msync_sizes(file_pages: u64, quick: bool) -> Vec<u64> {
    let mut sizes: Vec<u64> = std::iter::successors(Some(1u64), |k| Some(k * 4))
        .take_while(|&k| k < file_pages)
        .collect();
    if quick {
        sizes = sizes.into_iter().step_by(2).collect();
    }
    sizes.push(file_pages);
    sizes.dedup();
    sizes
}

pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let page = mmlab_core::fingerprint::page_size();
    let quick = context.profile == mmlab_core::Profile::Quick;
    let kinds = kinds_of(context)?;
    // At least 16 pages (the timeline's k), whole pages.
    let file_bytes = context
        .size(16 << 20, 64 << 20)
        .max(64 * page as u64)
        .div_ceil(page as u64)
        * page as u64;
    let file_pages = file_bytes / page as u64;
    let k = if quick { 16 } else { 64 };
    let pages = timeline::spread(file_pages, k);
    let repetitions = context.repetitions(3, 10).max(1);
    let sysctls: serde_json::Map<String, Value> = SYSCTLS
        .iter()
        .map(|name| {
            (
                name.to_string(),
                vm_sysctl(name).map_or_else(|e| json!(e), |v| json!(v)),
            )
        })
        .collect();
    let centisecs = |name: &str| sysctls.get(name).and_then(Value::as_u64);
    let expire = centisecs("dirty_expire_centisecs");
    let interval = centisecs("dirty_writeback_centisecs");
    let poll_bound = match context.profile {
        mmlab_core::Profile::Quick => Duration::from_secs(4),
        mmlab_core::Profile::Full => Duration::from_millis(
            10 * (expire.unwrap_or(3000) + 2 * interval.unwrap_or(500)).max(100),
        ),
    };
    let poll_interval = Duration::from_millis(if quick { 250 } else { 1000 });
    let sizes = msync_sizes(file_pages, quick);
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();

    context.print_param("scratch filesystems", names.join(", "));
    context.print_param(
        "data file",
        format!("{} ({file_pages} pages)", format_size(file_bytes)),
    );
    context.print_param("pages written in the timeline", pages.len());
    context.print_param(
        "vm.dirty_expire_centisecs / vm.dirty_writeback_centisecs",
        format!(
            "{} / {} (read, not changed)",
            expire.map_or("unknown".into(), |v| v.to_string()),
            interval.map_or("unknown".into(), |v| v.to_string())
        ),
    );
    context.print_param(
        "wait for writeback without a call",
        format!(
            "up to {:.1} s, polled every {} ms",
            poll_bound.as_secs_f64(),
            poll_interval.as_millis()
        ),
    );
    context.print_param("repetitions (fault passes, costs, msync)", repetitions);
    context.print_param(
        "msync dirty pages",
        sizes
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );

    let dir = context.data_dir()?;
    let mut result = context.new_result(ID, dir.path());
    result.param("filesystems", json!(names));
    result.param("page_size_bytes", page);
    result.param("data_file_bytes", file_bytes);
    result.param("data_file_pages", file_pages);
    result.param("timeline_pages", json!(pages));
    result.param("timeline_k_pages", pages.len());
    result.param("vm_sysctls", Value::Object(sysctls.clone()));
    result.param("poll_bound_s", poll_bound.as_secs_f64());
    result.param("poll_interval_ms", poll_interval.as_millis() as u64);
    result.param("repetitions", repetitions);
    result.param("msync_dirty_pages", json!(sizes));
    result.param("initial_byte", INITIAL_BYTE);

    let meter = passes::Meter::open()?;
    result.counters_available = meter.availability();

    let progress = context.progress((kinds.len() * 2 + 2) as u64, ID);
    let mut filesystems = Vec::new();
    let mut rows = Vec::new();
    let mut poll = Vec::new();
    let mut fault_rows = Vec::new();
    let mut cost_rows = Vec::new();
    let mut msync_rows = Vec::new();
    let mut targets_done = Vec::new();

    // The data folder: fault passes, costs and msync on any machine.
    progress.set_message("data folder: passes");
    let data = dir
        .create_file("writeback.bin", file_bytes)
        .context("the data folder's file")?;
    let data_fs = result.env.data_dir_fs.clone();
    let target = Target {
        name: format!("{DATA_FOLDER} ({data_fs})"),
        file: data.path.clone(),
    };
    std::hint::black_box(std::fs::read(&target.file).context("read the data file")?);
    fault_rows.extend(passes::fault_passes(&meter, &target, page, repetitions)?);
    cost_rows.extend(passes::fault_costs(&target, page, repetitions)?);
    msync_rows.extend(passes::msync_times(&target, page, &sizes, repetitions)?);
    targets_done.push(target.name.clone());
    drop(data);
    progress.inc(2);

    for kind in kinds {
        mmlab_core::cleanup::checkpoint();
        progress.set_message(format!("{kind}: making it"));
        let scratch_bytes = (file_bytes * 2 + (64 << 20)).max(kind.min_size_bytes());
        let fs = match ScratchFs::create(kind, dir.path(), scratch_bytes) {
            Ok(fs) => fs,
            Err(why) => {
                result.warnings.push(Warning::new(
                    "filesystem-unavailable",
                    format!(
                        "no scratch {kind} was made: {why}; what reaches storage and the pages' dirty flags are not measured there"
                    ),
                    "run as root on a machine with loop devices (and the kind's mkfs)",
                ));
                filesystems.push(json!({"filesystem": kind.name(), "made": false, "reason": why}));
                progress.inc(2);
                continue;
            }
        };
        let mut row = fs.describe();
        row["filesystem"] = json!(kind.name());
        row["made"] = json!(true);
        filesystems.push(row);
        let path = fs.root().join("writeback.bin");
        timeline::prepare(&path, file_bytes, INITIAL_BYTE)
            .with_context(|| format!("preparing the scratch {kind}"))?;
        progress.set_message(format!("{kind}: timeline"));
        let plan = timeline::TimelinePlan {
            page,
            file_pages,
            pages: pages.clone(),
            poll_bound,
            poll_interval,
        };
        let found = timeline::run(&fs, &path, &plan, INITIAL_BYTE)
            .with_context(|| format!("the timeline on the scratch {kind}"))?;
        rows.extend(found.rows);
        poll.extend(found.poll);
        progress.inc(1);
        progress.set_message(format!("{kind}: passes"));
        let target = Target {
            name: format!("scratch {kind}"),
            file: path,
        };
        fault_rows.extend(passes::fault_passes(&meter, &target, page, repetitions)?);
        cost_rows.extend(passes::fault_costs(&target, page, repetitions)?);
        msync_rows.extend(passes::msync_times(&target, page, &sizes, repetitions)?);
        targets_done.push(target.name.clone());
        progress.inc(1);
    }
    progress.finish_and_clear();

    result
        .extra
        .insert("filesystems".into(), json!(filesystems));
    result
        .extra
        .insert("timeline_states".into(), json!(timeline::states(&rows)));
    result.extra.insert("timeline".into(), json!(rows));
    result.extra.insert("poll".into(), json!(poll));
    result
        .extra
        .insert("fault_passes".into(), json!(fault_rows));
    result.extra.insert("fault_costs".into(), json!(cost_rows));
    result.extra.insert("msync_times".into(), json!(msync_rows));
    let made: Vec<String> = filesystems
        .iter()
        .filter(|f| f["made"] == true)
        .filter_map(|f| f["filesystem"].as_str().map(String::from))
        .collect();
    result.figures = figures(&made, &targets_done);
    Ok(result.finish(started))
}

fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The figures: one timeline per scratch filesystem made, one fault-pass
/// figure per target, the fault costs and msync's time.
pub fn figures(filesystems: &[String], targets: &[String]) -> Vec<FigureSpec> {
    let mut out = Vec::new();
    for fs in filesystems {
        let mut timeline = FigureSpec::new(
            &format!("timeline-{fs}"),
            &format!("On the scratch {fs}: where are the written pages after each call?"),
            FigureKind::Bar,
            "timeline_states",
            Axis::new("moment", "chain and moment (A-E: one chain of calls each)"),
            Axis::new("pages", "written pages in that state"),
        );
        timeline.filter.insert("filesystem".into(), json!(fs));
        timeline.series = Some("state".into());
        timeline.claims = vec!["S10".into()];
        timeline.how_to_read = "Each chain (A to E) writes a new byte over the same pages through a fresh mapping, then makes its calls; after each call, three counts of those pages: their new bytes in the page cache (pread), their frames' DIRTY flag (kpageflags, root), their new bytes in the filesystem's image on storage (read with O_DIRECT past every cache, nothing written back first). Where the storage bar is missing at full height, storage still held the old bytes. D makes no call and waits up to the run's bound (poll_bound_s); its last bar is the moment the bytes reached storage or the bound. E writes through MAP_PRIVATE: its pages are copies and never reach the file.".into();
        out.push(timeline);
    }
    for target in targets {
        let mut faults = FigureSpec::new(
            &format!("faults-{}", slug(target)),
            &format!("On the {target}: faults per write pass, before and after msync(MS_SYNC)"),
            FigureKind::Bar,
            "fault_passes",
            Axis::new("pass", "pass (one byte per page)"),
            Axis::new("faults", "faults in the pass (median of repetitions)"),
        );
        faults.filter.insert("target".into(), json!(target));
        faults.series = Some("mapping".into());
        faults.claims = vec!["S15".into()];
        faults.how_to_read = "A fresh mapping of the cached, clean file (or fresh anonymous memory) written one byte per page, then written again, then msync(MS_SYNC) (for MAP_PRIVATE also fsync), a read pass, and a third write pass. Faults from the exceptions:page_fault_user tracepoint (getrusage where it cannot be counted; both are in fault_passes). A shared page written back is write-protected again, so its next write faults; a private copy or an anonymous page has nothing to write back and never faults again.".into();
        out.push(faults);
    }
    let mut cost = FigureSpec::new(
        "fault-cost",
        "What does one write fault cost, by kind?",
        FigureKind::Bar,
        "fault_costs",
        Axis::new("fault_type", "kind of fault"),
        Axis::new("ns_per_fault", "ns per fault (median of repetitions)"),
    );
    cost.series = Some("target".into());
    cost.claims = vec!["S15".into()];
    cost.how_to_read = "One timed write pass, no counter open, divided by the faults getrusage counted in it; the four kinds interleaved in each repetition. The shared faults mark the page dirty and tell the filesystem (its page_mkwrite); the copy-on-write fault allocates a page and copies 4 KiB; the zero-fill fault allocates and clears one. Anonymous memory has no file: its bars differ between targets only by chance.".into();
    let mut msync = FigureSpec::new(
        "msync-time",
        "How long does msync(MS_SYNC) take, by the number of dirty pages?",
        FigureKind::Line,
        "msync_times",
        Axis::log(
            "dirty_pages",
            "dirty pages (contiguous, from the file's start; log)",
        ),
        Axis::log("ms", "msync(MS_SYNC) time (ms, median; log)"),
    );
    msync.series = Some("target".into());
    msync.claims = vec!["S10".into()];
    msync.how_to_read = "The first k pages of the mapping written, then msync(MS_SYNC) over the whole mapping, timed. It returns when the pages are on the device and the filesystem has committed what it needs (a journal commit on ext4 and a cache flush of the device): a scratch filesystem's device is a loop device over an image file, whose own flushes go to the host's disk.".into();
    out.push(cost);
    out.push(msync);
    out
}
