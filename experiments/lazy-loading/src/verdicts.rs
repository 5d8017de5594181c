//! The rules on S3, S6, S13 and S15: pure functions from the numbers the
//! judge ([`crate::judge`]) reads out of a result file to a claim with its
//! evidence, its rule (one sentence) and its thresholds. Every threshold is
//! a named constant here and is written into the claim's `thresholds`.
//! Tested on made-up numbers below, and on the reference run in
//! `tests/judge.rs`.

use mmlab_core::{Claim, Verdict, format_size};
use serde_json::{Value, json};

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn ms(ns: u64) -> String {
    format!("{:.1} ms", ns as f64 / 1e6)
}

fn count_text(count: Option<u64>) -> String {
    count.map_or("uncounted".to_string(), |c| c.to_string())
}

// ---------------------------------------------------------------- S6

/// S6: pages still cached before mmap of the "evicted" file, as a fraction
/// of its pages, above which the file was not cold (not-measured).
pub const S6_RESIDENT_BEFORE_MMAP_MAX_FRACTION: f64 = 0.01;
/// S6: pages the mmap call itself may make resident (fraction of the file).
pub const S6_LOADED_BY_MMAP_MAX_FRACTION: f64 = 0.01;
/// S6: pages one touch must leave in the page cache.
pub const S6_ONE_TOUCH_RESIDENT_MIN_PAGES: u64 = 1;
/// S6: pages one touch may cache for "one page per reference" (holds).
pub const S6_ONE_TOUCH_RESIDENT_MAX_PAGES_FOR_HOLDS: u64 = 1;
/// S6: faults per page a warm full pass must take for holds.
pub const S6_WARM_FAULTS_PER_PAGE_MIN_FOR_HOLDS: f64 = 0.9;

pub const S6_RULE: &str = "from touch-k medians over repetitions: not-measured when a count is missing or the evicted file still had more than 1% of its pages cached before mmap; refuted when the mmap call itself made more than 1% of the file resident or touching one page left no page resident; holds when one touch cached at most 1 page and a full pass over the warm file took a fault for at least 90% of its pages; otherwise holds-with-nuance (lazy, but by readahead windows, fault-around and folios)";

pub fn s6_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        (
            "resident_before_mmap_max_fraction",
            json!(S6_RESIDENT_BEFORE_MMAP_MAX_FRACTION),
        ),
        (
            "loaded_by_mmap_max_fraction",
            json!(S6_LOADED_BY_MMAP_MAX_FRACTION),
        ),
        (
            "one_touch_resident_min_pages",
            json!(S6_ONE_TOUCH_RESIDENT_MIN_PAGES),
        ),
        (
            "one_touch_resident_max_pages_for_holds",
            json!(S6_ONE_TOUCH_RESIDENT_MAX_PAGES_FOR_HOLDS),
        ),
        (
            "warm_faults_per_page_min_for_holds",
            json!(S6_WARM_FAULTS_PER_PAGE_MIN_FOR_HOLDS),
        ),
    ]
}

/// Numbers for S6 (lazy loading), medians over repetitions. Counts are
/// `None` when the file has no sample of them (or a sample has them null):
/// never read as 0.
#[derive(Debug, Clone, PartialEq)]
pub struct LazyNumbers {
    pub file_size_bytes: u64,
    pub n_pages: u64,
    /// Evicted file: pages in the page cache right before and right after mmap.
    pub cold_resident_before_mmap: Option<u64>,
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
    /// The conditions the numbers rest on: `read_ahead_kb` of the data
    /// folder's disk, `fault_around_bytes` (`None` when unreadable: the
    /// kernel's default is then named), the page size, the kernel release
    /// and the data folder's filesystem, as the fingerprint recorded them.
    pub read_ahead_kb: Option<u64>,
    pub fault_around_bytes: Option<u64>,
    pub page_size_bytes: u64,
    pub kernel: String,
    pub filesystem: String,
}

/// The kernel's default `fault_around_bytes` (mm/memory.c), named when the
/// run could not read the setting.
pub const DEFAULT_FAULT_AROUND_BYTES: u64 = 65_536;

/// The counts S6 is decided from, all present.
struct LazyCounts {
    resident_before_mmap: u64,
    resident_after_mmap: u64,
    one_page_faults: u64,
    one_page_major_faults: u64,
    one_page_resident: u64,
    warm_all_faults: u64,
}

impl LazyNumbers {
    fn counts(&self) -> Result<LazyCounts, String> {
        let named = [
            (
                self.cold_resident_before_mmap,
                "pages resident before mmap of the evicted file",
            ),
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
        ];
        let missing: Vec<&str> = named
            .iter()
            .filter(|(value, _)| value.is_none())
            .map(|(_, name)| *name)
            .collect();
        if !missing.is_empty() {
            return Err(missing.join(", "));
        }
        Ok(LazyCounts {
            resident_before_mmap: self.cold_resident_before_mmap.unwrap_or_default(),
            resident_after_mmap: self.cold_resident_after_mmap.unwrap_or_default(),
            one_page_faults: self.cold_one_page_faults.unwrap_or_default(),
            one_page_major_faults: self.cold_one_page_major_faults.unwrap_or_default(),
            one_page_resident: self.cold_one_page_resident.unwrap_or_default(),
            warm_all_faults: self.warm_all_faults.unwrap_or_default(),
        })
    }
}

fn fraction_of(count: u64, total: u64) -> f64 {
    count as f64 / total.max(1) as f64
}

pub fn lazy_loading(n: &LazyNumbers) -> Claim {
    let size = format_size(n.file_size_bytes);
    let claim = |verdict, evidence: String| {
        Claim::new("S6", verdict, evidence)
            .with_scenario("touch-k")
            .with_rule(S6_RULE, s6_thresholds())
    };
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
    if fraction_of(c.resident_before_mmap, n.n_pages) > S6_RESIDENT_BEFORE_MMAP_MAX_FRACTION {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the {size} file was not evicted: {} of its {} pages were still in the page cache right before mmap (median), so what mmap and a touch load cannot be seen",
                c.resident_before_mmap, n.n_pages
            ),
        );
    }
    let loaded_by_mmap = c.resident_after_mmap.saturating_sub(c.resident_before_mmap);
    if fraction_of(loaded_by_mmap, n.n_pages) > S6_LOADED_BY_MMAP_MAX_FRACTION {
        return claim(
            Verdict::Refuted,
            format!(
                "right after mmap of the evicted {size} file {} of its {} pages were in the page cache ({} before it, medians): mmap itself loaded data",
                c.resident_after_mmap, n.n_pages, c.resident_before_mmap
            ),
        );
    }
    if c.one_page_resident < S6_ONE_TOUCH_RESIDENT_MIN_PAGES {
        return claim(
            Verdict::Refuted,
            format!(
                "touching one page of the evicted {size} file took {} faults but left 0 pages in the page cache (median)",
                c.one_page_faults
            ),
        );
    }
    let per_fault = n.n_pages as f64 / c.warm_all_faults.max(1) as f64;
    let readahead = match n.read_ahead_kb {
        Some(kb) => format!(
            " (read_ahead_kb of the data folder's disk is {kb}: a fault's readahead reads up to {} pages)",
            kb * 1024 / n.page_size_bytes.max(1)
        ),
        None => " (read_ahead_kb of the data folder's disk is unknown)".to_string(),
    };
    let (around_bytes, around_source) = match n.fault_around_bytes {
        Some(b) => (b, ""),
        None => (
            DEFAULT_FAULT_AROUND_BYTES,
            ", the kernel's default, unreadable in this run",
        ),
    };
    let around_pages = (around_bytes / n.page_size_bytes.max(1)).max(1);
    let setting = format!("fault_around_bytes = {around_bytes}{around_source}");
    let per_fault_condition = if per_fault > around_pages as f64 + 0.5 {
        format!(
            "; one fault maps more than {around_pages} pages ({setting}) only where the page cache holds large folios (ext4 has them since Linux 6.16) and fault-around maps a large folio whole (Linux 6.18 and later); over single-page folios it maps at most {around_pages} (this run: Linux {} on {})",
            n.kernel, n.filesystem
        )
    } else {
        format!(
            "; fault-around maps up to {around_pages} pages per fault ({setting}; this run: Linux {} on {})",
            n.kernel, n.filesystem
        )
    };
    let evidence = format!(
        "right after mmap of the evicted {size} file {} of {} pages were resident; touching 1 page took {} fault(s) ({} major), read {} from storage and made {} pages resident{readahead}; touching all {} pages of the warm file took {} faults ({per_fault:.0} pages per fault){per_fault_condition}",
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
    if c.one_page_resident <= S6_ONE_TOUCH_RESIDENT_MAX_PAGES_FOR_HOLDS
        && fraction_of(c.warm_all_faults, n.n_pages) >= S6_WARM_FAULTS_PER_PAGE_MIN_FOR_HOLDS
    {
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

// ---------------------------------------------------------------- S13

/// S13: a cold pass reading less than this fraction of the file from
/// storage did not pay for it (refuted).
pub const S13_COLD_READ_MIN_FRACTION_NOT_REFUTED: f64 = 0.5;
/// S13: a cold pass pays "once for the whole file" from this fraction up.
pub const S13_COLD_READ_MIN_FRACTION: f64 = 0.9;
/// S13: a warm pass may read at most this fraction of the file.
pub const S13_WARM_READ_MAX_FRACTION: f64 = 0.01;
/// S13: pages still cached before a cold pass (fraction of the file) above
/// which the pass was not cold (not-measured).
pub const S13_RESIDENT_BEFORE_COLD_MAX_FRACTION: f64 = 0.01;
/// S13: MAP_POPULATE "moved the price into mmap" when the mmap call read at
/// least this fraction of the file...
pub const S13_POPULATE_READ_MIN_FRACTION: f64 = 0.9;
/// ... and the first touches then took at most this fraction of the pages
/// in faults and read at most this fraction of the file.
pub const S13_POPULATE_TOUCH_FAULTS_MAX_FRACTION: f64 = 0.01;
pub const S13_POPULATE_TOUCH_READ_MAX_FRACTION: f64 = 0.01;

pub const S13_RULE: &str = "from medians over repetitions of full passes: not-measured when /proc/self/io is unreadable, a pass or the MAP_POPULATE case is missing, or more than 1% of the file was still cached before a cold pass; refuted when a cold pass by mmap or by read() read under 50% of the file from storage; holds-with-nuance when either read under 90% cold or a warm pass read over 1%, or when MAP_POPULATE read at least 90% of the file inside the mmap call and the first touches then took at most 1% of the pages in faults and read at most 1% (the price is paid before the first access: no Linux run can do better, since MAP_POPULATE always prefaults a file mapping); holds when both paths pay once, on first access, and MAP_POPULATE did not move the price";

pub fn s13_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        (
            "cold_read_min_fraction_not_refuted",
            json!(S13_COLD_READ_MIN_FRACTION_NOT_REFUTED),
        ),
        ("cold_read_min_fraction", json!(S13_COLD_READ_MIN_FRACTION)),
        ("warm_read_max_fraction", json!(S13_WARM_READ_MAX_FRACTION)),
        (
            "resident_before_cold_max_fraction",
            json!(S13_RESIDENT_BEFORE_COLD_MAX_FRACTION),
        ),
        (
            "populate_read_min_fraction",
            json!(S13_POPULATE_READ_MIN_FRACTION),
        ),
        (
            "populate_touch_faults_max_fraction",
            json!(S13_POPULATE_TOUCH_FAULTS_MAX_FRACTION),
        ),
        (
            "populate_touch_read_max_fraction",
            json!(S13_POPULATE_TOUCH_READ_MAX_FRACTION),
        ),
    ]
}

/// One region of a full pass, medians over repetitions (`None` when the
/// file has no sample of it, or only null ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pass {
    pub storage_read_bytes: Option<u64>,
    /// perf's minor + major fault count, `None` when not counted.
    pub perf_faults: Option<u64>,
    pub elapsed_ns: Option<u64>,
    pub major_faults: Option<u64>,
    pub faults: Option<u64>,
    /// Pages of the file in the page cache right before the region.
    pub resident_before: Option<u64>,
    /// Every sample of the region summed every byte of the file (its
    /// `access`), so its time can be set beside another such pass.
    pub every_byte: bool,
}

/// Numbers for S13 (the first access pays to fill the page cache).
#[derive(Debug, Clone, PartialEq)]
pub struct FirstAccessNumbers {
    pub file_size_bytes: u64,
    pub n_pages: u64,
    /// The cold mmap pass: its mmap call (resident_before is read there),
    /// then its touches.
    pub mmap_cold_call: Pass,
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
        Claim::new("S13", verdict, evidence)
            .with_scenario("cold-vs-warm, advice")
            .with_rule(S13_RULE, s13_thresholds())
    };
    let (Some(mc), Some(mw), Some(rc), Some(rw)) = (
        n.mmap_cold.storage_read_bytes,
        n.mmap_warm.storage_read_bytes,
        n.read_cold.storage_read_bytes,
        n.read_warm.storage_read_bytes,
    ) else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "read_bytes of /proc/self/io is unreadable here (or the cold-vs-warm passes are missing), so the storage reads of passes over the {} file cannot be counted (needs a kernel with CONFIG_TASK_IO_ACCOUNTING)",
                format_size(n.file_size_bytes)
            ),
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
            format!(
                "this run has no samples (or only uncounted ones) of the cold-vs-warm passes' time or faults over the {} file",
                format_size(n.file_size_bytes)
            ),
        );
    };
    let (Some(mmap_before), Some(read_before)) = (
        n.mmap_cold_call.resident_before,
        n.read_cold.resident_before,
    ) else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "this run did not record how much of the {} file was cached before its cold passes, so they may not have been cold",
                format_size(n.file_size_bytes)
            ),
        );
    };
    let still_cached = mmap_before.max(read_before);
    if fraction_of(still_cached, n.n_pages) > S13_RESIDENT_BEFORE_COLD_MAX_FRACTION {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the file was not evicted before its cold passes: {mmap_before} (mmap) and {read_before} (read()) of its {} pages were still cached (medians)",
                n.n_pages
            ),
        );
    }
    let fraction = |b: u64| b as f64 / n.file_size_bytes.max(1) as f64;
    // Times are set side by side only when both passes did the same work:
    // each summed every byte of the file.
    let equal_work = [&n.mmap_cold, &n.mmap_warm, &n.read_cold, &n.read_warm]
        .iter()
        .all(|p| p.every_byte);
    let numbers = if equal_work {
        format!(
            "both passes summed every byte of the file with the same loop (mmap through the mapping, read() through a 1 MiB buffer); cold, the mmap pass read {} from storage in {} with {} major of {} faults for {} pages, and the read() pass read {} in {}; warm, they read {} and {} in {} and {} (times vary with the machine's load)",
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
        )
    } else {
        format!(
            "cold, the mmap pass read {} from storage with {} major of {} faults for {} pages, and the read() pass read {}; warm, they read {} and {} (their times are not compared: in this run the mmap pass read one byte per page while read() copied every byte)",
            mib(mc),
            mmap_cold_major,
            mmap_cold_faults,
            n.n_pages,
            mib(rc),
            mib(mw),
            mib(rw),
        )
    };
    if fraction(mc) < S13_COLD_READ_MIN_FRACTION_NOT_REFUTED
        || fraction(rc) < S13_COLD_READ_MIN_FRACTION_NOT_REFUTED
    {
        return claim(
            Verdict::Refuted,
            format!(
                "{numbers}: a first access to the evicted {} file did not read it from storage",
                format_size(n.file_size_bytes)
            ),
        );
    }
    let both_pay =
        fraction(mc) >= S13_COLD_READ_MIN_FRACTION && fraction(rc) >= S13_COLD_READ_MIN_FRACTION;
    let warm_free =
        fraction(mw) <= S13_WARM_READ_MAX_FRACTION && fraction(rw) <= S13_WARM_READ_MAX_FRACTION;
    if !(both_pay && warm_free) {
        return claim(
            Verdict::HoldsWithNuance,
            format!("{numbers}: both paths pay, but not exactly once for the whole file"),
        );
    }
    let (Some(populate_read), Some(touch_faults), Some(touch_read)) = (
        n.populate_mmap.storage_read_bytes,
        n.populate_touch.faults,
        n.populate_touch.storage_read_bytes,
    ) else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "{numbers}; but the MAP_POPULATE case (cold) is missing or uncounted, so whether the price can be paid before the first access is not known"
            ),
        );
    };
    let moved = fraction(populate_read) >= S13_POPULATE_READ_MIN_FRACTION
        && fraction_of(touch_faults, n.n_pages) <= S13_POPULATE_TOUCH_FAULTS_MAX_FRACTION
        && fraction(touch_read) <= S13_POPULATE_TOUCH_READ_MAX_FRACTION;
    let populate = format!(
        "with MAP_POPULATE the mmap call itself read {} in {} (its {} faults are counted by getrusage, {} by perf's software counter: faults taken by get_user_pages carry no user registers) and the first touches then took {touch_faults} faults and read {}",
        mib(populate_read),
        n.populate_mmap
            .elapsed_ns
            .map_or("an unmeasured time".to_string(), ms),
        count_text(n.populate_mmap.faults),
        n.populate_mmap
            .perf_faults
            .map_or("none (uncounted)".to_string(), |f| f.to_string()),
        mib(touch_read),
    );
    if moved {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{numbers}: both paths pay once; but the price need not be paid by the first access: {populate}; no Linux run can do better, since MAP_POPULATE always prefaults a file mapping"
            ),
        )
    } else {
        claim(
            Verdict::Holds,
            format!("{numbers}: both paths pay once, on first access ({populate})"),
        )
    }
}

// ---------------------------------------------------------------- S15

/// S15: the median over repetitions of a second pass's system calls may be
/// at most this (above: refuted).
pub const S15_SYSCALLS_MEDIAN_MAX: u64 = 0;
/// S15: the median of a second pass's faults for holds.
pub const S15_FAULTS_MEDIAN_MAX_FOR_HOLDS: u64 = 0;
/// S15: the median of a second pass's faults, as a fraction of the pages,
/// above which the pass faulted again (refuted); between this and 0,
/// holds-with-nuance.
pub const S15_FAULTS_MEDIAN_MAX_FRACTION: f64 = 0.01;

/// What the second passes do not exercise, each of which can fault again
/// after set-up: S15's evidence names them beside what was tested.
pub const S15_NOT_TESTED: &str = "not tested, and each able to fault again after set-up: writes to a MAP_SHARED file mapping after writeback (clean pages are write-protected again to catch the next write), NUMA hinting faults (automatic NUMA balancing), page migration or compaction, and reclaim of the mapped pages";

pub const S15_RULE: &str = "per second-pass case, over repetitions: the median of the faults (getrusage, or exceptions:page_fault_user where larger) and of the system calls (raw_syscalls:sys_enter); refuted when a median of system calls is above 0 or a median of faults above 1% of the pages; not-measured when faults or system calls were not counted and nothing refutes; holds-with-nuance when a median of faults is above 0 within that 1%; holds when every median is 0 (repetitions with stray counts are named in the evidence, not a refutation)";

pub fn s15_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        ("syscalls_median_max", json!(S15_SYSCALLS_MEDIAN_MAX)),
        (
            "faults_median_max_for_holds",
            json!(S15_FAULTS_MEDIAN_MAX_FOR_HOLDS),
        ),
        (
            "faults_median_max_fraction",
            json!(S15_FAULTS_MEDIAN_MAX_FRACTION),
        ),
    ]
}

/// One second-pass case for S15: one entry per repetition (`None` where
/// that repetition did not count it).
#[derive(Debug, Clone, PartialEq)]
pub struct SecondPassNumbers {
    pub case: String,
    pub n_pages: u64,
    /// Median of the first pass's faults.
    pub first_pass_faults: Option<u64>,
    pub second_pass_faults: Vec<Option<u64>>,
    /// exceptions:page_fault_user: every user fault exception, even one
    /// that getrusage does not count.
    pub second_pass_fault_exceptions: Vec<Option<u64>>,
    pub second_pass_syscalls: Vec<Option<u64>>,
    pub second_pass_context_switches: Vec<Option<u64>>,
}

/// The median of counts, `None` when there is none or any is uncounted.
fn median_of(values: &[Option<u64>]) -> Option<u64> {
    let values: Vec<f64> = values
        .iter()
        .map(|v| v.map(|v| v as f64))
        .collect::<Option<_>>()?;
    mmlab_core::stats::median(&values).map(|m| m.round() as u64)
}

impl SecondPassNumbers {
    /// Per repetition: the larger of the faults and the fault exceptions.
    fn entries(&self) -> Vec<Option<u64>> {
        self.second_pass_faults
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let exceptions = self.second_pass_fault_exceptions.get(i).copied().flatten();
                f.map(|f| f.max(exceptions.unwrap_or(0)))
            })
            .collect()
    }

    fn faults_median(&self) -> Option<u64> {
        median_of(&self.entries())
    }

    fn syscalls_median(&self) -> Option<u64> {
        median_of(&self.second_pass_syscalls)
    }

    /// Repetitions where the pass entered the kernel at all: "rep 2: 1 fault".
    fn strays(&self) -> Vec<String> {
        let entries = self.entries();
        (0..entries.len())
            .filter_map(|i| {
                let faults = entries[i].unwrap_or(0);
                let calls = self
                    .second_pass_syscalls
                    .get(i)
                    .copied()
                    .flatten()
                    .unwrap_or(0);
                (faults > 0 || calls > 0)
                    .then(|| format!("repetition {i}: {faults} fault(s), {calls} system call(s)"))
            })
            .collect()
    }

    fn describe(&self) -> String {
        let n = self.second_pass_faults.len();
        format!(
            "{}: {} faults{} and {} system calls in the second pass (median of {n}; first pass: {} faults)",
            self.case,
            count_text(median_of(&self.second_pass_faults)),
            median_of(&self.second_pass_fault_exceptions)
                .map(|e| format!(" ({e} fault exceptions)"))
                .unwrap_or_default(),
            count_text(self.syscalls_median()),
            count_text(self.first_pass_faults)
        )
    }
}

/// What a second-pass case exercised, in words.
fn tested_access(case: &str) -> String {
    match case {
        "file MAP_SHARED, read" => "reads of a warm MAP_SHARED file mapping".to_string(),
        "anonymous MAP_PRIVATE, write" => {
            "writes to private anonymous memory already written once".to_string()
        }
        other => format!("the case \"{other}\""),
    }
}

pub fn after_setup(cases: &[SecondPassNumbers], syscall_reason: &str) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S15", verdict, evidence)
            .with_scenario("second-pass")
            .with_rule(S15_RULE, s15_thresholds())
    };
    if cases.is_empty() || cases.iter().all(|c| c.second_pass_faults.is_empty()) {
        return claim(
            Verdict::NotMeasured,
            "no second pass was measured (0 samples)".to_string(),
        );
    }
    let listed = cases
        .iter()
        .map(SecondPassNumbers::describe)
        .collect::<Vec<_>>()
        .join("; ");
    let strays: Vec<String> = cases
        .iter()
        .flat_map(|c| {
            c.strays()
                .into_iter()
                .map(move |s| format!("{} {s}", c.case))
        })
        .collect();
    let strays = if strays.is_empty() {
        "no repetition entered the kernel".to_string()
    } else {
        format!("strays: {}", strays.join(", "))
    };
    let faulted_again = |c: &SecondPassNumbers| {
        c.faults_median()
            .is_some_and(|f| fraction_of(f, c.n_pages) > S15_FAULTS_MEDIAN_MAX_FRACTION)
    };
    let called = |c: &SecondPassNumbers| {
        c.syscalls_median()
            .is_some_and(|s| s > S15_SYSCALLS_MEDIAN_MAX)
    };
    if cases.iter().any(|c| faulted_again(c) || called(c)) {
        return claim(
            Verdict::Refuted,
            format!("{listed} ({strays}): the second pass entered the kernel in most repetitions"),
        );
    }
    if cases.iter().any(|c| c.faults_median().is_none()) {
        return claim(
            Verdict::NotMeasured,
            format!("the second pass's faults were not counted in every case: {listed}"),
        );
    }
    if cases.iter().any(|c| c.syscalls_median().is_none()) {
        return claim(
            Verdict::NotMeasured,
            format!("system calls could not be counted ({syscall_reason}); {listed}"),
        );
    }
    let switches = cases
        .iter()
        .flat_map(|c| c.second_pass_context_switches.iter().copied())
        .collect::<Option<Vec<u64>>>()
        .and_then(|s| s.into_iter().max())
        .map_or("context switches uncounted".to_string(), |s| {
            format!("{s} context switches at most")
        });
    let scope = format!(
        "tested: {}; {S15_NOT_TESTED}",
        cases
            .iter()
            .map(|c| tested_access(&c.case))
            .collect::<Vec<_>>()
            .join(" and ")
    );
    if cases
        .iter()
        .any(|c| c.faults_median().unwrap_or(0) > S15_FAULTS_MEDIAN_MAX_FOR_HOLDS)
    {
        return claim(
            Verdict::HoldsWithNuance,
            format!(
                "{listed} ({strays}): set-up is over, yet most repetitions still took a few faults (within 1% of the pages): reclaim, NUMA balancing or khugepaged can take pages away and back; {scope}"
            ),
        );
    }
    claim(
        Verdict::Holds,
        format!(
            "{listed} ({strays}); {scope}; without a fault or a system call, an interrupt (the timer's, say) still enters the kernel during a pass ({switches})"
        ),
    )
}

// ---------------------------------------------------------------- S3

/// S3: the cold read() of the file must read at least this fraction of it
/// from storage, else it was not cold (not-measured).
pub const S3_COLD_READ_MIN_FRACTION: f64 = 0.5;
/// S3: file data "went to Cached" when Cached grew by this fraction of it.
pub const S3_DATA_IN_CACHED_MIN_FRACTION: f64 = 0.5;
/// S3: and Buffers grew by less than this fraction of it.
pub const S3_DATA_IN_BUFFERS_MAX_FRACTION: f64 = 0.1;
/// S3: the stat walk must read at least this much from storage, else the
/// metadata was not evicted (not-measured).
pub const S3_METADATA_READ_MIN_KIB: i64 = 64;
/// S3: metadata "went to Buffers" when Buffers grew by this much...
pub const S3_METADATA_BUFFERS_MIN_KIB: i64 = 64;
/// ... and by this fraction of what the walk read from storage.
pub const S3_METADATA_BUFFERS_MIN_FRACTION_OF_READ: f64 = 0.5;
/// S3: holds when the slab (SReclaimable: parsed dentries and inodes) grew
/// by at most this many times what Buffers grew; beyond, most metadata
/// memory is outside the buffer cache (holds-with-nuance).
pub const S3_SLAB_TO_BUFFERS_MAX_RATIO_FOR_HOLDS: f64 = 1.0;

/// Where other filesystems keep metadata: the S3 evidence says that
/// "metadata blocks go to Buffers" is the measured filesystem's behaviour.
pub const S3_OTHER_FILESYSTEMS: &str = "other filesystems differ: XFS keeps metadata in its own buffer cache, outside Buffers, and btrfs in the page cache of an internal inode, counted in Cached";

pub const S3_RULE: &str = "from /proc/meminfo changes (medians over repetitions): not-measured when the metadata could not be evicted (the reason named), a field is missing, the cold read() read under 50% of the file from storage, or the stat walk read under 64 KiB (nothing was cold); refuted when the cold read() added under 50% of the file to Cached or 10% or more to Buffers, or the stat walk added under 64 KiB or under half of what it read to Buffers; holds when the slab (SReclaimable) grew by at most what Buffers grew; holds-with-nuance when it grew more (most of the metadata's memory is parsed dentries and inodes, outside the buffer cache)";

pub fn s3_thresholds() -> Vec<(&'static str, Value)> {
    vec![
        ("cold_read_min_fraction", json!(S3_COLD_READ_MIN_FRACTION)),
        (
            "data_in_cached_min_fraction",
            json!(S3_DATA_IN_CACHED_MIN_FRACTION),
        ),
        (
            "data_in_buffers_max_fraction",
            json!(S3_DATA_IN_BUFFERS_MAX_FRACTION),
        ),
        ("metadata_read_min_kib", json!(S3_METADATA_READ_MIN_KIB)),
        (
            "metadata_buffers_min_kib",
            json!(S3_METADATA_BUFFERS_MIN_KIB),
        ),
        (
            "metadata_buffers_min_fraction_of_read",
            json!(S3_METADATA_BUFFERS_MIN_FRACTION_OF_READ),
        ),
        (
            "slab_to_buffers_max_ratio_for_holds",
            json!(S3_SLAB_TO_BUFFERS_MAX_RATIO_FOR_HOLDS),
        ),
    ]
}

/// Numbers for S3 (page cache for data, buffer cache for metadata), KiB,
/// medians over repetitions.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheNumbers {
    pub file_size_bytes: u64,
    /// Changes over the cold reads; `None` when there was no cold read or
    /// /proc/meminfo lacks the field.
    pub data_cached_kib: Option<i64>,
    pub data_buffers_kib: Option<i64>,
    /// What the cold reads read from storage.
    pub data_read_bytes: Option<u64>,
    pub metadata: Result<MetadataNumbers, String>,
    /// The data folder's filesystem (the fingerprint's `data_dir_fs`):
    /// where metadata lands is that filesystem's choice.
    pub filesystem: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetadataNumbers {
    pub n_files: u64,
    pub cached_kib: i64,
    pub buffers_kib: i64,
    pub sreclaimable_kib: i64,
    pub storage_read_bytes: Option<u64>,
}

pub fn where_data_lives(n: &CacheNumbers) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S3", verdict, evidence)
            .with_scenario("meminfo")
            .with_rule(S3_RULE, s3_thresholds())
    };
    let size = format_size(n.file_size_bytes);
    let file_kib = (n.file_size_bytes / 1024) as f64;
    let (Some(data_cached_kib), Some(data_buffers_kib)) = (n.data_cached_kib, n.data_buffers_kib)
    else {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the change of Cached and Buffers over a cold read() of the {size} file is unknown: no cold read ran or /proc/meminfo lacks the field"
            ),
        );
    };
    let data = format!(
        "a cold read() of the {size} file added {data_cached_kib} KiB to Cached and {data_buffers_kib} KiB to Buffers{}",
        n.data_read_bytes.map_or(String::new(), |b| format!(
            " ({} read from storage)",
            mib(b)
        ))
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
    match n.data_read_bytes {
        Some(read) if (read as f64) >= S3_COLD_READ_MIN_FRACTION * n.file_size_bytes as f64 => {}
        read => {
            return claim(
                Verdict::NotMeasured,
                format!(
                    "{data}: the file was not cold (the read read {} from storage), so where its data lands is not seen; {metadata}",
                    read.map_or("an unknown amount".to_string(), mib)
                ),
            );
        }
    }
    let metadata_read_kib = match m.storage_read_bytes {
        Some(read) if (read / 1024) as i64 >= S3_METADATA_READ_MIN_KIB => (read / 1024) as i64,
        _ => {
            return claim(
                Verdict::NotMeasured,
                format!(
                    "{data}, while {metadata}: the stat walk read too little from storage for the metadata to have been evicted"
                ),
            );
        }
    };
    let data_in_cached = data_cached_kib as f64 >= S3_DATA_IN_CACHED_MIN_FRACTION * file_kib;
    let data_not_in_buffers =
        (data_buffers_kib as f64) < S3_DATA_IN_BUFFERS_MAX_FRACTION * file_kib;
    // The fresh files are empty: whatever this process read from storage
    // while statting them is metadata. Cached is not compared: after a
    // machine-wide drop, other processes refill it during the walk.
    let metadata_in_buffers = m.buffers_kib >= S3_METADATA_BUFFERS_MIN_KIB
        && m.buffers_kib as f64
            >= S3_METADATA_BUFFERS_MIN_FRACTION_OF_READ * metadata_read_kib as f64;
    if !(data_in_cached && data_not_in_buffers && metadata_in_buffers) {
        return claim(
            Verdict::Refuted,
            format!(
                "{data}, while {metadata}: {} (global counters: other processes add noise)",
                if !data_in_cached || !data_not_in_buffers {
                    "file data did not land in Cached alone".to_string()
                } else {
                    format!(
                        "metadata did not land in Buffers on {} (the data folder's filesystem)",
                        n.filesystem
                    )
                }
            ),
        );
    }
    if m.sreclaimable_kib as f64 <= S3_SLAB_TO_BUFFERS_MAX_RATIO_FOR_HOLDS * m.buffers_kib as f64 {
        claim(
            Verdict::Holds,
            format!(
                "{data}, while {metadata}: file data went to Cached and, on {fs} (the data folder's filesystem), metadata blocks to Buffers, which hold more of the metadata than the slab does (on Linux, Buffers is the block device's part of one unified page cache; {elsewhere}; global counters: other processes add noise)",
                fs = n.filesystem,
                elsewhere = S3_OTHER_FILESYSTEMS,
            ),
        )
    } else {
        claim(
            Verdict::HoldsWithNuance,
            format!(
                "{data}, while {metadata}: file data goes to Cached and, on {fs} (the data folder's filesystem), metadata blocks to Buffers, but Buffers is the block device's part of one unified page cache, and the slab grew by more than Buffers: most of the metadata's memory is parsed dentries and inodes, outside the buffer cache ({elsewhere}; global counters: other processes add noise)",
                fs = n.filesystem,
                elsewhere = S3_OTHER_FILESYSTEMS,
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
            cold_resident_before_mmap: Some(0),
            cold_resident_after_mmap: Some(resident_after_mmap),
            cold_one_page_faults: Some(1),
            cold_one_page_major_faults: Some(1),
            cold_one_page_resident: Some(one_page_resident),
            cold_one_page_read_bytes: Some(one_page_resident * 4096),
            warm_all_faults: Some(warm_faults),
            warm_folio_mean_pages: Some(314.3),
            warm_largest_folio_pages: Some(512),
            read_ahead_kb: Some(8192),
            fault_around_bytes: None,
            page_size_bytes: 4096,
            kernel: "6.18.44".to_string(),
            filesystem: "ext4".to_string(),
        }
    }

    fn check_s6(n: LazyNumbers, expected: Verdict, evidence_has: &str) {
        let c = lazy_loading(&n);
        assert_eq!(c.verdict, expected, "{}", c.evidence);
        assert!(c.evidence.contains(evidence_has), "{}", c.evidence);
        assert_eq!(c.id, "S6");
        assert!(!c.rule.is_empty() && !c.thresholds.is_empty());
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
        // The conditions the numbers rest on are named: the disk's
        // readahead, fault_around_bytes, the kernel and the filesystem.
        check_s6(
            lazy(0, 2048, 281),
            Verdict::HoldsWithNuance,
            "(read_ahead_kb of the data folder's disk is 8192: a fault's readahead reads up to 2048 pages)",
        );
        check_s6(
            lazy(0, 2048, 281),
            Verdict::HoldsWithNuance,
            "one fault maps more than 16 pages (fault_around_bytes = 65536, the kernel's default, unreadable in this run) only where the page cache holds large folios (ext4 has them since Linux 6.16) and fault-around maps a large folio whole (Linux 6.18 and later); over single-page folios it maps at most 16 (this run: Linux 6.18.44 on ext4)",
        );
        let mut old_kernel = lazy(0, 2048, 1024);
        old_kernel.kernel = "6.1.0".to_string();
        old_kernel.fault_around_bytes = Some(65_536);
        old_kernel.read_ahead_kb = None;
        let c = lazy_loading(&old_kernel);
        assert!(
            c.evidence.contains("(16 pages per fault); fault-around maps up to 16 pages per fault (fault_around_bytes = 65536; this run: Linux 6.1.0 on ext4)"),
            "{}",
            c.evidence
        );
        assert!(
            c.evidence
                .contains("read_ahead_kb of the data folder's disk is unknown")
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
        // A file that could not be evicted is not evidence that mmap loaded it.
        let mut not_cold = lazy(16_384, 16_384, 79);
        not_cold.cold_resident_before_mmap = Some(16_384);
        check_s6(not_cold, Verdict::NotMeasured, "was not evicted");
    }

    fn pass(read: u64, faults: u64) -> Pass {
        Pass {
            storage_read_bytes: Some(read),
            perf_faults: Some(0),
            elapsed_ns: Some(1_000_000),
            major_faults: Some(faults.min(1)),
            faults: Some(faults),
            resident_before: Some(0),
            every_byte: true,
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
            mmap_cold_call: pass(0, 0),
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
        assert!(c.evidence.contains("no Linux run can do better"));
        // Times stand side by side only when both passes summed every byte.
        assert!(
            c.evidence
                .contains("both passes summed every byte of the file with the same loop")
                && c.evidence.contains("in 1.0 ms"),
            "{}",
            c.evidence
        );
        let mut unequal = first(full, full, full, 0);
        unequal.mmap_cold.every_byte = false;
        unequal.mmap_warm.every_byte = false;
        let c = first_access(&unequal);
        assert_eq!(c.verdict, Verdict::HoldsWithNuance, "{}", c.evidence);
        assert!(
            c.evidence.contains("their times are not compared")
                && !c.evidence.contains("in 1.0 ms and"),
            "{}",
            c.evidence
        );
        // A stray fault after MAP_POPULATE does not decide.
        assert_eq!(
            first_access(&first(full, full, full, 12)).verdict,
            Verdict::HoldsWithNuance
        );
        // MAP_POPULATE that did not populate: the first access pays.
        assert_eq!(
            first_access(&first(full, full, 0, 0)).verdict,
            Verdict::Holds
        );
        assert_eq!(
            first_access(&first(full, full, full, 1024)).verdict,
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
        // An eviction that failed is not a refutation.
        let mut not_cold = first(0, 0, full, 0);
        not_cold.read_cold.resident_before = Some(16_384);
        let c = first_access(&not_cold);
        assert_eq!(c.verdict, Verdict::NotMeasured, "{}", c.evidence);
        let mut no_populate = first(full, full, full, 0);
        no_populate.populate_touch = Pass::default();
        assert_eq!(first_access(&no_populate).verdict, Verdict::NotMeasured);
    }

    fn second(faults: &[u64], exceptions: Option<u64>, syscalls: Option<u64>) -> SecondPassNumbers {
        SecondPassNumbers {
            case: "file".to_string(),
            n_pages: 16_384,
            first_pass_faults: Some(79),
            second_pass_faults: faults.iter().map(|f| Some(*f)).collect(),
            second_pass_fault_exceptions: faults.iter().map(|_| exceptions).collect(),
            second_pass_syscalls: faults.iter().map(|_| syscalls).collect(),
            second_pass_context_switches: faults.iter().map(|_| Some(1)).collect(),
        }
    }

    #[test]
    fn s15_verdicts() {
        let check = |cases: &[SecondPassNumbers], expected: Verdict| {
            let c = after_setup(cases, "no tracefs");
            assert_eq!(c.verdict, expected, "{}", c.evidence);
            c
        };
        let c = check(
            &[
                second(&[0, 0, 0], Some(0), Some(0)),
                second(&[0, 0, 0], Some(0), Some(0)),
            ],
            Verdict::Holds,
        );
        // What was tested and what was not, never "only interrupts".
        assert!(
            c.evidence.contains("tested: the case \"file\"")
                && c.evidence.contains("not tested, and each able to fault again after set-up: writes to a MAP_SHARED file mapping after writeback")
                && !c.evidence.contains("only interrupts"),
            "{}",
            c.evidence
        );
        let mut named = second(&[0], Some(0), Some(0));
        named.case = "file MAP_SHARED, read".to_string();
        let c = check(&[named], Verdict::Holds);
        assert!(
            c.evidence
                .contains("tested: reads of a warm MAP_SHARED file mapping;"),
            "{}",
            c.evidence
        );
        // One stray fault in one repetition is reported, not a refutation.
        let c = check(&[second(&[0, 1, 0], Some(0), Some(0))], Verdict::Holds);
        assert!(
            c.evidence
                .contains("strays: file repetition 1: 1 fault(s), 0 system call(s)"),
            "{}",
            c.evidence
        );
        // A few faults in most repetitions: nuance; many: refuted.
        check(
            &[second(&[3, 2, 0], Some(0), Some(0))],
            Verdict::HoldsWithNuance,
        );
        check(
            &[second(&[300, 200, 0], Some(0), Some(0))],
            Verdict::Refuted,
        );
        let c = check(
            &[
                second(&[0, 0, 0], Some(0), Some(0)),
                second(&[0, 0, 0], Some(0), Some(2)),
            ],
            Verdict::Refuted,
        );
        assert!(c.evidence.contains("2 system calls"), "{}", c.evidence);
        check(&[second(&[0], Some(300), Some(0))], Verdict::Refuted);
        check(&[second(&[500], None, None)], Verdict::Refuted);
        let c = check(&[second(&[0], None, None)], Verdict::NotMeasured);
        assert!(c.evidence.contains("no tracefs"), "{}", c.evidence);
        check(&[], Verdict::NotMeasured);
        let mut unsampled = second(&[0], Some(0), Some(0));
        unsampled.second_pass_faults = vec![None];
        check(&[unsampled], Verdict::NotMeasured);
        let c = check(&[second(&[0], Some(0), Some(0))], Verdict::Holds);
        assert!(
            c.evidence.contains("1 context switches at most"),
            "{}",
            c.evidence
        );
        let mut uncounted = second(&[0], Some(0), Some(0));
        uncounted.second_pass_context_switches = vec![None];
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
        metadata: Result<(i64, i64, i64), &str>,
    ) -> CacheNumbers {
        CacheNumbers {
            file_size_bytes: 64 << 20,
            data_cached_kib: Some(data_cached),
            data_buffers_kib: Some(data_buffers),
            data_read_bytes: Some(64 << 20),
            metadata: metadata
                .map(|(cached, buffers, slab)| MetadataNumbers {
                    n_files: 10_000,
                    cached_kib: cached,
                    buffers_kib: buffers,
                    sreclaimable_kib: slab,
                    storage_read_bytes: Some(4 << 20),
                })
                .map_err(str::to_string),
            filesystem: "ext4".to_string(),
        }
    }

    #[test]
    fn s3_verdicts() {
        let check = |n: CacheNumbers, expected: Verdict| {
            let c = where_data_lives(&n);
            assert_eq!(c.verdict, expected, "{}", c.evidence);
            c
        };
        let c = check(
            cache(65_536, 8, Ok((4, 4000, 9000))),
            Verdict::HoldsWithNuance,
        );
        assert!(
            c.evidence.contains("added 65536 KiB to Cached"),
            "{}",
            c.evidence
        );
        // Where metadata lands is the filesystem's: the evidence names it.
        assert!(
            c.evidence
                .contains("on ext4 (the data folder's filesystem), metadata blocks to Buffers")
                && c.evidence
                    .contains("XFS keeps metadata in its own buffer cache"),
            "{}",
            c.evidence
        );
        let c = check(cache(65_536, 8, Ok((4, 4000, 3000))), Verdict::Holds);
        assert!(c.evidence.contains("unified page cache"), "{}", c.evidence);
        let mut xfs = cache(65_536, 8, Ok((4000, 10, 9000)));
        xfs.filesystem = "xfs".to_string();
        let c = check(xfs, Verdict::Refuted);
        assert!(
            c.evidence
                .contains("metadata did not land in Buffers on xfs"),
            "{}",
            c.evidence
        );
        // Cached noise from other processes does not decide: Buffers took
        // what this process read (4 MiB).
        check(
            cache(65_536, 8, Ok((60_000, 4100, 9000))),
            Verdict::HoldsWithNuance,
        );
        check(cache(65_536, 8, Ok((0, 1000, 9000))), Verdict::Refuted);
        check(cache(100, 65_000, Ok((4, 4000, 9000))), Verdict::Refuted);
        let c = check(cache(65_536, 8, Err("needs root")), Verdict::NotMeasured);
        assert!(c.evidence.contains("needs root"), "{}", c.evidence);
        // Nothing was cold: not evidence against the claim.
        let mut warm = cache(0, 0, Ok((4, 4000, 9000)));
        warm.data_read_bytes = Some(0);
        check(warm, Verdict::NotMeasured);
        let mut not_evicted = cache(65_536, 8, Ok((0, 0, 0)));
        if let Ok(m) = &mut not_evicted.metadata {
            m.storage_read_bytes = Some(0);
        }
        check(not_evicted, Verdict::NotMeasured);
    }
}
