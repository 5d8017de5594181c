//! The machine's fingerprint: what a reader needs to compare two runs. Every
//! field falls back to "unknown" (or `null`) when it cannot be read; reading
//! the fingerprint never fails.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A value that could be read, or the string "unknown".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Known<T> {
    Value(T),
    Unknown(String),
}

impl<T> Known<T> {
    pub fn unknown() -> Known<T> {
        Known::Unknown("unknown".to_string())
    }
    pub fn value(&self) -> Option<&T> {
        match self {
            Known::Value(v) => Some(v),
            Known::Unknown(_) => None,
        }
    }
}

impl<T> From<Option<T>> for Known<T> {
    fn from(option: Option<T>) -> Known<T> {
        option.map(Known::Value).unwrap_or_else(Known::unknown)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub kernel: String,
    pub os: String,
    pub cpu_model: String,
    pub arch: String,
    pub n_cpus: Known<u64>,
    pub mem_total_bytes: Known<u64>,
    pub page_size_bytes: Known<u64>,
    pub thp_enabled: String,
    pub thp_defrag: String,
    /// The per-size (mTHP) settings under
    /// /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/enabled, by
    /// size in KiB: `always`, `inherit` (follows `thp_enabled`), `madvise`
    /// or `never`. Any size other than `never` can fault several pages at
    /// once even where `thp_enabled` says `never`. Empty on kernels before
    /// 6.8, which have no per-size settings.
    #[serde(default)]
    pub thp_sizes_enabled: std::collections::BTreeMap<u64, String>,
    pub perf_event_paranoid: Known<i64>,
    pub is_root: bool,
    /// Where tracefs is mounted, or null when it is not mounted.
    pub tracefs: Option<String>,
    /// Whether a hardware PMU answers (a cycles counter opens).
    pub pmu: bool,
    /// Why no hardware counter opened, when `pmu` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmu_reason: Option<String>,
    pub data_dir: String,
    pub data_dir_fs: String,
    /// Where `--memory-limit` would make its child memory cgroup
    /// (`cgroup v1 /sys/fs/cgroup/memory/...`), or `unavailable: <why>`.
    #[serde(default = "unknown")]
    pub memory_cgroup: String,
    pub fault_around_bytes: Known<u64>,
    /// The readahead window of the block device under the data folder, in
    /// KiB (`read_ahead_kb` of its queue; 128 is the common default, a
    /// virtual disk may say 8192): the most one cold read() or fault reads
    /// ahead. `"unknown: <why>"` where the folder's filesystem has no block
    /// device of its own (tmpfs, btrfs's anonymous device).
    #[serde(default = "Known::unknown")]
    pub data_dir_read_ahead_kb: Known<u64>,
    /// Whether the CPU has memory protection keys and the kernel enabled
    /// them (x86 `pku` and `ospke` in /proc/cpuinfo; arm64 `poe`). With
    /// them, a PROT_EXEC-only page is execute-only (a read faults with
    /// SEGV_PKUERR); without them it is readable.
    #[serde(default = "Known::unknown")]
    pub protection_keys: Known<bool>,
    /// The kernel's clocksource (`current_clocksource` in sysfs: `tsc`,
    /// `kvm-clock`, `hpet`, `acpi_pm`, ...). With `tsc` or `kvm-clock`,
    /// clock_gettime runs in the vDSO without entering the kernel; with
    /// a clocksource without a vDSO path (`hpet`, `acpi_pm`) every clock
    /// read is a system call.
    #[serde(default = "Known::unknown")]
    pub clocksource: Known<String>,
    pub rustc: String,
    pub build_profile: String,
    /// Only in a run made inside a guest kernel that `mmlab kernels` booted
    /// under qemu (`mmlab.guest=` on its command line): `emulated (TCG)` or
    /// `KVM`. `kernel`, `n_cpus` and `mem_total_bytes` are then the guest's.
    /// Timing-based claims of an emulated run are not-measured
    /// ([`crate::guest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest: Option<String>,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// `always madvise [never]` -> `never`.
fn bracketed_choice(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_string())
}

fn os_name() -> Option<String> {
    let release = std::fs::read_to_string("/etc/os-release").ok()?;
    release.lines().find_map(|line| {
        line.strip_prefix("PRETTY_NAME=")
            .map(|v| v.trim_matches('"').to_string())
    })
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        matches!(key.trim(), "model name" | "Model" | "cpu model").then(|| value.trim().to_string())
    })
}

/// The CPU flags of /proc/cpuinfo (x86 `flags`, arm64 `Features`) of the
/// first CPU.
fn cpu_flags() -> Option<Vec<String>> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        matches!(key.trim(), "flags" | "Features")
            .then(|| value.split_whitespace().map(str::to_string).collect())
    })
}

/// See [`Fingerprint::protection_keys`]: x86 needs both `pku` (the CPU has
/// them) and `ospke` (the kernel turned them on); arm64 shows `poe`.
pub fn protection_keys_from_flags(flags: &[String]) -> bool {
    let has = |f: &str| flags.iter().any(|g| g == f);
    (has("pku") && has("ospke")) || has("poe")
}

/// The readahead window (KiB) of the block device holding `path`: the
/// device's backing-device info (/sys/class/bdi/MAJ:MIN), else its queue
/// (/sys/dev/block/MAJ:MIN/queue), else, for a partition, its disk's queue.
pub fn read_ahead_kb(path: &Path) -> Result<u64, String> {
    use std::os::unix::fs::MetadataExt;
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
    let device = metadata.dev();
    let (major, minor) = (libc::major(device), libc::minor(device));
    if major == 0 {
        return Err(format!(
            "{} is on an anonymous device ({major}:{minor}: tmpfs, btrfs, overlayfs...) with no readahead setting of its own",
            path.display()
        ));
    }
    let candidates = [
        format!("/sys/class/bdi/{major}:{minor}/read_ahead_kb"),
        format!("/sys/dev/block/{major}:{minor}/queue/read_ahead_kb"),
        format!("/sys/dev/block/{major}:{minor}/../queue/read_ahead_kb"),
    ];
    candidates
        .iter()
        .find_map(|c| read_trimmed(c).and_then(|v| v.parse().ok()))
        .ok_or_else(|| {
            format!("no read_ahead_kb for device {major}:{minor} (looked in {candidates:?})")
        })
}

fn mem_total_bytes() -> Option<u64> {
    meminfo_kib("MemTotal").map(|kib| kib * 1024)
}

/// The per-size THP settings (see [`Fingerprint::thp_sizes_enabled`]).
pub fn thp_sizes_enabled() -> std::collections::BTreeMap<u64, String> {
    let Ok(entries) = std::fs::read_dir("/sys/kernel/mm/transparent_hugepage") else {
        return Default::default();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let kib: u64 = name
                .to_str()?
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let text = read_trimmed(entry.path().join("enabled").to_str()?)?;
            Some((kib, bracketed_choice(&text)?))
        })
        .collect()
}

/// A field of /proc/meminfo in KiB (as the file writes it), through
/// [`crate::proc::meminfo`].
pub fn meminfo_kib(field: &str) -> Option<u64> {
    crate::proc::meminfo_kib(field)
}

/// The mount point and filesystem type that hold `path`, from
/// /proc/self/mountinfo (longest matching mount point wins).
pub fn filesystem_of(path: &Path) -> Option<(String, String)> {
    let path = std::fs::canonicalize(path).ok()?;
    let mounts = crate::proc::mounts().ok()?;
    let mount = crate::proc::mount_of(&mounts, &path)?;
    Some((
        mount.mount_point.display().to_string(),
        mount.fs_type.clone(),
    ))
}

/// Where tracefs is mounted now, if anywhere (the canonical
/// /sys/kernel/tracing when it is one of several).
pub fn tracefs_mount() -> Option<String> {
    let mounts = crate::proc::mounts().ok()?;
    let points = crate::proc::mount_points_of_type(&mounts, "tracefs");
    points
        .iter()
        .find(|p| p.as_path() == Path::new("/sys/kernel/tracing"))
        .or(points.first())
        .map(|p| p.display().to_string())
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// The seccomp mode of the calling thread (see [`crate::proc::seccomp_mode`]).
pub fn seccomp_mode() -> Option<u32> {
    crate::proc::seccomp_mode()
}

fn unknown() -> String {
    "unknown".to_string()
}

fn memory_cgroup() -> String {
    match crate::cgroup::where_a_child_could_be_made() {
        Ok(place) => place,
        Err(reason) => format!("unavailable: {reason}"),
    }
}

impl Fingerprint {
    /// Reads the fingerprint; `data_dir` is where the experiment's files
    /// live, `pmu` whether a hardware counter opened or why not (the probe
    /// is `mmlab_counters::probe::hardware_pmu`: only that crate opens perf
    /// events).
    pub fn collect(data_dir: &Path, pmu: Result<(), String>) -> Fingerprint {
        let uname = nix::sys::utsname::uname().ok();
        let (data_dir_fs, data_dir_display) = match filesystem_of(data_dir) {
            Some((_, fs)) => (fs, data_dir.display().to_string()),
            None => ("unknown".to_string(), data_dir.display().to_string()),
        };
        Fingerprint {
            kernel: uname
                .as_ref()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_else(|| "unknown".into()),
            os: os_name().unwrap_or_else(|| "unknown".into()),
            cpu_model: cpu_model().unwrap_or_else(|| "unknown".into()),
            arch: std::env::consts::ARCH.to_string(),
            n_cpus: std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u64)
                .into(),
            mem_total_bytes: mem_total_bytes().into(),
            page_size_bytes: nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
                .ok()
                .flatten()
                .map(|p| p as u64)
                .into(),
            thp_enabled: read_trimmed("/sys/kernel/mm/transparent_hugepage/enabled")
                .and_then(|t| bracketed_choice(&t))
                .unwrap_or_else(|| "unknown".into()),
            thp_defrag: read_trimmed("/sys/kernel/mm/transparent_hugepage/defrag")
                .and_then(|t| bracketed_choice(&t))
                .unwrap_or_else(|| "unknown".into()),
            thp_sizes_enabled: thp_sizes_enabled(),
            perf_event_paranoid: read_trimmed("/proc/sys/kernel/perf_event_paranoid")
                .and_then(|v| v.parse().ok())
                .into(),
            is_root: is_root(),
            tracefs: tracefs_mount(),
            pmu: pmu.is_ok(),
            pmu_reason: pmu.err(),
            data_dir: data_dir_display,
            data_dir_fs,
            memory_cgroup: memory_cgroup(),
            fault_around_bytes: read_trimmed("/sys/kernel/debug/fault_around_bytes")
                .and_then(|v| v.parse().ok())
                .into(),
            data_dir_read_ahead_kb: match read_ahead_kb(data_dir) {
                Ok(kb) => Known::Value(kb),
                Err(why) => Known::Unknown(format!("unknown: {why}")),
            },
            protection_keys: cpu_flags()
                .map(|flags| protection_keys_from_flags(&flags))
                .into(),
            clocksource: read_trimmed(
                "/sys/devices/system/clocksource/clocksource0/current_clocksource",
            )
            .into(),
            rustc: env!("MMLAB_RUSTC_VERSION").to_string(),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            guest: crate::guest::detect(),
        }
    }
}

/// The crate version and git revision that produced a result.
pub fn tool_version() -> String {
    format!(
        "mmap-lab {} ({})",
        env!("CARGO_PKG_VERSION"),
        env!("MMLAB_GIT_REVISION")
    )
}

/// The page size of this machine, in bytes.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as usize } else { 4096 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_reads_this_machine_without_failing() {
        let fp = Fingerprint::collect(Path::new("."), Err("not probed".into()));
        assert_eq!(
            fp.page_size_bytes.value().copied(),
            Some(page_size() as u64)
        );
        assert_ne!(fp.kernel, "unknown");
        assert!(fp.n_cpus.value().is_some_and(|n| *n >= 1));
        assert_ne!(fp.data_dir_fs, "unknown");
        let json = serde_json::to_string(&fp).unwrap();
        let back: Fingerprint = serde_json::from_str(&json).unwrap();
        assert_eq!(back, fp);
    }

    #[test]
    fn protection_keys_need_the_cpu_and_the_kernel() {
        let flags = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(protection_keys_from_flags(&flags("fpu pku ospke sse")));
        assert!(!protection_keys_from_flags(&flags("fpu pku sse")));
        assert!(!protection_keys_from_flags(&flags("fpu sse")));
        assert!(protection_keys_from_flags(&flags("fp asimd poe")));
    }

    #[test]
    fn read_ahead_is_read_for_a_disk_and_explained_for_tmpfs() {
        // /proc is on an anonymous device: never a number.
        assert!(
            read_ahead_kb(Path::new("/proc"))
                .unwrap_err()
                .contains("anonymous")
        );
        // Where "." is on a block device, the fingerprint says a number.
        let fp = Fingerprint::collect(Path::new("."), Err("not probed".into()));
        if read_ahead_kb(Path::new(".")).is_ok() {
            assert!(fp.data_dir_read_ahead_kb.value().is_some());
        }
    }

    #[test]
    fn bracketed_choice_picks_the_active_mode() {
        assert_eq!(
            bracketed_choice("always [madvise] never").as_deref(),
            Some("madvise")
        );
        assert_eq!(bracketed_choice("never"), None);
    }
}
