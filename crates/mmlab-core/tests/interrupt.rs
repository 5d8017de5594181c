//! Ctrl-C leaves nothing behind: a process holding a data file is sent
//! SIGINT, and its data folder is gone when it has exited.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn a_run_interrupted_with_sigint_leaves_no_data_files() {
    // The example is built by `cargo test` next to this test's deps folder.
    let exe = std::env::current_exe().unwrap();
    let examples = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("hold_data_file");
    assert!(examples.exists(), "missing {}", examples.display());
    let base = tempfile::tempdir_in(".").unwrap();
    let mut child = Command::new(&examples)
        .arg(base.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("ready "), "{line:?}");
    let held = std::path::PathBuf::from(line.trim_start_matches("ready ").trim());
    assert!(held.exists());
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    assert!(!held.exists());
    let left: Vec<_> = std::fs::read_dir(base.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
