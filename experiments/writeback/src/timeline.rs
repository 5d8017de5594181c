//! Where a write through MAP_SHARED is, moment by moment, on a scratch
//! filesystem: after writing k pages (spread over the file), for each of
//! them, the bytes in the page cache (pread), the page's DIRTY and
//! WRITEBACK flags (kpageflags of its frame, found through pagemap of a
//! short-lived read-only mapping: root), the file's dirty and writeback
//! pages (cachestat(2)), /proc/meminfo `Dirty` and `Writeback`, and the
//! bytes on storage (the scratch filesystem's image, read past every cache
//! without writing anything back: `ScratchFs::stored_bytes_now`).
//!
//! Each chain writes a new byte value over the k pages, so "new" and "old"
//! are told apart page by page; every chain starts from a file that is
//! clean and on storage (the chain before it ended with a flush).

use std::fs::{File, OpenOptions};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use mmlab_core::pages::{cachestat, kpageflags, pagemap_entry};
use mmlab_core::scratch::{FsKind, ScratchFs};
use serde_json::{Value, json};

/// The chains of calls, as the tables name them.
pub const CHAIN_MSYNC: &str = "A: msync";
pub const CHAIN_UNMAP: &str = "B: munmap, close, fsync";
pub const CHAIN_SYNCFS: &str = "C: syncfs";
pub const CHAIN_NO_CALL: &str = "D: no call";
pub const CHAIN_PRIVATE: &str = "E: MAP_PRIVATE";

/// The moments, as the tables name them.
pub const WRITTEN: &str = "written";
pub const MS_ASYNC: &str = "msync(MS_ASYNC)";
pub const MS_SYNC: &str = "msync(MS_SYNC)";
pub const MUNMAP: &str = "munmap, no msync";
pub const CLOSE: &str = "close";
pub const FSYNC_OTHER: &str = "fsync of another fd";
pub const SYNCFS: &str = "syncfs";
pub const POLLED: &str = "no call, polled";
pub const PRIVATE_WRITTEN: &str = "MAP_PRIVATE written";
pub const PRIVATE_FLUSHED: &str = "MAP_PRIVATE, then msync + fsync + syncfs";

/// Why the storage columns are empty on btrfs.
pub const BTRFS_STORAGE: &str = "not read on btrfs: FIEMAP gives addresses in btrfs's own logical (chunk) address space, not offsets in the image, and a rewritten block moves to a new extent (copy-on-write)";

/// kpageflags bits (Documentation/admin-guide/mm/pagemap.rst).
const KPF_DIRTY: u64 = 4;
const KPF_WRITEBACK: u64 = 8;

/// What one timeline run needs.
#[derive(Debug, Clone)]
pub struct TimelinePlan {
    pub page: usize,
    pub file_pages: u64,
    /// The page indices written (spread over the file).
    pub pages: Vec<u64>,
    pub poll_bound: Duration,
    pub poll_interval: Duration,
}

/// The pages written: `k` indices spread evenly over `file_pages`.
pub fn spread(file_pages: u64, k: u64) -> Vec<u64> {
    let k = k.clamp(1, file_pages.max(1));
    let stride = (file_pages / k).max(1);
    (0..k).map(|i| i * stride).collect()
}

/// The rows of every chain on `fs`, and the poll samples of chain D.
#[derive(Debug)]
pub struct Timeline {
    pub rows: Vec<Value>,
    pub poll: Vec<Value>,
}

/// Classifies a page's bytes: `n` all new, `o` all old, `x` anything else.
fn class(bytes: &[u8], new: u8, old: u8) -> char {
    if bytes.iter().all(|&b| b == new) {
        'n'
    } else if bytes.iter().all(|&b| b == old) {
        'o'
    } else {
        'x'
    }
}

struct Snap<'a> {
    fs: &'a ScratchFs,
    path: &'a Path,
    plan: &'a TimelinePlan,
}

impl Snap<'_> {
    /// One row: every place the written pages can be, now.
    fn take(&self, chain: &str, moment: &str, since: Instant, new: u8, old: u8) -> Value {
        let seconds = since.elapsed().as_secs_f64();
        let page = self.plan.page;
        let k = self.plan.pages.len();
        let mut row = json!({
            "filesystem": self.fs.kind().name(),
            "chain": chain,
            "moment": moment,
            "seconds_since_write": seconds,
            "k_pages": k,
            "new_byte": new,
            "old_byte": old,
        });
        // The page cache, through pread.
        match File::open(self.path) {
            Ok(file) => {
                let mut buffer = vec![0u8; page];
                let mut classes = String::new();
                for &index in &self.plan.pages {
                    match file.read_exact_at(&mut buffer, index * page as u64) {
                        Ok(()) => classes.push(class(&buffer, new, old)),
                        Err(_) => classes.push('?'),
                    }
                }
                row["cache_new"] = json!(classes.chars().filter(|&c| c == 'n').count());
                row["cache_old"] = json!(classes.chars().filter(|&c| c == 'o').count());
                row["cache_pages"] = json!(classes);
                match cachestat(file.as_fd()) {
                    Ok(c) => {
                        row["cachestat_dirty"] = json!(c.n_dirty);
                        row["cachestat_writeback"] = json!(c.n_writeback);
                    }
                    Err(e) => row["cachestat_error"] = json!(e.to_string()),
                }
                match page_flags(&file, &self.plan.pages, page) {
                    Ok((dirty, writeback)) => {
                        row["dirty_pages"] = json!(dirty.chars().filter(|&c| c == '1').count());
                        row["writeback_pages"] =
                            json!(writeback.chars().filter(|&c| c == '1').count());
                        row["dirty_bitmap"] = json!(dirty);
                        row["writeback_bitmap"] = json!(writeback);
                    }
                    Err(e) => row["dirty_error"] = json!(e),
                }
            }
            Err(e) => row["cache_error"] = json!(format!("open {}: {e}", self.path.display())),
        }
        let meminfo = mmlab_core::proc::meminfo().unwrap_or_default();
        row["meminfo_dirty_kib"] = json!(meminfo.get("Dirty"));
        row["meminfo_writeback_kib"] = json!(meminfo.get("Writeback"));
        // Storage, without writing anything back. Not on btrfs: its FIEMAP
        // addresses are in btrfs's own logical (chunk) address space, and a
        // rewritten block moves to a new extent (copy-on-write), so the
        // image cannot be read at them as ext4's and xfs's can.
        let stored = match self.fs.kind() {
            FsKind::Btrfs => Err(BTRFS_STORAGE.to_string()),
            _ => self.fs.stored_bytes_now(self.path),
        };
        match stored {
            Ok(bytes) => {
                let classes: String = self
                    .plan
                    .pages
                    .iter()
                    .map(|&i| {
                        let start = i as usize * page;
                        bytes
                            .get(start..start + page)
                            .map_or('?', |b| class(b, new, old))
                    })
                    .collect();
                row["storage_new"] = json!(classes.chars().filter(|&c| c == 'n').count());
                row["storage_old"] = json!(classes.chars().filter(|&c| c == 'o').count());
                row["storage_other"] =
                    json!(classes.chars().filter(|&c| c != 'n' && c != 'o').count());
                row["storage_pages"] = json!(classes);
            }
            Err(e) => row["storage_error"] = json!(e),
        }
        row
    }
}

/// DIRTY and WRITEBACK of each page's frame, as bitmaps ("1" set): a
/// read-only shared mapping of the file is made, each page read once (a
/// read fault changes neither flag), its frame looked up in pagemap and
/// its flags in /proc/kpageflags (both need root), then unmapped.
fn page_flags(file: &File, pages: &[u64], page: usize) -> Result<(String, String), String> {
    // SAFETY (memmap2's contract): the lab's own file, which nothing
    // truncates while it is mapped.
    let map = unsafe { memmap2::Mmap::map(file) }.map_err(|e| format!("mmap for pagemap: {e}"))?;
    let mut dirty = String::new();
    let mut writeback = String::new();
    for &index in pages {
        let offset = index as usize * page;
        // SAFETY: offset is inside the mapping (index < the file's pages).
        std::hint::black_box(unsafe { std::ptr::read_volatile(map.as_ptr().add(offset)) });
        let entry =
            pagemap_entry(None, map.as_ptr() as usize + offset).map_err(|e| e.to_string())?;
        if !entry.present {
            return Err("a page read through the mapping was not present in pagemap".into());
        }
        let flags = kpageflags(entry.pfn).map_err(|e| format!("{e:#}"))?;
        dirty.push(if flags >> KPF_DIRTY & 1 == 1 {
            '1'
        } else {
            '0'
        });
        writeback.push(if flags >> KPF_WRITEBACK & 1 == 1 {
            '1'
        } else {
            '0'
        });
    }
    Ok((dirty, writeback))
}

fn open_rw(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("open {} for writing", path.display()))
}

fn map_shared(file: &File) -> anyhow::Result<memmap2::MmapMut> {
    // SAFETY (memmap2's contract): the lab's own file on its own
    // filesystem, which nothing truncates while it is mapped.
    unsafe { memmap2::MmapMut::map_mut(file) }.context("mmap MAP_SHARED")
}

fn write_pages(map: &mut [u8], plan: &TimelinePlan, value: u8) {
    for &index in &plan.pages {
        let start = index as usize * plan.page;
        map[start..start + plan.page].fill(value);
    }
}

/// Writes the file with `initial` in every byte and flushes it, so that
/// every block is allocated and on storage before the first chain.
pub fn prepare(path: &Path, bytes: u64, initial: u8) -> anyhow::Result<()> {
    let mut file = File::create(path).with_context(|| format!("create {}", path.display()))?;
    let block = vec![initial; 1 << 20];
    let mut written = 0u64;
    while written < bytes {
        let n = ((bytes - written) as usize).min(block.len());
        std::io::Write::write_all(&mut file, &block[..n]).context("write the data file")?;
        written += n as u64;
    }
    file.sync_all().context("fsync the data file")?;
    Ok(())
}

/// Every chain, in order, on `fs`'s file `path` (prepared with `initial`).
pub fn run(
    fs: &ScratchFs,
    path: &Path,
    plan: &TimelinePlan,
    initial: u8,
) -> anyhow::Result<Timeline> {
    let snap = Snap { fs, path, plan };
    let mut rows = Vec::new();
    let mut poll = Vec::new();
    let name = fs.kind().name();

    // The baseline: what storage holds before any chain.
    rows.push(snap.take(
        "baseline",
        "before the first write",
        Instant::now(),
        initial,
        initial,
    ));

    // A: msync(MS_ASYNC), then msync(MS_SYNC).
    let (old, new) = (initial, 0xA1);
    {
        let file = open_rw(path)?;
        let mut map = map_shared(&file)?;
        write_pages(&mut map, plan, new);
        let since = Instant::now();
        rows.push(snap.take(CHAIN_MSYNC, WRITTEN, since, new, old));
        map.flush_async().context("msync(MS_ASYNC)")?;
        rows.push(snap.take(CHAIN_MSYNC, MS_ASYNC, since, new, old));
        map.flush().context("msync(MS_SYNC)")?;
        rows.push(snap.take(CHAIN_MSYNC, MS_SYNC, since, new, old));
    }
    mmlab_core::cleanup::checkpoint();

    // B: munmap without msync, close, then fsync of a descriptor opened
    // afterwards.
    let (old, new) = (new, 0xB2);
    {
        let file = open_rw(path)?;
        let mut map = map_shared(&file)?;
        write_pages(&mut map, plan, new);
        let since = Instant::now();
        rows.push(snap.take(CHAIN_UNMAP, WRITTEN, since, new, old));
        drop(map);
        rows.push(snap.take(CHAIN_UNMAP, MUNMAP, since, new, old));
        drop(file);
        rows.push(snap.take(CHAIN_UNMAP, CLOSE, since, new, old));
        let other = open_rw(path)?;
        other.sync_all().context("fsync of another descriptor")?;
        rows.push(snap.take(CHAIN_UNMAP, FSYNC_OTHER, since, new, old));
    }
    mmlab_core::cleanup::checkpoint();

    // C: syncfs of the filesystem, the mapping still in place.
    let (old, new) = (new, 0xC3);
    {
        let file = open_rw(path)?;
        let mut map = map_shared(&file)?;
        write_pages(&mut map, plan, new);
        let since = Instant::now();
        rows.push(snap.take(CHAIN_SYNCFS, WRITTEN, since, new, old));
        let root = File::open(fs.root()).context("open the scratch root")?;
        nix::unistd::syncfs(root.as_fd()).context("syncfs")?;
        rows.push(snap.take(CHAIN_SYNCFS, SYNCFS, since, new, old));
    }
    mmlab_core::cleanup::checkpoint();

    // D: no call at all; storage polled until every page is there or the
    // bound passes. The mapping stays, untouched.
    let (old, new) = (new, 0xD4);
    {
        let file = open_rw(path)?;
        let mut map = map_shared(&file)?;
        write_pages(&mut map, plan, new);
        let since = Instant::now();
        rows.push(snap.take(CHAIN_NO_CALL, WRITTEN, since, new, old));
        let k = plan.pages.len() as u64;
        let mut last;
        loop {
            mmlab_core::cleanup::checkpoint();
            std::thread::sleep(plan.poll_interval);
            last = snap.take(CHAIN_NO_CALL, POLLED, since, new, old);
            poll.push(json!({
                "filesystem": name,
                "seconds": last["seconds_since_write"],
                "storage_new": last["storage_new"],
                "cachestat_dirty": last["cachestat_dirty"],
                "cachestat_writeback": last["cachestat_writeback"],
                "dirty_pages": last["dirty_pages"],
            }));
            let reached = last["storage_new"].as_u64() == Some(k);
            if reached || last.get("storage_error").is_some() || since.elapsed() >= plan.poll_bound
            {
                last["reached_storage"] = json!(reached);
                break;
            }
        }
        last["poll_bound_s"] = json!(plan.poll_bound.as_secs_f64());
        rows.push(last);
        // Not part of the chain: leave the file clean for what follows.
        map.flush().context("msync(MS_SYNC) after the poll")?;
    }
    mmlab_core::cleanup::checkpoint();

    // E: MAP_PRIVATE: a write, then every flush there is.
    let (old, new) = (new, 0xE5);
    {
        let file = open_rw(path)?;
        // SAFETY (memmap2's contract): as above.
        let mut map =
            unsafe { memmap2::MmapOptions::new().map_copy(&file) }.context("mmap MAP_PRIVATE")?;
        write_pages(&mut map, plan, new);
        let since = Instant::now();
        rows.push(snap.take(CHAIN_PRIVATE, PRIVATE_WRITTEN, since, new, old));
        map.flush()
            .context("msync(MS_SYNC) of a MAP_PRIVATE mapping")?;
        file.sync_all().context("fsync")?;
        let root = File::open(fs.root()).context("open the scratch root")?;
        nix::unistd::syncfs(root.as_fd()).context("syncfs")?;
        rows.push(snap.take(CHAIN_PRIVATE, PRIVATE_FLUSHED, since, new, old));
    }
    for (step, row) in rows.iter_mut().enumerate() {
        row["step"] = json!(step);
    }
    Ok(Timeline { rows, poll })
}

/// The timeline as long rows for the figures: per moment, the written
/// pages in each state.
pub fn states(rows: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for row in rows {
        if row["chain"] == "baseline" {
            continue;
        }
        let chain = row["chain"].as_str().unwrap_or_default();
        let label = format!(
            "{} {}",
            &chain[..1],
            row["moment"].as_str().unwrap_or_default()
        );
        for (state, field) in [
            ("new bytes in the page cache (pread)", "cache_new"),
            ("dirty (kpageflags)", "dirty_pages"),
            ("new bytes on storage", "storage_new"),
        ] {
            if let Some(pages) = row[field].as_u64() {
                out.push(json!({
                    "filesystem": row["filesystem"],
                    "moment": label,
                    "state": state,
                    "pages": pages,
                }));
            }
        }
    }
    out
}
