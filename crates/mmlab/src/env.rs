//! `mmlab env`: the machine's fingerprint and what this machine can and
//! cannot measure, each missing capability with its cost and its remedy.

use mmlab_core::Fingerprint;
use mmlab_core::size::format_size;
use mmlab_counters::tracefs::Status;

/// One row of the capability table.
#[derive(Debug, serde::Serialize)]
pub struct Capability {
    pub name: &'static str,
    pub available: bool,
    pub detail: String,
    /// What the lab cannot measure without it (empty when available).
    pub cost: &'static str,
    /// How to enable it (empty when available).
    pub remedy: String,
}

/// What `mmlab env` tells a user to do when a seccomp filter refuses
/// perf_event_open: nothing on this machine's settings would help.
const SECCOMP_REMEDY: &str = "allow perf_event_open in the seccomp profile of the sandbox or container \
     (e.g. docker run --security-opt seccomp=unconfined, or a profile that allows it), or run outside it";

pub fn capabilities(fp: &Fingerprint) -> Vec<Capability> {
    let tracefs_dir_exists = std::path::Path::new("/sys/kernel/tracing").is_dir();
    let paranoid = fp.perf_event_paranoid.value().copied();
    // The software probe, not the PMU's: only it tells a refused system call
    // (seccomp, paranoid) from a machine without hardware counters.
    let perf = mmlab_counters::probe::perf_event_open();
    let seccomp = perf
        .as_ref()
        .is_err_and(|why| why.starts_with(mmlab_counters::probe::SECCOMP_BLOCKED));
    let tracefs = match mmlab_counters::tracefs::status() {
        Status::Readable(dir) => (true, format!("mounted at {}", dir.display())),
        Status::Unreadable { reason, .. } => (false, reason),
        Status::NotMounted if fp.is_root && tracefs_dir_exists => (
            true,
            "not mounted; mountable (the counters mount it for a run and unmount it afterwards)"
                .into(),
        ),
        Status::NotMounted => (false, "not mounted, and not mountable by this user".into()),
    };
    vec![
        Capability {
            name: "root",
            available: fp.is_root,
            detail: if fp.is_root { "running as root".into() } else { "not root".into() },
            cost: "physical frames (pagemap), kpageflags, mounting tracefs, drop_caches",
            remedy: "run with sudo".into(),
        },
        Capability {
            name: "tracefs",
            available: tracefs.0,
            detail: tracefs.1,
            cost: "tracepoint counters: system calls per call, page_fault_user, filemap_map_pages",
            remedy: if fp.tracefs.is_some() {
                "run as root (the mounted tracefs lets only root in)".into()
            } else {
                "as root: mount -t tracefs nodev /sys/kernel/tracing".into()
            },
        },
        Capability {
            name: "perf_event_open",
            available: perf.is_ok(),
            detail: match &perf {
                Ok(()) => "a task-clock counter opens".into(),
                Err(why) => why.clone(),
            },
            cost: "every perf counter: software, hardware and tracepoint (each is reported unavailable with the reason; getrusage fault counts still work)",
            remedy: match &perf {
                _ if seccomp => SECCOMP_REMEDY.into(),
                Err(why) if why.starts_with("unsupported") => {
                    "a kernel built with CONFIG_PERF_EVENTS".into()
                }
                _ => "sysctl kernel.perf_event_paranoid=2 (or lower), or run as root".into(),
            },
        },
        Capability {
            name: "hardware PMU",
            available: fp.pmu,
            detail: if fp.pmu { "a cycles counter opens".into() } else { fp.pmu_reason.clone().unwrap_or_default() },
            cost: if seccomp {
                "cycles, instructions, cache and dTLB/iTLB misses"
            } else {
                "cycles, instructions, cache and dTLB/iTLB misses (reported unsupported; software counts still work)"
            },
            remedy: if seccomp {
                "first allow perf_event_open (see perf_event_open above): while a seccomp filter refuses it, whether a PMU exists cannot be told".into()
            } else {
                "run on bare metal or a VM with a virtual PMU (e.g. KVM -cpu host with vPMU enabled)".into()
            },
        },
        Capability {
            name: "perf_event_paranoid",
            available: fp.is_root || paranoid.is_some_and(|p| p <= 2),
            detail: match paranoid {
                Some(p) => format!("{p}{}", if fp.is_root { " (root is not limited by it)" } else { "" }),
                None => "unknown".into(),
            },
            cost: "counting this process's own events needs <= 2; kernel-side events need <= 1 or root",
            remedy: "sysctl kernel.perf_event_paranoid=1 (or run as root)".into(),
        },
        Capability {
            name: "THP",
            available: fp.thp_enabled != "never" && fp.thp_enabled != "unknown",
            detail: format!("enabled={}, defrag={}", fp.thp_enabled, fp.thp_defrag),
            cost: "2 MiB pages per fault (the THP scenarios are not-measured)",
            remedy: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled (a system setting: change it back afterwards)".into(),
        },
        Capability {
            name: "pagemap frames",
            available: fp.is_root,
            detail: if fp.is_root { "physical frame numbers readable".into() } else { "frame numbers read as 0 without CAP_SYS_ADMIN".into() },
            cost: "which physical frame backs a page (copy-on-write frame table, S4)",
            remedy: "run as root".into(),
        },
        Capability {
            name: "memory cgroup",
            available: !fp.memory_cgroup.starts_with("unavailable") && fp.memory_cgroup != "unknown",
            detail: fp.memory_cgroup.clone(),
            cost: "a real page cache smaller than the file (repeated-access --memory-limit SIZE); evicting the file before every pass simulates one instead",
            remedy: "run as root where the memory controller is a cgroup v1 hierarchy, or cgroup v2 with memory in the own cgroup's cgroup.subtree_control".into(),
        },
        scratch_capability(),
    ]
}

/// Which scratch filesystems (mmlab_core::scratch) this machine can make.
fn scratch_capability() -> Capability {
    let kinds = mmlab_core::scratch::kinds_here();
    let (can, cannot): (Vec<_>, Vec<_>) = kinds.iter().partition(|(_, a)| a.is_ok());
    let names = |list: &[&(mmlab_core::scratch::FsKind, Result<(), String>)]| {
        list.iter()
            .map(|(k, _)| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut detail = if can.is_empty() {
        "none".to_string()
    } else {
        format!("can make {}", names(&can))
    };
    for (kind, why) in &cannot {
        if let Err(why) = why {
            detail.push_str(&format!("; not {kind}: {why}"));
        }
    }
    Capability {
        name: "scratch filesystems",
        available: cannot.is_empty(),
        detail,
        cost: "S3 and the per-filesystem results on the kinds that cannot be made (the lab's own loop-mounted filesystem, made cold without touching other processes' caches)",
        remedy: "run as root on a machine with loop devices; apt-get install xfsprogs btrfs-progs"
            .into(),
    }
}

pub fn print(fp: &Fingerprint) {
    let known = |v: Option<&u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into());
    println!("machine");
    let rows = [
        ("kernel", fp.kernel.clone()),
        ("os", fp.os.clone()),
        (
            "cpu",
            format!(
                "{} ({} cpus, {})",
                fp.cpu_model,
                known(fp.n_cpus.value()),
                fp.arch
            ),
        ),
        (
            "memory",
            fp.mem_total_bytes
                .value()
                .map(|b| format_size(*b))
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "page size",
            fp.page_size_bytes
                .value()
                .map(|b| format_size(*b))
                .unwrap_or_else(|| "unknown".into()),
        ),
        (
            "THP",
            format!("enabled={}, defrag={}", fp.thp_enabled, fp.thp_defrag),
        ),
        (
            "THP sizes (mTHP)",
            if fp.thp_sizes_enabled.is_empty() {
                "no per-size settings (kernel before 6.8)".to_string()
            } else {
                fp.thp_sizes_enabled
                    .iter()
                    .map(|(kib, setting)| format!("{}={setting}", format_size(kib * 1024)))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        (
            "perf_event_paranoid",
            fp.perf_event_paranoid
                .value()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "unknown".into()),
        ),
        ("root", fp.is_root.to_string()),
        (
            "seccomp",
            match mmlab_core::fingerprint::seccomp_mode() {
                Some(0) => "none".into(),
                Some(1) => "strict (Seccomp: 1 in /proc/self/status)".into(),
                Some(2) => "a filter is active (Seccomp: 2 in /proc/self/status)".into(),
                Some(n) => format!("Seccomp: {n} in /proc/self/status"),
                None => "unknown".into(),
            },
        ),
        (
            "tracefs",
            match (&fp.tracefs, mmlab_counters::tracefs::status()) {
                (Some(path), Status::Unreadable { .. }) => {
                    format!("{path} (not readable by this user)")
                }
                (Some(path), _) => path.clone(),
                (None, _) => "not mounted".into(),
            },
        ),
        (
            "hardware PMU",
            if fp.pmu {
                "yes".into()
            } else {
                format!("no: {}", fp.pmu_reason.clone().unwrap_or_default())
            },
        ),
        (
            "data folder",
            format!("{} ({})", fp.data_dir, fp.data_dir_fs),
        ),
        (
            "readahead",
            match &fp.data_dir_read_ahead_kb {
                mmlab_core::fingerprint::Known::Value(kb) => {
                    format!("read_ahead_kb {kb} of the data folder's device")
                }
                mmlab_core::fingerprint::Known::Unknown(why) => why.clone(),
            },
        ),
        (
            "protection keys",
            match fp.protection_keys.value() {
                Some(true) => "yes (pku and ospke): PROT_EXEC-only pages are execute-only".into(),
                Some(false) => {
                    "no (no pku/ospke in /proc/cpuinfo): PROT_EXEC-only pages are readable".into()
                }
                None => "unknown (no flags in /proc/cpuinfo)".to_string(),
            },
        ),
        (
            "clocksource",
            match &fp.clocksource {
                mmlab_core::fingerprint::Known::Value(name) => name.clone(),
                mmlab_core::fingerprint::Known::Unknown(why) => why.clone(),
            },
        ),
        ("rustc", fp.rustc.clone()),
        ("build profile", fp.build_profile.clone()),
    ];
    for (name, value) in rows {
        println!("  {name:<20} {value}");
    }
    println!();
    println!("capabilities");
    for capability in capabilities(fp) {
        let mark = if capability.available { "yes" } else { "NO " };
        println!("  {mark} {:<20} {}", capability.name, capability.detail);
        if !capability.available {
            println!("      {:<20} without it: {}", "", capability.cost);
            println!("      {:<20} to enable:  {}", "", capability.remedy);
        }
    }
}
