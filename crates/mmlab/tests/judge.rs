//! `mmlab judge`: the stored verdicts of the reference run are what the
//! current rules give from the files alone ("same", exit 0); numbers
//! changed in a file change the verdict (exit 1): mmap made ten times slower
//! refutes S14, system calls in later mmap passes refute S5; `--write`
//! stores the new verdicts; a missing folder is bad input (exit 2).

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn mmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .output()
        .expect("mmlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A copy of the committed reference run in a fresh folder.
fn reference_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/reference");
    for entry in std::fs::read_dir(&reference).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

fn edit_samples(dir: &Path, experiment: &str, change: impl Fn(&mut Value)) {
    let path = dir.join(format!("{experiment}.json"));
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for sample in value["samples"].as_array_mut().unwrap() {
        change(sample);
    }
    std::fs::write(&path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

/// The line `mmlab judge` printed for `claim` of `experiment`.
fn line_of<'a>(stdout: &'a str, experiment: &str, claim: &str) -> &'a str {
    stdout
        .split("== ")
        .find(|section| section.starts_with(&format!("{experiment} ")))
        .and_then(|section| {
            section
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{claim} ")))
        })
        .unwrap_or_else(|| panic!("no {claim} of {experiment} in {stdout}"))
}

#[test]
fn the_reference_run_is_judged_the_same_from_its_files() {
    let dir = reference_copy();
    let output = mmlab(&["judge", dir.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        text(&output.stderr)
    );
    assert!(!stdout.contains("CHANGED"), "{stdout}");
    let n_claims = stdout.lines().filter(|l| l.ends_with(" same")).count();
    assert!(n_claims >= 20, "{stdout}");
}

#[test]
fn mmap_ten_times_slower_refutes_s14() {
    let dir = reference_copy();
    edit_samples(dir.path(), "repeated-access", |s| {
        if s["series"] == "mmap-reused" {
            s["gb_per_s"] = json!(s["gb_per_s"].as_f64().unwrap() * 0.1);
        }
    });
    let output = mmlab(&["judge", dir.path().to_str().unwrap()]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let s14 = line_of(&stdout, "repeated-access", "S14");
    assert!(
        s14.contains("judged now refuted") && s14.ends_with("CHANGED"),
        "{s14}"
    );
}

#[test]
fn system_calls_in_later_mmap_passes_refute_s5_and_write_stores_it() {
    let dir = reference_copy();
    edit_samples(dir.path(), "repeated-access", |s| {
        let mmap = s["series"]
            .as_str()
            .is_some_and(|name| name == "mmap-reused" || name.starts_with("mmap-copy"));
        if mmap && s["scenario"] == "warm" && s["pass_index"].as_u64().unwrap_or(0) > 1 {
            s["n_syscalls"] = json!(s["n_syscalls"].as_u64().unwrap_or(0) + 3);
        }
    });
    let dir_text = dir.path().to_str().unwrap();
    let output = mmlab(&["judge", dir_text]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let s5 = line_of(&stdout, "repeated-access", "S5");
    assert!(s5.contains("judged now refuted"), "{s5}");

    let output = mmlab(&["judge", dir_text, "--write"]);
    assert_eq!(output.status.code(), Some(1));
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("repeated-access.json")).unwrap(),
    )
    .unwrap();
    let s5 = stored["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "S5")
        .unwrap();
    assert_eq!(s5["verdict"], "refuted");
    assert!(!s5["rule"].as_str().unwrap().is_empty());
    assert!(s5["thresholds"].is_object());
    // Written: the stored verdicts now agree with the rules.
    let output = mmlab(&["judge", dir_text]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
}

#[test]
fn a_missing_folder_is_bad_input() {
    let output = mmlab(&["judge", "/nonexistent/mmlab-results"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("/nonexistent/mmlab-results"));
}
