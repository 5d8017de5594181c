//! `mmlab kernels`: bad input is one line and exit 2; with qemu and apt (a
//! Debian kernel fetched once into the workspace's results/kernels-cache),
//! a kernel boots, runs prot-flags inside and brings back a valid result
//! whose fingerprint names the guest kernel; a kernel that does not boot is
//! reported with exit 1; and nothing (work folder with the disk image and
//! initramfs, qemu process) is left behind, also after Ctrl-C.
//!
//! The kernel is `MMLAB_KERNELS_TEST_KERNEL` (default `linux-image-amd64`,
//! the distribution's current kernel package). The boots share one lock:
//! one guest at a time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use mmlab_core::testing::{Capability, skip};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mmlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("mmlab runs")
}

/// The workspace's kernel cache (kept between test runs: fetched once).
fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/kernels-cache")
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

/// What `mmlab kernels` run by process `pid` left: work folders in the
/// cache, qemu processes naming them.
fn left_behind(pid: u32) -> Vec<String> {
    let prefix = format!("mmlab-{pid}-");
    let mut left: Vec<String> = std::fs::read_dir(cache())
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = text(&cmdline).replace('\0', " ");
        if cmdline.contains("qemu-system") && cmdline.contains(&prefix) {
            left.push(format!(
                "process {}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    left
}

#[test]
fn a_kernel_path_that_does_not_exist_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cache = dir.path().join("cache");
    for (args, names) in [
        (
            vec!["kernels", "/no/such/vmlinuz"],
            "KERNEL /no/such/vmlinuz: no such file",
        ),
        (vec!["kernels", "banana"], "KERNEL banana:"),
        (
            vec!["kernels", "host", "--experiments", "no-such-experiment"],
            "--experiments: unknown experiment \"no-such-experiment\"",
        ),
        (vec!["kernels", "host", "--memory", "2q"], "--memory"),
    ] {
        let mut full = args.clone();
        full.extend([
            "-o",
            out.to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
        ]);
        let output = mmlab(&full);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(names),
            "{args:?}: {stderr:?} should contain {names:?}"
        );
        // clap's own errors add a usage line; mmlab's are one line.
        if !args.contains(&"--memory") {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        }
        assert!(!out.exists() && !cache.exists(), "{args:?} made folders");
    }
}

/// Why the qemu tests cannot run here, if they cannot.
fn qemu_missing() -> Option<String> {
    let missing: Vec<&str> = [
        "qemu-system-x86_64",
        "busybox",
        "cpio",
        "apt-get",
        "dpkg-deb",
    ]
    .into_iter()
    .filter(|t| !which(t))
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "{} not installed (make kernels-deps installs them)",
            missing.join(", ")
        )
    })
}

/// One guest at a time.
static BOOTS: Mutex<()> = Mutex::new(());

fn test_kernel() -> String {
    std::env::var("MMLAB_KERNELS_TEST_KERNEL").unwrap_or_else(|_| "linux-image-amd64".into())
}

/// The first boot, shared by the tests: its results folder, its release
/// and its vmlinuz in the cache, or why it could not be made.
struct FirstBoot {
    _dir: tempfile::TempDir,
    folder: PathBuf,
    release: String,
    vmlinuz: PathBuf,
}

fn first_boot() -> &'static Result<FirstBoot, String> {
    static FIRST: OnceLock<Result<FirstBoot, String>> = OnceLock::new();
    FIRST.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let kernel = test_kernel();
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_mmlab"))
            .args([
                "kernels",
                &kernel,
                "--experiments",
                "prot-flags",
                "--timeout",
                "400",
                "-o",
            ])
            .arg(&out)
            .arg("--cache")
            .arg(cache())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
        eprintln!(
            "mmlab kernels {kernel} --experiments prot-flags: {} in {:.1} s",
            output.status,
            started.elapsed().as_secs_f64()
        );
        if stderr.contains("cannot fetch") {
            return Err(format!("{kernel} could not be fetched: {}", stderr.trim()));
        }
        assert_eq!(
            output.status.code(),
            Some(0),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
        let left = left_behind(pid);
        assert!(left.is_empty(), "left behind after success: {left:?}");
        let folders: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(folders.len(), 1, "one folder per kernel: {folders:?}");
        let folder = folders[0].clone();
        let release = folder.file_name().unwrap().to_string_lossy().into_owned();
        let vmlinuz = std::fs::read_dir(cache())
            .unwrap()
            .flatten()
            .map(|e| {
                e.path()
                    .join("root/boot")
                    .join(format!("vmlinuz-{release}"))
            })
            .find(|p| p.is_file())
            .expect("the fetched kernel's vmlinuz is in the cache");
        Ok(FirstBoot {
            _dir: dir,
            folder,
            release,
            vmlinuz,
        })
    })
}

/// The first boot, or None (skipped visibly) where it cannot run.
fn booted(what: &str) -> Option<&'static FirstBoot> {
    if let Some(why) = qemu_missing() {
        skip(Capability::Qemu, what, why);
        return None;
    }
    match first_boot() {
        Ok(boot) => Some(boot),
        Err(why) => {
            skip(Capability::Qemu, what, why);
            None
        }
    }
}

#[test]
fn a_kernel_boots_runs_prot_flags_and_brings_back_a_result_naming_it() {
    let _one = BOOTS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(boot) = booted("booting a Debian kernel under qemu") else {
        return;
    };
    let path = boot.folder.join("prot-flags.json");
    let result = mmlab_core::io::read_result(&path).expect("a valid result file");
    assert_eq!(result.experiment, "prot-flags");
    // The fingerprint is the guest's: its kernel (the folder's name), and
    // how it ran.
    assert_eq!(result.env.kernel, boot.release);
    let host = nix::sys::utsname::uname().unwrap();
    assert_ne!(result.env.kernel, host.release().to_string_lossy());
    let guest = result
        .env
        .guest
        .as_deref()
        .expect("the fingerprint says guest");
    assert!(
        guest == mmlab_core::guest::EMULATED || guest == mmlab_core::guest::KVM,
        "{guest}"
    );
    assert!(!result.claims.is_empty());
    // The stored verdicts are what `mmlab judge` recomputes from the file.
    let output = mmlab(&["judge", boot.folder.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
}

#[test]
fn a_kernel_that_does_not_boot_is_reported_and_leaves_nothing() {
    let _one = BOOTS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(boot) = booted("a kernel that does not boot") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Its vmlinuz alone, without the modules it needs for the scratch disk
    // and the share: it boots, and its init cannot mount them.
    let lone = dir.path().join(format!("vmlinuz-{}", boot.release));
    std::fs::copy(&boot.vmlinuz, &lone).unwrap();
    // Not a kernel at all: qemu refuses it (a boot header and nothing else).
    let mut junk = vec![0u8; 0x1000];
    junk[0x202..0x206].copy_from_slice(b"HdrS");
    junk[0x20E..0x210].copy_from_slice(&0x300u16.to_le_bytes());
    junk[0x500..0x505].copy_from_slice(b"9.9.9");
    let junk_path = dir.path().join("vmlinuz-junk");
    std::fs::write(&junk_path, &junk).unwrap();
    for (kernel, says) in [
        (&lone, "did not boot: cannot mount"),
        (&junk_path, "did not boot"),
    ] {
        let out = dir.path().join("out");
        let child = Command::new(env!("CARGO_BIN_EXE_mmlab"))
            .args(["kernels"])
            .arg(kernel)
            .args(["--experiments", "prot-flags", "--timeout", "240", "-o"])
            .arg(&out)
            .arg("--cache")
            .arg(cache())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let output = child.wait_with_output().unwrap();
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{kernel:?}: {stderr}");
        let line = format!("mmlab kernels: kernel {}: {says}", kernel.display());
        assert!(stderr.contains(&line), "{stderr:?} should contain {line:?}");
        assert!(stderr.contains("last console lines"), "{stderr}");
        let left = left_behind(pid);
        assert!(left.is_empty(), "{kernel:?} left behind: {left:?}");
    }
}

#[test]
fn ctrl_c_while_the_guest_runs_stops_qemu_and_removes_its_files() {
    let _one = BOOTS.lock().unwrap_or_else(|p| p.into_inner());
    let Some(_) = booted("Ctrl-C while a guest runs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmlab"))
        .args([
            "kernels",
            &test_kernel(),
            "--experiments",
            "prot-flags",
            "-o",
        ])
        .arg(dir.path().join("out"))
        .arg("--cache")
        .arg(cache())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Interrupted once the guest is up: qemu runs, the image is in use.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let started = Instant::now();
    let mut up = false;
    while stdout.read_line(&mut line).unwrap_or(0) > 0 {
        if line.contains("booted in") {
            up = true;
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "no boot in 300 s"
        );
        line.clear();
    }
    assert!(up, "the guest did not come up");
    let running = left_behind(pid);
    assert!(
        running.iter().any(|l| l.starts_with("process")),
        "qemu should be running now: {running:?}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    // Read the rest so the child never blocks on a full pipe.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut text);
    });
    let status = child.wait().unwrap();
    let _ = rest.join();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("nothing left behind"), "{stderr}");
    let left = left_behind(pid);
    assert!(left.is_empty(), "left behind after SIGINT: {left:?}");
}
