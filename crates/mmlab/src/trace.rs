//! `mmlab trace`: follow a command's system calls with ptrace (the
//! `mmlab-trace` crate), print one line per call as it happens and a
//! summary table at the end, like `strace -f` and `strace -c` together.
//! Lines and the summary go to stderr, so the command's own output stays
//! on stdout; `--json FILE` keeps every call with its decoded arguments.
//!
//! The command's exit status is passed through (128 + N when signal N
//! killed it); a command that cannot be started is bad input (status 2).

use std::io::Write;
use std::path::{Path, PathBuf};

use mmlab_trace::{CommandSpec, Selection, Trace, TraceError};

use crate::BadInput;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mmlab trace -- /bin/true\n  mmlab trace -e memory -- ls /\n  \
                  mmlab trace -c --json trace.json -- sh -c 'ls >/dev/null; true'\n\n\
                  Sets for -e: default (the memory family and file I/O), memory (the calls \
                  `strace -e trace=memory` shows), file-io, all; or names, comma-separated."
)]
pub struct TraceArgs {
    /// Write every recorded call (decoded), the summary and how the command ended to FILE as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The calls to record: names and sets, comma-separated (e.g. memory,openat)
    #[arg(
        short = 'e',
        long = "calls",
        value_name = "CALLS",
        default_value = "default"
    )]
    pub calls: String,
    /// Print only the summary table, not one line per call
    #[arg(short = 'c', long)]
    pub summary_only: bool,
    /// Run one of the who-calls-mmap experiment's small workloads instead of tracing
    #[arg(long, hide = true, value_name = "SPEC", exclusive = true)]
    pub workload: Option<String>,
    /// The command to trace, after `--`
    #[arg(
        trailing_var_arg = true,
        required_unless_present = "workload",
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

pub fn run(args: TraceArgs) -> anyhow::Result<i32> {
    if let Some(spec) = &args.workload {
        return who_calls_mmap::run_workload(spec);
    }
    let selection = Selection::parse(&args.calls).map_err(|e| BadInput(e.to_string()))?;
    if let Some(path) = &args.json {
        crate::check_json_path(path)?;
    }
    // Resolve first, so a command that cannot start is one line and nothing else.
    mmlab_trace::resolve_program(&args.command[0]).map_err(|e| BadInput(e.to_string()))?;
    let spec = CommandSpec {
        program: args.command[0].clone(),
        args: args.command[1..].to_vec(),
        stdout_to: None,
    };
    eprintln!("mmlab trace -- {}", args.command.join(" "));
    eprintln!("  param calls: {}", selection.names().join(","));
    if let Some(path) = &args.json {
        eprintln!("  param json: {}", path.display());
    }
    let stderr = std::io::stderr();
    let mut print = |record: &mmlab_trace::SyscallRecord| {
        if !args.summary_only {
            let _ = writeln!(stderr.lock(), "{}", record.line());
        }
    };
    let trace = match mmlab_trace::trace(&spec, &selection, &mut print) {
        Ok(trace) => trace,
        Err(error @ TraceError::CannotStart { .. }) => {
            return Err(BadInput(error.to_string()).into());
        }
        Err(error) => return Err(error.into()),
    };
    if trace.interrupted {
        eprintln!("mmlab trace: interrupted; the traced command was killed");
        return Ok(130);
    }
    let summary = mmlab_trace::summarize(&trace.records);
    eprintln!();
    eprint!("{}", mmlab_trace::format_summary(&summary));
    eprintln!(
        "mmlab trace: {} {}; {} calls recorded in {} process(es)/thread(s), {} system-call stops, {}",
        args.command[0],
        trace.ending.describe(),
        trace.records.len(),
        trace.pids.len(),
        trace.n_syscall_stops,
        mmlab_trace::format_duration(trace.elapsed_ns)
    );
    if let Some(path) = &args.json {
        write_json(path, &trace, &selection, &summary)?;
        eprintln!("mmlab trace: wrote {}", path.display());
    }
    Ok(trace.ending.shell_status())
}

fn write_json(
    path: &Path,
    trace: &Trace,
    selection: &Selection,
    summary: &[mmlab_trace::SummaryRow],
) -> anyhow::Result<()> {
    let value = serde_json::json!({
        "command": trace.command,
        "calls_selected": selection.names(),
        "ending": trace.ending,
        "exit_status": trace.ending.shell_status(),
        "root_pid": trace.root_pid,
        "pids": trace.pids,
        "n_syscall_stops": trace.n_syscall_stops,
        "elapsed_ns": trace.elapsed_ns,
        "summary": summary,
        "records": trace.records,
    });
    crate::write_json_file(path, &value)
}
