//! `mmlab run filesystems` on the machine as it is: interrupted with SIGINT
//! or SIGTERM at several moments it leaves no mount, no loop device and no
//! file; without loop devices, or as a user who is not root, it completes
//! with S3 not-measured and the reason.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mmlab_core::scratch::{FsKind, attached_loop_devices, availability};
use mmlab_core::testing::{Capability, skip};

fn mmlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
}

fn everything_under(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            found.push(path.clone());
            if path.is_dir() {
                found.extend(walk(&path));
            }
        }
    }
    found
}

/// Loop devices whose backing file lies under `dir`.
fn loops_under(dir: &Path) -> Vec<String> {
    attached_loop_devices()
        .into_iter()
        .filter(|(_, backing)| backing.starts_with(dir))
        .map(|(name, backing)| format!("{name} -> {}", backing.display()))
        .collect()
}

fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    mmlab_core::proc::mounts()
        .unwrap()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect()
}

fn settled(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

#[test]
fn interrupted_at_any_moment_it_leaves_no_mount_loop_device_or_file() {
    if let Err(why) = availability(FsKind::Ext4) {
        let capability = if nix::unistd::geteuid().is_root() {
            Capability::Scratch
        } else {
            Capability::Root
        };
        skip(capability, "filesystems interrupted: a scratch ext4", why);
        return;
    }
    let signals = [
        (nix::sys::signal::Signal::SIGINT, 130),
        (nix::sys::signal::Signal::SIGTERM, 143),
    ];
    // Moments: as soon as an image exists (mkfs, attach, mount), and later
    // inside the measurements.
    for (signal, status) in signals {
        for delay_ms in [0u64, 150, 600] {
            let out = tempfile::tempdir_in(".").unwrap();
            let data = tempfile::tempdir_in(".").unwrap();
            let data_path = data.path().canonicalize().unwrap();
            let mut child = mmlab()
                .args([
                    "run",
                    "filesystems",
                    "--quiet",
                    "--size",
                    "64m",
                    "--repeat",
                    "3",
                ])
                .args(["--filesystems", "ext4,xfs,btrfs"])
                .arg("--out")
                .arg(out.path())
                .arg("--data-dir")
                .arg(data.path())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let started = Instant::now();
            let mut saw_image = false;
            while started.elapsed() < Duration::from_secs(60) {
                if everything_under(&data_path)
                    .iter()
                    .any(|p| p.extension().is_some_and(|e| e == "img"))
                {
                    saw_image = true;
                    break;
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            assert!(saw_image, "the run made no image to interrupt");
            std::thread::sleep(Duration::from_millis(delay_ms));
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if output.status.code() == Some(0) {
                // It finished before the signal came: nothing to check but
                // that nothing stays.
                assert!(delay_ms > 0, "{stderr}");
            } else {
                assert_eq!(output.status.code(), Some(status), "{signal}: {stderr}");
                assert!(stderr.contains("nothing left behind"), "{stderr}");
            }
            assert!(
                settled(|| loops_under(&data_path).is_empty()),
                "{signal} after {delay_ms} ms: loop devices left: {:?}",
                loops_under(&data_path)
            );
            assert!(mounts_under(&data_path).is_empty(), "{signal}: mounts left");
            assert!(
                everything_under(&data_path).is_empty(),
                "{signal} after {delay_ms} ms: left {:?}",
                everything_under(&data_path)
            );
        }
    }
}

/// The verdict the run wrote for S3, and its evidence.
fn s3_of(out: &Path) -> (String, String) {
    let text = std::fs::read_to_string(out.join("filesystems.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let claim = &value["claims"][0];
    (
        claim["verdict"].as_str().unwrap().to_string(),
        claim["evidence"].as_str().unwrap().to_string(),
    )
}

#[test]
fn without_loop_devices_it_completes_with_s3_not_measured_and_why() {
    if !nix::unistd::geteuid().is_root() {
        skip(
            Capability::Root,
            "filesystems without loop devices",
            "hiding /dev needs root",
        );
        return;
    }
    let out = tempfile::tempdir_in(".").unwrap();
    let data = tempfile::tempdir_in(".").unwrap();
    let binary = env!("CARGO_BIN_EXE_mmlab");
    // A private mount namespace (unshare's default propagation is private)
    // whose /dev is an empty tmpfs: no /dev/loop-control, as in a container.
    let status = Command::new("unshare")
        .args(["--mount", "sh", "-c"])
        .arg(
            "mount -t tmpfs none /dev && exec \"$0\" run filesystems --quiet --filesystems ext4,tmpfs --out \"$1\" --data-dir \"$2\"",
        )
        .arg(binary)
        .arg(out.path())
        .arg(data.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let (verdict, evidence) = s3_of(out.path());
    assert_eq!(verdict, "not-measured", "{evidence}");
    assert!(evidence.contains("no /dev/loop-control"), "{evidence}");
    assert!(everything_under(data.path()).is_empty());
}

#[test]
fn as_a_user_who_is_not_root_it_completes_with_s3_not_measured_and_why() {
    if !nix::unistd::geteuid().is_root() {
        // Already not root: run as this user.
        let out = tempfile::tempdir().unwrap();
        let status = mmlab()
            .args(["run", "filesystems", "--quiet", "--out"])
            .arg(out.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let (verdict, evidence) = s3_of(out.path());
        assert_eq!(verdict, "not-measured", "{evidence}");
        assert!(evidence.contains("needs root"), "{evidence}");
        return;
    }
    // As root: a child that drops to nobody (65534) before exec, in
    // folders it may write.
    let out = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    for dir in [out.path(), data.path()] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    }
    let mut command = mmlab();
    command
        .args(["run", "filesystems", "--quiet", "--out"])
        .arg(out.path())
        .arg("--data-dir")
        .arg(data.path())
        .current_dir(data.path())
        .stdout(Stdio::null());
    // SAFETY: setgroups/setgid/setuid between fork and exec, no allocation.
    unsafe {
        command.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(65534) != 0
                || libc::setuid(65534) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let status = command.status().unwrap();
    assert!(status.success());
    let (verdict, evidence) = s3_of(out.path());
    assert_eq!(verdict, "not-measured", "{evidence}");
    assert!(evidence.contains("needs root"), "{evidence}");
}
