//! The model of a read() call, time = a + b x size, fitted to the per-call
//! medians by weighted least squares, and what the fitted terms say about
//! one long pass. Pure functions of numbers in the result file: the
//! experiment stores what they give, the judge computes them again.

use serde::{Deserialize, Serialize};

/// A straight line `y = a + b x` fitted to points, with its residuals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The per-call term (ns).
    pub a_ns: f64,
    /// The per-byte term (ns per byte).
    pub b_ns_per_byte: f64,
    /// 1/b: the bandwidth the per-byte term stands for, in GB/s (bytes per ns).
    pub per_byte_gb_per_s: f64,
    pub n_points: usize,
    /// The root mean square of the relative residuals (residual / measured).
    pub rms_relative_residual: f64,
    /// The largest relative residual in absolute value, and where.
    pub max_relative_residual: f64,
    pub max_residual_at_bytes: f64,
    /// Per point: x, measured y, fitted y, residual, relative residual.
    pub residuals: Vec<Residual>,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    pub block_bytes: f64,
    pub measured_ns: f64,
    pub fitted_ns: f64,
    pub residual_ns: f64,
    pub relative_residual: f64,
}

pub const FIT_METHOD: &str = "weighted least squares of the per-call medians, weight 1/measured^2 (each point counts by its relative error, so the 64-byte calls are not drowned by the 1 MiB ones, which take a thousand times longer)";

/// Fits `y = a + b x` to `(x, y)` points with weights `1/y^2`; `None` with
/// fewer than two distinct x, or a y that is not positive.
pub fn fit(points: &[(f64, f64)]) -> Option<Fit> {
    if points.len() < 2
        || points
            .iter()
            .any(|(x, y)| !x.is_finite() || !y.is_finite() || *y <= 0.0)
    {
        return None;
    }
    let (mut s, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y) in points {
        let w = 1.0 / (y * y);
        s += w;
        sx += w * x;
        sy += w * y;
        sxx += w * x * x;
        sxy += w * x * y;
    }
    let d = s * sxx - sx * sx;
    if d.abs() <= f64::EPSILON * s * sxx {
        return None;
    }
    let b = (s * sxy - sx * sy) / d;
    let a = (sxx * sy - sx * sxy) / d;
    let residuals: Vec<Residual> = points
        .iter()
        .map(|&(x, y)| {
            let fitted = a + b * x;
            Residual {
                block_bytes: x,
                measured_ns: y,
                fitted_ns: fitted,
                residual_ns: y - fitted,
                relative_residual: (y - fitted) / y,
            }
        })
        .collect();
    let rms = (residuals
        .iter()
        .map(|r| r.relative_residual.powi(2))
        .sum::<f64>()
        / residuals.len() as f64)
        .sqrt();
    let worst = residuals
        .iter()
        .max_by(|p, q| {
            p.relative_residual
                .abs()
                .total_cmp(&q.relative_residual.abs())
        })
        .cloned()?;
    Some(Fit {
        a_ns: a,
        b_ns_per_byte: b,
        per_byte_gb_per_s: if b > 0.0 { 1.0 / b } else { f64::NAN },
        n_points: points.len(),
        rms_relative_residual: rms,
        max_relative_residual: worst.relative_residual,
        max_residual_at_bytes: worst.block_bytes,
        residuals,
        method: FIT_METHOD.to_string(),
    })
}

/// The size of the pass the split describes.
pub const SPLIT_PASS_BYTES: u64 = 256 << 20;
/// The block sizes it is split at.
pub const SPLIT_BLOCKS: [u64; 3] = [4 << 10, 64 << 10, 1 << 20];

pub const PART_TRAP: &str = "trap (null system call)";
pub const PART_KERNEL: &str = "per-call kernel work (a - trap)";
pub const PART_COPY: &str = "copy (b x bytes)";

/// One long pass at one block size split by the fitted terms: calls x the
/// null system call, calls x (a - null), bytes x b; ms each, and the
/// per-call median measured at that block size x calls beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub block_bytes: u64,
    pub pass_bytes: u64,
    pub calls: u64,
    pub trap_ms: f64,
    pub kernel_ms: f64,
    pub copy_ms: f64,
    pub model_ms: f64,
    pub measured_ms: Option<f64>,
}

pub fn split(fit: &Fit, null_ns: f64, block: u64, measured_per_call_ns: Option<f64>) -> Split {
    let calls = SPLIT_PASS_BYTES.div_ceil(block);
    let c = calls as f64;
    let trap_ms = c * null_ns / 1e6;
    let kernel_ms = c * (fit.a_ns - null_ns) / 1e6;
    let copy_ms = SPLIT_PASS_BYTES as f64 * fit.b_ns_per_byte / 1e6;
    Split {
        block_bytes: block,
        pass_bytes: SPLIT_PASS_BYTES,
        calls,
        trap_ms,
        kernel_ms,
        copy_ms,
        model_ms: trap_ms + kernel_ms + copy_ms,
        measured_ms: measured_per_call_ns.map(|ns| c * ns / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_line_exactly() {
        let points: Vec<(f64, f64)> = [64.0, 1024.0, 65536.0, 1048576.0]
            .iter()
            .map(|&x| (x, 300.0 + 0.1 * x))
            .collect();
        let f = fit(&points).unwrap();
        assert!((f.a_ns - 300.0).abs() < 1e-6, "{f:?}");
        assert!((f.b_ns_per_byte - 0.1).abs() < 1e-12, "{f:?}");
        assert!(f.rms_relative_residual < 1e-9);
        assert!((f.per_byte_gb_per_s - 10.0).abs() < 1e-9);
    }

    #[test]
    fn refuses_what_cannot_be_fitted() {
        assert!(fit(&[(64.0, 1.0)]).is_none());
        assert!(fit(&[(64.0, 1.0), (64.0, 2.0)]).is_none());
        assert!(fit(&[(64.0, 1.0), (128.0, 0.0)]).is_none());
    }

    #[test]
    fn the_split_adds_up() {
        let f = fit(&[(64.0, 306.4), (1048576.0, 300.0 + 104857.6)]).unwrap();
        let s = split(&f, 100.0, 4096, Some(700.0));
        assert_eq!(s.calls, 65536);
        assert!((s.trap_ms - 6.5536).abs() < 1e-9);
        assert!((s.model_ms - (s.trap_ms + s.kernel_ms + s.copy_ms)).abs() < 1e-9);
        assert!((s.copy_ms - 26.8435456).abs() < 1e-6);
    }
}
