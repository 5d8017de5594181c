//! Scenario "memory-cost" (S4): what holding a whole file costs in physical
//! memory, read() against mmap. read() runs twice: into one buffer as large
//! as the file (the whole file held twice), and as a streaming program
//! reads, through one reused 64 KiB buffer (the second copy is the buffer's
//! size, the page cache still the file's). Each path starts from a cold
//! file (evicted from the page cache), so the page cache it fills is its own:
//! the file's resident pages (mincore, exact), `Cached` of /proc/meminfo
//! (system-wide, noisy on a busy machine), this process's RssAnon and
//! RssFile (/proc/self/status), Pss (smaps_rollup), and the smaps entry of
//! the buffer or mapping (Rss, Pss, Private_* and Shared_*).
//!
//! Every figure is a growth from that cold start, so it means something only
//! when the file really was evicted: each point records what was still
//! cached before it ([`MemoryPoint::page_cache_before_bytes`]), from which
//! the judge (`crate::judge`) tells whether S4's memory split was measured.
//! On tmpfs it never is: POSIX_FADV_DONTNEED drops nothing there (the cached pages are the
//! file), so the file is as resident before each path as after it.

use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use anyhow::Context;
use mmlab_core::DataFile;
use mmlab_core::pages::{SmapsEntry, file_resident_pages, smaps_entry};
use serde::Serialize;

use crate::os;

pub const PATH_READ: &str = "read() into a file-sized buffer";
/// The name of [`PATH_READ`] in result files written before the streaming
/// path existed (the buffer was file-sized then too).
pub const PATH_READ_BEFORE: &str = "read() into a buffer";
pub const PATH_READ_STREAM: &str = "read() through a reused 64 KiB buffer";
/// The buffer of [`PATH_READ_STREAM`].
pub const STREAM_BUFFER_BYTES: usize = 64 << 10;
pub const PATH_MMAP: &str = "mmap MAP_SHARED";
pub const PATH_MMAP_TWO: &str = "mmap MAP_SHARED, two processes";
/// Every path, in the order of the run and the figure.
pub const PATHS: [&str; 4] = [PATH_READ, PATH_READ_STREAM, PATH_MMAP, PATH_MMAP_TWO];

/// One path's memory cost; sizes in bytes.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryPoint {
    pub path: String,
    pub repetition: usize,
    pub file_size_bytes: u64,
    /// The user buffer read() copied into (the file's size, or
    /// [`STREAM_BUFFER_BYTES`]); null for the mmap paths.
    pub buffer_bytes: Option<u64>,
    /// Pages still cached after eviction (0 = the path started cold).
    pub page_cache_before_bytes: u64,
    /// Growth of the file's own resident pages (mincore); signed, a negative
    /// value is kept as measured.
    pub page_cache_growth_bytes: i64,
    /// Growth of `Cached` in /proc/meminfo (the whole machine).
    pub meminfo_cached_growth_bytes: i64,
    pub rss_anon_growth_bytes: i64,
    pub rss_file_growth_bytes: i64,
    pub pss_growth_bytes: i64,
    /// The buffer's or mapping's own smaps entry.
    pub mapping_rss_bytes: u64,
    pub mapping_pss_bytes: u64,
    pub mapping_private_clean_bytes: u64,
    pub mapping_private_dirty_bytes: u64,
    pub mapping_shared_clean_bytes: u64,
    pub mapping_shared_dirty_bytes: u64,
    /// The second process's mapping (two-process path only).
    pub other_process_pss_bytes: Option<u64>,
    pub other_process_shared_clean_bytes: Option<u64>,
    /// (page cache growth + RssAnon growth) / file size: how many physical
    /// copies of the file the path holds.
    pub physical_copies: f64,
    pub elapsed_ns: u64,
}

#[derive(Debug, Clone, Copy)]
struct Snapshot {
    page_cache_bytes: u64,
    cached_kib: u64,
    rss_anon_kib: u64,
    rss_file_kib: u64,
    pss_kib: u64,
}

fn snapshot(file: &DataFile) -> anyhow::Result<Snapshot> {
    let handle = file.open()?;
    Ok(Snapshot {
        page_cache_bytes: file_resident_pages(handle.as_fd())? * os::page_size() as u64,
        cached_kib: os::meminfo_kib("Cached")?,
        rss_anon_kib: os::status_kib("RssAnon")?,
        rss_file_kib: os::status_kib("RssFile")?,
        pss_kib: os::rollup_kib("Pss")?,
    })
}

fn kib_growth(after: u64, before: u64) -> i64 {
    (after as i64 - before as i64) * 1024
}

fn point(
    path: &str,
    repetition: usize,
    file: &DataFile,
    before: Snapshot,
    after: Snapshot,
    mapping: &SmapsEntry,
    elapsed_ns: u64,
) -> MemoryPoint {
    let page_cache_growth_bytes = after.page_cache_bytes as i64 - before.page_cache_bytes as i64;
    let rss_anon_growth_bytes = kib_growth(after.rss_anon_kib, before.rss_anon_kib);
    MemoryPoint {
        path: path.to_string(),
        repetition,
        file_size_bytes: file.size_bytes,
        buffer_bytes: None,
        page_cache_before_bytes: before.page_cache_bytes,
        page_cache_growth_bytes,
        meminfo_cached_growth_bytes: kib_growth(after.cached_kib, before.cached_kib),
        rss_anon_growth_bytes,
        rss_file_growth_bytes: kib_growth(after.rss_file_kib, before.rss_file_kib),
        pss_growth_bytes: kib_growth(after.pss_kib, before.pss_kib),
        mapping_rss_bytes: mapping.kib("Rss") * 1024,
        mapping_pss_bytes: mapping.kib("Pss") * 1024,
        mapping_private_clean_bytes: mapping.kib("Private_Clean") * 1024,
        mapping_private_dirty_bytes: mapping.kib("Private_Dirty") * 1024,
        mapping_shared_clean_bytes: mapping.kib("Shared_Clean") * 1024,
        mapping_shared_dirty_bytes: mapping.kib("Shared_Dirty") * 1024,
        other_process_pss_bytes: None,
        other_process_shared_clean_bytes: None,
        physical_copies: (page_cache_growth_bytes as f64 + rss_anon_growth_bytes as f64)
            / file.size_bytes as f64,
        elapsed_ns,
    }
}

/// Reads the whole (evicted) file into an anonymous buffer with read().
pub fn measure_read(file: &DataFile, repetition: usize) -> anyhow::Result<MemoryPoint> {
    let len = file.size_bytes as usize;
    file.evict()?;
    let handle = file.open()?;
    let before = snapshot(file)?;
    let started = Instant::now();
    let mut buffer = os::map_anonymous(len)?;
    handle
        .read_exact_at(&mut buffer[..], 0)
        .with_context(|| format!("read() of {}", file.path.display()))?;
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let after = snapshot(file)?;
    let mapping = smaps_entry(None, buffer.as_ptr() as usize)?;
    let mut result = point(
        PATH_READ, repetition, file, before, after, &mapping, elapsed_ns,
    );
    result.buffer_bytes = Some(len as u64);
    Ok(result)
}

/// Reads the whole (evicted) file as a streaming program does: read() calls
/// of [`STREAM_BUFFER_BYTES`] into one buffer that is reused, so the second
/// copy is only as large as the buffer while the page cache holds the file.
pub fn measure_read_streaming(file: &DataFile, repetition: usize) -> anyhow::Result<MemoryPoint> {
    file.evict()?;
    let handle = file.open()?;
    let before = snapshot(file)?;
    let started = Instant::now();
    let mut buffer = os::map_anonymous(STREAM_BUFFER_BYTES)?;
    let mut offset = 0u64;
    let mut sum = 0u64;
    loop {
        let n = handle
            .read_at(&mut buffer[..], offset)
            .with_context(|| format!("read() of {}", file.path.display()))?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(os::read_every_page(&buffer[..n]));
        offset += n as u64;
    }
    std::hint::black_box(sum);
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    anyhow::ensure!(
        offset == file.size_bytes,
        "read {offset} of the {} bytes of {}",
        file.size_bytes,
        file.path.display()
    );
    let after = snapshot(file)?;
    let mapping = smaps_entry(None, buffer.as_ptr() as usize)?;
    let mut result = point(
        PATH_READ_STREAM,
        repetition,
        file,
        before,
        after,
        &mapping,
        elapsed_ns,
    );
    result.buffer_bytes = Some(STREAM_BUFFER_BYTES as u64);
    Ok(result)
}

/// Maps the whole (evicted) file MAP_SHARED and reads every page.
pub fn measure_mmap(file: &DataFile, repetition: usize) -> anyhow::Result<MemoryPoint> {
    file.evict()?;
    let before = snapshot(file)?;
    let started = Instant::now();
    let map = os::map_shared_read(file)?;
    os::read_every_page(&map);
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let after = snapshot(file)?;
    let mapping = smaps_entry(None, map.as_ptr() as usize)?;
    Ok(point(
        PATH_MMAP, repetition, file, before, after, &mapping, elapsed_ns,
    ))
}

/// As [`measure_mmap`], while a second process maps and reads the same file:
/// each process's Pss of the mapping is about half its Rss, and smaps calls
/// the pages Shared instead of Private.
pub fn measure_mmap_two_processes(
    file: &DataFile,
    repetition: usize,
) -> anyhow::Result<MemoryPoint> {
    let len = file.size_bytes as usize;
    let c_path = CString::new(file.path.as_os_str().as_bytes())
        .with_context(|| format!("path {} has a NUL byte", file.path.display()))?;
    file.evict()?;
    let before = snapshot(file)?;
    let started = Instant::now();
    let map = os::map_shared_read(file)?;
    os::read_every_page(&map);
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    let path = c_path.as_c_str();
    let (measured, _, outcome) = os::with_paused_child(
        Duration::from_secs(30),
        || {
            let mut words = [0u64; os::READY_WORDS];
            if let Some(mapping) = os::ChildMapping::map_shared(path, len) {
                os::read_every_page(mapping.bytes());
                words[0] = mapping.bytes().as_ptr() as u64;
                // Kept mapped until the child ends.
                std::mem::forget(mapping);
            }
            words
        },
        |pid, words| -> anyhow::Result<(Snapshot, SmapsEntry, Option<SmapsEntry>)> {
            let after = snapshot(file)?;
            let mine = smaps_entry(None, map.as_ptr() as usize)?;
            let theirs = if words[0] != 0 {
                Some(smaps_entry(Some(pid), words[0] as usize)?)
            } else {
                None
            };
            Ok((after, mine, theirs))
        },
        |_| 0,
    )?;
    anyhow::ensure!(
        outcome.ending == mmlab_core::probe::Ending::Exited { code: 0 },
        "the second process ended with {}",
        outcome.ending.describe()
    );
    let (after, mine, theirs) = measured?;
    let mut result = point(
        PATH_MMAP_TWO,
        repetition,
        file,
        before,
        after,
        &mine,
        elapsed_ns,
    );
    result.other_process_pss_bytes = theirs.as_ref().map(|e| e.kib("Pss") * 1024);
    result.other_process_shared_clean_bytes = theirs.as_ref().map(|e| e.kib("Shared_Clean") * 1024);
    Ok(result)
}
