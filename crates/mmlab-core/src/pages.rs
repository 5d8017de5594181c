//! Page tools: which pages are resident (mincore), evicting one file from the
//! page cache, a mapping's /proc/self/smaps entry, and the physical frame of
//! a virtual page from /proc/self/pagemap.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use anyhow::{Context, bail};

use crate::fingerprint::page_size;

/// Residency of each page of `[addr, addr + len)` (addr page-aligned), as
/// mincore reports it. mincore only inspects page tables and the page cache;
/// it never touches the memory, so it is safe on any address (an unmapped
/// range is an ENOMEM error).
pub fn residency(addr: *const u8, len: usize) -> anyhow::Result<Vec<bool>> {
    let pages = len.div_ceil(page_size());
    let mut vector = vec![0u8; pages];
    // SAFETY: mincore writes one byte per page into `vector`, which has
    // exactly that many bytes; it does not access the range itself.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vector.as_mut_ptr()) };
    if rc != 0 {
        bail!(
            "mincore({addr:p}, {len}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(vector.into_iter().map(|b| b & 1 == 1).collect())
}

/// Number of resident pages of `[addr, addr + len)`.
pub fn resident_pages(addr: *const u8, len: usize) -> anyhow::Result<u64> {
    Ok(residency(addr, len)?.into_iter().filter(|r| *r).count() as u64)
}

/// Page-cache residency of a whole file: maps it (PROT_READ, MAP_SHARED,
/// no access, so nothing is faulted in), asks mincore, unmaps.
pub fn file_residency(fd: BorrowedFd<'_>) -> anyhow::Result<Vec<bool>> {
    let len = nix::sys::stat::fstat(fd).context("fstat")?.st_size as u64;
    residency_of_len(fd, len)
}

fn residency_of_len(fd: BorrowedFd<'_>, len: u64) -> anyhow::Result<Vec<bool>> {
    let len = len as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    let length = std::num::NonZeroUsize::new(len).expect("non-zero");
    // SAFETY: a fresh read-only mapping that nothing else refers to; it is
    // only inspected by mincore and unmapped before returning.
    let addr = unsafe {
        nix::sys::mman::mmap(
            None,
            length,
            nix::sys::mman::ProtFlags::PROT_READ,
            nix::sys::mman::MapFlags::MAP_SHARED,
            fd,
            0,
        )
    }
    .context("mmap for mincore")?;
    let result = residency(addr.as_ptr() as *const u8, len);
    // SAFETY: unmapping the mapping made above, which is not used afterwards.
    let _ = unsafe { nix::sys::mman::munmap(addr, len) };
    result
}

/// Resident page-cache pages of a whole file.
pub fn file_resident_pages(fd: BorrowedFd<'_>) -> anyhow::Result<u64> {
    Ok(file_residency(fd)?.into_iter().filter(|r| *r).count() as u64)
}

/// The page-cache state of a whole file from cachestat(2) (Linux 6.5+),
/// in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStat {
    pub n_cached: u64,
    pub n_dirty: u64,
    pub n_writeback: u64,
    pub n_evicted: u64,
    pub n_recently_evicted: u64,
}

/// cachestat(2) over all of `fd`. Unlike mincore it counts every page the
/// mapping holds, also those of a folio that is not up to date as a whole:
/// a block device's cache filled through buffer heads (filesystem metadata
/// read one block at a time) is invisible to mincore, not to cachestat.
/// The system call number is 451 on every architecture (the unified table);
/// the libc crate does not have it yet.
pub fn cachestat(fd: BorrowedFd<'_>) -> anyhow::Result<CacheStat> {
    cachestat_io(fd).map_err(|err| {
        if err.raw_os_error() == Some(libc::ENOSYS) {
            anyhow::anyhow!("cachestat(2) is not in this kernel (Linux 6.5 and later have it)")
        } else {
            anyhow::anyhow!("cachestat: {err}")
        }
    })
}

/// [`cachestat`] with the system call's own error (its errno), for callers
/// that report the errno itself (prot-flags' cases).
pub fn cachestat_io(fd: BorrowedFd<'_>) -> std::io::Result<CacheStat> {
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Raw {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    const SYS_CACHESTAT: libc::c_long = 451;
    let range = Range { off: 0, len: 0 };
    let mut raw = Raw::default();
    // SAFETY: cachestat reads `range` and writes `raw`, both live here.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            fd.as_raw_fd(),
            &range as *const Range,
            &mut raw as *mut Raw,
            0u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(CacheStat {
        n_cached: raw.nr_cache,
        n_dirty: raw.nr_dirty,
        n_writeback: raw.nr_writeback,
        n_evicted: raw.nr_evicted,
        n_recently_evicted: raw.nr_recently_evicted,
    })
}

/// Evicts one file's pages from the page cache: flushes it, then
/// posix_fadvise(POSIX_FADV_DONTNEED), repeated a few times while mincore
/// still sees pages (pages mapped by a process cannot be evicted). Returns
/// the pages still resident: 0 means the file is cold.
pub fn evict_file(fd: BorrowedFd<'_>) -> anyhow::Result<u64> {
    nix::unistd::fdatasync(fd).context("fdatasync before eviction")?;
    let mut resident = u64::MAX;
    for _ in 0..5 {
        nix::fcntl::posix_fadvise(
            fd.as_fd(),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .context("posix_fadvise(DONTNEED)")?;
        resident = file_resident_pages(fd)?;
        if resident == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Ok(resident)
}

/// Drops clean page cache, dentries and inodes for the whole machine
/// (`echo 3 > /proc/sys/vm/drop_caches`): root only, and only when a user
/// asks for it. This is an action, not a setting: nothing stays changed.
pub fn drop_all_caches() -> anyhow::Result<()> {
    nix::unistd::sync();
    fs::write("/proc/sys/vm/drop_caches", "3")
        .context("drop_caches needs root (write to /proc/sys/vm/drop_caches)")
}

/// One mapping's entry of /proc/<pid>/smaps, sizes in KiB as the file writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmapsEntry {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub path: String,
    /// Every `Name: N kB` field of the entry.
    pub fields_kib: BTreeMap<String, u64>,
}

impl SmapsEntry {
    /// A field in KiB (0 when the kernel does not print it).
    pub fn kib(&self, name: &str) -> u64 {
        self.fields_kib.get(name).copied().unwrap_or(0)
    }
}

/// Parses smaps text into entries (procfs reads it; sizes back in KiB).
pub fn parse_smaps(text: &str) -> Vec<SmapsEntry> {
    use procfs::FromBufRead;
    procfs::process::MemoryMaps::from_buf_read(text.as_bytes())
        .map(|maps| maps.0.into_iter().map(SmapsEntry::from).collect())
        .unwrap_or_default()
}

impl From<procfs::process::MemoryMap> for SmapsEntry {
    fn from(map: procfs::process::MemoryMap) -> SmapsEntry {
        use procfs::process::MMapPath;
        let path = match map.pathname {
            MMapPath::Path(p) => p.display().to_string(),
            MMapPath::Heap => "[heap]".into(),
            MMapPath::Stack => "[stack]".into(),
            MMapPath::TStack(tid) => format!("[stack:{tid}]"),
            MMapPath::Vdso => "[vdso]".into(),
            MMapPath::Vvar => "[vvar]".into(),
            MMapPath::Vsyscall => "[vsyscall]".into(),
            MMapPath::Rollup => "[rollup]".into(),
            MMapPath::Anonymous => String::new(),
            MMapPath::Vsys(key) => format!("/SYSV{key:08x}"),
            MMapPath::Other(other) => other,
        };
        SmapsEntry {
            start: map.address.0,
            end: map.address.1,
            perms: map.perms.as_str(),
            path,
            fields_kib: map
                .extension
                .map
                .into_iter()
                .map(|(name, bytes)| (name, bytes / 1024))
                .collect(),
        }
    }
}

/// The smaps entry of the mapping that contains `addr` in process `pid`
/// (`None` = this process), read through procfs.
pub fn smaps_entry(pid: Option<i32>, addr: usize) -> anyhow::Result<SmapsEntry> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/smaps"),
        None => "/proc/self/smaps".to_string(),
    };
    let process = match pid {
        Some(pid) => procfs::process::Process::new(pid),
        None => procfs::process::Process::myself(),
    };
    let maps = process
        .and_then(|p| p.smaps())
        .with_context(|| format!("cannot read {path}"))?;
    maps.0
        .into_iter()
        .find(|m| (m.address.0..m.address.1).contains(&(addr as u64)))
        .map(SmapsEntry::from)
        .with_context(|| format!("no mapping contains {addr:#x} in {path}"))
}

/// One page's entry of /proc/<pid>/pagemap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagemapEntry {
    /// The physical frame number; 0 when not present or hidden (no root).
    pub pfn: u64,
    pub present: bool,
    pub swapped: bool,
    /// File page or shared anonymous page (bit 61).
    pub file_or_shared_anon: bool,
    /// Mapped exclusively by this process (bit 56).
    pub exclusive: bool,
    pub soft_dirty: bool,
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("not-measured: physical frames need CAP_SYS_ADMIN (run as root)")]
    NeedsCapSysAdmin,
    #[error("not-measured: cannot read {path}: {message}")]
    Unreadable { path: String, message: String },
}

/// Decodes a raw 64-bit pagemap word.
pub fn decode_pagemap(word: u64) -> PagemapEntry {
    let present = word >> 63 & 1 == 1;
    let swapped = word >> 62 & 1 == 1;
    PagemapEntry {
        pfn: if present && !swapped {
            word & ((1 << 55) - 1)
        } else {
            0
        },
        present,
        swapped,
        file_or_shared_anon: word >> 61 & 1 == 1,
        exclusive: word >> 56 & 1 == 1,
        soft_dirty: word >> 55 & 1 == 1,
    }
}

/// The pagemap entry of the page holding `addr` in process `pid` (`None` =
/// this process). The page must be mapped (touch it first to make it
/// present). Without CAP_SYS_ADMIN the kernel hides frame numbers, which is
/// reported as [`FrameError::NeedsCapSysAdmin`] for a present page.
pub fn pagemap_entry(pid: Option<i32>, addr: usize) -> Result<PagemapEntry, FrameError> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/pagemap"),
        None => "/proc/self/pagemap".to_string(),
    };
    let unreadable = |e: std::io::Error| FrameError::Unreadable {
        path: path.clone(),
        message: e.to_string(),
    };
    let mut file = fs::File::open(&path).map_err(unreadable)?;
    let index = (addr / page_size()) as u64;
    file.seek(SeekFrom::Start(index * 8)).map_err(unreadable)?;
    let mut word = [0u8; 8];
    file.read_exact(&mut word).map_err(unreadable)?;
    let entry = decode_pagemap(u64::from_le_bytes(word));
    if entry.present && !entry.swapped && entry.pfn == 0 {
        return Err(FrameError::NeedsCapSysAdmin);
    }
    Ok(entry)
}

/// /proc/kpageflags bits of a frame (root only).
pub fn kpageflags(pfn: u64) -> anyhow::Result<u64> {
    let mut file =
        fs::File::open("/proc/kpageflags").context("cannot open /proc/kpageflags (needs root)")?;
    file.seek(SeekFrom::Start(pfn * 8))?;
    let mut word = [0u8; 8];
    file.read_exact(&mut word)
        .context("cannot read /proc/kpageflags")?;
    Ok(u64::from_le_bytes(word))
}

/// Names of the kpageflags bits that are set (see the kernel's
/// Documentation/admin-guide/mm/pagemap.rst).
pub fn kpageflags_names(flags: u64) -> Vec<&'static str> {
    const NAMES: [&str; 27] = [
        "LOCKED",
        "ERROR",
        "REFERENCED",
        "UPTODATE",
        "DIRTY",
        "LRU",
        "ACTIVE",
        "SLAB",
        "WRITEBACK",
        "RECLAIM",
        "BUDDY",
        "MMAP",
        "ANON",
        "SWAPCACHE",
        "SWAPBACKED",
        "COMPOUND_HEAD",
        "COMPOUND_TAIL",
        "HUGE",
        "UNEVICTABLE",
        "HWPOISON",
        "NOPAGE",
        "KSM",
        "THP",
        "OFFLINE",
        "ZERO_PAGE",
        "IDLE",
        "PGTABLE",
    ];
    NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags >> bit & 1 == 1)
        .map(|(_, n)| *n)
        .collect()
}

/// The folios behind a mapped range: how many folios of each size (in
/// pages) back its present pages, from the frame numbers in pagemap and the
/// COMPOUND_HEAD / COMPOUND_TAIL bits of /proc/kpageflags (root only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolioSizes {
    /// Folio size in pages -> folios of that size. A folio that the range
    /// cuts (the range starts or ends inside it) counts with the pages the
    /// range holds.
    pub histogram: BTreeMap<u64, u64>,
    /// Pages of the range not present in the page table (not counted).
    pub n_pages_not_present: u64,
}

impl FolioSizes {
    /// Present pages counted.
    pub fn n_pages(&self) -> u64 {
        self.histogram.iter().map(|(size, n)| size * n).sum()
    }

    /// Pages in folios of more than one page.
    pub fn n_pages_in_large_folios(&self) -> u64 {
        self.histogram
            .iter()
            .filter(|(size, _)| **size > 1)
            .map(|(size, n)| size * n)
            .sum()
    }

    /// The size of the folio an average page sits in (page-weighted mean),
    /// `None` when no page was present.
    pub fn mean_pages_per_folio_of_a_page(&self) -> Option<f64> {
        let pages = self.n_pages();
        (pages > 0).then(|| {
            self.histogram
                .iter()
                .map(|(size, n)| (size * size * n) as f64)
                .sum::<f64>()
                / pages as f64
        })
    }

    pub fn largest(&self) -> Option<u64> {
        self.histogram.keys().next_back().copied()
    }
}

const KPF_COMPOUND_HEAD: u64 = 1 << 15;
const KPF_COMPOUND_TAIL: u64 = 1 << 16;

/// Groups the pages of a range into folios from each present page's frame
/// number and kpageflags word (`None` for a page not present). A page
/// starts a new folio unless it is a compound tail whose frame follows the
/// previous page's.
pub fn group_folios(pages: &[Option<(u64, u64)>]) -> FolioSizes {
    let mut sizes = FolioSizes::default();
    let mut current: Option<(u64, u64)> = None; // (size so far, last pfn)
    for page in pages {
        match page {
            None => {
                sizes.n_pages_not_present += 1;
                if let Some((size, _)) = current.take() {
                    *sizes.histogram.entry(size).or_default() += 1;
                }
            }
            Some((pfn, flags)) => {
                let continues = flags & KPF_COMPOUND_TAIL != 0
                    && flags & KPF_COMPOUND_HEAD == 0
                    && current.is_some_and(|(_, last)| last + 1 == *pfn);
                current = match current {
                    Some((size, _)) if continues => Some((size + 1, *pfn)),
                    Some((size, _)) => {
                        *sizes.histogram.entry(size).or_default() += 1;
                        Some((1, *pfn))
                    }
                    None => Some((1, *pfn)),
                };
            }
        }
    }
    if let Some((size, _)) = current {
        *sizes.histogram.entry(size).or_default() += 1;
    }
    sizes
}

/// The folio sizes behind `[addr, addr + len)` of this process (pages must
/// be mapped to be seen: touch them first). Needs root for frame numbers.
pub fn folio_sizes(addr: usize, len: usize) -> Result<FolioSizes, FrameError> {
    use std::os::unix::fs::FileExt;
    let page = page_size();
    let n = len.div_ceil(page);
    let unreadable = |path: &str, e: std::io::Error| FrameError::Unreadable {
        path: path.to_string(),
        message: e.to_string(),
    };
    let pagemap =
        fs::File::open("/proc/self/pagemap").map_err(|e| unreadable("/proc/self/pagemap", e))?;
    let mut words = vec![0u8; n * 8];
    pagemap
        .read_exact_at(&mut words, (addr / page * 8) as u64)
        .map_err(|e| unreadable("/proc/self/pagemap", e))?;
    let entries: Vec<PagemapEntry> = words
        .chunks_exact(8)
        .map(|word| decode_pagemap(u64::from_le_bytes(word.try_into().expect("8 bytes"))))
        .collect();
    // Frame numbers first: without CAP_SYS_ADMIN pagemap shows them as 0,
    // and that (not kpageflags' own permission error) is the reason to give.
    if entries
        .iter()
        .any(|e| e.present && !e.swapped && e.pfn == 0)
    {
        return Err(FrameError::NeedsCapSysAdmin);
    }
    let mut kpageflags = None;
    let mut pages = Vec::with_capacity(n);
    for entry in entries {
        if !entry.present || entry.swapped {
            pages.push(None);
            continue;
        }
        let file = match &kpageflags {
            Some(file) => file,
            None => kpageflags.insert(
                fs::File::open("/proc/kpageflags")
                    .map_err(|e| unreadable("/proc/kpageflags", e))?,
            ),
        };
        let mut flags = [0u8; 8];
        file.read_exact_at(&mut flags, entry.pfn * 8)
            .map_err(|e| unreadable("/proc/kpageflags", e))?;
        pages.push(Some((entry.pfn, u64::from_le_bytes(flags))));
    }
    Ok(group_folios(&pages))
}

/// `read_bytes` of /proc/self/io: bytes this process caused to be read from
/// storage (the real I/O behind major faults and readahead).
pub fn proc_self_io_read_bytes() -> Option<u64> {
    crate::proc::io_read_bytes()
}

/// This process's own resource usage (RUSAGE_SELF): faults and CPU times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Rusage {
    pub n_minor_faults: u64,
    pub n_major_faults: u64,
    pub user_ns: u64,
    pub system_ns: u64,
    pub max_rss_kib: u64,
    pub n_voluntary_context_switches: u64,
    pub n_involuntary_context_switches: u64,
}

impl Rusage {
    pub fn from_libc(r: &libc::rusage) -> Rusage {
        let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1000;
        Rusage {
            n_minor_faults: r.ru_minflt as u64,
            n_major_faults: r.ru_majflt as u64,
            user_ns: ns(r.ru_utime),
            system_ns: ns(r.ru_stime),
            max_rss_kib: r.ru_maxrss as u64,
            n_voluntary_context_switches: r.ru_nvcsw as u64,
            n_involuntary_context_switches: r.ru_nivcsw as u64,
        }
    }

    /// getrusage(RUSAGE_SELF), or RUSAGE_THREAD with `thread` (the calling
    /// thread only: what a measured region on this thread caused).
    pub fn now(thread: bool) -> Rusage {
        // SAFETY: getrusage fills the zeroed struct it is given.
        let mut r: libc::rusage = unsafe { std::mem::zeroed() };
        let who = if thread {
            libc::RUSAGE_THREAD
        } else {
            libc::RUSAGE_SELF
        };
        // SAFETY: `r` is a valid, writable rusage.
        unsafe { libc::getrusage(who, &mut r) };
        Rusage::from_libc(&r)
    }

    /// The difference `self - earlier` (max_rss is kept as the later value).
    pub fn since(&self, earlier: &Rusage) -> Rusage {
        Rusage {
            n_minor_faults: self.n_minor_faults.saturating_sub(earlier.n_minor_faults),
            n_major_faults: self.n_major_faults.saturating_sub(earlier.n_major_faults),
            user_ns: self.user_ns.saturating_sub(earlier.user_ns),
            system_ns: self.system_ns.saturating_sub(earlier.system_ns),
            max_rss_kib: self.max_rss_kib,
            n_voluntary_context_switches: self
                .n_voluntary_context_switches
                .saturating_sub(earlier.n_voluntary_context_switches),
            n_involuntary_context_switches: self
                .n_involuntary_context_switches
                .saturating_sub(earlier.n_involuntary_context_switches),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_smaps_entry() {
        let text = "7f0000000000-7f0000004000 rw-s 00000000 fe:01 1234   /data/file name\nSize:                 16 kB\nRss:                   8 kB\nPrivate_Dirty:         4 kB\nVmFlags: rd wr sh mr mw me ms\n";
        let entries = parse_smaps(text);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, "/data/file name");
        assert_eq!(entries[0].kib("Rss"), 8);
        assert_eq!(entries[0].kib("Private_Dirty"), 4);
        assert_eq!(entries[0].kib("AnonHugePages"), 0);
    }

    #[test]
    fn decodes_pagemap_bits() {
        let word = (1u64 << 63) | (1 << 61) | 0x1234;
        let e = decode_pagemap(word);
        assert!(e.present && e.file_or_shared_anon && !e.exclusive);
        assert_eq!(e.pfn, 0x1234);
        assert_eq!(decode_pagemap(0).pfn, 0);
    }

    #[test]
    fn folios_are_grouped_by_compound_bits_and_contiguous_frames() {
        const HEAD: u64 = KPF_COMPOUND_HEAD;
        const TAIL: u64 = KPF_COMPOUND_TAIL;
        let pages = [
            Some((100, 0)),    // an order-0 folio
            Some((200, HEAD)), // a 4-page folio
            Some((201, TAIL)),
            Some((202, TAIL)),
            Some((203, TAIL)),
            Some((205, TAIL)), // a tail of another folio: cut by the range
            None,              // not mapped
            Some((300, HEAD)), // a 2-page folio at the end
            Some((301, TAIL)),
        ];
        let sizes = group_folios(&pages);
        assert_eq!(sizes.histogram, BTreeMap::from([(1, 2), (2, 1), (4, 1)]));
        assert_eq!(sizes.n_pages_not_present, 1);
        assert_eq!(sizes.n_pages(), 8);
        assert_eq!(sizes.n_pages_in_large_folios(), 6);
        assert_eq!(sizes.largest(), Some(4));
        // (1*1*2 + 2*2*1 + 4*4*1) / 8 pages
        assert_eq!(sizes.mean_pages_per_folio_of_a_page(), Some(22.0 / 8.0));
    }

    #[test]
    fn names_kpageflags_bits() {
        assert_eq!(kpageflags_names((1 << 5) | (1 << 12)), vec!["LRU", "ANON"]);
    }
}
