//! `mmlab stat`, run for real: parameters first, then a table in which every
//! event has a count or a reason; the JSON file; the command's exit status
//! passed through; bad input in one line with status 2; and the counts
//! against `perf stat` on the same command (skipped with a printed reason
//! where perf is absent).

use std::process::{Command, Output};

const MMLAB: &str = env!("CARGO_BIN_EXE_mmlab");

fn mmlab(args: &[&str]) -> Output {
    Command::new(MMLAB).args(args).output().expect("mmlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn stat_prints_parameters_then_a_row_per_event_with_a_count_or_a_reason() {
    let output = mmlab(&["stat", "--", "/bin/true"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("mmlab stat -- /bin/true"), "{stderr}");
    assert!(lines[1].starts_with("  param events: "), "{stderr}");
    let events: Vec<&str> = lines[1]["  param events: ".len()..].split(',').collect();
    for name in [
        "cycles",
        "page-faults",
        "minor-faults",
        "major-faults",
        "raw_syscalls:sys_enter",
    ] {
        assert!(
            events.contains(&name),
            "default events lack {name}: {events:?}"
        );
    }
    let header = lines
        .iter()
        .position(|l| l.starts_with("event "))
        .expect("table header");
    for event in &events {
        let row = lines[header..]
            .iter()
            .find(|l| l.split_whitespace().next() == Some(event))
            .unwrap_or_else(|| panic!("no row for {event}: {stderr}"));
        let count = row.split_whitespace().nth(1).expect("count column");
        // A count, or "-" with the reason in the note column.
        if count == "-" {
            assert!(
                row.split_whitespace().count() > 3,
                "{event}: no reason: {row}"
            );
        } else {
            assert!(count.replace(',', "").parse::<u64>().is_ok(), "{row}");
        }
    }
    if mmlab_counters::probe::hardware_pmu().is_err() {
        let row = lines
            .iter()
            .find(|l| l.starts_with("cycles "))
            .expect("cycles row");
        assert!(row.contains("unsupported: no hardware PMU ("), "{row}");
    }
    assert!(
        stderr.contains("the command exited with status 0"),
        "{stderr}"
    );
}

#[test]
fn stat_passes_the_exit_status_through_and_keeps_stdout_for_the_command() {
    let output = mmlab(&[
        "stat",
        "-e",
        "task-clock",
        "--",
        "sh",
        "-c",
        "echo out; exit 7",
    ]);
    assert_eq!(output.status.code(), Some(7));
    assert_eq!(text(&output.stdout), "out\n");
    let output = mmlab(&[
        "stat",
        "-e",
        "task-clock",
        "--",
        "sh",
        "-c",
        "kill -KILL $$",
    ]);
    assert_eq!(output.status.code(), Some(128 + 9));
    assert!(text(&output.stderr).contains("killed by signal 9"));
}

#[test]
fn bad_input_is_one_line_and_status_2() {
    let mut cases = vec![
        (
            vec!["stat", "-e", "cycels", "--", "true"],
            "unknown event \"cycels\"",
        ),
        (
            vec!["stat", "--", "/nonexistent/program"],
            "cannot start /nonexistent/program",
        ),
        (
            vec!["stat", "--", "mmlab-no-such-program"],
            "cannot start mmlab-no-such-program",
        ),
        (
            vec!["stat", "--json", "/nonexistent/dir/x.json", "--", "true"],
            "folder /nonexistent/dir does not exist",
        ),
    ];
    if mmlab_counters::tracefs::tracepoint_id("raw_syscalls:sys_enter").is_ok() {
        cases.push((
            vec!["stat", "-e", "syscalls:sys_enter_nosuchcall", "--", "true"],
            "tracepoint syscalls:sys_enter_nosuchcall does not exist",
        ));
    } else {
        mmlab_core::testing::skip(
            mmlab_core::testing::Capability::Tracefs,
            "the missing-tracepoint case",
            "tracefs cannot be read here",
        );
    }
    for (args, expected) in cases {
        let output = mmlab(&args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn stat_json_agrees_with_perf_stat_on_the_same_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = dir.path().join("stat.json");
    let events = [
        "page-faults",
        "minor-faults",
        "major-faults",
        "raw_syscalls:sys_enter",
    ];
    // 1000 one-byte read() and write() calls, plus dd's start-up.
    let command = [
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1",
        "count=1000",
        "status=none",
    ];
    let mut args = vec![
        "stat",
        "-e",
        "page-faults,minor-faults,major-faults,raw_syscalls:sys_enter",
    ];
    args.extend(["--json", json.to_str().expect("utf-8"), "--"]);
    args.extend(command);
    let output = mmlab(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("json");
    assert_eq!(value["exit_status"], 0);
    assert_eq!(value["command"][0], "dd");
    let ours: Vec<Option<u64>> = events.iter().map(|e| value["counts"][e].as_u64()).collect();
    if let Some(i) = ours.iter().position(Option::is_none) {
        mmlab_core::testing::skip(
            mmlab_core::testing::Capability::for_counter(events[i]),
            &format!("counting {}", events[i]),
            &value["counters_available"][events[i]],
        );
        return;
    }
    let ours: Vec<u64> = ours.into_iter().map(|c| c.expect("checked")).collect();
    assert!(ours[3] >= 2000, "{value}");
    assert!(value["sample"]["rusage_minor_faults"].as_u64().is_some());
    let theirs = match mmlab_counters::cross_check::perf_stat(&events, &command) {
        Ok(counts) => counts,
        Err(reason) => {
            mmlab_core::testing::skip(
                mmlab_core::testing::Capability::Perf,
                "the perf stat comparison",
                reason,
            );
            return;
        }
    };
    for ((event, ours), theirs) in events.iter().zip(ours).zip(theirs) {
        let theirs = theirs.unwrap_or_else(|| panic!("perf stat did not count {event}"));
        let abs = if event.contains(':') { 10 } else { 5 };
        println!("{event}: mmlab stat {ours}, perf stat {theirs}");
        assert!(
            mmlab_counters::cross_check::within_tolerance(ours, theirs, 1.0, abs),
            "{event}: mmlab {ours} vs perf {theirs}"
        );
    }
}
