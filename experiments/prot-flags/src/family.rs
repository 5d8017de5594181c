//! The rest of the mmap family a student meets in the same chapter:
//! munmap, msync, madvise and memory locking. Expectations come from
//! `docs` only.

use std::os::fd::{AsFd, AsRawFd};

use libc::{MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE};

use crate::cases::{
    LOCKING, MADVISE, MSYNC, MUNMAP, PROBE_OFFSET, Plan, WRITTEN, failure, file_byte_text,
    free_range, read_text,
};
use crate::docs;
use crate::model::{Case, CaseEnv, Expected, Observed, OpenMode, Setup, Value, hex, yes_no};
use crate::raw::{self, Failure, Mapping};

fn rw_anon(pages: usize, page: usize) -> Setup {
    Setup::anonymous(pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE)
}

/// `returned 0` for a call that succeeded.
fn returned(result: Result<(), Failure>) -> Result<Value, Failure> {
    result.map(|()| "returned 0".to_string())
}

/// munmap: what it accepts, and the hole it leaves.
pub fn munmap(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let written = hex(WRITTEN);
    /// Three written pages, the middle one unmapped.
    fn with_hole(setup: &Setup, env: &CaseEnv) -> Result<Mapping, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        for p in 0..3 {
            mapping.write(p * env.page, WRITTEN);
        }
        raw::unmap_range(mapping.addr() + env.page, env.page)?;
        Ok(mapping)
    }
    vec![
        Case::new(
            "munmap-never-mapped",
            MUNMAP,
            rw_anon(4, page).hint("a free 4-page range"),
            "munmap a range that holds no mapping",
            Expected::Ok(Some("returned 0".into())),
            docs::MUNMAP_NOTHING,
            &[],
            |setup, env| returned(raw::unmap_range(free_range(env.page, 4)?, setup.len)),
        ),
        Case::new(
            "munmap-unaligned",
            MUNMAP,
            rw_anon(2, page),
            "munmap(addr + 1, one page)",
            Expected::Errno("EINVAL"),
            docs::MUNMAP_ALIGNED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::unmap_range(mapping.addr() + 1, env.page))
            },
        ),
        Case::new(
            "munmap-length-zero",
            MUNMAP,
            rw_anon(2, page),
            "munmap(addr, 0)",
            Expected::Errno("EINVAL"),
            docs::LEN_ZERO,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::unmap_range(mapping.addr(), 0))
            },
        ),
        Case::new(
            "munmap-kernel-half",
            MUNMAP,
            rw_anon(1, page).hint("0xffff800000000000 (the kernel's half)"),
            "munmap one page there",
            Expected::Errno("EINVAL"),
            docs::TOO_LARGE,
            &[],
            |_setup, env| returned(raw::unmap_range(0xffff_8000_0000_0000, env.page)),
        ),
        Case::new(
            "munmap-length-not-page-multiple",
            MUNMAP,
            rw_anon(2, page),
            "write both pages, munmap(addr, 1), read the first page",
            Expected::Signal("SIGSEGV", Some("SEGV_MAPERR")),
            docs::MUNMAP_WHOLE_PAGES,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::unmap_range(mapping.addr(), 1)?;
                // SAFETY: the probe child reads the page it just unmapped;
                // nothing of Rust's lives there.
                let byte = unsafe { raw::read_raw(mapping.addr() + PROBE_OFFSET) };
                Ok(format!("read {}", hex(byte)))
            },
        ),
        Case::new(
            "munmap-hole-faults",
            MUNMAP,
            rw_anon(3, page),
            "write all 3 pages, munmap the middle one, read it",
            Expected::Signal("SIGSEGV", Some("SEGV_MAPERR")),
            docs::MUNMAP_WHOLE_PAGES,
            &[],
            |setup, env| {
                let mapping = with_hole(setup, env)?;
                // SAFETY: as above: the page was just unmapped.
                let byte = unsafe { raw::read_raw(mapping.addr() + env.page) };
                Ok(format!("read {}", hex(byte)))
            },
        ),
        Case::new(
            "munmap-hole-sides-read",
            MUNMAP,
            rw_anon(3, page),
            "write all 3 pages, munmap the middle one, read the first and the third",
            Expected::Ok(Some(format!("sides read [{written}, {written}]"))),
            docs::MUNMAP_SIDES,
            &[],
            |setup, env| {
                let mapping = with_hole(setup, env)?;
                Ok(format!(
                    "sides read [{}, {}]",
                    hex(mapping.read(0)),
                    hex(mapping.read(2 * env.page))
                ))
            },
        ),
        Case::new(
            "munmap-hole-lines",
            MUNMAP,
            rw_anon(3, page),
            "munmap the middle page; count the /proc/self/maps lines over the 3 pages",
            Expected::Ok(Some("2 lines".into())),
            docs::MUNMAP_SIDES,
            &[],
            |setup, env| {
                let mapping = with_hole(setup, env)?;
                Ok(format!(
                    "{} lines",
                    raw::maps_lines(mapping.addr(), 3 * env.page).len()
                ))
            },
        ),
    ]
}

/// Whether the file's page cache holds dirty pages now (cachestat), noted
/// with the count.
fn dirty(env: &CaseEnv, fd: &std::fs::File, when: &str) -> Result<bool, Failure> {
    let dirty = mmlab_core::pages::cachestat_io(fd.as_fd())
        .map_err(|err| match err.raw_os_error() {
            Some(libc::ENOSYS) => {
                raw::not_run("cachestat(2) is missing (Linux 6.5 and later have it)")
            }
            errno => Failure {
                call: "cachestat",
                errno: errno.unwrap_or(0),
            },
        })?
        .n_dirty;
    env.note(format!("{dirty} dirty page(s) {when} (cachestat)"));
    Ok(dirty > 0)
}

/// msync: its errors, and what MS_ASYNC and MS_SYNC do to dirty pages.
pub fn msync(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let shared_rw = || {
        Setup::file(
            OpenMode::ReadWrite,
            page,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
        )
    };
    fn write_and_sync(setup: &Setup, env: &CaseEnv, flags: i32) -> Result<Value, Failure> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&env.file)
            .map_err(|e| failure("open", e))?;
        file.sync_all().map_err(|e| failure("fsync", e))?;
        let mapping = setup.map_fd(file.as_raw_fd())?;
        mapping.write(PROBE_OFFSET, WRITTEN);
        let before = dirty(env, &file, "after the write")?;
        raw::msync_raw(mapping.addr(), mapping.length(), flags)?;
        let after = dirty(env, &file, "after msync")?;
        Ok(format!(
            "returned 0; dirty before msync: {}, after: {}",
            yes_no(before),
            yes_no(after)
        ))
    }
    let fs = plan.data_dir_fs.clone();
    vec![
        Case::new(
            "msync-async-and-sync",
            MSYNC,
            shared_rw(),
            "msync(MS_ASYNC|MS_SYNC)",
            Expected::Errno("EINVAL"),
            docs::MSYNC_EINVAL,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::msync_raw(
                    mapping.addr(),
                    mapping.length(),
                    libc::MS_ASYNC | libc::MS_SYNC,
                ))
            },
        ),
        Case::new(
            "msync-unknown-flag",
            MSYNC,
            shared_rw(),
            "msync(MS_SYNC | 0x10)",
            Expected::Errno("EINVAL"),
            docs::MSYNC_EINVAL,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::msync_raw(mapping.addr(), mapping.length(), libc::MS_SYNC | 0x10))
            },
        ),
        Case::new(
            "msync-unaligned",
            MSYNC,
            shared_rw(),
            "msync(addr + 1, 1, MS_SYNC)",
            Expected::Errno("EINVAL"),
            docs::MSYNC_EINVAL,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::msync_raw(mapping.addr() + 1, 1, libc::MS_SYNC))
            },
        ),
        Case::new(
            "msync-unmapped",
            MSYNC,
            shared_rw().hint("a range just unmapped"),
            "munmap, then msync(MS_SYNC) the range",
            Expected::Errno("ENOMEM"),
            docs::MSYNC_ENOMEM,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let (addr, len) = (mapping.addr(), mapping.length());
                raw::unmap(mapping)?;
                returned(raw::msync_raw(addr, len, libc::MS_SYNC))
            },
        ),
        Case::new(
            "msync-invalidate-locked",
            MSYNC,
            shared_rw(),
            "mlock the page, msync(MS_INVALIDATE)",
            Expected::Errno("EBUSY"),
            docs::MSYNC_EBUSY,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr(), mapping.length())?;
                returned(raw::msync_raw(mapping.addr(), mapping.length(), libc::MS_INVALIDATE))
            },
        )
        .depends(memlock_condition(plan, page)),
        Case::new(
            "msync-no-flag",
            MSYNC,
            shared_rw(),
            "msync(addr, len, 0)",
            Expected::Either(vec![
                Expected::Errno("EINVAL"),
                Expected::Ok(Some("returned 0".into())),
            ]),
            docs::MSYNC_NO_FLAG,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::msync_raw(mapping.addr(), mapping.length(), 0))
            },
        ),
        Case::new(
            "msync-anonymous",
            MSYNC,
            rw_anon(1, page),
            "msync(MS_SYNC) of anonymous memory",
            Expected::Ok(Some("returned 0".into())),
            docs::MSYNC_ANONYMOUS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::msync_raw(mapping.addr(), mapping.length(), libc::MS_SYNC))
            },
        )
        .corner(),
        Case::new(
            "msync-async-leaves-dirty",
            MSYNC,
            shared_rw(),
            format!("fsync, write {} at +64 through the mapping, msync(MS_ASYNC); the file's dirty pages before and after (cachestat)", hex(WRITTEN)),
            Expected::Ok(Some("returned 0; dirty before msync: yes, after: yes".into())),
            docs::MSYNC_ASYNC_NOOP,
            &[],
            |setup, env| write_and_sync(setup, env, libc::MS_ASYNC),
        )
        .depends(format!("the data folder's filesystem: {fs}; background writeback may clean the page at any moment (rarely within microseconds)")),
        Case::new(
            "msync-sync-cleans",
            MSYNC,
            shared_rw(),
            format!("fsync, write {} at +64 through the mapping, msync(MS_SYNC); the file's dirty pages before and after (cachestat)", hex(WRITTEN)),
            Expected::Ok(Some("returned 0; dirty before msync: yes, after: no".into())),
            docs::MSYNC_SYNC_WAITS,
            &[],
            |setup, env| write_and_sync(setup, env, libc::MS_SYNC),
        )
        .depends(format!("the data folder's filesystem: {}", plan.data_dir_fs)),
    ]
}

/// The condition a locking case depends on: the lab's RLIMIT_MEMLOCK, or
/// root's CAP_IPC_LOCK.
fn memlock_condition(plan: &Plan, bytes: usize) -> String {
    let limit = match plan.memlock_limit {
        Some(u64::MAX) => "unlimited".to_string(),
        Some(b) => format!("{} KiB", b / 1024),
        None => "unknown".to_string(),
    };
    format!(
        "locking {} KiB: RLIMIT_MEMLOCK {limit}{}",
        bytes / 1024,
        if plan.is_root {
            ", root (CAP_IPC_LOCK: no limit)"
        } else {
            ""
        }
    )
}

/// What a child saw of a page after fork: read in a sub-probe.
fn child_reads(mapping: &Mapping) -> String {
    match crate::sub_probe(|| Ok(read_text(mapping, 0))) {
        Observed::Ok { value } => value,
        Observed::Signal {
            signal,
            si_code: Some(code),
        } => format!("{signal}/{code}"),
        other => other.describe(),
    }
}

/// madvise: its errors, and what each advice does to the pages.
pub fn madvise(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let original = hex(plan.contents[PROBE_OFFSET]);
    let written = hex(WRITTEN);
    let fs = plan.data_dir_fs.clone();
    /// Writes the byte, gives the advice, reads it back.
    fn write_advise_read(setup: &Setup, env: &CaseEnv, advice: i32) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        mapping.write(PROBE_OFFSET, WRITTEN);
        raw::madvise(mapping.addr(), mapping.length(), advice)?;
        Ok(read_text(&mapping, PROBE_OFFSET))
    }
    /// Minor faults inside `advise` and while touching every page after it.
    fn populate(setup: &Setup, env: &CaseEnv, advice: i32, write: bool) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        let (warm_up, _) = setup.map(env)?;
        let n = mapping.length() / env.page;
        let page = env.page;
        let touch = move |m: &Mapping| {
            for p in 0..n {
                if write {
                    m.write(p * page, WRITTEN);
                } else {
                    std::hint::black_box(m.read(p * page));
                }
            }
        };
        // Warm the code and stack pages of this child first.
        raw::madvise(warm_up.addr(), warm_up.length(), advice)?;
        touch(&warm_up);
        let before = raw::minor_faults();
        raw::madvise(mapping.addr(), mapping.length(), advice)?;
        let inside = raw::minor_faults() - before;
        let before = raw::minor_faults();
        touch(&mapping);
        let after = raw::minor_faults() - before;
        env.note(format!(
            "{inside} minor fault(s) inside madvise for {n} pages"
        ));
        Ok(format!(
            "faults inside the call: {}, while {} the {n} pages after it: {after}",
            yes_no(inside > 0),
            if write { "writing" } else { "reading" }
        ))
    }
    let private_file_rw = || {
        Setup::file(
            OpenMode::ReadOnly,
            page,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE,
        )
    };
    let shared_file_rw = || {
        Setup::file(
            OpenMode::ReadWrite,
            page,
            PROT_READ | PROT_WRITE,
            MAP_SHARED,
        )
    };
    vec![
        Case::new(
            "madvise-invalid-advice",
            MADVISE,
            rw_anon(1, page),
            "madvise(addr, len, 12345)",
            Expected::Errno("EINVAL"),
            docs::MADV_EINVAL_ADVICE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), 12345))
            },
        ),
        Case::new(
            "madvise-unaligned",
            MADVISE,
            rw_anon(2, page),
            "madvise(addr + 1, one page, MADV_NORMAL)",
            Expected::Errno("EINVAL"),
            docs::MADV_EINVAL_ADDR,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr() + 1, env.page, libc::MADV_NORMAL))
            },
        ),
        Case::new(
            "madvise-unmapped",
            MADVISE,
            rw_anon(2, page).hint("a range just unmapped"),
            "munmap, then madvise(MADV_WILLNEED) the range",
            Expected::Errno("ENOMEM"),
            docs::MADV_ENOMEM,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let (addr, len) = (mapping.addr(), mapping.length());
                raw::unmap(mapping)?;
                returned(raw::madvise(addr, len, libc::MADV_WILLNEED))
            },
        ),
        Case::new(
            "madvise-dontneed-private-file",
            MADVISE,
            private_file_rw(),
            format!("write {written} at +64 (a private copy), MADV_DONTNEED, read +64"),
            Expected::Ok(Some(format!("read {original}"))),
            docs::MADV_DONTNEED,
            &[],
            |setup, env| write_advise_read(setup, env, libc::MADV_DONTNEED),
        )
        .note("the private change is dropped: the page is the file's again"),
        Case::new(
            "madvise-dontneed-anonymous",
            MADVISE,
            rw_anon(1, page),
            format!("write {written} at +64, MADV_DONTNEED, read +64"),
            Expected::Ok(Some("read 0x00".into())),
            docs::MADV_DONTNEED,
            &[],
            |setup, env| write_advise_read(setup, env, libc::MADV_DONTNEED),
        ),
        Case::new(
            "madvise-dontneed-shared-file",
            MADVISE,
            shared_file_rw(),
            format!("write {written} at +64, MADV_DONTNEED, read +64"),
            Expected::Ok(Some(format!("read {written}"))),
            docs::MADV_DONTNEED,
            &[],
            |setup, env| write_advise_read(setup, env, libc::MADV_DONTNEED),
        ),
        Case::new(
            "madvise-dontneed-locked",
            MADVISE,
            rw_anon(1, page),
            "mlock the page, MADV_DONTNEED",
            Expected::Errno("EINVAL"),
            docs::MADV_DONTNEED_LOCKED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr(), mapping.length())?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_DONTNEED))
            },
        )
        .depends(memlock_condition(plan, page)),
        Case::new(
            "madvise-free-anonymous",
            MADVISE,
            rw_anon(1, page),
            format!("write {written} at +64, MADV_FREE, read +64"),
            Expected::OneOf(vec![format!("read {written}"), "read 0x00".into()]),
            docs::MADV_FREE,
            &[],
            |setup, env| write_advise_read(setup, env, libc::MADV_FREE),
        )
        .depends("memory pressure: MADV_FREE frees the page only when memory runs short"),
        Case::new(
            "madvise-free-file",
            MADVISE,
            private_file_rw(),
            "MADV_FREE on a private file mapping",
            Expected::Errno("EINVAL"),
            docs::MADV_FREE_FILE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_FREE))
            },
        ),
        Case::new(
            "madvise-remove-shared",
            MADVISE,
            shared_file_rw(),
            format!("write {written} at +64, MADV_REMOVE, read +64 through the mapping and with pread; stat the size"),
            Expected::Ok(Some(format!("mapping 0x00, file 0x00, size {}", plan.contents.len()))),
            docs::MADV_REMOVE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_REMOVE)?;
                let size = std::fs::metadata(&env.file)
                    .map_err(|e| failure("stat", e))?
                    .len();
                Ok(format!(
                    "mapping {}, file {}, size {size}",
                    hex(mapping.read(PROBE_OFFSET)),
                    file_byte_text(env, PROBE_OFFSET as u64)?
                ))
            },
        )
        .depends(format!("the data folder's filesystem ({fs}) punches holes (fallocate FALLOC_FL_PUNCH_HOLE)")),
        Case::new(
            "madvise-remove-private",
            MADVISE,
            private_file_rw(),
            "MADV_REMOVE on a private file mapping",
            Expected::Errno("EACCES"),
            docs::MADV_REMOVE_PRIVATE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_REMOVE))
            },
        ),
        Case::new(
            "madvise-willneed-evicted",
            MADVISE,
            Setup::file(OpenMode::ReadOnly, Plan::file_len(page), PROT_READ, MAP_SHARED),
            "evict the file (fdatasync, POSIX_FADV_DONTNEED), map it, MADV_WILLNEED, mincore; read one byte per page, counting major faults",
            Expected::Ok(None),
            docs::MADV_WILLNEED,
            &[],
            |setup, env| {
                let file = std::fs::File::open(&env.file).map_err(|e| failure("open", e))?;
                let left = mmlab_core::pages::evict_file(std::os::fd::AsFd::as_fd(&file))
                    .map_err(|_| Failure { call: "evict", errno: 0 })?;
                let mapping = setup.map_fd(file.as_raw_fd())?;
                let n = mapping.length().div_ceil(env.page);
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_WILLNEED)?;
                let resident = raw::resident(mapping.addr(), mapping.length())?;
                let before = mmlab_core::pages::Rusage::now(false);
                for p in 0..n {
                    std::hint::black_box(mapping.read(p * env.page));
                }
                let spent = mmlab_core::pages::Rusage::now(false).since(&before);
                Ok(format!(
                    "resident {left} of {n} before, {resident} of {n} after MADV_WILLNEED; touching: {} major, {} minor fault(s)",
                    spent.n_major_faults, spent.n_minor_faults
                ))
            },
        )
        .depends(format!("the data folder's filesystem: {fs}, its readahead (read_ahead_kb) and the page cache"))
        .note("the man page promises nothing here: the numbers are the data"),
        Case::new(
            "madvise-populate-read",
            MADVISE,
            rw_anon(16, page),
            "MADV_POPULATE_READ on 16 untouched pages, then read each page, counting minor faults (getrusage)",
            Expected::Ok(Some("faults inside the call: yes, while reading the 16 pages after it: 0".into())),
            docs::MADV_POPULATE_READ,
            &[],
            |setup, env| populate(setup, env, libc::MADV_POPULATE_READ, false),
        ),
        Case::new(
            "madvise-populate-write",
            MADVISE,
            rw_anon(16, page),
            "MADV_POPULATE_WRITE on 16 untouched pages, then write each page, counting minor faults (getrusage)",
            Expected::Ok(Some("faults inside the call: yes, while writing the 16 pages after it: 0".into())),
            docs::MADV_POPULATE_WRITE,
            &[],
            |setup, env| populate(setup, env, libc::MADV_POPULATE_WRITE, true),
        ),
        Case::new(
            "madvise-populate-write-read-only",
            MADVISE,
            Setup::anonymous(page, PROT_READ, MAP_PRIVATE),
            "MADV_POPULATE_WRITE on a PROT_READ mapping",
            Expected::Errno("EINVAL"),
            docs::MADV_POPULATE_PERMS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_POPULATE_WRITE))
            },
        ),
        Case::new(
            "madvise-populate-past-eof",
            MADVISE,
            Setup::file(OpenMode::ReadOnly, 4 * page, PROT_READ, MAP_SHARED),
            "MADV_POPULATE_READ on 4 pages of the 3-page file",
            Expected::Errno("EFAULT"),
            docs::MADV_POPULATE_SIGBUS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_POPULATE_READ))
            },
        ),
        Case::new(
            "madvise-dontfork",
            MADVISE,
            rw_anon(1, page),
            format!("write {written} at +0, MADV_DONTFORK, fork; the child reads +0; the parent reads +0"),
            Expected::Ok(Some(format!("child: SIGSEGV/SEGV_MAPERR, parent: read {written}"))),
            docs::MADV_DONTFORK,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_DONTFORK)?;
                Ok(format!("child: {}, parent: {}", child_reads(&mapping), read_text(&mapping, 0)))
            },
        ),
        Case::new(
            "madvise-dofork",
            MADVISE,
            rw_anon(1, page),
            format!("write {written} at +0, MADV_DONTFORK, then MADV_DOFORK, fork; the child reads +0"),
            Expected::Ok(Some(format!("child: read {written}"))),
            docs::MADV_DOFORK,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_DONTFORK)?;
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_DOFORK)?;
                Ok(format!("child: {}", child_reads(&mapping)))
            },
        ),
        Case::new(
            "madvise-wipeonfork",
            MADVISE,
            rw_anon(1, page),
            format!("write {written} at +0, MADV_WIPEONFORK, fork; the child reads +0; the parent reads +0"),
            Expected::Ok(Some(format!("child: read 0x00, parent: read {written}"))),
            docs::MADV_WIPEONFORK,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::madvise(mapping.addr(), mapping.length(), libc::MADV_WIPEONFORK)?;
                Ok(format!("child: {}, parent: {}", child_reads(&mapping), read_text(&mapping, 0)))
            },
        ),
        Case::new(
            "madvise-wipeonfork-file",
            MADVISE,
            private_file_rw(),
            "MADV_WIPEONFORK on a private file mapping",
            Expected::Errno("EINVAL"),
            docs::MADV_FREE_FILE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                returned(raw::madvise(mapping.addr(), mapping.length(), libc::MADV_WIPEONFORK))
            },
        ),
    ]
}

/// The `Locked` field (kB) of the smaps entry holding `addr`.
fn locked_kib(addr: usize) -> Result<u64, Failure> {
    mmlab_core::pages::smaps_entry(None, addr)
        .map(|e| e.kib("Locked"))
        .map_err(|_| Failure {
            call: "read /proc/self/smaps",
            errno: 0,
        })
}

/// Notes VmLck (/proc/self/status) when this build can read it.
fn note_vm_locked(env: &CaseEnv) {
    if let Ok(kib) = raw::vm_locked_kib() {
        env.note(format!("VmLck {kib} kB"));
    }
}

/// Locking: MAP_LOCKED, mlock, munlock, mlock2, seen in the mapping's
/// smaps `Locked` field.
pub fn locking(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let n = 16;
    let bytes = n * page;
    let kib = bytes / 1024;
    let condition = memlock_condition(plan, bytes);
    let rw = |flags: i32| Setup::anonymous(bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | flags);
    vec![
        Case::new(
            "lock-map-locked",
            LOCKING,
            rw(MAP_LOCKED),
            "read the mapping's Locked in /proc/self/smaps; mincore",
            Expected::Ok(Some(format!("Locked {kib} kB, resident {n} of {n}"))),
            docs::MAP_LOCKED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                note_vm_locked(env);
                Ok(format!(
                    "Locked {} kB, resident {} of {}",
                    locked_kib(mapping.addr())?,
                    raw::resident(mapping.addr(), mapping.length())?,
                    mapping.length() / env.page
                ))
            },
        )
        .depends(condition.clone()),
        Case::new(
            "lock-mlock",
            LOCKING,
            rw(0),
            "the mapping's Locked (smaps) before and after mlock",
            Expected::Ok(Some(format!("Locked 0 kB before, {kib} kB after"))),
            docs::LOCKED_SMAPS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let before = locked_kib(mapping.addr())?;
                raw::mlock(mapping.addr(), mapping.length())?;
                note_vm_locked(env);
                Ok(format!(
                    "Locked {before} kB before, {} kB after",
                    locked_kib(mapping.addr())?
                ))
            },
        )
        .depends(condition.clone()),
        Case::new(
            "lock-munlock",
            LOCKING,
            rw(0),
            "mlock, then munlock the mapping; its Locked (smaps) after",
            Expected::Ok(Some("Locked 0 kB after munlock".into())),
            docs::MUNLOCK,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr(), mapping.length())?;
                raw::munlock(mapping.addr(), mapping.length())?;
                Ok(format!(
                    "Locked {} kB after munlock",
                    locked_kib(mapping.addr())?
                ))
            },
        )
        .depends(condition.clone()),
        Case::new(
            "lock-mlock-unaligned",
            LOCKING,
            Setup::anonymous(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            "mlock(addr + 1, 1); the Locked (smaps) of the first page's entry",
            Expected::Ok(Some(format!("Locked {} kB", page / 1024))),
            docs::MLOCK_ROUNDS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr() + 1, 1)?;
                Ok(format!("Locked {} kB", locked_kib(mapping.addr())?))
            },
        )
        .depends(memlock_condition(plan, page)),
        Case::new(
            "lock-mlock-unmapped",
            LOCKING,
            Setup::anonymous(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE).hint("a range just unmapped"),
            "munmap, then mlock the range",
            Expected::Errno("ENOMEM"),
            docs::MLOCK_ENOMEM_UNMAPPED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let (addr, len) = (mapping.addr(), mapping.length());
                raw::unmap(mapping)?;
                returned(raw::mlock(addr, len))
            },
        ),
        Case::new(
            "lock-mlock2-onfault",
            LOCKING,
            rw(0),
            "mlock2(MLOCK_ONFAULT) the untouched mapping; its Locked (smaps) and mincore; then write every page and read Locked again",
            Expected::Ok(Some(format!(
                "before the touch: Locked 0 kB, resident 0 of {n}; after: Locked {kib} kB"
            ))),
            docs::MLOCK_ONFAULT,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock_on_fault(mapping.addr(), mapping.length())?;
                let before = locked_kib(mapping.addr())?;
                let resident = raw::resident(mapping.addr(), mapping.length())?;
                for p in 0..mapping.length() / env.page {
                    mapping.write(p * env.page, WRITTEN);
                }
                note_vm_locked(env);
                Ok(format!(
                    "before the touch: Locked {before} kB, resident {resident} of {}; after: Locked {} kB",
                    mapping.length() / env.page,
                    locked_kib(mapping.addr())?
                ))
            },
        )
        .depends(condition),
    ]
}
