//! The judge step of prot-flags: the verdicts from the result file alone
//! (its `cases` table and `params`), so `mmlab judge` recomputes them from
//! any stored run.
//!
//! The rules, as each claim's `rule` field states them:
//! - S1, S2, S7, S12 (and S8, S10 below): among the cases that name the claim and ran,
//!   `holds` when every one matched the documentation; `refuted` when a core
//!   case contradicts it with no documented variation; `holds-with-nuance`
//!   when the only mismatches are documented variations or corners where the
//!   man page says less than the kernel does; `not-measured` when none ran.
//! - S8 by that rule; its evidence names whether the CPU has protection
//!   keys (the fingerprint), which the PROT_EXEC-only cases' expectations
//!   follow.
//! - S10 by that rule, but `holds` becomes `holds-with-nuance`: its cases
//!   read the file back with pread(), from the page cache the mapping
//!   shares, so "eventually reach the file" is seen only as far as the page
//!   cache; reaching storage is not measured.
//! - S11 ("MAP_FILE is the default and need not be given"): the outcomes of
//!   the same mappings with and without MAP_FILE must be identical (else
//!   `refuted`). With MAP_FILE = 0, as on Linux, the two are the same system
//!   call, so identical outcomes can only show that the flag is accepted and
//!   ignored: `holds-with-nuance` is the best any Linux run can give, and
//!   `holds` is reserved for a build where MAP_FILE has bits of its own.

use mmlab_core::{Claim, ResultFile, Verdict};
use serde::Deserialize;
use serde_json::json;

use crate::CLAIMS;

/// One row of the `cases` table, as the file holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseRow {
    pub id: String,
    pub group: String,
    pub expected: String,
    pub observed: String,
    /// `None` when the case could not run here.
    pub matches: Option<bool>,
    #[serde(default)]
    pub documented_variation: Option<String>,
    /// Space-separated claim ids.
    pub claims: String,
    pub core: bool,
    /// ok / errno / signal / timeout / probe-failed / not-run; a timeout or
    /// a failed probe is a failed measurement, not an outcome.
    #[serde(default)]
    pub observed_kind: Option<String>,
}

impl CaseRow {
    /// Whether the case ran and gave an outcome to judge.
    fn ran(&self) -> bool {
        self.matches.is_some()
            && !matches!(
                self.observed_kind.as_deref(),
                Some("timeout" | "probe-failed")
            )
    }

    fn names(&self, claim: &str) -> bool {
        self.claims.split_whitespace().any(|c| c == claim)
    }

    fn mismatch(&self) -> bool {
        self.ran() && self.matches == Some(false)
    }

    fn contradicts(&self) -> bool {
        self.mismatch() && self.core && self.documented_variation.is_none()
    }

    fn describe_mismatch(&self) -> String {
        format!(
            "{}: expected {}, observed {}",
            self.id, self.expected, self.observed
        )
    }
}

/// The rows of `cases`, or why they cannot be read.
pub fn case_rows(result: &ResultFile) -> Result<Vec<CaseRow>, String> {
    let value = result
        .extra
        .get("cases")
        .ok_or("the result file has no `cases` table")?;
    serde_path_to_error::deserialize(value.clone()).map_err(|e| {
        format!(
            "the `cases` table cannot be read at cases{}: {}",
            path_suffix(&e),
            e.inner()
        )
    })
}

fn path_suffix<E>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path.starts_with('[') || path == "." {
        path.trim_start_matches('.').to_string()
    } else {
        format!(".{path}")
    }
}

/// Every claim of the experiment, judged from the file.
pub fn judge(result: &ResultFile) -> Vec<Claim> {
    let rows = match case_rows(result) {
        Ok(rows) => rows,
        Err(reason) => {
            return CLAIMS
                .iter()
                .map(|claim| {
                    Claim::new(claim, Verdict::NotMeasured, reason.clone())
                        .with_rule(RULE, thresholds())
                })
                .collect();
        }
    };
    let map_file = result.params.get("map_file_value").and_then(|v| v.as_u64());
    let keys = result.env.protection_keys.value().copied();
    CLAIMS
        .iter()
        .map(|claim| match *claim {
            "S8" => s8(&rows, keys),
            "S10" => s10(&rows),
            "S11" => s11(&rows, map_file),
            _ => verdict(claim, &rows),
        })
        .collect()
}

/// S8 by the general rule; the evidence names the CPU condition the
/// PROT_EXEC-only cases' expectations followed (the fingerprint's
/// `protection_keys`).
pub fn s8(rows: &[CaseRow], protection_keys: Option<bool>) -> Claim {
    let mut claim = verdict("S8", rows);
    claim.evidence.push_str(match protection_keys {
        Some(true) => "; this CPU has protection keys (pku+ospke), so PROT_EXEC-only pages are execute-only and the expectation for reading or writing them is SIGSEGV/SEGV_PKUERR",
        Some(false) => "; this CPU has no protection keys, so a PROT_EXEC-only page is expected readable on x86_64",
        None => "; whether this CPU has protection keys is not recorded, so the PROT_EXEC-only cases take the strict reading",
    });
    claim
}

const S10_RULE: &str = "among the cases naming S10 that ran: refuted when a core case contradicts the documentation with no documented variation, not-measured when none ran; otherwise holds-with-nuance at most, because the cases read the file back with pread(), which reads the page cache the mapping shares: they show other processes and read() seeing the write, not the bytes reaching storage, and cannot tell msync from no msync (reaching storage not measured); holds needs a measurement of storage, which this experiment does not make";

/// S10: "changes are visible to other processes and eventually reach the
/// file". The visibility part is measured; reaching storage is not.
pub fn s10(rows: &[CaseRow]) -> Claim {
    let general = verdict("S10", rows);
    let thresholds = [
        ("core_contradictions_allowed", json!(0)),
        ("storage_measured", json!(false)),
    ];
    let storage = "reaching storage not measured: the cases read the file back with pread(), which reads the same page-cache page the mapping writes, so they cannot tell msync from no msync and cannot fail on storage";
    let (verdict, evidence) = match general.verdict {
        Verdict::Holds => (
            Verdict::HoldsWithNuance,
            format!("{}; {storage}", general.evidence),
        ),
        Verdict::HoldsWithNuance => (
            Verdict::HoldsWithNuance,
            format!("{}; {storage}", general.evidence),
        ),
        other => (other, general.evidence),
    };
    Claim::new("S10", verdict, evidence).with_rule(S10_RULE, thresholds)
}

const RULE: &str = "among the cases naming the claim that ran (a timeout or a failed probe did not): holds when all matched the documentation, refuted when a core case contradicts it with no documented variation, holds-with-nuance when the only mismatches are documented variations or man-page corners, not-measured when none ran";

fn thresholds() -> [(&'static str, serde_json::Value); 1] {
    [("core_contradictions_allowed", json!(0))]
}

fn ids(rows: &[&CaseRow]) -> String {
    rows.iter()
        .map(|r| r.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn listed(rows: &[&CaseRow]) -> String {
    rows.iter()
        .map(|r| r.describe_mismatch())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The verdict on one claim from the cases that name it (every claim but S11).
pub fn verdict(claim: &str, rows: &[CaseRow]) -> Claim {
    let relevant: Vec<&CaseRow> = rows.iter().filter(|r| r.names(claim)).collect();
    let ran: Vec<&CaseRow> = relevant.iter().copied().filter(|r| r.ran()).collect();
    let claim_of = |verdict, evidence: String| {
        Claim::new(claim, verdict, evidence).with_rule(RULE, thresholds())
    };
    if ran.is_empty() {
        let reasons: Vec<&str> = relevant.iter().map(|r| r.observed.as_str()).collect();
        return claim_of(
            Verdict::NotMeasured,
            format!(
                "none of the {} cases for {claim} could run here ({})",
                relevant.len(),
                reasons.join("; ")
            ),
        );
    }
    let mismatches: Vec<&CaseRow> = ran.iter().copied().filter(|r| r.mismatch()).collect();
    let matched = ran.len() - mismatches.len();
    let context = match claim {
        "S8" => {
            let n_prot = ran
                .iter()
                .filter(|r| r.group == crate::cases::PROT_ACCESS)
                .count();
            format!(" ({n_prot} prot x access, the rest open mode and mprotect)")
        }
        _ => String::new(),
    };
    if mismatches.is_empty() {
        return claim_of(
            Verdict::Holds,
            format!(
                "all {} cases matched the documentation{context} ({})",
                ran.len(),
                ids(&ran)
            ),
        );
    }
    let contradicting: Vec<&CaseRow> = mismatches
        .iter()
        .copied()
        .filter(|r| r.contradicts())
        .collect();
    if !contradicting.is_empty() {
        return claim_of(
            Verdict::Refuted,
            format!(
                "{} of {} cases contradict the documentation{context}: {}",
                contradicting.len(),
                ran.len(),
                listed(&contradicting)
            ),
        );
    }
    claim_of(
        Verdict::HoldsWithNuance,
        format!(
            "{matched} of {} cases matched the documentation{context}; {} differ where the man pages allow it or say less than the kernel does: {}",
            ran.len(),
            mismatches.len(),
            listed(&mismatches)
        ),
    )
}

const S11_RULE: &str = "the cases mapping the same file with and without MAP_FILE must all match the documentation and give identical outcomes (else refuted); with MAP_FILE = 0 the two are one system call, so identical outcomes show only that the flag is accepted and ignored (holds-with-nuance, the best a Linux run can give); holds needs a MAP_FILE with bits of its own; not-measured when the cases did not run";

/// S11: MAP_FILE is the default and need not be given.
pub fn s11(rows: &[CaseRow], map_file: Option<u64>) -> Claim {
    let relevant: Vec<&CaseRow> = rows.iter().filter(|r| r.names("S11")).collect();
    let ran: Vec<&CaseRow> = relevant.iter().copied().filter(|r| r.ran()).collect();
    let thresholds = [
        (
            "map_file_value",
            map_file.map_or(serde_json::Value::Null, |v| json!(v)),
        ),
        ("distinct_outcomes_allowed", json!(1)),
    ];
    let claim_of = |verdict, evidence: String| {
        Claim::new("S11", verdict, evidence).with_rule(S11_RULE, thresholds.clone())
    };
    if ran.len() < 2 {
        return claim_of(
            Verdict::NotMeasured,
            format!(
                "{} of the {} cases with and without MAP_FILE ran here; both are needed",
                ran.len(),
                relevant.len()
            ),
        );
    }
    let mut outcomes: Vec<&str> = ran.iter().map(|r| r.observed.as_str()).collect();
    outcomes.sort_unstable();
    outcomes.dedup();
    let mismatches: Vec<&CaseRow> = ran.iter().copied().filter(|r| r.mismatch()).collect();
    if outcomes.len() > 1 || !mismatches.is_empty() {
        return claim_of(
            Verdict::Refuted,
            format!(
                "the same mapping with and without MAP_FILE gave {} outcome(s) ({}){}",
                outcomes.len(),
                outcomes.join(" vs "),
                if mismatches.is_empty() {
                    String::new()
                } else {
                    format!("; against the documentation: {}", listed(&mismatches))
                }
            ),
        );
    }
    let value = map_file.map_or("not recorded in this file".to_string(), |v| {
        format!("{v:#x}")
    });
    match map_file {
        Some(v) if v != 0 => claim_of(
            Verdict::Holds,
            format!(
                "MAP_FILE is {value} in this build, and with and without it the outcome was identical ({}) in {} cases ({})",
                outcomes[0],
                ran.len(),
                ids(&ran)
            ),
        ),
        _ => claim_of(
            Verdict::HoldsWithNuance,
            format!(
                "with and without MAP_FILE the outcome was identical ({}) in {} cases ({}); but MAP_FILE is {value} in this build, so the two are the same system call: the kernel cannot tell them apart, and no Linux run can show more than that the flag is accepted and ignored",
                outcomes[0],
                ran.len(),
                ids(&ran)
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: &str,
        observed: &str,
        matches: Option<bool>,
        core: bool,
        variation: Option<&str>,
    ) -> CaseRow {
        CaseRow {
            id: id.to_string(),
            group: crate::cases::PROT_ACCESS.to_string(),
            expected: "signal SIGSEGV/SEGV_ACCERR".to_string(),
            observed: observed.to_string(),
            matches,
            documented_variation: variation.map(str::to_string),
            claims: "S8 S11".to_string(),
            core,
            observed_kind: None,
        }
    }

    const SEGV: &str = "signal SIGSEGV/SEGV_ACCERR";
    const READ: &str = "ok: read 0x37";

    #[test]
    fn the_general_rule_reaches_every_verdict() {
        let all_match = [
            row("a", SEGV, Some(true), true, None),
            row("b", SEGV, Some(true), true, None),
        ];
        assert_eq!(verdict("S8", &all_match).verdict, Verdict::Holds);

        let documented = [
            row("a", SEGV, Some(true), true, None),
            row(
                "prot-w-read",
                READ,
                Some(false),
                true,
                Some("PROT_WRITE implies PROT_READ"),
            ),
        ];
        let claim = verdict("S8", &documented);
        assert_eq!(claim.verdict, Verdict::HoldsWithNuance);
        assert!(claim.evidence.contains("prot-w-read"), "{}", claim.evidence);

        let corner = [
            row("a", SEGV, Some(true), true, None),
            row("c", READ, Some(false), false, None),
        ];
        assert_eq!(verdict("S8", &corner).verdict, Verdict::HoldsWithNuance);

        let contradiction = [
            row("a", SEGV, Some(true), true, None),
            row("d", READ, Some(false), true, None),
        ];
        let claim = verdict("S8", &contradiction);
        assert_eq!(claim.verdict, Verdict::Refuted);
        assert!(claim.evidence.contains("d: expected"), "{}", claim.evidence);

        let mut failed = row("f", "probe failed: no /proc", Some(false), true, None);
        failed.observed_kind = Some("probe-failed".into());
        let claim = verdict("S8", &[failed]);
        assert_eq!(claim.verdict, Verdict::NotMeasured, "{}", claim.evidence);

        let not_run = [row("e", "not run: no stub", None, true, None)];
        let claim = verdict("S8", &not_run);
        assert_eq!(claim.verdict, Verdict::NotMeasured);
        assert!(!claim.rule.is_empty() && !claim.thresholds.is_empty());
    }

    fn named(id: &str, claim: &str, expected: &str, observed: &str, matches: bool) -> CaseRow {
        CaseRow {
            id: id.to_string(),
            group: crate::cases::SHARING.to_string(),
            expected: expected.to_string(),
            observed: observed.to_string(),
            matches: Some(matches),
            documented_variation: None,
            claims: claim.to_string(),
            core: true,
            observed_kind: None,
        }
    }

    #[test]
    fn s10_is_at_most_holds_with_nuance_while_storage_is_not_measured() {
        let seen = "ok: parent reads 0xa5";
        let all_match = [
            named("shared-fork-child-writes", "S10", seen, seen, true),
            named(
                "shared-file-after-msync",
                "S10",
                "ok: file 0xa5 after msync",
                "ok: file 0xa5 after msync",
                true,
            ),
        ];
        let claim = s10(&all_match);
        assert_eq!(claim.verdict, Verdict::HoldsWithNuance);
        assert!(
            claim.evidence.contains("reaching storage not measured"),
            "{}",
            claim.evidence
        );
        assert!(
            claim.rule.contains("reaching storage not measured"),
            "{}",
            claim.rule
        );
        assert!(claim.thresholds.contains_key("storage_measured"));

        let mut corner = all_match.clone();
        corner[1].matches = Some(false);
        corner[1].core = false;
        corner[1].observed = "ok: file 0x37 after msync".to_string();
        let claim = s10(&corner);
        assert_eq!(claim.verdict, Verdict::HoldsWithNuance);
        assert!(
            claim.evidence.contains("reaching storage not measured"),
            "{}",
            claim.evidence
        );

        let mut unseen = all_match.clone();
        unseen[0].matches = Some(false);
        unseen[0].observed = "ok: parent reads 0x37".to_string();
        assert_eq!(s10(&unseen).verdict, Verdict::Refuted);

        let none = [CaseRow {
            matches: None,
            observed: "not run: no fork".to_string(),
            ..all_match[0].clone()
        }];
        assert_eq!(s10(&none).verdict, Verdict::NotMeasured);
    }

    #[test]
    fn s8_can_be_refuted_with_and_without_protection_keys() {
        let segv = "signal SIGSEGV/SEGV_ACCERR";
        let pkuerr = "signal SIGSEGV/SEGV_PKUERR";
        let read = "ok: read 0x37";
        // With protection keys, a PROT_EXEC-only page is execute-only: a
        // read that succeeds contradicts the expectation.
        let keys_ok = [
            named("prot-r-write", "S8", segv, segv, true),
            named("prot-x-read", "S8", pkuerr, pkuerr, true),
            named("prot-x-write", "S8", pkuerr, pkuerr, true),
        ];
        let claim = s8(&keys_ok, Some(true));
        assert_eq!(claim.verdict, Verdict::Holds);
        assert!(
            claim.evidence.contains("execute-only"),
            "{}",
            claim.evidence
        );
        let mut keys_bad = keys_ok.clone();
        keys_bad[1].observed = read.to_string();
        keys_bad[1].matches = Some(false);
        assert_eq!(s8(&keys_bad, Some(true)).verdict, Verdict::Refuted);
        // Without them (x86_64), the read is expected to succeed: a fault
        // contradicts it.
        let plain_ok = [
            named("prot-r-write", "S8", segv, segv, true),
            named("prot-x-read", "S8", read, read, true),
            named("prot-x-write", "S8", segv, segv, true),
        ];
        let claim = s8(&plain_ok, Some(false));
        assert_eq!(claim.verdict, Verdict::Holds);
        assert!(
            claim.evidence.contains("no protection keys"),
            "{}",
            claim.evidence
        );
        let mut plain_bad = plain_ok.clone();
        plain_bad[1].observed = pkuerr.to_string();
        plain_bad[1].matches = Some(false);
        assert_eq!(s8(&plain_bad, Some(false)).verdict, Verdict::Refuted);
    }

    #[test]
    fn s11_reaches_every_verdict_and_cannot_hold_with_map_file_zero() {
        let same = [
            row("with", SEGV, Some(true), true, None),
            row("without", SEGV, Some(true), true, None),
        ];
        assert_eq!(s11(&same, Some(0)).verdict, Verdict::HoldsWithNuance);
        assert!(s11(&same, Some(0)).evidence.contains("same system call"));
        assert_eq!(s11(&same, None).verdict, Verdict::HoldsWithNuance);
        assert_eq!(s11(&same, Some(0x20)).verdict, Verdict::Holds);
        let differ = [
            row("with", SEGV, Some(true), true, None),
            row("without", READ, Some(true), true, None),
        ];
        assert_eq!(s11(&differ, Some(0)).verdict, Verdict::Refuted);
        let against = [
            row("with", READ, Some(false), true, None),
            row("without", READ, Some(false), true, None),
        ];
        assert_eq!(s11(&against, Some(0)).verdict, Verdict::Refuted);
        let one = [
            row("with", SEGV, Some(true), true, None),
            row("without", "not run", None, true, None),
        ];
        assert_eq!(s11(&one, Some(0)).verdict, Verdict::NotMeasured);
    }
}
