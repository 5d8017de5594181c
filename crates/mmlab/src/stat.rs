//! `mmlab stat`: count a command's events like `perf stat` (the
//! `mmlab-counters` crate): software, hardware and tracepoint counters from
//! the command's exec to its end, its children included, with wait4's fault
//! counts beside them. The parameters, the table and the summary go to
//! stderr, so the command's own output stays on stdout; `--json FILE` keeps
//! every number. The command's exit status is passed through (128 + N when
//! signal N killed it); an unknown event, a tracepoint that does not exist
//! or a command that cannot be started is bad input (status 2).

use std::path::{Path, PathBuf};

use mmlab_counters::{
    CommandMeasurement, CounterError, CounterSet, HARDWARE_EVENTS, SOFTWARE_EVENTS,
};

use crate::BadInput;

/// System calls counted by default besides the total.
const DEFAULT_SYSCALLS: &[&str] = &["read", "mmap", "munmap"];

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  mmlab stat -- /bin/true\n  \
                  mmlab stat -e minor-faults,syscalls:sys_enter_mmap -- ls /\n  \
                  mmlab stat --json stat.json -- sh -c 'head -c 1m /dev/zero >/dev/null'\n\n\
                  Events: perf names (cycles, instructions, cache-misses, dTLB-load-misses, \
                  page-faults, minor-faults, major-faults, task-clock, context-switches, ...) and \
                  tracepoints subsystem:name (raw_syscalls:sys_enter, syscalls:sys_enter_mmap, \
                  exceptions:page_fault_user, ...).")]
pub struct StatArgs {
    /// Events to count, comma-separated (default: software, hardware, system calls, faults)
    #[arg(
        short = 'e',
        long = "events",
        value_name = "EVENT,...",
        value_delimiter = ','
    )]
    pub events: Vec<String>,
    /// Write the counts, reasons and the command's rusage to FILE as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The command to count, after `--`
    #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// The events counted without `-e`.
pub fn default_events() -> Vec<String> {
    let mut events: Vec<String> = SOFTWARE_EVENTS
        .iter()
        .chain(HARDWARE_EVENTS)
        .map(|e| e.to_string())
        .collect();
    events.push("raw_syscalls:sys_enter".into());
    events.extend(
        DEFAULT_SYSCALLS
            .iter()
            .map(|s| mmlab_counters::syscall_event(s)),
    );
    events.push("exceptions:page_fault_user".into());
    events
}

pub fn run(args: StatArgs) -> anyhow::Result<i32> {
    let events: Vec<String> = if args.events.is_empty() {
        default_events()
    } else {
        args.events
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect()
    };
    if events.is_empty() {
        return Err(BadInput("-e: no event named".into()).into());
    }
    let refs: Vec<&str> = events.iter().map(String::as_str).collect();
    // All bad input is one line, before anything is printed or run.
    CounterSet::check(&refs).map_err(|e| BadInput(e.to_string()))?;
    if let Some(path) = &args.json {
        crate::check_json_path(path)?;
    }
    find_program(&args.command[0])?;

    eprintln!("mmlab stat -- {}", args.command.join(" "));
    eprintln!("  param events: {}", events.join(","));
    if let Some(path) = &args.json {
        eprintln!("  param json: {}", path.display());
    }
    let result = match mmlab_counters::measure_command(&args.command, &refs) {
        Ok(result) => result,
        Err(
            e @ (CounterError::CannotStart { .. }
            | CounterError::UnknownEvent(_)
            | CounterError::NoSuchTracepoint { .. }),
        ) => {
            return Err(BadInput(e.to_string()).into());
        }
        Err(e) => return Err(e.into()),
    };
    eprintln!();
    eprint!("{}", format_table(&events, &result));
    if let Some(path) = &args.json {
        write_json(path, &args.command, &events, &result)?;
        eprintln!("mmlab stat: wrote {}", path.display());
    }
    Ok(result.shell_status())
}

/// The table: event, count, per second, note; then wait4's view and how the
/// command ended.
pub fn format_table(events: &[String], result: &CommandMeasurement) -> String {
    let m = &result.measurement;
    let seconds = m.elapsed_ns as f64 / 1e9;
    let width = events
        .iter()
        .map(|e| e.len())
        .max()
        .unwrap_or(0)
        .max("rusage minor faults".len());
    let mut out = format!(
        "{:<width$}  {:>15}  {:>15}  note\n",
        "event", "count", "per second"
    );
    for event in events {
        let note = m.notes.get(event).map(String::as_str).unwrap_or("");
        let (count, rate) = match m.get(event) {
            Some(n) => (
                group_digits(n),
                if seconds > 0.0 {
                    format_rate(n as f64 / seconds)
                } else {
                    "-".into()
                },
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        let note = if event == "task-clock" && note.is_empty() {
            "ns of CPU time"
        } else {
            note
        };
        out.push_str(&format!(
            "{event:<width$}  {count:>15}  {rate:>15}  {note}\n"
        ));
    }
    out.push_str(&format!(
        "{:<width$}  {:>15}  {:>15}  wait4 rusage, cross-check\n",
        "rusage minor faults",
        group_digits(m.rusage.n_minor_faults),
        format_rate(m.rusage.n_minor_faults as f64 / seconds.max(1e-9))
    ));
    out.push_str(&format!(
        "{:<width$}  {:>15}  {:>15}  wait4 rusage, cross-check\n",
        "rusage major faults",
        group_digits(m.rusage.n_major_faults),
        format_rate(m.rusage.n_major_faults as f64 / seconds.max(1e-9))
    ));
    let ending = match (result.exit_code, result.signal) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".to_string(),
    };
    out.push_str(&format!(
        "\n{:.6} s elapsed, {:.6} s user, {:.6} s sys; the command {ending}\n",
        seconds,
        m.rusage.user_ns as f64 / 1e9,
        m.rusage.system_ns as f64 / 1e9
    ));
    out
}

fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn format_rate(rate: f64) -> String {
    if rate >= 1e9 {
        format!("{:.3} G/s", rate / 1e9)
    } else if rate >= 1e6 {
        format!("{:.3} M/s", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.3} K/s", rate / 1e3)
    } else {
        format!("{rate:.3} /s")
    }
}

fn write_json(
    path: &Path,
    command: &[String],
    events: &[String],
    result: &CommandMeasurement,
) -> anyhow::Result<()> {
    let m = &result.measurement;
    let seconds = m.elapsed_ns as f64 / 1e9;
    let per_second: serde_json::Map<String, serde_json::Value> = events
        .iter()
        .map(|e| {
            let v = match m.get(e) {
                Some(n) if seconds > 0.0 => serde_json::json!(n as f64 / seconds),
                _ => serde_json::Value::Null,
            };
            (e.clone(), v)
        })
        .collect();
    let available = serde_json::to_value(&result.availability)?;
    let value = serde_json::json!({
        "command": command,
        "events": events,
        "elapsed_ns": m.elapsed_ns,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "exit_status": result.shell_status(),
        "counts": m.counts,
        "per_second": per_second,
        "counters_available": available,
        "notes": m.notes,
        "rusage": m.rusage,
        "sample": m.sample_fields(),
    });
    crate::write_json_file(path, &value)
}

/// Finds `program` as execvp would (a path, or a name in PATH), so that a
/// command that cannot start is reported before anything is printed.
fn find_program(program: &str) -> Result<PathBuf, BadInput> {
    let executable = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if executable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(BadInput(format!(
                "cannot start {program}: not an executable file"
            )))
        } else {
            Err(BadInput(format!("cannot start {program}: no such file")))
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
        .ok_or_else(|| BadInput(format!("cannot start {program}: not found in PATH")))
}
