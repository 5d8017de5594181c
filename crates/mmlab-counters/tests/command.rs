//! Counting a command from its exec onwards, against `perf stat` on the same
//! command (skipped with a printed reason where `perf` is absent).

use mmlab_core::Availability;
use mmlab_core::testing::{Capability, skip};
use mmlab_counters::{CounterError, measure_command};

const WORKLOAD: &str = env!("CARGO_BIN_EXE_counters-workload");

fn argv(args: &[&str]) -> Vec<String> {
    std::iter::once(WORKLOAD)
        .chain(args.iter().copied())
        .map(String::from)
        .collect()
}

#[test]
fn faults_and_system_calls_agree_with_perf_stat_on_the_same_command() {
    let events = [
        "page-faults",
        "minor-faults",
        "major-faults",
        "raw_syscalls:sys_enter",
        "syscalls:sys_enter_read",
    ];
    let pages = 3000u64;
    let reads = 1000u64;
    let command = argv(&["--pages", &pages.to_string(), "--reads", &reads.to_string()]);
    let ours = measure_command(&command, &events).expect("measure");
    assert_eq!(ours.exit_code, Some(0));
    for event in events {
        if let Some(Availability::Unavailable(reason)) = ours.availability.get(event) {
            skip(
                Capability::for_counter(event),
                &format!("counting {event}"),
                reason,
            );
            return;
        }
    }
    let m = &ours.measurement;
    let get = |e: &str| m.get(e).expect("counted");
    // The known numbers, plus what starting a program costs (the workload
    // turns THP off for itself, so each of its pages is one fault).
    assert!(get("minor-faults") >= pages, "{:?}", m.counts);
    assert!(
        (reads..reads + 50).contains(&get("syscalls:sys_enter_read")),
        "{:?}",
        m.counts
    );
    assert!(get("raw_syscalls:sys_enter") >= reads);
    // wait4's rusage of the same child.
    assert!(
        mmlab_counters::cross_check::within_tolerance(
            get("minor-faults"),
            m.rusage.n_minor_faults,
            1.0,
            5
        ),
        "{m:?}"
    );
    assert!(
        mmlab_counters::cross_check::within_tolerance(
            get("major-faults"),
            m.rusage.n_major_faults,
            1.0,
            5
        ),
        "{m:?}"
    );

    let theirs = match mmlab_counters::cross_check::perf_stat(&events, &command) {
        Ok(counts) => counts,
        Err(reason) => {
            skip(Capability::Perf, "the perf stat comparison", reason);
            return;
        }
    };
    for (event, theirs) in events.iter().zip(theirs) {
        let theirs = theirs.unwrap_or_else(|| panic!("perf stat did not count {event}"));
        let ours = get(event);
        let (pct, abs) = if event.contains("sys_enter") {
            (1.0, 10)
        } else {
            (1.0, 5)
        };
        println!("{event}: mmlab {ours}, perf stat {theirs}");
        assert!(
            mmlab_counters::cross_check::within_tolerance(ours, theirs, pct, abs),
            "{event}: mmlab {ours} vs perf stat {theirs}"
        );
    }
}

#[test]
fn the_commands_exit_status_comes_back() {
    let ours = measure_command(&argv(&["--exit", "3"]), &["task-clock"]).expect("measure");
    assert_eq!(
        (ours.exit_code, ours.signal, ours.shell_status()),
        (Some(3), None, 3)
    );
    let ours =
        measure_command(&["sh".into(), "-c".into(), "kill -TERM $$".into()], &[]).expect("measure");
    assert_eq!(ours.signal, Some(libc::SIGTERM));
    assert_eq!(ours.shell_status(), 128 + libc::SIGTERM);
}

#[test]
fn a_command_that_cannot_start_is_an_error_naming_it() {
    let err = measure_command(
        &["/nonexistent/mmlab-no-such-program".into()],
        &["task-clock"],
    )
    .expect_err("cannot start");
    assert!(matches!(err, CounterError::CannotStart { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("mmlab-no-such-program") && text.contains("No such file"),
        "{text}"
    );
    // Bad input is found before anything runs.
    let err = measure_command(&argv(&[]), &["no-such-event"]).expect_err("bad event");
    assert!(matches!(err, CounterError::UnknownEvent(_)), "{err}");
}

#[test]
fn map_populate_faults_in_a_command_are_in_wait4_rusage_not_in_perf_page_faults() {
    let ours = measure_command(&argv(&["--populate", "2048"]), &["minor-faults"]).expect("run");
    let m = &ours.measurement;
    let Some(perf) = m.get("minor-faults") else {
        skip(
            Capability::Perf,
            "counting minor-faults",
            format!("{:?}", m.notes.get("minor-faults")),
        );
        return;
    };
    println!(
        "--populate 2048: perf minor-faults {perf}, wait4 minor faults {}",
        m.rusage.n_minor_faults
    );
    assert!(m.rusage.n_minor_faults >= perf + 2048, "{m:?}");
}
