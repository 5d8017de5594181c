//! Scenario "private-writes" (S9): write k of n pages through a MAP_PRIVATE
//! mapping of a warm file and count what it costs (faults, Private_Dirty in
//! smaps, new frames), then check that the file, a MAP_SHARED mapping, read()
//! and a second process all still see the old bytes. And the other direction:
//! does a page of the private mapping that was not written yet show a write
//! made through MAP_SHARED, and does a copied page stop showing it?

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use anyhow::Context;
use memmap2::Mmap;
use mmlab_core::DataFile;
use mmlab_core::pages::smaps_entry;
use mmlab_core::probe::run_in_child;
use serde::Serialize;

use crate::measure::Meter;
use crate::os;

/// One repetition of "write k of n pages through MAP_PRIVATE".
#[derive(Debug, Clone, Serialize)]
pub struct WritePoint {
    pub n_pages_file: usize,
    pub n_pages_written: usize,
    pub repetition: usize,
    /// Faults while reading every page first (fault-around maps many pages
    /// per read fault, so this is far below n).
    pub n_faults_prefault_read: u64,
    /// Faults while writing the k pages: one copy-on-write fault per page
    /// is what the notes' model predicts.
    pub n_faults_write: u64,
    pub faults_per_written_page: f64,
    pub write_elapsed_ns: u64,
    pub fault_source: String,
    pub private_dirty_before_bytes: u64,
    pub private_dirty_after_bytes: u64,
    /// Private_Dirty growth in pages: the copies the kernel made (signed: a
    /// negative value is measured as it is, noise, not clamped to 0).
    pub n_pages_private_dirty_growth: i64,
    /// Written pages whose bytes still equal the file's pattern through the
    /// MAP_SHARED mapping of this process and through pread().
    pub n_written_pages_unchanged_shared: usize,
    pub n_written_pages_unchanged_read: usize,
    /// The first written page: its frame differs from the page-cache frame
    /// and is anonymous (root only, else null).
    pub written_page_new_frame: Option<bool>,
    pub written_page_anon: Option<bool>,
    #[serde(flatten)]
    pub counters: serde_json::Map<String, serde_json::Value>,
}

/// Writes `k` pages (spread evenly) of a MAP_PRIVATE mapping of `file`,
/// after reading every page so the read faults are out of the way. `shared`
/// is a MAP_SHARED mapping of the same file whose pages are all touched.
pub fn write_k_pages(
    meter: &Meter,
    file: &DataFile,
    shared: &Mmap,
    k: usize,
    repetition: usize,
) -> anyhow::Result<WritePoint> {
    let page = os::page_size();
    let n = file.number_of_pages() as usize;
    let handle = file.open()?;
    let mut private = os::map_private(file)?;
    let (_, prefault) = meter.measure(|| os::read_every_page(&private));
    let dirty_before = smaps_entry(None, private.as_ptr() as usize)?.kib("Private_Dirty") * 1024;
    let (_, write) = meter.measure(|| os::write_pages(&mut private, os::spread_pages(k, n)));
    let dirty_after = smaps_entry(None, private.as_ptr() as usize)?.kib("Private_Dirty") * 1024;

    let mut unchanged_shared = 0;
    let mut unchanged_read = 0;
    for index in os::spread_pages(k, n) {
        let original = os::pattern_word_of_page(index);
        unchanged_shared += usize::from(os::word_at_page(shared, index) == original);
        unchanged_read += usize::from(os::read_word_of_page(&handle, index)? == original);
    }
    let (new_frame, anon) = if k > 0 {
        let private_frame = os::frame_of(private.as_ptr());
        let cache_frame = os::frame_of(shared.as_ptr());
        match (private_frame, cache_frame) {
            (Ok(p), Ok(c)) => (
                Some(p.pfn != c.pfn),
                os::frame_flags(p.pfn).map(|f| f.contains(&"ANON")),
            ),
            _ => (None, None),
        }
    } else {
        (None, None)
    };
    Ok(WritePoint {
        n_pages_file: n,
        n_pages_written: k,
        repetition,
        n_faults_prefault_read: prefault.n_minor_faults,
        n_faults_write: write.n_minor_faults,
        faults_per_written_page: if k > 0 {
            write.n_minor_faults as f64 / k as f64
        } else {
            0.0
        },
        write_elapsed_ns: write.elapsed_ns,
        fault_source: write.fault_source.to_string(),
        private_dirty_before_bytes: dirty_before,
        private_dirty_after_bytes: dirty_after,
        n_pages_private_dirty_growth: (dirty_after as i64 - dirty_before as i64) / page as i64,
        n_written_pages_unchanged_shared: unchanged_shared,
        n_written_pages_unchanged_read: unchanged_read,
        written_page_new_frame: new_frame,
        written_page_anon: anon,
        counters: write.fields,
    })
}

/// Another process's view after private writes: a child maps the file
/// MAP_SHARED and counts, among the `k` written pages, those that still
/// hold the file's bytes. Returns (unchanged, checked).
pub fn other_process_sees_file(file: &DataFile, k: usize) -> anyhow::Result<(u64, u64)> {
    let n = file.number_of_pages() as usize;
    let len = file.size_bytes as usize;
    let c_path = CString::new(file.path.as_os_str().as_bytes())
        .with_context(|| format!("path {} has a NUL byte", file.path.display()))?;
    let path = c_path.as_c_str();
    let outcome = run_in_child(Duration::from_secs(10), |channel| {
        let Some(mapping) = os::ChildMapping::map_shared(path, len) else {
            return 2;
        };
        let mut unchanged = 0u64;
        let mut checked = 0u64;
        for index in os::spread_pages(k, n) {
            checked += 1;
            unchanged += u64::from(
                os::word_at_page(mapping.bytes(), index) == os::pattern_word_of_page(index),
            );
        }
        os::send_words(channel, &[unchanged, checked]);
        0
    })?;
    match os::received_words(&outcome)[..] {
        [unchanged, checked] => Ok((unchanged, checked)),
        _ => anyhow::bail!(
            "the second process did not report ({})",
            outcome.ending.describe()
        ),
    }
}

/// The whole file read with read() after eviction (so from the disk):
/// whether its checksum is the one it was created with. `None` when the
/// file could not be evicted (a page still mapped somewhere).
pub fn file_unchanged_on_disk(file: &DataFile) -> anyhow::Result<Option<bool>> {
    if file.evict()? != 0 {
        return Ok(None);
    }
    let bytes =
        std::fs::read(&file.path).with_context(|| format!("read {}", file.path.display()))?;
    let mut sum = 0u64;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        sum = sum.wrapping_add(u64::from_le_bytes(word));
    }
    Ok(Some(sum == file.checksum))
}

/// What a MAP_PRIVATE mapping shows after another mapping writes the file
/// through MAP_SHARED (POSIX leaves this unspecified; this is what this
/// kernel does).
#[derive(Debug, Clone, Serialize)]
pub struct Visibility {
    /// Page read through the private mapping before the shared write, never
    /// written privately: it still maps the page-cache frame.
    pub read_page_shows_shared_write: bool,
    /// Page never touched through the private mapping before the shared
    /// write: its first access maps the (already changed) page cache.
    pub untouched_page_shows_shared_write: bool,
    /// Page written through the private mapping (copied) before the shared
    /// write: its copy keeps the private bytes.
    pub copied_page_shows_shared_write: bool,
    pub copied_page_keeps_private_write: bool,
    /// The read page again, after it is written privately and the shared
    /// mapping writes once more: copied now, it stops showing shared writes.
    pub read_page_after_copy_shows_second_shared_write: bool,
}

/// Runs the visibility check on `file` (at least 3 pages; its bytes change).
pub fn measure_visibility(file: &DataFile) -> anyhow::Result<Visibility> {
    let mut private = os::map_private(file)?;
    let mut shared = os::map_shared_write(file)?;
    let page = os::page_size();
    let private_value = 0x11u8;
    let shared_value = 0x22u8;
    let second_shared_value = 0x33u8;
    std::hint::black_box(private[0]); // page 0: read only
    private[page] = private_value; // page 1: copied
    std::hint::black_box(&private[page]);
    // page 2: untouched
    for index in 0..3 {
        shared[index * page] = shared_value;
    }
    std::hint::black_box(&shared[..]);
    let read_page = std::hint::black_box(private[0]);
    let copied_page = std::hint::black_box(private[page]);
    let untouched_page = std::hint::black_box(private[2 * page]);
    private[0] = private_value;
    std::hint::black_box(&private[0]);
    shared[0] = second_shared_value;
    std::hint::black_box(&shared[0]);
    let read_page_after = std::hint::black_box(private[0]);
    Ok(Visibility {
        read_page_shows_shared_write: read_page == shared_value,
        untouched_page_shows_shared_write: untouched_page == shared_value,
        copied_page_shows_shared_write: copied_page == shared_value,
        copied_page_keeps_private_write: copied_page == private_value,
        read_page_after_copy_shows_second_shared_write: read_page_after == second_shared_value,
    })
}
