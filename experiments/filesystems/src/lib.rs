//! Experiment `filesystems`: where does each filesystem keep file data and
//! metadata (claim S3), and how does a full mmap pass fault on each?
//!
//! The lab makes its own filesystems (`mmlab_core::scratch`: ext4, xfs and
//! btrfs on a loop device, and tmpfs), each mounted where only the lab sees
//! it, so it can make one of them cold (unmount and mount again) without
//! touching any other process's caches, and count exactly what an action
//! cached: the data file's own pages (mincore on the file) and the pages
//! of the filesystem's block device (mincore on the loop device: the
//! buffer cache of this filesystem alone). /proc/meminfo's machine-wide
//! `Cached`, `Buffers`, `SReclaimable` and `Shmem` are recorded beside them.
//!
//! Per filesystem and repetition: (a) read the data file with read() from
//! cold; (b) walk a tree of small files from cold, statting each (no file
//! data read); (c) two mmap passes (right after a fresh mount, and again) over the data file, one byte
//! per page, with the faults and the folio sizes met.

pub mod judge;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::time::Instant;

use anyhow::Context;
use mmlab_core::pages::{Rusage, file_resident_pages, folio_sizes};
use mmlab_core::scratch::{FsKind, ScratchFs};
use mmlab_core::{
    Axis, Experiment, FigureKind, FigureSpec, ResultFile, RunContext, Summary, Warning, format_size,
};
use serde_json::{Value, json};

pub const ID: &str = "filesystems";
pub const CLAIMS: &[&str] = &["S3"];
pub const EXPERIMENT: &dyn Experiment = &Filesystems;

/// The two mmap passes: the first right after a fresh mount (cold; tmpfs
/// cannot be made cold, its pages are the file), the second over the same
/// file once cached.
pub const PASS_FIRST: &str = "first pass (after mount)";
pub const PASS_SECOND: &str = "second pass";

/// The two cache-filling actions, as the tables name them.
pub const ACTION_READ: &str = "read file data";
pub const ACTION_WALK: &str = "walk metadata";

#[derive(Debug)]
pub struct Filesystems;

impl Experiment for Filesystems {
    fn id(&self) -> &'static str {
        ID
    }

    fn question(&self) -> &'static str {
        "Where does each filesystem keep file data and metadata, and how does a full mmap pass fault on each?"
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

/// The kinds to measure: `--filesystems`, else ext4 and tmpfs, and xfs and
/// btrfs where their mkfs is installed (asked for by name, a kind that
/// cannot be made is reported with the reason).
pub fn kinds_of(context: &RunContext) -> anyhow::Result<Vec<FsKind>> {
    match &context.filesystems {
        None => Ok(FsKind::ALL
            .into_iter()
            .filter(|k| {
                matches!(k, FsKind::Ext4 | FsKind::Tmpfs) || mmlab_core::scratch::mkfs_installed(*k)
            })
            .collect()),
        Some(names) => names
            .iter()
            .map(|n| FsKind::parse(n).map_err(|e| anyhow::anyhow!("--filesystems: {e}")))
            .collect(),
    }
}

struct Plan {
    data_bytes: u64,
    n_dirs: usize,
    files_per_dir: usize,
    repetitions: usize,
    scratch_bytes: u64,
}

pub fn measure(context: &RunContext) -> anyhow::Result<ResultFile> {
    let started = Instant::now();
    let page = mmlab_core::fingerprint::page_size() as u64;
    let kinds = kinds_of(context)?;
    let data_bytes = context.size(32 << 20, 128 << 20).div_ceil(page) * page;
    let (n_dirs, files_per_dir) = match context.profile {
        mmlab_core::Profile::Quick => (20, 100),
        mmlab_core::Profile::Full => (50, 200),
    };
    let plan = Plan {
        data_bytes,
        n_dirs,
        files_per_dir,
        repetitions: context.repetitions(2, 5).max(1),
        // Sparse: only what is written takes disk space; xfs needs 300 MiB.
        scratch_bytes: (data_bytes * 2 + (64 << 20)).max(512 << 20),
    };
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    context.print_param("filesystems", names.join(", "));
    let left_out: Vec<String> = FsKind::ALL
        .into_iter()
        .filter(|k| !kinds.contains(k) && !mmlab_core::scratch::mkfs_installed(*k))
        .map(|k| {
            format!(
                "{k} (apt-get install {})",
                k.package().unwrap_or("its mkfs")
            )
        })
        .collect();
    if context.filesystems.is_none() && !left_out.is_empty() {
        context.print_param("left out, mkfs not installed", left_out.join(", "));
    }
    context.print_param("data file", format_size(plan.data_bytes));
    context.print_param(
        "metadata tree",
        format!("{} directories x {} files", plan.n_dirs, plan.files_per_dir),
    );
    context.print_param(
        "scratch filesystem size (sparse)",
        format_size(plan.scratch_bytes),
    );
    context.print_param("repetitions", plan.repetitions);

    let dir = context.data_dir()?;
    let mut result = context.new_result(ID, dir.path());
    result.param("filesystems", json!(names));
    if context.filesystems.is_none() {
        result.param("filesystems_left_out_no_mkfs", json!(left_out));
    }
    result.param("data_file_bytes", plan.data_bytes);
    result.param("data_file_pages", plan.data_bytes / page);
    result.param("page_size_bytes", page);
    result.param("n_dirs", plan.n_dirs);
    result.param("files_per_dir", plan.files_per_dir);
    result.param("n_files", plan.n_dirs * plan.files_per_dir);
    result.param("repetitions", plan.repetitions);
    result.param("scratch_size_bytes", plan.scratch_bytes);

    let progress = context.progress((kinds.len() * (1 + plan.repetitions)) as u64, ID);
    let mut filesystems = Vec::new();
    let mut moves = Vec::new();
    let mut passes = Vec::new();
    for kind in kinds {
        mmlab_core::cleanup::checkpoint();
        progress.set_message(format!("{kind}: making it"));
        let mut fs = match ScratchFs::create(kind, dir.path(), plan.scratch_bytes) {
            Ok(fs) => fs,
            Err(why) => {
                result.warnings.push(Warning::new(
                    "filesystem-unavailable",
                    format!("no scratch {kind} was made: {why}"),
                    "run as root on a machine with loop devices; apt-get install xfsprogs btrfs-progs",
                ));
                filesystems.push(json!({"filesystem": kind.name(), "made": false, "reason": why}));
                progress.inc(1 + plan.repetitions as u64);
                continue;
            }
        };
        let mut row = fs.describe();
        row["filesystem"] = json!(kind.name());
        row["made"] = json!(true);
        filesystems.push(row);
        prepare(&fs, &plan).with_context(|| format!("preparing the scratch {kind}"))?;
        progress.inc(1);
        for repetition in 0..plan.repetitions {
            mmlab_core::cleanup::checkpoint();
            progress.set_message(format!("{kind}: repetition {}", repetition + 1));
            moves.push(cache_move(&mut fs, ACTION_READ, repetition, &plan)?);
            moves.push(cache_move(&mut fs, ACTION_WALK, repetition, &plan)?);
            passes.extend(mmap_passes(&mut fs, repetition)?);
            progress.inc(1);
        }
    }
    progress.finish_and_clear();

    for fs_row in &filesystems {
        let name = fs_row["filesystem"].as_str().unwrap_or_default();
        for action in [ACTION_READ, ACTION_WALK] {
            for field in ["file_pages_delta", "device_pages_delta"] {
                let values: Vec<f64> = moves
                    .iter()
                    .filter(|m| m["filesystem"] == name && m["action"] == action)
                    .filter_map(|m| m[field].as_f64())
                    .collect();
                result
                    .summaries
                    .extend(Summary::of(format!("{name}: {action}"), field, &values));
            }
        }
    }
    result.samples = moves.clone();
    result
        .extra
        .insert("filesystems".into(), json!(filesystems));
    result.extra.insert("cache_moves".into(), json!(moves));
    result
        .extra
        .insert("where_it_went".into(), json!(where_it_went(&moves, page)));
    result.extra.insert("mmap_passes".into(), json!(passes));
    result.figures = figures();
    Ok(result.finish(started))
}

/// Writes the data file and the tree of small files, then syncs.
fn prepare(fs: &ScratchFs, plan: &Plan) -> anyhow::Result<()> {
    let root = fs.root();
    let mut data = File::create(root.join("data.bin")).context("create data.bin")?;
    let mut block = vec![0u8; 1 << 20];
    let mut written = 0u64;
    while written < plan.data_bytes {
        for (i, b) in block.iter_mut().enumerate() {
            *b = ((written as usize + i) % 251) as u8;
        }
        let n = ((plan.data_bytes - written) as usize).min(block.len());
        data.write_all(&block[..n]).context("write data.bin")?;
        written += n as u64;
    }
    data.sync_all().context("fsync data.bin")?;
    drop(data);
    for d in 0..plan.n_dirs {
        mmlab_core::cleanup::checkpoint();
        let sub = root.join("tree").join(format!("d{d:03}"));
        std::fs::create_dir_all(&sub).with_context(|| format!("mkdir {}", sub.display()))?;
        for f in 0..plan.files_per_dir {
            std::fs::write(sub.join(format!("f{f:04}")), format!("file {d} {f}\n"))
                .context("write a small file")?;
        }
    }
    let handle = File::open(&root).context("open the scratch root")?;
    nix::unistd::syncfs(handle.as_fd()).context("syncfs")?;
    Ok(())
}

/// What the counters say at one moment.
struct Snapshot {
    file_pages: u64,
    device_pages: Option<u64>,
    meminfo: std::collections::BTreeMap<&'static str, u64>,
}

fn snapshot(fs: &ScratchFs, data: &File) -> anyhow::Result<Snapshot> {
    Ok(Snapshot {
        file_pages: file_resident_pages(data.as_fd())?,
        device_pages: match fs.kind() {
            FsKind::Tmpfs => None,
            _ => Some(fs.device_cached_pages().map_err(anyhow::Error::msg)?),
        },
        meminfo: mmlab_core::proc::meminfo().map_err(anyhow::Error::msg)?,
    })
}

fn cold(fs: &mut ScratchFs) -> anyhow::Result<()> {
    if fs.kind() != FsKind::Tmpfs {
        fs.make_cold().map_err(anyhow::Error::msg)?;
    }
    Ok(())
}

/// One action from cold, and what it cached where.
fn cache_move(
    fs: &mut ScratchFs,
    action: &str,
    repetition: usize,
    plan: &Plan,
) -> anyhow::Result<Value> {
    cold(fs)?;
    let root = fs.root();
    // Opened before the first snapshot: the open itself reads the data
    // file's inode, which belongs to neither action.
    let mut data = File::open(root.join("data.bin")).context("open data.bin")?;
    let before = snapshot(fs, &data)?;
    let started = Instant::now();
    let mut touched = 0u64;
    if action == ACTION_READ {
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = data.read(&mut buffer).context("read data.bin")?;
            if n == 0 {
                break;
            }
            touched += n as u64;
        }
    } else {
        for d in 0..plan.n_dirs {
            let sub = root.join("tree").join(format!("d{d:03}"));
            for entry in
                std::fs::read_dir(&sub).with_context(|| format!("readdir {}", sub.display()))?
            {
                let entry = entry.context("readdir entry")?;
                std::hint::black_box(entry.path().symlink_metadata().context("stat")?);
                touched += 1;
            }
        }
    }
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let after = snapshot(fs, &data)?;
    drop(data);
    let delta = |field: &str| -> Value {
        match (before.meminfo.get(field), after.meminfo.get(field)) {
            (Some(b), Some(a)) => json!(*a as i64 - *b as i64),
            _ => Value::Null,
        }
    };
    Ok(json!({
        "filesystem": fs.kind().name(),
        "action": action,
        "repetition": repetition,
        "touched": touched,
        "elapsed_ns": elapsed_ns,
        "file_pages_before": before.file_pages,
        "file_pages_after": after.file_pages,
        "file_pages_delta": after.file_pages as i64 - before.file_pages as i64,
        "device_pages_before": before.device_pages,
        "device_pages_after": after.device_pages,
        "device_pages_delta": before.device_pages.zip(after.device_pages).map(|(b, a)| a as i64 - b as i64),
        "cached_kib_delta": delta("Cached"),
        "buffers_kib_delta": delta("Buffers"),
        "sreclaimable_kib_delta": delta("SReclaimable"),
        "shmem_kib_delta": delta("Shmem"),
    }))
}

/// Two mmap passes over the data file right after a fresh mount, one byte
/// per page: faults, pages per fault, and the folios each pass met.
fn mmap_passes(fs: &mut ScratchFs, repetition: usize) -> anyhow::Result<Vec<Value>> {
    cold(fs)?;
    let path = fs.root().join("data.bin");
    let page = mmlab_core::fingerprint::page_size();
    let mut rows = Vec::new();
    for pass in [PASS_FIRST, PASS_SECOND] {
        let file = File::open(&path).context("open data.bin")?;
        // SAFETY (memmap2's contract): the lab's own file on its own
        // filesystem, which nothing truncates while it is mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }.context("mmap data.bin")?;
        let before = Rusage::now(true);
        let mut sum = 0u64;
        for offset in (0..map.len()).step_by(page) {
            sum = sum.wrapping_add(u64::from(map[offset]));
        }
        std::hint::black_box(sum);
        let used = Rusage::now(true).since(&before);
        let faults = used.n_minor_faults + used.n_major_faults;
        let pages = map.len().div_ceil(page) as u64;
        let folios = folio_sizes(map.as_ptr() as usize, map.len());
        rows.push(json!({
            "filesystem": fs.kind().name(),
            "pass": pass,
            "repetition": repetition,
            "pages": pages,
            "n_faults": faults,
            "n_major_faults": used.n_major_faults,
            "pages_per_fault": if faults > 0 { json!(pages as f64 / faults as f64) } else { Value::Null },
            "folio_histogram": match &folios {
                Ok(f) => json!(f.histogram),
                Err(e) => json!(e.to_string()),
            },
        }));
    }
    Ok(rows)
}

/// The cache moves as long rows for the figures: per filesystem, action
/// and place, the median over repetitions, in KiB.
fn where_it_went(moves: &[Value], page: u64) -> Vec<Value> {
    let mut rows = Vec::new();
    let kib_per_page = (page / 1024) as f64;
    let mut keys: Vec<(String, String)> = moves
        .iter()
        .map(|m| {
            (
                m["filesystem"].as_str().unwrap_or_default().to_string(),
                m["action"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    keys.retain(|key| seen.insert(key.clone()));
    for (fs, action) in keys {
        let of = |field: &str, scale: f64| -> Option<f64> {
            let values: Vec<f64> = moves
                .iter()
                .filter(|m| m["filesystem"] == fs.as_str() && m["action"] == action.as_str())
                .filter_map(|m| m[field].as_f64())
                .map(|v| v * scale)
                .collect();
            mmlab_core::stats::median(&values)
        };
        for (place, field, scale) in [
            ("the file's own pages", "file_pages_delta", kib_per_page),
            ("block-device pages", "device_pages_delta", kib_per_page),
            ("Buffers (machine)", "buffers_kib_delta", 1.0),
            ("Cached (machine)", "cached_kib_delta", 1.0),
            ("SReclaimable (machine)", "sreclaimable_kib_delta", 1.0),
        ] {
            if let Some(kib) = of(field, scale) {
                rows.push(json!({"filesystem": fs, "action": action, "place": place, "kib": kib}));
            }
        }
    }
    rows
}

fn figures() -> Vec<FigureSpec> {
    let mut read = FigureSpec::new(
        "read-data",
        "Where does reading a file's data put it, on each filesystem?",
        FigureKind::Bar,
        "where_it_went",
        Axis::new("place", "where it was counted"),
        Axis::new("kib", "grew by (KiB, median of repetitions)"),
    );
    read.filter.insert("action".into(), json!(ACTION_READ));
    read.series = Some("filesystem".into());
    read.claims = vec!["S3".into()];
    read.how_to_read = "From a cold filesystem (unmounted and mounted again), read() of the data file. \"the file's own pages\" is mincore on the file; \"block-device pages\" is mincore on the filesystem's loop device (its buffer cache alone); the machine-wide meminfo fields move with everything else the machine does. On tmpfs the file's pages are its only copy, so nothing is loaded.".into();
    let mut walk = FigureSpec::new(
        "walk-metadata",
        "Where does walking metadata (readdir and stat, no data) put it, on each filesystem?",
        FigureKind::Bar,
        "where_it_went",
        Axis::new("place", "where it was counted"),
        Axis::new("kib", "grew by (KiB, median of repetitions)"),
    );
    walk.filter.insert("action".into(), json!(ACTION_WALK));
    walk.series = Some("filesystem".into());
    walk.claims = vec!["S3".into()];
    walk.how_to_read = "From a cold filesystem, readdir and stat of every small file of the tree, no file data read. One colour per filesystem. Where its block-device bar grows, metadata was cached as the device's pages (what Buffers counts); where it does not, the filesystem keeps metadata elsewhere (xfs: its own buffer cache; btrfs: the page cache of an internal inode, counted in Cached).".into();
    let mut faults = FigureSpec::new(
        "mmap-faults",
        "How many faults does a full mmap pass take on each filesystem, after a fresh mount and again?",
        FigureKind::Bar,
        "mmap_passes",
        Axis::new("pass", "pass"),
        Axis::log("n_faults", "faults in one pass, one byte per page (log)"),
    );
    faults.series = Some("filesystem".into());
    faults.how_to_read = "One byte read per page of the data file through a fresh mapping, first right after the filesystem was mounted again (its cache empty; tmpfs cannot be emptied, its pages are the file), then once more. Fewer faults than pages means each fault mapped several pages (fault-around, large folios); the number depends on the filesystem (which folio sizes it uses) and on the kernel version.".into();
    vec![read, walk, faults]
}
