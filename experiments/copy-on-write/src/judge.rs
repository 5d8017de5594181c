//! The judge step of copy-on-write: the verdicts on S4 and S9 from the
//! result file alone (its `frames`, `checks` and `visibility` tables, its
//! `private-writes` and `memory-cost` samples and the fingerprint's data
//! folder), so `mmlab judge` recomputes them from any stored run.
//!
//! The thresholds are fixed here, before any run, and written into every
//! claim: "one copy" is at least 90% of the file, "no copy" at most 10%, a
//! path "started cold" with at most 10% of the file cached, and "k faults"
//! is k within 1% (at least 1 fault of slack for small k).
//!
//! - S4 has two halves, the frames (pagemap) and the memory split (page
//!   cache against anonymous memory, cold starts only). `holds` when both
//!   were measured and agree with the notes, `refuted` when a measured half
//!   contradicts them, `holds-with-nuance` when only one half was measured
//!   (and agrees), `not-measured` when neither was. A half that was not
//!   measured (no root, an eviction that did not complete, a page cache that
//!   did not fill) never refutes.
//! - S9: `refuted` when a byte written through MAP_PRIVATE reached the file
//!   or another view, or the private mapping lost its own write;
//!   `not-measured` when a table it needs is missing; otherwise
//!   `holds-with-nuance` when the faults or copies were not one per written
//!   page, the file could not be read back from disk, or the private mapping
//!   follows later writes to the file (no snapshot). Linux always shows the
//!   last: a page of a MAP_PRIVATE mapping that was not written maps the
//!   page-cache frame, so `holds-with-nuance` is the best a Linux run can
//!   give, and `holds` is left for a kernel whose private mapping isolates
//!   both ways.
//!
//! `tests/judge.rs` drives each rule to each verdict on the committed
//! reference run, mutated.

use mmlab_core::datafile::{DISK_DATA_DIR, why_nothing_is_evicted};
use mmlab_core::stats::median;
use mmlab_core::{Claim, ResultFile, Verdict, format_size};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::frames::{
    MOMENT_AFTER, MOMENT_BEFORE, VIEW_PRIVATE, VIEW_READ_BUFFER, VIEW_SHARED_CHILD,
    VIEW_SHARED_HERE,
};
use crate::memory_cost::{PATH_MMAP, PATH_READ, PATH_READ_BEFORE, PATH_READ_STREAM};

/// S4: a path holds a copy of the file when it grew by at least this
/// fraction of the file (page cache, or anonymous memory for read()).
pub const ONE_COPY_FRACTION: f64 = 0.9;
/// S4: mmap holds no second copy when its anonymous memory grew by at most
/// this fraction of the file.
pub const NO_COPY_FRACTION: f64 = 0.1;
/// S4: a memory-cost path started cold when at most this fraction of the
/// file was still cached before it (mincore).
pub const COLD_START_CACHED_FRACTION: f64 = 0.1;
/// S4: the memory split is measured when at least this fraction of each
/// path's repetitions started cold; its medians are over those.
pub const COLD_REPETITIONS_FRACTION: f64 = 0.5;
/// S9: write faults (and Private_Dirty pages) per k written pages may
/// differ from k by this fraction ...
pub const PER_PAGE_TOLERANCE: f64 = 0.01;
/// ... or by this many, whichever is larger.
pub const PER_PAGE_SLACK: f64 = 1.0;
/// S9: written pages another view may show with the private bytes (a
/// leak is a fact, not noise).
pub const LEAKED_PAGES_ALLOWED: u64 = 0;

/// Whether `faults` is `expected` within 1% (and within 1 for small counts).
pub fn within_one_percent(faults: f64, expected: f64) -> bool {
    (faults - expected).abs() <= (expected * PER_PAGE_TOLERANCE).max(PER_PAGE_SLACK)
}

/// Every claim of the experiment, judged from the file.
pub fn judge(result: &ResultFile) -> Vec<Claim> {
    let file = File::read(result);
    vec![s4(&file), s9(&file)]
}

/// One row of the `frames` table, as the file holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct FrameRow {
    pub view: String,
    pub moment: String,
    /// `0x1a2b3`, or `not-measured`.
    pub pfn: String,
    #[serde(default)]
    pub kpageflags_anon: Option<bool>,
    pub shows_file_bytes: bool,
    pub shows_private_write: bool,
}

impl FrameRow {
    fn pfn_value(&self) -> Option<u64> {
        u64::from_str_radix(self.pfn.strip_prefix("0x")?, 16).ok()
    }
}

/// The `checks` object.
#[derive(Debug, Clone, Deserialize)]
pub struct Checks {
    pub frames_file_unchanged_after_private_write: bool,
    pub frames_file_unchanged_on_disk: Option<bool>,
    pub data_file_unchanged_on_disk_after_private_writes: Option<bool>,
    pub second_process_written_pages_unchanged: u64,
    pub second_process_written_pages_checked: u64,
}

/// The `visibility` object: what a MAP_PRIVATE mapping shows of a later
/// MAP_SHARED write to the file.
#[derive(Debug, Clone, Deserialize)]
pub struct Visibility {
    pub read_page_shows_shared_write: bool,
    pub untouched_page_shows_shared_write: bool,
    pub copied_page_shows_shared_write: bool,
    pub copied_page_keeps_private_write: bool,
}

/// A `private-writes` sample.
#[derive(Debug, Clone, Deserialize)]
pub struct WriteRow {
    pub n_pages_file: u64,
    pub n_pages_written: u64,
    pub n_faults_write: u64,
    pub n_pages_private_dirty_growth: i64,
    pub n_written_pages_unchanged_shared: u64,
    pub n_written_pages_unchanged_read: u64,
}

/// A `memory-cost` sample.
#[derive(Debug, Clone, Deserialize)]
pub struct MemoryRow {
    pub path: String,
    pub file_size_bytes: u64,
    /// The read() buffer's size (absent in files written before the
    /// streaming path: their one read() path used a file-sized buffer).
    #[serde(default)]
    pub buffer_bytes: Option<u64>,
    pub page_cache_before_bytes: u64,
    pub page_cache_growth_bytes: i64,
    pub rss_anon_growth_bytes: i64,
}

/// The parts of the file the rules read, each with why it cannot be read.
#[derive(Debug, Clone)]
pub struct File {
    pub frames: Result<Vec<FrameRow>, String>,
    /// `Some(reason)` when frame numbers were not readable.
    pub frames_unreadable: Option<String>,
    pub checks: Result<Checks, String>,
    pub visibility: Result<Visibility, String>,
    pub writes: Result<Vec<WriteRow>, String>,
    pub memory: Result<Vec<MemoryRow>, String>,
    /// Why the data folder's filesystem cannot evict (tmpfs), from the
    /// fingerprint: it explains a missing half, never decides a verdict.
    pub why_not_evicted: Option<String>,
}

fn table<T: DeserializeOwned>(result: &ResultFile, key: &str) -> Result<T, String> {
    let value = result
        .extra
        .get(key)
        .ok_or_else(|| format!("the result file has no `{key}` table"))?;
    serde_json::from_value(value.clone())
        .map_err(|e| format!("the `{key}` table cannot be read: {e}"))
}

fn samples<T: DeserializeOwned>(result: &ResultFile, scenario: &str) -> Result<Vec<T>, String> {
    let rows: Vec<&Value> = result
        .samples
        .iter()
        .filter(|s| s["scenario"] == scenario)
        .collect();
    if rows.is_empty() {
        return Err(format!("the result file has no `{scenario}` samples"));
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            serde_json::from_value(row.clone())
                .map_err(|e| format!("{scenario} sample {i} cannot be read: {e}"))
        })
        .collect()
}

impl File {
    pub fn read(result: &ResultFile) -> File {
        let frames: Result<Vec<FrameRow>, String> = table(result, "frames");
        // `checks.frames_unreadable` says why frames were not readable; a
        // file written before it existed says so through `not-measured`
        // cells (and its warning).
        let frames_unreadable = match result
            .extra
            .get("checks")
            .and_then(|c| c.get("frames_unreadable"))
        {
            Some(Value::String(reason)) => Some(reason.clone()),
            Some(_) => None,
            None => frames
                .as_ref()
                .ok()
                .filter(|rows| rows.iter().any(|r| r.pfn_value().is_none()))
                .map(|_| {
                    result
                        .warnings
                        .iter()
                        .find(|w| w.kind == "frames-not-measured")
                        .map_or_else(
                            || "the frames table reads not-measured".to_string(),
                            |w| w.message.clone(),
                        )
                }),
        };
        File {
            frames,
            frames_unreadable,
            checks: table(result, "checks"),
            visibility: table(result, "visibility"),
            writes: samples(result, "private-writes"),
            memory: samples(result, "memory-cost"),
            why_not_evicted: why_nothing_is_evicted(&result.env.data_dir_fs, &result.env.data_dir),
        }
    }
}

fn row<'a>(rows: &'a [FrameRow], view: &str, moment: &str) -> Result<&'a FrameRow, String> {
    rows.iter()
        .find(|r| r.view == view && r.moment == moment)
        .ok_or_else(|| format!("the frames table has no row for {view}, {moment}"))
}

fn hex(pfn: u64) -> String {
    format!("{pfn:#x}")
}

fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

pub const S4_RULE: &str = "two halves: the frames (pagemap) agree when MAP_SHARED in two processes and MAP_PRIVATE before a write are the page-cache frame and a read() buffer is another frame; the memory split agrees when, over the memory-cost repetitions that started cold, read()'s median anonymous growth is at least one_copy_fraction of the file and mmap's at most no_copy_fraction, both paths having filled the page cache with at least one_copy_fraction of it; refuted when a measured half disagrees, holds when both agree, holds-with-nuance when one agrees and the other was not measured, not-measured when neither was; a half is not measured without root (frames), with fewer than cold_repetitions_fraction of a path's repetitions starting with at most cold_start_cached_fraction of the file cached, or with a page cache that did not fill (memory), and such a half never refutes; the read() judged is one call into a buffer as large as the file, and a streaming read() through a reused 64 KiB buffer is reported beside it (its second copy is the buffer's size), never judged";

fn s4_thresholds() -> [(&'static str, Value); 4] {
    [
        ("one_copy_fraction", json!(ONE_COPY_FRACTION)),
        ("no_copy_fraction", json!(NO_COPY_FRACTION)),
        (
            "cold_start_cached_fraction",
            json!(COLD_START_CACHED_FRACTION),
        ),
        (
            "cold_repetitions_fraction",
            json!(COLD_REPETITIONS_FRACTION),
        ),
    ]
}

/// One half of S4: its sentence, and whether it agrees (`None`: not measured).
type Half = (String, Option<bool>);

fn s4_frames(file: &File) -> Half {
    let rows = match &file.frames {
        Ok(rows) => rows,
        Err(reason) => return (format!("frames not measured: {reason}"), None),
    };
    if let Some(reason) = &file.frames_unreadable {
        return (format!("frames not measured: {reason}"), None);
    }
    let pfns = [
        VIEW_SHARED_HERE,
        VIEW_SHARED_CHILD,
        VIEW_PRIVATE,
        VIEW_READ_BUFFER,
    ]
    .map(|view| {
        let row = row(rows, view, MOMENT_BEFORE)?;
        row.pfn_value()
            .ok_or_else(|| format!("{view} reads {} before the write", row.pfn))
    });
    let [cache, child, private, buffer] = match pfns {
        [Ok(a), Ok(b), Ok(c), Ok(d)] => [a, b, c, d],
        _ => {
            let reasons: Vec<String> = pfns.into_iter().filter_map(Result::err).collect();
            return (format!("frames not measured: {}", reasons.join("; ")), None);
        }
    };
    (
        format!(
            "page 0 of the file was frame {} through MAP_SHARED here, {} through MAP_SHARED in a second process and {} through MAP_PRIVATE before a write, while a read() buffer with the same bytes was frame {}",
            hex(cache),
            hex(child),
            hex(private),
            hex(buffer)
        ),
        Some(child == cache && private == cache && buffer != cache),
    )
}

/// The medians of one memory-cost path over its cold starts.
struct PathMedians {
    cache: f64,
    anon: f64,
}

/// Whether a memory-cost sample is of `path` (the file-sized read() path
/// had another name in older files).
fn is_path(row: &MemoryRow, path: &str) -> bool {
    row.path == path || (path == PATH_READ && row.path == PATH_READ_BEFORE)
}

/// The medians of `rows` of `path` over the repetitions that started cold;
/// `None` when none did.
fn cold_medians(rows: &[MemoryRow], path: &str, size: f64) -> Option<PathMedians> {
    let cold: Vec<&MemoryRow> = rows
        .iter()
        .filter(|r| {
            is_path(r, path)
                && r.page_cache_before_bytes as f64 <= COLD_START_CACHED_FRACTION * size
        })
        .collect();
    if cold.is_empty() {
        return None;
    }
    let m = |f: fn(&MemoryRow) -> i64| {
        median(&cold.iter().map(|r| f(r) as f64).collect::<Vec<_>>()).unwrap_or(f64::NAN)
    };
    Some(PathMedians {
        cache: m(|r| r.page_cache_growth_bytes),
        anon: m(|r| r.rss_anon_growth_bytes),
    })
}

/// A size as measured, small or large: `64 KiB`, `16.0 MiB`, `-4 KiB`.
fn size_of(bytes: f64) -> String {
    if bytes.abs() >= 1024.0 * 1024.0 {
        mib(bytes)
    } else {
        let sign = if bytes < 0.0 { "-" } else { "" };
        format!("{sign}{}", format_size(bytes.abs() as u64))
    }
}

/// The streaming read() path, reported beside the split and never judged:
/// a reused buffer makes the second copy as small as the buffer.
fn streaming_sentence(rows: &[MemoryRow], size: f64) -> String {
    let of_path: Vec<&MemoryRow> = rows.iter().filter(|r| r.path == PATH_READ_STREAM).collect();
    let Some(first) = of_path.first() else {
        return String::new();
    };
    let buffer = first.buffer_bytes;
    let named = buffer.map_or_else(|| "a".to_string(), |b| format!("one {}", format_size(b)));
    match cold_medians(rows, PATH_READ_STREAM, size) {
        Some(p) => {
            let about_the_buffer = buffer.is_some_and(|b| p.anon <= 2.0 * b as f64);
            format!(
                "; streaming it with read() calls into {named} buffer, reused, held {} of page cache + {} anonymous{}",
                size_of(p.cache),
                size_of(p.anon),
                if about_the_buffer {
                    " (a second copy the size of the buffer, not of the file)"
                } else {
                    ""
                }
            )
        }
        None => format!(
            "; the streaming read() into {named} buffer was not measured: none of its {} repetitions started cold",
            of_path.len()
        ),
    }
}

fn s4_memory(file: &File) -> Half {
    let rows = match &file.memory {
        Ok(rows) => rows,
        Err(reason) => {
            return (
                format!(
                    "the memory split (page cache against anonymous memory) was not measured: {reason}"
                ),
                None,
            );
        }
    };
    let size = rows.first().map_or(0, |r| r.file_size_bytes) as f64;
    let not_measured = |why: String| {
        (
            format!(
                "the memory split (page cache against anonymous memory) was not measured: {why}"
            ),
            None,
        )
    };
    let cause = match &file.why_not_evicted {
        Some(why) => format!("{why}: use {DISK_DATA_DIR}"),
        None => "the file could not be evicted (another process may map it)".to_string(),
    };
    let mut medians = Vec::new();
    for path in [PATH_READ, PATH_MMAP] {
        let of_path: Vec<&MemoryRow> = rows.iter().filter(|r| is_path(r, path)).collect();
        if of_path.is_empty() {
            return not_measured(format!("no {path} samples"));
        }
        let cold: Vec<&MemoryRow> = of_path
            .iter()
            .copied()
            .filter(|r| r.page_cache_before_bytes as f64 <= COLD_START_CACHED_FRACTION * size)
            .collect();
        if (cold.len() as f64) < COLD_REPETITIONS_FRACTION * of_path.len() as f64 {
            let most = of_path
                .iter()
                .map(|r| r.page_cache_before_bytes)
                .max()
                .unwrap_or(0);
            return not_measured(format!(
                "{} of {} repetitions of {path} started with the file still cached (up to {} of {}), so their growth shows nothing; {cause}",
                of_path.len() - cold.len(),
                of_path.len(),
                mib(most as f64),
                mib(size),
            ));
        }
        let m = |f: fn(&MemoryRow) -> i64| {
            median(&cold.iter().map(|r| f(r) as f64).collect::<Vec<_>>()).unwrap_or(f64::NAN)
        };
        medians.push(PathMedians {
            cache: m(|r| r.page_cache_growth_bytes),
            anon: m(|r| r.rss_anon_growth_bytes),
        });
    }
    let [read, mmap] = [&medians[0], &medians[1]];
    let read_buffer = rows
        .iter()
        .find(|r| is_path(r, PATH_READ))
        .and_then(|r| r.buffer_bytes)
        .unwrap_or(size as u64);
    for (path, p) in [(PATH_READ, read), (PATH_MMAP, mmap)] {
        // A cold path that did not fill the page cache was disturbed (its
        // pages reclaimed while it ran): its growth measures nothing.
        if p.cache.is_nan() || p.cache < ONE_COPY_FRACTION * size {
            return not_measured(format!(
                "{path} started cold but grew the page cache by only {} of the {} file (median), so something else reclaimed or withheld its pages",
                mib(p.cache),
                format_size(size as u64)
            ));
        }
    }
    (
        format!(
            "reading the {} file with read() into one {} buffer{} held {} of page cache + {} of anonymous memory, mapping it {} of page cache + {} anonymous{}",
            format_size(size as u64),
            format_size(read_buffer),
            if read_buffer as f64 >= size {
                " (as large as the file)"
            } else {
                ""
            },
            mib(read.cache),
            mib(read.anon),
            mib(mmap.cache),
            mib(mmap.anon),
            streaming_sentence(rows, size),
        ),
        Some(read.anon >= ONE_COPY_FRACTION * size && mmap.anon <= NO_COPY_FRACTION * size),
    )
}

/// S4: read() makes a second physical copy; mmap maps the page-cache page.
pub fn s4(file: &File) -> Claim {
    let (frame_sentence, frames_agree) = s4_frames(file);
    let (memory_sentence, memory_agrees) = s4_memory(file);
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
    .with_rule(S4_RULE, s4_thresholds())
}

pub const S9_RULE: &str = "refuted when more than leaked_pages_allowed written pages showed the private bytes through MAP_SHARED, pread(), a second process or the file on disk, or when the private mapping lost its own write; otherwise holds-with-nuance when the median write faults or Private_Dirty growth for some k is not k within per_page_tolerance (at least per_page_slack), when the file could not be read back from disk, or when a page of the private mapping that was not written showed a later MAP_SHARED write (no snapshot: on Linux such a page maps the page-cache frame, so no Linux run can do better than holds-with-nuance); holds only without any of these; not-measured when the private-writes samples, the frames, checks or visibility table are missing";

fn s9_thresholds() -> [(&'static str, Value); 3] {
    [
        ("leaked_pages_allowed", json!(LEAKED_PAGES_ALLOWED)),
        ("per_page_tolerance", json!(PER_PAGE_TOLERANCE)),
        ("per_page_slack", json!(PER_PAGE_SLACK)),
    ]
}

/// S9: MAP_PRIVATE changes stay private and never reach the file.
pub fn s9(file: &File) -> Claim {
    let claim = |verdict, evidence: String| {
        Claim::new("S9", verdict, evidence)
            .with_scenario("frames, private-writes")
            .with_rule(S9_RULE, s9_thresholds())
    };
    let inputs = (|| -> Result<_, String> {
        let frames = file.frames.clone()?;
        let after = |view| row(&frames, view, MOMENT_AFTER).cloned();
        Ok((
            file.writes.clone()?,
            file.checks.clone()?,
            file.visibility.clone()?,
            [
                after(VIEW_SHARED_HERE)?,
                after(VIEW_SHARED_CHILD)?,
                after(VIEW_PRIVATE)?,
            ],
            row(&frames, VIEW_SHARED_HERE, MOMENT_BEFORE)?.pfn_value(),
        ))
    })();
    let (writes, checks, visibility, [shared_after, child_after, private_after], cache_pfn) =
        match inputs {
            Ok(inputs) => inputs,
            Err(reason) => return claim(Verdict::NotMeasured, reason),
        };

    // Leaks: a written page seen elsewhere with the private bytes.
    let written: u64 = writes.iter().map(|w| w.n_pages_written).sum();
    let leaked_shared = written
        - writes
            .iter()
            .map(|w| w.n_written_pages_unchanged_shared)
            .sum::<u64>()
            .min(written);
    let leaked_read = written
        - writes
            .iter()
            .map(|w| w.n_written_pages_unchanged_read)
            .sum::<u64>()
            .min(written);
    let leaked_other = checks.second_process_written_pages_checked
        - checks
            .second_process_written_pages_unchanged
            .min(checks.second_process_written_pages_checked);
    let leaked_frames = u64::from(!shared_after.shows_file_bytes)
        + u64::from(!child_after.shows_file_bytes)
        + u64::from(!checks.frames_file_unchanged_after_private_write);
    let disk = [
        checks.frames_file_unchanged_on_disk,
        checks.data_file_unchanged_on_disk_after_private_writes,
    ];
    let leaked_disk = disk.iter().filter(|d| **d == Some(false)).count() as u64;
    let leaked = leaked_shared + leaked_read + leaked_other + leaked_frames + leaked_disk;
    let leaks = leaked > LEAKED_PAGES_ALLOWED;
    let disk_checked = disk.iter().all(Option::is_some);
    let kept_own_write =
        private_after.shows_private_write && visibility.copied_page_keeps_private_write;

    // One fault and one private copy per written page (median over
    // repetitions, per k).
    let mut ks: Vec<u64> = writes.iter().map(|w| w.n_pages_written).collect();
    ks.sort_unstable();
    ks.dedup();
    let per_k: Vec<(u64, f64, f64)> = ks
        .iter()
        .filter(|k| **k > 0)
        .map(|&k| {
            let of_k: Vec<&WriteRow> = writes.iter().filter(|w| w.n_pages_written == k).collect();
            let m = |f: fn(&WriteRow) -> f64| {
                median(&of_k.iter().map(|w| f(w)).collect::<Vec<_>>()).unwrap_or(f64::NAN)
            };
            (
                k,
                m(|w| w.n_faults_write as f64),
                m(|w| w.n_pages_private_dirty_growth as f64),
            )
        })
        .collect();
    let off_per_page: Vec<String> = per_k
        .iter()
        .filter(|(k, faults, dirty)| {
            !within_one_percent(*faults, *k as f64) || !within_one_percent(*dirty, *k as f64)
        })
        .map(|(k, faults, dirty)| format!("k = {k}: {faults:.0} faults, {dirty:.0} pages"))
        .collect();
    let (k_max, faults_max, dirty_max) = per_k.last().copied().unwrap_or((0, 0.0, 0.0));
    let (k_min, faults_min, _) = per_k.first().copied().unwrap_or((0, 0.0, 0.0));
    let n = writes.first().map_or(0, |w| w.n_pages_file);

    let new_frame = match (
        &file.frames_unreadable,
        private_after.pfn_value(),
        cache_pfn,
    ) {
        (None, Some(private), Some(cache)) => format!(
            "the written page moved from page-cache frame {} to frame {}{}",
            hex(cache),
            hex(private),
            if private_after.kpageflags_anon == Some(true) {
                " (anonymous)"
            } else {
                ""
            }
        ),
        (Some(reason), _, _) => format!("frames not measured: {reason}"),
        _ => "frames not measured: the frames table reads not-measured".to_string(),
    };
    let mut evidence = format!(
        "writing k of {n} pages through MAP_PRIVATE took {faults_min:.0} fault(s) for k = {k_min} and {faults_max:.0} for k = {k_max} (Private_Dirty grew by {dirty_max:.0} pages), {new_frame}; {}a MAP_SHARED mapping, read() and a second process {} the old bytes{}",
        if disk_checked {
            "the file on disk, "
        } else {
            ""
        },
        if !leaks {
            "all kept"
        } else {
            "did NOT all keep"
        },
        match (disk_checked, &file.why_not_evicted) {
            (true, _) => String::new(),
            (false, Some(why)) => format!(
                " (on disk: not checked: {why}; compared in memory only: use {DISK_DATA_DIR})"
            ),
            (false, None) =>
                " (on disk: not checked (file could not be evicted); page cache only)".to_string(),
        }
    );
    if leaks {
        evidence.push_str(&format!(
            " ({leaked_shared} of {written} written pages changed through MAP_SHARED, {leaked_read} through pread(), {leaked_other} of {} in a second process, {leaked_frames} views of page 0, {leaked_disk} disk read(s))",
            checks.second_process_written_pages_checked
        ));
        return claim(Verdict::Refuted, evidence);
    }
    if !kept_own_write {
        evidence.push_str("; but the private mapping did not keep its own write (page 0 after the write, or a copied page after a later MAP_SHARED write)");
        return claim(Verdict::Refuted, evidence);
    }
    let follows_file = (visibility.read_page_shows_shared_write
        || visibility.untouched_page_shows_shared_write)
        && !visibility.copied_page_shows_shared_write;
    if !off_per_page.is_empty() {
        evidence.push_str(&format!(
            "; but faults or copies were not one per written page ({})",
            off_per_page.join("; ")
        ));
    }
    if follows_file {
        evidence.push_str(
            "; but the private mapping is no snapshot: a page read yet not written showed a later MAP_SHARED write to the file (it still maps the page-cache frame), a copied page did not. No Linux run can do better: an unwritten MAP_PRIVATE page maps the page-cache frame until it is written (POSIX leaves it unspecified)",
        );
    }
    let verdict = if !off_per_page.is_empty() || follows_file || !disk_checked {
        Verdict::HoldsWithNuance
    } else {
        Verdict::Holds
    };
    claim(verdict, evidence)
}
