//! `--data-dir` on tmpfs: nothing can be evicted there (POSIX_FADV_DONTNEED
//! drops nothing, a file's pages are the file), so every part of a claim
//! that needs eviction must say `not-measured`, naming tmpfs and the remedy,
//! and no claim may be `refuted` for want of eviction.
//!
//! As root, each test runs the real `mmlab` binary in a private mount
//! namespace (unshare(CLONE_NEWNS) in the child, between fork and exec) with
//! a tmpfs mounted on a fresh folder: the mount exists only for that child
//! and disappears with it, so nothing stays mounted. The result files are
//! written outside the mount and read back as JSON.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use mmlab_core::datafile::DISK_DATA_DIR;
use mmlab_core::testing::{Capability, skip};
use serde_json::Value;

/// A fresh folder of this test under the target folder (a disk, not /tmp).
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmpfs-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test folder");
    dir
}

/// Runs `mmlab run <experiment> --data-dir <tmpfs> --out <out> ARGS` with a
/// tmpfs on `mount_point` in the child's own mount namespace, and returns
/// the result file as JSON; `None` (after reporting the skip) where this
/// machine cannot mount one.
fn run_on_tmpfs(experiment: &str, extra: &[&str]) -> Option<Value> {
    let what = format!("{experiment} with --data-dir on tmpfs");
    if !mmlab_core::fingerprint::is_root() {
        skip(
            Capability::Root,
            &what,
            "mounting a tmpfs (in a private mount namespace) needs root",
        );
        return None;
    }
    let base = temp_dir(experiment);
    let mount_point = base.join("tmpfs");
    let out = base.join("out");
    std::fs::create_dir(&mount_point).unwrap();
    let target = CString::new(mount_point.as_os_str().as_bytes()).unwrap();
    let (root, tmpfs, options) = (c"/", c"tmpfs", c"size=256m");
    let mut command = Command::new(env!("CARGO_BIN_EXE_mmlab"));
    command
        .args(["run", experiment, "--data-dir"])
        .arg(&mount_point)
        .arg("--out")
        .arg(&out)
        .args(["--repeat", "1", "--quiet"])
        .args(extra);
    // SAFETY: between fork and exec the closure makes three system calls on
    // C strings made before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            // A namespace of its own, made private so that the mount below
            // never propagates back to this process's namespace.
            if libc::unshare(libc::CLONE_NEWNS) != 0
                || libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) != 0
                || libc::mount(
                    tmpfs.as_ptr(),
                    target.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    options.as_ptr().cast(),
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(e) => {
            skip(
                Capability::Root,
                &what,
                format!("cannot mount a tmpfs in a private mount namespace: {e}"),
            );
            return None;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{experiment} on tmpfs: {stdout}{stderr}"
    );
    // The mount lived in the child's namespace only.
    assert_eq!(
        std::fs::read_dir(&mount_point).unwrap().count(),
        0,
        "nothing of the tmpfs is seen here"
    );
    let path = out.join(format!("{experiment}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{stdout}{stderr}", path.display()));
    let result: Value = serde_json::from_str(&text).unwrap();
    let _ = std::fs::remove_dir_all(&base);
    assert_eq!(
        result["env"]["data_dir_fs"], "tmpfs",
        "the fingerprint sees the data folder on tmpfs"
    );
    Some(result)
}

/// (verdict, evidence) of claim `id`.
fn claim<'a>(result: &'a Value, id: &str) -> (&'a str, &'a str) {
    let claim = result["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("claim {id} in {:#}", result["claims"]));
    (
        claim["verdict"].as_str().unwrap(),
        claim["evidence"].as_str().unwrap(),
    )
}

/// No claim is refuted; every warning about eviction names tmpfs and gives
/// the remedy of a disk filesystem.
fn assert_nothing_refuted_and_warnings_name_tmpfs(result: &Value) {
    for c in result["claims"].as_array().unwrap() {
        assert_ne!(c["verdict"], "refuted", "on tmpfs: {c:#}");
    }
    let evictions: Vec<&Value> = result["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "eviction-incomplete")
        .collect();
    assert!(!evictions.is_empty(), "{:#}", result["warnings"]);
    for w in evictions {
        assert!(w["message"].as_str().unwrap().contains("tmpfs"), "{w:#}");
        assert_eq!(w["remedy"], DISK_DATA_DIR, "{w:#}");
    }
}

#[test]
fn copy_on_write_on_tmpfs_leaves_the_memory_split_not_measured() {
    let Some(result) = run_on_tmpfs("copy-on-write", &["--size", "4m"]) else {
        return;
    };
    assert_nothing_refuted_and_warnings_name_tmpfs(&result);
    // S4: the frames (readable as root) decide; the memory split, which
    // needs a cold file, is not measured and says why.
    let (verdict, evidence) = claim(&result, "S4");
    assert_eq!(verdict, "holds-with-nuance", "{evidence}");
    for needle in [
        "memory split (page cache against anonymous memory) was not measured",
        "is on tmpfs",
        DISK_DATA_DIR,
    ] {
        assert!(
            evidence.contains(needle),
            "S4 should say {needle:?}: {evidence}"
        );
    }
    assert!(!evidence.contains("of page cache +"), "{evidence}");
    // S9: the on-disk check needs eviction too.
    let (verdict, evidence) = claim(&result, "S9");
    assert_eq!(verdict, "holds-with-nuance", "{evidence}");
    assert!(
        evidence.contains("on disk: not checked") && evidence.contains("is on tmpfs"),
        "{evidence}"
    );
}

#[test]
fn repeated_access_on_tmpfs_leaves_every_evicted_scenario_not_measured() {
    // With a memory cgroup, the memory-limit scenario runs too (its first
    // pass needs an evicted file as well).
    let limit = mmlab_core::cgroup::where_a_child_could_be_made().is_ok();
    let mut extra = vec!["--size", "4m"];
    if limit {
        extra.extend(["--memory-limit", "16m"]);
    }
    let Some(result) = run_on_tmpfs("repeated-access", &extra) else {
        return;
    };
    assert_nothing_refuted_and_warnings_name_tmpfs(&result);
    let (verdict, evidence) = claim(&result, "S13");
    assert_eq!(verdict, "not-measured", "{evidence}");
    assert!(
        evidence.contains("could not be evicted")
            && evidence.contains("is on tmpfs")
            && evidence.contains(DISK_DATA_DIR),
        "{evidence}"
    );
    // S14 is decided by the warm passes, which tmpfs does not spoil; its
    // evicted parts say they were not measured instead of giving speeds.
    let (_, evidence) = claim(&result, "S14");
    assert!(
        evidence.contains(
            "the evict-every-pass scenario (page cache too small, simulated) was not measured"
        ) && evidence.contains("is on tmpfs"),
        "{evidence}"
    );
    assert!(
        !evidence.contains("with the file evicted before every pass"),
        "{evidence}"
    );
    if limit {
        assert!(
            evidence.contains(
                "the memory-limit scenario (a memory cgroup limited to 16 MiB) was not measured"
            ),
            "{evidence}"
        );
        assert!(
            !evidence.contains("a real page cache too small"),
            "{evidence}"
        );
    }
}
