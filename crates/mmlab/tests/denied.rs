//! The `mmlab` binary where counting is refused: under a seccomp filter that
//! makes perf_event_open fail with EPERM (installed in the child before
//! exec, as a container runtime or a CI sandbox does), `mmlab stat`, `mmlab
//! env` and an experiment run with the counters marked unavailable and say
//! why; as an unprivileged user with tracefs mounted (mode 0700), the
//! reason is that it cannot be read, not that it is not mounted.

#![cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mmlab_core::testing::{Capability, skip};
use serde_json::Value;

const SECCOMP: &str = "blocked by a seccomp filter (Seccomp: 2 in /proc/self/status)";

/// `AUDIT_ARCH_*` of the architecture the filter checks for (linux/audit.h).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// The BPF program: load the arch (offset 4 of seccomp_data); another arch
/// is allowed; load the call number (offset 0); perf_event_open returns
/// EPERM, everything else is allowed.
fn filter() -> Vec<libc::sock_filter> {
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
    vec![
        stmt(load, 4),
        jump(AUDIT_ARCH, 0, 3),
        stmt(load, 0),
        jump(libc::SYS_perf_event_open as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

/// `mmlab ARGS` with perf_event_open denied by a seccomp filter.
fn mmlab_under_seccomp(args: &[&str]) -> Output {
    let mut program = filter();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mmlab"));
    command.args(args);
    // SAFETY: between fork and exec the closure only makes two prctl calls
    // on memory prepared before the fork (`program` is moved in and not
    // reallocated).
    unsafe {
        command.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: program.len() as u16,
                filter: program.as_mut_ptr(),
            };
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
        .output()
        .expect("start mmlab under a seccomp filter")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// Whether tracepoint ids can be read here (root mounts tracefs privately);
/// where not, tracepoints keep their tracefs reason, which comes first.
fn tracepoints_resolve() -> bool {
    mmlab_counters::tracefs::tracepoint_id("raw_syscalls:sys_enter").is_ok()
}

/// Every entry of `counters_available` is a reason (never `true`) naming
/// the filter; tracepoints only where tracefs can be read.
fn assert_all_blocked(available: &Value, context: &str) {
    let available = available
        .as_object()
        .unwrap_or_else(|| panic!("counters_available is not an object: {context}"));
    assert!(!available.is_empty(), "{context}");
    let tracepoints = tracepoints_resolve();
    let mut unchecked = Vec::new();
    for (event, value) in available {
        let reason = value
            .as_str()
            .unwrap_or_else(|| panic!("{event} is {value} under seccomp: {context}"));
        if event.contains(':') && !tracepoints {
            unchecked.push((event.clone(), reason.to_string()));
            continue;
        }
        assert!(reason.starts_with(SECCOMP), "{event}: {reason}");
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
fn stat_under_seccomp_runs_the_command_with_every_counter_unavailable() {
    let dir = temp_dir("denied-stat");
    let json = dir.join("stat.json");
    let output = mmlab_under_seccomp(&["stat", "--json", json.to_str().unwrap(), "--", "true"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("mmlab: "), "{stderr}");
    let value: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("read --json")).expect("parse --json");
    assert_eq!(value["exit_status"], 0);
    assert_all_blocked(&value["counters_available"], &stderr);
    assert!(
        value["counts"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_null),
        "{value}"
    );
    // wait4's view is still there.
    assert!(
        value["rusage"]["n_minor_faults"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert!(stderr.contains(SECCOMP), "{stderr}");

    // The command's own status is passed through.
    let output = mmlab_under_seccomp(&["stat", "-e", "minor-faults", "--", "sh", "-c", "exit 3"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
}

#[test]
fn env_under_seccomp_names_it() {
    let output = mmlab_under_seccomp(&["env", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).expect("env --json");
    let capabilities = json["capabilities"].as_array().unwrap();
    let perf = capabilities
        .iter()
        .find(|c| c["name"] == "perf_event_open")
        .expect("a perf_event_open capability");
    assert_eq!(perf["available"], false, "{perf}");
    assert!(
        perf["detail"].as_str().unwrap().starts_with(SECCOMP),
        "{perf}"
    );
    assert!(
        perf["remedy"].as_str().unwrap().contains("seccomp"),
        "{perf}"
    );
    // The PMU is not blamed: with the call refused it cannot be told.
    let pmu = capabilities
        .iter()
        .find(|c| c["name"] == "hardware PMU")
        .expect("a hardware PMU capability");
    assert!(
        pmu["detail"].as_str().unwrap().starts_with(SECCOMP),
        "{pmu}"
    );
    assert!(
        json["fingerprint"]["pmu_reason"]
            .as_str()
            .is_some_and(|r| r.starts_with(SECCOMP)),
        "{}",
        json["fingerprint"]
    );

    let table = text(&mmlab_under_seccomp(&["env"]).stdout);
    let row = table
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("perf_event_open"))
        .unwrap_or_else(|| panic!("no perf_event_open row:\n{table}"));
    assert!(row.contains("NO") && row.contains(SECCOMP), "{row}");
    assert!(
        table.lines().any(|l| l.trim_start().starts_with("seccomp")
            && l.contains("a filter is active (Seccomp: 2")),
        "{table}"
    );
}

#[test]
fn repeated_access_under_seccomp_runs_with_counters_marked_unavailable() {
    let dir = temp_dir("denied-repeated-access");
    let out = dir.join("out");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let output = mmlab_under_seccomp(&[
        "run",
        "repeated-access",
        "--quiet",
        "--size",
        "4m",
        "--repeat",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let result: Value = serde_json::from_slice(
        &std::fs::read(out.join("repeated-access.json")).expect("the result file"),
    )
    .expect("parse the result file");
    assert_all_blocked(&result["counters_available"], &stderr);
    assert!(
        result["samples"].as_array().is_some_and(|s| !s.is_empty()),
        "no samples"
    );
}

/// As root: `mmlab env` and `mmlab stat` run as `nobody` (uid 65534) in a
/// mount namespace of their own where tracefs is mounted on
/// /sys/kernel/tracing (mode 0700), so that the machine's mount table is
/// never touched.
#[test]
fn as_nobody_a_mounted_tracefs_is_called_unreadable_not_unmounted() {
    let what = "mmlab env and stat as nobody with tracefs mounted";
    if !nix::unistd::geteuid().is_root() {
        skip(
            Capability::Root,
            what,
            "mounting tracefs in a mount namespace and becoming nobody need root",
        );
        return;
    }
    if !Path::new("/sys/kernel/tracing").is_dir() {
        skip(
            Capability::Tracefs,
            what,
            "no /sys/kernel/tracing to mount it on",
        );
        return;
    }
    let dir = temp_dir("denied-nobody");
    let stat_json = dir.join("stat.json");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let as_nobody = |args: &[&str]| -> std::io::Result<Output> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mmlab"));
        command.args(args).current_dir(&dir);
        // SAFETY: between fork and exec the closure only makes system calls
        // with constant C strings and integers.
        unsafe {
            command.pre_exec(|| {
                let check = |rc: libc::c_int| {
                    if rc == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                };
                check(libc::unshare(libc::CLONE_NEWNS))?;
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ))?;
                check(libc::mount(
                    c"nodev".as_ptr(),
                    c"/sys/kernel/tracing".as_ptr(),
                    c"tracefs".as_ptr(),
                    0,
                    std::ptr::null(),
                ))?;
                check(libc::setgroups(0, std::ptr::null()))?;
                check(libc::setgid(65534))?;
                check(libc::setuid(65534))
            });
        }
        command.output()
    };
    let output = match as_nobody(&["env", "--json"]) {
        Ok(output) => output,
        Err(e) => {
            skip(
                Capability::Root,
                what,
                format!("cannot mount tracefs in a mount namespace or become nobody: {e}"),
            );
            return;
        }
    };
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let json: Value = serde_json::from_slice(&output.stdout).expect("env --json");
    assert_eq!(json["fingerprint"]["is_root"], false);
    assert_eq!(json["fingerprint"]["tracefs"], "/sys/kernel/tracing");
    let tracefs = json["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "tracefs")
        .expect("a tracefs capability")
        .clone();
    assert_eq!(tracefs["available"], false, "{tracefs}");
    let detail = tracefs["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(
            "tracefs is mounted at /sys/kernel/tracing but not readable by this user (mode 0"
        ) && detail.ends_with("): run as root"),
        "{detail}"
    );
    assert!(
        tracefs["remedy"].as_str().unwrap().contains("run as root"),
        "{tracefs}"
    );

    // The counters give the same reason.
    let output = as_nobody(&[
        "stat",
        "-e",
        "minor-faults,raw_syscalls:sys_enter",
        "--json",
        stat_json.to_str().unwrap(),
        "--",
        "true",
    ])
    .expect("mmlab stat as nobody");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let value: Value = serde_json::from_slice(&std::fs::read(&stat_json).expect("read --json"))
        .expect("parse --json");
    assert_eq!(
        value["counters_available"]["raw_syscalls:sys_enter"], detail,
        "{value}"
    );
}
