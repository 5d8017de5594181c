//! The judge step of repeated-access: the verdicts on S5, S13 and S14 from
//! the result file alone (its `params`, its `samples`, one per pass, the
//! fingerprint's data folder and `counters_available`), so `mmlab judge`
//! recomputes them from any stored run. All on the first file size.
//!
//! Every rule uses medians over repetitions and passes; where a timing
//! ratio decides (S13's cold-against-warm and same-price ratios, S14's
//! mmap-against-read() ratio), the p5-p95 range of the ratios of passes
//! paired by repetition and pass index (the repetitions are interleaved, so
//! a pair shares its repetition's load) is placed against the limit, and a
//! range that straddles it is "too close to call" (a nuance), never a
//! verdict that would flip from run to run. The rules, as each claim's `rule` field states them, are in the
//! constants below and in the README ("How the verdicts are decided").
//! `tests/judge.rs` drives each rule to each verdict on the committed
//! reference run, mutated.

use mmlab_core::datafile::{DISK_DATA_DIR, why_nothing_is_evicted};
use mmlab_core::size::format_size_short;
use mmlab_core::{Availability, Claim, ResultFile, Verdict, format_size};
use serde_json::{Value, json};

use crate::methods::series_name;
use crate::methods::{Method, expected_read_calls};
use crate::plan::Scenario;
use crate::rows::{
    Pass, Passes, Ratio, Rows, Side, Spread, evicted_before, faults, gbps, millis, syscalls,
};
use crate::text::{count, thousands};

/// S5: read()'s median calls per pass may differ from ceil(s/b) + 1 by at
/// most this fraction.
pub const READ_CALLS_TOLERANCE: f64 = 0.01;
/// S5: median system calls of mmap-reused's first pass (its mmap).
pub const MMAP_FIRST_PASS_CALLS_ALLOWED: f64 = 1.0;
/// S5: median system calls of mmap-reused's later passes.
pub const MMAP_LATER_PASS_CALLS_ALLOWED: f64 = 0.0;
/// S5: median faults of mmap-reused's later passes, as a fraction of the
/// file's pages (stray faults are reported, not a refutation).
pub const MMAP_LATER_PASS_FAULT_FRACTION: f64 = 0.01;
/// S5: first-pass faults that still allow `holds` (none: a fault enters the
/// kernel as surely as a system call).
pub const FIRST_PASS_FAULTS_FOR_HOLDS: f64 = 0.0;
/// S13: a pass started evicted when at most this fraction of the file was
/// cached before it (mincore).
pub const EVICTED_CACHED_FRACTION: f64 = 0.1;
/// S13 (and the evict-every-pass evidence of S14): a scenario measured an
/// eviction when at least this fraction of its evicted passes started
/// evicted; S13's medians are over those passes.
pub const EVICTED_PASSES_FRACTION: f64 = 0.5;
/// S13: a method "paid" for the first access when its cold first pass read
/// at least this fraction of the file from storage (/proc/self/io), median.
pub const STORAGE_READ_FRACTION: f64 = 0.9;
/// S13: a cold first pass paid in time when it took at least this multiple
/// of a warm first pass.
pub const COLD_OVER_WARM: f64 = 1.1;
/// S13: the two cold first passes "cost the same" when the slower took less
/// than this multiple of the faster.
pub const SAME_PRICE: f64 = 1.25;
/// S14: mmap is "faster" when its steady-state bandwidth is at least this
/// multiple of read()'s ...
pub const FASTER: f64 = 1.10;
/// ... and "slower" (rather than "about as fast") below this multiple.
pub const SLOWER: f64 = 0.95;
/// S14: the page cache held the file when at least this fraction of the
/// compared warm passes after the first started with every page cached.
pub const WARM_CACHED_FRACTION: f64 = 0.5;
/// The quantiles a ratio's range is taken from (p5 and p95).
pub const SPREAD_QUANTILES: [f64; 2] = [0.05, 0.95];

/// What the rules read from the file.
#[derive(Debug, Clone)]
pub struct Run {
    pub rows: Rows,
    /// The first file size: every verdict is on it.
    pub size: u64,
    pub block_sizes: Vec<u64>,
    pub headline_block: u64,
    pub memory_limit: Option<u64>,
    /// Why `raw_syscalls:sys_enter` could not be counted, if it could not.
    pub syscalls_reason: String,
    /// Why the data folder cannot evict (tmpfs): explains, never decides.
    pub why_not_evicted: Option<String>,
    /// The fingerprint's kernel release, data folder filesystem and
    /// fault_around_bytes (`None`: unknown): the conditions a sentence
    /// about pages per fault depends on.
    pub kernel: String,
    pub data_dir_fs: String,
    pub fault_around_bytes: Option<u64>,
    pub page_size_bytes: u64,
}

impl Run {
    pub fn read(result: &ResultFile) -> Result<Run, String> {
        let rows = Rows::of_samples(&result.samples)?;
        let param = |name: &str| {
            result
                .params
                .get(name)
                .ok_or_else(|| format!("the result file has no params.{name}"))
        };
        let numbers = |name: &str| -> Result<Vec<u64>, String> {
            param(name)?
                .as_array()
                .and_then(|a| a.iter().map(Value::as_u64).collect())
                .ok_or_else(|| format!("params.{name} is not a list of sizes"))
        };
        let size = *numbers("file_sizes_bytes")?
            .first()
            .ok_or("params.file_sizes_bytes is empty")?;
        let headline_block = param("headline_block_bytes")?
            .as_u64()
            .ok_or("params.headline_block_bytes is not a size")?;
        Ok(Run {
            rows,
            size,
            block_sizes: numbers("block_sizes_bytes")?,
            headline_block,
            memory_limit: result
                .params
                .get("memory_limit_bytes")
                .and_then(Value::as_u64),
            syscalls_reason: match result.counters_available.get("raw_syscalls:sys_enter") {
                Some(Availability::Unavailable(reason)) => reason.clone(),
                Some(Availability::Available) => "the samples hold no n_syscalls".to_string(),
                None => "not counted".to_string(),
            },
            why_not_evicted: why_nothing_is_evicted(&result.env.data_dir_fs, &result.env.data_dir),
            kernel: result.env.kernel.clone(),
            data_dir_fs: result.env.data_dir_fs.clone(),
            fault_around_bytes: result.env.fault_around_bytes.value().copied(),
            page_size_bytes: result.env.page_size_bytes.value().copied().unwrap_or(4096),
        })
    }
}

/// Every claim of the experiment, judged from the file.
pub fn judge(result: &ResultFile) -> Vec<Claim> {
    match Run::read(result) {
        Ok(run) => vec![s5(&run), s13(&run), s14(&run)],
        Err(reason) => vec![
            Claim::new("S5", Verdict::NotMeasured, reason.clone())
                .with_rule(S5_RULE, s5_thresholds()),
            Claim::new("S13", Verdict::NotMeasured, reason.clone())
                .with_rule(S13_RULE, s13_thresholds()),
            Claim::new("S14", Verdict::NotMeasured, reason).with_rule(S14_RULE, s14_thresholds()),
        ],
    }
}

pub const S5_RULE: &str = "on the warm passes: read()'s median system calls per pass at every block size must be ceil(s/b)+1 within read_calls_tolerance, mmap-reused's median first pass at most mmap_first_pass_calls_allowed system calls, its later passes a median of at most mmap_later_pass_calls_allowed system calls and of at most mmap_later_pass_fault_fraction of the file's pages in faults; any of these failing is refuted; otherwise holds-with-nuance when the first mmap pass took faults (kernel entries that are not system calls: no Linux run avoids them, since a fresh mapping has no page-table entries until touched and MAP_POPULATE only moves the faults into mmap), holds when it took at most first_pass_faults_for_holds (a first pass without faults, which no Linux run gives); not-measured when system calls could not be counted or the passes did not run";

fn s5_thresholds() -> [(&'static str, Value); 5] {
    [
        ("read_calls_tolerance", json!(READ_CALLS_TOLERANCE)),
        (
            "mmap_first_pass_calls_allowed",
            json!(MMAP_FIRST_PASS_CALLS_ALLOWED as u64),
        ),
        (
            "mmap_later_pass_calls_allowed",
            json!(MMAP_LATER_PASS_CALLS_ALLOWED as u64),
        ),
        (
            "mmap_later_pass_fault_fraction",
            json!(MMAP_LATER_PASS_FAULT_FRACTION),
        ),
        (
            "first_pass_faults_for_holds",
            json!(FIRST_PASS_FAULTS_FOR_HOLDS as u64),
        ),
    ]
}

/// S5: each read() is a system call; mmap one, then plain memory access.
pub fn s5(run: &Run) -> Claim {
    let size = run.size;
    let claim = |verdict, evidence: String| {
        Claim::new("S5", verdict, evidence)
            .with_scenario(format!("warm, {} file", format_size(size)))
            .with_rule(S5_RULE, s5_thresholds())
    };
    let uncounted = || {
        format!(
            "system calls could not be counted ({}); run as root so that the raw_syscalls tracepoint can be opened",
            run.syscalls_reason
        )
    };
    // System calls from the counted passes, faults (getrusage, no per-call
    // cost) from the timed ones.
    let median = |method, block, passes, f: fn(&Pass) -> Option<f64>, counted: bool| {
        let passes_run = if counted {
            run.rows
                .select_counted(size, Scenario::Warm, method, block, passes)
        } else {
            run.rows.select(size, Scenario::Warm, method, block, passes)
        };
        if passes_run.is_empty() {
            return Err(format!(
                "{} ran no warm {}{} here",
                series_name(method, block, 0),
                if counted { "counted " } else { "" },
                match passes {
                    Passes::Later => "passes after the first",
                    _ => "passes",
                }
            ));
        }
        if counted {
            run.rows
                .counted_median(size, Scenario::Warm, method, block, passes, f)
        } else {
            run.rows
                .median(size, Scenario::Warm, method, block, passes, f)
        }
        .ok_or_else(uncounted)
    };
    let mut counted = Vec::new();
    let mut expected = Vec::new();
    let mut worst_deviation = 0.0f64;
    for &block in &run.block_sizes {
        let calls = match median(Method::Read, block, Passes::Every, syscalls, true) {
            Ok(calls) => calls,
            Err(why) => return claim(Verdict::NotMeasured, why),
        };
        let want = expected_read_calls(size, block) as f64;
        worst_deviation = worst_deviation.max((calls - want).abs() / want);
        counted.push(thousands(calls.round() as u64));
        expected.push(thousands(want as u64));
    }
    let reused = |passes, f, counted| median(Method::MmapReused, 0, passes, f, counted);
    let (first_calls, first_faults, later_calls, later_faults) = match (
        reused(Passes::First, syscalls, true),
        reused(Passes::First, faults, false),
        reused(Passes::Later, syscalls, true),
        reused(Passes::Later, faults, false),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (a, b, c, d) => {
            let why = [a, b, c, d].into_iter().find_map(Result::err);
            return claim(Verdict::NotMeasured, why.unwrap_or_default());
        }
    };
    let file_pages = run
        .rows
        .select(size, Scenario::Warm, Method::MmapReused, 0, Passes::First)
        .first()
        .map_or(1.0, |p| p.file_pages.max(1.0));
    let blocks = run
        .block_sizes
        .iter()
        .map(|b| format_size_short(*b))
        .collect::<Vec<_>>()
        .join(" / ");
    let evidence = format!(
        "read() made {} system calls per pass at {blocks} on a {} file (ceil(s/b)+1 = {}, off by at most {:.2}%); mmap-reused made {} and {} in its first pass, then {} and {} per pass (medians)",
        counted.join(" / "),
        format_size(size),
        expected.join(" / "),
        100.0 * worst_deviation,
        count(first_calls.round() as u64, "system call", "system calls"),
        count(first_faults.round() as u64, "page fault", "page faults"),
        count(later_calls.round() as u64, "system call", "system calls"),
        count(later_faults.round() as u64, "fault", "faults")
    );
    let evidence = if run.rows.all.iter().any(|p| p.role.is_some()) {
        format!(
            "{evidence}; system calls counted in separate passes with every counter on, faults from getrusage in the timed passes"
        )
    } else {
        evidence
    };
    let mut wrong = Vec::new();
    if worst_deviation > READ_CALLS_TOLERANCE {
        wrong.push(format!(
            "read() was off ceil(s/b)+1 by {:.2}%, more than {:.0}%",
            100.0 * worst_deviation,
            100.0 * READ_CALLS_TOLERANCE
        ));
    }
    if first_calls > MMAP_FIRST_PASS_CALLS_ALLOWED {
        wrong.push(format!(
            "mmap-reused's first pass made {first_calls:.0} system calls, more than {MMAP_FIRST_PASS_CALLS_ALLOWED:.0}"
        ));
    }
    if later_calls > MMAP_LATER_PASS_CALLS_ALLOWED {
        wrong.push(format!(
            "mmap-reused's later passes made {later_calls:.0} system calls each (median), not plain memory access"
        ));
    }
    if later_faults > MMAP_LATER_PASS_FAULT_FRACTION * file_pages {
        wrong.push(format!(
            "mmap-reused's later passes took {} faults each (median), more than {:.0}% of the file's {} pages",
            thousands(later_faults.round() as u64),
            100.0 * MMAP_LATER_PASS_FAULT_FRACTION,
            thousands(file_pages as u64)
        ));
    }
    if !wrong.is_empty() {
        return claim(
            Verdict::Refuted,
            format!("{evidence}: but {}", wrong.join("; ")),
        );
    }
    if first_faults > FIRST_PASS_FAULTS_FOR_HOLDS {
        return claim(
            Verdict::HoldsWithNuance,
            format!(
                "{evidence}: after its one system call, the first pass still enters the kernel {} times through page faults, {}; later passes enter it not at all. No Linux run avoids those faults: a fresh mapping has no page-table entries until it is touched, and MAP_POPULATE only moves the faults into mmap",
                thousands(first_faults.round() as u64),
                pages_per_fault_text(run, file_pages / first_faults)
            ),
        );
    }
    claim(Verdict::Holds, evidence)
}

/// `158 pages per fault, more than fault-around's window of 16 pages ...`:
/// what a first pass's pages per fault say, with the conditions they depend
/// on (kernel, filesystem, fault_around_bytes) named.
fn pages_per_fault_text(run: &Run, pages_per_fault: f64) -> String {
    let (window_pages, window_text) = match run.fault_around_bytes {
        Some(bytes) => {
            let pages = bytes / run.page_size_bytes.max(1);
            (
                pages as f64,
                format!("{pages} pages, fault_around_bytes = {}", format_size(bytes)),
            )
        }
        None => (
            16.0,
            "16 pages, fault_around_bytes' default of 64 KiB, unread here without debugfs"
                .to_string(),
        ),
    };
    if pages_per_fault > window_pages {
        format!(
            "{pages_per_fault:.0} pages per fault, more than fault-around's window of {window_text}: on this kernel (Linux {}, {} data folder) a fault maps a whole large page-cache folio, where kernels without large folios for the filesystem map at most the window per fault",
            run.kernel, run.data_dir_fs
        )
    } else {
        format!(
            "{pages_per_fault:.0} pages per fault: fault-around maps the cached neighbours of a faulting page, up to its window of {window_text}"
        )
    }
}

pub const S13_RULE: &str = "on the cold first passes of read() at the headline block size and of mmap-reused that started with at most evicted_cached_fraction of the file cached (not-measured when fewer than evicted_passes_fraction of either method's did, or residency was not read): refuted when either's median storage read is below storage_read_fraction of the file, or its cold first pass was clearly less than cold_over_warm times its warm first pass; clearly means the whole p5-p95 range of the ratios of passes paired by repetition is on one side of the limit; holds when both read the file from storage, both were clearly slower cold, and the slower took clearly less than same_price times the faster; holds-with-nuance when they paid different prices, when a ratio's p5-p95 range straddles its limit (too close to call), or when storage reads are unknown (only the timing shows the price)";

fn s13_thresholds() -> [(&'static str, Value); 7] {
    [
        ("evicted_cached_fraction", json!(EVICTED_CACHED_FRACTION)),
        ("evicted_passes_fraction", json!(EVICTED_PASSES_FRACTION)),
        ("storage_read_fraction", json!(STORAGE_READ_FRACTION)),
        ("cold_over_warm", json!(COLD_OVER_WARM)),
        ("same_price", json!(SAME_PRICE)),
        ("spread_low_quantile", json!(SPREAD_QUANTILES[0])),
        ("spread_high_quantile", json!(SPREAD_QUANTILES[1])),
    ]
}

/// S13: the first access brings the file into the page cache, a price
/// read() and mmap both pay.
pub fn s13(run: &Run) -> Claim {
    let size = run.size;
    let claim = |verdict, evidence: String| {
        Claim::new("S13", verdict, evidence)
            .with_scenario(format!("cold, {} file", format_size(size)))
            .with_rule(S13_RULE, s13_thresholds())
    };
    let block = run.headline_block;
    let read_name = series_name(Method::Read, block, 0);
    let methods = [(Method::Read, block), (Method::MmapReused, 0)];
    let names = [read_name.as_str(), "mmap-reused"];
    let mut cold: Vec<Vec<&Pass>> = Vec::new();
    let mut warm: Vec<Vec<&Pass>> = Vec::new();
    for ((method, blk), name) in methods.into_iter().zip(names) {
        let firsts = run
            .rows
            .select(size, Scenario::Cold, method, blk, Passes::First);
        let warm_first = run
            .rows
            .select(size, Scenario::Warm, method, blk, Passes::First);
        if firsts.is_empty() || warm_first.is_empty() {
            return claim(
                Verdict::NotMeasured,
                format!("the cold and warm scenarios did not both run {read_name} and mmap-reused"),
            );
        }
        let unread = firsts
            .iter()
            .filter(|p| p.resident_pages_before.is_none())
            .count();
        let evicted: Vec<&Pass> = firsts
            .iter()
            .copied()
            .filter(|p| p.started_evicted(EVICTED_CACHED_FRACTION) == Some(true))
            .collect();
        if (evicted.len() as f64) < EVICTED_PASSES_FRACTION * firsts.len() as f64 {
            if unread > 0 {
                return claim(
                    Verdict::NotMeasured,
                    format!(
                        "page-cache residency was not read before {unread} of {} cold first passes of {name}, so nothing shows the file was evicted before them",
                        firsts.len()
                    ),
                );
            }
            let left = firsts
                .iter()
                .filter_map(|p| p.resident_pages_before)
                .fold(0.0, f64::max);
            return claim(
                Verdict::NotMeasured,
                format!(
                    "the file could not be evicted: before {} of {} cold first passes of {name} up to {} of {} pages stayed cached ({})",
                    firsts.len() - evicted.len(),
                    firsts.len(),
                    thousands(left as u64),
                    thousands(firsts[0].file_pages as u64),
                    match &run.why_not_evicted {
                        Some(why) => format!("{why}: use {DISK_DATA_DIR}"),
                        None => {
                            "mapped elsewhere, or a filesystem that ignores POSIX_FADV_DONTNEED"
                                .to_string()
                        }
                    }
                ),
            );
        }
        cold.push(evicted);
        warm.push(warm_first);
    }
    let spread_of = |passes: &[&Pass], f: fn(&Pass) -> Option<f64>| {
        passes
            .iter()
            .map(|p| f(p))
            .collect::<Option<Vec<f64>>>()
            .and_then(|v| Spread::of(&v))
    };
    let [read_cold, mmap_cold] = [&cold[0], &cold[1]]
        .map(|passes| spread_of(passes, millis).expect("a time for every selected pass"));
    let io = |r: &Pass| r.io_read_bytes;
    let [read_io, mmap_io] = [&cold[0], &cold[1]].map(|passes| spread_of(passes, io));
    let majors = spread_of(&cold[1], |r| Some(r.n_major_faults)).map_or(0.0, |s| s.median);
    let majors = count(majors.round() as u64, "major fault", "major faults");
    let io_text = match (read_io, mmap_io) {
        (Some(r), Some(m)) => format!(
            "read from storage: {} and {} ({majors} for mmap)",
            format_size(r.median as u64),
            format_size(m.median as u64),
        ),
        _ => format!("storage reads unknown (/proc/self/io unreadable); mmap took {majors}"),
    };
    let paid_storage = read_io
        .zip(mmap_io)
        .map(|(r, m)| r.median.min(m.median) >= STORAGE_READ_FRACTION * size as f64);
    let over_warm = [0, 1].map(|i| {
        Ratio::paired(&cold[i], &warm[i], millis, COLD_OVER_WARM).expect("times of both series")
    });
    let (slower, faster) = if mmap_cold.median > read_cold.median {
        (1, 0)
    } else {
        (0, 1)
    };
    let (slower_name, faster_name) = (names[slower], names[faster]);
    let price =
        Ratio::paired(&cold[slower], &cold[faster], millis, SAME_PRICE).expect("times of both");
    let warm_ms = |i: usize| spread_of(&warm[i], millis).map_or(f64::NAN, |s| s.median);
    let evidence = format!(
        "first cold pass: {read_name} {:.0} ms, mmap-reused {:.0} ms ({slower_name} / {faster_name} = {:.2}x, {}), against {:.0} ms and {:.0} ms for a warm first pass; {io_text}",
        read_cold.median,
        mmap_cold.median,
        price.median,
        price.range(),
        warm_ms(0),
        warm_ms(1),
    );
    if paid_storage == Some(false) {
        return claim(
            Verdict::Refuted,
            format!(
                "{evidence}: one of the two read less than {:.0}% of the file from storage, so it did not pay for bringing the file in",
                100.0 * STORAGE_READ_FRACTION
            ),
        );
    }
    if let Some((name, ratio)) = names
        .iter()
        .zip(&over_warm)
        .find(|(_, r)| r.side == Side::Below)
    {
        return claim(
            Verdict::Refuted,
            format!(
                "{evidence}: {name} was not {COLD_OVER_WARM}x slower cold than warm ({}), so it did not pay for bringing the file in",
                ratio.describe()
            ),
        );
    }
    let mut nuances = Vec::new();
    for (name, ratio) in names.iter().zip(&over_warm) {
        if ratio.side == Side::TooClose {
            nuances.push(format!(
                "whether {name} was {COLD_OVER_WARM}x slower cold than warm is too close to call ({})",
                ratio.describe()
            ));
        }
    }
    if paid_storage.is_none() {
        nuances.push("with storage reads unknown only the timing shows that they paid".to_string());
    }
    match price.side {
        Side::Below => {}
        Side::Above => nuances.push(format!(
            "both pay, but not the same price ({slower_name} was the slower one cold, {} the other's time, at least {SAME_PRICE}x)",
            price.describe()
        )),
        Side::TooClose => nuances.push(format!(
            "whether they pay the same price is too close to call: {slower_name} took {} {faster_name}'s time cold, a range that straddles {SAME_PRICE}x",
            price.describe()
        )),
    }
    if nuances.is_empty() {
        claim(Verdict::Holds, evidence)
    } else {
        claim(
            Verdict::HoldsWithNuance,
            format!("{evidence}: {}", nuances.join("; ")),
        )
    }
}

pub const S14_RULE: &str = "on the warm passes after the first (not-measured when fewer than warm_cached_fraction of the compared passes started with the whole file cached, or a series ran fewer than two passes): mmap-reused's median GB/s over read()'s at every block size, each ratio with the p5-p95 range of the ratios of passes paired by repetition and pass index; holds when mmap-reused is clearly (the whole range) at least faster times read() at every block size; refuted when it is clearly below faster times at every block size (slower below slower times read() at its best, about as fast otherwise); holds-with-nuance when it is clearly faster at some block sizes only, or a range straddles faster (too close to call); the evict-every-pass and memory-limit scenarios are evidence, not part of the verdict, since the claim is about a page cache that holds the file";

fn s14_thresholds() -> [(&'static str, Value); 6] {
    [
        ("faster", json!(FASTER)),
        ("slower", json!(SLOWER)),
        ("warm_cached_fraction", json!(WARM_CACHED_FRACTION)),
        ("evicted_passes_fraction", json!(EVICTED_PASSES_FRACTION)),
        ("spread_low_quantile", json!(SPREAD_QUANTILES[0])),
        ("spread_high_quantile", json!(SPREAD_QUANTILES[1])),
    ]
}

/// S14: for repeated access, mmap is faster, if the page cache holds it.
pub fn s14(run: &Run) -> Claim {
    let size = run.size;
    let claim = |verdict, evidence: String| {
        Claim::new("S14", verdict, evidence)
            .with_scenario(format!(
                "warm, cold, evict-every-pass{} over a {} file",
                if run.memory_limit.is_some() {
                    " and memory-limit"
                } else {
                    ""
                },
                format_size(size)
            ))
            .with_rule(S14_RULE, s14_thresholds())
    };
    let later = |method, block| {
        let passes = run
            .rows
            .select(size, Scenario::Warm, method, block, Passes::Later);
        Spread::of(&passes.iter().map(|p| p.gb_per_s).collect::<Vec<_>>()).map(|s| (s, passes))
    };
    let mut read_passes: Vec<(u64, Vec<&Pass>)> = Vec::new();
    let Some((mmap, mmap_passes)) = later(Method::MmapReused, 0) else {
        return claim(
            Verdict::NotMeasured,
            "mmap-reused ran fewer than two warm passes".to_string(),
        );
    };
    let mut compared = mmap_passes.clone();
    let mut reads: Vec<(u64, Spread)> = Vec::new();
    for &block in &run.block_sizes {
        if let Some((spread, passes)) = later(Method::Read, block) {
            reads.push((block, spread));
            compared.extend(passes.iter().copied());
            read_passes.push((block, passes));
        }
    }
    if reads.is_empty() {
        return claim(
            Verdict::NotMeasured,
            "read() ran fewer than two warm passes".to_string(),
        );
    }
    let cached = compared
        .iter()
        .filter(|p| p.resident_pages_before.is_some_and(|r| r >= p.file_pages))
        .count();
    if (cached as f64) < WARM_CACHED_FRACTION * compared.len() as f64 {
        return claim(
            Verdict::NotMeasured,
            format!(
                "the page cache did not hold the file: only {cached} of {} warm passes after the first (mmap-reused and read()) started with every page cached (mincore); something evicted it during the run",
                compared.len()
            ),
        );
    }
    let ratios: Vec<(u64, Ratio)> = read_passes
        .iter()
        .map(|(b, passes)| {
            let ratio = Ratio::paired(&mmap_passes, passes, gbps, FASTER);
            (*b, ratio.expect("speeds of both series"))
        })
        .collect();
    let best = reads
        .iter()
        .max_by(|a, b| a.1.median.total_cmp(&b.1.median))
        .map(|(b, _)| *b)
        .unwrap_or_default();
    let ratio_at = |block| {
        ratios
            .iter()
            .find(|(b, _)| *b == block)
            .map(|(_, r)| *r)
            .expect("a ratio per read block size")
    };
    let best_ratio = ratio_at(best);
    let ratios_text = ratios
        .iter()
        .map(|(b, r)| format!("{:.2}x at {}", r.median, format_size_short(*b)))
        .collect::<Vec<_>>()
        .join(", ");
    let ceiling_text = run
        .rows
        .ceiling(size)
        .map(|c| {
            format!(
                ", {:.2} of one thread's memory bandwidth ({c:.1} GB/s, the same loop over an anonymous buffer in one thread)",
                mmap.median / c
            )
        })
        .unwrap_or_default();
    let evidence = format!(
        "steady-state mmap-reused {:.1} GB/s = {ratios_text} read()'s ({} at read()'s best block size, {}){ceiling_text}{}{}",
        mmap.median,
        best_ratio.range(),
        format_size_short(best),
        evicted_text(run),
        limited_text(run),
    );
    let blocks_where = |side: Side| {
        ratios
            .iter()
            .filter(|(_, r)| r.side == side)
            .map(|(b, r)| format!("{} ({})", format_size_short(*b), r.describe()))
            .collect::<Vec<_>>()
    };
    let (above, below) = (blocks_where(Side::Above), blocks_where(Side::Below));
    if above.len() == ratios.len() {
        return claim(Verdict::Holds, evidence);
    }
    if below.len() == ratios.len() {
        let tail = if best_ratio.median < SLOWER {
            format!(
                ": mmap was not {FASTER:.2}x faster than read() at any block size, and slower than read() at {} ({})",
                format_size_short(best),
                best_ratio.describe()
            )
        } else {
            format!(
                ": about as fast as read() at {}, not {FASTER:.2}x faster at any block size",
                below.join(", ")
            )
        };
        return claim(Verdict::Refuted, format!("{evidence}{tail}"));
    }
    let others: Vec<String> = ratios
        .iter()
        .filter(|(_, r)| r.side != Side::Above)
        .map(|(b, r)| format!("{} ({})", format_size_short(*b), r.describe()))
        .collect();
    let tail = if above.is_empty() {
        format!(
            ": too close to call whether mmap is {FASTER:.2}x faster than read(): the p5-p95 range straddles {FASTER:.2}x at {}",
            blocks_where(Side::TooClose).join(", ")
        )
    } else {
        format!(
            ": {FASTER:.2}x faster than read() with {} blocks, but not clearly so with {}",
            above.join(", "),
            others.join(", ")
        )
    };
    claim(Verdict::HoldsWithNuance, format!("{evidence}{tail}"))
}

fn not_evicted(run: &Run, scenario: Scenario) -> Result<(), crate::rows::NotEvicted> {
    evicted_before(
        &run.rows,
        run.size,
        scenario,
        EVICTED_CACHED_FRACTION,
        EVICTED_PASSES_FRACTION,
        run.why_not_evicted.as_deref(),
    )
}

/// S14's evidence on the evict-every-pass scenario: its speeds, or why it
/// measured no eviction.
fn evicted_text(run: &Run) -> String {
    let block = run.headline_block;
    // Passes 2 and later, as in the series table and the bandwidth
    // figures: one definition of an evict-every-pass speed everywhere.
    let evicted = |method, block| {
        run.rows.median(
            run.size,
            Scenario::EvictEveryPass,
            method,
            block,
            Passes::Later,
            gbps,
        )
    };
    // A pass that was to start evicted but found the file cached measured
    // no page cache too small: that part is not measured, never evidence.
    match (
        evicted(Method::MmapReused, 0),
        evicted(Method::Read, block),
        not_evicted(run, Scenario::EvictEveryPass),
    ) {
        (Some(_), Some(_), Err(not)) => format!(
            "; the evict-every-pass scenario (page cache too small, simulated) was not measured: {}: {}",
            not.counts, not.reason
        ),
        (Some(m), Some(r), Ok(())) => format!(
            "; with the file evicted before every pass (page cache too small, simulated) mmap-reused ran at {m:.1} GB/s and read() {} at {r:.1} GB/s ({:.2}x, passes 2 and later, each from storage again)",
            format_size_short(block),
            m / r
        ),
        _ => String::new(),
    }
}

/// S14's evidence on the memory-limit scenario, when it ran.
fn limited_text(run: &Run) -> String {
    let (size, block) = (run.size, run.headline_block);
    let limited = |method, block| {
        run.rows.median(
            size,
            Scenario::MemoryLimit,
            method,
            block,
            Passes::Later,
            gbps,
        )
    };
    let (Some(limit), Some(m), Some(r)) = (
        run.memory_limit,
        limited(Method::MmapReused, 0),
        limited(Method::Read, block),
    ) else {
        return String::new();
    };
    let speeds = format!(
        "later passes of mmap-reused ran at {m:.1} GB/s and read() {} at {r:.1} GB/s ({:.2}x)",
        format_size_short(block),
        m / r
    );
    let evicted = not_evicted(run, Scenario::EvictEveryPass);
    match not_evicted(run, Scenario::MemoryLimit) {
        // The reason once: it is the same as evict-every-pass's.
        Err(not) => format!(
            "; the memory-limit scenario (a memory cgroup limited to {}) was not measured{}: {}{}",
            format_size(limit),
            if evicted.is_err() { " either" } else { "" },
            not.counts,
            match &evicted {
                Err(e) if e.reason == not.reason => String::new(),
                _ => format!(": {}", not.reason),
            }
        ),
        // Only a limit below the file makes the page cache too small.
        Ok(()) if limit >= size => format!(
            "; in a memory cgroup limited to {}, not smaller than the {} file (the page cache could hold the whole file, so the limited passes show no re-read), {speeds}",
            format_size(limit),
            format_size(size)
        ),
        Ok(()) => format!(
            "; in a memory cgroup limited to {} (a real page cache too small), {speeds}",
            format_size(limit)
        ),
    }
}
