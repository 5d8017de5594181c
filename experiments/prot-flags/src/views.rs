//! The cases that look at the kernel's own view of a process's memory:
//! /proc/self/maps beside what each access did, mincore, a mapping that
//! grows down, and the limit on the number of mappings.

use std::os::unix::fs::MetadataExt;

use libc::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, PROT_EXEC, PROT_NONE,
    PROT_READ, PROT_WRITE,
};

use crate::cases::{
    ExecOnly, GROWSDOWN, MAP_COUNT, MAPS, MINCORE, PROBE_OFFSET, Plan, WRITTEN, call_stub, failure,
    free_range, read_text,
};
use crate::docs;
use crate::model::{Case, CaseEnv, Expected, Observed, OpenMode, Setup, Value, prot_name};
use crate::raw::{self, Failure, Mapping};

/// `SIGSEGV/SEGV_ACCERR`, `ok`, as the maps cases write one access.
fn short(observed: &Observed) -> String {
    match observed {
        Observed::Ok { .. } => "ok".to_string(),
        Observed::Signal {
            signal,
            si_code: Some(code),
        } => format!("{signal}/{code}"),
        Observed::Signal { signal, .. } => signal.clone(),
        other => other.describe(),
    }
}

fn short_expected(expected: &Expected) -> String {
    match expected {
        Expected::Ok(_) | Expected::OneOf(_) => "ok".to_string(),
        Expected::Signal(signal, Some(code)) => format!("{signal}/{code}"),
        Expected::Signal(signal, None) => signal.to_string(),
        other => other.describe(),
    }
}

/// The perms column as proc(5) spells it for a prot and mapping type.
fn perms(prot: i32, shared: bool) -> String {
    format!(
        "{}{}{}{}",
        if prot & PROT_READ != 0 { 'r' } else { '-' },
        if prot & PROT_WRITE != 0 { 'w' } else { '-' },
        if prot & PROT_EXEC != 0 { 'x' } else { '-' },
        if shared { 's' } else { 'p' }
    )
}

fn lines_text(lines: &[raw::MapsLine]) -> String {
    format!(
        "{} line{}: {}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        lines
            .iter()
            .map(|l| l.perms.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// /proc/self/maps: the permission column beside what each access did, the
/// offset, device and inode columns, and lines splitting and merging.
pub fn maps(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let byte = plan.contents[PROBE_OFFSET];
    let exec_only = ExecOnly::of(plan);
    let has_stub = raw::STUB.is_some();
    let prots: [i32; 7] = [
        PROT_NONE,
        PROT_READ,
        PROT_WRITE,
        PROT_READ | PROT_WRITE,
        PROT_EXEC,
        PROT_READ | PROT_EXEC,
        PROT_READ | PROT_WRITE | PROT_EXEC,
    ];
    let accerr = || Expected::Signal("SIGSEGV", Some("SEGV_ACCERR"));
    let mut cases = Vec::new();
    for shared in [false, true] {
        for prot in prots {
            let kind = if shared { MAP_SHARED } else { MAP_PRIVATE };
            let setup = Setup::file(OpenMode::ReadWrite, page, prot, kind);
            let read = if prot & PROT_READ != 0 {
                Expected::Ok(None)
            } else if prot == PROT_EXEC {
                exec_only.expect(false, byte).0
            } else {
                accerr()
            };
            let write = if prot & PROT_WRITE != 0 {
                Expected::Ok(None)
            } else if prot == PROT_EXEC {
                exec_only.expect(true, byte).0
            } else {
                accerr()
            };
            let exec = if prot & PROT_EXEC != 0 {
                Expected::Ok(None)
            } else {
                accerr()
            };
            let exec_text = if has_stub {
                short_expected(&exec)
            } else {
                "not tried (no stub for this CPU)".to_string()
            };
            let expected = format!(
                "{}: read {}, write {}, exec {exec_text}",
                perms(prot, shared),
                short_expected(&read),
                short_expected(&write)
            );
            let short_type = if shared { "shared" } else { "private" };
            let short_prot = match prot {
                PROT_NONE => "none".to_string(),
                p => perms(p, shared)[..3].replace('-', ""),
            };
            let mut case = Case::new(
                format!("maps-{short_type}-{short_prot}"),
                MAPS,
                setup,
                "read the mapping's perms in /proc/self/maps; then read +64, write +64 and call the stub, each in its own child",
                Expected::Ok(Some(expected)),
                docs::MAPS_PERMS,
                &[],
                |setup, env| {
                    let (mapping, _fd) = setup.map(env)?;
                    let perms = raw::maps_lines(mapping.addr(), 1)
                        .first()
                        .map_or("no line".to_string(), |l| l.perms.clone());
                    let read = crate::sub_probe(|| Ok(read_text(&mapping, PROBE_OFFSET)));
                    let write = crate::sub_probe(|| {
                        mapping.write(PROBE_OFFSET, WRITTEN);
                        Ok("wrote".into())
                    });
                    let exec = if raw::STUB.is_some() {
                        short(&crate::sub_probe(|| call_stub(&mapping)))
                    } else {
                        "not tried (no stub for this CPU)".to_string()
                    };
                    Ok(format!(
                        "{perms}: read {}, write {}, exec {exec}",
                        short(&read),
                        short(&write)
                    ))
                },
            )
            .label("prot", prot_name(prot))
            .label("mapping", if shared { "MAP_SHARED" } else { "MAP_PRIVATE" })
            .label("maps_view", "perms and accesses");
            if prot & PROT_WRITE != 0 && prot & PROT_READ == 0 {
                case = case.variation(docs::WRITE_IMPLIES_READ);
            }
            if prot == PROT_EXEC {
                case = case.depends(exec_only.condition(plan));
                if exec_only == ExecOnly::Unknown {
                    case = case.variation(docs::EXEC_VS_READ);
                }
            }
            cases.push(case);
        }
    }
    let file_len = Plan::file_len(page);
    cases.extend([
        Case::new(
            "maps-offset-device-inode",
            MAPS,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ, MAP_PRIVATE).offset(page as i64),
            "stat the file; read the mapping's line in /proc/self/maps",
            Expected::Ok(Some(format!(
                "offset {page:#x}, device = the file's: yes, inode = the file's: yes"
            ))),
            docs::MAPS_COLUMNS,
            &["S1"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let meta = std::fs::metadata(&env.file).map_err(|e| failure("stat", e))?;
                let line = raw::maps_lines(mapping.addr(), 1)
                    .into_iter()
                    .next()
                    .ok_or(Failure {
                        call: "no line in /proc/self/maps",
                        errno: 0,
                    })?;
                let device = line.device.split_once(':').and_then(|(major, minor)| {
                    Some((
                        u32::from_str_radix(major, 16).ok()?,
                        u32::from_str_radix(minor, 16).ok()?,
                    ))
                });
                let file_device = (libc::major(meta.dev()), libc::minor(meta.dev()));
                Ok(format!(
                    "offset {:#x}, device = the file's: {}, inode = the file's: {}",
                    line.offset,
                    crate::model::yes_no(device == Some(file_device)),
                    crate::model::yes_no(line.inode == meta.ino())
                ))
            },
        ),
        Case::new(
            "maps-anonymous-columns",
            MAPS,
            Setup::anonymous(page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            "read the mapping's line in /proc/self/maps",
            Expected::Ok(Some("offset 0x0, device 00:00, inode 0, pathname blank".into())),
            docs::MAPS_COLUMNS,
            &["S2"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let line = raw::maps_lines(mapping.addr(), 1)
                    .into_iter()
                    .next()
                    .ok_or(Failure {
                        call: "no line in /proc/self/maps",
                        errno: 0,
                    })?;
                Ok(format!(
                    "offset {:#x}, device {}, inode {}, pathname {}",
                    line.offset,
                    line.device,
                    line.inode,
                    if line.pathname.is_empty() {
                        "blank"
                    } else {
                        &line.pathname
                    }
                ))
            },
        ),
        Case::new(
            "maps-mprotect-splits",
            MAPS,
            Setup::anonymous(3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            "mprotect(PROT_READ) the middle page; read the lines covering the mapping",
            Expected::Ok(Some("3 lines: rw-p r--p rw-p".into())),
            docs::MAPS_SPLIT,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::protect(mapping.addr() + env.page, env.page, PROT_READ)?;
                Ok(lines_text(&raw::maps_lines(mapping.addr(), mapping.length())))
            },
        ),
        Case::new(
            "maps-mprotect-merges-back",
            MAPS,
            Setup::anonymous(3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            "mprotect(PROT_READ) the middle page, then mprotect(PROT_READ|PROT_WRITE) it again; read the lines",
            Expected::OneOf(vec!["1 line: rw-p".into(), "3 lines: rw-p rw-p rw-p".into()]),
            docs::MAPS_MERGE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::protect(mapping.addr() + env.page, env.page, PROT_READ)?;
                raw::protect(mapping.addr() + env.page, env.page, PROT_READ | PROT_WRITE)?;
                Ok(lines_text(&raw::maps_lines(mapping.addr(), mapping.length())))
            },
        )
        .corner(),
        Case::new(
            "maps-fixed-hole-lines",
            MAPS,
            Setup::file(OpenMode::ReadOnly, file_len, PROT_READ, MAP_PRIVATE),
            "map one anonymous read-write page with MAP_FIXED over the middle page; read the lines and the last one's offset",
            Expected::Ok(Some(format!("3 lines: r--p rw-p r--p, the last at offset {:#x}", 2 * page))),
            docs::FIXED_REPLACES,
            &["S7"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::map(
                    mapping.addr() + env.page,
                    env.page,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                    -1,
                    0,
                )?;
                let lines = raw::maps_lines(mapping.addr(), 3 * env.page);
                Ok(format!(
                    "{}, the last at offset {:#x}",
                    lines_text(&lines),
                    lines.last().map_or(0, |l| l.offset)
                ))
            },
        ),
    ]);
    cases
}

/// mincore: its errors, and what it says of anonymous and file pages.
pub fn mincore(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let anon = |pages: usize| Setup::anonymous(pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    let owner = if plan.is_root {
        "root".to_string()
    } else {
        format!("uid {}", plan.uid)
    };
    vec![
        Case::new(
            "mincore-unaligned",
            MINCORE,
            anon(4),
            "mincore(addr + 1, one page)",
            Expected::Errno("EINVAL"),
            docs::MINCORE_EINVAL,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mincore_refused(mapping.addr() + 1, env.page, None)?;
                Ok("returned 0".into())
            },
        ),
        Case::new(
            "mincore-unmapped",
            MINCORE,
            anon(4).hint("a range just unmapped"),
            "munmap, then mincore the range",
            Expected::Errno("ENOMEM"),
            docs::MINCORE_ENOMEM,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let (addr, len) = (mapping.addr(), mapping.length());
                raw::unmap(mapping)?;
                raw::mincore_refused(addr, len, None)?;
                Ok("returned 0".into())
            },
        ),
        Case::new(
            "mincore-bad-vector",
            MINCORE,
            anon(4),
            "mincore of the mapping into a vector at address 8 (unmapped)",
            Expected::Errno("EFAULT"),
            docs::MINCORE_EFAULT,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mincore_refused(mapping.addr(), mapping.length(), Some(8))?;
                Ok("returned 0".into())
            },
        ),
        Case::new(
            "mincore-length-past-user-space",
            MINCORE,
            anon(4),
            "mincore(addr, 2^62)",
            Expected::Errno("ENOMEM"),
            docs::MINCORE_TOO_LONG,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                raw::mincore_refused(mapping.addr(), 1 << 62, None)?;
                Ok("returned 0".into())
            },
        ),
        Case::new(
            "mincore-anon-untouched",
            MINCORE,
            anon(16),
            "mincore right after mmap, nothing touched",
            Expected::Ok(Some("resident 0 of 16".into())),
            docs::MINCORE_UNTOUCHED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let n = raw::resident(mapping.addr(), mapping.length())?;
                Ok(format!("resident {n} of {}", mapping.length() / env.page))
            },
        ),
        Case::new(
            "mincore-anon-written",
            MINCORE,
            anon(16),
            "write one byte in pages 0, 5, 10 and 15; mincore",
            Expected::Ok(Some("the 4 written pages resident: yes".into())),
            docs::MINCORE_TOUCHED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                for p in [0, 5, 10, 15] {
                    mapping.write(p * env.page, WRITTEN);
                }
                let vec = raw::mincore(mapping.addr(), mapping.length())?;
                let total = vec.iter().filter(|b| *b & 1 != 0).count();
                env.note(format!("resident {total} of 16 in all (a large folio of anonymous memory, mTHP, can bring its neighbours)"));
                Ok(format!(
                    "the 4 written pages resident: {}",
                    crate::model::yes_no([0, 5, 10, 15].iter().all(|&p| vec[p] & 1 != 0))
                ))
            },
        )
        .depends(format!("anonymous mTHP sizes enabled: {}", plan.anon_mthp)),
        Case::new(
            "mincore-file-cached-untouched",
            MINCORE,
            Setup::file(OpenMode::ReadOnly, Plan::file_len(page), PROT_READ, MAP_SHARED),
            "mincore right after mmap of the file just written (its pages are in the page cache), nothing touched",
            Expected::Ok(Some("resident 3 of 3".into())),
            docs::MINCORE_PAGE_CACHE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let n = raw::resident(mapping.addr(), mapping.length())?;
                Ok(format!(
                    "resident {n} of {}",
                    mapping.length().div_ceil(env.page)
                ))
            },
        )
        .depends(format!(
            "the file belongs to the process calling mincore ({owner}); Linux 5.2 and later show page-cache residency only to a process that owns the file or may write it"
        )),
    ]
}

/// The start of the /proc/self/maps line holding `addr`.
fn line_start(addr: usize) -> Option<usize> {
    raw::maps_lines(addr, 1).first().map(|l| l.start)
}

/// MAP_GROWSDOWN: the line's start, growth by touching below, and the gap
/// that stops it.
pub fn growsdown(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let gap = plan.stack_guard_gap.clone().map_or(
        "stack_guard_gap: not on the kernel command line, so the kernel's default of 256 pages"
            .to_string(),
        |g| format!("stack_guard_gap={g} pages on the kernel command line"),
    );
    let setup = || {
        Setup::anonymous(
            page,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_GROWSDOWN | MAP_FIXED,
        )
        .hint("page 512 of a free 1024-page hole")
    };
    /// Maps the growing page at page 512 of a free hole, and a lower
    /// mapping `below` pages under it when given; returns the growing one.
    fn grow_setup(setup: &Setup, env: &CaseEnv, below: Option<usize>) -> Result<Mapping, Failure> {
        let hole = free_range(env.page, 1024)?;
        let top = hole + 512 * env.page;
        if let Some(below) = below {
            raw::map(
                top - below * env.page,
                env.page,
                PROT_READ,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                -1,
                0,
            )?;
        }
        let (mapping, _fd) = setup.map_at(env, top)?;
        Ok(mapping)
    }
    /// Touches `pages` pages below the mapping (one byte, written) and says
    /// how far the line's start moved.
    fn touch_below(mapping: &Mapping, env: &CaseEnv, pages: usize) -> Result<Value, Failure> {
        let before = line_start(mapping.addr()).unwrap_or(mapping.addr());
        // SAFETY: the probe child writes below its MAP_GROWSDOWN mapping:
        // the kernel grows the mapping over that address or the child
        // faults; no Rust object lives there.
        unsafe { raw::write_raw(mapping.addr() - (pages - 1) * env.page - 1, WRITTEN) };
        let after = line_start(mapping.addr()).unwrap_or(before);
        Ok(format!("grew by {} page(s)", (before - after) / env.page))
    }
    vec![
        Case::new(
            "growsdown-line-start",
            GROWSDOWN,
            setup(),
            "compare the start of the mapping's /proc/self/maps line with the address mmap returned",
            Expected::Ok(Some("the line starts one page above the returned address".into())),
            docs::GROWSDOWN_RETURN,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, None)?;
                let start = line_start(mapping.addr()).unwrap_or(0);
                Ok(match start.cmp(&mapping.addr()) {
                    std::cmp::Ordering::Equal => "the line starts at the returned address".into(),
                    _ if start == mapping.addr() + env.page => {
                        "the line starts one page above the returned address".into()
                    }
                    _ => format!("the line starts at {start:#x}, mmap returned {:#x}", mapping.addr()),
                })
            },
        )
        .corner(),
        Case::new(
            "growsdown-guard-page-grows",
            GROWSDOWN,
            setup(),
            "write the last byte of the page below the mapping",
            Expected::Ok(Some("grew by 1 page(s)".into())),
            docs::GROWSDOWN_GROWS,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, None)?;
                touch_below(&mapping, env, 1)
            },
        )
        .depends(gap.clone()),
        Case::new(
            "growsdown-64-pages-below",
            GROWSDOWN,
            setup(),
            "write a byte 64 pages below the mapping (not its guard page)",
            Expected::Signal("SIGSEGV", Some("SEGV_MAPERR")),
            docs::GROWSDOWN_ONLY_GUARD,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, None)?;
                touch_below(&mapping, env, 64)
            },
        )
        .corner()
        .depends(gap.clone()),
        Case::new(
            "growsdown-lower-mapping-16-pages-below",
            GROWSDOWN,
            setup(),
            "map a page 16 pages below the mapping (15 free pages between), write the byte below the mapping",
            Expected::Ok(Some("grew by 1 page(s)".into())),
            docs::GROWSDOWN_GROWS,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, Some(16))?;
                touch_below(&mapping, env, 1)
            },
        )
        .corner()
        .depends(gap.clone())
        .note("the man page allows growth until a page short of the lower mapping; since Linux 4.12 (Stack Clash) the kernel keeps stack_guard_gap free below a growing mapping"),
        Case::new(
            "growsdown-lower-mapping-adjacent",
            GROWSDOWN,
            setup(),
            "map a page 2 pages below the mapping (only the guard page between), write the byte below the mapping",
            Expected::Signal("SIGSEGV", None),
            docs::GROWSDOWN_GROWS,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, Some(2))?;
                touch_below(&mapping, env, 1)
            },
        )
        .depends(gap.clone()),
        Case::new(
            "growsdown-lower-mapping-far",
            GROWSDOWN,
            setup(),
            "map a page 512 pages below the mapping, write the byte below the mapping",
            Expected::Ok(Some("grew by 1 page(s)".into())),
            docs::GROWSDOWN_GROWS,
            &[],
            |setup, env| {
                let mapping = grow_setup(setup, env, Some(512))?;
                touch_below(&mapping, env, 1)
            },
        )
        .depends(gap),
    ]
}

/// How many mappings a child may hold: the fill, and the splits that fail
/// at the limit.
pub fn map_count(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    const MOST_TO_FILL: u64 = 262_144;
    let limit = plan.max_map_count;
    let limit_text = match limit {
        Some(n) => format!("vm.max_map_count = {n} (read, never changed)"),
        None => "vm.max_map_count could not be read".to_string(),
    };
    let too_many = match limit {
        None => Some("vm.max_map_count could not be read".to_string()),
        Some(n) if n > MOST_TO_FILL => Some(format!(
            "vm.max_map_count is {n}: filling it would take too long and too much kernel memory (at most {MOST_TO_FILL} here)"
        )),
        Some(_) => None,
    };
    /// What happens at the limit, after the child fills its address space
    /// with one-page mappings up to it.
    #[derive(Clone, Copy)]
    enum Then {
        Nothing,
        MunmapMiddle,
        MprotectMiddle,
    }
    fn fill(env: &CaseEnv, then: Then) -> Result<Value, Failure> {
        let page = env.page;
        let mut buffer = vec![0u8; 1 << 16];
        let before = raw::maps_line_count(&mut buffer)?;
        // The last mappings made, to free some before the report is
        // written (which may need memory).
        let mut recent = [0usize; 32];
        let mut made = 0usize;
        let failed = loop {
            let prot = if made.is_multiple_of(2) {
                PROT_READ
            } else {
                PROT_NONE
            };
            match raw::map(0, page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) {
                Ok(m) => {
                    recent[made % recent.len()] = m.addr();
                    made += 1;
                }
                Err(f) => break f,
            }
        };
        let at_limit = raw::maps_line_count(&mut buffer)?;
        let filled = made;
        let result = match then {
            Then::Nothing => Err(failed),
            Then::MunmapMiddle | Then::MprotectMiddle => {
                // One slot free, then a three-page mapping takes it.
                made -= 1;
                raw::unmap_range(recent[made % recent.len()], page)?;
                let three = raw::map(
                    0,
                    3 * page,
                    PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS,
                    -1,
                    0,
                )?;
                let middle = three.addr() + page;
                match then {
                    Then::MunmapMiddle => raw::unmap_range(middle, page),
                    _ => raw::protect(middle, page, PROT_READ),
                }
                .map(|()| "split".to_string())
            }
        };
        for i in 0..recent.len().min(made) {
            let _ = raw::unmap_range(recent[(made - 1 - i) % recent.len()], page);
        }
        env.note(format!(
            "{filled} one-page mappings made before {} failed with {}; /proc/self/maps had {before} lines before and {at_limit} at the limit ([vsyscall] is a line but not a mapping)",
            failed.call,
            raw::errno_name(failed.errno)
        ));
        result
    }
    let case = |id: &str, action: &str, source: &'static str, then: Then| {
        let skip = too_many.clone();
        Case::new(
            id,
            MAP_COUNT,
            Setup::anonymous(page, PROT_READ, MAP_PRIVATE).hint("NULL, again and again"),
            action,
            Expected::Errno("ENOMEM"),
            source,
            &[],
            move |_setup, env| match &skip {
                Some(reason) => Err(raw::not_run(Box::leak(reason.clone().into_boxed_str()))),
                None => fill(env, then),
            },
        )
        .depends(limit_text.clone())
    };
    vec![
        case(
            "map-count-fill",
            "map one page at a time (PROT_READ and PROT_NONE in turn, so that no two merge) until mmap fails",
            docs::MAX_MAP_COUNT,
            Then::Nothing,
        ),
        case(
            "map-count-munmap-splits",
            "fill to the limit, free one slot, map 3 pages, munmap the middle page",
            docs::MAX_MAP_COUNT_MUNMAP,
            Then::MunmapMiddle,
        ),
        case(
            "map-count-mprotect-splits",
            "fill to the limit, free one slot, map 3 pages, mprotect(PROT_READ) the middle page",
            docs::MAX_MAP_COUNT_MPROTECT,
            Then::MprotectMiddle,
        ),
    ]
}
