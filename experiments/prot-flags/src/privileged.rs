//! Cases whose outcome depends on who asks (root, or an unprivileged user:
//! as root, a probe child that drops to `nobody`), run side by side, and
//! MAP_SHARED_VALIDATE's check of every flag, on the data folder's
//! filesystem and on tmpfs.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use libc::{MAP_FIXED, MAP_HUGETLB, MAP_LOCKED, MAP_PRIVATE, MAP_SHARED, PROT_READ, PROT_WRITE};

use crate::cases::{
    PRIVILEGE, PROBE_OFFSET, Plan, SyncStorage, VALIDATE, WRITTEN, failure, free_range, read_text,
};
use crate::docs;
use crate::model::{Case, CaseEnv, Expected, OpenMode, Privilege, Setup, Value, hex, yes_no};
use crate::raw::{self, Failure};

/// One question asked twice: as root and unprivileged.
struct Pair {
    id: &'static str,
    setup: Setup,
    action: String,
    root: (Expected, &'static str),
    nobody: (Expected, &'static str),
    depends: Option<String>,
    body: fn(&Setup, &CaseEnv) -> Result<Value, Failure>,
}

fn pair_cases(plan: &Plan, pair: Pair) -> [Case; 2] {
    let unprivileged = if plan.is_root {
        "as nobody (uid 65534): the probe child drops to it with setgroups, setresgid and setresuid, which clear its capabilities".to_string()
    } else {
        format!(
            "as uid {} (the lab is not root: this half runs as that user)",
            plan.uid
        )
    };
    let make =
        |who: &str, privilege: Privilege, expected: (Expected, &'static str), text: String| {
            let mut case = Case::new(
                format!("{}-as-{who}", pair.id),
                PRIVILEGE,
                pair.setup.clone(),
                pair.action.clone(),
                expected.0,
                expected.1,
                &[],
                pair.body,
            )
            .privilege(privilege)
            .depends(text)
            .label("question", pair.id)
            .label("who", who);
            if let Some(depends) = &pair.depends {
                case = case.depends(depends.clone());
            }
            case
        };
    [
        make(
            "root",
            Privilege::Root,
            pair.root.clone(),
            "as root (uid 0, with its capabilities: CAP_SYS_RAWIO, CAP_IPC_LOCK)".to_string(),
        ),
        make(
            "nobody",
            Privilege::Nobody,
            pair.nobody.clone(),
            unprivileged,
        ),
    ]
}

/// Lowers this probe child's own RLIMIT_MEMLOCK to `bytes`.
fn limit(bytes: u64) -> Result<(), Failure> {
    raw::set_memlock_limit(bytes)
}

pub fn privilege(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let min = plan.mmap_min_addr;
    let below = if min > 0 {
        (Expected::Errno("EPERM"), docs::MIN_ADDR_UNPRIVILEGED)
    } else {
        (
            Expected::Ok(Some("placed at 0x0: yes".into())),
            docs::MIN_ADDR_UNPRIVILEGED,
        )
    };
    let huge_root = if plan.huge_pages_obtainable == 0 {
        (Expected::Errno("ENOMEM"), docs::HUGETLB_NO_POOL)
    } else {
        (
            Expected::Ok(Some(format!("wrote {}", hex(WRITTEN)))),
            docs::HUGETLB_WITH_POOL,
        )
    };
    let huge_nobody = if plan.huge_pages_obtainable == 0 {
        Expected::Either(vec![Expected::Errno("EPERM"), Expected::Errno("ENOMEM")])
    } else {
        Expected::Errno("EPERM")
    };
    let n = 16;
    let locked = (n * page) as u64;
    let pairs = vec![
        Pair {
            id: "fixed-below-mmap-min-addr",
            setup: Setup::anonymous(page, PROT_READ, MAP_PRIVATE | MAP_FIXED).hint("0x0"),
            action: "map one page at address 0 with MAP_FIXED".into(),
            root: (Expected::Ok(Some("placed at 0x0: yes".into())), docs::MIN_ADDR_UNPRIVILEGED),
            nobody: below,
            depends: Some(format!("vm.mmap_min_addr = {min} (read, never changed); a security module (SELinux) may add a check of its own")),
            body: |setup, env| {
                let (mapping, _fd) = setup.map_at(env, 0)?;
                Ok(format!("placed at {:#x}: {}", mapping.addr(), yes_no(mapping.addr() == 0)))
            },
        },
        Pair {
            id: "map-locked-over-limit",
            setup: Setup::anonymous(n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_LOCKED),
            action: format!("lower the child's own RLIMIT_MEMLOCK to one page ({} bytes), map {locked} bytes with MAP_LOCKED", page),
            root: (Expected::Ok(Some("mapped".into())), docs::MEMLOCK_PRIVILEGED),
            nobody: (Expected::Errno("EAGAIN"), docs::MEMLOCK_EAGAIN),
            depends: None,
            body: |setup, env| {
                limit(env.page as u64)?;
                setup.map(env)?;
                Ok("mapped".into())
            },
        },
        Pair {
            id: "mlock-over-limit",
            setup: Setup::anonymous(n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            action: format!("lower the child's own RLIMIT_MEMLOCK to one page, mlock {locked} bytes"),
            root: (Expected::Ok(Some("returned 0".into())), docs::MEMLOCK_PRIVILEGED),
            nobody: (Expected::Errno("ENOMEM"), docs::MEMLOCK_ENOMEM),
            depends: None,
            body: |setup, env| {
                limit(env.page as u64)?;
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr(), mapping.length()).map(|()| "returned 0".to_string())
            },
        },
        Pair {
            id: "mlock-zero-limit",
            setup: Setup::anonymous(page, PROT_READ | PROT_WRITE, MAP_PRIVATE),
            action: "lower the child's own RLIMIT_MEMLOCK to 0, mlock one page".into(),
            root: (Expected::Ok(Some("returned 0".into())), docs::MEMLOCK_PRIVILEGED),
            nobody: (Expected::Errno("EPERM"), docs::MEMLOCK_EPERM),
            depends: None,
            body: |setup, env| {
                limit(0)?;
                let (mapping, _fd) = setup.map(env)?;
                raw::mlock(mapping.addr(), mapping.length()).map(|()| "returned 0".to_string())
            },
        },
        Pair {
            id: "hugetlb",
            setup: Setup::anonymous(plan.huge_page_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_HUGETLB),
            action: "map one huge page with MAP_HUGETLB, write a byte".into(),
            root: huge_root,
            nobody: (huge_nobody, docs::HUGETLB_UNPRIVILEGED),
            depends: Some(format!("the huge page pool: {}; vm.hugetlb_shm_group", plan.huge_pool_text)),
            body: |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                Ok(format!("wrote {}", hex(WRITTEN)))
            },
        },
        Pair {
            id: "mincore-of-an-evicted-file",
            setup: Setup::file(OpenMode::ReadOnly, Plan::file_len(page), PROT_READ, MAP_SHARED),
            action: "evict the file (fdatasync, POSIX_FADV_DONTNEED), map it, mincore without touching it".into(),
            root: (Expected::Ok(Some("resident 0 of 3".into())), docs::MINCORE_PAGE_CACHE),
            nobody: (Expected::Ok(Some("resident 3 of 3".into())), docs::MINCORE_HIDDEN),
            depends: Some(format!(
                "the file belongs to {} (mode 0644): nobody can read it but not write it",
                if plan.is_root { "root".to_string() } else { format!("uid {}", plan.uid) }
            )),
            body: |setup, env| {
                let file = std::fs::File::open(&env.file).map_err(|e| failure("open", e))?;
                let owner = file.metadata().map_err(|e| failure("fstat", e))?.uid();
                // SAFETY: geteuid has no preconditions.
                let me = unsafe { libc::geteuid() };
                if me != 0 && owner == me {
                    return Err(raw::not_run(
                        "the file is this user's own, so mincore shows its page cache; the hidden case needs another user's file (run as root)",
                    ));
                }
                let left = mmlab_core::pages::evict_file(std::os::fd::AsFd::as_fd(&file))
                    .map_err(|_| Failure { call: "evict", errno: 0 })?;
                env.note(format!(
                    "the eviction's own check (mincore, by this process) says {left} page(s) still cached"
                ));
                let mapping = setup.map_fd(file.as_raw_fd())?;
                Ok(format!(
                    "resident {} of {}",
                    raw::resident(mapping.addr(), mapping.length())?,
                    mapping.length().div_ceil(env.page)
                ))
            },
        },
    ];
    pairs
        .into_iter()
        .flat_map(|p| pair_cases(plan, p))
        .collect()
}

/// MAP_SHARED_VALIDATE: each known flag accepted, unknown bits refused, on
/// the data folder's filesystem and on tmpfs.
pub fn validate(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let original = hex(plan.contents[PROBE_OFFSET]);
    let read = format!("read {original}");
    let v = raw::MAP_SHARED_VALIDATE;
    let ro = |flags: i32| Setup::file(OpenMode::ReadOnly, page, PROT_READ, v | flags);
    let fs = plan.data_dir_fs.clone();
    fn map_read(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        Ok(read_text(&mapping, PROBE_OFFSET))
    }
    fn at_free_hint(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let hint = free_range(env.page, 16)? + 8 * env.page;
        let (mapping, _fd) = setup.map_at(env, hint)?;
        Ok(format!(
            "{}, placed at the address: {}",
            read_text(&mapping, PROBE_OFFSET),
            yes_no(mapping.addr() == hint)
        ))
    }
    let mut known: Vec<(&str, i32, &'static str)> = vec![
        ("populate", libc::MAP_POPULATE, docs::POPULATE),
        ("locked", MAP_LOCKED, docs::MAP_LOCKED),
        ("noreserve", libc::MAP_NORESERVE, docs::VALIDATE_KNOWN),
        ("nonblock", libc::MAP_NONBLOCK, docs::VALIDATE_KNOWN),
        ("stack", libc::MAP_STACK, docs::VALIDATE_KNOWN),
        ("denywrite", libc::MAP_DENYWRITE, docs::VALIDATE_KNOWN),
        ("executable", libc::MAP_EXECUTABLE, docs::VALIDATE_KNOWN),
        (
            "uninitialized",
            raw::MAP_UNINITIALIZED,
            docs::VALIDATE_KNOWN,
        ),
    ];
    if plan.arch == "x86_64" {
        known.push(("32bit", raw::MAP_32BIT, docs::VALIDATE_KNOWN));
    }
    let mut cases: Vec<Case> = known
        .into_iter()
        .map(|(name, flag, source)| {
            let mut case = Case::new(
                format!("validate-known-{name}"),
                VALIDATE,
                ro(flag),
                "map the data file, read +64",
                Expected::Ok(Some(read.clone())),
                source,
                &[],
                map_read,
            )
            .depends(format!("the data folder's filesystem: {fs}"));
            if flag == MAP_LOCKED {
                case = case.depends(format!(
                    "locking one page: RLIMIT_MEMLOCK {}",
                    plan.memlock_limit
                        .map_or("unknown".to_string(), |b| format!("{b} bytes"))
                ));
            }
            case
        })
        .collect();
    cases.extend([
        Case::new(
            "validate-known-fixed",
            VALIDATE,
            ro(MAP_FIXED).hint("the middle of a free 16-page hole"),
            "map the data file there, read +64",
            Expected::Ok(Some(format!("{read}, placed at the address: yes"))),
            docs::VALIDATE_KNOWN,
            &[],
            at_free_hint,
        ),
        Case::new(
            "validate-known-fixed-noreplace",
            VALIDATE,
            ro(raw::MAP_FIXED_NOREPLACE).hint("the middle of a free 16-page hole"),
            "map the data file there, read +64",
            Expected::Ok(Some(format!("{read}, placed at the address: yes"))),
            docs::VALIDATE_KNOWN,
            &[],
            at_free_hint,
        )
        .note("MAP_FIXED_NOREPLACE (Linux 4.17) is a known flag: does MAP_SHARED_VALIDATE know it?"),
        Case::new(
            "validate-known-anonymous",
            VALIDATE,
            Setup::anonymous(page, PROT_READ | PROT_WRITE, v),
            "map shared anonymous memory with MAP_SHARED_VALIDATE, read +64",
            Expected::Ok(Some("read 0x00".into())),
            docs::VALIDATE_SAME,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        )
        .corner()
        .note("mmap(2) says MAP_SHARED_VALIDATE behaves as MAP_SHARED; does it for anonymous memory too?"),
    ]);
    for bit in [0x40_0000, 0x80_0000, 0x100_0000, 0x200_0000] {
        cases.push(Case::new(
            format!("validate-unknown-bit-{bit:#x}"),
            VALIDATE,
            ro(bit),
            "map the data file",
            Expected::Errno("EOPNOTSUPP"),
            docs::VALIDATE_UNKNOWN,
            &[],
            map_read,
        ));
    }
    // The same questions on tmpfs (/dev/shm), where a file is shmem.
    let tmpfs = SyncStorage::of("tmpfs", Some(false), &read);
    let on_tmpfs = "the mapped file is on tmpfs (/dev/shm), not DAX";
    cases.extend([
        Case::new(
            "validate-plain-tmpfs",
            VALIDATE,
            ro(0),
            "map a copy of the data file on tmpfs, read +64",
            Expected::Ok(Some(read.clone())),
            docs::VALIDATE_SAME,
            &[],
            map_read,
        ),
        Case::new(
            "validate-unknown-bit-tmpfs",
            VALIDATE,
            ro(raw::MAP_UNKNOWN_BIT),
            "map a copy of the data file on tmpfs",
            Expected::Errno("EOPNOTSUPP"),
            docs::VALIDATE_UNKNOWN,
            &[],
            map_read,
        ),
        Case::new(
            "validate-sync-tmpfs",
            VALIDATE,
            ro(raw::MAP_SYNC),
            "map a copy of the data file on tmpfs, read +64",
            tmpfs.validate_sync.0.clone(),
            tmpfs.validate_sync.1,
            &[],
            map_read,
        )
        .scope(tmpfs.scope.clone()),
        Case::new(
            "shared-sync-tmpfs",
            VALIDATE,
            Setup::file(
                OpenMode::ReadOnly,
                page,
                PROT_READ,
                MAP_SHARED | raw::MAP_SYNC,
            ),
            "map a copy of the data file on tmpfs, read +64",
            Expected::Ok(Some(read.clone())),
            docs::MAP_SYNC_SHARED_IGNORES,
            &[],
            map_read,
        )
        .scope(tmpfs.scope.clone())
        .note("compare with flags-shared-sync, the same call on the data folder's filesystem"),
    ]);
    let n = cases.len();
    for case in cases.iter_mut().skip(n - 4) {
        case.on_tmpfs = true;
        case.depends_on.push(on_tmpfs.to_string());
    }
    cases
}
