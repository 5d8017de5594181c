//! Scratch filesystems: a filesystem of the lab's own (ext4, xfs, btrfs on a
//! loop device, or tmpfs), mounted where no other process sees it, so that
//! the lab can make *that* filesystem cold (unmount and mount again: its
//! page cache, dentries, inodes and buffers go) without touching anyone
//! else's caches, count its block device's cached pages (the buffer cache
//! of this filesystem alone), and read back what reached storage.
//!
//! How it is kept private and removed on every exit path:
//! - The mount lives in the mount namespace of a small forked *keeper*
//!   process, never in the caller's: the keeper unshares its namespace,
//!   makes every mount in it private (so nothing propagates back), mounts
//!   the filesystem and waits for commands on a pipe. The caller reaches
//!   the files through `/proc/<keeper>/root/<mount point>`, which resolves
//!   in the keeper's namespace. So the main namespace never has the mount,
//!   and a multi-threaded caller (a test harness, signal-hook's thread) can
//!   make one, which `unshare(CLONE_NEWNS)` of the caller itself could not.
//! - The keeper dies with the thread that made it (`PR_SET_PDEATHSIG`,
//!   SIGKILL): on SIGKILL of the lab, Ctrl-C, panic or a normal end, its
//!   namespace ends, which unmounts the filesystem; the loop device is
//!   attached with `LO_FLAGS_AUTOCLEAR`, so it detaches when its last user
//!   (the keeper's descriptor, the mount) goes. Only the image file can
//!   stay behind after SIGKILL: it lies in the run's data folder, which the
//!   next run removes with a warning (`DataDir::remove_leftovers`).
//!
//! The loop and block-device ioctls are written out here: the crates that
//! wrap them (`loopdev`) generate their bindings with bindgen, which needs
//! libclang at build time; the kernel's numbers are a stable ABI.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A kind of scratch filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FsKind {
    Ext4,
    Xfs,
    Btrfs,
    Tmpfs,
}

impl FsKind {
    pub const ALL: [FsKind; 4] = [FsKind::Ext4, FsKind::Xfs, FsKind::Btrfs, FsKind::Tmpfs];

    /// The name as `mount -t` and `--filesystems` write it.
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Ext4 => "ext4",
            FsKind::Xfs => "xfs",
            FsKind::Btrfs => "btrfs",
            FsKind::Tmpfs => "tmpfs",
        }
    }

    /// Parses a name (`ext4`, `xfs`, `btrfs`, `tmpfs`).
    pub fn parse(name: &str) -> Result<FsKind, String> {
        FsKind::ALL
            .into_iter()
            .find(|k| k.name() == name.trim())
            .ok_or_else(|| {
                format!("unknown filesystem {name:?}: use one of ext4, xfs, btrfs, tmpfs")
            })
    }

    /// The mkfs program and its fixed options (the image path follows).
    /// ext4 initialises its inode tables and journal at mkfs time, so no
    /// background thread writes to the device after the mount.
    pub fn mkfs(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            FsKind::Ext4 => Some((
                "mkfs.ext4",
                &[
                    "-q",
                    "-F",
                    "-b",
                    "4096",
                    "-E",
                    "lazy_itable_init=0,lazy_journal_init=0",
                ],
            )),
            FsKind::Xfs => Some(("mkfs.xfs", &["-q", "-f"])),
            FsKind::Btrfs => Some(("mkfs.btrfs", &["-q", "-f"])),
            FsKind::Tmpfs => None,
        }
    }

    /// The Debian package that provides the mkfs program.
    pub fn package(self) -> Option<&'static str> {
        match self {
            FsKind::Ext4 => Some("e2fsprogs"),
            FsKind::Xfs => Some("xfsprogs"),
            FsKind::Btrfs => Some("btrfs-progs"),
            FsKind::Tmpfs => None,
        }
    }

    /// The smallest image its mkfs accepts, rounded up (xfs refuses less
    /// than 300 MiB in current xfsprogs, btrfs less than 114 MiB).
    pub fn min_size_bytes(self) -> u64 {
        match self {
            FsKind::Xfs => 320 << 20,
            FsKind::Btrfs => 128 << 20,
            FsKind::Ext4 | FsKind::Tmpfs => 16 << 20,
        }
    }
}

impl std::fmt::Display for FsKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The version line of `kind`'s mkfs (`mke2fs 1.47.0 (5-Feb-2023)`,
/// `mkfs.xfs version 6.1.0`, ...), none for tmpfs or when it cannot run.
pub fn mkfs_version(kind: FsKind) -> Option<String> {
    let (program, _) = kind.mkfs()?;
    let flag = if kind == FsKind::Btrfs {
        "--version"
    } else {
        "-V"
    };
    let output = Command::new(which(program)?).arg(flag).output().ok()?;
    [output.stdout, output.stderr]
        .iter()
        .flat_map(|bytes| {
            String::from_utf8_lossy(bytes)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .map(|line| line.trim().to_string())
        .find(|line| !line.is_empty())
}

/// Whether `kind`'s mkfs is installed (always true for tmpfs).
pub fn mkfs_installed(kind: FsKind) -> bool {
    kind.mkfs()
        .is_none_or(|(program, _)| which(program).is_some())
}

/// Whether this machine can make `kind` here, or why not with the remedy.
pub fn availability(kind: FsKind) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err(format!(
            "a scratch {kind} needs root (mount, loop devices): run as root"
        ));
    }
    if !filesystem_known_to_kernel(kind) {
        return Err(format!(
            "this kernel has no {kind} (not in /proc/filesystems, and modprobe {kind} did not add it)"
        ));
    }
    if kind == FsKind::Tmpfs {
        return Ok(());
    }
    if !Path::new("/dev/loop-control").exists() {
        return Err(
            "no /dev/loop-control: this machine (or container) has no loop devices; \
             on a VM or bare metal: modprobe loop"
                .into(),
        );
    }
    let (program, _) = kind.mkfs().expect("a block filesystem");
    if which(program).is_none() {
        return Err(format!(
            "{program} is not installed: apt-get install {}",
            kind.package().unwrap_or("its mkfs")
        ));
    }
    Ok(())
}

/// The kinds this machine can make, each with its availability.
pub fn kinds_here() -> Vec<(FsKind, Result<(), String>)> {
    FsKind::ALL
        .into_iter()
        .map(|k| (k, availability(k)))
        .collect()
}

fn filesystem_known_to_kernel(kind: FsKind) -> bool {
    let listed = || {
        std::fs::read_to_string("/proc/filesystems").is_ok_and(|t| {
            t.lines()
                .any(|l| l.split_whitespace().last() == Some(kind.name()))
        })
    };
    // A module loads on first mount anyway; /proc/filesystems lists only
    // loaded ones, so a kind missing there is not yet a refusal.
    listed() || modules_dir_has(kind.name())
}

fn modules_dir_has(name: &str) -> bool {
    let Ok(uname) = nix::sys::utsname::uname() else {
        return false;
    };
    let dir = Path::new("/lib/modules")
        .join(uname.release())
        .join("kernel/fs")
        .join(name);
    dir.is_dir()
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

// Loop and block-device ioctls (linux/loop.h, linux/fs.h): stable ABI.
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;
const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CONFIGURE: libc::c_ulong = 0x4C0A;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
const BLKFLSBUF: libc::c_ulong = 0x1261;
const FS_IOC_FIEMAP: libc::c_ulong = 0xC020_660B;
const FIEMAP_FLAG_SYNC: u32 = 1;
const FIEMAP_EXTENT_LAST: u32 = 0x1;
/// Extents whose bytes are not plainly at `fe_physical` on the device.
const FIEMAP_EXTENT_NOT_PLAIN: u32 = 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x800;

#[repr(C)]
#[derive(Clone, Copy)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FiemapExtent {
    fe_logical: u64,
    fe_physical: u64,
    fe_length: u64,
    fe_reserved64: [u64; 2],
    fe_flags: u32,
    fe_reserved: [u32; 3],
}

#[repr(C)]
struct Fiemap<const N: usize> {
    fm_start: u64,
    fm_length: u64,
    fm_flags: u32,
    fm_mapped_extents: u32,
    fm_extent_count: u32,
    fm_reserved: u32,
    fm_extents: [FiemapExtent; N],
}

fn os_error(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// Attaches `image` to a free loop device with autoclear; returns the
/// device's path and an open descriptor of it.
fn attach_loop(image: &File) -> Result<(PathBuf, File), String> {
    let control = OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/loop-control")
        .map_err(|e| format!("cannot open /dev/loop-control: {e}"))?;
    let mut last = String::new();
    // Another process may take the free device between GET_FREE and the
    // attach (EBUSY): ask again.
    for _ in 0..16 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let number = unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) };
        if number < 0 {
            return Err(os_error("LOOP_CTL_GET_FREE on /dev/loop-control"));
        }
        let path = PathBuf::from(format!("/dev/loop{number}"));
        let device = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(d) => d,
            Err(e) => {
                last = format!("cannot open {}: {e}", path.display());
                continue;
            }
        };
        // SAFETY: all-zero is a valid loop_info64.
        let mut info: LoopInfo64 = unsafe { std::mem::zeroed() };
        info.lo_flags = LO_FLAGS_AUTOCLEAR;
        let config = LoopConfig {
            fd: image.as_raw_fd() as u32,
            block_size: 0,
            info,
            reserved: [0; 8],
        };
        // SAFETY: LOOP_CONFIGURE reads a loop_config (Linux 5.8+).
        let configured = unsafe { libc::ioctl(device.as_raw_fd(), LOOP_CONFIGURE, &config) };
        if configured == 0 {
            return Ok((path, device));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EBUSY) {
            last = format!("{} was taken meanwhile", path.display());
            continue;
        }
        // Older kernels: LOOP_SET_FD, then the flags.
        // SAFETY: LOOP_SET_FD takes the backing file's descriptor.
        if unsafe { libc::ioctl(device.as_raw_fd(), LOOP_SET_FD, image.as_raw_fd()) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EBUSY) {
                last = format!("{} was taken meanwhile", path.display());
                continue;
            }
            return Err(format!("LOOP_SET_FD on {}: {err}", path.display()));
        }
        // SAFETY: LOOP_SET_STATUS64 reads a loop_info64.
        if unsafe { libc::ioctl(device.as_raw_fd(), LOOP_SET_STATUS64, &info) } != 0 {
            let why = os_error(&format!("LOOP_SET_STATUS64 on {}", path.display()));
            // SAFETY: detaches what was attached just above.
            unsafe { libc::ioctl(device.as_raw_fd(), LOOP_CLR_FD, 0) };
            return Err(why);
        }
        return Ok((path, device));
    }
    Err(format!("no free loop device could be attached ({last})"))
}

/// What the keeper is asked to do.
const CMD_COLD: u8 = b'c';
const CMD_QUIT: u8 = b'q';

/// A filesystem of the lab's own, mounted in a keeper process's private
/// mount namespace (see the module's documentation). Dropping it unmounts
/// it, detaches its loop device and removes its image.
#[derive(Debug)]
pub struct ScratchFs {
    kind: FsKind,
    image: Option<PathBuf>,
    loop_device: Option<PathBuf>,
    mount_point: PathBuf,
    keeper: libc::pid_t,
    commands: Option<File>,
    replies: File,
    mkfs_command: Option<String>,
    mount_options: String,
    size_bytes: u64,
}

impl ScratchFs {
    /// Makes a scratch `kind` of `size_bytes` (raised to the kind's
    /// minimum) under `dir` (the run's data folder): image `dir/<kind>.img`,
    /// mount point `dir/<kind>-mnt` (empty in every namespace but the
    /// keeper's). The error says why, with the remedy.
    pub fn create(kind: FsKind, dir: &Path, size_bytes: u64) -> Result<ScratchFs, String> {
        availability(kind)?;
        let size_bytes = size_bytes.max(kind.min_size_bytes());
        let dir = std::fs::canonicalize(dir)
            .map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
        let mount_point = dir.join(format!("{kind}-mnt"));
        std::fs::create_dir_all(&mount_point)
            .map_err(|e| format!("cannot make {}: {e}", mount_point.display()))?;
        let (image, mkfs_command, device) = match kind.mkfs() {
            None => (None, None, None),
            Some((program, options)) => {
                let image = dir.join(format!("{kind}.img"));
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&image)
                    .map_err(|e| format!("cannot make {}: {e}", image.display()))?;
                file.set_len(size_bytes)
                    .map_err(|e| format!("cannot size {}: {e}", image.display()))?;
                let output = Command::new(which(program).expect("checked by availability"))
                    .args(options)
                    .arg(&image)
                    .output()
                    .map_err(|e| format!("cannot run {program}: {e}"))?;
                if !output.status.success() {
                    let _ = std::fs::remove_file(&image);
                    return Err(format!(
                        "{program} failed ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ));
                }
                let command = format!("{program} {} <image>", options.join(" "));
                let attached = attach_loop(&file);
                drop(file);
                match attached {
                    Ok((path, device)) => (Some(image), Some(command), Some((path, device))),
                    Err(why) => {
                        let _ = std::fs::remove_file(&image);
                        return Err(why);
                    }
                }
            }
        };
        let mount_options = match kind {
            FsKind::Tmpfs => format!("size={size_bytes}"),
            _ => String::new(),
        };
        let source = match &device {
            Some((path, _)) => path.as_os_str().as_bytes().to_vec(),
            None => b"tmpfs".to_vec(),
        };
        let cstr =
            |bytes: &[u8]| CString::new(bytes).map_err(|_| "a path with a NUL byte".to_string());
        let plan = KeeperPlan {
            source: cstr(&source)?,
            target: cstr(mount_point.as_os_str().as_bytes())?,
            fs_type: cstr(kind.name().as_bytes())?,
            options: cstr(mount_options.as_bytes())?,
        };
        let (commands_read, commands_write) = pipe()?;
        let (replies_read, replies_write) = pipe()?;
        // SAFETY: the child runs only async-signal-safe system calls on
        // data prepared above (see `keeper`), then _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(os_error("fork of the scratch filesystem's keeper"));
        }
        if pid == 0 {
            // The keeper keeps the loop device open (its fd is inherited)
            // so that autoclear cannot detach it between an unmount and
            // the mount that follows; every other inherited descriptor
            // (other threads' files, perhaps on another scratch
            // filesystem, which they could then not unmount) is closed.
            let keep = [
                commands_read.as_raw_fd(),
                replies_write.as_raw_fd(),
                device.as_ref().map_or(-1, |(_, d)| d.as_raw_fd()),
            ];
            keeper(&plan, &keep, commands_read, replies_write);
        }
        drop(commands_read);
        drop(replies_write);
        let loop_device = device.map(|(path, file)| {
            drop(file); // the keeper holds its own descriptor
            path
        });
        let mut scratch = ScratchFs {
            kind,
            image,
            loop_device,
            mount_point,
            keeper: pid,
            commands: Some(commands_write),
            replies: replies_read,
            mkfs_command,
            mount_options,
            size_bytes,
        };
        scratch.reply("mount")?;
        Ok(scratch)
    }

    pub fn kind(&self) -> FsKind {
        self.kind
    }

    /// The filesystem's root as this process reaches it
    /// (`/proc/<keeper>/root/<mount point>`).
    pub fn root(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root", self.keeper)).join(
            self.mount_point
                .strip_prefix("/")
                .unwrap_or(&self.mount_point),
        )
    }

    /// The loop device (`/dev/loopN`), none for tmpfs.
    pub fn loop_device(&self) -> Option<&Path> {
        self.loop_device.as_deref()
    }

    /// The image file, none for tmpfs.
    pub fn image(&self) -> Option<&Path> {
        self.image.as_deref()
    }

    /// The mkfs command and its fixed options, none for tmpfs.
    pub fn mkfs_command(&self) -> Option<&str> {
        self.mkfs_command.as_deref()
    }

    /// The mount options given (empty for the block filesystems).
    pub fn mount_options(&self) -> &str {
        &self.mount_options
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// What the result records about this filesystem.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.name(),
            "size_bytes": self.size_bytes,
            "mkfs": self.mkfs_command,
            "mkfs_version": mkfs_version(self.kind),
            "mount_options": self.mount_options,
            "loop_device": self.loop_device.as_ref().map(|p| p.display().to_string()),
        })
    }

    /// Unmounts and mounts it again: its page cache, dentries, inodes and
    /// buffers are gone (tmpfs: unsupported, its files live only in memory).
    /// Every file of it must be closed.
    pub fn make_cold(&mut self) -> Result<(), String> {
        if self.kind == FsKind::Tmpfs {
            return Err("tmpfs cannot be made cold: its files exist only in memory".into());
        }
        self.command(CMD_COLD, "unmount and mount again")
    }

    /// Pages of the loop device that are in the page cache: the buffer
    /// cache of this filesystem alone. Counted with cachestat(2), not
    /// mincore: metadata read block by block through buffer heads leaves
    /// its folios not up to date as a whole, and mincore reports those as
    /// absent (checked on Linux 6.18: a mount reads the superblock, and
    /// mincore on the device still says 0 pages).
    pub fn device_cached_pages(&self) -> Result<u64, String> {
        let path = self
            .loop_device
            .as_ref()
            .ok_or("tmpfs has no block device")?;
        let device =
            File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        crate::pages::cachestat(std::os::fd::AsFd::as_fd(&device))
            .map(|c| c.n_cached)
            .map_err(|e| format!("{} of {}", e, path.display()))
    }

    /// Writes back and drops the loop device's cached pages (BLKFLSBUF).
    pub fn flush_device(&self) -> Result<(), String> {
        let path = self
            .loop_device
            .as_ref()
            .ok_or("tmpfs has no block device")?;
        let device =
            File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // SAFETY: BLKFLSBUF takes no argument.
        if unsafe { libc::ioctl(device.as_raw_fd(), BLKFLSBUF, 0) } != 0 {
            return Err(os_error(&format!("BLKFLSBUF on {}", path.display())));
        }
        Ok(())
    }

    /// The bytes of `file` (a path under [`ScratchFs::root`]) as they lie in
    /// the image: its extents from FIEMAP (with FIEMAP_FLAG_SYNC, which
    /// writes the file back first), then O_DIRECT reads of the image, past
    /// every cache. Holes read as zeros. An extent that is not plainly on
    /// the device (inline, encoded, unwritten, delayed) is an error naming it.
    pub fn stored_bytes(&self, file: &Path) -> Result<Vec<u8>, String> {
        self.read_stored(file, true)
    }

    /// [`ScratchFs::stored_bytes`] without writing the file back first:
    /// what storage holds *now*, dirty pages left dirty. For a file whose
    /// blocks are allocated and overwritten in place (ext4, xfs; not a
    /// copy-on-write filesystem such as btrfs, whose new extents appear
    /// only after writeback); an extent not yet allocated is an error.
    pub fn stored_bytes_now(&self, file: &Path) -> Result<Vec<u8>, String> {
        self.read_stored(file, false)
    }

    fn read_stored(&self, file: &Path, sync: bool) -> Result<Vec<u8>, String> {
        let image = self.image.as_ref().ok_or("tmpfs has no storage")?;
        let handle =
            File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
        let len = handle
            .metadata()
            .map_err(|e| format!("cannot stat {}: {e}", file.display()))?
            .len();
        let extents =
            fiemap(&handle, sync).map_err(|e| format!("FIEMAP of {}: {e}", file.display()))?;
        let direct = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECT)
            .open(image)
            .map_err(|e| format!("cannot open {} with O_DIRECT: {e}", image.display()))?;
        let mut bytes = vec![0u8; len as usize];
        let align = 4096u64;
        for extent in extents {
            if extent.fe_flags & FIEMAP_EXTENT_NOT_PLAIN != 0 {
                return Err(format!(
                    "{} has an extent that is not plainly on the device (flags {:#x})",
                    file.display(),
                    extent.fe_flags
                ));
            }
            let start = extent.fe_logical.min(len);
            let end = (extent.fe_logical + extent.fe_length).min(len);
            if start >= end {
                continue;
            }
            let physical = extent.fe_physical + (start - extent.fe_logical);
            let from = physical / align * align;
            let to = (physical + (end - start)).div_ceil(align) * align;
            let mut buffer = AlignedBuffer::new((to - from) as usize, align as usize);
            direct
                .read_exact_at(buffer.as_mut(), from)
                .map_err(|e| format!("O_DIRECT read of {} at {from}: {e}", image.display()))?;
            let skip = (physical - from) as usize;
            bytes[start as usize..end as usize]
                .copy_from_slice(&buffer.as_mut()[skip..skip + (end - start) as usize]);
        }
        Ok(bytes)
    }

    fn command(&mut self, command: u8, what: &str) -> Result<(), String> {
        let commands = self.commands.as_mut().ok_or("the keeper is gone")?;
        commands
            .write_all(&[command])
            .map_err(|e| format!("cannot ask the keeper to {what}: {e}"))?;
        self.reply(what)
    }

    /// Waits for the keeper's answer: 0, or the errno and the step.
    fn reply(&mut self, what: &str) -> Result<(), String> {
        let mut answer = [0u8; 8];
        self.replies.read_exact(&mut answer).map_err(|e| {
            format!(
                "the {} keeper (pid {}) ended without answering {what}: {e}",
                self.kind, self.keeper
            )
        })?;
        let errno = i32::from_ne_bytes(answer[0..4].try_into().expect("4 bytes"));
        let step = u32::from_ne_bytes(answer[4..8].try_into().expect("4 bytes"));
        if errno == 0 {
            return Ok(());
        }
        let step = match step {
            STEP_PDEATHSIG => "prctl(PR_SET_PDEATHSIG)",
            STEP_UNSHARE => "unshare(CLONE_NEWNS)",
            STEP_PRIVATE => "mount --make-rprivate /",
            STEP_MOUNT => "mount",
            STEP_UMOUNT => "umount",
            _ => "?",
        };
        Err(format!(
            "{what} of the scratch {} failed at {step}: {}",
            self.kind,
            std::io::Error::from_raw_os_error(errno)
        ))
    }
}

impl Drop for ScratchFs {
    fn drop(&mut self) {
        // Closing the command pipe makes the keeper unmount and exit.
        if let Some(mut commands) = self.commands.take() {
            let _ = commands.write_all(&[CMD_QUIT]);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut status = 0;
            // SAFETY: waits for our own child.
            let done = unsafe { libc::waitpid(self.keeper, &mut status, libc::WNOHANG) };
            if done != 0 {
                break;
            }
            if Instant::now() > deadline {
                // SAFETY: kills and reaps our own child; its namespace's
                // end unmounts the filesystem.
                unsafe {
                    libc::kill(self.keeper, libc::SIGKILL);
                    libc::waitpid(self.keeper, &mut status, 0);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(image) = &self.image {
            let _ = std::fs::remove_file(image);
        }
        let _ = std::fs::remove_dir(&self.mount_point);
        // Autoclear detaches the loop device once the unmount has closed
        // it; wait a little for that to be visible.
        if let Some(device) = &self.loop_device {
            let backing = loop_backing_file(device);
            let until = Instant::now() + Duration::from_secs(2);
            while loop_backing_file(device).is_some() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = backing;
        }
    }
}

/// The backing file of a loop device, `None` when it is detached.
pub fn loop_backing_file(device: &Path) -> Option<PathBuf> {
    let name = device.file_name()?.to_str()?;
    std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file"))
        .ok()
        .map(|s| PathBuf::from(s.trim()))
}

/// Every attached loop device and its backing file (from /sys/block).
pub fn attached_loop_devices() -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    let mut devices: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            name.starts_with("loop").then_some(())?;
            let backing = loop_backing_file(&Path::new("/dev").join(&name))?;
            Some((name, backing))
        })
        .collect();
    devices.sort();
    devices
}

struct KeeperPlan {
    source: CString,
    target: CString,
    fs_type: CString,
    options: CString,
}

const STEP_PDEATHSIG: u32 = 1;
const STEP_UNSHARE: u32 = 2;
const STEP_PRIVATE: u32 = 3;
const STEP_MOUNT: u32 = 4;
const STEP_UMOUNT: u32 = 5;

/// The forked keeper: only async-signal-safe system calls (the parent may
/// have other threads), never returns.
fn keeper(plan: &KeeperPlan, keep: &[i32; 3], commands: File, replies: File) -> ! {
    let replies = replies.as_raw_fd();
    let commands = commands.as_raw_fd();
    close_all_but(keep);
    let answer = |errno: i32, step: u32| {
        let mut bytes = [0u8; 8];
        bytes[0..4].copy_from_slice(&errno.to_ne_bytes());
        bytes[4..8].copy_from_slice(&step.to_ne_bytes());
        // SAFETY: write(2) of a local buffer.
        unsafe { libc::write(replies, bytes.as_ptr().cast(), 8) };
    };
    let errno = || {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    let fail = |step: u32| -> ! {
        answer(errno(), step);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(1) }
    };
    let options = if plan.options.as_bytes().is_empty() {
        std::ptr::null()
    } else {
        plan.options.as_ptr().cast()
    };
    let mount = || {
        // SAFETY: mount(2) with NUL-terminated strings prepared before fork.
        unsafe {
            libc::mount(
                plan.source.as_ptr(),
                plan.target.as_ptr(),
                plan.fs_type.as_ptr(),
                libc::MS_NOATIME,
                options,
            )
        }
    };
    // SAFETY (all calls below): raw system calls on prepared data.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            fail(STEP_PDEATHSIG);
        }
        // The parent may have died before the prctl took effect.
        if libc::getppid() == 1 {
            libc::_exit(1);
        }
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            fail(STEP_UNSHARE);
        }
        if libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            fail(STEP_PRIVATE);
        }
        if mount() != 0 {
            fail(STEP_MOUNT);
        }
        answer(0, 0);
        loop {
            let mut command = 0u8;
            let n = libc::read(commands, (&raw mut command).cast(), 1);
            if n == 1 && command == CMD_COLD {
                if libc::umount2(plan.target.as_ptr(), 0) != 0 {
                    answer(errno(), STEP_UMOUNT);
                    continue;
                }
                if mount() != 0 {
                    fail(STEP_MOUNT);
                }
                answer(0, 0);
                continue;
            }
            if n == 1 && command != CMD_QUIT {
                continue;
            }
            // Quit, end of file or an error: unmount and leave.
            libc::umount2(plan.target.as_ptr(), libc::MNT_DETACH);
            libc::_exit(0);
        }
    }
}

/// Closes every descriptor from 3 up except `keep` (close_range(2),
/// Linux 5.9+, else one close(2) per descriptor): no allocation, only
/// system calls, as the keeper may run no more after fork.
fn close_all_but(keep: &[i32; 3]) {
    let mut sorted = *keep;
    sorted.sort_unstable();
    let mut from: i32 = 3;
    for fd in sorted.into_iter().chain([i32::MAX]) {
        if fd < from {
            continue;
        }
        if fd > from {
            let to = if fd == i32::MAX {
                u32::MAX
            } else {
                (fd - 1) as u32
            };
            // SAFETY: closes descriptors of this (forked) process only.
            let rc = unsafe { libc::syscall(libc::SYS_close_range, from as u32, to, 0u32) };
            if rc != 0 {
                let last = if fd == i32::MAX { 65_536 } else { fd };
                for other in from..last {
                    // SAFETY: as above.
                    unsafe { libc::close(other) };
                }
            }
        }
        if fd == i32::MAX {
            break;
        }
        from = fd + 1;
    }
}

fn pipe() -> Result<(File, File), String> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(os_error("pipe2"));
    }
    // SAFETY: both descriptors were just made and are owned here.
    Ok(unsafe {
        (
            File::from(OwnedFd::from_raw_fd(fds[0])),
            File::from(OwnedFd::from_raw_fd(fds[1])),
        )
    })
}

/// The extents of `file` (FIEMAP, after writing it back).
fn fiemap(file: &File, sync: bool) -> Result<Vec<FiemapExtent>, String> {
    let mut extents = Vec::new();
    let mut start = 0u64;
    loop {
        let mut request = Fiemap::<64> {
            fm_start: start,
            fm_length: u64::MAX - start,
            fm_flags: if sync { FIEMAP_FLAG_SYNC } else { 0 },
            fm_mapped_extents: 0,
            fm_extent_count: 64,
            fm_reserved: 0,
            fm_extents: [FiemapExtent::default(); 64],
        };
        // SAFETY: FS_IOC_FIEMAP reads the header and writes up to
        // fm_extent_count extents into the array that follows it.
        if unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_FIEMAP, &mut request) } != 0 {
            return Err(std::io::Error::last_os_error().to_string());
        }
        let got = &request.fm_extents[..request.fm_mapped_extents as usize];
        extents.extend_from_slice(got);
        match got.last() {
            Some(last) if last.fe_flags & FIEMAP_EXTENT_LAST == 0 => {
                start = last.fe_logical + last.fe_length;
            }
            _ => return Ok(extents),
        }
    }
}

/// A heap buffer aligned for O_DIRECT.
struct AlignedBuffer {
    storage: Vec<u8>,
    offset: usize,
    len: usize,
}

impl AlignedBuffer {
    fn new(len: usize, align: usize) -> AlignedBuffer {
        let storage = vec![0u8; len + align];
        let offset = storage.as_ptr().align_offset(align);
        AlignedBuffer {
            storage,
            offset,
            len,
        }
    }

    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.offset..self.offset + self.len]
    }
}
