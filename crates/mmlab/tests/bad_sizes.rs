//! Sizes the machine cannot give are bad input, refused before anything
//! starts: a `--memory-limit` above the machine's memory (MemTotal) and a
//! `--size` above the free space of the data folder's filesystem, each in
//! one line naming the flag and both sizes, with exit status 2. An `--out`
//! folder made for a run that then fails a check is removed again; one that
//! existed before is kept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .output()
        .expect("mmlab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder of this test under the target folder (a disk, not /tmp).
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("bad_sizes-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// Exit status 2 and one line on stderr that holds every one of `names`.
fn assert_bad_input(output: &Output, names: &[&str]) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    for name in names {
        assert!(stderr.contains(name), "{stderr:?} should name {name:?}");
    }
}

fn mem_total_bytes() -> u64 {
    mmlab_core::fingerprint::meminfo_kib("MemTotal").expect("MemTotal in /proc/meminfo") * 1024
}

#[test]
fn a_memory_limit_above_the_machine_s_memory_is_bad_input() {
    let base = temp_dir("memory-limit");
    let out = base.join("out");
    let output = mmlab(&[
        "run",
        "repeated-access",
        "--memory-limit",
        "100t",
        "--out",
        out.to_str().unwrap(),
    ]);
    let total = mmlab_core::format_size(mem_total_bytes());
    assert_bad_input(
        &output,
        &[
            "--memory-limit 100 TiB: larger than this machine's memory",
            &total,
            "MemTotal",
        ],
    );
    assert!(!out.exists(), "refused before --out was made");
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn a_size_above_the_free_space_of_the_data_folder_is_bad_input() {
    let base = temp_dir("size");
    let data = base.join("data");
    std::fs::create_dir(&data).unwrap();
    let out = base.join("fresh").join("out");
    let output = mmlab(&[
        "run",
        "copy-on-write",
        "--size",
        "100t",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_bad_input(
        &output,
        &[
            "--size 100 TiB: larger than the free space of the data folder",
            data.to_str().unwrap(),
            "free on its filesystem",
        ],
    );
    // The free size itself: a number with a unit before "free".
    let stderr = text(&output.stderr);
    let before_free = stderr.split(" free on its filesystem").next().unwrap();
    let free = before_free.rsplit(", ").next().unwrap();
    let (number, unit) = free.split_once(' ').unwrap_or((free, ""));
    assert!(
        number.parse::<f64>().is_ok() && unit.ends_with('B'),
        "{free:?} in {stderr:?} is a size"
    );
    // Both folders the run made for --out are gone, the data folder stays.
    assert!(!out.exists(), "{} removed again", out.display());
    assert!(!base.join("fresh").exists(), "its fresh parent too");
    assert!(data.is_dir());
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn a_fresh_out_folder_goes_when_a_check_fails_and_an_old_one_stays() {
    let base = temp_dir("out");
    let fresh = base.join("fresh");
    let output = mmlab(&[
        "run",
        "copy-on-write",
        "--data-dir",
        "/no/such/folder",
        "--out",
        fresh.to_str().unwrap(),
    ]);
    assert_bad_input(&output, &["--data-dir /no/such/folder"]);
    assert!(!fresh.exists(), "{} removed again", fresh.display());

    // A folder that existed before the run is never removed, empty or not.
    let old = base.join("old");
    std::fs::create_dir(&old).unwrap();
    let output = mmlab(&[
        "run",
        "copy-on-write",
        "--size",
        "100t",
        "--out",
        old.to_str().unwrap(),
    ]);
    assert_bad_input(&output, &["--size 100 TiB"]);
    assert!(old.is_dir(), "{} was there before: kept", old.display());
    let _ = std::fs::remove_dir_all(base);
}
