//! `mmlab kernels KERNEL... [--experiments LIST] [-o DIR]`: the lab on
//! other kernels. Each KERNEL is booted under qemu with a busybox
//! initramfs that holds this mmlab binary (and the shared libraries `ldd`
//! lists), the modules the guest needs for virtio, ext4 and 9p (found with
//! `modprobe --show-depends`), a scratch ext4 disk image for the data files
//! and a 9p share for the results; `mmlab run` of each chosen experiment
//! runs inside, the result files come back into `DIR/<kernel-release>/` (a
//! normal results folder, read by `mmlab report`, `compare` and `class`),
//! and the guest powers off. `host` runs the same experiments natively on
//! the running kernel into `DIR/<its release>/`.
//!
//! KVM is used when it works (tried with a paused guest first), otherwise
//! qemu's TCG emulation, said on the screen and recorded in every result's
//! fingerprint (`guest`): timing-based claims of an emulated run are then
//! not-measured (`mmlab_core::guest`), counts are judged as usual.
//!
//! The disk image, the initramfs and the qemu process are removed on
//! success, failure, timeout and Ctrl-C (cleanup guards; qemu also gets
//! PR_SET_PDEATHSIG so it dies with mmlab even on SIGKILL). Fetched Debian
//! kernels are kept, unpacked, in the cache folder (`results/kernels-cache`,
//! git-ignored) and never installed.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::{BadInput, registry};

/// The experiments whose claims are decided by counts and outcomes (faults,
/// pages per fault, folios, residency, frames, system calls, errno and
/// signals): the default of `--experiments`.
pub const DEFAULT_EXPERIMENTS: &[&str] = &[
    "prot-flags",
    "lazy-loading",
    "copy-on-write",
    "who-calls-mmap",
    "syscall-cost",
];

/// The modules the guest needs: the virtio PCI transport, the scratch disk
/// (virtio_blk, ext4) and the results share (9p over virtio).
pub const GUEST_MODULES: &[&str] = &["virtio_pci", "virtio_blk", "ext4", "9p", "9pnet_virtio"];

/// The 9p mount tag of the results share.
const SHARE_TAG: &str = "mmlab-results";
/// Console lines kept for the report of a kernel that did not boot.
const LAST_LINES: usize = 25;
/// Printed by the guest's init once the scratch disk and the share are
/// mounted: the kernel booted.
const UP_MARKER: &str = "mmlab-guest: up";
const FAILED_MARKER: &str = "mmlab-guest: failed:";
const DONE_MARKER: &str = "mmlab-guest: done";

#[derive(Debug, clap::Args)]
pub struct KernelsArgs {
    /// A kernel to run the lab on: a vmlinuz file (its modules in
    /// lib/modules/<release> beside it or one folder up, as a Debian package
    /// unpacks; none needed when virtio, ext4 and 9p are built in), a Debian
    /// kernel package name or release fetched with `apt-get download` and
    /// unpacked into the cache (linux-image-6.1.0-48-amd64, 6.1.0-48-amd64,
    /// or a metapackage such as linux-image-amd64), or `host` (the running
    /// kernel, measured natively)
    #[arg(value_name = "KERNEL", required = true)]
    kernels: Vec<String>,
    /// Experiments to run on each kernel, comma-separated (default: the ones
    /// decided by counts: prot-flags, lazy-loading, copy-on-write,
    /// who-calls-mmap, syscall-cost)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    experiments: Option<Vec<String>>,
    /// Output folder: one results folder per kernel, DIR/<kernel-release>/
    #[arg(
        short = 'o',
        long,
        value_name = "DIR",
        default_value = "results/kernels"
    )]
    out: PathBuf,
    /// Where fetched kernels are unpacked and kept, and where each guest's
    /// disk image and initramfs live while it runs
    #[arg(long, value_name = "DIR", default_value = "results/kernels-cache")]
    cache: PathBuf,
    /// The guest's memory (e.g. 2g)
    #[arg(long, value_name = "SIZE", default_value = "2g", value_parser = crate::parse_size_arg)]
    memory: u64,
    /// The guest's CPUs
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    cpus: u32,
    /// The size of the guest's scratch ext4 disk image (sparse; e.g. 2g)
    #[arg(long, value_name = "SIZE", default_value = "2g", value_parser = crate::parse_size_arg)]
    disk: u64,
    /// Seconds one kernel may take, boot to power-off, before it is stopped
    #[arg(long, value_name = "SECONDS", default_value_t = 900, value_parser = clap::value_parser!(u64).range(10..))]
    timeout: u64,
    /// auto: KVM when it works here (tried first), else TCG emulation
    #[arg(long, value_enum, default_value = "auto")]
    accel: AccelArg,
    /// Print every console line of the guest (default: the headlines, the
    /// verdicts and the guest's own messages)
    #[arg(long)]
    verbose: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccelArg {
    Auto,
    Kvm,
    Tcg,
}

/// What a KERNEL argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelSpec {
    Host,
    /// A vmlinuz file.
    Image(PathBuf),
    /// A Debian package (name as apt knows it).
    Package(String),
}

/// Reads one KERNEL argument: `host`, an existing file, or something that
/// looks like a Debian kernel package or release. A path that does not
/// exist, a folder, or anything else is bad input naming it.
pub fn parse_kernel(text: &str) -> Result<KernelSpec, BadInput> {
    if text == "host" {
        return Ok(KernelSpec::Host);
    }
    let path = Path::new(text);
    if path.is_file() {
        return Ok(KernelSpec::Image(path.to_path_buf()));
    }
    if path.is_dir() {
        return Err(BadInput(format!(
            "KERNEL {text}: is a folder; give the kernel image file in it (vmlinuz-<release>)"
        )));
    }
    let looks_like_path =
        text.contains('/') || text.starts_with("vmlinuz") || text.starts_with('.');
    if !looks_like_path {
        let plain = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        };
        if let Some(rest) = text.strip_prefix("linux-image-")
            && plain(rest)
        {
            return Ok(KernelSpec::Package(text.to_string()));
        }
        if text.starts_with(|c: char| c.is_ascii_digit()) && text.contains('.') && plain(text) {
            return Ok(KernelSpec::Package(format!("linux-image-{text}")));
        }
    }
    Err(BadInput(format!(
        "KERNEL {text}: no such file, and not `host` or a Debian kernel package or release (e.g. linux-image-6.1.0-48-amd64 or 6.1.0-48-amd64)"
    )))
}

/// The release string of an x86 bzImage (`6.1.0-48-amd64`), from its boot
/// header: the "HdrS" magic at 0x202 and the 16-bit `kernel_version`
/// pointer at 0x20E, 0x200 bytes before the string (Documentation/arch/x86/
/// boot.rst). Hand-written: a few bytes of a documented header, no crate
/// reads it.
pub fn bzimage_release(bytes: &[u8]) -> Option<String> {
    if bytes.get(0x202..0x206)? != b"HdrS" {
        return None;
    }
    let pointer = u16::from_le_bytes([*bytes.get(0x20E)?, *bytes.get(0x20F)?]) as usize;
    let text = bytes.get(pointer + 0x200..)?;
    let end = text
        .iter()
        .position(|&b| b == 0 || b == b' ')
        .unwrap_or(text.len().min(64));
    let release = std::str::from_utf8(&text[..end]).ok()?;
    (!release.is_empty()).then(|| release.to_string())
}

/// `modprobe --show-depends` output: the module files to load in order
/// (`insmod PATH`) and the built-in ones (`builtin NAME`), which need none.
pub fn parse_show_depends(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("insmod "))
        .map(|rest| PathBuf::from(rest.split_whitespace().next().unwrap_or(rest)))
        .collect()
}

/// The files `ldd` names for a program: `libc.so.6 => /lib/.../libc.so.6
/// (0x...)` and the loader `/lib64/ld-linux-x86-64.so.2 (0x...)`.
pub fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// A kernel ready to boot.
#[derive(Debug, Clone)]
struct Bootable {
    release: String,
    vmlinuz: PathBuf,
    /// `<root>/lib/modules/<release>` when there is one.
    modules_root: Option<PathBuf>,
}

/// The release of a vmlinuz and its modules folder, if one is beside it.
fn bootable_from_image(vmlinuz: &Path) -> anyhow::Result<Bootable> {
    let bytes = std::fs::read(vmlinuz)
        .with_context(|| format!("cannot read the kernel image {}", vmlinuz.display()))?;
    let release = bzimage_release(&bytes).ok_or_else(|| {
        anyhow!(
            "{}: not an x86 Linux kernel image (no bzImage boot header)",
            vmlinuz.display()
        )
    })?;
    let folder = vmlinuz
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let modules_root = [folder.to_path_buf(), folder.join("..")]
        .into_iter()
        .find(|root| root.join("lib/modules").join(&release).is_dir());
    Ok(Bootable {
        release,
        vmlinuz: vmlinuz.to_path_buf(),
        modules_root,
    })
}

/// Runs a command, returning its stdout, or an error with its stderr's
/// last line.
fn output_of(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty() && !l.starts_with("W:"))
            .unwrap_or("")
            .to_string();
        bail!("{what} failed ({}): {last}", output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The package a metapackage (linux-image-amd64) currently depends on, or
/// the name itself when it names a release.
fn resolve_package(name: &str) -> anyhow::Result<String> {
    let has_release = name
        .strip_prefix("linux-image-")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()));
    if has_release {
        return Ok(name.to_string());
    }
    let text = output_of(
        Command::new("apt-cache").args(["depends", name]),
        &format!("apt-cache depends {name}"),
    )?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(str::trim)
        .find(|d| {
            d.strip_prefix("linux-image-")
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{name}: apt-cache depends names no linux-image-<release> package"))
}

/// The unpacked package in the cache, fetched and unpacked first when it
/// is not there (into a folder named for this process, renamed when
/// complete, so a killed fetch leaves nothing that looks complete).
fn fetch_package(cache: &Path, name: &str) -> anyhow::Result<Bootable> {
    let package = resolve_package(name)?;
    let folder = cache.join(&package);
    if !folder.join(".complete").is_file() {
        println!(
            "  fetching {package} (apt-get download, unpacked with dpkg-deb -x into {}; never installed)",
            folder.display()
        );
        let partial = cache.join(format!("mmlab-{}-fetch-{package}", std::process::id()));
        let partial_for_guard = partial.clone();
        let _guard = mmlab_core::cleanup::on_exit(
            format!("remove the partial download {}", partial.display()),
            move || {
                mmlab_core::cleanup::remove_until_gone(&partial_for_guard);
            },
        );
        std::fs::create_dir_all(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let download = |dir: &Path| {
            output_of(
                Command::new("apt-get")
                    .args(["download", "-q", &package])
                    .current_dir(dir),
                &format!("apt-get download {package}"),
            )
        };
        if let Err(first) = download(&partial) {
            if !mmlab_core::fingerprint::is_root() {
                return Err(first);
            }
            println!("  {first:#}; running apt-get update and trying again");
            let _ = output_of(
                Command::new("apt-get").args(["update", "-qq"]),
                "apt-get update",
            );
            download(&partial)?;
        }
        let deb = std::fs::read_dir(&partial)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "deb"))
            .ok_or_else(|| anyhow!("apt-get download {package} left no .deb"))?;
        let root = partial.join("root");
        output_of(
            Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root),
            &format!("dpkg-deb -x {}", deb.display()),
        )?;
        std::fs::remove_file(&deb)?;
        // modules.dep is made by the package's postinst, which is not run:
        // depmod writes it into the unpacked tree only.
        for release in releases_in(&root) {
            output_of(
                Command::new(sbin("depmod"))
                    .arg("-b")
                    .arg(&root)
                    .arg(&release),
                &format!("depmod -b {} {release}", root.display()),
            )?;
        }
        std::fs::write(partial.join(".complete"), format!("{package}\n"))?;
        if folder.join(".complete").is_file() {
            // Another mmlab fetched it meanwhile: keep theirs (the guard
            // removes this copy).
        } else {
            if folder.exists() {
                mmlab_core::cleanup::remove_until_gone(&folder);
            }
            std::fs::rename(&partial, &folder).with_context(|| {
                format!("cannot move {} to {}", partial.display(), folder.display())
            })?;
        }
    }
    let root = folder.join("root");
    let release = releases_in(&root).into_iter().next().ok_or_else(|| {
        anyhow!(
            "{}: no lib/modules/<release> in the package",
            folder.display()
        )
    })?;
    let vmlinuz = root.join("boot").join(format!("vmlinuz-{release}"));
    if !vmlinuz.is_file() {
        bail!(
            "{}: the package has no boot/vmlinuz-{release}",
            folder.display()
        );
    }
    Ok(Bootable {
        release,
        vmlinuz,
        modules_root: Some(root),
    })
}

fn releases_in(root: &Path) -> Vec<String> {
    let mut releases: Vec<String> = std::fs::read_dir(root.join("lib/modules"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    releases.sort();
    releases
}

/// A program in /usr/sbin or /sbin when PATH (a non-root user's) lacks them.
fn sbin(name: &str) -> PathBuf {
    for folder in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let path = Path::new(folder).join(name);
        if path.is_file() {
            return path;
        }
    }
    PathBuf::from(name)
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|folder| folder.join(name))
        .find(|p| p.is_file())
}

/// The tools a guest boot needs, each found or named as missing.
#[derive(Debug, Clone)]
struct Tools {
    qemu: PathBuf,
    busybox: PathBuf,
    cpio: PathBuf,
    mkfs_ext4: PathBuf,
}

fn find_tools() -> Result<Tools, String> {
    let mut missing = Vec::new();
    let mut find = |name: &str| {
        which(name).unwrap_or_else(|| {
            missing.push(name.to_string());
            PathBuf::new()
        })
    };
    let tools = Tools {
        qemu: find("qemu-system-x86_64"),
        busybox: find("busybox"),
        cpio: find("cpio"),
        mkfs_ext4: find("mkfs.ext4"),
    };
    if which("modprobe").is_none() {
        missing.push("modprobe".to_string());
    }
    if missing.is_empty() {
        Ok(tools)
    } else {
        Err(format!(
            "missing {} (install them with `make kernels-deps`, as root with apt)",
            missing.join(", ")
        ))
    }
}

/// Whether KVM can run a stock kernel here: a paused guest is started with
/// `-accel kvm`; one still running after a few seconds means yes, an exit
/// means no, with qemu's first error line as the reason.
fn kvm_works(qemu: &Path) -> Result<(), String> {
    if !Path::new("/dev/kvm").exists() {
        return Err("no /dev/kvm".to_string());
    }
    let mut child = Command::new(qemu)
        .args([
            "-accel",
            "kvm",
            "-machine",
            "q35",
            "-cpu",
            "host",
            "-m",
            "64",
            "-S",
            "-display",
            "none",
            "-nodefaults",
            "-monitor",
            "none",
            "-serial",
            "none",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn_with_death_signal()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(_)) = child.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            let first = stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("qemu exited");
            return Err(format!("qemu -accel kvm failed: {}", first.trim()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(())
}

/// `spawn`, with the child killed when this process dies.
trait SpawnWithDeathSignal {
    fn spawn_with_death_signal(&mut self) -> std::io::Result<std::process::Child> {
        self.spawn_sent_on_our_death(libc::SIGKILL)
    }
    /// `spawn`, with `signal` sent to the child when this process dies.
    fn spawn_sent_on_our_death(&mut self, signal: i32) -> std::io::Result<std::process::Child>;
}

impl SpawnWithDeathSignal for Command {
    fn spawn_sent_on_our_death(&mut self, signal: i32) -> std::io::Result<std::process::Child> {
        // SAFETY: the closure runs in the forked child before exec and only
        // calls prctl, which is async-signal-safe.
        unsafe {
            self.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, signal, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        self.spawn()
    }
}

/// A child process stopped when dropped or on Ctrl-C: SIGKILL for qemu,
/// SIGTERM for an `mmlab run` (whose own handler cleans up), then reaped;
/// nothing is sent once [`Stop::reaped`] says the pid is no longer ours.
struct Stop {
    reaped: std::sync::Arc<std::sync::atomic::AtomicBool>,
    _guard: mmlab_core::cleanup::Guard,
}

impl Stop {
    fn reaped(&self) {
        self.reaped.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn stop_on_exit(what: &str, pid: u32) -> Stop {
    use nix::sys::signal::{Signal, kill};
    let signal = if what == "qemu" {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    let reaped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (flag, check) = (reaped.clone(), reaped.clone());
    let pid = nix::unistd::Pid::from_raw(pid as i32);
    let what = what.to_string();
    let guard = mmlab_core::cleanup::on_exit_checked(
        format!("stop {what} (pid {pid})"),
        move || {
            if !flag.load(std::sync::atomic::Ordering::SeqCst) && kill(pid, signal).is_ok() {
                let _ = nix::sys::wait::waitpid(pid, None);
            }
        },
        move || {
            (!check.load(std::sync::atomic::Ordering::SeqCst)
                && Path::new(&format!("/proc/{pid}")).exists()
                && kill(pid, None).is_ok())
            .then(|| format!("{what} process {pid}"))
        },
    );
    Stop {
        reaped,
        _guard: guard,
    }
}

/// The guest's /init: a busybox shell script that mounts what the lab
/// reads (proc, sys, devtmpfs, debugfs, tracefs, tmpfs on /dev/shm and
/// /tmp), loads the modules, mounts the scratch disk and the results share,
/// runs each experiment, and powers off.
pub fn init_script(experiments: &[String], modules: &[String]) -> String {
    let mut script = String::from(
        "#!/bin/busybox sh\n\
         # Written by `mmlab kernels`: the guest's init.\n\
         /bin/busybox --install -s /bin\n\
         export PATH=/bin HOME=/root\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n\
         mkdir -p /dev/shm /dev/pts\n\
         mount -t tmpfs tmpfs /dev/shm\n\
         mount -t tmpfs tmpfs /tmp\n\
         mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null\n\
         mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null\n\
         fail() { echo \"mmlab-guest: failed: $*\"; poweroff -f; sleep 30; }\n",
    );
    for module in modules {
        script.push_str(&format!(
            "insmod /lib/modules/mmlab/{module} || fail \"insmod {module}\"\n"
        ));
    }
    script.push_str(&format!(
        "mkdir -p /scratch /out\n\
         mount -t 9p -o trans=virtio,version=9p2000.L {SHARE_TAG} /out || fail \"cannot mount the 9p results share (9p, 9pnet_virtio)\"\n\
         mount -t ext4 /dev/vda /scratch || fail \"cannot mount the scratch disk /dev/vda as ext4 (virtio_blk, ext4)\"\n\
         uname -r > /out/kernel-release\n\
         echo \"{UP_MARKER}: Linux $(uname -r), $(nproc) CPU(s), $(awk '/MemTotal/ {{print $2}}' /proc/meminfo) KiB\"\n\
         cd /scratch\n"
    ));
    // Through a pipe: the console is a terminal, and progress bars drawn
    // there would run into the lines the host reads.
    for experiment in experiments {
        script.push_str(&format!(
            "{{ /bin/mmlab run {experiment} --out /out/results --data-dir /scratch; echo \"{experiment} $?\" >> /out/status; }} 2>&1 | cat\n"
        ));
    }
    script.push_str(&format!(
        "cd /\nsync\numount /scratch\necho \"{DONE_MARKER}\"\npoweroff -f\nsleep 30\n"
    ));
    script
}

/// One guest's files, removed when dropped and on Ctrl-C: the work folder
/// (disk image, initramfs, staging tree, results share).
struct Work {
    dir: PathBuf,
    _guard: mmlab_core::cleanup::Guard,
}

impl Work {
    fn create(cache: &Path, n: usize) -> anyhow::Result<Work> {
        let dir = cache.join(format!("mmlab-{}-kernel-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let removed = dir.clone();
        let checked = dir.clone();
        let guard = mmlab_core::cleanup::on_exit_checked(
            format!(
                "remove the guest's disk image and initramfs in {}",
                dir.display()
            ),
            move || {
                mmlab_core::cleanup::remove_until_gone(&removed);
            },
            move || checked.exists().then(|| checked.display().to_string()),
        );
        Ok(Work { dir, _guard: guard })
    }
}

/// Removes the work folders of earlier runs whose mmlab is gone (killed
/// with SIGKILL: no cleanup ran).
fn remove_leftovers(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if (name.contains("-kernel-") || name.contains("-fetch-"))
            && mmlab_core::cleanup::pid_of_a_gone_owner(&name).is_some()
            && mmlab_core::cleanup::remove_until_gone(&entry.path())
        {
            eprintln!(
                "warning: removed what an earlier `mmlab kernels` that was killed left behind: {}",
                entry.path().display()
            );
        }
    }
}

/// Copies `from` to the same absolute path under `root`.
fn copy_into(root: &Path, from: &Path, to: &Path) -> anyhow::Result<()> {
    let target = root.join(to.strip_prefix("/").unwrap_or(to));
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, &target)
        .with_context(|| format!("cannot copy {} into the initramfs", from.display()))?;
    Ok(())
}

/// The module files the guest loads, in order, without repeats.
fn guest_modules(kernel: &Bootable) -> anyhow::Result<Vec<PathBuf>> {
    let Some(root) = &kernel.modules_root else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for module in GUEST_MODULES {
        let text = output_of(
            Command::new(sbin("modprobe"))
                .arg("-d")
                .arg(root)
                .arg("-S")
                .arg(&kernel.release)
                .arg("--show-depends")
                .arg(module),
            &format!("modprobe --show-depends {module} for {}", kernel.release),
        )?;
        for file in parse_show_depends(&text) {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

/// Writes the initramfs (a newc cpio archive, uncompressed) for `kernel`
/// into `work`, and returns its path.
fn build_initramfs(
    tools: &Tools,
    kernel: &Bootable,
    experiments: &[String],
    work: &Path,
) -> anyhow::Result<PathBuf> {
    let tree = work.join("initramfs");
    for folder in [
        "bin",
        "proc",
        "sys",
        "dev",
        "tmp",
        "etc",
        "root",
        "scratch",
        "out",
        "lib/modules/mmlab",
    ] {
        std::fs::create_dir_all(tree.join(folder))?;
    }
    let mmlab = std::env::current_exe().context("cannot find this mmlab binary")?;
    let mut programs = vec![(mmlab.clone(), PathBuf::from("/bin/mmlab"))];
    programs.push((tools.busybox.clone(), PathBuf::from("/bin/busybox")));
    for (from, to) in &programs {
        copy_into(&tree, from, to)?;
        // Its shared libraries and the loader, at the paths the program
        // names (a static busybox has none: ldd then fails, which is fine).
        if let Ok(text) = output_of(Command::new("ldd").arg(from), "ldd") {
            for library in parse_ldd(&text) {
                copy_into(&tree, &library, &library)?;
            }
        }
    }
    let modules = guest_modules(kernel)?;
    let mut names = Vec::new();
    for file in &modules {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::copy(file, tree.join("lib/modules/mmlab").join(&name))
            .with_context(|| format!("cannot copy module {}", file.display()))?;
        names.push(name);
    }
    std::fs::write(
        tree.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    std::fs::write(tree.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")?;
    std::fs::write(
        tree.join("etc/os-release"),
        "PRETTY_NAME=\"mmlab kernels guest (busybox initramfs)\"\n",
    )?;
    let init = tree.join("init");
    std::fs::write(&init, init_script(experiments, &names))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755))?;
    let archive = work.join("initramfs.cpio");
    let list = output_of(Command::new("find").arg(".").current_dir(&tree), "find")?;
    let mut child = Command::new(&tools.cpio)
        .args(["-o", "-H", "newc", "--quiet"])
        .current_dir(&tree)
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&archive)?)
        .stderr(Stdio::piped())
        .spawn_with_death_signal()
        .context("cannot run cpio")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().context("cpio's stdin")?;
        stdin.write_all(list.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "cpio failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    mmlab_core::cleanup::remove_until_gone(&tree);
    Ok(archive)
}

/// How one kernel's run ended.
#[derive(Debug)]
struct Outcome {
    folder: Option<PathBuf>,
    problem: Option<String>,
}

/// The qemu command line for one guest.
fn qemu_command(
    tools: &Tools,
    kernel: &Bootable,
    initramfs: &Path,
    disk: &Path,
    share: &Path,
    kvm: bool,
    args: &KernelsArgs,
) -> Command {
    let mut command = Command::new(&tools.qemu);
    let (accel, cpu, marker) = if kvm {
        ("kvm", "host", "kvm")
    } else {
        ("tcg,thread=multi", "max", "tcg")
    };
    command
        .args(["-accel", accel, "-machine", "q35", "-cpu", cpu])
        .arg("-smp")
        .arg(args.cpus.to_string())
        .arg("-m")
        .arg(format!("{}M", args.memory / (1024 * 1024)))
        .arg("-kernel")
        .arg(&kernel.vmlinuz)
        .arg("-initrd")
        .arg(initramfs)
        .arg("-append")
        .arg(format!(
            "console=ttyS0 panic=-1 loglevel=4 {}={marker}",
            mmlab_core::guest::CMDLINE_PARAMETER
        ))
        .args([
            "-display",
            "none",
            "-nodefaults",
            "-no-reboot",
            "-monitor",
            "none",
        ])
        .args(["-serial", "stdio"])
        .arg("-drive")
        .arg(format!("file={},format=raw,if=virtio", disk.display()))
        .arg("-virtfs")
        .arg(format!(
            "local,path={},mount_tag={SHARE_TAG},security_model=none",
            share.display()
        ));
    command
}

/// Whether a guest console line is shown (without --verbose): the guest's
/// own messages, the experiment headlines, verdicts, written files, and
/// the kernel's panics.
fn shown(line: &str) -> bool {
    let line = line.trim_end();
    line.starts_with("mmlab-guest")
        || line.starts_with("== ")
        || line.starts_with("  wrote ")
        || line.contains(" failed")
        || line.contains("Kernel panic")
        || {
            let mut words = line.split_whitespace();
            line.starts_with("  ")
                && words.next().is_some_and(|id| {
                    id.len() >= 2
                        && id.starts_with(['S', 'L'])
                        && id[1..].chars().all(|c| c.is_ascii_digit())
                })
                && words.next().is_some_and(|v| {
                    ["holds", "holds-with-nuance", "refuted", "not-measured"].contains(&v)
                })
        }
}

/// Boots one kernel and brings its results back.
fn run_guest(
    tools: &Tools,
    kernel: &Bootable,
    kvm: bool,
    experiments: &[String],
    args: &KernelsArgs,
    n: usize,
) -> Outcome {
    let failed = |problem: String| Outcome {
        folder: None,
        problem: Some(problem),
    };
    let work = match Work::create(&args.cache, n) {
        Ok(w) => w,
        Err(e) => return failed(format!("{e:#}")),
    };
    let prepare = || -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
        let initramfs = build_initramfs(tools, kernel, experiments, &work.dir)?;
        let disk = work.dir.join("scratch.img");
        std::fs::File::create(&disk)?.set_len(args.disk)?;
        output_of(
            Command::new(&tools.mkfs_ext4).args(["-q", "-F"]).arg(&disk),
            "mkfs.ext4 of the scratch disk image",
        )?;
        let share = work.dir.join("share");
        std::fs::create_dir_all(&share)?;
        Ok((initramfs, disk, share))
    };
    let (initramfs, disk, share) = match prepare() {
        Ok(p) => p,
        Err(e) => return failed(format!("{e:#}")),
    };
    mmlab_core::cleanup::checkpoint();
    let mut command = qemu_command(tools, kernel, &initramfs, &disk, &share, kvm, args);
    let mut child = match command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn_with_death_signal()
    {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot run {}: {e}", tools.qemu.display())),
    };
    // Killed and reaped when this kernel's run ends, or on Ctrl-C.
    let qemu_stop = stop_on_exit("qemu", child.id());
    let (lines_tx, lines) = mpsc::channel::<String>();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).split(b'\n').map_while(Result::ok) {
                let text = String::from_utf8_lossy(&line)
                    .replace(|c: char| c.is_control() && c != '\t', "");
                if tx.send(text).is_err() {
                    break;
                }
            }
        });
    }
    drop(lines_tx);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.timeout);
    let mut last: VecDeque<String> = VecDeque::new();
    let (mut up, mut done, mut guest_failure) = (false, false, None::<String>);
    let status = loop {
        mmlab_core::cleanup::checkpoint();
        while let Ok(line) = lines.try_recv() {
            if line.starts_with(UP_MARKER) {
                up = true;
                println!("  booted in {:.1} s", started.elapsed().as_secs_f64());
            }
            if line.starts_with(DONE_MARKER) {
                done = true;
            }
            if let Some(why) = line.strip_prefix(FAILED_MARKER) {
                guest_failure = Some(why.trim().to_string());
            }
            if args.verbose || shown(&line) {
                println!("  | {line}");
            }
            last.push_back(line);
            if last.len() > LAST_LINES {
                last.pop_front();
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Interrupted: the signal thread stopped qemu and reports.
    mmlab_core::cleanup::checkpoint();
    // Drain what the pipes still hold.
    let drain_until = Instant::now() + Duration::from_millis(500);
    while Instant::now() < drain_until {
        match lines.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                if line.starts_with(DONE_MARKER) {
                    done = true;
                }
                if let Some(why) = line.strip_prefix(FAILED_MARKER) {
                    guest_failure = Some(why.trim().to_string());
                }
                if args.verbose || shown(&line) {
                    println!("  | {line}");
                }
                last.push_back(line);
                if last.len() > LAST_LINES {
                    last.pop_front();
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let timed_out = status.is_none();
    if status.is_some() {
        qemu_stop.reaped();
    }
    drop(qemu_stop);
    let tail = || {
        let lines: Vec<&str> = last
            .iter()
            .map(String::as_str)
            .filter(|l| !l.trim().is_empty())
            .collect();
        format!("last console lines:\n    {}", lines.join("\n    "))
    };
    let problem = if timed_out {
        Some(format!(
            "did not finish within --timeout {} s ({}); stopped; {}",
            args.timeout,
            if up { "it booted" } else { "it never came up" },
            tail()
        ))
    } else if let Some(why) = &guest_failure {
        Some(format!("did not boot: {why}; {}", tail()))
    } else if !up {
        Some(format!(
            "did not boot (qemu ended with {} after {elapsed:.1} s); {}",
            status.map(|s| s.to_string()).unwrap_or_default(),
            tail()
        ))
    } else if !done {
        Some(format!(
            "stopped before the guest finished (qemu ended with {}); {}",
            status.map(|s| s.to_string()).unwrap_or_default(),
            tail()
        ))
    } else {
        None
    };
    // The results that came back, also from a run that did not finish.
    let release = std::fs::read_to_string(share.join("kernel-release"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| kernel.release.clone());
    let folder = args.out.join(&release);
    let moved = match bring_back(&share.join("results"), &folder) {
        Ok(n) => n,
        Err(e) => return failed(format!("{e:#}")),
    };
    let statuses = std::fs::read_to_string(share.join("status")).unwrap_or_default();
    let failed_experiments: Vec<String> = statuses
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, code)| code.trim() != "0")
        .map(|(e, code)| format!("{e} (exit {})", code.trim()))
        .collect();
    if moved > 0 {
        println!(
            "  {moved} result file(s) back in {} after {elapsed:.1} s",
            folder.display()
        );
    } else {
        println!("  no result file came back (after {elapsed:.1} s)");
    }
    let problem = problem.or_else(|| {
        (!failed_experiments.is_empty())
            .then(|| format!("in the guest, failed: {}", failed_experiments.join(", ")))
    });
    Outcome {
        folder: (moved > 0).then_some(folder),
        problem,
    }
}

/// Moves the result files (`*.json`, `*.csv`) from the share into `folder`;
/// returns how many JSON results came back.
fn bring_back(from: &Path, folder: &Path) -> anyhow::Result<usize> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !matches!(ext, "json" | "csv") || !path.is_file() {
            continue;
        }
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        let target = folder.join(entry.file_name());
        std::fs::copy(&path, &target)
            .with_context(|| format!("cannot write {}", target.display()))?;
        if ext == "json" {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs the experiments natively on the running kernel into
/// `DIR/<release>/`, one `mmlab run` each.
fn run_host(experiments: &[String], args: &KernelsArgs) -> Outcome {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "host".to_string());
    let folder = args.out.join(&release);
    let mmlab = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            return Outcome {
                folder: None,
                problem: Some(format!("cannot find this mmlab binary: {e}")),
            };
        }
    };
    let mut failures = Vec::new();
    for experiment in experiments {
        mmlab_core::cleanup::checkpoint();
        // SIGTERM when this mmlab dies or is interrupted: the child's own
        // handler then removes its data folder.
        let status = Command::new(&mmlab)
            .args(["run", experiment, "--out"])
            .arg(&folder)
            .stdin(Stdio::null())
            .spawn_sent_on_our_death(libc::SIGTERM)
            .and_then(|mut child| {
                let stop = stop_on_exit(&format!("mmlab run {experiment}"), child.id());
                let status = child.wait();
                // Interrupted: the signal thread stopped the child and
                // reports; nothing more is said here.
                mmlab_core::cleanup::checkpoint();
                stop.reaped();
                status
            });
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => failures.push(format!("{experiment} ({s})")),
            Err(e) => failures.push(format!("{experiment} (cannot run: {e})")),
        }
    }
    Outcome {
        folder: folder.is_dir().then_some(folder),
        problem: (!failures.is_empty()).then(|| format!("failed: {}", failures.join(", "))),
    }
}

pub fn run(args: KernelsArgs) -> anyhow::Result<i32> {
    // Every argument is checked before anything is made or fetched.
    let specs: Vec<KernelSpec> = args
        .kernels
        .iter()
        .map(|k| parse_kernel(k))
        .collect::<Result<_, _>>()?;
    let experiments: Vec<String> = match &args.experiments {
        Some(list) => list
            .iter()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        None => DEFAULT_EXPERIMENTS.iter().map(|e| e.to_string()).collect(),
    };
    if experiments.is_empty() {
        return Err(BadInput("--experiments: the list is empty".to_string()).into());
    }
    for experiment in &experiments {
        if registry::find(experiment).is_none() {
            let known: Vec<&str> = registry::experiments().iter().map(|e| e.id()).collect();
            return Err(BadInput(format!(
                "--experiments: unknown experiment {experiment:?}; known: {}",
                known.join(", ")
            ))
            .into());
        }
    }
    let needs_qemu = specs.iter().any(|s| *s != KernelSpec::Host);
    let tools = if needs_qemu {
        Some(find_tools().map_err(|e| anyhow!("cannot boot a kernel under qemu: {e}"))?)
    } else {
        None
    };
    // The folders made here go again if nothing was written into them.
    let _fresh_out = crate::remove_if_left_empty(&args.out);
    crate::check_writable_folder("-o", &args.out)?;
    let _fresh_cache = needs_qemu
        .then(|| crate::remove_if_left_empty(&args.cache))
        .flatten();
    if needs_qemu {
        crate::check_writable_folder("--cache", &args.cache)?;
        remove_leftovers(&args.cache);
    }
    println!("mmlab kernels");
    println!("  param kernels: {}", args.kernels.join(", "));
    println!("  param experiments: {}", experiments.join(", "));
    println!(
        "  param out: {} (one results folder per kernel release)",
        args.out.display()
    );
    println!("  param cache: {}", args.cache.display());
    println!(
        "  param guest: {} CPU(s), {} memory, {} scratch ext4 disk image, timeout {} s per kernel",
        args.cpus,
        mmlab_core::format_size(args.memory),
        mmlab_core::format_size(args.disk),
        args.timeout
    );
    let kvm = match (&tools, args.accel) {
        (None, _) => false,
        (Some(_), AccelArg::Tcg) => {
            println!(
                "  param accel: TCG (emulated; --accel tcg): timing-based claims will be not-measured"
            );
            false
        }
        (Some(tools), AccelArg::Kvm) => {
            kvm_works(&tools.qemu)
                .map_err(|why| BadInput(format!("--accel kvm: KVM does not work here: {why}")))?;
            println!("  param accel: KVM");
            true
        }
        (Some(tools), AccelArg::Auto) => match kvm_works(&tools.qemu) {
            Ok(()) => {
                println!("  param accel: KVM (tried: it works here)");
                true
            }
            Err(why) => {
                println!(
                    "  param accel: TCG, emulated: KVM does not work here ({why}); emulated timings are not meaningful, so timing-based claims will be not-measured; counts are the guest kernel's own"
                );
                false
            }
        },
    };
    let mut written = Vec::new();
    let mut problems = Vec::new();
    for (n, (text, spec)) in args.kernels.iter().zip(&specs).enumerate() {
        mmlab_core::cleanup::checkpoint();
        println!();
        println!("== kernel {text}");
        let started = Instant::now();
        let outcome = match spec {
            KernelSpec::Host => run_host(&experiments, &args),
            KernelSpec::Image(path) => match bootable_from_image(path) {
                Ok(kernel) => boot(tools.as_ref(), &kernel, kvm, &experiments, &args, n),
                Err(e) => Outcome {
                    folder: None,
                    problem: Some(format!("{e:#}")),
                },
            },
            KernelSpec::Package(name) => match fetch_package(&args.cache, name) {
                Ok(kernel) => boot(tools.as_ref(), &kernel, kvm, &experiments, &args, n),
                Err(e) => Outcome {
                    folder: None,
                    problem: Some(format!("cannot fetch {name}: {e:#}")),
                },
            },
        };
        mmlab_core::cleanup::checkpoint();
        if let Some(folder) = &outcome.folder {
            written.push(folder.clone());
        }
        match &outcome.problem {
            Some(problem) => {
                eprintln!("mmlab kernels: kernel {text}: {problem}");
                problems.push(text.clone());
            }
            None => println!(
                "  kernel {text} done in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
        }
    }
    println!();
    for folder in &written {
        println!("results: {}", folder.display());
    }
    if written.len() >= 2 {
        println!(
            "compare two kernels: mmlab compare {} {}",
            written[0].display(),
            written[1].display()
        );
    }
    if problems.is_empty() {
        println!(
            "{} kernel(s) done; results in {}",
            specs.len(),
            args.out.display()
        );
        Ok(0)
    } else {
        eprintln!(
            "{} of {} kernel(s) failed: {}",
            problems.len(),
            specs.len(),
            problems.join(", ")
        );
        Ok(1)
    }
}

fn boot(
    tools: Option<&Tools>,
    kernel: &Bootable,
    kvm: bool,
    experiments: &[String],
    args: &KernelsArgs,
    n: usize,
) -> Outcome {
    let Some(tools) = tools else {
        return Outcome {
            folder: None,
            problem: Some("no qemu tools".to_string()),
        };
    };
    println!(
        "  kernel {} from {}{}; {}",
        kernel.release,
        kernel.vmlinuz.display(),
        match &kernel.modules_root {
            Some(root) => format!(
                ", modules from {}",
                root.join("lib/modules").join(&kernel.release).display()
            ),
            None =>
                ", no modules folder beside it (virtio, ext4 and 9p must be built in)".to_string(),
        },
        if kvm {
            "KVM"
        } else {
            mmlab_core::guest::EMULATED
        }
    );
    run_guest(tools, kernel, kvm, experiments, args, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_arguments_are_host_files_or_packages_and_anything_else_is_named() {
        assert_eq!(parse_kernel("host").unwrap(), KernelSpec::Host);
        assert_eq!(
            parse_kernel("linux-image-6.1.0-48-amd64").unwrap(),
            KernelSpec::Package("linux-image-6.1.0-48-amd64".into())
        );
        assert_eq!(
            parse_kernel("6.1.0-48-amd64").unwrap(),
            KernelSpec::Package("linux-image-6.1.0-48-amd64".into())
        );
        assert_eq!(
            parse_kernel("linux-image-amd64").unwrap(),
            KernelSpec::Package("linux-image-amd64".into())
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(
            parse_kernel(file.path().to_str().unwrap()).unwrap(),
            KernelSpec::Image(file.path().to_path_buf())
        );
        for bad in [
            "/no/such/vmlinuz",
            "./vmlinuz-x",
            "banana",
            "linux-image-",
            "6.1;rm",
        ] {
            let e = parse_kernel(bad).unwrap_err().0;
            assert!(e.starts_with(&format!("KERNEL {bad}:")), "{e}");
        }
        assert!(parse_kernel("/").unwrap_err().0.contains("is a folder"));
    }

    #[test]
    fn the_release_is_read_from_a_bzimage_header() {
        let mut image = vec![0u8; 0x1000];
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x20E..0x210].copy_from_slice(&0x300u16.to_le_bytes());
        let text = b"6.1.0-48-amd64 (debian-kernel@lists.debian.org) #1 SMP\0";
        image[0x500..0x500 + text.len()].copy_from_slice(text);
        assert_eq!(bzimage_release(&image).as_deref(), Some("6.1.0-48-amd64"));
        image[0x202] = b'X';
        assert_eq!(bzimage_release(&image), None);
        assert_eq!(bzimage_release(b"short"), None);
    }

    #[test]
    fn modprobe_and_ldd_output_give_the_files_to_copy() {
        let text = "insmod /r/lib/modules/v/kernel/drivers/virtio/virtio.ko \n\
                    builtin crc32c\n\
                    insmod /r/lib/modules/v/kernel/fs/ext4/ext4.ko opt=1\n";
        assert_eq!(
            parse_show_depends(text),
            [
                PathBuf::from("/r/lib/modules/v/kernel/drivers/virtio/virtio.ko"),
                PathBuf::from("/r/lib/modules/v/kernel/fs/ext4/ext4.ko")
            ]
        );
        let ldd = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                   \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                   \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(ldd),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
    }

    #[test]
    fn the_init_script_runs_each_experiment_and_powers_off() {
        let script = init_script(
            &["prot-flags".into(), "lazy-loading".into()],
            &["virtio.ko".into(), "ext4.ko".into()],
        );
        assert!(script.starts_with("#!/bin/busybox sh\n"));
        let insmod = script.find("insmod /lib/modules/mmlab/virtio.ko").unwrap();
        let mount = script.find("mount -t ext4 /dev/vda /scratch").unwrap();
        let first = script.find("/bin/mmlab run prot-flags").unwrap();
        let second = script.find("/bin/mmlab run lazy-loading").unwrap();
        let off = script.rfind("poweroff -f").unwrap();
        assert!(insmod < mount && mount < first && first < second && second < off);
    }

    #[test]
    fn the_console_filter_shows_verdicts_and_the_guests_messages() {
        assert!(shown("  S6   holds-with-nuance right after mmap"));
        assert!(shown("== prot-flags: what do the flags do?"));
        assert!(shown("mmlab-guest: failed: insmod ext4.ko"));
        assert!(!shown("     prot-w-write   expected ok"));
        assert!(!shown("  Size  holds"));
    }
}
