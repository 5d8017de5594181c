//! Verdicts on S3, S6, S13 and S15, computed from this run's numbers (the
//! medians, or maxima where a claim says "zero"), each with one sentence of
//! evidence carrying those numbers. Pure functions: the thresholds are here,
//! in one place, and tested on made-up numbers.

use mmlab_core::{Claim, Verdict, format_size};

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

/// Numbers for S6 (lazy loading). Counts are `None` when this run has no
/// sample of them (or a sample has them null): never read as 0.
#[derive(Debug, Clone, PartialEq)]
pub struct LazyNumbers {
    pub file_size_bytes: u64,
    pub n_pages: u64,
    /// Evicted file: pages in the page cache right after mmap.
    pub cold_resident_after_mmap: Option<u64>,
    /// Evicted file, one page touched: faults, major faults, pages cached after.
    pub cold_one_page_faults: Option<u64>,
    pub cold_one_page_major_faults: Option<u64>,
    pub cold_one_page_resident: Option<u64>,
    /// Storage reads the one-page touch caused (the readahead window).
    pub cold_one_page_read_bytes: Option<u64>,
    /// Warm file, every page touched once: faults.
    pub warm_all_faults: Option<u64>,
    /// The same warm file (cached by read()): the folio a page sits in, in
    /// pages (page-weighted mean), and the largest folio (kpageflags, root).
    pub warm_folio_mean_pages: Option<f64>,
    pub warm_largest_folio_pages: Option<u64>,
}

/// The counts S6 is decided from, all present.
struct LazyCounts {
    resident_after_mmap: u64,
    one_page_faults: u64,
    one_page_major_faults: u64,
    one_page_resident: u64,
    warm_all_faults: u64,
}

impl LazyNumbers {
    fn counts(&self) -> Result<LazyCounts, String> {
        let missing: Vec<&str> = [
            (
                self.cold_resident_after_mmap,
                "pages resident after mmap of the evicted file",
            ),
            (
                self.cold_one_page_faults,
                "faults touching one page of the evicted file",
            ),
            (
                self.cold_one_page_major_faults,
                "major faults touching one page of the evicted file",
            ),
            (
                self.cold_one_page_resident,
                "pages resident after touching one page of the evicted file",
            ),
            (
                self.warm_all_faults,
                "faults touching every page of the warm file",
            ),
        ]
        .iter()
        .filter(|(value, _)| value.is_none())
        .map(|(_, name)| *name)
        .collect();
        if !missing.is_empty() {
            return Err(missing.join(", "));
        }
        Ok(LazyCounts {
            resident_after_mmap: self.cold_resident_after_mmap.unwrap_or_default(),
            one_page_faults: self.cold_one_page_faults.unwrap_or_default(),
            one_page_major_faults: self.cold_one_page_major_faults.unwrap_or_default(),
            one_page_resident: self.cold_one_page_resident.unwrap_or_default(),
            warm_all_faults: self.warm_all_faults.unwrap_or_default(),
        })
    }
}

pub fn lazy_loading(n: &LazyNumbers) -> Claim {
    let size = format_size(n.file_size_bytes);
    let claim =
        |verdict, evidence: String| Claim::new("S6", verdict, evidence).with_scenario("touch-k");
    let c = match n.counts() {
        Ok(c) => c,
        Err(missing) => {
            return claim(
                Verdict::NotMeasured,
                format!(
                    "this run has no samples (or only uncounted ones) of: {missing}; rerun the touch-k scenario on the {size} file"
                ),
            );
        }
    };
    if c.resident_after_mmap > (n.n_pages / 100).max(1) {
        return claim(
            Verdict::Refuted,
            format!(
                "right after mmap of the evicted {size} file {} of its {} pages were already in the page cache: mmap itself loaded data",
                c.resident_after_mmap, n.n_pages
            ),
        );
    }
    if c.one_page_resident == 0 {
        return claim(
            Verdict::Refuted,
            format!(
                "touching one page of the evicted {size} file took {} faults but left 0 pages in the page cache",
                c.one_page_faults
            ),
        );
    }
    let per_fault = n.n_pages as f64 / c.warm_all_faults.max(1) as f64;
    let evidence = format!(
        "right after mmap of the evicted {size} file {} of {} pages were resident; touching 1 page took {} fault(s) ({} major), read {} from storage and made {} pages resident; touching all {} pages of the warm file took {} faults ({per_fault:.0} pages per fault)",
        c.resident_after_mmap,
        n.n_pages,
        c.one_page_faults,
        c.one_page_major_faults,
        n.cold_one_page_read_bytes
            .map_or("an unknown amount".to_string(), mib),
        c.one_page_resident,
        n.n_pages,
        c.warm_all_faults,
    );
    let evidence = match (n.warm_folio_mean_pages, n.warm_largest_folio_pages) {
        (Some(mean), Some(largest)) => format!(
            "{evidence}; the file cached the same way (evicted, then read()) sat in folios of up to {largest} pages (a page's folio held {mean:.0} pages on average, from kpageflags)"
        ),
        _ => evidence,
    };
    if c.one_page_resident <= 1 && c.warm_all_faults as f64 >= 0.9 * n.n_pages as f64 {
        claim(
            Verdict::Holds,
            format!("{evidence}: one page per reference"),
        )
    } else {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{evidence}: loading is lazy, but by readahead windows, fault-around and folios, not one page per reference"
            ),
        )
    }
}

/// One full pass: what it read from storage and how long it took (medians;
/// `None` when this run has no sample of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    pub storage_read_bytes: Option<u64>,
    /// perf's minor + major fault count, `None` when not counted.
    pub perf_faults: Option<u64>,
    pub elapsed_ns: Option<u64>,
    pub major_faults: Option<u64>,
    pub faults: Option<u64>,
}

fn count_text(count: Option<u64>) -> String {
    count.map_or("uncounted".to_string(), |c| c.to_string())
}

/// Numbers for S13 (the first access pays to fill the page cache).
#[derive(Debug, Clone, PartialEq)]
pub struct FirstAccessNumbers {
    pub file_size_bytes: u64,
    pub n_pages: u64,
    pub mmap_cold: Pass,
    pub mmap_warm: Pass,
    pub read_cold: Pass,
    pub read_warm: Pass,
    /// Evicted file mapped with MAP_POPULATE: the mmap call, then the touches.
    pub populate_mmap: Pass,
    pub populate_touch: Pass,
}

pub fn first_access(n: &FirstAccessNumbers) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S13", verdict, evidence).with_scenario("cold-vs-warm")
    };
    let (Some(mc), Some(mw), Some(rc), Some(rw)) = (
        n.mmap_cold.storage_read_bytes,
        n.mmap_warm.storage_read_bytes,
        n.read_cold.storage_read_bytes,
        n.read_warm.storage_read_bytes,
    ) else {
        return claim(
            Verdict::NotMeasured,
            "read_bytes of /proc/self/io is unreadable here, so storage reads cannot be counted (needs a kernel with CONFIG_TASK_IO_ACCOUNTING)".to_string(),
        );
    };
    let (
        Some(mmap_cold_ns),
        Some(mmap_cold_major),
        Some(mmap_cold_faults),
        Some(read_cold_ns),
        Some(mmap_warm_ns),
        Some(read_warm_ns),
    ) = (
        n.mmap_cold.elapsed_ns,
        n.mmap_cold.major_faults,
        n.mmap_cold.faults,
        n.read_cold.elapsed_ns,
        n.mmap_warm.elapsed_ns,
        n.read_warm.elapsed_ns,
    )
    else {
        return claim(
            Verdict::NotMeasured,
            "this run has no samples (or only uncounted ones) of the cold-vs-warm passes' time or faults".to_string(),
        );
    };
    let size = n.file_size_bytes as f64;
    let fraction = |b: u64| b as f64 / size;
    let numbers = format!(
        "cold, the mmap pass read {} from storage in {} with {} major of {} faults for {} pages, and read() read {} in {}; warm, they read {} and {} in {} and {}",
        mib(mc),
        ms(mmap_cold_ns),
        mmap_cold_major,
        mmap_cold_faults,
        n.n_pages,
        mib(rc),
        ms(read_cold_ns),
        mib(mw),
        mib(rw),
        ms(mmap_warm_ns),
        ms(read_warm_ns),
    );
    if fraction(mc) < 0.5 || fraction(rc) < 0.5 {
        return claim(
            Verdict::Refuted,
            format!(
                "{numbers}: a first access to the evicted {} file did not read it from storage",
                format_size(n.file_size_bytes)
            ),
        );
    }
    let both_pay = fraction(mc) >= 0.9 && fraction(rc) >= 0.9;
    let warm_free = fraction(mw) <= 0.01 && fraction(rw) <= 0.01;
    if !(both_pay && warm_free) {
        return claim(
            Verdict::HoldsWithNuance,
            format!("{numbers}: both paths pay, but not exactly once for the whole file"),
        );
    }
    let populate_read = n
        .populate_mmap
        .storage_read_bytes
        .filter(|b| fraction(*b) >= 0.9);
    if let Some(populate_read) = populate_read
        && n.populate_touch.faults == Some(0)
    {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{numbers}; but the price can be moved off the first access: with MAP_POPULATE the mmap call itself read {} in {} (its {} faults are counted by getrusage, {} by perf's software counter: faults taken by get_user_pages carry no user registers) and the first touches then took {} faults",
                mib(populate_read),
                n.populate_mmap
                    .elapsed_ns
                    .map_or("an unmeasured time".to_string(), ms),
                count_text(n.populate_mmap.faults),
                n.populate_mmap
                    .perf_faults
                    .map_or("none (uncounted)".to_string(), |f| f.to_string()),
                0
            ),
        )
    } else {
        claim(
            Verdict::Holds,
            format!("{numbers}: both paths pay once, on first access"),
        )
    }
}

/// One second-pass case for S15 (maxima over repetitions).
#[derive(Debug, Clone, PartialEq)]
pub struct SecondPassNumbers {
    pub case: String,
    /// `None` when this run has no (counted) sample of the pass.
    pub first_pass_faults: Option<u64>,
    pub second_pass_faults: Option<u64>,
    /// exceptions:page_fault_user: every user fault exception, even one
    /// that getrusage does not count.
    pub second_pass_fault_exceptions: Option<u64>,
    pub second_pass_syscalls: Option<u64>,
    pub second_pass_context_switches: Option<u64>,
}

pub fn after_setup(
    cases: &[SecondPassNumbers],
    n_repetitions: usize,
    syscall_reason: &str,
) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S15", verdict, evidence).with_scenario("second-pass")
    };
    let describe = |c: &SecondPassNumbers| {
        format!(
            "{}: {} faults{} and {} system calls in the second pass (first pass: {} faults)",
            c.case,
            count_text(c.second_pass_faults),
            c.second_pass_fault_exceptions
                .map(|e| format!(" ({e} fault exceptions)"))
                .unwrap_or_default(),
            c.second_pass_syscalls
                .map_or("uncounted".to_string(), |s| s.to_string()),
            count_text(c.first_pass_faults)
        )
    };
    let listed = cases.iter().map(describe).collect::<Vec<_>>().join("; ");
    if cases.is_empty() {
        return claim(
            Verdict::NotMeasured,
            "no second pass was measured".to_string(),
        );
    }
    if cases.iter().any(|c| c.second_pass_faults.is_none()) {
        return claim(
            Verdict::NotMeasured,
            format!("the second pass's faults were not counted in every case: {listed}"),
        );
    }
    let entered = |c: &SecondPassNumbers| {
        c.second_pass_faults.unwrap_or_default() > 0
            || c.second_pass_fault_exceptions.unwrap_or(0) > 0
            || c.second_pass_syscalls.unwrap_or(0) > 0
    };
    if cases.iter().any(entered) {
        return claim(
            Verdict::Refuted,
            format!(
                "{listed} (largest of {n_repetitions} repetitions): the second pass entered the kernel"
            ),
        );
    }
    if cases.iter().any(|c| c.second_pass_syscalls.is_none()) {
        return claim(
            Verdict::NotMeasured,
            format!("system calls could not be counted ({syscall_reason}); {listed}"),
        );
    }
    let switches = cases
        .iter()
        .map(|c| c.second_pass_context_switches)
        .collect::<Option<Vec<u64>>>()
        .and_then(|s| s.into_iter().max())
        .map_or("context switches uncounted".to_string(), |s| {
            format!("{s} context switches at most")
        });
    claim(
        Verdict::Holds,
        format!(
            "{listed} (largest of {n_repetitions} repetitions); only interrupts can still enter the kernel ({switches})"
        ),
    )
}

/// Numbers for S3 (page cache for data, buffer cache for metadata), KiB.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheNumbers {
    pub file_size_bytes: u64,
    /// Median changes over the cold reads; `None` when there was no cold
    /// read or /proc/meminfo lacks the field.
    pub data_cached_kib: Option<i64>,
    pub data_buffers_kib: Option<i64>,
    pub metadata: Result<MetadataNumbers, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataNumbers {
    pub n_files: usize,
    pub cached_kib: i64,
    pub buffers_kib: i64,
    pub sreclaimable_kib: i64,
    pub storage_read_bytes: Option<u64>,
}

pub fn where_data_lives(n: &CacheNumbers) -> Claim {
    let claim =
        |verdict, evidence: String| Claim::new("S3", verdict, evidence).with_scenario("meminfo");
    let file_kib = (n.file_size_bytes / 1024) as i64;
    let (Some(data_cached_kib), Some(data_buffers_kib)) = (n.data_cached_kib, n.data_buffers_kib)
    else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the change of Cached and Buffers over a cold read() of the {} file is unknown: no cold read ran or /proc/meminfo lacks the field",
                format_size(n.file_size_bytes)
            ),
        );
    };
    let data = format!(
        "a cold read() of the {} file added {data_cached_kib} KiB to Cached and {data_buffers_kib} KiB to Buffers",
        format_size(n.file_size_bytes),
    );
    let m = match &n.metadata {
        Err(reason) => {
            return claim(
                Verdict::NotMeasured,
                format!("{data}; metadata not measured: {reason}"),
            );
        }
        Ok(m) => m,
    };
    let metadata = format!(
        "statting {} fresh files with their metadata evicted added {} KiB to Buffers ({} read from storage), {} KiB to Cached and {} KiB to SReclaimable (dentries and inodes in the slab; Cached moves with other processes refilling their caches after the drop)",
        m.n_files,
        m.buffers_kib,
        m.storage_read_bytes.map_or("unknown".to_string(), mib),
        m.cached_kib,
        m.sreclaimable_kib
    );
    let data_in_cached = data_cached_kib as f64 >= 0.5 * file_kib as f64;
    let data_not_in_buffers = (data_buffers_kib as f64) < 0.1 * file_kib as f64;
    // The fresh files are empty: whatever this process read from storage
    // while statting them is metadata. Cached is not compared: after a
    // machine-wide drop, other processes refill it during the walk.
    let metadata_in_buffers = m.buffers_kib >= 64
        && match m.storage_read_bytes {
            Some(read) => m.buffers_kib as f64 >= 0.5 * (read / 1024) as f64,
            None => m.buffers_kib > m.cached_kib,
        };
    if data_in_cached && data_not_in_buffers && metadata_in_buffers {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{data}, while {metadata}: file data goes to Cached and metadata blocks to Buffers, but Buffers is the block device's part of one unified page cache, and parsed metadata lives in the slab (global counters: other processes add noise)"
            ),
        )
    } else {
        claim(
            Verdict::Refuted,
            format!(
                "{data}, while {metadata}: {} (global counters: other processes add noise)",
                if !data_in_cached || !data_not_in_buffers {
                    "file data did not land in Cached alone"
                } else {
                    "metadata did not land in Buffers"
                }
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy(resident_after_mmap: u64, one_page_resident: u64, warm_faults: u64) -> LazyNumbers {
        LazyNumbers {
            file_size_bytes: 64 << 20,
            n_pages: 16_384,
            cold_resident_after_mmap: Some(resident_after_mmap),
            cold_one_page_faults: Some(1),
            cold_one_page_major_faults: Some(1),
            cold_one_page_resident: Some(one_page_resident),
            cold_one_page_read_bytes: Some(one_page_resident * 4096),
            warm_all_faults: Some(warm_faults),
            warm_folio_mean_pages: Some(314.3),
            warm_largest_folio_pages: Some(512),
        }
    }

    fn check_s6(n: LazyNumbers, expected: Verdict, evidence_has: &str) {
        let c = lazy_loading(&n);
        assert_eq!(c.verdict, expected, "{}", c.evidence);
        assert!(c.evidence.contains(evidence_has), "{}", c.evidence);
        assert_eq!(c.id, "S6");
    }

    #[test]
    fn s6_verdicts() {
        check_s6(
            lazy(0, 442, 79),
            Verdict::HoldsWithNuance,
            "made 442 pages resident",
        );
        check_s6(
            lazy(0, 442, 79),
            Verdict::HoldsWithNuance,
            "(207 pages per fault)",
        );
        check_s6(
            lazy(0, 442, 79),
            Verdict::HoldsWithNuance,
            "folios of up to 512 pages (a page's folio held 314 pages on average",
        );
        let mut no_folios = lazy(0, 442, 79);
        no_folios.warm_largest_folio_pages = None; // not root: not said at all
        let c = lazy_loading(&no_folios);
        assert!(!c.evidence.contains("folio held"), "{}", c.evidence);
        check_s6(lazy(0, 1, 16_384), Verdict::Holds, "one page per reference");
        check_s6(
            lazy(16_384, 16_384, 79),
            Verdict::Refuted,
            "mmap itself loaded data",
        );
        check_s6(lazy(0, 0, 79), Verdict::Refuted, "left 0 pages");
        let mut unsampled = lazy(0, 442, 79);
        unsampled.cold_resident_after_mmap = None;
        check_s6(
            unsampled,
            Verdict::NotMeasured,
            "pages resident after mmap of the evicted file",
        );
    }

    fn pass(read: u64, faults: u64) -> Pass {
        Pass {
            storage_read_bytes: Some(read),
            perf_faults: Some(0),
            elapsed_ns: Some(1_000_000),
            major_faults: Some(faults.min(1)),
            faults: Some(faults),
        }
    }

    fn first(
        mmap_cold: u64,
        read_cold: u64,
        populate_mmap: u64,
        populate_touch_faults: u64,
    ) -> FirstAccessNumbers {
        FirstAccessNumbers {
            file_size_bytes: 64 << 20,
            n_pages: 16_384,
            mmap_cold: pass(mmap_cold, 440),
            mmap_warm: pass(0, 79),
            read_cold: pass(read_cold, 0),
            read_warm: pass(0, 0),
            populate_mmap: pass(populate_mmap, 1024),
            populate_touch: pass(0, populate_touch_faults),
        }
    }

    #[test]
    fn s13_verdicts() {
        let full = 64 << 20;
        let c = first_access(&first(full, full, full, 0));
        assert_eq!(c.verdict, Verdict::HoldsWithNuance, "{}", c.evidence);
        assert!(
            c.evidence
                .contains("MAP_POPULATE the mmap call itself read 64.0 MiB"),
            "{}",
            c.evidence
        );
        assert_eq!(
            first_access(&first(full, full, 0, 0)).verdict,
            Verdict::Holds
        );
        assert_eq!(
            first_access(&first(full, full, full, 12)).verdict,
            Verdict::Holds
        );
        assert_eq!(
            first_access(&first(full / 10, full, full, 0)).verdict,
            Verdict::Refuted
        );
        assert_eq!(
            first_access(&first(full * 7 / 10, full, full, 0)).verdict,
            Verdict::HoldsWithNuance
        );
        let mut unknown = first(full, full, full, 0);
        unknown.read_warm.storage_read_bytes = None;
        assert_eq!(first_access(&unknown).verdict, Verdict::NotMeasured);
        let mut unsampled = first(full, full, full, 0);
        unsampled.mmap_cold.faults = None;
        assert_eq!(first_access(&unsampled).verdict, Verdict::NotMeasured);
    }

    fn second(faults: u64, exceptions: Option<u64>, syscalls: Option<u64>) -> SecondPassNumbers {
        SecondPassNumbers {
            case: "file".to_string(),
            first_pass_faults: Some(79),
            second_pass_faults: Some(faults),
            second_pass_fault_exceptions: exceptions,
            second_pass_syscalls: syscalls,
            second_pass_context_switches: Some(1),
        }
    }

    #[test]
    fn s15_verdicts() {
        let check = |cases: &[SecondPassNumbers], expected: Verdict| {
            let c = after_setup(cases, 3, "no tracefs");
            assert_eq!(c.verdict, expected, "{}", c.evidence);
            c
        };
        check(
            &[second(0, Some(0), Some(0)), second(0, Some(0), Some(0))],
            Verdict::Holds,
        );
        let c = check(
            &[second(0, Some(0), Some(0)), second(0, Some(0), Some(2))],
            Verdict::Refuted,
        );
        assert!(c.evidence.contains("2 system calls"), "{}", c.evidence);
        check(&[second(0, Some(3), Some(0))], Verdict::Refuted);
        check(&[second(5, None, None)], Verdict::Refuted);
        let c = check(&[second(0, None, None)], Verdict::NotMeasured);
        assert!(c.evidence.contains("no tracefs"), "{}", c.evidence);
        check(&[], Verdict::NotMeasured);
        let mut unsampled = second(0, Some(0), Some(0));
        unsampled.second_pass_faults = None;
        check(&[unsampled], Verdict::NotMeasured);
        let c = check(&[second(0, Some(0), Some(0))], Verdict::Holds);
        assert!(
            c.evidence.contains("1 context switches at most"),
            "{}",
            c.evidence
        );
        let mut uncounted = second(0, Some(0), Some(0));
        uncounted.second_pass_context_switches = None;
        let c = check(&[uncounted], Verdict::Holds);
        assert!(
            c.evidence.contains("context switches uncounted"),
            "{}",
            c.evidence
        );
    }

    fn cache(
        data_cached: i64,
        data_buffers: i64,
        metadata: Result<(i64, i64), &str>,
    ) -> CacheNumbers {
        CacheNumbers {
            file_size_bytes: 64 << 20,
            data_cached_kib: Some(data_cached),
            data_buffers_kib: Some(data_buffers),
            metadata: metadata
                .map(|(cached, buffers)| MetadataNumbers {
                    n_files: 10_000,
                    cached_kib: cached,
                    buffers_kib: buffers,
                    sreclaimable_kib: 9000,
                    storage_read_bytes: Some(4 << 20),
                })
                .map_err(str::to_string),
        }
    }

    #[test]
    fn s3_verdicts() {
        let check = |n: CacheNumbers, expected: Verdict| {
            let c = where_data_lives(&n);
            assert_eq!(c.verdict, expected, "{}", c.evidence);
            c
        };
        let c = check(cache(65_536, 8, Ok((4, 4000))), Verdict::HoldsWithNuance);
        assert!(
            c.evidence.contains("added 65536 KiB to Cached"),
            "{}",
            c.evidence
        );
        check(cache(65_536, 8, Ok((4000, 10))), Verdict::Refuted);
        // Cached noise from other processes does not decide: Buffers took
        // what this process read (4 MiB).
        check(
            cache(65_536, 8, Ok((60_000, 4100))),
            Verdict::HoldsWithNuance,
        );
        check(cache(65_536, 8, Ok((0, 1000))), Verdict::Refuted);
        check(cache(100, 65_000, Ok((4, 4000))), Verdict::Refuted);
        let c = check(cache(65_536, 8, Err("needs root")), Verdict::NotMeasured);
        assert!(c.evidence.contains("needs root"), "{}", c.evidence);
    }
}
