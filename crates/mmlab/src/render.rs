//! `mmlab plot`, `mmlab report` and `mmlab compare`: figures and the report
//! from result files alone (the drawing is in `mmlab-plot`). A result file
//! that cannot be used is named on stderr and in the report, every other
//! file is still rendered, and the command then exits 1, so that a script
//! or CI sees that something was left out. A folder that is not there, or
//! the same folder given twice to compare, is bad input (exit 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mmlab_core::ResultFile;
use mmlab_plot::compare::{Side, labels, write_compare};
use mmlab_plot::report::{ReportInput, write_report};

use crate::{BadInput, check_writable_folder, registry};

const DEFAULT_RESULTS: &str = "results/latest";

/// Result files read, each with its path.
type Results = Vec<(PathBuf, ResultFile)>;

#[derive(Debug, clap::Args)]
pub struct PlotArgs {
    /// Results folder to read (the *.json result files)
    #[arg(value_name = "DIR", default_value = DEFAULT_RESULTS)]
    dir: PathBuf,
    /// Folder for the figures (default: DIR/figures)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Results folder to read (the *.json result files)
    #[arg(value_name = "DIR", default_value = DEFAULT_RESULTS)]
    dir: PathBuf,
    /// Folder for index.html, report.md and figures/ (default: DIR)
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// First results folder (A)
    #[arg(value_name = "DIR_A")]
    dir_a: PathBuf,
    /// Second results folder (B)
    #[arg(value_name = "DIR_B")]
    dir_b: PathBuf,
    /// Folder for index.html, compare.md and figures/
    #[arg(long, value_name = "DIR", default_value = "results/compare")]
    out: PathBuf,
    /// Name of run A in figures and tables (default: DIR_A's folder name)
    #[arg(long, value_name = "NAME")]
    label_a: Option<String>,
    /// Name of run B in figures and tables (default: DIR_B's folder name)
    #[arg(long, value_name = "NAME")]
    label_b: Option<String>,
}

/// The result files of `dir`, each unusable one named on stderr (the
/// caller exits 1 after rendering the others). A folder that does not
/// exist, or holds no result file at all, is bad input.
fn read_folder(flag: &str, dir: &Path) -> Result<(Results, Vec<String>), BadInput> {
    if !dir.is_dir() {
        return Err(BadInput(format!(
            "{flag} {}: not an existing folder",
            dir.display()
        )));
    }
    let (good, bad) = mmlab_core::io::read_results_dir(dir);
    let errors: Vec<String> = bad.iter().map(|e| e.to_string()).collect();
    if good.is_empty() && errors.is_empty() {
        return Err(BadInput(format!(
            "{flag} {}: no result files (*.json) in this folder; run `mmlab run all --out {}` first",
            dir.display(),
            dir.display()
        )));
    }
    for error in &errors {
        eprintln!("mmlab: skipped a result file: {error}");
    }
    Ok((good, errors))
}

/// The exit status once everything usable is rendered: 1 when a result
/// file was skipped or a figure file written is not a valid PNG or SVG
/// (each already named on stderr), said once more as the last line so
/// that it is not lost above the figures; 0 otherwise. A figure that could
/// not be drawn as declared is shown and named, but does not fail the run.
fn exit_status(skipped: usize, invalid_figure_files: usize) -> i32 {
    if skipped == 0 && invalid_figure_files == 0 {
        return 0;
    }
    let mut what = Vec::new();
    if skipped > 0 {
        what.push(format!("{skipped} result file(s) could not be used"));
    }
    if invalid_figure_files > 0 {
        what.push(format!(
            "{invalid_figure_files} figure file(s) are not valid"
        ));
    }
    eprintln!(
        "mmlab: {} (named above); the rest was rendered; exit status 1",
        what.join(" and ")
    );
    1
}

/// Comparing a folder with itself is a mistake in the arguments, whatever
/// the spelling (`A`, `./A/`, a symbolic link): both are canonicalized.
/// A folder that is not there is left to [`read_folder`] to name.
fn check_different_folders(a: &Path, b: &Path) -> Result<(), BadInput> {
    if let (Ok(canonical_a), Ok(canonical_b)) = (a.canonicalize(), b.canonicalize())
        && canonical_a == canonical_b
    {
        return Err(BadInput(format!(
            "DIR_A {} and DIR_B {} are the same folder ({}); compare two different runs",
            a.display(),
            b.display(),
            canonical_a.display()
        )));
    }
    Ok(())
}

fn questions() -> BTreeMap<String, String> {
    registry::experiments()
        .iter()
        .map(|e| (e.id().to_string(), e.question().to_string()))
        .collect()
}

fn print_problems(problems: &[String]) {
    for problem in problems {
        eprintln!("mmlab: {problem}");
    }
}

pub fn plot(args: PlotArgs) -> anyhow::Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("figures"));
    println!("mmlab plot");
    println!("  param results: {}", args.dir.display());
    println!("  param out: {}", out.display());
    let (results, errors) = read_folder("results folder", &args.dir)?;
    check_writable_folder("--out", &out)?;
    let started = Instant::now();
    let figures = mmlab_plot::render_figures(&results, &out)?;
    let (problems, invalid) = mmlab_plot::report::figure_problems(&figures);
    for figure in &figures {
        println!(
            "  {}  {}",
            figure.drawn.png.display(),
            figure.drawn.svg.display()
        );
        for note in &figure.drawn.notes {
            println!("    note: {note}");
        }
    }
    print_problems(&problems);
    println!(
        "{} figure(s) of {} result file(s) in {:.2} s ({} file(s) skipped, {} figure problem(s)); figures in {}",
        figures.len(),
        results.len(),
        started.elapsed().as_secs_f64(),
        errors.len(),
        problems.len(),
        out.display()
    );
    Ok(exit_status(errors.len(), invalid.len()))
}

pub fn report(args: ReportArgs) -> anyhow::Result<i32> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    println!("mmlab report");
    println!("  param results: {}", args.dir.display());
    println!("  param out: {}", out.display());
    let (results, errors) = read_folder("results folder", &args.dir)?;
    check_writable_folder("--out", &out)?;
    let started = Instant::now();
    let questions = questions();
    let input = ReportInput {
        results_dir: &args.dir,
        results: &results,
        read_errors: &errors,
        questions: &questions,
    };
    let output = write_report(&input, &out)?;
    print_problems(&output.problems);
    let n_claims: usize = results.iter().map(|(_, r)| r.claims.len()).sum();
    println!(
        "{} figure(s), {} claim verdict(s) from {} result file(s) in {:.2} s ({} file(s) skipped, {} figure problem(s))",
        output.figures.len(),
        n_claims,
        results.len(),
        started.elapsed().as_secs_f64(),
        errors.len(),
        output.problems.len()
    );
    println!("markdown: {}", display_path(&output.markdown));
    println!("report: {}", display_path(&output.html));
    Ok(exit_status(errors.len(), output.invalid_files.len()))
}

pub fn compare(args: CompareArgs) -> anyhow::Result<i32> {
    check_different_folders(&args.dir_a, &args.dir_b)?;
    let (default_a, default_b) = labels(&args.dir_a, &args.dir_b);
    let label_a = args.label_a.clone().unwrap_or(default_a);
    let label_b = args.label_b.clone().unwrap_or(default_b);
    if label_a == label_b {
        return Err(BadInput(format!(
            "--label-a and --label-b are both {label_a:?}; give the runs different names"
        ))
        .into());
    }
    println!("mmlab compare");
    println!("  param A: {} (label {label_a})", args.dir_a.display());
    println!("  param B: {} (label {label_b})", args.dir_b.display());
    println!("  param out: {}", args.out.display());
    let (results_a, errors_a) = read_folder("DIR_A", &args.dir_a)?;
    let (results_b, errors_b) = read_folder("DIR_B", &args.dir_b)?;
    check_writable_folder("--out", &args.out)?;
    let started = Instant::now();
    let a = Side {
        label: &label_a,
        dir: &args.dir_a,
        results: &results_a,
        read_errors: &errors_a,
    };
    let b = Side {
        label: &label_b,
        dir: &args.dir_b,
        results: &results_b,
        read_errors: &errors_b,
    };
    let output = write_compare(&a, &b, &args.out)?;
    print_problems(&output.problems);
    let changed = output_changed_verdicts(&results_a, &results_b);
    println!(
        "{} figure(s) compared in {:.2} s; {} claim verdict(s) differ",
        output.figures.len(),
        started.elapsed().as_secs_f64(),
        changed
    );
    println!("markdown: {}", display_path(&output.markdown));
    println!("report: {}", display_path(&output.html));
    Ok(exit_status(
        errors_a.len() + errors_b.len(),
        output.invalid_files.len(),
    ))
}

/// How many (experiment, claim, scenario) verdicts differ between the runs.
fn output_changed_verdicts(a: &[(PathBuf, ResultFile)], b: &[(PathBuf, ResultFile)]) -> usize {
    let verdicts = |results: &[(PathBuf, ResultFile)]| {
        results
            .iter()
            .flat_map(|(_, r)| {
                r.claims.iter().map(move |c| {
                    (
                        (r.experiment.clone(), c.id.clone(), c.scenario.clone()),
                        c.verdict,
                    )
                })
            })
            .collect::<BTreeMap<_, _>>()
    };
    let (va, vb) = (verdicts(a), verdicts(b));
    let keys: std::collections::BTreeSet<_> = va.keys().chain(vb.keys()).collect();
    keys.into_iter()
        .filter(|k| va.get(*k) != vb.get(*k))
        .count()
}

/// An absolute path when it can be had, so the printed line can be pasted
/// into a browser or a file manager from anywhere.
fn display_path(path: &Path) -> String {
    path.canonicalize()
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
