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
    pub rustc: String,
    pub build_profile: String,
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
            rustc: env!("MMLAB_RUSTC_VERSION").to_string(),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
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
    fn bracketed_choice_picks_the_active_mode() {
        assert_eq!(
            bracketed_choice("always [madvise] never").as_deref(),
            Some("madvise")
        );
        assert_eq!(bracketed_choice("never"), None);
    }
}
