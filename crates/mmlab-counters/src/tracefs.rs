//! Tracepoint ids from tracefs, wherever it is mounted; when it is mounted
//! nowhere and the process is root, tracefs is mounted on a private, fresh
//! directory just long enough to read the ids, then unmounted and the
//! directory removed (also on Ctrl-C, through `mmlab_core::cleanup`). Ids are
//! cached for the life of the process, so this happens at most once per new
//! tracepoint name. A tracefs that is mounted but not readable by this user
//! (its root is mode 0700) is said to be so, not called unmounted: mounting
//! it again would not help, running as root would.
//!
//! Why a private directory and not `/sys/kernel/tracing`: other processes
//! (tests of other crates, `mmlab trace`) may look at or mount
//! `/sys/kernel/tracing` at the same time; a mount of ours there could be
//! taken by them for the machine's own and vanish under them when we unmount
//! it. A mount on a directory nobody else knows cannot race with anyone, and
//! the machine's mount table is the same before and after.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the README and the error messages tell a user to run.
pub const MOUNT_HINT: &str = "mount -t tracefs nodev /sys/kernel/tracing";

/// Why a tracepoint id could not be found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdError {
    /// tracefs was readable and has no such event: bad input.
    NoSuchTracepoint { path: PathBuf },
    /// tracefs cannot be read here: the event becomes unavailable with this
    /// reason.
    Unavailable(String),
}

static CACHE: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// Resolves `subsystem:name` tracepoints to their ids. Holds a process-wide
/// lock for the duration, so threads never race to mount.
pub(crate) fn resolve(
    names: &[(String, String)],
) -> HashMap<(String, String), Result<u64, IdError>> {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    let cache = cache.get_or_insert_with(HashMap::new);
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for (sys, name) in names {
        match cache.get(&format!("{sys}:{name}")) {
            Some(id) => {
                out.insert((sys.clone(), name.clone()), Ok(*id));
            }
            None => missing.push((sys.clone(), name.clone())),
        }
    }
    if missing.is_empty() {
        return out;
    }
    let unavailable = |reason: String| {
        missing
            .iter()
            .map(|key| (key.clone(), Err(IdError::Unavailable(reason.clone()))))
            .collect::<Vec<_>>()
    };
    let results = match status() {
        Status::Readable(dir) => {
            let results = read_ids(&dir, &missing);
            // A tracefs mounted by someone else can be unmounted between the
            // look at the mount table and the reads (seen once in about ten
            // runs of the seccomp tests): what looked missing there is
            // looked up again in a mount of our own before it is called
            // nonexistent. A real typo is missing there too.
            let vanished = results
                .iter()
                .any(|(_, r)| matches!(r, Err(IdError::NoSuchTracepoint { .. })));
            if vanished && mmlab_core::fingerprint::is_root() && !dir.join("events").is_dir() {
                match PrivateMount::new() {
                    Ok(mount) => read_ids(&mount.dir, &missing),
                    Err(_) => results,
                }
            } else {
                results
            }
        }
        // Not for root: a mount it cannot read (no CAP_DAC_OVERRIDE) is
        // better answered by a private mount of its own.
        Status::Unreadable { reason, .. } if !mmlab_core::fingerprint::is_root() => {
            unavailable(reason)
        }
        _ if mmlab_core::fingerprint::is_root() => match PrivateMount::new() {
            Ok(mount) => read_ids(&mount.dir, &missing),
            Err(reason) => unavailable(reason),
        },
        _ => unavailable(format!("no tracefs: mount it with {MOUNT_HINT}")),
    };
    for (key, result) in results {
        if let Ok(id) = result {
            cache.insert(format!("{}:{}", key.0, key.1), id);
        }
        out.insert(key, result);
    }
    out
}

/// Where tracefs stands for this user, found without mounting anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Mounted, and its `events` folder readable, at this directory.
    Readable(PathBuf),
    /// Mounted, but this user may not look inside (tracefs's root is mode
    /// 0700, so every user but root is refused with EACCES). Not the same
    /// as not mounted: mounting it again would not help.
    Unreadable { dir: PathBuf, reason: String },
    /// Mounted nowhere (neither tracefs nor `<debugfs>/tracing`).
    NotMounted,
}

/// Where tracefs is mounted now and whether this user can read it: the
/// first readable mount (tracefs mount points, the canonical one first, then
/// `<debugfs>/tracing` where debugfs is mounted), else the first one that
/// refused this user, else none.
pub fn status() -> Status {
    let mounts =
        mmlab_core::proc::mounts().unwrap_or_else(|_| mmlab_core::proc::MountInfos(Vec::new()));
    // (tracefs folder, its mount point), the canonical one first.
    let mut candidates: Vec<(PathBuf, PathBuf)> = Vec::new();
    for mount in &mounts {
        let point = mount.mount_point.clone();
        let dir = match mount.fs_type.as_str() {
            "tracefs" => point.clone(),
            "debugfs" => point.join("tracing"),
            _ => continue,
        };
        if candidates.iter().any(|(d, _)| *d == dir) {
            continue;
        }
        if dir == Path::new("/sys/kernel/tracing") {
            candidates.insert(0, (dir, point));
        } else {
            candidates.push((dir, point));
        }
    }
    let mut refused = None;
    for (dir, point) in candidates {
        match std::fs::metadata(dir.join("events")) {
            Ok(meta) if meta.is_dir() => return Status::Readable(dir),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && refused.is_none() => {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&point)
                    .ok()
                    .map(|m| m.permissions().mode() & 0o7777);
                let reason = unreadable_reason(&dir, &point, mode);
                refused = Some(Status::Unreadable { dir, reason });
            }
            // A debugfs without tracing, or an odd mount: not tracefs here.
            _ => {}
        }
    }
    refused.unwrap_or(Status::NotMounted)
}

/// Why a mounted tracefs at `dir` cannot be used by this user, who was
/// refused (EACCES) below `mount_point` (the tracefs root itself, or the
/// debugfs that holds `tracing`), whose mode is `mode`.
fn unreadable_reason(dir: &Path, mount_point: &Path, mode: Option<u32>) -> String {
    let why = match mode {
        Some(mode) if mount_point == dir => format!("mode {mode:04o}"),
        Some(mode) => format!("mode {mode:04o} on {}", mount_point.display()),
        None => "permission denied".to_string(),
    };
    format!(
        "tracefs is mounted at {} but not readable by this user ({why}): run as root",
        dir.display()
    )
}

fn read_ids(
    dir: &Path,
    keys: &[(String, String)],
) -> Vec<((String, String), Result<u64, IdError>)> {
    keys.iter()
        .map(|(sys, name)| {
            let path = dir.join("events").join(sys).join(name).join("id");
            let result = match std::fs::read_to_string(&path) {
                Ok(text) => text.trim().parse::<u64>().map_err(|e| {
                    IdError::Unavailable(format!("cannot parse {}: {e}", path.display()))
                }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // Named as under the canonical mount point, not under a
                    // private one that is gone by the time anyone reads it.
                    let shown = Path::new("/sys/kernel/tracing/events").join(sys).join(name);
                    Err(IdError::NoSuchTracepoint { path: shown })
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    Err(IdError::Unavailable(format!(
                        "denied: cannot read {} (permission denied; run as root)",
                        path.display()
                    )))
                }
                Err(e) => Err(IdError::Unavailable(format!(
                    "cannot read {}: {e}",
                    path.display()
                ))),
            };
            ((sys.clone(), name.clone()), result)
        })
        .collect()
}

/// tracefs mounted on a fresh directory; unmounted and removed on drop, or
/// on Ctrl-C by the cleanup guard.
struct PrivateMount {
    dir: PathBuf,
    _guard: mmlab_core::cleanup::Guard,
}

impl PrivateMount {
    fn new() -> Result<PrivateMount, String> {
        let template = std::env::temp_dir().join("mmlab-tracefs-XXXXXX");
        let dir = nix::unistd::mkdtemp(&template)
            .map_err(|e| format!("no tracefs: mkdtemp {}: {e}", template.display()))?;
        if let Err(e) = mount_tracefs(&dir) {
            let _ = std::fs::remove_dir(&dir);
            return Err(format!(
                "no tracefs: mount -t tracefs nodev {} failed ({e}); mount it with {MOUNT_HINT}",
                dir.display()
            ));
        }
        let undo_dir = dir.clone();
        let guard = mmlab_core::cleanup::on_exit(
            format!("unmount tracefs from {}", dir.display()),
            move || {
                if let Err(e) = unmount(&undo_dir) {
                    eprintln!("warning: umount {}: {e}", undo_dir.display());
                }
                let _ = std::fs::remove_dir(&undo_dir);
            },
        );
        Ok(PrivateMount { dir, _guard: guard })
    }
}

fn c_path(path: &Path) -> std::io::Result<CString> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// mount("nodev", dir, "tracefs", 0, NULL).
fn mount_tracefs(dir: &Path) -> std::io::Result<()> {
    let target = c_path(dir)?;
    // SAFETY: every pointer is a valid NUL-terminated string that outlives
    // the call; data may be NULL.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// umount2(dir, 0), falling back to a lazy unmount if it is busy.
fn unmount(dir: &Path) -> std::io::Result<()> {
    let target = c_path(dir)?;
    // SAFETY: `target` is a valid NUL-terminated path for both calls.
    let rc = unsafe { libc::umount2(target.as_ptr(), 0) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EBUSY) {
        // SAFETY: as above.
        if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } == 0 {
            return Ok(());
        }
        return Err(std::io::Error::last_os_error());
    }
    Err(err)
}

/// The id of tracepoint `subsystem:name` (mounting tracefs privately for the
/// lookup if needed, as for a counter set), or why there is none.
pub fn tracepoint_id(event: &str) -> Result<u64, String> {
    let (sys, name) = event
        .split_once(':')
        .ok_or_else(|| format!("{event:?} is not subsystem:name"))?;
    let key = (sys.to_string(), name.to_string());
    match resolve(std::slice::from_ref(&key)).remove(&key) {
        Some(Ok(id)) => Ok(id),
        Some(Err(IdError::NoSuchTracepoint { path })) => Err(format!(
            "tracepoint {event} does not exist: no {} in tracefs",
            path.display()
        )),
        Some(Err(IdError::Unavailable(reason))) => Err(reason),
        None => Err(format!("tracepoint {event} was not resolved")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mounted_but_unreadable_tracefs_is_not_called_unmounted() {
        let canonical = Path::new("/sys/kernel/tracing");
        assert_eq!(
            unreadable_reason(canonical, canonical, Some(0o700)),
            "tracefs is mounted at /sys/kernel/tracing but not readable by this user \
             (mode 0700): run as root"
        );
        assert_eq!(
            unreadable_reason(
                Path::new("/sys/kernel/debug/tracing"),
                Path::new("/sys/kernel/debug"),
                Some(0o700)
            ),
            "tracefs is mounted at /sys/kernel/debug/tracing but not readable by this user \
             (mode 0700 on /sys/kernel/debug): run as root"
        );
        assert!(unreadable_reason(canonical, canonical, None).contains("(permission denied)"));
    }
}
