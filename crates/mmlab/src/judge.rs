//! `mmlab judge DIR [--write]`: the verdicts of stored runs, recomputed
//! with the current rules from the result files alone (each experiment's
//! judge step reads nothing but the file), printed beside the stored ones.
//! Exit 0 when every claim agrees, 1 when any differs (or a file could not
//! be used), 2 on bad input. `--write` rewrites each file's `claims`
//! atomically; the report and `compare` keep reading the stored claims.

use std::path::{Path, PathBuf};

use mmlab_core::{Claim, ResultFile};

use crate::{BadInput, registry};

#[derive(Debug, clap::Args)]
pub struct JudgeArgs {
    /// Results folder whose *.json result files are judged again
    #[arg(value_name = "DIR", default_value = "results/latest")]
    dir: PathBuf,
    /// Rewrite each file's claims with the new verdicts (atomically)
    #[arg(long)]
    write: bool,
}

/// One claim's stored and recomputed verdicts.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub experiment: String,
    pub id: String,
    pub stored: Option<Claim>,
    pub judged: Option<Claim>,
}

impl Comparison {
    /// Whether the verdict is the same (the evidence may differ in wording).
    pub fn same(&self) -> bool {
        match (&self.stored, &self.judged) {
            (Some(a), Some(b)) => a.verdict == b.verdict,
            _ => false,
        }
    }
}

/// Pairs the stored claims of `result` with the ones judged now, by id.
pub fn compare(result: &ResultFile, judged: &[Claim]) -> Vec<Comparison> {
    let mut ids: Vec<&str> = result.claims.iter().map(|c| c.id.as_str()).collect();
    for claim in judged {
        if !ids.contains(&claim.id.as_str()) {
            ids.push(&claim.id);
        }
    }
    ids.iter()
        .map(|id| Comparison {
            experiment: result.experiment.clone(),
            id: id.to_string(),
            stored: result.claims.iter().find(|c| c.id == *id).cloned(),
            judged: judged.iter().find(|c| c.id == *id).cloned(),
        })
        .collect()
}

fn verdict_text(claim: &Option<Claim>) -> String {
    claim
        .as_ref()
        .map_or("(none)".to_string(), |c| c.verdict.to_string())
}

pub fn run(args: JudgeArgs) -> anyhow::Result<i32> {
    println!("mmlab judge");
    println!("  param results: {}", args.dir.display());
    println!("  param write: {}", args.write);
    if !args.dir.is_dir() {
        return Err(BadInput(format!(
            "results folder {}: not an existing folder",
            args.dir.display()
        ))
        .into());
    }
    let (results, errors) = mmlab_core::io::read_results_dir(&args.dir);
    if results.is_empty() && errors.is_empty() {
        return Err(BadInput(format!(
            "results folder {}: no result files (*.json) in this folder",
            args.dir.display()
        ))
        .into());
    }
    let mut problems: Vec<String> = errors
        .iter()
        .map(|e| format!("skipped a result file: {e}"))
        .collect();
    let mut n_claims = 0;
    let mut n_changed = 0;
    for (path, result) in &results {
        let Some(experiment) = registry::find(&result.experiment) else {
            problems.push(format!(
                "{}: experiment {:?} is not registered in this mmlab",
                path.display(),
                result.experiment
            ));
            continue;
        };
        let judged = experiment.judge_result(result);
        let comparisons = compare(result, &judged);
        println!();
        println!("== {} ({})", result.experiment, display(path));
        for c in &comparisons {
            n_claims += 1;
            let same = c.same();
            if !same {
                n_changed += 1;
            }
            println!(
                "  {:<4} stored {:<18} judged now {:<18} {}",
                c.id,
                verdict_text(&c.stored),
                verdict_text(&c.judged),
                if same { "same" } else { "CHANGED" }
            );
            if !same && let Some(judged) = &c.judged {
                println!("       evidence now: {}", judged.evidence);
                println!("       rule: {}", judged.rule);
            }
        }
        if args.write && comparisons.iter().any(|c| c.stored != c.judged) {
            let mut rewritten = result.clone();
            rewritten.claims = judged;
            write_claims(path, &rewritten)?;
            println!("  rewrote the claims of {}", display(path));
        }
    }
    for problem in &problems {
        eprintln!("mmlab: {problem}");
    }
    println!();
    println!(
        "{n_claims} claim(s) in {} result file(s): {} same, {n_changed} changed{}",
        results.len(),
        n_claims - n_changed,
        if problems.is_empty() {
            String::new()
        } else {
            format!(", {} file problem(s)", problems.len())
        }
    );
    Ok(if n_changed == 0 && problems.is_empty() {
        0
    } else {
        1
    })
}

/// Rewrites the JSON file at `path` (atomically); the CSV of samples is
/// unchanged, since judging changes no sample.
fn write_claims(path: &Path, result: &ResultFile) -> anyhow::Result<()> {
    let mut json = serde_json::to_vec_pretty(result)?;
    json.push(b'\n');
    mmlab_core::io::write_atomic(path, &json)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
