//! `mmlab class INPUT... [-o DIR]`: a class's runs side by side, for a
//! teaching assistant. Inputs are bundles (`mmlab bundle`), results
//! folders, or folders of them; all are read in parallel, every result
//! file is judged again from its own samples, and DIR gets `index.html`,
//! `class.md`, `runs.csv` (one row per run), `numbers.csv` (one row per
//! run and headline number) and the distribution figures. An input that
//! cannot be used is named on stderr with the reason, in one line, and so
//! is a run whose bundle fails its manifest or whose verdicts do not follow
//! from its samples; both are shown in the report, never dropped. The exit
//! status is 1 when anything was skipped or flagged, 2 on bad input.

mod analyse;
mod read;
mod write;

use std::path::PathBuf;
use std::time::Instant;

use crate::{BadInput, check_writable_folder};

pub use read::{ManifestState, Run};

#[derive(Debug, clap::Args)]
#[command(
    about = "Read a class's bundles or results folders side by side: runs, verdict matrix, distributions, outliers",
    long_about = "Read a class's runs side by side: bundles (mmlab bundle), results folders, or folders of \
        them (a download folder), read in parallel.\n\n\
        Writes DIR/index.html (opens from disk, fetches nothing) and DIR/class.md: the runs table (kernel, CPU, \
        filesystem, THP, PMU, root, tool version, warnings), the verdict matrix (claims x runs, the count of \
        each verdict, and for a claim whose verdict differs, the fingerprint fields that separate the runs), \
        every headline number as a distribution across runs (median, IQR, outliers beyond 3 scaled median \
        absolute deviations, each outlying run with its likely causes), and the integrity of each run: a bundle \
        whose files differ from its manifest, and a run whose stored verdicts do not follow from its own \
        samples by this mmlab's rules, are flagged. DIR/runs.csv has one row per run, DIR/numbers.csv one \
        row per run and number.\n\n\
        An input that cannot be used is named with the reason on stderr; the exit status is then 1, and \
        also when a run is flagged."
)]
pub struct ClassArgs {
    /// Bundles (*.tar.zst), results folders, or folders holding them (up to 3 folders deep)
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
    /// Folder for index.html, class.md, runs.csv, numbers.csv and figures/
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "results/class"
    )]
    out: PathBuf,
    /// A regular expression matched against each bundle's or folder's name: its first
    /// group (or the whole match) is the run's label, e.g. 'hw3-([a-z0-9]+)' (default: the
    /// name without .tar.zst)
    #[arg(long, value_name = "REGEX")]
    label: Option<String>,
    /// The label of one run to mark in every figure and to give feedback on
    #[arg(long, value_name = "RUN")]
    highlight: Option<String>,
}

pub fn run(args: ClassArgs) -> anyhow::Result<i32> {
    let label_pattern = match &args.label {
        Some(pattern) => Some(regex::Regex::new(pattern).map_err(|e| {
            BadInput(format!(
                "--label {pattern:?}: not a regular expression: {e}"
            ))
        })?),
        None => None,
    };
    println!("mmlab class");
    for input in &args.inputs {
        println!("  param input: {}", input.display());
    }
    println!("  param out: {}", args.out.display());
    println!(
        "  param label: {}",
        args.label
            .as_deref()
            .unwrap_or("the bundle's or folder's name")
    );
    println!(
        "  param highlight: {}",
        args.highlight.as_deref().unwrap_or("none")
    );
    let started = Instant::now();
    let (candidates, mut skipped) = read::candidates(&args.inputs);
    if candidates.is_empty() {
        for s in &skipped {
            eprintln!("mmlab: skipped {}: {}", s.source.display(), s.reason);
        }
        return Err(
            BadInput("no bundle and no results folder among the inputs".to_string()).into(),
        );
    }
    check_writable_folder("-o", &args.out)?;
    println!(
        "reading {} run(s) on {} thread(s)...",
        candidates.len(),
        rayon::current_num_threads()
    );
    let (mut runs, unusable) = read::read_all(&candidates);
    skipped.extend(unusable);
    let read_seconds = started.elapsed().as_secs_f64();
    let mut notes = Vec::new();
    label_runs(&mut runs, label_pattern.as_ref(), &mut notes);
    let highlight = match &args.highlight {
        Some(label) => match runs.iter().position(|r| r.label == *label) {
            Some(index) => Some(index),
            None => {
                return Err(BadInput(format!(
                    "--highlight {label:?}: no run has this label; labels are like {}",
                    runs.iter()
                        .take(5)
                        .map(|r| format!("{:?}", r.label))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .into());
            }
        },
        None => None,
    };
    for s in &skipped {
        eprintln!("mmlab: skipped {}: {}", s.source.display(), s.reason);
    }
    let mut n_file_errors = 0;
    for run in &runs {
        for error in &run.read_errors {
            n_file_errors += 1;
            eprintln!(
                "mmlab: skipped a result file of {} ({}): {error}",
                run.label,
                run.source.display()
            );
        }
    }
    let mut n_flagged = 0;
    for run in &runs {
        let mut flags = Vec::new();
        if let ManifestState::Failed(problems) = &run.manifest {
            flags.push(format!(
                "bundle fails its manifest: {}",
                problems.join("; ")
            ));
        }
        let mismatches = run.mismatches();
        if !mismatches.is_empty() {
            flags.push(format!(
                "verdicts do not match the samples: {}",
                mismatches
                    .iter()
                    .map(|(e, c)| format!(
                        "{} of {e} stored {} but its samples give {}",
                        c.id,
                        c.stored,
                        c.judged.map_or("nothing".to_string(), |v| v.to_string())
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if !flags.is_empty() {
            n_flagged += 1;
            eprintln!(
                "mmlab: flagged {} ({}): {}",
                run.label,
                run.source.display(),
                flags.join(" | ")
            );
        }
    }
    let class = write::Class::new(&runs, highlight, &skipped, &notes);
    let output = class.write(&args.out)?;
    println!(
        "{} run(s) read in {:.2} s; {} claim row(s) ({} differ across runs), {} headline number(s) ({} outlying value(s) in {} run(s)), {} figure(s); written in {:.2} s",
        runs.len(),
        read_seconds,
        class.claims.len(),
        class.claims.iter().filter(|c| c.counts.len() > 1).count(),
        class.numbers.len(),
        class
            .numbers
            .iter()
            .map(|n| n.outliers.len())
            .sum::<usize>(),
        class.outliers.len(),
        output.figures,
        started.elapsed().as_secs_f64()
    );
    println!("csv: {}", output.runs_csv.display());
    println!("markdown: {}", output.markdown.display());
    let problems = skipped.len() + n_file_errors + n_flagged;
    if problems > 0 {
        eprintln!(
            "mmlab: {} input(s) skipped, {} result file(s) skipped, {} run(s) flagged (named above); the rest is in the report; exit status 1",
            skipped.len(),
            n_file_errors,
            n_flagged
        );
    }
    println!("report: {}", output.html.display());
    Ok(if problems > 0 { 1 } else { 0 })
}

/// Gives each run its label: the `--label` pattern's match in its name, or
/// its name; a label taken twice gets `#2`, `#3`.
fn label_runs(runs: &mut [Run], pattern: Option<&regex::Regex>, notes: &mut Vec<String>) {
    let mut used: std::collections::BTreeMap<String, usize> = Default::default();
    for run in runs.iter_mut() {
        if let Some(pattern) = pattern {
            match pattern.captures(&run.label) {
                Some(captures) => {
                    let found = captures.get(1).or_else(|| captures.get(0));
                    if let Some(found) = found.filter(|m| !m.as_str().is_empty()) {
                        run.label = found.as_str().to_string();
                    }
                }
                None => notes.push(format!(
                    "--label does not match {:?} ({}): its name is its label",
                    run.label,
                    run.source.display()
                )),
            }
        }
        let n = used.entry(run.label.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            notes.push(format!(
                "two runs are labelled {:?}: {} is {:?}",
                run.label,
                run.source.display(),
                format!("{}#{n}", run.label)
            ));
            run.label = format!("{}#{n}", run.label);
        }
    }
}
