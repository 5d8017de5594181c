//! The cases about what mmap is given and what it maps: the kind of fd,
//! the limits of length and offset, and a file that changes under its
//! mapping. Expectations come from `docs` only.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt};

use libc::{MAP_FIXED, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, PROT_NONE, PROT_READ, PROT_WRITE};

use crate::cases::{
    FD_TYPE, FILE_CHANGES, LIMITS, PROBE_OFFSET, Plan, WRITTEN, all_zero, failure, file_byte_text,
    free_range, pathname_text, read_text,
};
use crate::docs;
use crate::model::{Case, CaseEnv, Expected, OpenMode, Setup, Value, hex, yes_no};
use crate::raw::{self, Failure};

fn errno(name: &'static str) -> Expected {
    Expected::Errno(name)
}

fn not_mappable() -> Expected {
    Expected::Either(vec![errno("EACCES"), errno("ENODEV")])
}

/// The fd and what it refers to.
pub fn fd_type(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let r = PROT_READ;
    let rw = PROT_READ | PROT_WRITE;
    let fs = plan.data_dir_fs.clone();
    fn zero_path(mapping: &raw::Mapping) -> Value {
        let n = mapping.length();
        format!(
            "all {n} bytes zero: {}, pathname {}",
            yes_no(all_zero(mapping, n)),
            pathname_text(mapping.addr())
        )
    }
    fn dev_zero(setup: &Setup) -> Result<raw::Mapping, Failure> {
        let fd = raw::open_raw(std::path::Path::new("/dev/zero"), libc::O_RDWR)?;
        setup.map_fd(fd.as_raw_fd())
    }
    fn child_writes(mapping: &raw::Mapping) -> Result<Value, Failure> {
        raw::in_forked_child(|| {
            mapping.write(0, WRITTEN);
            0
        })?;
        Ok(format!("parent reads {}", hex(mapping.read(0))))
    }
    vec![
        Case::new(
            "fd-minus-1-without-anonymous",
            FD_TYPE,
            Setup::other("-1 (no MAP_ANONYMOUS)", page, r, MAP_PRIVATE),
            "map",
            errno("EBADF"),
            docs::EBADF,
            &[],
            |setup, _env| {
                setup.map_fd(-1)?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-closed",
            FD_TYPE,
            Setup::other(
                "the number of an fd just closed (O_RDONLY on the data file)",
                page,
                r,
                MAP_PRIVATE,
            ),
            "open the file, close the fd, map with its number",
            errno("EBADF"),
            docs::EBADF,
            &[],
            |setup, env| {
                let fd = raw::open_raw(&env.file, libc::O_RDONLY)?;
                let number = fd.as_raw_fd();
                drop(fd);
                setup.map_fd(number)?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-o-path",
            FD_TYPE,
            Setup::other("O_PATH on the data file", page, r, MAP_PRIVATE),
            "map",
            errno("EBADF"),
            docs::O_PATH_EBADF,
            &[],
            |setup, env| {
                let fd = raw::open_raw(&env.file, libc::O_PATH)?;
                setup.map_fd(fd.as_raw_fd())?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-directory",
            FD_TYPE,
            Setup::other(
                "O_RDONLY|O_DIRECTORY on the data folder",
                page,
                r,
                MAP_PRIVATE,
            ),
            "map",
            not_mappable(),
            docs::NOT_MAPPABLE,
            &[],
            |setup, env| {
                let dir = env.file.parent().unwrap_or(std::path::Path::new("."));
                let fd = raw::open_raw(dir, libc::O_RDONLY | libc::O_DIRECTORY)?;
                setup.map_fd(fd.as_raw_fd())?;
                Ok("mapped".into())
            },
        )
        .depends(format!("the data folder's filesystem: {fs}")),
        Case::new(
            "fd-pipe",
            FD_TYPE,
            Setup::other("the read end of a pipe", page, r, MAP_PRIVATE),
            "map",
            not_mappable(),
            docs::NOT_MAPPABLE,
            &[],
            |setup, _env| {
                let (read_end, _write_end) = nix::unistd::pipe().map_err(|e| Failure {
                    call: "pipe",
                    errno: e as i32,
                })?;
                setup.map_fd(read_end.as_raw_fd())?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-socket",
            FD_TYPE,
            Setup::other("one end of a UNIX stream socket pair", page, r, MAP_SHARED),
            "map",
            not_mappable(),
            docs::NOT_MAPPABLE,
            &[],
            |setup, _env| {
                let (one, _other) =
                    std::os::unix::net::UnixStream::pair().map_err(|e| failure("socketpair", e))?;
                setup.map_fd(one.as_raw_fd())?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-dev-null",
            FD_TYPE,
            Setup::other("/dev/null, O_RDWR", page, r, MAP_PRIVATE),
            "map",
            not_mappable(),
            docs::NOT_MAPPABLE,
            &[],
            |setup, _env| {
                let fd = raw::open_raw(std::path::Path::new("/dev/null"), libc::O_RDWR)?;
                setup.map_fd(fd.as_raw_fd())?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-procfs-file",
            FD_TYPE,
            Setup::other("/proc/self/status, O_RDONLY", page, r, MAP_PRIVATE),
            "map",
            not_mappable(),
            docs::NOT_MAPPABLE,
            &[],
            |setup, _env| {
                let fd = raw::open_raw(std::path::Path::new("/proc/self/status"), libc::O_RDONLY)?;
                setup.map_fd(fd.as_raw_fd())?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "fd-dev-zero-private",
            FD_TYPE,
            Setup::other("/dev/zero, O_RDWR", 4 * page, rw, MAP_PRIVATE),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!(
                "all {} bytes zero: yes, pathname /dev/zero",
                4 * page
            ))),
            docs::DEV_ZERO,
            &[],
            |setup, _env| Ok(zero_path(&dev_zero(setup)?)),
        )
        .note("a private mapping of /dev/zero is the old way to get anonymous memory"),
        Case::new(
            "fd-dev-zero-shared",
            FD_TYPE,
            Setup::other("/dev/zero, O_RDWR", 4 * page, rw, MAP_SHARED),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!(
                "all {} bytes zero: yes, pathname /dev/zero",
                4 * page
            ))),
            docs::DEV_ZERO,
            &[],
            |setup, _env| Ok(zero_path(&dev_zero(setup)?)),
        )
        .corner()
        .note("compare with anon-shared-zero-blank: what backs shared anonymous memory"),
        Case::new(
            "fd-dev-zero-private-fork",
            FD_TYPE,
            Setup::other("/dev/zero, O_RDWR", page, rw, MAP_PRIVATE),
            format!(
                "fork; the child writes {} at +0; the parent reads +0",
                hex(WRITTEN)
            ),
            Expected::Ok(Some("parent reads 0x00".into())),
            docs::PRIVATE_ACROSS_FORK,
            &[],
            |setup, _env| child_writes(&dev_zero(setup)?),
        ),
        Case::new(
            "fd-dev-zero-shared-fork",
            FD_TYPE,
            Setup::other("/dev/zero, O_RDWR", page, rw, MAP_SHARED),
            format!(
                "fork; the child writes {} at +0; the parent reads +0",
                hex(WRITTEN)
            ),
            Expected::Ok(Some(format!("parent reads {}", hex(WRITTEN)))),
            docs::DEV_ZERO_SHARED,
            &[],
            |setup, _env| child_writes(&dev_zero(setup)?),
        ),
        Case::new(
            "fd-memfd-shared",
            FD_TYPE,
            Setup::other(
                "memfd_create(\"prot-flags\"), one page",
                page,
                rw,
                MAP_SHARED,
            ),
            format!(
                "write {} at +64 through the mapping; pread the memfd; find the mapping in /proc/self/maps",
                hex(WRITTEN)
            ),
            Expected::Ok(Some(format!(
                "pread reads {}, pathname starts with /memfd:prot-flags: yes",
                hex(WRITTEN)
            ))),
            docs::MEMFD,
            &[],
            |setup, _env| {
                let fd = raw::memfd(c"prot-flags", setup.len as u64)?;
                let mapping = setup.map_fd(fd.as_raw_fd())?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                let file = std::fs::File::from(fd);
                let mut byte = [0u8];
                file.read_at(&mut byte, PROBE_OFFSET as u64)
                    .map_err(|e| failure("pread", e))?;
                Ok(format!(
                    "pread reads {}, pathname starts with /memfd:prot-flags: {}",
                    hex(byte[0]),
                    yes_no(pathname_text(mapping.addr()).starts_with("/memfd:prot-flags"))
                ))
            },
        ),
    ]
}

/// The start of the last page of user space on this CPU, when known: on
/// x86_64 with 4-level page tables (no `la57` in /proc/cpuinfo) user space
/// ends at 2^47 - 4096 (the kernel keeps the top page unused), so its last
/// page starts at 2^47 - 8192.
fn user_space_top(plan: &Plan) -> Option<usize> {
    (plan.arch == "x86_64" && plan.la57 == Some(false)).then_some((1usize << 47) - 2 * plan.page)
}

/// Lengths and offsets at the edges: the address space, the largest file
/// offset, arithmetic that wraps.
pub fn limits(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let x86 = plan.arch == "x86_64";
    let anon_none = |len: usize| Setup::anonymous(len, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
    let ro = |len: usize| Setup::file(OpenMode::ReadOnly, len, PROT_READ, MAP_SHARED);
    let top = user_space_top(plan);
    let top_text = match top {
        Some(t) => format!(
            "x86_64 with 4-level page tables (no la57 in /proc/cpuinfo): user space ends at {:#x}",
            t + page
        ),
        None => format!(
            "{} (la57 {:?}): where user space ends is not known here",
            plan.arch, plan.la57
        ),
    };
    let too_big = if x86 {
        Expected::Either(vec![errno("ENOMEM"), errno("EINVAL")])
    } else {
        Expected::Either(vec![errno("ENOMEM"), errno("EINVAL"), Expected::Ok(None)])
    };
    fn map_only(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (_mapping, _fd) = setup.map(env)?;
        Ok("mapped".into())
    }
    let kernel_half: usize = 0xffff_8000_0000_0000;
    let mut cases = vec![
        Case::new(
            "len-2-pow-46-prot-none",
            LIMITS,
            anon_none(1 << 46),
            "map 64 TiB of PROT_NONE anonymous memory",
            Expected::Ok(Some("mapped".into())),
            docs::FITS_ADDRESS_SPACE,
            &[],
            map_only,
        )
        .depends(format!("the CPU's address space: {top_text}"))
        .note("nothing is allocated: no page of it is ever touched"),
        Case::new(
            "len-2-pow-47",
            LIMITS,
            anon_none(1 << 47),
            "map 128 TiB of PROT_NONE anonymous memory",
            too_big,
            docs::TOO_LARGE,
            &[],
            map_only,
        )
        .depends(format!("the CPU's address space: {top_text}")),
        Case::new(
            "len-size-max",
            LIMITS,
            anon_none(usize::MAX),
            "map SIZE_MAX bytes (rounded up to a page multiple, the length wraps to 0)",
            errno("EINVAL"),
            docs::LEN_WRAPS,
            &[],
            map_only,
        )
        .corner(),
        Case::new(
            "offset-2-pow-62-maps",
            LIMITS,
            ro(page).offset(1 << 62),
            "map one page at file offset 2^62 (the file has 8292 bytes)",
            Expected::Ok(Some("mapped".into())),
            docs::OFFSET_HUGE_MAPS,
            &["S12"],
            map_only,
        )
        .depends(format!("a 64-bit kernel ({}) with 64-bit off_t", plan.arch)),
        Case::new(
            "offset-2-pow-62-read",
            LIMITS,
            ro(page).offset(1 << 62),
            "map one page at file offset 2^62, read its first byte",
            Expected::Signal("SIGBUS", None),
            docs::SIGBUS_PAST_EOF,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, 0))
            },
        ),
        Case::new(
            "offset-plus-length-overflows",
            LIMITS,
            ro(2 * page).offset(i64::MAX & !(page as i64 - 1)),
            "map two pages at the last page-aligned offset below 2^63",
            Expected::Either(vec![errno("EOVERFLOW"), errno("EINVAL")]),
            docs::OFFSET_OVERFLOW,
            &["S12"],
            map_only,
        ),
        Case::new(
            "offset-negative",
            LIMITS,
            ro(page).offset(-(page as i64)),
            "map",
            Expected::Either(vec![errno("EINVAL"), errno("EOVERFLOW")]),
            docs::OFFSET_OVERFLOW,
            &["S12"],
            map_only,
        )
        .note("the kernel takes the offset as an unsigned number of pages"),
        Case::new(
            "fixed-kernel-half",
            LIMITS,
            Setup::anonymous(page, PROT_READ, MAP_PRIVATE | MAP_FIXED).hint(&format!(
                "{kernel_half:#x} (the kernel's half of the address space)"
            )),
            "map one page there with MAP_FIXED",
            errno("ENOMEM"),
            docs::ADDR_BEYOND_CPU,
            &["S7"],
            move |setup, env| {
                setup.map_at(env, kernel_half)?;
                Ok("mapped".into())
            },
        ),
        Case::new(
            "hint-kernel-half",
            LIMITS,
            Setup::anonymous(page, PROT_READ, MAP_PRIVATE)
                .hint(&format!("{kernel_half:#x}, no MAP_FIXED")),
            "map, look at the address",
            Expected::Ok(Some("placed at the hint: no, page-aligned: yes".into())),
            docs::HINT_INVALID,
            &["S7"],
            move |setup, env| {
                let (mapping, _fd) = setup.map_at(env, kernel_half)?;
                Ok(format!(
                    "placed at the hint: {}, page-aligned: {}",
                    yes_no(mapping.addr() == kernel_half),
                    yes_no(mapping.addr() % env.page == 0)
                ))
            },
        ),
    ];
    match top {
        Some(top) => {
            cases.push(
                Case::new(
                    "fixed-last-user-page",
                    LIMITS,
                    Setup::anonymous(page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED)
                        .hint(&format!("{top:#x}, the last page of user space")),
                    "map one page there with MAP_FIXED, write and read it",
                    Expected::Ok(Some(format!("placed: yes, read {}", hex(WRITTEN)))),
                    docs::FIXED_FITS,
                    &["S7"],
                    move |setup, env| {
                        let (mapping, _fd) = setup.map_at(env, top)?;
                        mapping.write(0, WRITTEN);
                        Ok(format!(
                            "placed: {}, {}",
                            yes_no(mapping.addr() == top),
                            read_text(&mapping, 0)
                        ))
                    },
                )
                .depends(top_text.clone()),
            );
            cases.push(
                Case::new(
                    "fixed-across-user-top",
                    LIMITS,
                    Setup::anonymous(2 * page, PROT_READ, MAP_PRIVATE | MAP_FIXED)
                        .hint(&format!("{top:#x}: its second page lies past user space")),
                    "map two pages there with MAP_FIXED",
                    errno("ENOMEM"),
                    docs::ADDR_BEYOND_CPU,
                    &["S7"],
                    move |setup, env| {
                        setup.map_at(env, top)?;
                        Ok("mapped".into())
                    },
                )
                .depends(top_text.clone()),
            );
        }
        None => {
            for id in ["fixed-last-user-page", "fixed-across-user-top"] {
                let reason = top_text.clone();
                cases.push(
                    Case::new(
                        id,
                        LIMITS,
                        Setup::anonymous(page, PROT_READ, MAP_PRIVATE | MAP_FIXED)
                            .hint("the top of user space"),
                        "map there with MAP_FIXED",
                        Expected::Ok(None),
                        docs::FIXED_FITS,
                        &[],
                        move |_setup, _env| Err(raw::not_run(leak(&reason))),
                    )
                    .depends(top_text.clone()),
                );
            }
        }
    }
    cases
}

/// A `&'static str` for a not-run reason computed at plan time (a handful
/// of short strings per run).
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// The file is truncated, extended or unlinked while it is mapped.
pub fn file_changes(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let file_len = Plan::file_len(page);
    let original = hex(plan.contents[PROBE_OFFSET]);
    let written = hex(WRITTEN);
    let shared_ro = |len: usize| Setup::file(OpenMode::ReadOnly, len, PROT_READ, MAP_SHARED);
    let fs = plan.data_dir_fs.clone();
    let on_fs = move |case: Case| case.depends(format!("the data folder's filesystem: {fs}"));
    vec![
        on_fs(Case::new(
            "truncate-read-past-new-end",
            FILE_CHANGES,
            shared_ro(file_len),
            "ftruncate the file to one page (another fd), read +64 of the second page",
            Expected::Signal("SIGBUS", None),
            docs::TRUNCATE_SIGBUS,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::truncate(&env.file, env.page as u64)?;
                Ok(read_text(&mapping, env.page + PROBE_OFFSET))
            },
        )),
        on_fs(Case::new(
            "truncate-read-before-new-end",
            FILE_CHANGES,
            shared_ro(file_len),
            "ftruncate the file to one page (another fd), read +64 of the first page",
            Expected::Ok(Some(format!("read {original}"))),
            docs::TRUNCATE_KEEPS_FRONT,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::truncate(&env.file, env.page as u64)?;
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        )),
        on_fs(Case::new(
            "truncate-write-past-new-end",
            FILE_CHANGES,
            Setup::file(OpenMode::ReadWrite, file_len, PROT_READ | PROT_WRITE, MAP_SHARED),
            format!("ftruncate the file to one page, write {written} at +64 of the second page"),
            Expected::Signal("SIGBUS", None),
            docs::TRUNCATE_SIGBUS,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::truncate(&env.file, env.page as u64)?;
                mapping.write(env.page + PROBE_OFFSET, WRITTEN);
                Ok(format!("wrote {}", hex(WRITTEN)))
            },
        )),
        on_fs(Case::new(
            "truncate-mid-page-tail-zero",
            FILE_CHANGES,
            shared_ro(file_len),
            "read +200 of the second page (fault it in), ftruncate the file to one page + 100 bytes, read +200 of the second page again",
            Expected::Ok(Some("read 0x00".into())),
            docs::TRUNCATE_TAIL_ZERO,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                std::hint::black_box(mapping.read(env.page + 200));
                raw::truncate(&env.file, env.page as u64 + 100)?;
                Ok(read_text(&mapping, env.page + 200))
            },
        )),
        on_fs(Case::new(
            "truncate-then-grow-reads-zero",
            FILE_CHANGES,
            shared_ro(file_len),
            "ftruncate the file to one page, then back to 8292 bytes; read +64 of the second page",
            Expected::Ok(Some("read 0x00".into())),
            docs::TRUNCATE_GROWS_ZERO,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::truncate(&env.file, env.page as u64)?;
                raw::truncate(&env.file, env.contents.len() as u64)?;
                Ok(read_text(&mapping, env.page + PROBE_OFFSET))
            },
        )),
        on_fs(Case::new(
            "truncate-private-copied-page",
            FILE_CHANGES,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            format!("write {written} at +64 (the page is copied), ftruncate the file to 0 (another fd), read +64"),
            Expected::Either(vec![
                Expected::Signal("SIGBUS", None),
                Expected::Ok(Some(format!("read {written}"))),
            ]),
            docs::TRUNCATE_PRIVATE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                raw::truncate(&env.file, 0)?;
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        ))
        .corner()
        .note("does a private copy outlive the file's page? POSIX leaves it open"),
        on_fs(Case::new(
            "truncate-private-unwritten-page",
            FILE_CHANGES,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ, MAP_PRIVATE),
            "read +64 (fault it in), ftruncate the file to 0 (another fd), read +64 again",
            Expected::Either(vec![
                Expected::Signal("SIGBUS", None),
                Expected::Ok(Some(format!("read {original}"))),
            ]),
            docs::TRUNCATE_PRIVATE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                std::hint::black_box(mapping.read(PROBE_OFFSET));
                raw::truncate(&env.file, 0)?;
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        ))
        .corner(),
        on_fs(Case::new(
            "extend-seen-within-mapping",
            FILE_CHANGES,
            shared_ro(4 * page),
            format!("map 4 pages of the 3-page file; pwrite {written} at +64 of the 4th page (the file grows); read it through the mapping"),
            Expected::Ok(Some(format!("read {written}"))),
            docs::EXTEND_SEEN,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&env.file)
                    .map_err(|e| failure("open", e))?;
                file.write_at(&[WRITTEN], (3 * env.page + PROBE_OFFSET) as u64)
                    .map_err(|e| failure("pwrite", e))?;
                Ok(read_text(&mapping, 3 * env.page + PROBE_OFFSET))
            },
        )),
        on_fs(Case::new(
            "extend-mapping-keeps-its-length",
            FILE_CHANGES,
            shared_ro(file_len),
            "ftruncate the file to 6 pages; look at the mapping's line in /proc/self/maps",
            Expected::Ok(Some(format!("maps line {} bytes (3 pages)", 3 * page))),
            docs::LENGTH_FIXED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::truncate(&env.file, 6 * env.page as u64)?;
                let lines = raw::maps_lines(mapping.addr(), 1);
                let len = lines.first().map_or(0, |l| l.end - l.start);
                Ok(format!("maps line {len} bytes ({} pages)", len / env.page))
            },
        )),
        on_fs(Case::new(
            "extend-past-mapping-end",
            FILE_CHANGES,
            shared_ro(file_len).hint("the first 3 pages of a 4-page hole whose 4th page stays unmapped"),
            "ftruncate the file to 6 pages; read the first byte after the mapping's end",
            Expected::Signal("SIGSEGV", Some("SEGV_MAPERR")),
            docs::MUNMAP_INVALID,
            &[],
            |setup, env| {
                let hole = free_range(env.page, 4)?;
                let fd = setup.open(env)?.expect("a file setup");
                let mapping = raw::map(
                    hole,
                    setup.len,
                    setup.prot,
                    setup.flags | MAP_FIXED,
                    fd.as_raw_fd(),
                    0,
                )?;
                raw::truncate(&env.file, 6 * env.page as u64)?;
                // SAFETY: the probe child reads the page after its mapping,
                // which it left unmapped; nothing of Rust's lives there.
                let byte = unsafe { raw::read_raw(mapping.addr() + 3 * env.page) };
                Ok(format!("read {}", hex(byte)))
            },
        )),
        on_fs(Case::new(
            "unlink-while-mapped",
            FILE_CHANGES,
            shared_ro(page),
            "close the fd, unlink the file, read +64",
            Expected::Ok(Some(format!("read {original}, the file's name is gone: yes"))),
            docs::UNLINK_MAPPED,
            &[],
            |setup, env| {
                let (mapping, fd) = setup.map(env)?;
                drop(fd);
                std::fs::remove_file(&env.file).map_err(|e| failure("unlink", e))?;
                Ok(format!(
                    "{}, the file's name is gone: {}",
                    read_text(&mapping, PROBE_OFFSET),
                    yes_no(!env.file.exists())
                ))
            },
        )),
        on_fs(Case::new(
            "tail-write-then-extend",
            FILE_CHANGES,
            Setup::file(OpenMode::ReadWrite, file_len, PROT_READ | PROT_WRITE, MAP_SHARED),
            format!("write {written} 100 bytes past EOF (in the last page), msync, munmap; ftruncate the file to 3 pages; pread that byte"),
            Expected::Ok(Some("pread reads 0x00".into())),
            docs::TRUNCATE_GROWS_ZERO,
            &[],
            |setup, env| {
                let (mapping, fd) = setup.map(env)?;
                mapping.write(2 * env.page + 200, WRITTEN);
                raw::sync(&mapping)?;
                raw::unmap(mapping)?;
                drop(fd);
                raw::truncate(&env.file, 3 * env.page as u64)?;
                Ok(format!(
                    "pread reads {}",
                    file_byte_text(env, (2 * env.page + 200) as u64)?
                ))
            },
        ))
        .corner()
        .note("mmap(2) BUGS: the byte written past EOF stays in the page cache; does extending the file show it?"),
        on_fs(Case::new(
            "inode-of-the-mapping",
            FILE_CHANGES,
            shared_ro(page),
            "stat the file; compare with the mapping's inode in /proc/self/maps after the file is renamed",
            Expected::Ok(Some("same inode after rename: yes".into())),
            docs::MAPS_COLUMNS,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let inode = std::fs::metadata(&env.file)
                    .map_err(|e| failure("stat", e))?
                    .ino();
                let renamed = env.file.with_extension("renamed");
                std::fs::rename(&env.file, &renamed).map_err(|e| failure("rename", e))?;
                let line = raw::maps_lines(mapping.addr(), 1);
                let _ = std::fs::rename(&renamed, &env.file);
                Ok(format!(
                    "same inode after rename: {}",
                    yes_no(line.first().is_some_and(|l| l.inode == inode))
                ))
            },
        )),
    ]
}
