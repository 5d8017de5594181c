//! The operating-system pieces the scenarios share: file and anonymous
//! mappings (4 KiB pages, no huge pages), touching pages, /proc readers, and
//! the few things a forked child may do in a multithreaded parent (open,
//! mmap, pread, write, read, close: no allocation, no lock).

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use memmap2::{Advice, Mmap, MmapMut, MmapOptions};
use mmlab_core::DataFile;
use mmlab_core::pages::{FrameError, PagemapEntry, decode_pagemap, pagemap_entry};
use mmlab_core::probe::{ProbeChannel, ProbeOutcome, run_in_child};

pub fn page_size() -> usize {
    mmlab_core::fingerprint::page_size()
}

// Every mapping asks for 4 KiB pages only (MADV_NOHUGEPAGE), so that one
// page is one page-table entry whatever the machine's THP setting: a huge
// page would turn "one fault per page" into one fault per 2 MiB. Failure (a
// kernel without THP) changes nothing, so it is ignored.

/// The whole file mapped MAP_SHARED, PROT_READ.
pub fn map_shared_read(data: &DataFile) -> anyhow::Result<Mmap> {
    let file = data.open()?;
    // SAFETY: the file lives in this run's own data folder and nothing
    // truncates it while it is mapped, so every access stays in bounds.
    let map = unsafe { MmapOptions::new().map(&file) }
        .with_context(|| format!("mmap(MAP_SHARED, PROT_READ) of {}", data.path.display()))?;
    let _ = map.advise(Advice::NoHugePage);
    Ok(map)
}

/// The whole file mapped MAP_SHARED, PROT_READ | PROT_WRITE.
pub fn map_shared_write(data: &DataFile) -> anyhow::Result<MmapMut> {
    let file = data.open_rw()?;
    // SAFETY: as in `map_shared_read`; writes go to this run's own file.
    let map = unsafe { MmapOptions::new().map_mut(&file) }.with_context(|| {
        format!(
            "mmap(MAP_SHARED, PROT_READ|PROT_WRITE) of {}",
            data.path.display()
        )
    })?;
    let _ = map.advise(Advice::NoHugePage);
    Ok(map)
}

/// The whole file mapped MAP_PRIVATE, PROT_READ | PROT_WRITE (copy-on-write;
/// the descriptor is read-only: a private mapping never writes the file).
pub fn map_private(data: &DataFile) -> anyhow::Result<MmapMut> {
    let file = data.open()?;
    // SAFETY: as in `map_shared_read`.
    let map = unsafe { MmapOptions::new().map_copy(&file) }.with_context(|| {
        format!(
            "mmap(MAP_PRIVATE, PROT_READ|PROT_WRITE) of {}",
            data.path.display()
        )
    })?;
    let _ = map.advise(Advice::NoHugePage);
    Ok(map)
}

/// Anonymous private memory, 4 KiB pages, not touched yet.
pub fn map_anonymous(len_bytes: usize) -> anyhow::Result<MmapMut> {
    let map = MmapOptions::new()
        .len(len_bytes)
        .map_anon()
        .with_context(|| format!("mmap(MAP_PRIVATE|MAP_ANONYMOUS) of {len_bytes} bytes"))?;
    let _ = map.advise(Advice::NoHugePage);
    Ok(map)
}

/// Reads the first byte of every page (one possible fault per page).
pub fn read_every_page(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    for offset in (0..bytes.len()).step_by(page_size()) {
        sum = sum.wrapping_add(u64::from(std::hint::black_box(bytes[offset])));
    }
    sum
}

/// Writes one byte into each listed page (one possible fault per page). The
/// byte is the complement of the file's pattern, so a changed page is
/// recognisable.
pub fn write_pages(bytes: &mut [u8], pages: impl IntoIterator<Item = usize>) {
    let page = page_size();
    for index in pages {
        let offset = index * page;
        bytes[offset] = !mmlab_core::datafile::pattern_byte(offset as u64);
        std::hint::black_box(&bytes[offset]);
    }
}

/// `k` page indices spread evenly over `n` pages (the first is page 0).
pub fn spread_pages(k: usize, n: usize) -> impl Iterator<Item = usize> {
    (0..k.min(n)).map(move |i| i * n / k.max(1))
}

/// The first 8 bytes of page `index` of the mapping, as a little-endian word.
pub fn word_at_page(bytes: &[u8], index: usize) -> u64 {
    let offset = index * page_size();
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_le_bytes(word)
}

/// The file's pattern word at the start of page `index`.
pub fn pattern_word_of_page(index: usize) -> u64 {
    mmlab_core::datafile::pattern_word((index * page_size() / 8) as u64)
}

/// The first 8 bytes of page `index` read from the file with pread().
pub fn read_word_of_page(file: &File, index: usize) -> anyhow::Result<u64> {
    let mut word = [0u8; 8];
    file.read_exact_at(&mut word, (index * page_size()) as u64)
        .context("pread of the data file")?;
    Ok(u64::from_le_bytes(word))
}

/// The pagemap entry of the page holding `addr` in this process.
pub fn frame_of(addr: *const u8) -> Result<PagemapEntry, FrameError> {
    pagemap_entry(None, addr as usize)
}

/// The frame numbers behind every page of `bytes` in this process, read
/// from /proc/self/pagemap in one call; `None` where frames are unreadable
/// (no root: pagemap shows 0) or a page is not present.
pub fn frames_of(bytes: &[u8]) -> Option<Vec<u64>> {
    let page = page_size();
    let n = bytes.len().div_ceil(page);
    let pagemap = File::open("/proc/self/pagemap").ok()?;
    let mut words = vec![0u8; n * 8];
    pagemap
        .read_exact_at(&mut words, (bytes.as_ptr() as usize / page * 8) as u64)
        .ok()?;
    words
        .chunks_exact(8)
        .map(|word| {
            let entry = decode_pagemap(u64::from_le_bytes(word.try_into().expect("8 bytes")));
            (entry.present && entry.pfn != 0).then_some(entry.pfn)
        })
        .collect()
}

/// A frame number as the table prints it (`0x1a2b3`).
pub fn pfn_hex(pfn: u64) -> String {
    format!("{pfn:#x}")
}

/// Names of the set kpageflags bits of a frame, or `None` when unreadable.
pub fn frame_flags(pfn: u64) -> Option<Vec<&'static str>> {
    mmlab_core::pages::kpageflags(pfn)
        .ok()
        .map(mmlab_core::pages::kpageflags_names)
}

/// The raw pagemap word of the page holding `addr` in the calling process,
/// read with open/pread/close only: safe in a forked child of a
/// multithreaded parent. 0 when unreadable.
pub fn pagemap_word_in_child(addr: usize) -> u64 {
    let path = c"/proc/self/pagemap";
    let mut word = 0u64;
    // SAFETY: plain system calls on a descriptor opened and closed here; pread
    // writes at most 8 bytes into `word`, which has 8.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return 0;
        }
        let offset = (addr / page_size() * 8) as libc::off_t;
        let n = libc::pread(fd, (&raw mut word).cast(), 8, offset);
        libc::close(fd);
        if n != 8 {
            return 0;
        }
    }
    word
}

/// The decoded pagemap entry of `addr` in a forked child (see
/// [`pagemap_word_in_child`]).
pub fn frame_in_child(addr: usize) -> PagemapEntry {
    decode_pagemap(pagemap_word_in_child(addr))
}

/// A file mapped MAP_SHARED, PROT_READ by a forked child with raw system
/// calls (no allocation), unmapped on drop.
#[derive(Debug)]
pub struct ChildMapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl ChildMapping {
    /// Opens `path` and maps its first `len` bytes; `None` on any failure.
    pub fn map_shared(path: &CStr, len: usize) -> Option<ChildMapping> {
        // SAFETY: open/mmap/close with valid arguments; the mapping is owned
        // by the returned value and unmapped once, on drop.
        unsafe {
            let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return None;
            }
            let addr = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                0,
            );
            libc::close(fd);
            if addr == libc::MAP_FAILED {
                return None;
            }
            Some(ChildMapping { addr, len })
        }
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `addr` is a live PROT_READ mapping of `len` bytes of a file
        // at least that long, valid until drop.
        unsafe { std::slice::from_raw_parts(self.addr as *const u8, self.len) }
    }
}

impl Drop for ChildMapping {
    fn drop(&mut self) {
        // SAFETY: unmaps the mapping made in `map_shared`, not used after.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

/// Raw `write` of all of `bytes` to `fd` (usable in a forked child).
fn write_raw(fd: i32, bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: writes from a valid slice.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return false;
        }
        rest = &rest[n as usize..];
    }
    true
}

/// Sends u64 words over a probe channel without allocating.
pub fn send_words(channel: &mut ProbeChannel, words: &[u64]) {
    for word in words {
        channel.send(&word.to_le_bytes());
    }
}

/// Decodes the words a child sent with [`send_words`].
pub fn received_words(outcome: &ProbeOutcome) -> Vec<u64> {
    outcome
        .output
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect()
}

/// How many words a paused child reports before it waits.
pub const READY_WORDS: usize = 8;

/// Runs a forked child (through the probe API) that stays alive while the
/// parent acts:
/// 1. the child runs `before` and reports its pid and `READY_WORDS` words;
/// 2. the parent runs `parent(child_pid, words)` while the child waits;
/// 3. the child runs `after`, which sends what it saw and returns the exit
///    code.
///
/// The fork happens on a helper thread, so this thread stays free to act
/// while the child lives; the child is a copy of that helper thread only and
/// does only simple things (raw reads and writes of pipes and memory).
pub fn with_paused_child<B, P, A, T>(
    timeout: Duration,
    before: B,
    parent: P,
    after: A,
) -> anyhow::Result<(T, [u64; READY_WORDS], ProbeOutcome)>
where
    B: FnOnce() -> [u64; READY_WORDS] + Send,
    P: FnOnce(i32, &[u64; READY_WORDS]) -> T,
    A: FnOnce(&mut ProbeChannel) -> i32 + Send,
{
    let (ready_read, ready_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2 (ready)")?;
    let (go_read, go_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2 (go)")?;
    let (ready_read_fd, ready_write_fd) = (ready_read.as_raw_fd(), ready_write.as_raw_fd());
    let (go_read_fd, go_write_fd) = (go_read.as_raw_fd(), go_write.as_raw_fd());
    std::thread::scope(|scope| {
        let child = scope.spawn(move || {
            run_in_child(timeout, move |channel| {
                // SAFETY: closes the child's copies of the parent's ends, so
                // that the parent closing `go` reads as end-of-file here.
                unsafe {
                    libc::close(ready_read_fd);
                    libc::close(go_write_fd);
                }
                let words = before();
                let mut message = [0u8; 8 * (READY_WORDS + 1)];
                // SAFETY: getpid has no preconditions.
                let pid = unsafe { libc::getpid() } as u64;
                message[..8].copy_from_slice(&pid.to_le_bytes());
                for (i, word) in words.iter().enumerate() {
                    message[8 * (i + 1)..8 * (i + 2)].copy_from_slice(&word.to_le_bytes());
                }
                if !write_raw(ready_write_fd, &message) {
                    return 3;
                }
                let mut byte = 0u8;
                // SAFETY: reads at most one byte into `byte`.
                unsafe { libc::read(go_read_fd, (&raw mut byte).cast(), 1) };
                after(channel)
            })
        });
        let received = read_ready(&ready_read, &child, timeout);
        let result = received.map(|(pid, words)| (parent(pid, &words), words));
        // Let the child go on (and end) whatever happened here.
        let _ = write_raw(go_write_fd, &[1]);
        drop(go_write);
        let outcome = child
            .join()
            .map_err(|_| anyhow::anyhow!("the thread running the paused child panicked"))?;
        drop((ready_write, go_read));
        let (value, words) = result?;
        Ok((value, words, outcome?))
    })
}

/// Waits for the paused child's report (pid and words), polling so that a
/// child that died before reporting is noticed.
fn read_ready(
    ready: &OwnedFd,
    child: &std::thread::ScopedJoinHandle<'_, anyhow::Result<ProbeOutcome>>,
    timeout: Duration,
) -> anyhow::Result<(i32, [u64; READY_WORDS])> {
    let started = Instant::now();
    let mut message = [0u8; 8 * (READY_WORDS + 1)];
    let mut filled = 0;
    while filled < message.len() {
        if started.elapsed() > timeout || child.is_finished() {
            bail!("the paused child ended or timed out before it reported");
        }
        let mut poll_fd = libc::pollfd {
            fd: ready.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut poll_fd, 1, 50) };
        if n <= 0 {
            continue;
        }
        // SAFETY: reads into the unfilled tail of `message`.
        let got = unsafe {
            libc::read(
                ready.as_raw_fd(),
                message[filled..].as_mut_ptr().cast(),
                message.len() - filled,
            )
        };
        if got <= 0 {
            bail!("the paused child closed its pipe before it reported");
        }
        filled += got as usize;
    }
    let word = |i: usize| u64::from_le_bytes(message[8 * i..8 * i + 8].try_into().expect("8"));
    let mut words = [0u64; READY_WORDS];
    for (i, w) in words.iter_mut().enumerate() {
        *w = word(i + 1);
    }
    Ok((word(0) as i32, words))
}

/// Times fork() alone: the parent's clock from just before fork() to its
/// return, with a child that exits at once (so the parent's memory is never
/// copied, only its page tables). Returns nanoseconds.
pub fn time_fork() -> anyhow::Result<u64> {
    let started = Instant::now();
    // SAFETY: the child calls only _exit, which is async-signal-safe, so it
    // is sound in a multithreaded parent.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: ends the child at once, running nothing of the parent's.
        unsafe { libc::_exit(0) }
    }
    let elapsed = started.elapsed().as_nanos() as u64;
    if pid < 0 {
        bail!("fork: {}", std::io::Error::last_os_error());
    }
    nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).context("waitpid")?;
    Ok(elapsed)
}

/// A field of /proc/meminfo in KiB (`Cached`), through the one reader of
/// the workspace (`mmlab_core::proc`, procfs).
pub fn meminfo_kib(field: &str) -> anyhow::Result<u64> {
    mmlab_core::proc::meminfo_kib(field)
        .with_context(|| format!("no {field} readable in /proc/meminfo"))
}

/// A field of /proc/self/status in KiB (`RssAnon`, `RssFile`, `VmPTE`).
pub fn status_kib(field: &str) -> anyhow::Result<u64> {
    mmlab_core::proc::status_kib(field).map_err(anyhow::Error::msg)
}

/// A field of /proc/self/smaps_rollup in KiB (`Pss`, `Private_Dirty`).
pub fn rollup_kib(field: &str) -> anyhow::Result<u64> {
    mmlab_core::proc::smaps_rollup_kib(field).map_err(anyhow::Error::msg)
}

/// A region of this process's memory named by address, for a forked child
/// to write into its own copy of it (the closure that runs in the child
/// cannot borrow the parent's mapping mutably while the parent also uses it).
#[derive(Debug, Clone, Copy)]
pub struct RawRegion {
    addr: usize,
    len: usize,
}

impl RawRegion {
    pub fn of(bytes: &[u8]) -> RawRegion {
        RawRegion {
            addr: bytes.as_ptr() as usize,
            len: bytes.len(),
        }
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    /// The region as a mutable slice, in a forked child only.
    ///
    /// # Safety
    /// Call only in a forked child whose parent's mapping was live at the
    /// fork: the child has its own copy of the mapping and a single thread,
    /// so nothing else reads or writes these bytes while the slice lives;
    /// the child ends (with `_exit`, unmapping nothing) before the caller's
    /// lifetime `'a` could outlive the mapping.
    pub unsafe fn bytes_mut_in_child<'a>(self) -> &'a mut [u8] {
        // SAFETY: per the caller's contract, a live, unaliased mapping of
        // `len` bytes at `addr`.
        unsafe { std::slice::from_raw_parts_mut(self.addr as *mut u8, self.len) }
    }
}
