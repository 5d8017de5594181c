//! `mmlab trace` and the who-calls-mmap experiment, run for real: the
//! memory calls recorded match `strace -f -e trace=mmap,munmap,...` on the same
//! programs (one of them forks, one has two threads), the traced command's
//! exit status and killing signal come through, a command that cannot start
//! is one line and status 2, Ctrl-C leaves no process stopped under ptrace,
//! and the experiment's quick run gives computed verdicts.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mmlab_core::testing::{Capability, skip};

const MMLAB: &str = env!("CARGO_BIN_EXE_mmlab");

fn mmlab(args: &[&str]) -> Output {
    Command::new(MMLAB).args(args).output().expect("mmlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether this machine lets us trace; prints why not.
fn ptrace_allowed() -> bool {
    let output = mmlab(&["trace", "-c", "--", "/bin/true"]);
    if text(&output.stderr).contains("ptrace is not permitted") {
        skip(Capability::Ptrace, "tracing", text(&output.stderr).trim());
        return false;
    }
    true
}

fn strace_available() -> bool {
    let ok = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(
            Capability::Strace,
            "the strace comparison",
            "strace is not installed (scripts/install-test-deps.sh installs it as root)",
        );
    }
    ok
}

/// The calls compared with strace, named one by one: strace's own
/// `trace=memory` class grows with its version (mseal, map_shadow_stack,
/// set_mempolicy_home_node...), so an exact match with the class would test
/// the installed strace, not the tracer.
const COMPARED: &[&str] = &[
    "mmap", "munmap", "mprotect", "madvise", "mremap", "msync", "brk", "mlock", "munlock",
    "mincore",
];

/// One memory call as both tools name it: the call, and for mmap and
/// mprotect the decoded prot and flags.
type Call = (String, String, String);

/// Splits `a, b, c` at top-level commas (none of the compared calls nests).
fn split_args(args: &str) -> Vec<String> {
    args.split(", ").map(|s| s.trim().to_string()).collect()
}

fn call_of(name: &str, args: &[String]) -> Call {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    match name {
        "mmap" => (name.to_string(), arg(2), arg(3)),
        "mprotect" | "pkey_mprotect" => (name.to_string(), arg(2), String::new()),
        _ => (name.to_string(), String::new(), String::new()),
    }
}

/// Parses `strace -f -qq -e trace=COMPARED,clone,clone3 -o FILE` output:
/// `PID name(args) = ret`, with `<unfinished ...>` / `<... resumed>` pairs
/// for interleaved calls (the unfinished half has the arguments), signals
/// (`---`) left out. Returns the memory calls per pid, without the threads
/// (clones with CLONE_THREAD): a helper thread races with the process's
/// exit, so whether its calls happen at all differs from run to run.
fn parse_strace(output: &str) -> BTreeMap<i32, Vec<Call>> {
    let mut calls: BTreeMap<i32, Vec<Call>> = BTreeMap::new();
    let mut threads = Vec::new();
    let mut cloning_thread: BTreeMap<i32, bool> = BTreeMap::new();
    for line in output.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<i32>() else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with("---") || rest.starts_with("+++") {
            continue;
        }
        let returned = rest
            .rsplit_once(") = ")
            .and_then(|(_, r)| r.split_whitespace().next()?.parse::<i32>().ok());
        if let Some(resumed) = rest.strip_prefix("<... ") {
            if resumed.starts_with("clone") && cloning_thread.remove(&pid) == Some(true) {
                threads.extend(returned);
            }
            continue;
        }
        let Some((name, args)) = rest.split_once('(') else {
            continue;
        };
        if name.starts_with("clone") {
            let thread = args.contains("CLONE_THREAD");
            if args.contains("<unfinished") {
                cloning_thread.insert(pid, thread);
            } else if thread {
                threads.extend(returned);
            }
            continue;
        }
        let args = match args.find(" <unfinished") {
            Some(end) => &args[..end],
            None => args.rsplit_once(") = ").map_or(args, |(a, _)| a),
        };
        calls
            .entry(pid)
            .or_default()
            .push(call_of(name, &split_args(args)));
    }
    calls.retain(|pid, _| !threads.contains(pid));
    calls
}

/// The same from `mmlab trace --json`, main threads only (pid = tgid).
fn parse_mmlab_json(path: &Path) -> BTreeMap<i32, Vec<Call>> {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("json written"))
            .expect("valid json");
    let mut calls: BTreeMap<i32, Vec<Call>> = BTreeMap::new();
    for record in value["records"].as_array().expect("records") {
        if record["pid"] != record["tgid"] {
            continue;
        }
        let name = record["syscall"].as_str().expect("syscall").to_string();
        if !COMPARED.contains(&name.as_str()) {
            continue;
        }
        let field = |key: &str| record["args"][key].as_str().unwrap_or_default().to_string();
        let call = match name.as_str() {
            "mmap" => (name, field("prot"), field("flags")),
            "mprotect" | "pkey_mprotect" => (name, field("prot"), String::new()),
            _ => (name, String::new(), String::new()),
        };
        calls
            .entry(record["pid"].as_i64().expect("pid") as i32)
            .or_default()
            .push(call);
    }
    calls
}

/// Traces `command` with both tools and compares the calls per process.
/// Pids differ between the two runs, so each side's per-process sequences
/// are compared as a sorted list.
fn compare_with_strace(command: &[&str]) {
    let folder = tempfile::tempdir().expect("temporary folder");
    let strace_out = folder.path().join("strace.txt");
    let json = folder.path().join("trace.json");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e"])
        .arg(format!("trace={},clone,clone3", COMPARED.join(",")))
        .arg("-o")
        .arg(&strace_out)
        .args(command)
        .stdout(Stdio::null())
        .status()
        .expect("strace runs");
    assert!(status.success(), "strace {command:?}: {status}");
    let selection = COMPARED.join(",");
    let mut args = vec!["trace", "-c", "-e", &selection, "--json"];
    let json_text = json.display().to_string();
    args.push(&json_text);
    args.push("--");
    args.extend(command);
    let output = Command::new(MMLAB)
        .args(&args)
        .stdout(Stdio::null())
        .output()
        .expect("mmlab runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "mmlab trace {command:?}: {}",
        text(&output.stderr)
    );

    let theirs = parse_strace(&std::fs::read_to_string(&strace_out).expect("strace output"));
    let ours = parse_mmlab_json(&json);
    let sorted = |m: BTreeMap<i32, Vec<Call>>| {
        let mut v: Vec<Vec<Call>> = m.into_values().collect();
        v.sort();
        v
    };
    let (theirs, ours) = (sorted(theirs), sorted(ours));
    assert!(
        !ours.is_empty() && ours.iter().any(|s| s.iter().any(|c| c.0 == "mmap")),
        "{command:?}: no mmap seen"
    );
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{command:?}: processes/threads with memory calls: mmlab {} vs strace {}",
        ours.len(),
        theirs.len()
    );
    for (mine, strace) in ours.iter().zip(&theirs) {
        assert_eq!(mine, strace, "{command:?}: per-process sequence differs");
    }
}

#[test]
fn memory_calls_match_strace_on_three_programs() {
    if !ptrace_allowed() || !strace_available() {
        return;
    }
    // A C program's start: the loader's mmaps and mprotects.
    compare_with_strace(&["/bin/true"]);
    // A program that mallocs big blocks: dd's 4 MiB buffer.
    compare_with_strace(&[
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=4M",
        "count=2",
        "status=none",
    ]);
    // A program that forks and execs another (two processes).
    compare_with_strace(&["sh", "-c", "ls / >/dev/null; true"]);
    // A Rust program (with a helper thread) that mallocs, frees and mallocs again.
    compare_with_strace(&[MMLAB, "trace", "--workload", "malloc-twice:1m"]);
}

#[test]
fn json_has_decoded_arguments_and_lines_are_printed() {
    if !ptrace_allowed() {
        return;
    }
    let folder = tempfile::tempdir().expect("temporary folder");
    let json = folder.path().join("true.json");
    let output = mmlab(&["trace", "--json", json.to_str().unwrap(), "--", "/bin/true"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("PROT_READ|PROT_EXEC"), "{stderr}");
    assert!(
        stderr.contains("% time") && stderr.contains("mmap"),
        "no summary: {stderr}"
    );
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(value["exit_status"], 0);
    let records = value["records"].as_array().unwrap();
    let code_map = records
        .iter()
        .find(|r| {
            r["syscall"] == "mmap"
                && r["args"]["prot"] == "PROT_READ|PROT_EXEC"
                && r["args"]["fd_path"]
                    .as_str()
                    .is_some_and(|p| p.contains("libc.so"))
        })
        .unwrap_or_else(|| panic!("no code mapping of libc in {records:?}"));
    assert!(
        code_map["args"]["flags"]
            .as_str()
            .unwrap()
            .contains("MAP_PRIVATE")
    );
    assert!(code_map["args"]["len_bytes"].as_u64().unwrap() > 0);
    let opened = records
        .iter()
        .find(|r| r["syscall"] == "openat" && r["errno"].is_null())
        .expect("an openat");
    assert!(opened["args"]["path"].is_string());
    let summary = value["summary"].as_array().unwrap();
    let mmap_row = summary.iter().find(|r| r["syscall"] == "mmap").unwrap();
    assert_eq!(
        mmap_row["calls"].as_u64().unwrap() as usize,
        records.iter().filter(|r| r["syscall"] == "mmap").count()
    );
}

#[test]
fn exit_status_and_signal_pass_through() {
    if !ptrace_allowed() {
        return;
    }
    let check = |script: &str, status: i32, says: &str| {
        let output = mmlab(&["trace", "-c", "--", "sh", "-c", script]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{script}: {stderr}");
        assert!(stderr.contains(says), "{script}: {stderr}");
    };
    check("exit 7", 7, "exited with status 7");
    check("exit 0", 0, "exited with status 0");
    check("kill -SEGV $$", 128 + 11, "killed by SIGSEGV");
    check("kill -TERM $$", 128 + 15, "killed by SIGTERM");
    // A signal the command handles is delivered to it, not swallowed.
    check(
        "trap 'exit 3' USR1; kill -USR1 $$; sleep 1",
        3,
        "exited with status 3",
    );
}

#[test]
fn a_command_that_cannot_start_is_one_line_and_status_2() {
    for command in ["/nonexistent/program", "no-such-command-mmlab-test", "/etc"] {
        let output = mmlab(&["trace", "--", command]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("mmlab:")).collect();
        assert_eq!(lines.len(), 1, "{command}: {stderr}");
        assert!(
            lines[0].contains("cannot start") && lines[0].contains(command),
            "{stderr}"
        );
    }
    let output = mmlab(&["trace", "-e", "mmap,nosuchcall", "--", "/bin/true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("nosuchcall"));
}

/// The state letter of /proc/PID/stat (`t` = stopped by a tracer), or
/// `None` once the process is gone.
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Starts `mmlab trace -- sleep 30` in its own process group, waits for
/// the traced sleep to be running, sends SIGINT to `target(mmlab pid)`, and
/// checks that mmlab ends and the sleep is gone, never left stopped.
fn interrupt_trace(signal_group: bool) {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(MMLAB)
        .args(["trace", "--", "sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("mmlab starts");
    let mmlab_pid = child.id() as i32;
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    // The first call line names the traced pid; sleep's start-up ends in a
    // close of the locale files or libc: wait for a few lines, then a bit.
    let mut sleep_pid = None;
    for line in lines.by_ref().map_while(Result::ok).take(12) {
        if let Some(rest) = line.strip_prefix("[pid") {
            sleep_pid = rest
                .split(']')
                .next()
                .and_then(|p| p.trim().parse::<i32>().ok());
        }
    }
    let sleep_pid = sleep_pid.expect("a traced call line");
    std::thread::sleep(Duration::from_millis(300));
    let target = if signal_group { -mmlab_pid } else { mmlab_pid };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(target),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("SIGINT sent");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().expect("mmlab ends");
    assert_eq!(
        status.code(),
        Some(130),
        "mmlab after SIGINT: {}",
        rest.join("\n")
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match process_state(sleep_pid) {
            None | Some('Z') | Some('X') => break,
            Some(state) => {
                assert!(state != 't', "sleep {sleep_pid} left stopped under ptrace");
                assert!(
                    Instant::now() < deadline,
                    "sleep {sleep_pid} still alive (state {state}) after Ctrl-C"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn ctrl_c_ends_the_trace_and_the_command_together() {
    if !ptrace_allowed() {
        return;
    }
    // As a terminal does it: SIGINT to the whole foreground group.
    interrupt_trace(true);
    // Only the tracer: it must take its tracee with it.
    interrupt_trace(false);
}

#[test]
fn who_calls_mmap_quick_run_gives_computed_verdicts() {
    if !ptrace_allowed() {
        return;
    }
    let folder = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temporary folder");
    let out = folder.path().join("out");
    let data = folder.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let output = mmlab(&[
        "run",
        "who-calls-mmap",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("who-calls-mmap.json")).unwrap())
            .unwrap();
    assert_eq!(
        std::fs::read_dir(&data).unwrap().count(),
        0,
        "the data folder is left empty"
    );
    let claims = result["claims"].as_array().unwrap();
    let ids: Vec<&str> = claims.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["S1", "S2", "S5", "S11"]);
    for claim in claims {
        assert_ne!(claim["verdict"], "not-measured", "{claim}");
        assert!(claim["evidence"].as_str().unwrap().len() > 40, "{claim}");
    }
    // The threshold was found by measurement, and the sweep agrees with it.
    let threshold = result["malloc_threshold"]["first_mmap_size_bytes"]
        .as_u64()
        .expect("a threshold");
    assert_eq!(
        result["malloc_threshold"]["last_heap_size_bytes"]
            .as_u64()
            .unwrap()
            + 1,
        threshold
    );
    for row in result["malloc_sweep"].as_array().unwrap() {
        if row["syscall"] == "mmap" {
            let size = row["alloc_size_bytes"].as_u64().unwrap();
            let expected = u64::from(size >= threshold);
            assert_eq!(row["n_calls"].as_u64().unwrap(), expected, "{row}");
        }
    }
    // Every case lists its decoded calls; mmap's one call maps the file.
    let cases = result["cases"].as_array().unwrap();
    let mmap_case = cases.iter().find(|c| c["case"] == "mmap").unwrap();
    let map = mmap_case["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["syscall"] == "mmap")
        .expect("the file mapping");
    assert_eq!(map["args"]["flags"], "MAP_SHARED");
    assert!(
        map["args"]["fd_path"]
            .as_str()
            .unwrap()
            .ends_with("data.bin")
    );
    assert_eq!(
        map["args"]["len_bytes"],
        result["params"]["file_size_bytes"]
    );
    // Figures are declared, the watch cost has every mode.
    let figures: Vec<&str> = result["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        figures,
        ["calls-per-case", "malloc-threshold", "watch-cost"]
    );
    let modes: Vec<&str> = result["watch_cost"]["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    for mode in [
        "untraced",
        "child-untraced",
        "ptrace-stops-only",
        "ptrace-decoded",
    ] {
        assert!(modes.contains(&mode), "{modes:?}");
    }
}
