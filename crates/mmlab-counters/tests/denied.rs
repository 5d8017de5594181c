//! perf_event_open refused by a seccomp filter, as in a container or a CI
//! sandbox: a counter set still opens, with every counter unavailable and
//! the reason naming seccomp, and a measured region or a command still runs
//! and keeps its getrusage counts.
//!
//! The filter (perf_event_open -> EPERM, everything else allowed) is
//! installed on one thread of its own, without TSYNC, so it holds for that
//! thread and the processes it forks only; the thread ends with the test.

#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use mmlab_core::Availability;
use mmlab_core::testing::{Capability, skip};
use mmlab_counters::{CounterSet, STANDARD_EVENTS, measure_command};

/// `AUDIT_ARCH_*` of the architecture the filter checks for (linux/audit.h:
/// the ELF machine, 64-bit, little-endian).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Makes perf_event_open fail with EPERM for the calling thread and what it
/// forks from now on: no_new_privs, then a filter that loads the arch
/// (offset 4 of seccomp_data) and the call number (offset 0).
fn deny_perf_event_open_on_this_thread() {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut program = [
        stmt(load, 4),
        jump(AUDIT_ARCH, 0, 3),
        stmt(load, 0),
        jump(libc::SYS_perf_event_open as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: prctl with integer arguments; PR_SET_SECCOMP reads `prog`,
    // which points at `program`, both alive for the call.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ),
            0,
            "PR_SET_SECCOMP: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Runs `f` on a fresh thread under the filter.
fn under_seccomp<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        deny_perf_event_open_on_this_thread();
        f()
    })
    .join()
    .expect("the filtered thread panicked")
}

/// Whether tracepoint ids can be read here at all (root mounts tracefs
/// privately); where not, tracepoints keep their tracefs reason, which is
/// true as well and comes first.
fn tracepoints_resolve() -> bool {
    mmlab_counters::tracefs::tracepoint_id("raw_syscalls:sys_enter").is_ok()
}

/// Every event unavailable, each reason naming the filter (tracepoints only
/// where tracefs can be read).
fn assert_all_blocked(availability: &std::collections::BTreeMap<String, Availability>) {
    let tracepoints = tracepoints_resolve();
    assert!(!availability.is_empty());
    let mut unchecked = Vec::new();
    for (event, a) in availability {
        let Availability::Unavailable(reason) = a else {
            panic!("{event} is available under a filter that refuses perf_event_open");
        };
        if event.contains(':') && !tracepoints {
            unchecked.push((event.clone(), reason.to_string()));
            continue;
        }
        assert!(
            reason.starts_with("blocked by a seccomp filter (Seccomp: 2 in /proc/self/status)"),
            "{event}: {reason}"
        );
    }
    if !unchecked.is_empty() {
        skip(
            Capability::Tracefs,
            "tracepoint reasons naming seccomp",
            format!(
                "{} tracepoint(s) keep their tracefs reason, e.g. {}: {}",
                unchecked.len(),
                unchecked[0].0,
                unchecked[0].1
            ),
        );
    }
}

#[test]
fn a_set_opened_under_seccomp_has_every_counter_unavailable_and_the_region_still_runs() {
    let (mode, set) = under_seccomp(|| {
        let mode = mmlab_core::fingerprint::seccomp_mode();
        let set = CounterSet::standard_with(&["syscalls:sys_enter_read"]);
        let set = set.map(|set| {
            let pages = 64;
            let (sum, m) = set.measure(|| {
                let mut v = vec![0u8; pages * 4096 * 2];
                for i in (0..v.len()).step_by(4096) {
                    v[i] = 1;
                }
                v.iter().map(|&b| b as usize).sum::<usize>()
            });
            (set.availability(), sum, m)
        });
        (mode, set)
    });
    assert_eq!(mode, Some(2), "the filter is on");
    let (availability, sum, m) = set.expect("the set opens under seccomp");
    assert_eq!(availability.len(), STANDARD_EVENTS.len() + 1);
    assert_all_blocked(&availability);
    // The closure ran, and getrusage saw its faults.
    assert!(sum >= 64, "{sum}");
    assert!(m.rusage.n_minor_faults >= 64, "{:?}", m.rusage);
    assert!(m.counts.values().all(Option::is_none), "{:?}", m.counts);
    for event in m.counts.keys() {
        assert!(m.notes.contains_key(event), "no reason for {event}");
    }
}

#[test]
fn a_command_measured_under_seccomp_runs_and_passes_its_status_through() {
    let workload = env!("CARGO_BIN_EXE_counters-workload").to_string();
    let result = under_seccomp(move || {
        let argv = [
            workload,
            "--pages".into(),
            "200".into(),
            "--exit".into(),
            "3".into(),
        ];
        let events: Vec<&str> = STANDARD_EVENTS.to_vec();
        measure_command(&argv, &events)
    })
    .expect("the command runs under seccomp");
    assert_eq!(result.exit_code, Some(3));
    assert_eq!(result.shell_status(), 3);
    assert_all_blocked(&result.availability);
    assert!(
        result.measurement.rusage.n_minor_faults >= 200,
        "{:?}",
        result.measurement.rusage
    );
    assert!(result.measurement.counts.values().all(Option::is_none));
}

#[test]
fn without_the_filter_no_reason_blames_seccomp() {
    // The same process, another thread: the filter is per thread.
    if mmlab_core::fingerprint::seccomp_mode() == Some(2) {
        skip(
            Capability::Perf,
            "reasons without a seccomp filter",
            "the tests themselves run under a seccomp filter (Seccomp: 2)",
        );
        return;
    }
    let set = CounterSet::standard_with(&[]).expect("open");
    for (event, a) in set.availability() {
        if let Availability::Unavailable(reason) = a {
            assert!(!reason.contains("seccomp"), "{event}: {reason}");
        }
    }
    assert!(mmlab_counters::probe::blocked_by_seccomp().is_none());
}
