//! Verdicts on S4 and S9, computed from this run's frames, fault counts and
//! memory figures. Thresholds are fixed here, before any run: "one copy" is
//! at least 90% of the file, "no copy" at most 10%, "k faults" is k within
//! 1% (at least 1 fault of slack for small k).

use mmlab_core::stats::median;
use mmlab_core::{Claim, Verdict, format_size};

use crate::frames::{
    FramesReport, MOMENT_AFTER, MOMENT_BEFORE, VIEW_PRIVATE, VIEW_READ_BUFFER, VIEW_SHARED_CHILD,
    VIEW_SHARED_HERE,
};
use crate::memory_cost::{MemoryPoint, PATH_MMAP, PATH_READ};
use crate::private_writes::{Visibility, WritePoint};

/// Whether `faults` is `expected` within 1% (and within 1 for small counts).
pub fn within_one_percent(faults: f64, expected: f64) -> bool {
    (faults - expected).abs() <= (expected * 0.01).max(1.0)
}

fn hex(pfn: Option<u64>) -> String {
    pfn.map_or_else(|| "?".to_string(), |p| format!("{p:#x}"))
}

/// Median of a field over the memory points of one path.
fn memory_median(points: &[MemoryPoint], path: &str, f: impl Fn(&MemoryPoint) -> f64) -> f64 {
    let values: Vec<f64> = points.iter().filter(|p| p.path == path).map(f).collect();
    median(&values).unwrap_or(f64::NAN)
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

/// S4: read() makes a second physical copy; mmap maps the page-cache page.
pub fn s4(frames: &FramesReport, memory: &[MemoryPoint]) -> Claim {
    let size = memory.first().map_or(0, |p| p.file_size_bytes) as f64;
    let cache = |path| memory_median(memory, path, |p| p.page_cache_growth_bytes as f64);
    let anon = |path| memory_median(memory, path, |p| p.rss_anon_growth_bytes as f64);
    let (read_cache, read_anon) = (cache(PATH_READ), anon(PATH_READ));
    let (mmap_cache, mmap_anon) = (cache(PATH_MMAP), anon(PATH_MMAP));
    let read_holds_two = read_cache >= 0.9 * size && read_anon >= 0.9 * size;
    let mmap_holds_one = mmap_cache >= 0.9 * size && mmap_anon <= 0.1 * size;
    let memory_sentence = format!(
        "reading the {} file into a buffer held {} of page cache + {} of anonymous memory, mapping it {} of page cache + {} anonymous",
        format_size(size as u64),
        mib(read_cache),
        mib(read_anon),
        mib(mmap_cache),
        mib(mmap_anon),
    );

    let page_cache = frames.page_cache_pfn;
    let (frame_sentence, frames_agree) = match &frames.frames_unreadable {
        Some(reason) => (format!("frames not measured: {reason}"), None),
        None => {
            let child = frames.pfn(VIEW_SHARED_CHILD, MOMENT_BEFORE);
            let private = frames.pfn(VIEW_PRIVATE, MOMENT_BEFORE);
            let buffer = frames.pfn(VIEW_READ_BUFFER, MOMENT_BEFORE);
            let shared_everywhere = child == page_cache && private == page_cache;
            let buffer_apart = buffer.is_some() && buffer != page_cache;
            (
                format!(
                    "page 0 of the file was frame {} through MAP_SHARED here, {} through MAP_SHARED in a second process and {} through MAP_PRIVATE before a write, while a read() buffer with the same bytes was frame {}",
                    hex(page_cache),
                    hex(child),
                    hex(private),
                    hex(buffer)
                ),
                Some(shared_everywhere && buffer_apart),
            )
        }
    };
    // Without frames only the memory half of S4 is measured: at most a
    // nuanced hold.
    let verdict = match (frames_agree, read_holds_two && mmap_holds_one) {
        (Some(false), _) | (_, false) => Verdict::Refuted,
        (Some(true), true) => Verdict::Holds,
        (None, true) => Verdict::HoldsWithNuance,
    };
    Claim::new(
        "S4",
        verdict,
        format!("{frame_sentence}; {memory_sentence}"),
    )
    .with_scenario("frames, memory-cost")
}

/// Everything S9 is decided from.
#[derive(Debug)]
pub struct S9Inputs<'a> {
    pub frames: &'a FramesReport,
    pub writes: &'a [WritePoint],
    /// (unchanged, checked) written pages seen by a second process.
    pub other_process: (u64, u64),
    pub file_unchanged_on_disk: Option<bool>,
    pub visibility: &'a Visibility,
}

/// S9: MAP_PRIVATE changes stay private and never reach the file.
pub fn s9(inputs: &S9Inputs<'_>) -> Claim {
    let S9Inputs {
        frames,
        writes,
        other_process,
        file_unchanged_on_disk,
        visibility,
    } = inputs;
    // Never reach the file, invisible to others.
    let written: usize = writes.iter().map(|w| w.n_pages_written).sum();
    let unchanged_shared: usize = writes
        .iter()
        .map(|w| w.n_written_pages_unchanged_shared)
        .sum();
    let unchanged_read: usize = writes
        .iter()
        .map(|w| w.n_written_pages_unchanged_read)
        .sum();
    let others_after = [VIEW_SHARED_HERE, VIEW_SHARED_CHILD].iter().all(|v| {
        frames
            .row(v, MOMENT_AFTER)
            .is_some_and(|r| r.shows_file_bytes)
    });
    let private_changed = frames
        .row(VIEW_PRIVATE, MOMENT_AFTER)
        .is_some_and(|r| r.shows_private_write);
    let stays_private = unchanged_shared == written
        && unchanged_read == written
        && other_process.0 == other_process.1
        && others_after
        && private_changed
        && frames.file_bytes_unchanged
        && *file_unchanged_on_disk != Some(false)
        && frames.file_bytes_unchanged_on_disk != Some(false);
    // "Not checked" is not a pass: without both disk checks the file was
    // compared in the page cache only, and S9 holds at most with nuance.
    let disk_checked =
        file_unchanged_on_disk.is_some() && frames.file_bytes_unchanged_on_disk.is_some();

    // One fault per written page (median over repetitions, per k).
    let mut ks: Vec<usize> = writes.iter().map(|w| w.n_pages_written).collect();
    ks.sort_unstable();
    ks.dedup();
    let per_k: Vec<(usize, f64, f64)> = ks
        .iter()
        .filter(|k| **k > 0)
        .map(|&k| {
            let of_k = writes.iter().filter(|w| w.n_pages_written == k);
            let faults: Vec<f64> = of_k.clone().map(|w| w.n_faults_write as f64).collect();
            let dirty: Vec<f64> = of_k
                .map(|w| w.n_pages_private_dirty_growth as f64)
                .collect();
            (
                k,
                median(&faults).unwrap_or(f64::NAN),
                median(&dirty).unwrap_or(f64::NAN),
            )
        })
        .collect();
    let one_fault_per_page = per_k
        .iter()
        .all(|(k, faults, _)| within_one_percent(*faults, *k as f64));
    let one_copy_per_page = per_k
        .iter()
        .all(|(k, _, dirty)| within_one_percent(*dirty, *k as f64));
    let (k_max, faults_max, dirty_max) = per_k.last().copied().unwrap_or((0, 0.0, 0.0));
    let (k_min, faults_min, _) = per_k.first().copied().unwrap_or((0, 0.0, 0.0));
    let n = writes.first().map_or(0, |w| w.n_pages_file);

    let new_frame = match &frames.frames_unreadable {
        Some(reason) => format!("frames not measured: {reason}"),
        None => format!(
            "the written page moved from page-cache frame {} to frame {}{}",
            hex(frames.page_cache_pfn),
            hex(frames.pfn(VIEW_PRIVATE, MOMENT_AFTER)),
            match frames
                .row(VIEW_PRIVATE, MOMENT_AFTER)
                .and_then(|r| r.kpageflags_anon)
            {
                Some(true) => " (anonymous)",
                _ => "",
            }
        ),
    };
    let mut evidence = format!(
        "writing k of {n} pages through MAP_PRIVATE took {faults_min:.0} fault(s) for k = {k_min} and {faults_max:.0} for k = {k_max} (Private_Dirty grew by {dirty_max:.0} pages), {new_frame}; {}a MAP_SHARED mapping, read() and a second process {} the old bytes{}",
        if disk_checked {
            "the file on disk, "
        } else {
            ""
        },
        if stays_private {
            "all kept"
        } else {
            "did NOT all keep"
        },
        if disk_checked {
            ""
        } else {
            " (on disk: not checked (file could not be evicted); page cache only)"
        }
    );
    let not_a_snapshot =
        visibility.read_page_shows_shared_write && !visibility.copied_page_shows_shared_write;
    let verdict = if !stays_private {
        Verdict::Refuted
    } else if !one_fault_per_page || !one_copy_per_page || not_a_snapshot || !disk_checked {
        Verdict::HoldsWithNuance
    } else {
        Verdict::Holds
    };
    if !one_fault_per_page || !one_copy_per_page {
        evidence.push_str("; but faults or copies were not one per written page");
    }
    if not_a_snapshot {
        evidence.push_str(
            "; but the private mapping is no snapshot: a page read yet not written showed a later MAP_SHARED write to the file (it still maps the page-cache frame), a copied page did not",
        );
    }
    Claim::new("S9", verdict, evidence).with_scenario("frames, private-writes")
}
