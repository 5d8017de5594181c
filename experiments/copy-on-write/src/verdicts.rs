//! Verdicts on S4 and S9, computed from this run's frames, fault counts and
//! memory figures. Thresholds are fixed here, before any run: "one copy" is
//! at least 90% of the file, "no copy" at most 10%, "k faults" is k within
//! 1% (at least 1 fault of slack for small k).

use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::stats::median;
use mmlab_core::{Claim, Verdict, format_size};

use crate::frames::{
    FramesReport, MOMENT_AFTER, MOMENT_BEFORE, VIEW_PRIVATE, VIEW_READ_BUFFER, VIEW_SHARED_CHILD,
    VIEW_SHARED_HERE,
};
use crate::memory_cost::{ColdStart, MemoryPoint, PATH_MMAP, PATH_READ};
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
/// `why_not_evicted` explains a failed eviction where the data folder's
/// filesystem does (tmpfs); the verdict itself comes from what was measured:
/// the frames, and the memory split only if every path started cold.
pub fn s4(frames: &FramesReport, memory: &[MemoryPoint], why_not_evicted: Option<&str>) -> Claim {
    let size = memory.first().map_or(0, |p| p.file_size_bytes) as f64;
    let cache = |path| memory_median(memory, path, |p| p.page_cache_growth_bytes as f64);
    let anon = |path| memory_median(memory, path, |p| p.rss_anon_growth_bytes as f64);
    let (read_cache, read_anon) = (cache(PATH_READ), anon(PATH_READ));
    let (mmap_cache, mmap_anon) = (cache(PATH_MMAP), anon(PATH_MMAP));
    let cold = ColdStart::of(memory);
    // A growth from a start that was not cold measures nothing: the memory
    // half is then not measured, never a failure of the claim.
    let (memory_sentence, memory_agrees) = if cold.measured() {
        let read_holds_two = read_cache >= 0.9 * size && read_anon >= 0.9 * size;
        let mmap_holds_one = mmap_cache >= 0.9 * size && mmap_anon <= 0.1 * size;
        (
            format!(
                "reading the {} file into a buffer held {} of page cache + {} of anonymous memory, mapping it {} of page cache + {} anonymous",
                format_size(size as u64),
                mib(read_cache),
                mib(read_anon),
                mib(mmap_cache),
                mib(mmap_anon),
            ),
            Some(read_holds_two && mmap_holds_one),
        )
    } else {
        (
            format!(
                "the memory split (page cache against anonymous memory) was not measured: {} of {} memory-cost paths started with the file still cached (up to {} of {}), so their growth shows nothing; {}",
                cold.n_warm_starts,
                cold.n_paths,
                mib(cold.most_cached_before_bytes as f64),
                mib(cold.file_size_bytes as f64),
                match why_not_evicted {
                    Some(why) => format!("{why}: use {DISK_DATA_DIR}"),
                    None =>
                        "the file could not be evicted (another process may map it)".to_string(),
                }
            ),
            None,
        )
    };

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
    // With one half not measured, the other decides, at most as a nuanced
    // hold: the evidence says which half is missing and why.
    let verdict = match (frames_agree, memory_agrees) {
        (Some(false), _) | (_, Some(false)) => Verdict::Refuted,
        (Some(true), Some(true)) => Verdict::Holds,
        (None, None) => Verdict::NotMeasured,
        (Some(true), None) | (None, Some(true)) => Verdict::HoldsWithNuance,
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
    /// Why the file could not be evicted, where the data folder's
    /// filesystem says (tmpfs); only explains a disk check that was missed.
    pub why_not_evicted: Option<&'a str>,
}

/// S9: MAP_PRIVATE changes stay private and never reach the file.
pub fn s9(inputs: &S9Inputs<'_>) -> Claim {
    let S9Inputs {
        frames,
        writes,
        other_process,
        file_unchanged_on_disk,
        visibility,
        why_not_evicted,
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
        match (disk_checked, why_not_evicted) {
            (true, _) => String::new(),
            (false, Some(why)) => format!(
                " (on disk: not checked: {why}; compared in memory only: use {DISK_DATA_DIR})"
            ),
            (false, None) =>
                " (on disk: not checked (file could not be evicted); page cache only)".to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::FrameRow;

    const SIZE: u64 = 4 << 20;
    const TMPFS: &str = "the data folder /mnt/x is on tmpfs, which keeps files in memory only (no storage to evict them to or read them from)";

    fn row(view: &str, pfn: u64) -> FrameRow {
        FrameRow {
            view: view.into(),
            moment: MOMENT_BEFORE.into(),
            pfn: format!("{pfn:#x}"),
            pfn_value: Some(pfn),
            same_as_page_cache: None,
            pagemap_file_page: None,
            pagemap_exclusive: None,
            pagemap_soft_dirty: None,
            kpageflags: None,
            kpageflags_anon: None,
            first_word_hex: String::new(),
            shows_file_bytes: true,
            shows_private_write: false,
        }
    }

    /// Frames as the kernel shows them: one frame for every mapping, another
    /// for the read() buffer; `None` for frames unreadable (no root).
    fn frames(readable: bool) -> FramesReport {
        FramesReport {
            rows: if readable {
                vec![
                    row(VIEW_SHARED_HERE, 0x100),
                    row(VIEW_SHARED_CHILD, 0x100),
                    row(VIEW_PRIVATE, 0x100),
                    row(VIEW_READ_BUFFER, 0x200),
                ]
            } else {
                Vec::new()
            },
            frames_unreadable: (!readable).then(|| "needs CAP_SYS_ADMIN".to_string()),
            page_cache_pfn: readable.then_some(0x100),
            file_bytes_unchanged: true,
            file_bytes_unchanged_on_disk: None,
            private_write_faults: 1,
        }
    }

    fn point(path: &str, cached_before: u64, cache_growth: u64, anon_growth: u64) -> MemoryPoint {
        MemoryPoint {
            path: path.into(),
            repetition: 0,
            file_size_bytes: SIZE,
            page_cache_before_bytes: cached_before,
            page_cache_growth_bytes: cache_growth as i64,
            meminfo_cached_growth_bytes: cache_growth as i64,
            rss_anon_growth_bytes: anon_growth as i64,
            rss_file_growth_bytes: 0,
            pss_growth_bytes: 0,
            mapping_rss_bytes: 0,
            mapping_pss_bytes: 0,
            mapping_private_clean_bytes: 0,
            mapping_private_dirty_bytes: 0,
            mapping_shared_clean_bytes: 0,
            mapping_shared_dirty_bytes: 0,
            other_process_pss_bytes: None,
            other_process_shared_clean_bytes: None,
            physical_copies: 0.0,
            elapsed_ns: 0,
        }
    }

    /// Cold starts: read() holds two copies, mmap one.
    fn cold_memory() -> Vec<MemoryPoint> {
        vec![
            point(PATH_READ, 0, SIZE, SIZE),
            point(PATH_MMAP, 0, SIZE, 0),
        ]
    }

    /// What tmpfs gives: the file is as cached before each path as after
    /// it, so no path grows the page cache.
    fn tmpfs_memory() -> Vec<MemoryPoint> {
        vec![
            point(PATH_READ, SIZE, 0, SIZE),
            point(PATH_MMAP, SIZE, 0, 0),
        ]
    }

    #[test]
    fn s4_holds_with_both_halves_measured() {
        let claim = s4(&frames(true), &cold_memory(), None);
        assert_eq!(claim.verdict, Verdict::Holds, "{}", claim.evidence);
    }

    #[test]
    fn s4_on_tmpfs_is_decided_by_the_frames_and_names_tmpfs() {
        let claim = s4(&frames(true), &tmpfs_memory(), Some(TMPFS));
        assert_eq!(
            claim.verdict,
            Verdict::HoldsWithNuance,
            "{}",
            claim.evidence
        );
        for needle in [
            "memory split (page cache against anonymous memory) was not measured",
            "2 of 2 memory-cost paths started with the file still cached (up to 4.0 MiB of 4.0 MiB)",
            "tmpfs",
            DISK_DATA_DIR,
        ] {
            assert!(
                claim.evidence.contains(needle),
                "{needle}: {}",
                claim.evidence
            );
        }
        assert!(
            !claim.evidence.contains("0.0 MiB of page cache"),
            "{}",
            claim.evidence
        );
    }

    #[test]
    fn s4_without_frames_and_without_eviction_is_not_measured() {
        let claim = s4(&frames(false), &tmpfs_memory(), Some(TMPFS));
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        assert!(
            claim.evidence.contains("frames not measured"),
            "{}",
            claim.evidence
        );
        // Off tmpfs the cause is not known: said as such, no filesystem named.
        let claim = s4(&frames(false), &tmpfs_memory(), None);
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);
        assert!(
            claim.evidence.contains("another process may map it"),
            "{}",
            claim.evidence
        );
    }

    #[test]
    fn s4_is_refuted_only_by_what_was_measured() {
        // A cold mmap path that held an anonymous copy contradicts the claim.
        let mut memory = cold_memory();
        memory[1].rss_anon_growth_bytes = SIZE as i64;
        let claim = s4(&frames(true), &memory, None);
        assert_eq!(claim.verdict, Verdict::Refuted, "{}", claim.evidence);
        // So does a read() buffer in the page-cache frame, with or without
        // the memory half.
        let mut same_frame = frames(true);
        same_frame.rows[3].pfn_value = Some(0x100);
        for memory in [cold_memory(), tmpfs_memory()] {
            let claim = s4(&same_frame, &memory, Some(TMPFS));
            assert_eq!(claim.verdict, Verdict::Refuted, "{}", claim.evidence);
        }
    }
}
