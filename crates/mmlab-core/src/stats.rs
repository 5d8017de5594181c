//! Statistics over a series of repetitions. Outliers are flagged (Tukey's
//! fences, 1.5 x IQR), never dropped: the raw samples stay in the result.

use serde::{Deserialize, Serialize};

/// The summary of one series (say, `elapsed_ns` of `mmap-reused` at 64k).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Which series: a scenario or method name, with its parameters.
    pub series: String,
    /// The measured quantity, with its unit in the name (`elapsed_ns`).
    pub metric: String,
    pub n: usize,
    pub min: f64,
    pub p5: f64,
    pub median: f64,
    pub p95: f64,
    pub max: f64,
    pub mean: f64,
    /// Coefficient of variation: standard deviation / mean (0 when mean is 0).
    pub cv: f64,
    /// Indices into the series (in the order given) outside Tukey's fences.
    pub outlier_indices: Vec<usize>,
}

/// The q-quantile (0..=1) of sorted values, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of an empty series");
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = position.ceil() as usize;
    let weight = position - lower as f64;
    sorted[lower] * (1.0 - weight) + sorted[upper] * weight
}

impl Summary {
    /// Summarises `values`; `None` for an empty series (nothing to say).
    pub fn of(
        series: impl Into<String>,
        metric: impl Into<String>,
        values: &[f64],
    ) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n as f64;
        let variance = if n > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        let cv = if mean != 0.0 {
            variance.sqrt() / mean.abs()
        } else {
            0.0
        };
        let q1 = quantile(&sorted, 0.25);
        let q3 = quantile(&sorted, 0.75);
        let iqr = q3 - q1;
        let (low_fence, high_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
        let outlier_indices = values
            .iter()
            .enumerate()
            .filter(|(_, v)| **v < low_fence || **v > high_fence)
            .map(|(i, _)| i)
            .collect();
        Some(Summary {
            series: series.into(),
            metric: metric.into(),
            n,
            min: sorted[0],
            p5: quantile(&sorted, 0.05),
            median: quantile(&sorted, 0.5),
            p95: quantile(&sorted, 0.95),
            max: sorted[n - 1],
            mean,
            cv,
            outlier_indices,
        })
    }
}

/// The median of a series (`None` when empty): the figure most verdicts use.
pub fn median(values: &[f64]) -> Option<f64> {
    Summary::of("", "", values).map(|s| s.median)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_a_known_series() {
        let values = [10.0, 12.0, 11.0, 13.0, 100.0, 12.0, 11.0];
        let s = Summary::of("s", "elapsed_ns", &values).unwrap();
        assert_eq!(s.n, 7);
        assert_eq!(s.min, 10.0);
        assert_eq!(s.max, 100.0);
        assert_eq!(s.median, 12.0);
        assert_eq!(s.outlier_indices, vec![4], "100 is flagged, not dropped");
        assert!(s.cv > 1.0);
        assert!(s.p5 >= s.min && s.p5 <= s.median && s.p95 <= s.max && s.p95 >= s.median);
    }

    #[test]
    fn single_and_empty_series() {
        assert!(Summary::of("s", "m", &[]).is_none());
        let s = Summary::of("s", "m", &[5.0]).unwrap();
        assert_eq!((s.median, s.p5, s.p95, s.cv), (5.0, 5.0, 5.0, 0.0));
        assert!(s.outlier_indices.is_empty());
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
    }
}
