//! Guides: reference lines a figure draws in its own coordinates, beyond
//! the horizontal `reference_lines` of its spec: the diagonal `y = x` that
//! a caption can point at ("one fault per page touched lies on the
//! diagonal"), any `y = slope · x`, and vertical lines at an `x` (a
//! threshold measured in the same run).
//!
//! A result declares them as data, beside its figures, in a top-level
//! object keyed by figure id (the figure spec has no field for them yet):
//!
//! ```json
//! "figure_guides": {
//!   "faults-vs-pages-touched": [
//!     {"label": "one fault per page touched (y = x)", "slope": 1},
//!     {"label": "one fault per 16 pages (fault-around)", "slope": 0.0625},
//!     {"label": "whole file (16384 pages)", "x": 16384}
//!   ]
//! }
//! ```
//!
//! Each guide sets exactly one of `slope` (the line y = slope · x across the
//! plot, a straight line on linear and on log-log axes alike) or `x` (a
//! vertical line). They are drawn in grey with their own dash patterns and
//! named in the legend, like the horizontal reference lines, and the axes
//! are widened to show them. Line figures only: a bar figure has no numeric
//! x. A guide that cannot be drawn (neither or both set, a value that is
//! not a number, a slope of zero or less on a log y axis) makes the figure
//! a problem figure that says which.

use mmlab_core::{FigureKind, FigureSpec};
use serde::Deserialize;
use serde_json::Value;

use crate::figure::{Source, Unusable};

/// The top-level key of a result holding the guides of its figures.
pub const KEY: &str = "figure_guides";

/// One guide of one figure.
#[derive(Debug, Clone, PartialEq)]
pub enum Guide {
    /// y = slope · x.
    Slope { label: String, slope: f64 },
    /// A vertical line at x.
    Vertical { label: String, x: f64 },
}

impl Guide {
    pub fn label(&self) -> &str {
        match self {
            Guide::Slope { label, .. } | Guide::Vertical { label, .. } => label,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    label: String,
    #[serde(default)]
    slope: Option<f64>,
    #[serde(default)]
    x: Option<f64>,
}

/// The guides declared for `spec` by `sources` (each label once, in the
/// order first declared), or why they cannot be drawn.
pub fn of(spec: &FigureSpec, sources: &[Source]) -> Result<Vec<Guide>, Unusable> {
    let mut guides: Vec<Guide> = Vec::new();
    for source in sources {
        let Some(all) = source.result.extra.get(KEY) else {
            continue;
        };
        let Some(declared) = all.as_object().map(|o| o.get(&spec.id)) else {
            return Err(Unusable(format!(
                "`{KEY}` is not an object keyed by figure id"
            )));
        };
        let Some(declared) = declared else {
            continue;
        };
        let Value::Array(items) = declared else {
            return Err(Unusable(format!(
                "`{KEY}.{}` is not an array of guides",
                spec.id
            )));
        };
        for (index, item) in items.iter().enumerate() {
            let place = format!("`{KEY}.{}[{index}]`", spec.id);
            let declared: Declared = serde_json::from_value(item.clone()).map_err(|e| {
                Unusable(format!(
                    "{place} is not a guide ({{\"label\", and \"slope\" or \"x\"}}): {e}"
                ))
            })?;
            let guide = match (declared.slope, declared.x) {
                (Some(slope), None) => Guide::Slope {
                    label: declared.label,
                    slope,
                },
                (None, Some(x)) => Guide::Vertical {
                    label: declared.label,
                    x,
                },
                _ => {
                    return Err(Unusable(format!(
                        "{place} (`{}`) must set exactly one of `slope` and `x`",
                        declared.label
                    )));
                }
            };
            let value = match &guide {
                Guide::Slope { slope, .. } => *slope,
                Guide::Vertical { x, .. } => *x,
            };
            if !crate::scale::drawable(value) {
                return Err(Unusable(format!(
                    "{place} (`{}`) is {value:e}, beyond what a figure can draw",
                    guide.label()
                )));
            }
            if let Guide::Slope { slope, .. } = &guide
                && spec.y.log
                && *slope <= 0.0
            {
                return Err(Unusable(format!(
                    "{place} (`{}`): a slope of {slope} has no line on a log y axis",
                    guide.label()
                )));
            }
            if !guides.iter().any(|g| g.label() == guide.label()) {
                guides.push(guide);
            }
        }
    }
    if !guides.is_empty() && spec.kind != FigureKind::Line {
        return Err(Unusable(format!(
            "`{KEY}.{}`: guides (a slope or a vertical line at an x) need a line figure, with numbers on x",
            spec.id
        )));
    }
    Ok(guides)
}

/// The guides of `result` that name no figure of it (a typo would leave a
/// guide out unseen), as problems for the report.
pub fn stray(result: &mmlab_core::ResultFile) -> Vec<String> {
    let Some(all) = result.extra.get(KEY).and_then(Value::as_object) else {
        return Vec::new();
    };
    all.keys()
        .filter(|id| !result.figures.iter().any(|f| f.id == **id))
        .map(|id| {
            format!(
                "`{KEY}.{id}` of {} names no figure of that result",
                result.experiment
            )
        })
        .collect()
}
