//! The tracer on real programs: what it records, how it follows forks and
//! threads, how endings and start failures come back.

use mmlab_trace::{CommandSpec, Ending, Selection, TraceError, trace};

fn run(
    program: &str,
    args: &[&str],
    selection: &Selection,
) -> Result<mmlab_trace::Trace, TraceError> {
    trace(&CommandSpec::new(program, args), selection, &mut |_| {})
}

/// Whether ptrace works here; prints why not.
fn ptrace_allowed() -> bool {
    match run("/bin/true", &[], &Selection::none()) {
        Err(TraceError::NotPermitted { call, errno }) => {
            mmlab_core::testing::skip(
                mmlab_core::testing::Capability::Ptrace,
                "tracing",
                format!("ptrace is not permitted here ({call}: {errno})"),
            );
            false
        }
        _ => true,
    }
}

#[test]
fn records_the_loader_mapping_libc() {
    if !ptrace_allowed() {
        return;
    }
    let mut seen = 0;
    let trace = trace(
        &CommandSpec::new("/bin/true", &[]),
        &Selection::default_set(),
        &mut |_| seen += 1,
    )
    .expect("traced");
    assert_eq!(trace.ending, Ending::Exited { code: 0 });
    assert_eq!(
        seen,
        trace.records.len(),
        "every record is handed to the callback"
    );
    let libc_code = trace
        .records
        .iter()
        .find(|r| {
            r.syscall == "mmap"
                && r.arg_str("prot") == Some("PROT_READ|PROT_EXEC")
                && r.arg_str("fd_path").is_some_and(|p| p.contains("libc.so"))
        })
        .unwrap_or_else(|| panic!("no code mapping of libc: {:#?}", trace.records));
    assert!(libc_code.text.starts_with("mmap(0x"), "{}", libc_code.text);
    assert!(
        libc_code
            .arg_str("flags")
            .unwrap()
            .contains("MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE")
    );
    // Every call returned, and the start times are in order.
    assert!(trace.records.iter().all(|r| r.return_value.is_some()));
    assert!(
        trace
            .records
            .windows(2)
            .all(|w| w[0].start_s <= w[1].start_s)
    );
    // The stops are counted whatever is selected (entry and exit per call).
    assert!(trace.n_syscall_stops >= 2 * trace.records.len() as u64);
}

#[test]
fn follows_forks_and_reports_errors_by_name() {
    if !ptrace_allowed() {
        return;
    }
    let selection = Selection::parse("openat,mmap").unwrap();
    let trace = run(
        "sh",
        &[
            "-c",
            "/bin/true; cat /nonexistent-mmlab-file 2>/dev/null; exit 4",
        ],
        &selection,
    )
    .expect("traced");
    assert_eq!(trace.ending, Ending::Exited { code: 4 });
    let pids: std::collections::BTreeSet<i32> = trace.records.iter().map(|r| r.pid).collect();
    assert!(pids.len() >= 3, "sh and its two children: {pids:?}");
    let failed = trace
        .records
        .iter()
        .find(|r| r.arg_str("path") == Some("/nonexistent-mmlab-file"))
        .expect("cat's openat");
    assert_eq!(failed.errno.as_deref(), Some("ENOENT"));
    assert!(
        failed
            .text
            .ends_with("= -1 ENOENT (No such file or directory)"),
        "{}",
        failed.text
    );
    assert!(
        trace
            .records
            .iter()
            .all(|r| r.syscall == "openat" || r.syscall == "mmap")
    );
}

#[test]
fn a_killed_command_reports_its_signal() {
    if !ptrace_allowed() {
        return;
    }
    let trace = run("sh", &["-c", "kill -ABRT $$"], &Selection::none()).expect("traced");
    match &trace.ending {
        Ending::Signaled {
            signal,
            signal_number,
            ..
        } => {
            assert_eq!(signal, "SIGABRT");
            assert_eq!(*signal_number, libc::SIGABRT);
        }
        other => panic!("expected SIGABRT, got {other:?}"),
    }
    assert_eq!(trace.ending.shell_status(), 128 + libc::SIGABRT);
    assert!(
        trace.records.is_empty(),
        "nothing selected, nothing recorded"
    );
}

#[test]
fn a_command_that_cannot_start_is_an_error() {
    for program in ["/nonexistent/program", "no-such-command-mmlab-test", "/etc"] {
        match run(program, &[], &Selection::none()) {
            Err(TraceError::CannotStart { program: p, .. }) => assert_eq!(p, program),
            other => panic!("{program}: expected CannotStart, got {other:?}"),
        }
    }
    // Executable bits but not a program: exec itself fails (ENOEXEC).
    let folder = tempfile::tempdir().unwrap();
    let fake = folder.path().join("not-a-program");
    std::fs::write(&fake, [0u8, 1, 2, 3]).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    if ptrace_allowed() {
        match run(fake.to_str().unwrap(), &[], &Selection::none()) {
            Err(TraceError::CannotStart { reason, .. }) => {
                assert!(reason.contains("ENOEXEC"), "{reason}")
            }
            other => panic!("expected an exec failure, got {other:?}"),
        }
    }
}

#[test]
fn threads_are_followed_and_summaries_add_up() {
    if !ptrace_allowed() {
        return;
    }
    // Many short-lived processes in parallel: each gets its own pid line.
    let trace = run(
        "sh",
        &["-c", "/bin/true & /bin/true & /bin/true & wait"],
        &Selection::memory(),
    )
    .expect("traced");
    assert_eq!(trace.ending, Ending::Exited { code: 0 });
    let pids: std::collections::BTreeSet<i32> = trace.records.iter().map(|r| r.pid).collect();
    assert!(pids.len() >= 4, "{pids:?}");
    let summary = mmlab_trace::summarize(&trace.records);
    let total: u64 = summary.iter().map(|r| r.calls).sum();
    assert_eq!(total as usize, trace.records.len());
    let table = mmlab_trace::format_summary(&summary);
    assert!(table.contains("mmap") && table.contains("total"), "{table}");
}
