//! The unsafe corner of the experiment: raw mmap, mprotect, msync and munmap
//! calls that report errno instead of hiding it, byte accesses that may fault
//! on purpose, and the machine-code stub that an exec case calls. Everything
//! here that can fault runs only inside a probe child
//! (`mmlab_core::probe::run_in_child`), where a fault is the measurement.

use std::os::fd::RawFd;

/// Linux flag values that the libc crate does not define on every target.
/// They are the same on x86_64 and aarch64 (`include/uapi/asm-generic/mman*.h`).
pub const MAP_SHARED_VALIDATE: i32 = 0x03;
pub const MAP_SYNC: i32 = 0x08_0000;
pub const MAP_FIXED_NOREPLACE: i32 = 0x10_0000;
/// `MAP_FILE` is 0 on Linux: giving it cannot change the flags word.
pub const MAP_FILE: i32 = 0;
/// `MAP_UNINITIALIZED` (honoured only by kernels built for it; ignored
/// otherwise).
pub const MAP_UNINITIALIZED: i32 = 0x400_0000;
/// `MAP_32BIT` on x86_64 (no other architecture has it: 0 there, so the
/// flag word is unchanged).
#[cfg(target_arch = "x86_64")]
pub const MAP_32BIT: i32 = 0x40;
#[cfg(not(target_arch = "x86_64"))]
pub const MAP_32BIT: i32 = 0;
/// A bit no Linux mmap flag uses (between MAP_FIXED_NOREPLACE and
/// MAP_UNINITIALIZED), for the "unknown flag" cases.
pub const MAP_UNKNOWN_BIT: i32 = 0x20_0000;

/// `FS_IOC_GETFLAGS` / `FS_IOC_SETFLAGS` (`_IOR/_IOW('f', 1/2, long)` on a
/// 64-bit target) and the append-only attribute (`chattr +a`).
const FS_IOC_GETFLAGS: libc::c_ulong = 0x8008_6601;
const FS_IOC_SETFLAGS: libc::c_ulong = 0x4008_6602;
pub const FS_APPEND_FL: i32 = 0x20;

/// A failed system call: which call and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub call: &'static str,
    pub errno: i32,
}

impl Failure {
    pub fn last(call: &'static str) -> Failure {
        Failure {
            call,
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }
    }
}

/// The errno value that marks a case which could not run here; `call`
/// holds the reason.
pub const NOT_RUN_ERRNO: i32 = -1;

pub fn not_run(reason: &'static str) -> Failure {
    Failure {
        call: reason,
        errno: NOT_RUN_ERRNO,
    }
}

/// `EACCES` for an errno value.
pub fn errno_name(errno: i32) -> String {
    format!("{:?}", nix::errno::Errno::from_raw(errno))
}

/// A mapping made by [`map`]: its address and length in bytes. Mappings of
/// a probe child are never unmapped behind its back except by [`unmap`],
/// which consumes the value.
#[derive(Debug, PartialEq, Eq)]
pub struct Mapping {
    addr: usize,
    len: usize,
}

/// mmap(hint, len, prot, flags, fd, offset), the errno kept on failure.
pub fn map(
    hint: usize,
    len: usize,
    prot: i32,
    flags: i32,
    fd: RawFd,
    offset: i64,
) -> Result<Mapping, Failure> {
    // SAFETY: without MAP_FIXED the kernel never places a mapping over an
    // existing one. With MAP_FIXED the cases pass only ranges the probe
    // child mapped itself just before and never reached through a Rust
    // reference (that replacement is what the case measures).
    let addr = unsafe { libc::mmap(hint as *mut libc::c_void, len, prot, flags, fd, offset) };
    if addr == libc::MAP_FAILED {
        return Err(Failure::last("mmap"));
    }
    Ok(Mapping {
        addr: addr as usize,
        len,
    })
}

/// munmap of a whole mapping.
pub fn unmap(mapping: Mapping) -> Result<(), Failure> {
    unmap_range(mapping.addr, mapping.len)
}

/// munmap of any range (the kernel checks it).
pub fn unmap_range(addr: usize, len: usize) -> Result<(), Failure> {
    // SAFETY: the range holds no Rust object: only mappings made by `map`.
    let rc = unsafe { libc::munmap(addr as *mut libc::c_void, len) };
    if rc != 0 {
        return Err(Failure::last("munmap"));
    }
    Ok(())
}

/// mprotect of any range (the kernel checks alignment and that it is mapped).
pub fn protect(addr: usize, len: usize, prot: i32) -> Result<(), Failure> {
    // SAFETY: changing protections cannot break Rust's invariants for ranges
    // that hold only mappings made by `map`; a later access that faults is
    // what the probe child is there to observe.
    let rc = unsafe { libc::mprotect(addr as *mut libc::c_void, len, prot) };
    if rc != 0 {
        return Err(Failure::last("mprotect"));
    }
    Ok(())
}

/// msync(MS_SYNC) of a whole mapping.
pub fn sync(mapping: &Mapping) -> Result<(), Failure> {
    // SAFETY: msync only reads the range's page tables.
    let rc = unsafe {
        libc::msync(
            mapping.addr as *mut libc::c_void,
            mapping.len,
            libc::MS_SYNC,
        )
    };
    if rc != 0 {
        return Err(Failure::last("msync"));
    }
    Ok(())
}

impl Mapping {
    pub fn addr(&self) -> usize {
        self.addr
    }

    pub fn length(&self) -> usize {
        self.len
    }

    /// The address of byte `offset`, which must lie in the mapping's pages.
    pub fn at(&self, offset: usize) -> usize {
        assert!(
            offset < self.len.next_multiple_of(page_size()),
            "offset {offset} outside a mapping of {} bytes",
            self.len
        );
        self.addr + offset
    }

    /// Reads one byte. It may fault (SIGSEGV, SIGBUS): that ends the probe
    /// child, and the fault is the case's observation.
    pub fn read(&self, offset: usize) -> u8 {
        let addr = self.at(offset);
        // SAFETY: `addr` lies inside a range this process mapped and still
        // maps (checked by `at`); the read is volatile so it really happens,
        // and a protection fault ends the probe child instead of returning.
        unsafe { std::ptr::read_volatile(addr as *const u8) }
    }

    /// Writes one byte; may fault like [`Mapping::read`].
    pub fn write(&self, offset: usize, value: u8) {
        let addr = self.at(offset);
        // SAFETY: as in `read`; no Rust reference points into the mapping.
        unsafe { std::ptr::write_volatile(addr as *mut u8, value) }
    }

    /// Copies the mapping's first `n` bytes out (faults like `read`).
    pub fn bytes(&self, n: usize) -> Vec<u8> {
        (0..n).map(|i| self.read(i)).collect()
    }

    /// Calls the code at `offset` as `extern "C" fn() -> u32`.
    ///
    /// # Safety
    /// The bytes at `offset` must be [`STUB`] (or the call must fault before
    /// running anything: a page without execute permission).
    pub unsafe fn call(&self, offset: usize) -> u32 {
        let addr = self.at(offset);
        // SAFETY: the caller guarantees the bytes are STUB, a complete
        // function that follows the C calling convention and touches no
        // memory; a page that may not be executed faults on the call.
        unsafe {
            let function: extern "C" fn() -> u32 = std::mem::transmute(addr as *const ());
            function()
        }
    }
}

/// Reads a byte at an address that may no longer be mapped (after munmap).
///
/// # Safety
/// Only for a probe child whose point is to fault: `addr` must hold no Rust
/// object, so that if something else got mapped there, nothing breaks.
pub unsafe fn read_raw(addr: usize) -> u8 {
    // SAFETY: see the function's contract.
    unsafe { std::ptr::read_volatile(addr as *const u8) }
}

/// Writes a byte at an address outside any `Mapping` (below a
/// MAP_GROWSDOWN mapping, which may grow to take it, or fault).
///
/// # Safety
/// Only for a probe child: `addr` must hold no Rust object.
pub unsafe fn write_raw(addr: usize, value: u8) {
    // SAFETY: see the function's contract.
    unsafe { std::ptr::write_volatile(addr as *mut u8, value) }
}

/// The value the stub returns.
pub const STUB_RETURN: u32 = 42;

/// `mov eax, 42; ret`.
#[cfg(target_arch = "x86_64")]
pub const STUB: Option<&[u8]> = Some(&[0xB8, 0x2A, 0x00, 0x00, 0x00, 0xC3]);

/// `mov w0, #42; ret` (0x52800540, 0xD65F03C0, little-endian).
#[cfg(target_arch = "aarch64")]
pub const STUB: Option<&[u8]> = Some(&[0x40, 0x05, 0x80, 0x52, 0xC0, 0x03, 0x5F, 0xD6]);

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const STUB: Option<&[u8]> = None;

/// Makes code just written through the data side visible to instruction
/// fetch, as a JIT must before it calls what it wrote: on aarch64 the
/// instruction cache is not coherent with stores, so each line is cleaned
/// to the point of unification (`dc cvau`), invalidated in the instruction
/// cache (`ic ivau`), and the pipeline is resynchronised (`isb`); the line
/// sizes come from CTR_EL0, which Linux lets user space read. On x86_64
/// the hardware keeps the caches coherent, so there is nothing to do.
#[cfg(target_arch = "aarch64")]
pub fn sync_instruction_cache(addr: usize, len: usize) {
    use std::arch::asm;
    let ctr: u64;
    // SAFETY: reading CTR_EL0 at EL0 is allowed on Linux (SCTLR_EL1.UCT) and
    // touches no memory.
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let data_line = 4usize << ((ctr >> 16) & 0xf);
    let instruction_line = 4usize << (ctr & 0xf);
    let end = addr + len;
    let mut line = addr & !(data_line - 1);
    while line < end {
        // SAFETY: cache maintenance by address on memory this process maps
        // readable and writable; it changes no data.
        unsafe { asm!("dc cvau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += data_line;
    }
    // SAFETY: barriers only.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    let mut line = addr & !(instruction_line - 1);
    while line < end {
        // SAFETY: as for `dc cvau` above.
        unsafe { asm!("ic ivau, {0}", in(reg) line, options(nostack, preserves_flags)) };
        line += instruction_line;
    }
    // SAFETY: barriers only.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}

/// x86_64 (and any other architecture without a stub): nothing to do.
#[cfg(not(target_arch = "aarch64"))]
pub fn sync_instruction_cache(_addr: usize, _len: usize) {}

pub fn page_size() -> usize {
    mmlab_core::fingerprint::page_size()
}

/// The pathname column of the /proc/self/maps line that holds `addr`:
/// `Some("")` for a blank one, `None` when no line holds it.
pub fn maps_pathname(addr: usize) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/maps").ok()?;
    for line in text.lines() {
        let mut fields = line.splitn(6, ' ');
        let range = fields.next()?;
        let (start, end) = range.split_once('-')?;
        let start = usize::from_str_radix(start, 16).ok()?;
        let end = usize::from_str_radix(end, 16).ok()?;
        if (start..end).contains(&addr) {
            let rest = fields.nth(4).unwrap_or("");
            return Some(rest.trim().to_string());
        }
    }
    None
}

/// Whether the file at `path` is on DAX storage (statx's STATX_ATTR_DAX,
/// Linux 5.8 and later); `None` when statx fails or the kernel does not
/// report the attribute.
pub fn is_dax(path: &std::path::Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: zeroed statx is a valid value for statx to fill.
    let mut buffer: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a valid out-pointer.
    let rc = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            name.as_ptr(),
            0,
            libc::STATX_BASIC_STATS,
            &mut buffer,
        )
    };
    let dax = libc::STATX_ATTR_DAX as u64;
    (rc == 0 && buffer.stx_attributes_mask & dax != 0).then_some(buffer.stx_attributes & dax != 0)
}

/// Minor faults of this process so far (getrusage).
pub fn minor_faults() -> u64 {
    mmlab_core::pages::Rusage::now(false).n_minor_faults
}

/// Minor faults taken while `touch` runs on `measured`, after the same
/// `touch` ran once on `warm_up`. In a freshly forked child the code pages
/// and stack pages are not yet in its page tables (fork copies no PTEs of
/// file-backed text, and stack pages are copy-on-write), so their first use
/// faults too; the warm-up run takes those faults, so the count is the
/// mapping's own.
pub fn faults_during(touch: impl Fn(&Mapping), warm_up: &Mapping, measured: &Mapping) -> u64 {
    touch(warm_up);
    std::hint::black_box(minor_faults());
    let before = minor_faults();
    touch(measured);
    minor_faults() - before
}

/// Sets or clears the append-only attribute (`chattr +a`) of an open file.
/// Needs CAP_LINUX_IMMUTABLE and a filesystem with inode flags (ext4, xfs).
pub fn set_append_only(fd: RawFd, on: bool) -> std::io::Result<()> {
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int to the pointer given.
    if unsafe { libc::ioctl(fd, FS_IOC_GETFLAGS, &mut flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    flags = if on {
        flags | FS_APPEND_FL
    } else {
        flags & !FS_APPEND_FL
    };
    // SAFETY: FS_IOC_SETFLAGS reads one int from the pointer given.
    if unsafe { libc::ioctl(fd, FS_IOC_SETFLAGS, &flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Forks a child that runs `child` and `_exit`s with its return value (a
/// byte), and waits for it; returns the exit code, or an error naming how it
/// ended. Used inside probe children to get "another process".
pub fn in_forked_child(child: impl FnOnce() -> u8) -> Result<u8, Failure> {
    // SAFETY: the probe child calling this is single-threaded; the new child
    // runs `child` and `_exit`s without returning into the caller's frames.
    match unsafe { libc::fork() } {
        -1 => Err(Failure::last("fork")),
        0 => {
            let code = child();
            // SAFETY: ends the grandchild at once, running no destructors.
            unsafe { libc::_exit(i32::from(code)) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: waiting for our own child with a valid status pointer.
            if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
                return Err(Failure::last("waitpid"));
            }
            if libc::WIFEXITED(status) {
                Ok(libc::WEXITSTATUS(status) as u8)
            } else {
                Err(Failure {
                    call: "forked child (killed by a signal)",
                    errno: 0,
                })
            }
        }
    }
}

/// Turns a `-1` return into the call's errno.
fn check(call: &'static str, rc: libc::c_int) -> Result<(), Failure> {
    if rc != 0 {
        return Err(Failure::last(call));
    }
    Ok(())
}

/// msync(addr, len, flags) of any range and flags (the kernel checks them).
pub fn msync_raw(addr: usize, len: usize, flags: i32) -> Result<(), Failure> {
    // SAFETY: msync reads page tables and writes back file pages; it changes
    // no memory contents.
    check("msync", unsafe {
        libc::msync(addr as *mut libc::c_void, len, flags)
    })
}

/// madvise(addr, len, advice) of any range and advice. Some advice changes
/// what the range reads (MADV_DONTNEED, MADV_REMOVE, MADV_FREE): that is
/// what the cases measure, on mappings they made and reach only by address.
pub fn madvise(addr: usize, len: usize, advice: i32) -> Result<(), Failure> {
    // SAFETY: the range holds no Rust object, only mappings made by `map`.
    check("madvise", unsafe {
        libc::madvise(addr as *mut libc::c_void, len, advice)
    })
}

/// mincore(addr, len) into a vector of its own: the residency bytes, one
/// per page.
pub fn mincore(addr: usize, len: usize) -> Result<Vec<u8>, Failure> {
    let mut vec = vec![0u8; len.div_ceil(page_size()).max(1)];
    // SAFETY: `vec` holds one byte per page of the range.
    check("mincore", unsafe {
        libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr())
    })?;
    Ok(vec)
}

/// mincore(addr, len, vec_addr) for the error cases: `vec_addr` is either
/// a bad address (EFAULT) or one byte of `spare`, for a call the kernel
/// refuses before it writes anything (EINVAL, ENOMEM).
pub fn mincore_refused(addr: usize, len: usize, vec_addr: Option<usize>) -> Result<(), Failure> {
    let mut spare = [0u8; 16];
    let target = vec_addr.map_or(spare.as_mut_ptr(), |a| a as *mut u8);
    // SAFETY: a bad vector address is rejected by the kernel (EFAULT)
    // without a write to this process's memory; the spare bytes are ours.
    // A length the kernel accepts is never passed with a bad vector.
    check("mincore", unsafe {
        libc::mincore(addr as *mut libc::c_void, len, target)
    })
}

/// The number of resident pages of a range (mincore).
pub fn resident(addr: usize, len: usize) -> Result<usize, Failure> {
    Ok(mincore(addr, len)?.iter().filter(|b| *b & 1 != 0).count())
}

/// mlock(addr, len).
pub fn mlock(addr: usize, len: usize) -> Result<(), Failure> {
    // SAFETY: locking pages changes no memory contents.
    check("mlock", unsafe {
        libc::mlock(addr as *const libc::c_void, len)
    })
}

/// mlock2(addr, len, MLOCK_ONFAULT).
pub fn mlock_on_fault(addr: usize, len: usize) -> Result<(), Failure> {
    // SAFETY: as for mlock.
    check("mlock2", unsafe {
        libc::mlock2(addr as *const libc::c_void, len, libc::MLOCK_ONFAULT)
    })
}

/// munlock(addr, len).
pub fn munlock(addr: usize, len: usize) -> Result<(), Failure> {
    // SAFETY: as for mlock.
    check("munlock", unsafe {
        libc::munlock(addr as *const libc::c_void, len)
    })
}

/// Sets this process's soft and hard RLIMIT_MEMLOCK (a probe child's own
/// limit: it ends with the child; no system setting changes).
pub fn set_memlock_limit(bytes: u64) -> Result<(), Failure> {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: a valid rlimit value.
    check("setrlimit", unsafe {
        libc::setrlimit(libc::RLIMIT_MEMLOCK, &limit)
    })
}

/// Drops the probe child to the user and group `nobody` (65534): no
/// supplementary groups, then setresgid and setresuid, which clear every
/// capability of a root process. Only ever called in a probe child.
pub fn drop_to_nobody() -> Result<(), Failure> {
    const NOBODY: u32 = 65534;
    // SAFETY: plain credential changes of the calling (child) process.
    unsafe {
        check("setgroups", libc::setgroups(0, std::ptr::null()))?;
        check("setresgid", libc::setresgid(NOBODY, NOBODY, NOBODY))?;
        check("setresuid", libc::setresuid(NOBODY, NOBODY, NOBODY))?;
    }
    Ok(())
}

/// The `VmLck` line of /proc/self/status, in KiB.
pub fn vm_locked_kib() -> Result<u64, Failure> {
    mmlab_core::proc::status_kib("VmLck").map_err(|_| Failure {
        call: "read /proc/self/status",
        errno: 0,
    })
}

/// The /proc/self/maps lines that overlap `[addr, addr + len)`, each as
/// `(start, end, perms, offset, inode, pathname)`.
pub fn maps_lines(addr: usize, len: usize) -> Vec<MapsLine> {
    let Ok(text) = std::fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(MapsLine::parse)
        .filter(|l| l.start < addr + len && addr < l.end)
        .collect()
}

/// One line of /proc/self/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapsLine {
    pub start: usize,
    pub end: usize,
    pub perms: String,
    pub offset: u64,
    pub device: String,
    pub inode: u64,
    pub pathname: String,
}

impl MapsLine {
    pub fn parse(line: &str) -> Option<MapsLine> {
        let mut fields = line.splitn(6, ' ');
        let (start, end) = fields.next()?.split_once('-')?;
        let perms = fields.next()?.to_string();
        let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
        let device = fields.next()?.to_string();
        let inode = fields.next()?.parse().ok()?;
        let pathname = fields.next().unwrap_or("").trim().to_string();
        Some(MapsLine {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
            perms,
            offset,
            device,
            inode,
            pathname,
        })
    }
}

/// The number of lines of /proc/self/maps, read into a buffer allocated
/// before (reading it then needs no new mapping, even at the map limit).
pub fn maps_line_count(buffer: &mut [u8]) -> Result<usize, Failure> {
    let path = c"/proc/self/maps";
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::last("open /proc/self/maps"));
    }
    let mut lines = 0;
    loop {
        // SAFETY: reading into a buffer we own.
        let n = unsafe { libc::read(fd, buffer.as_mut_ptr() as *mut libc::c_void, buffer.len()) };
        if n <= 0 {
            break;
        }
        lines += buffer[..n as usize].iter().filter(|b| **b == b'\n').count();
    }
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    Ok(lines)
}

/// ftruncate of the file at `path` (opened for writing) to `len` bytes.
pub fn truncate(path: &std::path::Path, len: u64) -> Result<(), Failure> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Failure {
            call: "open",
            errno: e.raw_os_error().unwrap_or(0),
        })?;
    file.set_len(len).map_err(|e| Failure {
        call: "ftruncate",
        errno: e.raw_os_error().unwrap_or(0),
    })
}

/// open(2) of `path` with `flags`, the errno kept; the descriptor is owned
/// by the returned value.
pub fn open_raw(path: &std::path::Path, flags: i32) -> Result<std::os::fd::OwnedFd, Failure> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|_| Failure {
        call: "open (a path with a NUL byte)",
        errno: libc::EINVAL,
    })?;
    // SAFETY: a NUL-terminated path; the descriptor returned is owned below.
    let fd = unsafe { libc::open(name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::last("open"));
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// memfd_create(name, 0) of `len` bytes (ftruncate).
pub fn memfd(name: &std::ffi::CStr, len: u64) -> Result<std::os::fd::OwnedFd, Failure> {
    use std::os::fd::FromRawFd;
    // SAFETY: a NUL-terminated name.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(Failure::last("memfd_create"));
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: ftruncate on the descriptor just made.
    check("ftruncate", unsafe {
        libc::ftruncate(fd, len as libc::off_t)
    })?;
    Ok(owned)
}
