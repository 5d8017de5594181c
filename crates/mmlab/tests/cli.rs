//! The mmlab command as a user meets it: help for every subcommand, bad
//! input answered in one line with exit status 2, and `env` agreeing with
//! what the machine itself says; a closed stdout (`| head`) ends quietly.

use std::process::{Command, Output};

use mmlab_core::testing::{Capability, skip};

fn mmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .output()
        .expect("mmlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_subcommand_has_help() {
    for subcommand in [
        "list", "env", "run", "stat", "trace", "plot", "report", "compare", "judge", "bundle",
        "class", "kernels",
    ] {
        let output = mmlab(&[subcommand, "--help"]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{subcommand} --help: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stdout).contains("Usage: mmlab"),
            "{subcommand}"
        );
    }
    let output = mmlab(&["--help"]);
    let top = text(&output.stdout);
    for subcommand in ["env", "judge", "bundle", "class", "kernels"] {
        assert!(top.contains(subcommand), "mmlab --help names {subcommand}");
    }
}

/// Bad input: exit 2, and the message names what was wrong.
fn check_bad_input(args: &[&str], names: &str) {
    let output = mmlab(args);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(names),
        "{args:?}: {stderr:?} should name {names:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn bad_input_is_one_clear_line_and_exit_2() {
    check_bad_input(&["run", "no-such-experiment"], "no-such-experiment");
    check_bad_input(&["run", "all", "--size", "12q"], "--size");
    check_bad_input(&["run", "all", "--size", "0"], "--size");
    check_bad_input(&["run", "all", "--repeat", "many"], "--repeat");
    check_bad_input(&["run", "all", "--profile", "huge"], "--profile");
    check_bad_input(
        &["run", "all", "--out", "/proc/version/results"],
        "--out /proc/version/results",
    );
    check_bad_input(
        &["run", "all", "--data-dir", "/no/such/folder"],
        "--data-dir /no/such/folder",
    );
    check_bad_input(
        &["run", "prot-flags", "--memory-limit", "64m"],
        "--memory-limit: prot-flags does not use a memory limit; only repeated-access does",
    );
    check_bad_input(
        &["run", "repeated-access", "--memory-limit", "1m"],
        "--memory-limit 1 MiB: too small",
    );
    check_bad_input(&["run", "all", "--memory-limit", "lots"], "--memory-limit");
    check_bad_input(&["frobnicate"], "frobnicate");
    let output = mmlab(&["run", "no-such-experiment"]);
    assert_eq!(
        text(&output.stderr).trim().lines().count(),
        1,
        "one line: {}",
        text(&output.stderr)
    );
}

#[test]
fn env_agrees_with_the_machine() {
    let output = mmlab(&["env", "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let fingerprint = &json["fingerprint"];
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    if let (Some(start), Some(end)) = (thp.find('['), thp.find(']')) {
        assert_eq!(fingerprint["thp_enabled"], thp[start + 1..end]);
    }
    assert_eq!(fingerprint["is_root"], nix::unistd::geteuid().is_root());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert_eq!(
        fingerprint["tracefs"].is_null(),
        !mounts
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some("tracefs"))
    );
    // The PMU answer must match perf's own view where perf can tell:
    // a count means a PMU, `<not supported>` means none; anything else
    // (not permitted, perf failing, an unknown output format) decides
    // nothing and is a visible skip.
    match perf_pmu_view() {
        Ok(supported) => assert_eq!(fingerprint["pmu"], supported, "perf's view: {supported}"),
        Err(reason) => skip(Capability::Perf, "the PMU cross-check", reason),
    }
    let capabilities = json["capabilities"].as_array().unwrap();
    for capability in capabilities {
        if capability["available"] == false {
            assert!(
                !capability["remedy"].as_str().unwrap().is_empty(),
                "{capability}"
            );
        }
    }
    let table = text(&mmlab(&["env"]).stdout);
    assert!(
        table.contains("capabilities") && table.contains("hardware PMU"),
        "{table}"
    );
}

/// `mmlab list | head -1`: when the reader of stdout has gone, mmlab ends
/// like a program killed by SIGPIPE (status 141) without a panic message.
#[test]
fn a_closed_stdout_ends_quietly_with_status_141() {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    drop(read_end); // the reader is gone before mmlab writes anything
    let output = Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .arg("list")
        .stdout(std::process::Stdio::from(write_end))
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("mmlab runs");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// Whether `perf stat -x, -e instructions true` counted (a PMU) or said
/// `<not supported>` (none); why not, when it said neither.
fn perf_pmu_view() -> Result<bool, String> {
    let perf = Command::new("perf")
        .args(["stat", "-x,", "-e", "instructions", "true"])
        .output()
        .map_err(|e| format!("perf not runnable: {e}"))?;
    let stderr = text(&perf.stderr);
    let row = stderr
        .lines()
        .find(|l| l.contains("instructions"))
        .ok_or_else(|| format!("perf stat printed no instructions row: {}", stderr.trim()))?;
    let value = row.split(',').next().unwrap_or_default();
    if value.parse::<u64>().is_ok() {
        Ok(true)
    } else if value == "<not supported>" {
        Ok(false)
    } else {
        Err(format!("perf stat could not tell ({row})"))
    }
}
