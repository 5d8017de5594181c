//! Scratch filesystems: made, used and gone, never visible in this
//! process's mount namespace, no loop device left attached, no image left;
//! after SIGKILL only the image stays, and the next run's leftover sweep
//! removes it. Every kind this machine can make is covered; a kind it
//! cannot make is a visible skip naming why.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mmlab_core::DataDir;
use mmlab_core::scratch::{FsKind, ScratchFs, attached_loop_devices, availability};
use mmlab_core::testing::{Capability, skip};

/// Whether any mount of this process's namespace lies at or under `path`.
fn mounted_under(path: &Path) -> bool {
    let mounts = mmlab_core::proc::mounts().expect("mountinfo");
    mounts.into_iter().any(|m| m.mount_point.starts_with(path))
}

fn loop_devices_backed_by(image: &Path) -> Vec<String> {
    attached_loop_devices()
        .into_iter()
        .filter(|(_, backing)| backing == image || backing.starts_with(image))
        .map(|(name, _)| name)
        .collect()
}

/// Waits up to two seconds for `done`, which autoclear and namespace ends
/// make true asynchronously.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Makes `kind` under a fresh folder, or skips visibly with the reason.
fn scratch_or_skip(test: &str, kind: FsKind, dir: &Path) -> Option<ScratchFs> {
    if let Err(why) = availability(kind) {
        let capability = if nix::unistd::geteuid().is_root() {
            Capability::Scratch
        } else {
            Capability::Root
        };
        skip(capability, &format!("{test}: a scratch {kind}"), &why);
        return None;
    }
    Some(ScratchFs::create(kind, dir, 64 << 20).unwrap_or_else(|e| panic!("scratch {kind}: {e}")))
}

#[test]
fn every_kind_is_made_used_and_gone_without_a_trace_here() {
    for kind in FsKind::ALL {
        let base = tempfile::tempdir().unwrap();
        let Some(mut fs) = scratch_or_skip("scratch::every_kind", kind, base.path()) else {
            continue;
        };
        let root = fs.root();
        let mount_point = base.path().canonicalize().unwrap();
        // Files written there are there, and nothing is mounted here.
        let file = root.join("data.bin");
        let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), bytes, "{kind}");
        assert!(!mounted_under(&mount_point), "{kind} is visible here");
        let statfs = nix::sys::statfs::statfs(&root).unwrap();
        if kind == FsKind::Tmpfs {
            assert_eq!(
                statfs.filesystem_type(),
                nix::sys::statfs::TMPFS_MAGIC,
                "{kind}"
            );
            assert!(fs.make_cold().is_err(), "tmpfs cannot be made cold");
        } else {
            let image = fs.image().unwrap().to_path_buf();
            assert_eq!(loop_devices_backed_by(&image).len(), 1, "{kind}");
            // What the image holds is what was written (FIEMAP + O_DIRECT).
            assert_eq!(
                fs.stored_bytes(&file).unwrap(),
                bytes,
                "{kind}: stored bytes"
            );
            // Read it, then make the filesystem cold: none of its pages
            // can be cached after a fresh mount.
            let _ = std::fs::read(&file).unwrap();
            fs.make_cold().unwrap();
            let handle = std::fs::File::open(&file).unwrap();
            assert_eq!(
                mmlab_core::pages::file_resident_pages(handle.as_fd()).unwrap(),
                0,
                "{kind}: a cold filesystem caches nothing of the file"
            );
            drop(handle);
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "{kind}: after cold");
            // The device's cache can be counted and flushed.
            fs.device_cached_pages().unwrap();
            fs.flush_device().unwrap();
        }
        let image = fs.image().map(Path::to_path_buf);
        drop(fs);
        assert!(!mounted_under(&mount_point), "{kind}");
        if let Some(image) = image {
            assert!(!image.exists(), "{kind}: the image is removed");
            assert!(
                eventually(|| loop_devices_backed_by(&image).is_empty()),
                "{kind}: the loop device is detached"
            );
        }
        assert!(
            std::fs::read_dir(base.path()).unwrap().next().is_none(),
            "{kind}: nothing is left in the folder"
        );
    }
}

#[test]
fn a_kind_that_cannot_be_made_says_why() {
    assert!(
        FsKind::parse("zfs")
            .unwrap_err()
            .contains("ext4, xfs, btrfs, tmpfs")
    );
    assert_eq!(FsKind::parse(" xfs").unwrap(), FsKind::Xfs);
    for kind in FsKind::ALL {
        if let Err(why) = availability(kind) {
            assert!(!why.is_empty());
            assert!(
                ScratchFs::create(kind, Path::new("/nonexistent"), 1 << 20)
                    .unwrap_err()
                    .contains(&why)
            );
        }
    }
}

const HOLD: &str = "MMLAB_TEST_SCRATCH_HOLD";

/// Not a test of its own: the child of the SIGKILL test. Makes a scratch
/// ext4 in a data folder under $MMLAB_TEST_SCRATCH_HOLD, prints its image
/// path and waits to be killed.
#[test]
#[ignore = "run by after_sigkill_only_the_image_stays_and_the_next_run_removes_it"]
fn hold_a_scratch_filesystem() {
    let Ok(base) = std::env::var(HOLD) else {
        return;
    };
    let dir = DataDir::create(Some(Path::new(&base))).unwrap();
    let fs = ScratchFs::create(FsKind::Ext4, dir.path(), 32 << 20).unwrap();
    std::fs::write(fs.root().join("f"), b"x").unwrap();
    println!("image {}", fs.image().unwrap().display());
    println!("mount {}", dir.path().canonicalize().unwrap().display());
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn after_sigkill_only_the_image_stays_and_the_next_run_removes_it() {
    let base = tempfile::tempdir().unwrap();
    if scratch_or_skip("scratch::after_sigkill", FsKind::Ext4, base.path()).is_none() {
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hold_a_scratch_filesystem",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD, base.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut image = None;
    let mut mount = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        // The harness may print "test ... " on the same line first.
        if let Some(at) = line.find("image /") {
            image = Some(PathBuf::from(&line[at + "image ".len()..]));
        }
        if let Some(at) = line.find("mount /") {
            mount = Some(PathBuf::from(&line[at + "mount ".len()..]));
            break;
        }
    }
    let (image, mount) = (
        image.expect("the child's image"),
        mount.expect("its folder"),
    );
    assert_eq!(loop_devices_backed_by(&image).len(), 1);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    // The keeper dies with it: no mount, no loop device; the image stays.
    assert!(
        eventually(|| loop_devices_backed_by(&image).is_empty()),
        "the loop device of {} is still attached",
        image.display()
    );
    assert!(!mounted_under(&mount));
    assert!(image.exists(), "SIGKILL leaves the image");
    // The next run's sweep removes the folder with the image.
    let removed = DataDir::remove_leftovers(Some(base.path()));
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert!(!image.exists());
}
