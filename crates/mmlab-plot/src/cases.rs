//! Case tables: a result table whose rows are cases, each with an expected
//! outcome (from the documentation) and an observed one, shown in the report
//! as an HTML table (and a Markdown one), grouped, mismatches marked, rather
//! than as a picture of a table.
//!
//! A table is a case table by its shape, so any experiment gets one: an
//! array of objects at the top level of the result whose every row has
//! `expected` and `observed`, and `matches` or `mismatch`. The row's case is
//! `id` (or `case`, `case_id`, `name`); the other fields read when present:
//! `group` (rows are grouped by it, in the order groups first appear),
//! `claims` (a claim id, several separated by commas or spaces, or an array
//! of them), `documented_variation` (the documentation allows the observed
//! outcome: the quote), `setup`, `action`, `depends_on`, `who` (run as),
//! `scope`, `expected_source`, `observed_note` and `note`.

use std::fmt::Write as _;

use mmlab_core::ResultFile;
use serde_json::Value;

use crate::html::{anchor, escape, md_cell};

/// One case: what the documentation says and what the kernel did.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub group: Option<String>,
    pub id: String,
    pub expected: String,
    pub observed: String,
    pub matches: bool,
    /// The documentation allows the observed outcome (a quote), when it
    /// differs from the expected one.
    pub allowed: Option<String>,
    pub claims: Vec<String>,
    pub setup: Option<String>,
    pub action: Option<String>,
    /// What the outcome depends on (filesystem, CPU feature, privilege).
    pub depends_on: Option<String>,
    /// Who ran it (`root`, `nobody`).
    pub who: Option<String>,
    /// Where it holds (`on ext4`).
    pub scope: Option<String>,
    pub expected_source: Option<String>,
    /// What else was seen, beside the outcome.
    pub observed_note: Option<String>,
    pub note: Option<String>,
}

/// The cases of one table of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseTable {
    /// The result's key of the table (`cases`).
    pub key: String,
    pub cases: Vec<Case>,
}

impl CaseTable {
    /// Groups in the order they first appear, each with its cases (cases
    /// without a group under `None`).
    pub fn groups(&self) -> Vec<(Option<&str>, Vec<&Case>)> {
        let mut groups: Vec<(Option<&str>, Vec<&Case>)> = Vec::new();
        for case in &self.cases {
            let group = case.group.as_deref();
            match groups.iter_mut().find(|(g, _)| *g == group) {
                Some((_, cases)) => cases.push(case),
                None => groups.push((group, vec![case])),
            }
        }
        groups
    }

    pub fn n_differ(&self) -> usize {
        self.cases.iter().filter(|c| !c.matches).count()
    }

    pub fn n_allowed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| !c.matches && c.allowed.is_some())
            .count()
    }

    /// The cases that name `claim`.
    pub fn n_naming(&self, claim: &str) -> usize {
        self.cases
            .iter()
            .filter(|c| c.claims.iter().any(|id| id == claim))
            .count()
    }

    /// "94 cases in 8 groups: 86 match the documentation, 8 differ (2 as
    /// the documentation allows)".
    pub fn summary(&self) -> String {
        let n = self.cases.len();
        let groups = self.groups();
        let in_groups = if groups.iter().any(|(g, _)| g.is_some()) {
            format!(" in {} group(s)", groups.len())
        } else {
            String::new()
        };
        let differ = self.n_differ();
        let allowed = match self.n_allowed() {
            0 => String::new(),
            k => format!(" ({k} of them as the documentation allows)"),
        };
        format!(
            "{n} case(s){in_groups}: {} match the documentation, {differ} differ{allowed}",
            n - differ
        )
    }
}

/// A value as table text: strings as they are, `null` as nothing.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn claims_of(value: Option<&Value>) -> Vec<String> {
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect()
    };
    match value {
        Some(Value::String(s)) => split(s),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split)
            .collect(),
        _ => Vec::new(),
    }
}

/// The case tables of `result`, in the order of its keys.
pub fn tables(result: &ResultFile) -> Vec<CaseTable> {
    result
        .extra
        .iter()
        .filter_map(|(key, value)| {
            let rows = value.as_array().filter(|rows| !rows.is_empty())?;
            let cases = rows
                .iter()
                .enumerate()
                .map(|(index, row)| case_of(row, index))
                .collect::<Option<Vec<Case>>>()?;
            Some(CaseTable {
                key: key.clone(),
                cases,
            })
        })
        .collect()
}

/// A row as a case, if it has the shape of one.
fn case_of(row: &Value, index: usize) -> Option<Case> {
    let row = row.as_object()?;
    let (expected, observed) = (row.get("expected")?, row.get("observed")?);
    let matches = match (row.get("matches"), row.get("mismatch")) {
        (Some(Value::Bool(matches)), _) => *matches,
        (_, Some(Value::Bool(mismatch))) => !mismatch,
        _ => return None,
    };
    let id = ["id", "case", "case_id", "name"]
        .iter()
        .find_map(|field| text(row.get(*field)))
        .unwrap_or_else(|| format!("#{}", index + 1));
    Some(Case {
        group: text(row.get("group")),
        id,
        expected: text(Some(expected)).unwrap_or_else(|| "—".to_string()),
        observed: text(Some(observed)).unwrap_or_else(|| "not run".to_string()),
        matches,
        allowed: if matches {
            None
        } else {
            text(row.get("documented_variation"))
        },
        claims: claims_of(row.get("claims")),
        setup: text(row.get("setup")),
        action: text(row.get("action")),
        depends_on: text(row.get("depends_on")),
        who: text(row.get("who")),
        scope: text(row.get("scope")),
        expected_source: text(row.get("expected_source")),
        observed_note: text(row.get("observed_note")),
        note: text(row.get("note")),
    })
}

/// The anchor of a case table in the report.
pub fn table_anchor(experiment: &str, table: &CaseTable) -> String {
    format!("cases-{}-{}", anchor(experiment), anchor(&table.key))
}

/// The anchor of a claim's row in the report's claims table.
pub fn claim_anchor(claim: &str) -> String {
    format!("claim-{}", anchor(claim))
}

fn match_text(case: &Case) -> (&'static str, &'static str) {
    match (case.matches, case.allowed.is_some()) {
        (true, _) => ("same", "✓ matches"),
        (false, true) => ("allowed", "✗ differs (the documentation allows it)"),
        (false, false) => ("differs", "✗ differs"),
    }
}

/// The HTML of one case table: a summary, a switch that hides the cases
/// that match, and the table, one body per group under a heading row.
pub fn html(experiment: &str, table: &CaseTable) -> String {
    let id = table_anchor(experiment, table);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<div class=\"case-table\" id=\"{id}\">\n<h3>Cases: documented against observed outcome <span class=\"muted\">(<code>{}</code>)</span></h3>\n<p>{}.</p>",
        escape(&table.key),
        escape(&table.summary())
    );
    if table.n_differ() > 0 {
        let _ = writeln!(
            out,
            "<input type=\"checkbox\" class=\"only-differs\" id=\"{id}-only\"> <label for=\"{id}-only\">show only the {} case(s) that differ</label>",
            table.n_differ()
        );
    }
    out.push_str("<table class=\"cases\">\n<colgroup><col style=\"width: 8%\"><col style=\"width: 29%\"><col style=\"width: 19%\"><col style=\"width: 19%\"><col style=\"width: 19%\"><col style=\"width: 6%\"></colgroup>\n<thead><tr><th>Group</th><th>Case</th><th>Expected (documentation)</th><th>Observed (this kernel)</th><th>Match</th><th>Claim</th></tr></thead>\n");
    for (group, cases) in table.groups() {
        let differ = cases.iter().filter(|c| !c.matches).count();
        let _ = writeln!(
            out,
            "<tbody>\n<tr class=\"group{}\"><th colspan=\"6\">{} <span class=\"muted\">{} case(s), {}</span></th></tr>",
            if differ == 0 { " same" } else { "" },
            escape(group.unwrap_or("(no group)")),
            cases.len(),
            match differ {
                0 => "all match".to_string(),
                k => format!("{k} differ"),
            }
        );
        for case in cases {
            let (class, mark) = match_text(case);
            let mut case_cell = format!("<code>{}</code>", escape(&case.id));
            for (what, value) in [
                ("setup", &case.setup),
                ("action", &case.action),
                ("depends on", &case.depends_on),
                ("run as", &case.who),
                ("scope", &case.scope),
            ] {
                // Said once: a setup that already names it is enough.
                let said = |v: &str| {
                    [&case.setup, &case.action]
                        .iter()
                        .any(|t| t.as_deref().is_some_and(|t| t.contains(v)))
                };
                if let Some(value) = value
                    && !(matches!(what, "depends on" | "scope") && said(value))
                {
                    let _ = write!(
                        case_cell,
                        "<br><span class=\"small\">{what}: {}</span>",
                        escape(value)
                    );
                }
            }
            if let Some(note) = &case.note {
                let _ = write!(
                    case_cell,
                    "<br><span class=\"small\">note: {}</span>",
                    escape(note)
                );
            }
            let mut expected = escape(&case.expected);
            if let Some(source) = &case.expected_source {
                let _ = write!(
                    expected,
                    "<details><summary class=\"small\">source</summary><span class=\"small\">{}</span></details>",
                    escape(source)
                );
            }
            let mut observed = escape(&case.observed);
            if let Some(note) = &case.observed_note {
                let _ = write!(
                    observed,
                    "<br><span class=\"small\">{}</span>",
                    escape(note)
                );
            }
            let mut matched = format!("<span class=\"m-{class}\">{mark}</span>");
            if let Some(allowed) = &case.allowed {
                let _ = write!(
                    matched,
                    "<br><span class=\"small\">{}</span>",
                    escape(allowed)
                );
            }
            let claims = case
                .claims
                .iter()
                .map(|c| format!("<a href=\"#{}\">{}</a>", claim_anchor(c), escape(c)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "<tr class=\"case {class}\"><td class=\"small\">{}</td><td>{case_cell}</td><td>{expected}</td><td>{observed}</td><td>{matched}</td><td>{claims}</td></tr>",
                escape(group.unwrap_or("")),
            );
        }
        out.push_str("</tbody>\n");
    }
    out.push_str("</table>\n</div>\n");
    out
}

/// The Markdown of one case table: a summary and one table, grouped.
pub fn markdown(table: &CaseTable) -> String {
    let mut out = format!(
        "\n### Cases: documented against observed outcome (`{}`)\n\n{}.\n\n| Group | Case | Expected (documentation) | Observed (this kernel) | Match | Claim |\n|---|---|---|---|---|---|\n",
        table.key,
        table.summary()
    );
    for (group, cases) in table.groups() {
        for case in cases {
            let (_, mark) = match_text(case);
            let mark = match &case.allowed {
                _ if case.matches => mark.to_string(),
                Some(allowed) => format!("**{mark}**: {allowed}"),
                None => format!("**{mark}**"),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                md_cell(group.unwrap_or("")),
                md_cell(&case.id),
                md_cell(&case.expected),
                md_cell(&match &case.observed_note {
                    Some(note) => format!("{} ({note})", case.observed),
                    None => case.observed.clone(),
                }),
                md_cell(&mark),
                md_cell(&case.claims.join(", "))
            );
        }
    }
    out
}
