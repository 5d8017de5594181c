//! The passes as the result file holds them (`samples`, one per pass),
//! typed, with the selections and statistics the judge, the figures and
//! the tables take from them. Nothing here reads a [`crate::PassRecord`]:
//! whatever is computed from these rows can be recomputed from the file.

use mmlab_core::stats::Summary;
use serde::Deserialize;

use crate::methods::{Family, Method};
use crate::plan::Scenario;

/// One pass: the fields of its sample that anything after measuring reads.
/// Counts are read as numbers of any kind (a hand-edited file may write
/// `5.0`); a field that could not be measured is `None`.
#[derive(Debug, Clone, Deserialize)]
pub struct Pass {
    pub file_size_bytes: u64,
    pub scenario: String,
    pub method: String,
    /// `None` for methods that take no block size.
    #[serde(default)]
    pub block_size_bytes: Option<u64>,
    pub repetition: usize,
    /// 1-based.
    pub pass_index: usize,
    /// `timed`, `counted` or `observer`; missing in runs from before the
    /// counted passes, whose passes were timed with every counter on and
    /// serve as both.
    #[serde(default)]
    pub role: Option<String>,
    /// The counter set on during the timer (`timing`, `full`, ...).
    #[serde(default)]
    pub instrumentation: Option<String>,
    /// Where the buffer was asked to start past a page (missing: 0).
    #[serde(default)]
    pub buffer_offset_bytes: Option<u64>,
    pub gb_per_s: f64,
    pub elapsed_ms: f64,
    #[serde(default)]
    pub on_cpu_gb_per_s: Option<f64>,
    /// `raw_syscalls:sys_enter` in the pass; `None` where not countable.
    #[serde(default)]
    pub n_syscalls: Option<f64>,
    pub n_faults: f64,
    pub n_major_faults: f64,
    /// ceil(s/b) + 1 for the read() and pread() methods, `None` otherwise.
    #[serde(default)]
    pub expected_read_calls: Option<f64>,
    #[serde(default)]
    pub io_read_bytes: Option<f64>,
    /// Threads the pass summed in (missing: 1).
    #[serde(default)]
    pub threads: Option<usize>,
    /// A kept mapping's PMD-mapped bytes after the pass (smaps).
    #[serde(default)]
    pub mapping_file_pmd_mapped_bytes: Option<f64>,
    /// mincore before the pass; `None` for the memory ceiling.
    #[serde(default)]
    pub resident_pages_before: Option<f64>,
    pub file_pages: f64,
}

impl Pass {
    pub fn is_first_pass(&self) -> bool {
        self.pass_index == 1
    }

    /// A timed pass (or one of an older run, timed with every counter on).
    pub fn is_timed(&self) -> bool {
        self.role.as_deref().is_none_or(|r| r == "timed")
    }

    /// A pass whose counts are complete (or one of an older run).
    pub fn is_counted(&self) -> bool {
        self.role.as_deref().is_none_or(|r| r == "counted")
    }

    pub fn is_observer(&self) -> bool {
        self.role.as_deref() == Some("observer")
    }

    /// The buffer's asked offset past a page (0 when not recorded).
    pub fn buffer_offset(&self) -> u64 {
        self.buffer_offset_bytes.unwrap_or(0)
    }

    /// Whether the file was evicted just before this pass (by its scenario).
    pub fn follows_eviction(&self) -> bool {
        !self.method.starts_with(Method::MemoryCeiling.name())
            && Scenario::from_name(&self.scenario).is_some_and(|s| s.evicts_before(self.pass_index))
    }

    /// Whether at most `fraction` of the file was cached before the pass
    /// (`None`: residency not read).
    pub fn started_evicted(&self, fraction: f64) -> Option<bool> {
        self.resident_pages_before
            .map(|left| left <= fraction * self.file_pages)
    }
}

/// Which passes of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passes {
    First,
    Later,
    Every,
}

/// The 5th percentile, median and 95th percentile of a series: the spread
/// a ratio is judged against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub p5: f64,
    pub median: f64,
    pub p95: f64,
    pub n: usize,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Spread> {
        Summary::of("", "", values).map(|s| Spread {
            p5: s.p5,
            median: s.median,
            p95: s.p95,
            n: s.n,
        })
    }
}

/// Where the ratio of two series lies against a limit, given their spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Even the lowest plausible ratio (numerator's p5 over denominator's
    /// p95) reaches the limit.
    Above,
    /// Even the highest plausible ratio (p95 over p5) stays below it.
    Below,
    /// The p5-p95 range of the ratio straddles the limit: too close to call.
    TooClose,
}

/// The ratio of one series to another: median over median, and its range,
/// placed against a limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    pub median: f64,
    /// p5 and p95 of the ratio.
    pub low: f64,
    pub high: f64,
    /// Pairs the range comes from (0: from the two spreads, unpaired).
    pub n_pairs: usize,
    pub side: Side,
}

impl Ratio {
    fn placed(median: f64, low: f64, high: f64, n_pairs: usize, limit: f64) -> Ratio {
        let side = if low >= limit {
            Side::Above
        } else if high < limit {
            Side::Below
        } else {
            Side::TooClose
        };
        Ratio {
            median,
            low,
            high,
            n_pairs,
            side,
        }
    }

    /// From two spreads alone: the range runs from the numerator's p5 over
    /// the denominator's p95 to its p95 over their p5.
    pub fn of(numerator: &Spread, denominator: &Spread, limit: f64) -> Ratio {
        Ratio::placed(
            numerator.median / denominator.median,
            numerator.p5 / denominator.p95,
            numerator.p95 / denominator.p5,
            0,
            limit,
        )
    }

    /// `value` of the `numerator` passes against the `denominator` passes:
    /// median over median, and the range from the p5 and p95 of the ratios
    /// of passes paired by repetition and pass index (the repetitions are
    /// interleaved, so a pair shares the machine's load of its repetition);
    /// from the two spreads when no pass pairs up. `None` when a series is
    /// empty or lacks the value.
    pub fn paired(
        numerator: &[&Pass],
        denominator: &[&Pass],
        value: fn(&Pass) -> Option<f64>,
        limit: f64,
    ) -> Option<Ratio> {
        let values = |passes: &[&Pass]| {
            passes
                .iter()
                .map(|p| value(p))
                .collect::<Option<Vec<f64>>>()
                .and_then(|v| Spread::of(&v))
        };
        let (n, d) = (values(numerator)?, values(denominator)?);
        let ratios: Vec<f64> = numerator
            .iter()
            .filter_map(|a| {
                let b = denominator
                    .iter()
                    .find(|b| b.repetition == a.repetition && b.pass_index == a.pass_index)?;
                Some(value(a)? / value(b)?)
            })
            .collect();
        Some(match Spread::of(&ratios) {
            Some(r) => Ratio::placed(n.median / d.median, r.p5, r.p95, r.n, limit),
            None => Ratio::of(&n, &d, limit),
        })
    }

    /// `1.16x (p5-p95 1.12-1.19x over 14 paired passes)`.
    pub fn describe(&self) -> String {
        format!("{:.2}x ({})", self.median, self.range())
    }

    /// `p5-p95 1.12-1.19x over 14 paired passes`.
    pub fn range(&self) -> String {
        let over = match self.n_pairs {
            0 => "from the two spreads".to_string(),
            1 => "from 1 pair of passes".to_string(),
            n => format!("over {n} paired passes"),
        };
        format!("p5-p95 {:.2}-{:.2}x {over}", self.low, self.high)
    }
}

/// The passes of one run.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub all: Vec<Pass>,
}

impl Rows {
    /// The samples of a result file, or why they cannot be read.
    pub fn of_samples(samples: &[serde_json::Value]) -> Result<Rows, String> {
        let all = samples
            .iter()
            .enumerate()
            .map(|(i, sample)| {
                serde_json::from_value(sample.clone())
                    .map_err(|e| format!("sample {i} cannot be read: {e}"))
            })
            .collect::<Result<Vec<Pass>, String>>()?;
        Ok(Rows { all })
    }

    /// The timed passes of a series (buffer at a page boundary).
    pub fn select(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
    ) -> Vec<&Pass> {
        self.select_where(size, scenario, method, block, passes, Pass::is_timed)
    }

    /// The counted passes of a series: where system calls come from.
    pub fn select_counted(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
    ) -> Vec<&Pass> {
        self.select_where(size, scenario, method, block, passes, Pass::is_counted)
    }

    /// The median of `value` over the counted passes of a series.
    pub fn counted_median(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        value: impl Fn(&Pass) -> Option<f64>,
    ) -> Option<f64> {
        let values: Option<Vec<f64>> = self
            .select_counted(size, scenario, method, block, passes)
            .into_iter()
            .map(value)
            .collect();
        mmlab_core::stats::median(&values.filter(|v| !v.is_empty())?)
    }

    fn select_where(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        role: fn(&Pass) -> bool,
    ) -> Vec<&Pass> {
        self.all
            .iter()
            .filter(|r| {
                role(r)
                    && r.buffer_offset() == 0
                    && r.file_size_bytes == size
                    && r.scenario == scenario.name()
                    && r.method == method.name()
                    && (method.family() != Family::Block || r.block_size_bytes == Some(block))
                    && match passes {
                        Passes::First => r.is_first_pass(),
                        Passes::Later => !r.is_first_pass(),
                        Passes::Every => true,
                    }
            })
            .collect()
    }

    /// The values of `value` over a selection; `None` when the selection is
    /// empty or any pass lacks the value.
    pub fn values(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        value: impl Fn(&Pass) -> Option<f64>,
    ) -> Option<Vec<f64>> {
        let values: Option<Vec<f64>> = self
            .select(size, scenario, method, block, passes)
            .into_iter()
            .map(value)
            .collect();
        values.filter(|v| !v.is_empty())
    }

    pub fn spread(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        value: impl Fn(&Pass) -> Option<f64>,
    ) -> Option<Spread> {
        Spread::of(&self.values(size, scenario, method, block, passes, value)?)
    }

    pub fn median(
        &self,
        size: u64,
        scenario: Scenario,
        method: Method,
        block: u64,
        passes: Passes,
        value: impl Fn(&Pass) -> Option<f64>,
    ) -> Option<f64> {
        self.spread(size, scenario, method, block, passes, value)
            .map(|s| s.median)
    }

    /// Median steady-state (passes 2..) bandwidth of the memory ceiling.
    pub fn ceiling(&self, size: u64) -> Option<f64> {
        self.median(
            size,
            Scenario::Warm,
            Method::MemoryCeiling,
            0,
            Passes::Later,
            gbps,
        )
    }
}

pub fn gbps(r: &Pass) -> Option<f64> {
    Some(r.gb_per_s)
}
pub fn on_cpu_gbps(r: &Pass) -> Option<f64> {
    r.on_cpu_gb_per_s
}
pub fn millis(r: &Pass) -> Option<f64> {
    Some(r.elapsed_ms)
}
pub fn syscalls(r: &Pass) -> Option<f64> {
    r.n_syscalls
}
pub fn faults(r: &Pass) -> Option<f64> {
    Some(r.n_faults)
}

/// The passes of a scenario that were to start from an evicted file but
/// mostly found the file cached: that scenario measured no eviction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotEvicted {
    /// `12 of 12 passes meant to start evicted started with the file still
    /// cached (up to 2,048 of 2,048 pages)`
    pub counts: String,
    /// Why, with the remedy: the data folder's filesystem, or "unknown".
    pub reason: String,
}

/// Whether the passes of `scenario` that follow an eviction started with at
/// most `cached_fraction` of the file cached (mincore) in at least
/// `evicted_fraction` of them.
pub fn evicted_before(
    rows: &Rows,
    size: u64,
    scenario: Scenario,
    cached_fraction: f64,
    evicted_fraction: f64,
    why_not_evicted: Option<&str>,
) -> Result<(), NotEvicted> {
    let evicted: Vec<&Pass> = rows
        .all
        .iter()
        .filter(|r| {
            r.is_timed()
                && r.file_size_bytes == size
                && r.scenario == scenario.name()
                && r.follows_eviction()
        })
        .collect();
    let warm_starts: Vec<f64> = evicted
        .iter()
        .filter(|r| r.started_evicted(cached_fraction) == Some(false))
        .filter_map(|r| r.resident_pages_before)
        .collect();
    let n_cold = evicted.len() - warm_starts.len();
    if evicted.is_empty() || n_cold as f64 >= evicted_fraction * evicted.len() as f64 {
        return Ok(());
    }
    let most = warm_starts.iter().copied().fold(0.0, f64::max);
    let file_pages = evicted.first().map_or(0.0, |r| r.file_pages);
    Err(NotEvicted {
        counts: format!(
            "{} of {} passes meant to start evicted started with the file still cached (up to {} of {} pages)",
            warm_starts.len(),
            evicted.len(),
            crate::text::thousands(most as u64),
            crate::text::thousands(file_pages as u64),
        ),
        reason: match why_not_evicted {
            Some(why) => format!("{why}; use {}", mmlab_core::datafile::DISK_DATA_DIR),
            None => "the file could not be evicted (mapped elsewhere?)".to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(p5: f64, median: f64, p95: f64) -> Spread {
        Spread {
            p5,
            median,
            p95,
            n: 10,
        }
    }

    #[test]
    fn a_ratio_is_too_close_to_call_when_its_spread_straddles_the_limit() {
        let a = spread(11.0, 12.0, 13.0);
        assert_eq!(
            Ratio::of(&a, &spread(9.0, 10.0, 11.0), 1.1).side,
            Side::TooClose
        );
        assert_eq!(Ratio::of(&a, &spread(5.0, 5.5, 6.0), 1.1).side, Side::Above);
        assert_eq!(
            Ratio::of(&a, &spread(13.0, 14.0, 15.0), 1.1).side,
            Side::Below
        );
        let r = Ratio::of(&a, &spread(9.0, 10.0, 11.0), 1.1);
        assert_eq!(
            r.describe(),
            "1.20x (p5-p95 1.00-1.44x from the two spreads)"
        );
    }

    fn pass(repetition: usize, pass_index: usize, gb_per_s: f64) -> Pass {
        Pass {
            file_size_bytes: 1 << 20,
            scenario: "warm".into(),
            method: "read".into(),
            block_size_bytes: Some(4096),
            repetition,
            pass_index,
            role: None,
            instrumentation: None,
            buffer_offset_bytes: None,
            gb_per_s,
            elapsed_ms: 1.0,
            on_cpu_gb_per_s: None,
            n_syscalls: None,
            n_faults: 0.0,
            n_major_faults: 0.0,
            expected_read_calls: None,
            io_read_bytes: None,
            threads: None,
            mapping_file_pmd_mapped_bytes: None,
            resident_pages_before: None,
            file_pages: 256.0,
        }
    }

    #[test]
    fn paired_passes_share_their_repetition_s_load() {
        // Repetition 1 ran at half speed for both: each pair is 2x, while
        // the spreads alone (10-20 against 5-10) would straddle 1.1x.
        let a = [
            pass(0, 2, 20.0),
            pass(0, 3, 20.0),
            pass(1, 2, 10.0),
            pass(1, 3, 10.0),
        ];
        let b = [
            pass(0, 2, 10.0),
            pass(0, 3, 10.0),
            pass(1, 2, 5.0),
            pass(1, 3, 5.0),
        ];
        let (a, b): (Vec<&Pass>, Vec<&Pass>) = (a.iter().collect(), b.iter().collect());
        let r = Ratio::paired(&a, &b, gbps, 1.1).unwrap();
        assert_eq!(
            (r.low, r.high, r.n_pairs, r.side),
            (2.0, 2.0, 4, Side::Above)
        );
        let unpaired = Ratio::paired(&a[..2], &b[2..], gbps, 1.1).unwrap();
        assert_eq!((unpaired.n_pairs, unpaired.side), (0, Side::Above));
        assert_eq!(Ratio::paired(&a, &[], gbps, 1.1), None);
    }
}
