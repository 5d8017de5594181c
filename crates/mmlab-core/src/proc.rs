//! One reader for the /proc files the lab uses, through the `procfs` crate:
//! the mount table (`/proc/self/mountinfo`; procfs 0.18 splits the fields but
//! leaves the kernel's octal escapes, `\040` for a space, which are undone
//! here) and `/proc/meminfo`. Every crate asks here instead of parsing the
//! text again, so a mount point with a space or a missing field is handled
//! once, the same way everywhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use procfs::process::{MountInfo, MountInfos};

/// This process's mount table.
pub fn mounts() -> Result<MountInfos, String> {
    procfs::process::Process::myself()
        .and_then(|p| p.mountinfo())
        .map(unescaped)
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))
}

/// A mount table from mountinfo text (for tests and fixtures).
pub fn parse_mounts(text: &str) -> Result<MountInfos, String> {
    use procfs::FromBufRead;
    MountInfos::from_buf_read(text.as_bytes())
        .map(unescaped)
        .map_err(|e| format!("bad mountinfo text: {e}"))
}

/// The mount table with the paths' octal escapes (`\NNN`) undone.
fn unescaped(mounts: MountInfos) -> MountInfos {
    MountInfos(
        mounts
            .into_iter()
            .map(|mut m| {
                m.root = unescape(&m.root);
                m.mount_point = PathBuf::from(unescape(&m.mount_point.to_string_lossy()));
                m
            })
            .collect(),
    )
}

/// The kernel writes space, tab, newline and backslash in mountinfo paths
/// as a backslash and three octal digits.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount that holds `path` (the longest matching mount point; the last
/// of equal ones, which is the one on top).
pub fn mount_of<'a>(mounts: &'a MountInfos, path: &Path) -> Option<&'a MountInfo> {
    let mut best: Option<&MountInfo> = None;
    for mount in mounts {
        if path.starts_with(&mount.mount_point)
            && best.is_none_or(|b| {
                mount.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len()
            })
        {
            best = Some(mount);
        }
    }
    best
}

/// The mount points of filesystems of type `fs_type`, in mount order.
pub fn mount_points_of_type(mounts: &MountInfos, fs_type: &str) -> Vec<PathBuf> {
    mounts
        .into_iter()
        .filter(|m| m.fs_type == fs_type)
        .map(|m| m.mount_point.clone())
        .collect()
}

/// /proc/meminfo, by the names the file uses (`MemTotal`, `Cached`,
/// `Buffers`, `SReclaimable`, `HugePages_Free`...), in KiB as the file
/// writes them (page counts such as `HugePages_Free` as counts). Fields
/// this kernel does not write are absent, never zero.
pub fn meminfo() -> Result<BTreeMap<&'static str, u64>, String> {
    use procfs::Current;
    let m = procfs::Meminfo::current().map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    let kib = |bytes: u64| bytes / 1024;
    let mut fields: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (name, bytes) in [
        ("MemTotal", m.mem_total),
        ("MemFree", m.mem_free),
        ("Buffers", m.buffers),
        ("Cached", m.cached),
        ("SwapCached", m.swap_cached),
        ("Active", m.active),
        ("Inactive", m.inactive),
        ("SwapTotal", m.swap_total),
        ("SwapFree", m.swap_free),
        ("Dirty", m.dirty),
        ("Writeback", m.writeback),
        ("Mapped", m.mapped),
        ("Slab", m.slab),
    ] {
        fields.insert(name, kib(bytes));
    }
    for (name, bytes) in [
        ("MemAvailable", m.mem_available),
        ("Active(file)", m.active_file),
        ("Inactive(file)", m.inactive_file),
        ("AnonPages", m.anon_pages),
        ("Shmem", m.shmem),
        ("SReclaimable", m.s_reclaimable),
        ("SUnreclaim", m.s_unreclaim),
        ("PageTables", m.page_tables),
        ("AnonHugePages", m.anon_hugepages),
        ("FilePmdMapped", m.file_pmd_mapped),
        ("Hugepagesize", m.hugepagesize),
    ] {
        if let Some(bytes) = bytes {
            fields.insert(name, kib(bytes));
        }
    }
    for (name, count) in [
        ("HugePages_Total", m.hugepages_total),
        ("HugePages_Free", m.hugepages_free),
    ] {
        if let Some(count) = count {
            fields.insert(name, count);
        }
    }
    Ok(fields)
}

/// One /proc/meminfo field in KiB (see [`meminfo`]), `None` when unreadable
/// or not written by this kernel.
pub fn meminfo_kib(field: &str) -> Option<u64> {
    meminfo().ok()?.get(field).copied()
}

/// A `kB` field of this process's /proc/self/status (`RssAnon`, `RssFile`,
/// `RssShmem`, `VmRSS`, `VmPTE`, `VmSwap`, `VmLck`), through procfs.
pub fn status_kib(field: &str) -> Result<u64, String> {
    let status = procfs::process::Process::myself()
        .and_then(|p| p.status())
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    let value = match field {
        "RssAnon" => status.rssanon,
        "RssFile" => status.rssfile,
        "RssShmem" => status.rssshmem,
        "VmRSS" => status.vmrss,
        "VmPTE" => status.vmpte,
        "VmSwap" => status.vmswap,
        "VmLck" => status.vmlck,
        _ => return Err(format!("{field} is not a kB field this reader knows")),
    };
    value.ok_or_else(|| format!("no {field} in /proc/self/status"))
}

/// A field of this process's /proc/self/smaps_rollup in KiB (`Pss`,
/// `Rss`, `Private_Dirty`, `Shared_Clean`...), through procfs.
pub fn smaps_rollup_kib(field: &str) -> Result<u64, String> {
    let rollup = procfs::process::Process::myself()
        .and_then(|p| p.smaps_rollup())
        .map_err(|e| format!("cannot read /proc/self/smaps_rollup: {e}"))?;
    rollup
        .memory_map_rollup
        .0
        .first()
        .and_then(|m| m.extension.map.get(field))
        .map(|bytes| bytes / 1024)
        .ok_or_else(|| format!("no {field} in /proc/self/smaps_rollup"))
}

/// `read_bytes` of /proc/self/io: bytes this process caused to be read
/// from storage, through procfs.
pub fn io_read_bytes() -> Option<u64> {
    procfs::process::Process::myself()
        .and_then(|p| p.io())
        .ok()
        .map(|io| io.read_bytes)
}

/// `Seccomp:` of the calling thread's status (0 none, 1 strict, 2 filter),
/// through procfs. The thread's own file, not the process's: a filter
/// installed without TSYNC holds for one thread only.
pub fn seccomp_mode() -> Option<u32> {
    use procfs::FromRead;
    procfs::process::Status::from_file("/proc/thread-self/status")
        .or_else(|_| procfs::process::Status::from_file("/proc/self/status"))
        .ok()?
        .seccomp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rollup_and_io_read_this_process() {
        // This test process has anonymous memory and page tables, and its
        // rollup covers them; a field the reader does not know is an error
        // that names it.
        assert!(status_kib("VmPTE").unwrap() > 0);
        assert!(status_kib("VmRSS").unwrap() > 0);
        assert!(smaps_rollup_kib("Rss").unwrap() > 0);
        assert!(status_kib("Nonsense").unwrap_err().contains("Nonsense"));
        assert!(
            smaps_rollup_kib("Nonsense")
                .unwrap_err()
                .contains("Nonsense")
        );
        assert!(io_read_bytes().is_some());
        assert!(seccomp_mode().is_some());
    }

    #[test]
    fn the_mount_table_is_read_and_escapes_are_undone() {
        let mounts = mounts().unwrap();
        let root = mount_of(&mounts, Path::new("/")).expect("a root mount");
        assert_eq!(root.mount_point, Path::new("/"));
        let text = "36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n";
        let parsed = parse_mounts(text).unwrap();
        let mount = mount_of(&parsed, Path::new("/mnt/with space/x")).unwrap();
        assert_eq!(mount.fs_type, "ext3");
        assert_eq!(mount.mount_point, Path::new("/mnt/with space"));
        assert!(mount_of(&parsed, Path::new("/elsewhere")).is_none());
        assert_eq!(unescape("a\\011b\\134c\\0"), "a\tb\\c\\0");
    }

    #[test]
    fn meminfo_names_fields_as_the_file_does_in_kib() {
        let fields = meminfo().unwrap();
        let text = std::fs::read_to_string("/proc/meminfo").unwrap();
        let total: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap();
        assert_eq!(fields["MemTotal"], total);
        assert!(fields.contains_key("Cached") && fields.contains_key("Buffers"));
        assert_eq!(meminfo_kib("NoSuchField"), None);
    }
}
