//! Where loaded data lives (claim S3): /proc/meminfo `Cached`, `Buffers`
//! and `SReclaimable` before and after a cold read of file data, and before
//! and after statting thousands of fresh files whose metadata was evicted.
//!
//! Evicting metadata needs the machine-wide `drop_caches` (there is no way
//! to evict one directory tree's inodes and the block device's buffers
//! alone without opening the block device). It is an action, not a setting:
//! nothing stays changed, but every process's clean caches are dropped once.
//! It runs only when asked (`MMLAB_DROP_CACHES=1`) and as root.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::scenarios::{Lab, Prepare};
use crate::system::{meminfo, meminfo_delta};

/// The environment variable that allows the experiment to drop the
/// machine's caches (`MMLAB_DROP_CACHES=1`); without it, it never does.
pub const DROP_CACHES_VARIABLE: &str = "MMLAB_DROP_CACHES";

/// meminfo changes around one action, in KiB.
#[derive(Debug, Clone, PartialEq)]
pub struct MeminfoChange {
    pub action: String,
    /// `None` for a field missing from /proc/meminfo.
    pub delta_kib: BTreeMap<&'static str, Option<i64>>,
    pub storage_read_bytes: Option<u64>,
    pub elapsed_ns: u64,
    pub repetition: usize,
}

impl MeminfoChange {
    /// The change of one field, `None` when /proc/meminfo lacks it.
    pub fn kib(&self, field: &str) -> Option<i64> {
        self.delta_kib.get(field).copied().flatten()
    }
}

/// A cold read(2) of the whole data file.
pub fn cold_file_read(lab: &mut Lab, repetition: usize) -> anyhow::Result<MeminfoChange> {
    lab.prepare(Prepare::Cold)?;
    let read_before = mmlab_core::pages::proc_self_io_read_bytes();
    let before = meminfo()?;
    let started = Instant::now();
    crate::mapping::read_whole_file(&lab.file, &mut lab.buffer)?;
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let after = meminfo()?;
    let read_after = mmlab_core::pages::proc_self_io_read_bytes();
    Ok(MeminfoChange {
        action: format!(
            "cold read() of the {} file",
            mmlab_core::format_size(lab.length as u64)
        ),
        delta_kib: meminfo_delta(&before, &after),
        storage_read_bytes: read_before
            .zip(read_after)
            .map(|(b, a)| a.saturating_sub(b)),
        elapsed_ns,
        repetition,
    })
}

/// Whether this run may drop the machine's caches, or why not.
pub fn may_drop_caches() -> Result<(), String> {
    if std::env::var(DROP_CACHES_VARIABLE).as_deref() != Ok("1") {
        return Err(format!(
            "evicting the fresh files' metadata means dropping every process's clean caches (drop_caches), which the lab does only when asked: run as root with {DROP_CACHES_VARIABLE}=1 to measure"
        ));
    }
    if !mmlab_core::fingerprint::is_root() {
        return Err(
            "evicting file metadata needs root (write 3 to /proc/sys/vm/drop_caches): run as root to measure".to_string(),
        );
    }
    Ok(())
}

/// The metadata measurement: creating a fresh tree, then (caches dropped)
/// statting every file in it.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataMeasurement {
    pub n_files: usize,
    pub create: MeminfoChange,
    /// `Err(reason)` when the metadata could not be evicted first.
    pub stat: Result<MeminfoChange, String>,
}

/// Creates `n_dirs` x `files_per_dir` empty files under `base/tree-<rep>`,
/// drops caches (when allowed), stats them all, then removes the tree.
pub fn stat_fresh_tree(
    base: &Path,
    n_dirs: usize,
    files_per_dir: usize,
    repetition: usize,
    allowed: Result<(), String>,
) -> anyhow::Result<MetadataMeasurement> {
    let tree = base.join(format!("tree-{repetition}"));
    let n_files = n_dirs * files_per_dir;
    let before = meminfo()?;
    let started = Instant::now();
    fs::create_dir(&tree).with_context(|| format!("cannot create {}", tree.display()))?;
    for d in 0..n_dirs {
        let dir = tree.join(format!("d{d:03}"));
        fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for f in 0..files_per_dir {
            // A signal stops the work here, before the next file, so the
            // cleanup never races a file being created in the folder.
            mmlab_core::cleanup::checkpoint();
            let path = dir.join(format!("f{f:03}"));
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        }
    }
    nix::unistd::sync();
    let create = MeminfoChange {
        action: format!("create {n_files} empty files"),
        delta_kib: meminfo_delta(&before, &meminfo()?),
        storage_read_bytes: None,
        elapsed_ns: started.elapsed().as_nanos() as u64,
        repetition,
    };
    let stat = match allowed {
        Err(reason) => Err(reason),
        Ok(()) => match mmlab_core::pages::drop_all_caches() {
            Err(error) => Err(format!("{error:#}")),
            Ok(()) => {
                settle();
                Ok(stat_all(&tree, n_dirs, files_per_dir, repetition)?)
            }
        },
    };
    fs::remove_dir_all(&tree).with_context(|| format!("cannot remove {}", tree.display()))?;
    Ok(MetadataMeasurement {
        n_files,
        create,
        stat,
    })
}

/// Waits until the slab and buffer counts stop falling after a cache drop
/// (dentries and inodes are freed after an RCU grace period, so
/// SReclaimable keeps falling for a while), at most 3 s.
fn settle() {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut last = meminfo().unwrap_or_default();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        let now = meminfo().unwrap_or_default();
        let delta = meminfo_delta(&last, &now);
        // A missing field cannot show settling: wait out the deadline.
        if let (Some(slab), Some(buffers)) = (delta["SReclaimable"], delta["Buffers"])
            && slab.abs() < 512
            && buffers.abs() < 128
        {
            return;
        }
        last = now;
    }
}

fn stat_all(
    tree: &Path,
    n_dirs: usize,
    files_per_dir: usize,
    repetition: usize,
) -> anyhow::Result<MeminfoChange> {
    let read_before = mmlab_core::pages::proc_self_io_read_bytes();
    let before = meminfo()?;
    let started = Instant::now();
    let mut n_statted = 0usize;
    for d in 0..n_dirs {
        let dir = tree.join(format!("d{d:03}"));
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            fs::symlink_metadata(entry.path())
                .with_context(|| format!("cannot stat {}", entry.path().display()))?;
            n_statted += 1;
        }
    }
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let after = meminfo()?;
    let read_after = mmlab_core::pages::proc_self_io_read_bytes();
    anyhow::ensure!(
        n_statted == n_dirs * files_per_dir,
        "statted {n_statted} files of {} in {}",
        n_dirs * files_per_dir,
        tree.display()
    );
    Ok(MeminfoChange {
        action: format!("stat {n_statted} files, metadata evicted"),
        delta_kib: meminfo_delta(&before, &after),
        storage_read_bytes: read_before
            .zip(read_after)
            .map(|(b, a)| a.saturating_sub(b)),
        elapsed_ns,
        repetition,
    })
}
