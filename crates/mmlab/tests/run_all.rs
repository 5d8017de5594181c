//! The main job end to end, small: `mmlab run all` writes a valid result per
//! registered experiment and leaves no data file behind, and Ctrl-C in the
//! middle of a run leaves no data file behind either (nor, with
//! `--memory-limit`, a memory cgroup).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn mmlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn run_all_writes_a_valid_result_per_experiment_and_no_data_file_stays() {
    let out = tempfile::tempdir_in(".").unwrap();
    let data = tempfile::tempdir_in(".").unwrap();
    let listed = mmlab().arg("list").output().unwrap();
    let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(!ids.is_empty(), "no experiment is registered");
    let output = mmlab()
        .args([
            "run",
            "all",
            "--profile",
            "quick",
            "--repeat",
            "2",
            "--size",
            "16m",
            "--quiet",
            "--out",
        ])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for id in &ids {
        let path = out.path().join(format!("{id}.json"));
        let result = mmlab_core::io::read_result(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&result.experiment, id);
        assert!(!result.claims.is_empty(), "{id} gives no verdict");
        for claim in &result.claims {
            assert!(
                mmlab_core::claim_info(&claim.id).is_some(),
                "{id}: unknown claim {}",
                claim.id
            );
            assert!(!claim.evidence.is_empty(), "{id} {}: no evidence", claim.id);
        }
        assert!(out.path().join(format!("{id}.csv")).exists());
    }
    assert!(
        entries(data.path()).is_empty(),
        "left in the data folder: {:?}",
        entries(data.path())
    );
}

#[test]
fn a_run_interrupted_with_sigint_leaves_no_data_files() {
    let out = tempfile::tempdir_in(".").unwrap();
    let data = tempfile::tempdir_in(".").unwrap();
    // lazy-loading makes a data file early and works on it for seconds.
    let mut child = mmlab()
        .args(["run", "lazy-loading", "--quiet", "--out"])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut saw_data_file = false;
    while started.elapsed() < Duration::from_secs(60) {
        let has_file = entries(data.path())
            .iter()
            .any(|run| !entries(&data.path().join(run)).is_empty());
        if has_file {
            saw_data_file = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(saw_data_file, "the run made no data file to interrupt");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        entries(data.path()).is_empty(),
        "left behind: {:?}",
        entries(data.path())
    );
    assert!(
        !out.path().join("lazy-loading.json").exists(),
        "an interrupted run writes no result"
    );
}

/// `--memory-limit` interrupted while a child is inside the memory cgroup:
/// SIGTERM to mmlab alone (the child in the cgroup gets nothing) still ends
/// with status 143 (128 + SIGTERM), the cgroup removed (its child killed first) and no data
/// file left. Skipped, with the reason, where no memory cgroup can be made.
#[test]
fn a_memory_limited_run_interrupted_leaves_no_cgroup_and_no_data_files() {
    let parent = match mmlab_core::cgroup::where_a_child_could_be_made() {
        Ok(place) => std::path::PathBuf::from(place.splitn(3, ' ').nth(2).unwrap()),
        Err(reason) => {
            mmlab_core::testing::skip(
                mmlab_core::testing::Capability::MemoryCgroup,
                "an interrupted memory-limited run",
                reason,
            );
            return;
        }
    };
    let out = tempfile::tempdir_in(".").unwrap();
    let data = tempfile::tempdir_in(".").unwrap();
    let mut child = mmlab()
        .args([
            "run",
            "repeated-access",
            "--quiet",
            "--size",
            "64m",
            "--repeat",
            "1",
            "--memory-limit",
            "16m",
            "--out",
        ])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let prefix = format!("mmlab-{}-", child.id());
    let ours = || -> Vec<std::path::PathBuf> {
        entries(&parent)
            .into_iter()
            .filter(|name| name.starts_with(&prefix))
            .map(|name| parent.join(name))
            .collect()
    };
    let started = Instant::now();
    let mut occupied = None;
    while started.elapsed() < Duration::from_secs(120) && occupied.is_none() {
        occupied = ours().into_iter().find(|cgroup| {
            std::fs::read_to_string(cgroup.join("cgroup.procs"))
                .is_ok_and(|procs| !procs.trim().is_empty())
        });
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let cgroup = occupied.expect("a child ran inside the memory cgroup");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!cgroup.exists(), "{} is removed", cgroup.display());
    assert!(ours().is_empty(), "left behind: {:?}", ours());
    assert!(
        entries(data.path()).is_empty(),
        "left behind: {:?}",
        entries(data.path())
    );
}

/// Starts `mmlab run EXPERIMENT --quiet` with fresh out and data folders.
fn start(
    experiment: &str,
    extra: &[&str],
) -> (tempfile::TempDir, tempfile::TempDir, std::process::Child) {
    let out = tempfile::tempdir_in(".").unwrap();
    let data = tempfile::tempdir_in(".").unwrap();
    let child = mmlab()
        .args(["run", experiment, "--quiet", "--out"])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (out, data, child)
}

/// Waits (at most a minute) until `ready` holds or the child ended.
fn wait_for(child: &mut std::process::Child, ready: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

fn signal(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
}

/// The number of files in lazy-loading's metadata tree, while it exists.
fn files_in_metadata_tree(data: &Path) -> usize {
    entries(data)
        .iter()
        .flat_map(|run| {
            let run = data.join(run);
            entries(&run)
                .into_iter()
                .filter(|name| name.starts_with("tree-"))
                .map(move |tree| run.join(tree))
        })
        .flat_map(|tree| entries(&tree).into_iter().map(move |d| tree.join(d)))
        .map(|dir| entries(&dir).len())
        .sum()
}

/// Ctrl-C while lazy-loading creates its tree of small metadata files (the
/// moment a cleanup used to race the work and leave the folder behind while
/// saying "nothing left behind"), at several points of that step: the data
/// folder is gone every time, and the message says so only then.
#[test]
fn sigint_inside_the_metadata_step_leaves_nothing_and_says_so_truthfully() {
    for after_files in [1, 500, 2000, 5000] {
        let (_out, data, mut child) = start("lazy-loading", &["--repeat", "1"]);
        let inside = wait_for(&mut child, || {
            files_in_metadata_tree(data.path()) >= after_files
        });
        assert!(inside, "the run never reached {after_files} metadata files");
        signal(&child, nix::sys::signal::Signal::SIGINT);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{stderr}");
        let left = entries(data.path());
        assert!(
            left.is_empty(),
            "after {after_files} files, left behind: {left:?}"
        );
        assert!(
            stderr.contains("interrupted by SIGINT") && stderr.contains("nothing left behind"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("mmlab: "),
            "no error besides the interruption: {stderr}"
        );
    }
}

/// SIGTERM ends a run with 143 (128 + 15), SIGHUP with 129, each cleaned up.
#[test]
fn sigterm_and_sighup_exit_with_128_plus_the_signal() {
    for (sig, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGHUP, 129),
    ] {
        let (_out, data, mut child) = start("copy-on-write", &["--repeat", "1"]);
        let data_path = data.path().to_path_buf();
        assert!(wait_for(&mut child, || entries(&data_path)
            .iter()
            .any(|run| !entries(&data_path.join(run)).is_empty())));
        signal(&child, sig);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{sig}: {stderr}");
        assert!(
            entries(data.path()).is_empty(),
            "{sig}: {:?}",
            entries(data.path())
        );
        assert!(
            stderr.contains(&format!("interrupted by {sig}")),
            "{stderr}"
        );
    }
}

/// A run killed with SIGKILL cannot clean up: its data folder stays. The
/// next run in the same data folder removes it and says so in one line,
/// and leaves the folder of a live process (its pid in the name) alone.
#[test]
fn after_a_sigkill_the_next_run_removes_the_leftovers_and_says_so() {
    let (out, data, mut child) = start("lazy-loading", &["--repeat", "1"]);
    let data_path = data.path().to_path_buf();
    assert!(wait_for(&mut child, || entries(&data_path)
        .iter()
        .any(|run| !entries(&data_path.join(run)).is_empty())));
    signal(&child, nix::sys::signal::Signal::SIGKILL);
    child.wait().unwrap();
    let left = entries(data.path());
    assert_eq!(left.len(), 1, "SIGKILL leaves the data folder: {left:?}");
    // A folder named for a live process (this test) must survive.
    let live = data.path().join(format!("mmlab-{}-1", std::process::id()));
    std::fs::create_dir(&live).unwrap();

    let output = mmlab()
        .args(["run", "prot-flags", "--quiet", "--out"])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("earlier mmlab runs that were killed"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains(&left[0]), "{stderr}");
    assert_eq!(
        entries(data.path()),
        [live.file_name().unwrap().to_string_lossy()]
    );
    std::fs::remove_dir(&live).unwrap();
}
