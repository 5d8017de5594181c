//! A memory cgroup made for one run: a child of this process's own memory
//! cgroup, with a memory limit, for a child process that must find the page
//! cache smaller than the machine's. Made only when a user asks for it
//! (`mmlab run repeated-access --memory-limit 128m`), removed afterwards,
//! also on Ctrl-C, SIGTERM and panic. The process's own cgroup is never
//! changed: no controller is enabled, no limit is set on it, and no process
//! leaves it (the child cgroup sits inside it, so its limits still apply).
//!
//! Both hierarchies are handled: cgroup v1 (a `cgroup` mount with the
//! `memory` controller; the limit is `memory.limit_in_bytes`) and cgroup v2
//! (the `cgroup2` mount; the limit is `memory.max`, and the memory
//! controller must already be enabled for children in the own cgroup's
//! `cgroup.subtree_control`). The page cache a process brings in is charged
//! to its memory cgroup in both, so a limit smaller than a file keeps only
//! part of the file cached for the processes inside.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cleanup::{Guard, on_exit_checked};
use crate::format_size;

/// Which cgroup hierarchy holds the memory controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

impl CgroupVersion {
    /// The file that holds the limit.
    pub fn limit_file(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "memory.limit_in_bytes",
            CgroupVersion::V2 => "memory.max",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::V2 => "cgroup v2",
        }
    }
}

/// The smallest limit accepted: below it the child's own code and
/// counters would not fit beside any page cache.
pub const MIN_LIMIT_BYTES: u64 = 16 << 20;

/// Refuses a limit below [`MIN_LIMIT_BYTES`] (`16 KiB: too small, ...`) and
/// one above the machine's memory (`100 TiB: larger than this machine's
/// memory, ...`): such a limit limits nothing, so a run with it would
/// measure the unlimited page cache under the name of a limited one.
pub fn check_limit(limit_bytes: u64) -> Result<(), String> {
    if limit_bytes < MIN_LIMIT_BYTES {
        return Err(format!(
            "{}: too small, at least {} (the child's own memory counts too)",
            format_size(limit_bytes),
            format_size(MIN_LIMIT_BYTES)
        ));
    }
    check_limit_against(limit_bytes, crate::fingerprint::meminfo_kib("MemTotal"))
}

/// The upper half of [`check_limit`], against MemTotal in KiB (`None`:
/// /proc/meminfo unreadable, nothing to compare with).
fn check_limit_against(limit_bytes: u64, mem_total_kib: Option<u64>) -> Result<(), String> {
    match mem_total_kib.map(|kib| kib.saturating_mul(1024)) {
        Some(total) if limit_bytes > total => Err(format!(
            "{}: larger than this machine's memory, {} (MemTotal in /proc/meminfo)",
            format_size(limit_bytes),
            format_size(total)
        )),
        _ => Ok(()),
    }
}

/// A child memory cgroup with a limit; removed when dropped (or by the
/// interrupt handler), after any process still inside was killed.
#[derive(Debug)]
pub struct MemoryCgroup {
    path: PathBuf,
    version: CgroupVersion,
    limit_bytes: u64,
    _removal: Guard,
}

/// What the cgroup saw while it existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CgroupStats {
    /// Most memory charged at once (v1 `memory.max_usage_in_bytes`, v2
    /// `memory.peak`), `None` where the file is missing.
    pub peak_bytes: Option<u64>,
    /// Processes the kernel's OOM killer ended inside the cgroup.
    pub oom_kills: Option<u64>,
}

impl MemoryCgroup {
    /// Makes `mmlab-<pid>-<n>` under this process's own memory cgroup and
    /// sets its limit. Errors say what is missing and what a user can do.
    pub fn create(limit_bytes: u64) -> anyhow::Result<MemoryCgroup> {
        check_limit(limit_bytes).map_err(|e| anyhow::anyhow!("memory limit {e}"))?;
        let (version, parent) =
            locate().map_err(|e| anyhow::anyhow!("no memory cgroup for --memory-limit: {e}"))?;
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!(
            "mmlab-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = parent.join(name);
        std::fs::create_dir(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the memory cgroup {}: {e} (it needs root, or write access to {})",
                path.display(),
                parent.display()
            )
        })?;
        let removal = {
            let path = path.clone();
            let checked = path.clone();
            on_exit_checked(
                format!("remove cgroup {}", path.display()),
                move || remove(&path),
                move || checked.exists().then(|| checked.display().to_string()),
            )
        };
        let cgroup = MemoryCgroup {
            path,
            version,
            limit_bytes,
            _removal: removal,
        };
        let limit_file = cgroup.path.join(version.limit_file());
        std::fs::write(&limit_file, limit_bytes.to_string()).map_err(|e| {
            anyhow::anyhow!("cannot set the limit in {}: {e}", limit_file.display())
        })?;
        Ok(cgroup)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    pub fn limit_bytes(&self) -> u64 {
        self.limit_bytes
    }

    /// `cgroup v1 /sys/fs/cgroup/memory/.../mmlab-12-1, memory.limit_in_bytes = 128 MiB`
    pub fn describe(&self) -> String {
        format!(
            "{} {}, {} = {}",
            self.version.name(),
            self.path.display(),
            self.version.limit_file(),
            format_size(self.limit_bytes)
        )
    }

    /// Moves the calling process into the cgroup: meant for a forked child,
    /// before it touches the data it is to be limited on.
    pub fn add_self(&self) -> anyhow::Result<()> {
        let procs = self.path.join("cgroup.procs");
        std::fs::write(&procs, std::process::id().to_string())
            .map_err(|e| anyhow::anyhow!("cannot join {}: {e}", procs.display()))
    }

    /// The peak usage and OOM kills so far.
    pub fn stats(&self) -> CgroupStats {
        let read = |name: &str| std::fs::read_to_string(self.path.join(name)).ok();
        let keyed = |text: Option<String>, key: &str| {
            text?.lines().find_map(|line| {
                let (k, v) = line.split_once(' ')?;
                (k == key).then(|| v.trim().parse().ok()).flatten()
            })
        };
        match self.version {
            CgroupVersion::V1 => CgroupStats {
                peak_bytes: read("memory.max_usage_in_bytes").and_then(|t| t.trim().parse().ok()),
                oom_kills: keyed(read("memory.oom_control"), "oom_kill"),
            },
            CgroupVersion::V2 => CgroupStats {
                peak_bytes: read("memory.peak").and_then(|t| t.trim().parse().ok()),
                oom_kills: keyed(read("memory.events"), "oom_kill"),
            },
        }
    }
}

/// Removes the memory cgroups `mmlab-<pid>-<n>` beside the ones this
/// process would make whose process is gone (a run killed by SIGKILL) and
/// that hold no process, and returns them. A cgroup with a process still
/// inside, or of a live mmlab, is left alone.
pub fn remove_leftovers() -> Vec<PathBuf> {
    let Ok((_, parent)) = locate() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let gone_owner = entry
            .file_name()
            .to_str()
            .and_then(crate::cleanup::pid_of_a_gone_owner)
            .is_some();
        let empty = std::fs::read_to_string(path.join("cgroup.procs"))
            .is_ok_and(|procs| procs.trim().is_empty());
        if gone_owner && empty && std::fs::remove_dir(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// This process's memory cgroup folder, if a child with a memory limit can
/// be made in it: in cgroup v2 the memory controller must already be
/// enabled for children (`cgroup.subtree_control`), which mmlab never does.
fn locate() -> Result<(CgroupVersion, PathBuf), String> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
    let mounts = crate::proc::mounts()?;
    let (version, parent) = own_memory_cgroup(&cgroup, &mounts)?;
    if version == CgroupVersion::V2 {
        let control = parent.join("cgroup.subtree_control");
        let enabled = std::fs::read_to_string(&control).unwrap_or_default();
        if !enabled.split_whitespace().any(|c| c == "memory") {
            return Err(format!(
                "the memory controller is not enabled for children of {} ({} lists \"{}\"); mmlab does not change it",
                parent.display(),
                control.display(),
                enabled.trim()
            ));
        }
    }
    Ok((version, parent))
}

/// Where [`MemoryCgroup::create`] would make its cgroup, checked without
/// making anything: `cgroup v1 <folder>`, or why it could not.
pub fn where_a_child_could_be_made() -> Result<String, String> {
    let (version, parent) = locate()?;
    if nix::unistd::access(&parent, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err(format!(
            "{} is not writable by this user (root needed)",
            parent.display()
        ));
    }
    Ok(format!("{} {}", version.name(), parent.display()))
}

/// Kills what is left inside (only the run's own children can be there),
/// then removes the folder, retrying while the kernel finishes the exits.
fn remove(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(procs) = std::fs::read_to_string(path.join("cgroup.procs")) {
            for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                // SAFETY: plain kill(2) on a process of the run's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        match std::fs::remove_dir(path) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if Instant::now() >= deadline => {
                eprintln!(
                    "warning: cannot remove the memory cgroup {}: {e}; remove it with `rmdir {}`",
                    path.display(),
                    path.display()
                );
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The folder of this process's memory cgroup, from the texts of
/// `/proc/self/cgroup` and `/proc/self/mountinfo`: the v1 hierarchy with the
/// `memory` controller if there is one (the controller can be in only one
/// hierarchy), else the v2 hierarchy.
pub fn own_memory_cgroup(
    proc_cgroup: &str,
    mounts: &crate::proc::MountInfos,
) -> Result<(CgroupVersion, PathBuf), String> {
    let mut v2_path = None;
    for line in proc_cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.split(',').any(|c| c == "memory") {
            let mount = find_mount(mounts, |fstype, options| {
                fstype == "cgroup" && options.contains_key("memory")
            })
            .ok_or("this process is in a cgroup v1 memory hierarchy that is not mounted here")?;
            return Ok((CgroupVersion::V1, join_below(&mount, path)?));
        }
        if controllers.is_empty() {
            v2_path = Some(path.to_string());
        }
    }
    let path = v2_path.ok_or("/proc/self/cgroup names no memory cgroup")?;
    let mount = find_mount(mounts, |fstype, _| fstype == "cgroup2")
        .ok_or("no cgroup2 filesystem is mounted")?;
    let dir = join_below(&mount, &path)?;
    let controllers = std::fs::read_to_string(dir.join("cgroup.controllers")).unwrap_or_default();
    if !controllers.split_whitespace().any(|c| c == "memory") {
        return Err(format!(
            "the memory controller is not available in {} (cgroup.controllers lists \"{}\")",
            dir.display(),
            controllers.trim()
        ));
    }
    Ok((CgroupVersion::V2, dir))
}

/// A mount of a cgroup filesystem: its root within the hierarchy and where
/// it is mounted.
struct CgroupMount {
    root: String,
    mount_point: PathBuf,
}

/// The first mount whose filesystem type and super options (`memory` for a
/// v1 memory hierarchy) are wanted.
fn find_mount(
    mounts: &crate::proc::MountInfos,
    wanted: impl Fn(&str, &std::collections::HashMap<String, Option<String>>) -> bool,
) -> Option<CgroupMount> {
    mounts
        .into_iter()
        .find(|m| wanted(&m.fs_type, &m.super_options))
        .map(|m| CgroupMount {
            root: m.root.clone(),
            mount_point: m.mount_point.clone(),
        })
}

/// The folder of cgroup `path` (as /proc/self/cgroup writes it) in `mount`.
fn join_below(mount: &CgroupMount, path: &str) -> Result<PathBuf, String> {
    let root = mount.root.trim_end_matches('/');
    let relative = path.strip_prefix(root).ok_or_else(|| {
        format!(
            "this process's cgroup {path} is outside the mounted part ({}) of its hierarchy",
            mount.root
        )
    })?;
    Ok(mount.mount_point.join(relative.trim_start_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
40 25 0:35 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
44 40 0:39 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
45 40 0:40 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
48 40 0:43 / /sys/fs/cgroup/unified rw,relatime - cgroup cgroup2 rw
";

    fn mounts(text: &str) -> crate::proc::MountInfos {
        crate::proc::parse_mounts(text).unwrap()
    }

    #[test]
    fn finds_the_v1_memory_hierarchy_first() {
        let cgroup = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n0::/\n";
        let (version, dir) = own_memory_cgroup(cgroup, &mounts(MOUNTINFO)).unwrap();
        assert_eq!(version, CgroupVersion::V1);
        assert_eq!(dir, Path::new("/sys/fs/cgroup/memory/process_api/abc"));
    }

    #[test]
    fn a_v1_mount_of_a_subtree_is_joined_below_its_root() {
        let mountinfo = "44 40 0:39 /docker/x /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n";
        let (_, dir) = own_memory_cgroup("4:memory:/docker/x/inner\n", &mounts(mountinfo)).unwrap();
        assert_eq!(dir, Path::new("/sys/fs/cgroup/memory/inner"));
        let error = own_memory_cgroup("4:memory:/elsewhere\n", &mounts(mountinfo)).unwrap_err();
        assert!(error.contains("outside the mounted part"), "{error}");
    }

    #[test]
    fn missing_hierarchies_are_explained() {
        let error = own_memory_cgroup("4:memory:/x\n", &mounts("")).unwrap_err();
        assert!(error.contains("not mounted"), "{error}");
        let error = own_memory_cgroup("1:cpu:/\n", &mounts(MOUNTINFO)).unwrap_err();
        assert!(error.contains("names no memory cgroup"), "{error}");
        let error = own_memory_cgroup("0::/user.slice\n", &mounts("")).unwrap_err();
        assert!(error.contains("no cgroup2"), "{error}");
    }

    #[test]
    fn a_v2_cgroup_without_the_memory_controller_is_refused_with_the_reason() {
        // The v2 folder does not exist in the test, so cgroup.controllers
        // reads as empty: the reason names the folder.
        let mountinfo = "30 25 0:26 / /nonexistent/cgroup2 rw - cgroup2 cgroup2 rw\n";
        let error = own_memory_cgroup("0::/user.slice/me\n", &mounts(mountinfo)).unwrap_err();
        assert!(
            error.contains("/nonexistent/cgroup2/user.slice/me") && error.contains("not available"),
            "{error}"
        );
    }

    #[test]
    fn escaped_mount_points_are_read_back() {
        let (_, dir) = own_memory_cgroup(
            "4:memory:/a\n",
            &mounts("44 40 0:39 / /mnt/my\\040cgroups rw - cgroup cgroup rw,memory\n"),
        )
        .unwrap();
        assert_eq!(dir, Path::new("/mnt/my cgroups/a"));
    }

    #[test]
    fn the_fingerprint_says_what_create_finds() {
        let said = where_a_child_could_be_made();
        match (&said, MemoryCgroup::create(MIN_LIMIT_BYTES)) {
            (Ok(place), Ok(made)) => {
                // "cgroup v1 <folder>": the cgroup is made inside that folder.
                let folder = place.splitn(3, ' ').nth(2).unwrap();
                assert!(made.path().starts_with(folder), "{place} vs {made:?}");
                let path = made.path().to_path_buf();
                drop(made);
                assert!(!path.exists(), "{} is removed", path.display());
            }
            (Err(_), Err(_)) => println!("no memory cgroup here: {said:?}"),
            (said, made) => panic!("the fingerprint says {said:?}, create says {made:?}"),
        }
    }

    #[test]
    fn limits_above_the_machine_s_memory_are_refused_with_both_sizes() {
        let error = check_limit_against(100 << 40, Some(24 << 20)).unwrap_err();
        assert_eq!(
            error,
            "100 TiB: larger than this machine's memory, 24 GiB (MemTotal in /proc/meminfo)"
        );
        assert_eq!(check_limit_against(24 << 30, Some(24 << 20)), Ok(()));
        assert_eq!(check_limit_against(100 << 40, None), Ok(()));
        assert!(check_limit(u64::MAX).unwrap_err().contains("MemTotal"));
    }

    #[test]
    fn tiny_limits_are_refused_before_anything_is_made() {
        let error = MemoryCgroup::create(1 << 20).unwrap_err().to_string();
        assert!(error.contains("too small"), "{error}");
    }
}
