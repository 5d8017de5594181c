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
        }
    }

    pub fn with_scenario(mut self, scenario: impl Into<String>) -> Claim {
        self.scenario = Some(scenario.into());
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
