//! When to stop repeating a series: once the confidence interval of its
//! median is narrow enough, as criterion and hyperfine stop sampling.
//!
//! The interval is distribution-free (order statistics): for n values the
//! median lies between the k-th smallest and the k-th largest with
//! probability 1 - 2 P(Binomial(n, 1/2) < k), so k is the largest rank
//! that keeps that at least the confidence asked for. No assumption about
//! the shape of the timings (they are skewed: a pass can only be slowed).

use mmlab_core::stats::median;

/// The stopping rule of the full profile's repetitions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Confidence of the median's interval (0.95).
    pub confidence: f64,
    /// Stop when the interval's larger half is at most this fraction of
    /// the median (0.03: within +-3%).
    pub half_width: f64,
    pub min_repetitions: usize,
    pub max_repetitions: usize,
}

impl Rule {
    pub const FULL: Rule = Rule {
        confidence: 0.95,
        half_width: 0.03,
        min_repetitions: 2,
        max_repetitions: 8,
    };

    /// The rule in one sentence, for the result file.
    pub fn describe(&self) -> String {
        format!(
            "repeat a series until the {:.0}% order-statistics confidence interval of the median of its timed passes after the first lies within +-{:.0}% of the median, at least {} and at most {} repetitions, and no repetition that would end after the profile's time budget",
            100.0 * self.confidence,
            100.0 * self.half_width,
            self.min_repetitions,
            self.max_repetitions
        )
    }
}

/// The median of a sample and its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    pub n: usize,
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

impl MedianInterval {
    /// The interval at `confidence`, `None` when there are too few values
    /// for any interval of that confidence (n < 6 at 95%) or none at all.
    pub fn of(values: &[f64], confidence: f64) -> Option<MedianInterval> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let k = rank(n, confidence)?;
        Some(MedianInterval {
            n,
            median: median(&sorted)?,
            low: sorted[k - 1],
            high: sorted[n - k],
        })
    }

    /// The larger half of the interval as a fraction of the median.
    pub fn half_width(&self) -> f64 {
        (self.median - self.low).max(self.high - self.median)
            / self.median.abs().max(f64::MIN_POSITIVE)
    }
}

/// The largest rank k (1-based) with 1 - 2 P(X < k) >= confidence for
/// X ~ Binomial(n, 1/2); `None` when even k = 1 falls short.
pub fn rank(n: usize, confidence: f64) -> Option<usize> {
    if n == 0 {
        return None;
    }
    // P(X = i) for i = 0.. from the recurrence C(n, i+1) = C(n, i) (n-i)/(i+1),
    // in logs so that large n does not underflow.
    let log_half_n = n as f64 * 0.5f64.ln();
    let mut log_c = 0.0f64;
    let mut below = 0.0f64; // P(X < k) for the current k
    let mut best = None;
    for k in 1..=n.div_ceil(2) {
        // P(X < k) = P(X < k-1) + P(X = k-1)
        below += (log_c + log_half_n).exp();
        let i = (k - 1) as f64;
        log_c += ((n as f64 - i) / (i + 1.0)).ln();
        if 1.0 - 2.0 * below >= confidence {
            best = Some(k);
        } else {
            break;
        }
    }
    best
}

/// Why a series stopped repeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The interval reached the width.
    WidthReached,
    /// The maximum number of repetitions ran.
    MaxRepetitions,
    /// The next repetition would have ended after the time budget.
    TimeBudget,
    /// A fixed number of repetitions (quick profile, `--repeat`).
    Fixed,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::WidthReached => "width reached",
            Stop::MaxRepetitions => "maximum repetitions",
            Stop::TimeBudget => "time budget",
            Stop::Fixed => "fixed repetitions",
        }
    }
}

/// Whether a series with these values after `repetitions` repetitions has
/// met `rule`'s width.
pub fn converged(rule: &Rule, repetitions: usize, values: &[f64]) -> bool {
    repetitions >= rule.min_repetitions
        && MedianInterval::of(values, rule.confidence)
            .is_some_and(|ci| ci.half_width() <= rule.half_width)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_match_the_binomial_tables() {
        // The textbook ranks for a 95% interval of the median.
        assert_eq!(rank(5, 0.95), None);
        assert_eq!(rank(6, 0.95), Some(1)); // 1 - 2/64 = 0.969
        assert_eq!(rank(9, 0.95), Some(2)); // 0.961
        assert_eq!(rank(10, 0.95), Some(2)); // 0.979; k = 3 gives 0.891
        assert_eq!(rank(20, 0.95), Some(6)); // 0.959
        assert_eq!(rank(100, 0.95), Some(40)); // 0.965
        assert!(rank(2000, 0.95).is_some());
    }

    #[test]
    fn a_tight_sample_converges_and_a_spread_one_does_not() {
        let tight: Vec<f64> = (0..12).map(|i| 10.0 + 0.01 * i as f64).collect();
        let ci = MedianInterval::of(&tight, 0.95).unwrap();
        assert!(ci.low <= ci.median && ci.median <= ci.high);
        assert!(ci.half_width() < 0.01, "{ci:?}");
        assert!(converged(&Rule::FULL, 2, &tight));
        assert!(!converged(&Rule::FULL, 1, &tight), "below the minimum");
        let spread: Vec<f64> = (0..12).map(|i| 10.0 + i as f64).collect();
        assert!(!converged(&Rule::FULL, 3, &spread));
        assert!(!converged(&Rule::FULL, 3, &[1.0, 1.0]), "too few values");
    }
}
