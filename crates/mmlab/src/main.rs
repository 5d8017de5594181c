//! The `mmlab` command: a thin layer over the mmap-lab libraries. It parses
//! arguments, prints parameters first, runs experiments from the registry,
//! writes result files, and turns errors into one clear line: exit status 2
//! for bad input (a flag, a path, a name), 1 for a run that failed.

mod bundle;
mod class;
mod env;
mod judge;
mod kernels;
mod registry;
mod render;
mod stat;
mod trace;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};
use mmlab_core::{Experiment, Profile, RunContext, Verdict};

/// Bad input from the user: reported in one line with exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

#[derive(Debug, Parser)]
#[command(
    name = "mmlab",
    version,
    about = "Lab experiments that check the claims of a student's mmap notes on this machine's kernel",
    long_about = "Lab experiments that check the claims of a student's mmap notes on this machine's kernel.\n\n\
        Each experiment measures on the running kernel and writes a JSON result (with a CSV of the raw samples) \
        whose verdicts are computed from the numbers of that run.\n\n\
        Start with `mmlab env` (what this machine can measure), then `mmlab run all`."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the experiments, one line each, with the claims each tests
    List {
        /// Print the claims registry instead (the markdown of CLAIMS.md)
        #[arg(long)]
        claims: bool,
    },
    /// Show the machine's fingerprint and what it can and cannot measure
    Env {
        /// Print the fingerprint and capabilities as JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Run one experiment, or all of them, and write result files
    Run(RunArgs),
    /// Count a command's events (faults, system calls, hardware counters) like `perf stat`
    Stat(stat::StatArgs),
    /// Trace a command's memory and file system calls, mmap's arguments decoded
    Trace(trace::TraceArgs),
    /// Render the figures (SVG and PNG) of a results folder
    Plot(render::PlotArgs),
    /// Render the figures and the report (index.html and report.md) of a results folder
    Report(render::ReportArgs),
    /// Put two results folders side by side: figures and a table of differences
    Compare(render::CompareArgs),
    /// Judge stored result files again with the current rules, beside their stored verdicts
    Judge(judge::JudgeArgs),
    // `bundle` and `class` take their help (short and long) from their Args.
    Bundle(bundle::BundleArgs),
    Class(class::ClassArgs),
    /// Boot other kernels under qemu (or `host`) and run the count experiments on each
    Kernels(kernels::KernelsArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Experiment id (see `mmlab list`), or `all`
    experiment: String,
    /// quick (for make experiments and tests) or full (larger files, more repetitions)
    #[arg(long, value_enum, default_value = "quick")]
    profile: ProfileArg,
    /// Folder for the result files
    #[arg(long, value_name = "DIR", default_value = "results/latest")]
    out: PathBuf,
    /// Folder in which a fresh data folder is made and removed again (default: results/data; avoid tmpfs)
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Repetitions per measurement, instead of the profile's default
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    repeat: Option<u32>,
    /// Main data file size, instead of the profile's default (e.g. 64m, 1g)
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    size: Option<u64>,
    /// repeated-access only: also run its passes inside a child memory cgroup limited to SIZE
    /// (e.g. 128m), a real page cache too small for the file. Needs root and a memory
    /// controller; the cgroup is removed afterwards. Off unless given
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    memory_limit: Option<u64>,
    /// filesystems and writeback only: the scratch filesystems to make, comma-separated,
    /// from ext4, xfs, btrfs, tmpfs (default for filesystems: ext4, tmpfs, and xfs and
    /// btrfs where their mkfs is installed; for writeback: ext4; a kind that cannot be
    /// made is reported with the reason).
    /// Needs root and loop devices
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_filesystem_arg)]
    filesystems: Option<Vec<String>>,
    /// No progress bars and no parameter lines (the summary is still printed)
    #[arg(long, short)]
    quiet: bool,
}

/// One name of `--filesystems`, checked against the kinds the lab knows.
fn parse_filesystem_arg(name: &str) -> Result<String, String> {
    mmlab_core::scratch::FsKind::parse(name).map(|k| k.name().to_string())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ProfileArg {
    Quick,
    Full,
}

fn parse_size_arg(text: &str) -> Result<u64, String> {
    match mmlab_core::parse_size(text) {
        Ok(0) => Err("a size must be greater than zero".to_string()),
        Ok(bytes) => Ok(bytes),
        Err(e) => Err(e.to_string()),
    }
}

fn main() {
    mmlab_core::cleanup::install_signal_handlers();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help and version to stdout (exit 0) and usage
            // errors to stderr (exit 2), naming the flag at fault.
            let _ = error.print();
            std::process::exit(if error.use_stderr() { 2 } else { 0 });
        }
    };
    quiet_on_closed_stdout();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)));
    // Interrupted: an error now is the interruption's doing (its files were
    // removed under it); the signal thread reports and sets the status.
    mmlab_core::cleanup::checkpoint();
    let code = match outcome {
        Ok(Ok(code)) => code,
        // The reader of stdout went away (`mmlab report | head`): the
        // unwinding already ran every cleanup guard; end as a program
        // killed by SIGPIPE would, without a message.
        Err(payload) if is_closed_stdout(payload.as_ref()) => 128 + libc::SIGPIPE,
        Err(payload) => std::panic::resume_unwind(payload),
        Ok(Err(error)) => {
            eprintln!("mmlab: {error:#}");
            if error.downcast_ref::<BadInput>().is_some() {
                2
            } else {
                1
            }
        }
    };
    std::process::exit(code);
}

/// Whether a panic is Rust's "failed printing to stdout: Broken pipe": what
/// `println!` does when the reader of a pipe has gone (Rust ignores SIGPIPE,
/// so the write fails with EPIPE instead of killing the process).
fn is_closed_stdout(payload: &(dyn std::any::Any + Send)) -> bool {
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    message.starts_with("failed printing to stdout") && message.contains("Broken pipe")
}

/// A closed stdout is not a bug: its panic unwinds (so that data folders and
/// mounts are cleaned up) without the panic message and backtrace.
fn quiet_on_closed_stdout() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic because the signal thread removed what the work was using:
        // the work stops here, and the signal thread says what happened.
        mmlab_core::cleanup::checkpoint();
        if !is_closed_stdout(info.payload()) {
            default_hook(info);
        }
    }));
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::List { claims } => {
            if claims {
                print!("{}", registry::claims_markdown());
            } else {
                list();
            }
            Ok(0)
        }
        Command::Env { json } => {
            let fingerprint = mmlab_core::Fingerprint::collect(
                Path::new("."),
                mmlab_counters::probe::hardware_pmu(),
            );
            if json {
                let value = serde_json::json!({
                    "fingerprint": fingerprint,
                    "capabilities": env::capabilities(&fingerprint),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                env::print(&fingerprint);
            }
            Ok(0)
        }
        Command::Run(args) => run_experiments(args),
        Command::Stat(args) => stat::run(args),
        Command::Trace(args) => trace::run(args),
        Command::Plot(args) => render::plot(args),
        Command::Report(args) => render::report(args),
        Command::Compare(args) => render::compare(args),
        Command::Judge(args) => judge::run(args),
        Command::Bundle(args) => bundle::run(args),
        Command::Class(args) => class::run(args),
        Command::Kernels(args) => kernels::run(args),
    }
}

fn list() {
    let experiments = registry::experiments();
    if experiments.is_empty() {
        println!("no experiments are registered yet");
    }
    let width = experiments.iter().map(|e| e.id().len()).max().unwrap_or(0);
    let claims: Vec<String> = experiments
        .iter()
        .map(|e| format!("[{}]", e.claims().join(" ")))
        .collect();
    let claims_width = claims.iter().map(String::len).max().unwrap_or(0);
    for (experiment, claims) in experiments.iter().zip(&claims) {
        println!(
            "{:<width$}  {claims:<claims_width$}  {}",
            experiment.id(),
            experiment.question()
        );
    }
}

/// Fails early, as bad input, if `--json FILE` cannot be written: its folder
/// must exist and the path must not be a folder.
pub(crate) fn check_json_path(path: &Path) -> Result<(), BadInput> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(BadInput(format!(
            "--json {}: folder {} does not exist",
            path.display(),
            folder.display()
        )));
    }
    if path.is_dir() {
        return Err(BadInput(format!("--json {}: is a folder", path.display())));
    }
    Ok(())
}

/// Writes `value` as pretty JSON to `path`, atomically (never half a file).
pub(crate) fn write_json_file(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    mmlab_core::io::write_atomic(path, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// Checks that `dir` can be created and written, naming the flag if not.
fn check_writable_folder(flag: &str, dir: &Path) -> Result<(), BadInput> {
    std::fs::create_dir_all(dir).map_err(|e| {
        BadInput(format!(
            "{flag} {}: cannot create the folder: {e}",
            dir.display()
        ))
    })?;
    let probe = dir.join(format!(".mmlab-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .map_err(|e| BadInput(format!("{flag} {}: not writable: {e}", dir.display())))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// The folders `create_dir_all(dir)` would make: `dir` and its missing
/// ancestors, deepest first (empty when `dir` exists).
fn missing_folders(dir: &Path) -> Vec<PathBuf> {
    let mut missing = Vec::new();
    let mut current = Some(dir);
    while let Some(folder) = current {
        if folder.as_os_str().is_empty() || folder.symlink_metadata().is_ok() {
            break;
        }
        missing.push(folder.to_path_buf());
        current = folder.parent();
    }
    missing
}

/// Called before `dir` is made: a guard that, when dropped (or on Ctrl-C),
/// removes the folders this run is about to make for `dir` if they are
/// still empty, deepest first; `None` when `dir` exists already. A folder
/// that existed before is never touched, and `remove_dir` removes only
/// empty folders, so no result file can go with it.
fn remove_if_left_empty(dir: &Path) -> Option<mmlab_core::cleanup::Guard> {
    let made = missing_folders(dir);
    if made.is_empty() {
        return None;
    }
    Some(mmlab_core::cleanup::on_exit(
        format!("remove {} if left empty", dir.display()),
        move || {
            for folder in &made {
                if std::fs::remove_dir(folder).is_err() {
                    break; // not empty, or not made after all: keep it and its parents
                }
            }
        },
    ))
}

/// The free space for data files in `data_dir` (or the default
/// `results/data`, which may not exist yet: its nearest existing folder is
/// asked), from statvfs: (the folder asked, bytes available to this user).
fn free_space(data_dir: Option<&Path>) -> anyhow::Result<(PathBuf, u64)> {
    let wanted = data_dir.unwrap_or(Path::new("results/data"));
    let folder = wanted
        .ancestors()
        .find(|a| a.is_dir())
        .filter(|a| !a.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stat = nix::sys::statvfs::statvfs(folder)
        .map_err(|e| anyhow::anyhow!("cannot statvfs {}: {e}", folder.display()))?;
    Ok((
        wanted.to_path_buf(),
        stat.blocks_available() as u64 * stat.fragment_size() as u64,
    ))
}

/// Refuses a `--size` larger than the free space of the data folder's
/// filesystem, before anything is made: the run would only fail later, in
/// the middle of an experiment, with a half-written data file.
fn check_size_fits(size: u64, data_dir: Option<&Path>) -> anyhow::Result<()> {
    let (folder, free) = free_space(data_dir)?;
    if size > free {
        return Err(BadInput(format!(
            "--size {}: larger than the free space of the data folder {}, {} free on its filesystem (choose a smaller --size or another --data-dir)",
            mmlab_core::format_size(size),
            folder.display(),
            mmlab_core::format_size(free)
        ))
        .into());
    }
    Ok(())
}

/// Data folders and memory cgroups of earlier mmlab runs whose process is
/// gone (killed with SIGKILL, so no cleanup ran): removed, in one line.
fn remove_leftovers(data_dir: Option<&Path>) {
    let mut removed: Vec<String> = mmlab_core::DataDir::remove_leftovers(data_dir)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    removed.extend(
        mmlab_core::cgroup::remove_leftovers()
            .iter()
            .map(|p| format!("memory cgroup {}", p.display())),
    );
    if !removed.is_empty() {
        eprintln!(
            "warning: removed what earlier mmlab runs that were killed left behind: {}",
            removed.join(", ")
        );
    }
}

fn run_experiments(args: RunArgs) -> anyhow::Result<i32> {
    let selected: Vec<&'static dyn Experiment> = if args.experiment == "all" {
        registry::experiments()
    } else {
        match registry::find(&args.experiment) {
            Some(experiment) => vec![experiment],
            None => {
                let known: Vec<&str> = registry::experiments().iter().map(|e| e.id()).collect();
                return Err(BadInput(format!(
                    "unknown experiment {:?}; known: {} (or all)",
                    args.experiment,
                    if known.is_empty() {
                        "none registered yet".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
                .into());
            }
        }
    };
    if args.filesystems.is_some()
        && !selected
            .iter()
            .any(|e| [filesystems::ID, writeback::ID].contains(&e.id()))
    {
        return Err(BadInput(format!(
            "--filesystems: {} makes no scratch filesystems; only {} and {} do",
            args.experiment,
            filesystems::ID,
            writeback::ID
        ))
        .into());
    }
    if let Some(limit) = args.memory_limit {
        if !selected.iter().any(|e| e.offers_memory_limit()) {
            let offering: Vec<&str> = registry::experiments()
                .iter()
                .filter(|e| e.offers_memory_limit())
                .map(|e| e.id())
                .collect();
            return Err(BadInput(format!(
                "--memory-limit: {} does not use a memory limit; only {} does",
                args.experiment,
                offering.join(", ")
            ))
            .into());
        }
        if let Err(reason) = mmlab_core::cgroup::check_limit(limit) {
            return Err(BadInput(format!("--memory-limit {reason}")).into());
        }
    }
    // Held to the end of the run: the --out folders made here go again if
    // they are still empty then (a check below failed, or every experiment).
    let _fresh_out = remove_if_left_empty(&args.out);
    check_writable_folder("--out", &args.out)?;
    if let Some(dir) = &args.data_dir {
        if !dir.is_dir() {
            return Err(BadInput(format!(
                "--data-dir {}: not an existing folder",
                dir.display()
            ))
            .into());
        }
        check_writable_folder("--data-dir", dir)?;
    }
    if let Some(size) = args.size {
        check_size_fits(size, args.data_dir.as_deref())?;
    }
    remove_leftovers(args.data_dir.as_deref());
    let context = RunContext {
        profile: match args.profile {
            ProfileArg::Quick => Profile::Quick,
            ProfileArg::Full => Profile::Full,
        },
        repeat: args.repeat.map(|r| r as usize),
        size_bytes: args.size,
        data_dir_base: args.data_dir.clone(),
        quiet: args.quiet,
        memory_limit_bytes: args.memory_limit,
        filesystems: args.filesystems.clone(),
        pmu: mmlab_counters::probe::hardware_pmu(),
    };
    if !args.quiet {
        println!("mmlab run {}", args.experiment);
        println!("  param profile: {}", context.profile.as_str());
        println!("  param out: {}", args.out.display());
        println!(
            "  param data-dir: {}",
            args.data_dir
                .as_deref()
                .unwrap_or(Path::new("results/data"))
                .display()
        );
        println!(
            "  param repeat: {}",
            args.repeat
                .map(|r| r.to_string())
                .unwrap_or_else(|| "profile default".into())
        );
        println!(
            "  param size: {}",
            args.size
                .map(mmlab_core::format_size)
                .unwrap_or_else(|| "profile default".into())
        );
        println!(
            "  param memory-limit: {}",
            args.memory_limit
                .map(|m| format!(
                    "{} (memory cgroup, repeated-access only)",
                    mmlab_core::format_size(m)
                ))
                .unwrap_or_else(|| "none".into())
        );
        println!(
            "  param experiments: {}",
            selected
                .iter()
                .map(|e| e.id())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    // Every check passed: the run starts, and its command line goes
    // beside its results (`mmlab bundle` puts it in the manifest).
    bundle::record_command_line(&args.out)?;
    let mut failures = Vec::new();
    for experiment in &selected {
        println!();
        println!("== {}: {}", experiment.id(), experiment.question());
        let started = Instant::now();
        let outcome = experiment.run(&context).and_then(|result| {
            mmlab_core::io::write_result(&args.out, &result).map(|path| (result, path))
        });
        match outcome {
            Ok((result, path)) => {
                for claim in &result.claims {
                    println!("  {:<4} {:<18} {}", claim.id, claim.verdict, claim.evidence);
                }
                for warning in &result.warnings {
                    println!(
                        "  warning [{}] {} (remedy: {})",
                        warning.kind, warning.message, warning.remedy
                    );
                }
                println!(
                    "  wrote {} in {:.1} s",
                    path.display(),
                    started.elapsed().as_secs_f64()
                );
            }
            Err(error) => {
                eprintln!("  {} failed: {error:#}", experiment.id());
                failures.push(experiment.id());
            }
        }
    }
    println!();
    if failures.is_empty() {
        println!(
            "{} experiment(s) done; results in {}",
            selected.len(),
            args.out.display()
        );
        Ok(0)
    } else {
        eprintln!(
            "{} of {} experiment(s) failed: {}",
            failures.len(),
            selected.len(),
            failures.join(", ")
        );
        Ok(1)
    }
}

#[allow(dead_code)] // used by verdict summaries as experiments land
fn verdict_counts(claims: &[mmlab_core::Claim]) -> std::collections::BTreeMap<Verdict, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for claim in claims {
        *counts.entry(claim.verdict).or_insert(0) += 1;
    }
    counts
}
