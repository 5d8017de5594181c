//! The result file: the contract between experiments, plots and users
//! (`shared/design/result-schema.md`). One experiment run writes one file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::stats::Summary;

/// Bumped on any incompatible change of [`ResultFile`].
pub const SCHEMA_VERSION: u32 = 1;

/// One experiment run. Fields beyond the schema's floor go into `extra`
/// (flattened into the top level of the JSON), so an experiment can add a
/// table of its own without a schema change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResultFile {
    pub schema_version: u32,
    /// The experiment id, which is also its folder under `experiments/`.
    pub experiment: String,
    pub run_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ns: u64,
    pub tool_version: String,
    pub env: Fingerprint,
    /// Every knob of the run; sizes in bytes, names carry units.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Per counter: `true`, or the reason it could not be read.
    pub counters_available: BTreeMap<String, Availability>,
    /// Raw per-repetition measurements; each is a flat object whose field
    /// names carry units (`elapsed_ns`, `n_minor_faults`).
    pub samples: Vec<serde_json::Value>,
    pub summaries: Vec<Summary>,
    pub claims: Vec<Claim>,
    pub warnings: Vec<Warning>,
    /// The figures to draw from this file's data, declared by the experiment
    /// and drawn by the plot crate (which knows nothing of any experiment).
    #[serde(default)]
    pub figures: Vec<FigureSpec>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Whether a counter could be read: serialized as `true` or as the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    Available,
    Unavailable(String),
}

impl Availability {
    pub fn is_available(&self) -> bool {
        matches!(self, Availability::Available)
    }
}

impl Serialize for Availability {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Availability::Available => serializer.serialize_bool(true),
            Availability::Unavailable(reason) => serializer.serialize_str(reason),
        }
    }
}

impl<'de> Deserialize<'de> for Availability {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Reason(String),
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Flag(true) => Availability::Available,
            Raw::Flag(false) => Availability::Unavailable("unavailable".to_string()),
            Raw::Reason(reason) => Availability::Unavailable(reason),
        })
    }
}

/// The verdict on one claim, computed from the numbers of the same run.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Holds,
    HoldsWithNuance,
    Refuted,
    NotMeasured,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::HoldsWithNuance => "holds-with-nuance",
            Verdict::Refuted => "refuted",
            Verdict::NotMeasured => "not-measured",
        }
    }

    /// One verdict for a claim that several experiments judged: `refuted`
    /// if any refutes; otherwise the weakest of the measured ones
    /// (`holds-with-nuance` before `holds`); `not-measured` only if none
    /// measured it (or there is no verdict at all).
    pub fn combined(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let verdicts: Vec<Verdict> = verdicts.into_iter().collect();
        if verdicts.contains(&Verdict::Refuted) {
            Verdict::Refuted
        } else if verdicts.contains(&Verdict::HoldsWithNuance) {
            Verdict::HoldsWithNuance
        } else if verdicts.contains(&Verdict::Holds) {
            Verdict::Holds
        } else {
            Verdict::NotMeasured
        }
    }

    /// The rule [`Verdict::combined`] applies, for the report.
    pub const COMBINED_RULE: &'static str = "refuted if any experiment refutes it; otherwise the weakest measured verdict (holds-with-nuance before holds); not-measured only if no experiment measured it";
}

#[cfg(test)]
mod verdict_tests {
    use super::Verdict::{self, *};

    #[test]
    fn a_combined_verdict_is_refuted_by_any_and_otherwise_the_weakest_measured() {
        assert_eq!(Verdict::combined([Holds, Refuted, NotMeasured]), Refuted);
        assert_eq!(Verdict::combined([Holds, HoldsWithNuance]), HoldsWithNuance);
        assert_eq!(Verdict::combined([Holds, NotMeasured]), Holds);
        assert_eq!(Verdict::combined([NotMeasured, NotMeasured]), NotMeasured);
        assert_eq!(Verdict::combined([]), NotMeasured);
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim of the notes (id from `claims.md`) with its verdict and the one
/// sentence of evidence a student can check against the plot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claim {
    pub id: String,
    /// What the notes say, copied from the claims registry.
    #[serde(default)]
    pub statement: String,
    pub verdict: Verdict,
    pub evidence: String,
    /// Which part of the experiment decided it (scenario name), if several do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// The rule as applied, in one sentence: what the verdict is a function
    /// of, so a reader can recompute it from the file (`mmlab judge`).
    #[serde(default)]
    pub rule: String,
    /// The numbers the rule used, named (limits, fractions, counts).
    #[serde(default)]
    pub thresholds: serde_json::Map<String, serde_json::Value>,
}

impl Claim {
    /// A claim with the statement filled in from the registry.
    pub fn new(id: &str, verdict: Verdict, evidence: impl Into<String>) -> Claim {
        Claim {
            id: id.to_string(),
            statement: crate::claims::claim_info(id)
                .map(|c| c.statement.to_string())
                .unwrap_or_default(),
            verdict,
            evidence: evidence.into(),
            scenario: None,
            rule: String::new(),
            thresholds: serde_json::Map::new(),
        }
    }

    pub fn with_scenario(mut self, scenario: impl Into<String>) -> Claim {
        self.scenario = Some(scenario.into());
        self
    }

    /// The rule this verdict was reached by, and the numbers it used.
    pub fn with_rule(
        mut self,
        rule: impl Into<String>,
        thresholds: impl IntoIterator<Item = (&'static str, serde_json::Value)>,
    ) -> Claim {
        self.rule = rule.into();
        self.thresholds = thresholds
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        self
    }
}

/// A measurement problem, typed, with what the user can do about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Warning {
    pub kind: String,
    pub message: String,
    pub remedy: String,
}

impl Warning {
    pub fn new(kind: &str, message: impl Into<String>, remedy: impl Into<String>) -> Warning {
        Warning {
            kind: kind.to_string(),
            message: message.into(),
            remedy: remedy.into(),
        }
    }
}

/// A figure, declared as data: which rows to plot and how. The plot crate
/// draws every kind the same way for every experiment, so an experiment
/// added later gets its figures without touching the plot crate.
///
/// Rows come from `data`: `"samples"`, `"summaries"`, or the key of an array
/// of flat objects in the result's `extra` (say `"cases"`). Rows whose fields
/// do not equal every value in `filter` are left out.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FigureSpec {
    /// File stem: the figure is written as `<experiment>-<id>.svg` and `.png`.
    pub id: String,
    /// The question the figure answers ("Does mmap load the file lazily?").
    pub title: String,
    pub kind: FigureKind,
    #[serde(default = "default_data")]
    pub data: String,
    #[serde(default)]
    pub filter: serde_json::Map<String, serde_json::Value>,
    /// Line and bar: the x field (numbers for line, categories for bar).
    /// Grid: the field naming each column. Strips: the field with the label.
    pub x: Axis,
    /// Line and bar: the y field. Grid: the field naming each row.
    /// Strips: the field holding the bitmap string ("1" resident, "0" not).
    pub y: Axis,
    /// Line and bar: the field whose value names the series (one colour
    /// each, the same colour for the same name in every figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// Grid: the field whose value is written in each cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_text: Option<String>,
    /// Grid: the field whose value picks the cell's colour (equal values,
    /// equal colours); a cell whose `cell_mark` field is true is outlined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_colour: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_mark: Option<String>,
    /// Horizontal reference lines, from numbers measured in the same run
    /// (say, the memory-bandwidth ceiling).
    #[serde(default)]
    pub reference_lines: Vec<ReferenceLine>,
    /// A few sentences for the report: how to read this figure.
    #[serde(default)]
    pub how_to_read: String,
    /// The claims this figure is evidence for.
    #[serde(default)]
    pub claims: Vec<String>,
}

impl FigureSpec {
    /// A figure of `kind` over the rows of `data` ("samples", "summaries" or
    /// a key of `extra`), with no filter, series, cell fields or reference
    /// lines; set those fields afterwards where needed.
    pub fn new(
        id: &str,
        title: &str,
        kind: FigureKind,
        data: &str,
        x: Axis,
        y: Axis,
    ) -> FigureSpec {
        FigureSpec {
            id: id.to_string(),
            title: title.to_string(),
            kind,
            data: data.to_string(),
            filter: serde_json::Map::new(),
            x,
            y,
            series: None,
            cell_text: None,
            cell_colour: None,
            cell_mark: None,
            reference_lines: Vec::new(),
            how_to_read: String::new(),
            claims: Vec::new(),
        }
    }
}

fn default_data() -> String {
    "samples".to_string()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FigureKind {
    /// y against numeric x, one line per series; repeated rows at the same
    /// (series, x) are drawn as their median with a p5-p95 whisker.
    Line,
    /// Grouped bars: one group per x category, one bar per series; median
    /// with a p5-p95 whisker over repeated rows.
    Bar,
    /// A table of coloured cells: rows by `y`, columns by `x`.
    Grid,
    /// One horizontal strip per row: a bitmap of pages (residency).
    Strips,
}

/// An axis: the field to read and its label with the unit ("time per pass (ms)").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Axis {
    pub field: String,
    pub label: String,
    #[serde(default)]
    pub log: bool,
}

impl Axis {
    pub fn new(field: &str, label: &str) -> Axis {
        Axis {
            field: field.to_string(),
            label: label.to_string(),
            log: false,
        }
    }
    pub fn log(field: &str, label: &str) -> Axis {
        Axis {
            field: field.to_string(),
            label: label.to_string(),
            log: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReferenceLine {
    pub label: String,
    pub value: f64,
}
