//! The cases of the truth table, group by group. Every expectation is
//! written from the documentation (`docs`), never from a run: where the
//! kernel disagrees, the table shows a mismatch.

use std::os::unix::fs::FileExt;

use libc::{
    MAP_ANONYMOUS, MAP_FIXED, MAP_HUGETLB, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, PROT_EXEC,
    PROT_NONE, PROT_READ, PROT_WRITE,
};

use crate::docs;
use crate::model::{Case, CaseEnv, Expected, OpenMode, Setup, Value, hex, prot_name, yes_no};
use crate::raw::{self, Failure, Mapping};

pub const PROT_ACCESS: &str = "prot x access";
pub const OPEN_MODE: &str = "open mode x flags";
pub const MPROTECT: &str = "mprotect";
pub const FLAGS: &str = "flags";
pub const HINT: &str = "start hint";
pub const OFFSET: &str = "offset and length";
pub const SHARING: &str = "sharing";
pub const BACKING: &str = "file and anonymous backing";
pub const FD_TYPE: &str = "fd and file type";
pub const LIMITS: &str = "length and offset limits";
pub const FILE_CHANGES: &str = "the file changes under the mapping";
pub const MAPS: &str = "/proc/self/maps";
pub const MUNMAP: &str = "munmap";
pub const MSYNC: &str = "msync";
pub const MADVISE: &str = "madvise";
pub const MINCORE: &str = "mincore";
pub const LOCKING: &str = "locking";
pub const PRIVILEGE: &str = "privilege";
pub const GROWSDOWN: &str = "MAP_GROWSDOWN";
pub const VALIDATE: &str = "MAP_SHARED_VALIDATE";
pub const MAP_COUNT: &str = "max_map_count";

/// The byte every write case writes.
pub const WRITTEN: u8 = 0xA5;
/// Where read and write cases touch the page (after the stub).
pub const PROBE_OFFSET: usize = 64;

/// What the case list is built from: sizes of this machine and the data
/// file's contents (the stub, then the pattern).
#[derive(Debug, Clone)]
pub struct Plan {
    pub page: usize,
    pub contents: Vec<u8>,
    pub huge_page_bytes: usize,
    /// HugePages_Free + nr_overcommit_hugepages: pages MAP_HUGETLB can get.
    pub huge_pages_obtainable: u64,
    pub huge_pool_text: String,
    pub mmap_min_addr: usize,
    /// `std::env::consts::ARCH`.
    pub arch: &'static str,
    /// The fingerprint's `protection_keys` (x86 pku+ospke, arm64 poe);
    /// `None` when unknown.
    pub protection_keys: Option<bool>,
    /// The fingerprint's `data_dir_fs` (`ext4`, `tmpfs`, ...).
    pub data_dir_fs: String,
    /// Whether a file in the data folder is on DAX storage (statx), `None`
    /// when the kernel does not say.
    pub data_dir_dax: Option<bool>,
    /// The fingerprint's `is_root`, and the uid the lab runs as.
    pub is_root: bool,
    pub uid: u32,
    /// Why no tmpfs folder is at hand (`None` when one is).
    pub tmpfs_reason: Option<String>,
    /// vm.max_map_count, read (never changed).
    pub max_map_count: Option<u64>,
    /// RLIMIT_MEMLOCK's soft limit of the lab's process, in bytes.
    pub memlock_limit: Option<u64>,
    /// `stack_guard_gap=` on the kernel command line (pages), when given;
    /// the kernel's default is 256 pages.
    pub stack_guard_gap: Option<String>,
    /// The anonymous mTHP sizes not set to `never` (`64kB: inherit`), or
    /// `none`, from the fingerprint.
    pub anon_mthp: String,
    /// Whether the CPU has 5-level page tables (`la57` in /proc/cpuinfo),
    /// `None` when the flags cannot be read: where user space ends.
    pub la57: Option<bool>,
}

impl Plan {
    /// The data file: two pages and 100 bytes, so that its last page is
    /// partial; the stub sits at offset 0, the pattern fills the rest.
    pub fn file_len(page: usize) -> usize {
        2 * page + 100
    }

    pub fn contents_for(page: usize) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..Plan::file_len(page) as u64)
            .map(mmlab_core::datafile::pattern_byte)
            .collect();
        if let Some(stub) = raw::STUB {
            bytes[..stub.len()].copy_from_slice(stub);
        }
        bytes
    }
}

pub(crate) fn failure(call: &'static str, error: std::io::Error) -> Failure {
    Failure {
        call,
        errno: error.raw_os_error().unwrap_or(0),
    }
}

/// The file's byte at `offset` as read() sees it now (a fresh fd), or
/// `None` past the end of the file.
pub(crate) fn file_byte(env: &CaseEnv, offset: u64) -> Result<Option<u8>, Failure> {
    let file = std::fs::File::open(&env.file).map_err(|e| failure("open", e))?;
    let mut byte = [0u8];
    let n = file
        .read_at(&mut byte, offset)
        .map_err(|e| failure("pread", e))?;
    Ok((n == 1).then_some(byte[0]))
}

pub(crate) fn file_byte_text(env: &CaseEnv, offset: u64) -> Result<String, Failure> {
    Ok(file_byte(env, offset)?.map_or("EOF".to_string(), hex))
}

pub(crate) fn read_text(mapping: &Mapping, offset: usize) -> Value {
    format!("read {}", hex(mapping.read(offset)))
}

pub(crate) fn stub_text() -> Value {
    format!("returned {}", raw::STUB_RETURN)
}

pub(crate) fn call_stub(mapping: &Mapping) -> Result<Value, Failure> {
    if raw::STUB.is_none() {
        return Err(raw::not_run(
            "no machine-code stub for this CPU architecture",
        ));
    }
    // SAFETY: every mapping passed here starts with STUB (the data file
    // begins with it, or the case copied it there).
    let value = unsafe { mapping.call(0) };
    Ok(format!("returned {value}"))
}

/// A free, page-aligned range of `pages` pages: mapped, then unmapped.
pub(crate) fn free_range(page: usize, pages: usize) -> Result<usize, Failure> {
    let probe = raw::map(
        0,
        pages * page,
        PROT_NONE,
        MAP_PRIVATE | MAP_ANONYMOUS,
        -1,
        0,
    )?;
    let addr = probe.addr();
    raw::unmap(probe)?;
    Ok(addr)
}

pub(crate) fn all_zero(mapping: &Mapping, len: usize) -> bool {
    (0..len).all(|i| mapping.read(i) == 0)
}

pub(crate) fn pathname_text(addr: usize) -> String {
    match raw::maps_pathname(addr) {
        None => "no line".to_string(),
        Some(path) if path.is_empty() => "blank".to_string(),
        Some(path) => path,
    }
}

/// Maps, checks that every byte is zero, and names the /proc/self/maps pathname.
pub(crate) fn zero_and_path(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
    let (mapping, _fd) = setup.map(env)?;
    let n = mapping.length();
    Ok(format!(
        "all {n} bytes zero: {}, pathname {}",
        yes_no(all_zero(&mapping, n)),
        pathname_text(mapping.addr())
    ))
}

/// What a PROT_EXEC-only page is on this machine, by the CPU condition
/// the run's fingerprint records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOnly {
    /// x86_64 with protection keys (pku+ospke): the kernel gives a
    /// PROT_EXEC-only mapping its execute-only key, so reads and writes
    /// fault with SEGV_PKUERR.
    ProtectionKeys,
    /// x86_64 without protection keys: the page tables have no read bit,
    /// so the page is readable (and not writable).
    Readable,
    /// Another architecture, or the CPU flags could not be read: the strict
    /// reading, with the man page's "depends on processor architecture".
    Unknown,
}

impl ExecOnly {
    pub fn of(plan: &Plan) -> ExecOnly {
        match (plan.arch, plan.protection_keys) {
            ("x86_64", Some(true)) => ExecOnly::ProtectionKeys,
            ("x86_64", Some(false)) => ExecOnly::Readable,
            _ => ExecOnly::Unknown,
        }
    }

    /// The condition as a case's setup names it.
    pub fn condition(self, plan: &Plan) -> String {
        match self {
            ExecOnly::ProtectionKeys => "CPU protection keys (pku+ospke in /proc/cpuinfo): present, so a PROT_EXEC-only mapping is execute-only".to_string(),
            ExecOnly::Readable => "CPU protection keys (pku+ospke in /proc/cpuinfo): absent, so on x86_64 a PROT_EXEC-only page is readable".to_string(),
            ExecOnly::Unknown => format!(
                "what a PROT_EXEC-only page allows depends on the CPU ({}, protection keys {})",
                plan.arch,
                match plan.protection_keys {
                    Some(true) => "present",
                    Some(false) => "absent",
                    None => "unknown",
                }
            ),
        }
    }

    /// The expectation for a data access to a PROT_EXEC-only page holding
    /// `byte` at the probed offset, its source, and the sentence that allows
    /// another outcome (only where the CPU condition is unknown).
    pub fn expect(self, write: bool, byte: u8) -> (Expected, &'static str, Option<&'static str>) {
        match (self, write) {
            (ExecOnly::ProtectionKeys, _) => (
                Expected::Signal("SIGSEGV", Some("SEGV_PKUERR")),
                docs::EXEC_ONLY_PKEYS,
                None,
            ),
            (ExecOnly::Readable, false) => (
                Expected::Ok(Some(format!("read {}", hex(byte)))),
                docs::EXEC_READABLE_WITHOUT_PKEYS,
                None,
            ),
            (ExecOnly::Unknown, false) => (
                Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
                docs::PROT_VIOLATION,
                Some(docs::EXEC_VS_READ),
            ),
            (_, true) => (
                Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
                docs::WRITE_WITHOUT_PROT_WRITE,
                None,
            ),
        }
    }
}

/// What MAP_SYNC may do on a file of some filesystem: the man page
/// separates DAX files (supported) from all others (EOPNOTSUPP).
#[derive(Debug, Clone)]
pub struct SyncStorage {
    /// `ext4, not DAX`.
    pub what: String,
    /// The condition, as the setup names it.
    pub condition: String,
    /// `on ext4`: where a mismatch holds.
    pub scope: String,
    /// MAP_SHARED_VALIDATE|MAP_SYNC: the expectation and its source.
    pub validate_sync: (Expected, &'static str),
}

impl SyncStorage {
    pub fn of(fs: &str, dax: Option<bool>, read_value: &str) -> SyncStorage {
        let dax_text = match dax {
            Some(true) => "on DAX storage",
            Some(false) => "not DAX",
            None => "DAX unknown: statx did not say, taken as not DAX",
        };
        SyncStorage {
            what: format!("{fs}, {dax_text}"),
            condition: format!(
                "the filesystem of the mapped file: {fs}, {dax_text} (statx STATX_ATTR_DAX); MAP_SYNC is for DAX files only"
            ),
            scope: format!("on {fs}"),
            validate_sync: if dax == Some(true) {
                (
                    Expected::Ok(Some(read_value.to_string())),
                    docs::MAP_SYNC_DAX,
                )
            } else {
                (Expected::Errno("EOPNOTSUPP"), docs::MAP_SYNC_NON_DAX)
            },
        }
    }
}

/// Every case, in table order.
pub fn all(plan: &Plan) -> Vec<Case> {
    let mut cases = Vec::new();
    cases.extend(prot_access(plan));
    cases.extend(mprotect(plan));
    cases.extend(open_mode(plan));
    cases.extend(flags(plan));
    cases.extend(hint(plan));
    cases.extend(offset(plan));
    cases.extend(sharing(plan));
    cases.extend(backing(plan));
    cases.extend(crate::files::fd_type(plan));
    cases.extend(crate::files::limits(plan));
    cases.extend(crate::files::file_changes(plan));
    cases.extend(crate::views::maps(plan));
    cases.extend(crate::family::munmap(plan));
    cases.extend(crate::family::msync(plan));
    cases.extend(crate::family::madvise(plan));
    cases.extend(crate::views::mincore(plan));
    cases.extend(crate::family::locking(plan));
    cases.extend(crate::privileged::privilege(plan));
    cases.extend(crate::views::growsdown(plan));
    cases.extend(crate::privileged::validate(plan));
    cases.extend(crate::views::map_count(plan));
    cases
}

/// Each protection against each access kind, on a MAP_PRIVATE mapping of
/// an O_RDONLY fd whose first bytes are the stub.
fn prot_access(plan: &Plan) -> Vec<Case> {
    let prots: [(&str, i32); 7] = [
        ("none", PROT_NONE),
        ("r", PROT_READ),
        ("w", PROT_WRITE),
        ("rw", PROT_READ | PROT_WRITE),
        ("x", PROT_EXEC),
        ("rx", PROT_READ | PROT_EXEC),
        ("rwx", PROT_READ | PROT_WRITE | PROT_EXEC),
    ];
    let file_value = format!("read {}", hex(plan.contents[PROBE_OFFSET]));
    let mut cases = Vec::new();
    for (short, prot) in prots {
        let setup = Setup::file(OpenMode::ReadOnly, plan.page, prot, MAP_PRIVATE);
        let denied = |sentence: &'static str| {
            if prot == PROT_NONE {
                (
                    Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
                    docs::PROT_NONE,
                )
            } else {
                (Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")), sentence)
            }
        };
        let exec_only = (prot == PROT_EXEC).then(|| ExecOnly::of(plan));
        let byte = plan.contents[PROBE_OFFSET];
        // Read.
        let (expected, source, exec_variation) = if prot & PROT_READ != 0 {
            (
                Expected::Ok(Some(file_value.clone())),
                docs::PROT_READ,
                None,
            )
        } else if let Some(exec_only) = exec_only {
            exec_only.expect(false, byte)
        } else {
            let (expected, source) = denied(docs::PROT_VIOLATION);
            (expected, source, None)
        };
        let mut case = Case::new(
            format!("prot-{short}-read"),
            PROT_ACCESS,
            setup.clone(),
            format!("read the byte at +{PROBE_OFFSET}"),
            expected,
            source,
            &["S8"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        );
        if prot & PROT_WRITE != 0 && prot & PROT_READ == 0 {
            case = case.variation(docs::WRITE_IMPLIES_READ).depends(format!(
                "the CPU's page tables ({}): {}",
                plan.arch,
                if plan.arch == "x86_64" {
                    "x86 page-table entries have no read bit, so a writable page is readable"
                } else {
                    "whether a writable page is readable is the architecture's choice"
                }
            ));
        }
        if let Some(sentence) = exec_variation {
            case = case.variation(sentence);
        }
        if let Some(exec_only) = exec_only {
            case = case.depends(exec_only.condition(plan));
        }
        cases.push(case.label("prot", prot_name(prot)).label("access", "read"));

        // Write.
        let (expected, source) = if prot & PROT_WRITE != 0 {
            (
                Expected::Ok(Some(format!("wrote {}", hex(WRITTEN)))),
                docs::PROT_WRITE,
            )
        } else if let Some(exec_only) = exec_only {
            let (expected, source, _) = exec_only.expect(true, byte);
            (expected, source)
        } else {
            denied(docs::WRITE_WITHOUT_PROT_WRITE)
        };
        let mut case = Case::new(
            format!("prot-{short}-write"),
            PROT_ACCESS,
            setup.clone(),
            format!("write {} at +{PROBE_OFFSET}", hex(WRITTEN)),
            expected,
            source,
            &["S8"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                Ok(format!("wrote {}", hex(WRITTEN)))
            },
        );
        if let Some(exec_only) = exec_only {
            case = case.depends(exec_only.condition(plan));
        }
        cases.push(case.label("prot", prot_name(prot)).label("access", "write"));

        // Execute.
        let (expected, source) = if prot & PROT_EXEC != 0 {
            (Expected::Ok(Some(stub_text())), docs::PROT_EXEC)
        } else {
            denied(docs::PROT_VIOLATION)
        };
        let mut case = Case::new(
            format!("prot-{short}-exec"),
            PROT_ACCESS,
            setup,
            "call the stub at +0 (returns 42)",
            expected,
            source,
            &["S8"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                call_stub(&mapping)
            },
        );
        if prot & PROT_EXEC == 0 && prot != PROT_NONE {
            case = case.variation(if prot & PROT_READ != 0 {
                docs::READ_IMPLIES_EXEC
            } else {
                docs::POSIX_MAY_PERMIT
            });
        }
        cases.push(case.label("prot", prot_name(prot)).label("access", "exec"));
    }
    cases
}

/// Changing protections after the fact.
fn mprotect(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let anon = |prot| Setup::anonymous(page, prot, MAP_PRIVATE);
    vec![
        Case::new(
            "mprotect-r-to-rw-write",
            MPROTECT,
            anon(PROT_READ),
            format!(
                "mprotect(PROT_READ|PROT_WRITE), write {}, read it back",
                hex(WRITTEN)
            ),
            Expected::Ok(Some(format!("read {}", hex(WRITTEN)))),
            docs::MPROTECT_CHANGES,
            &["S8"],
            |setup, env| {
                let (mapping, _) = setup.map(env)?;
                raw::protect(mapping.addr(), mapping.length(), PROT_READ | PROT_WRITE)?;
                mapping.write(0, WRITTEN);
                Ok(read_text(&mapping, 0))
            },
        ),
        Case::new(
            "mprotect-rw-to-none-read",
            MPROTECT,
            anon(PROT_READ | PROT_WRITE),
            "write, mprotect(PROT_NONE), read",
            Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
            docs::PROT_NONE,
            &["S8"],
            |setup, env| {
                let (mapping, _) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::protect(mapping.addr(), mapping.length(), PROT_NONE)?;
                Ok(read_text(&mapping, 0))
            },
        ),
        Case::new(
            "mprotect-rw-to-r-write",
            MPROTECT,
            anon(PROT_READ | PROT_WRITE),
            "write, mprotect(PROT_READ), write again",
            Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")),
            docs::WRITE_WITHOUT_PROT_WRITE,
            &["S8"],
            |setup, env| {
                let (mapping, _) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                raw::protect(mapping.addr(), mapping.length(), PROT_READ)?;
                mapping.write(0, 0x5A);
                Ok("wrote twice".to_string())
            },
        ),
        Case::new(
            "mprotect-jit-rw-to-rx-exec",
            MPROTECT,
            anon(PROT_READ | PROT_WRITE),
            "copy the stub in, mprotect(PROT_READ|PROT_EXEC), call it",
            Expected::Ok(Some(stub_text())),
            docs::MPROTECT_CHANGES,
            &["S8"],
            |setup, env| {
                let Some(stub) = raw::STUB else {
                    return Err(raw::not_run(
                        "no machine-code stub for this CPU architecture",
                    ));
                };
                let (mapping, _) = setup.map(env)?;
                for (i, byte) in stub.iter().enumerate() {
                    mapping.write(i, *byte);
                }
                raw::sync_instruction_cache(mapping.addr(), stub.len());
                raw::protect(mapping.addr(), mapping.length(), PROT_READ | PROT_EXEC)?;
                call_stub(&mapping)
            },
        )
        .note("the way a JIT compiler makes code: write it, then make the page executable"),
        Case::new(
            "mprotect-unaligned",
            MPROTECT,
            anon(PROT_READ | PROT_WRITE),
            "mprotect(addr + 1, 1, PROT_READ)",
            Expected::Errno("EINVAL"),
            docs::MPROTECT_EINVAL,
            &["S8"],
            |setup, env| {
                let (mapping, _) = setup.map(env)?;
                raw::protect(mapping.addr() + 1, 1, PROT_READ)?;
                Ok("changed".to_string())
            },
        ),
        Case::new(
            "mprotect-unmapped",
            MPROTECT,
            anon(PROT_READ | PROT_WRITE).hint("a range just unmapped"),
            "munmap, then mprotect the same range PROT_READ",
            Expected::Errno("ENOMEM"),
            docs::MPROTECT_ENOMEM,
            &["S8"],
            |setup, env| {
                let (mapping, _) = setup.map(env)?;
                let (addr, len) = (mapping.addr(), mapping.length());
                raw::unmap(mapping)?;
                raw::protect(addr, len, PROT_READ)?;
                Ok("changed".to_string())
            },
        ),
    ]
}

/// What the fd's open mode allows, with MAP_SHARED and MAP_PRIVATE.
fn open_mode(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let original = hex(plan.contents[PROBE_OFFSET]);
    let written = hex(WRITTEN);
    let private_written = format!("mapping {written}, file {original}");
    let shared_written = format!("mapping {written}, file {written} after munmap");
    let rw = PROT_READ | PROT_WRITE;

    // Write through the mapping, read it back, munmap, then read the file.
    fn write_then_file(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        write_read_unmap(setup, mapping, env)
    }
    fn write_read_unmap(setup: &Setup, mapping: Mapping, env: &CaseEnv) -> Result<Value, Failure> {
        mapping.write(PROBE_OFFSET, WRITTEN);
        let seen = mapping.read(PROBE_OFFSET);
        let shared = setup.flags & 0x0f != MAP_PRIVATE;
        raw::unmap(mapping)?;
        let file = file_byte_text(env, PROBE_OFFSET as u64)?;
        Ok(if shared {
            format!("mapping {}, file {file} after munmap", hex(seen))
        } else {
            format!("mapping {}, file {file}", hex(seen))
        })
    }
    fn map_only(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        Ok(read_text_if_readable(setup, &mapping))
    }
    fn read_text_if_readable(setup: &Setup, mapping: &Mapping) -> Value {
        if setup.prot & PROT_READ != 0 {
            read_text(mapping, PROBE_OFFSET)
        } else {
            "mapped".to_string()
        }
    }
    fn upgrade_then_write(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        raw::protect(mapping.addr(), mapping.length(), PROT_READ | PROT_WRITE)?;
        write_read_unmap(setup, mapping, env)
    }

    let case = |id: &str,
                mode: OpenMode,
                prot: i32,
                flags: i32,
                action: &str,
                expected: Expected,
                source: &'static str,
                body: fn(&Setup, &CaseEnv) -> Result<Value, Failure>| {
        let mapping_label = format!(
            "{} {}{}",
            if flags & 0x0f == MAP_SHARED {
                "MAP_SHARED"
            } else {
                "MAP_PRIVATE"
            },
            prot_name(prot),
            if action.starts_with("mprotect") {
                " + mprotect(PROT_READ|PROT_WRITE)"
            } else {
                ""
            }
        );
        Case::new(
            id,
            OPEN_MODE,
            Setup::file(mode, page, prot, flags),
            action,
            expected,
            source,
            &["S8"],
            body,
        )
        .label("open_mode", mode.name())
        .label("mapping", mapping_label)
    };
    let write_action =
        format!("write {written} at +{PROBE_OFFSET}, read it back, munmap, pread the file");
    let upgrade_action = format!("mprotect(PROT_READ|PROT_WRITE), then {write_action}");
    vec![
        case(
            "open-rdonly-shared-r",
            OpenMode::ReadOnly,
            PROT_READ,
            MAP_SHARED,
            "map, read the byte at +64",
            Expected::Ok(Some(format!("read {original}"))),
            docs::PROT_MUST_NOT_CONFLICT,
            map_only,
        ),
        case(
            "open-rdonly-shared-rw",
            OpenMode::ReadOnly,
            rw,
            MAP_SHARED,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_SHARED_WRITE,
            map_only,
        ),
        case(
            "open-rdonly-shared-w",
            OpenMode::ReadOnly,
            PROT_WRITE,
            MAP_SHARED,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_SHARED_WRITE,
            map_only,
        ),
        case(
            "open-rdonly-private-rw",
            OpenMode::ReadOnly,
            rw,
            MAP_PRIVATE,
            &write_action,
            Expected::Ok(Some(private_written.clone())),
            docs::PRIVATE_NOT_CARRIED,
            write_then_file,
        )
        .note("the private write works on a read-only fd: it goes to a private copy of the page, never to the file"),
        case(
            "open-rdonly-shared-mprotect-rw",
            OpenMode::ReadOnly,
            PROT_READ,
            MAP_SHARED,
            &upgrade_action,
            Expected::Errno("EACCES"),
            docs::MPROTECT_EACCES,
            upgrade_then_write,
        ),
        case(
            "open-rdonly-private-mprotect-rw",
            OpenMode::ReadOnly,
            PROT_READ,
            MAP_PRIVATE,
            &upgrade_action,
            Expected::Ok(Some(private_written.clone())),
            docs::MPROTECT_PRIVATE_OK,
            upgrade_then_write,
        )
        .corner(),
        case(
            "open-wronly-private-r",
            OpenMode::WriteOnly,
            PROT_READ,
            MAP_PRIVATE,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_NOT_READABLE,
            map_only,
        ),
        case(
            "open-wronly-shared-w",
            OpenMode::WriteOnly,
            PROT_WRITE,
            MAP_SHARED,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_NOT_READABLE,
            map_only,
        ),
        case(
            "open-wronly-shared-none",
            OpenMode::WriteOnly,
            PROT_NONE,
            MAP_SHARED,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_NOT_READABLE,
            map_only,
        )
        .note("even PROT_NONE: any file mapping needs an fd open for reading"),
        case(
            "open-rdwr-shared-rw",
            OpenMode::ReadWrite,
            rw,
            MAP_SHARED,
            &write_action,
            Expected::Ok(Some(shared_written.clone())),
            docs::SHARED_VISIBLE,
            write_then_file,
        ),
        case(
            "open-rdwr-shared-mprotect-rw",
            OpenMode::ReadWrite,
            PROT_READ,
            MAP_SHARED,
            &upgrade_action,
            Expected::Ok(Some(shared_written.clone())),
            docs::MPROTECT_CHANGES,
            upgrade_then_write,
        ),
        case(
            "open-rdwr-append-shared-rw",
            OpenMode::ReadWriteAppend,
            rw,
            MAP_SHARED,
            &write_action,
            Expected::Ok(Some(shared_written.clone())),
            docs::O_APPEND_IS_NOT_APPEND_ONLY,
            write_then_file,
        )
        .corner()
        .note("O_APPEND only moves write(2)'s offset; a store through the mapping lands in the middle of the file"),
        case(
            "open-wronly-append-shared-w",
            OpenMode::WriteOnlyAppend,
            PROT_WRITE,
            MAP_SHARED,
            "map",
            Expected::Errno("EACCES"),
            docs::EACCES_NOT_READABLE,
            map_only,
        ),
        case(
            "open-rdwr-append-private-rw",
            OpenMode::ReadWriteAppend,
            rw,
            MAP_PRIVATE,
            &write_action,
            Expected::Ok(Some(private_written.clone())),
            docs::PRIVATE_NOT_CARRIED,
            write_then_file,
        ),
        case(
            "append-only-file-shared-rw",
            OpenMode::ReadWriteAppend,
            rw,
            MAP_SHARED,
            "map (file has the append-only attribute, chattr +a)",
            Expected::Errno("EACCES"),
            docs::EACCES_APPEND_ONLY,
            map_only,
        )
        .append_only()
        .corner()
        .label("open_mode", "O_RDWR|O_APPEND, chattr +a"),
        case(
            "append-only-file-shared-r",
            OpenMode::ReadWriteAppend,
            PROT_READ,
            MAP_SHARED,
            "map, read (file has the append-only attribute, chattr +a)",
            Expected::Ok(Some(format!("read {original}"))),
            docs::EACCES_APPEND_ONLY,
            map_only,
        )
        .append_only()
        .corner()
        .note("the EACCES sentence names PROT_WRITE; the expectation follows it for a PROT_READ mapping")
        .label("open_mode", "O_RDWR|O_APPEND, chattr +a"),
        case(
            "append-only-file-private-rw",
            OpenMode::ReadWriteAppend,
            rw,
            MAP_PRIVATE,
            "map (file has the append-only attribute, chattr +a)",
            Expected::Errno("EACCES"),
            docs::EACCES_APPEND_ONLY,
            map_only,
        )
        .append_only()
        .corner()
        .note("the EACCES sentence names PROT_WRITE without MAP_SHARED; a private write never reaches the file")
        .label("open_mode", "O_RDWR|O_APPEND, chattr +a"),
    ]
}

/// The mapping types and the other flags.
fn flags(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let original = hex(plan.contents[PROBE_OFFSET]);
    let read_original = format!("read {original}");
    let rw = PROT_READ | PROT_WRITE;
    let ro = |prot: i32, flags: i32| Setup::file(OpenMode::ReadOnly, page, prot, flags);
    fn map_read(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        Ok(read_text(&mapping, PROBE_OFFSET))
    }
    fn page_equal(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        let n = mapping.length();
        let equal = (0..n)
            .filter(|&i| mapping.read(i) == env.contents[i])
            .count();
        Ok(format!("{equal} of {n} bytes equal the file's"))
    }
    fn child_writes_parent_reads(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        raw::in_forked_child(|| {
            mapping.write(0, WRITTEN);
            0
        })?;
        Ok(format!("parent reads {}", hex(mapping.read(0))))
    }
    let huge_expected = if plan.huge_pages_obtainable == 0 {
        (Expected::Errno("ENOMEM"), docs::HUGETLB_NO_POOL)
    } else {
        (
            Expected::Ok(Some(format!("wrote {}", hex(WRITTEN)))),
            docs::HUGETLB_WITH_POOL,
        )
    };
    let n_populate = 16;
    let storage = SyncStorage::of(&plan.data_dir_fs, plan.data_dir_dax, &read_original);
    vec![
        Case::new(
            "flags-no-type",
            FLAGS,
            ro(PROT_READ, 0),
            "map",
            Expected::Errno("EINVAL"),
            docs::FLAGS_NONE,
            &[],
            map_read,
        ),
        Case::new(
            "flags-shared-and-private",
            FLAGS,
            Setup::file(OpenMode::ReadWrite, page, rw, MAP_SHARED | MAP_PRIVATE)
                .flags_text("MAP_SHARED|MAP_PRIVATE"),
            format!("map, write {} at +{PROBE_OFFSET}, munmap, pread the file", hex(WRITTEN)),
            Expected::Errno("EINVAL"),
            docs::FLAGS_EXACTLY_ONE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                raw::unmap(mapping)?;
                Ok(format!(
                    "mapped; file {} after munmap",
                    file_byte_text(env, PROBE_OFFSET as u64)?
                ))
            },
        )
        .corner()
        .note("on Linux MAP_SHARED|MAP_PRIVATE is 0x3, the value of MAP_SHARED_VALIDATE: the kernel cannot tell 'both' from a validated shared mapping"),
        Case::new(
            "flags-validate-unknown-bit",
            FLAGS,
            ro(PROT_READ, raw::MAP_SHARED_VALIDATE | raw::MAP_UNKNOWN_BIT),
            "map",
            Expected::Errno("EOPNOTSUPP"),
            docs::VALIDATE_UNKNOWN,
            &[],
            map_read,
        ),
        Case::new(
            "flags-shared-unknown-bit",
            FLAGS,
            ro(PROT_READ, MAP_SHARED | raw::MAP_UNKNOWN_BIT),
            "map, read the byte at +64",
            Expected::Ok(Some(read_original.clone())),
            docs::SHARED_IGNORES_UNKNOWN,
            &[],
            map_read,
        ),
        Case::new(
            "flags-validate-known",
            FLAGS,
            ro(PROT_READ, raw::MAP_SHARED_VALIDATE),
            "map, read the byte at +64",
            Expected::Ok(Some(read_original.clone())),
            docs::VALIDATE_SAME,
            &[],
            map_read,
        ),
        Case::new(
            "flags-validate-sync",
            FLAGS,
            ro(PROT_READ, raw::MAP_SHARED_VALIDATE | raw::MAP_SYNC),
            format!("map the data file ({}), read the byte at +64", storage.what),
            storage.validate_sync.0.clone(),
            storage.validate_sync.1,
            &[],
            map_read,
        )
        .depends(storage.condition.clone())
        .scope(storage.scope.clone()),
        Case::new(
            "flags-shared-sync",
            FLAGS,
            ro(PROT_READ, MAP_SHARED | raw::MAP_SYNC),
            format!("map the data file ({}), read the byte at +64", storage.what),
            Expected::Ok(Some(read_original.clone())),
            docs::MAP_SYNC_SHARED_IGNORES,
            &[],
            map_read,
        )
        .depends(storage.condition.clone())
        .scope(storage.scope.clone()),
        Case::new(
            "flags-map-file-given",
            FLAGS,
            ro(PROT_READ, MAP_SHARED | raw::MAP_FILE).flags_text("MAP_SHARED|MAP_FILE"),
            "read the whole page, compare with the file",
            Expected::Ok(Some(format!("{page} of {page} bytes equal the file's"))),
            docs::MAP_FILE,
            &["S11"],
            page_equal,
        )
        .label("map_file", "given"),
        Case::new(
            "flags-map-file-omitted",
            FLAGS,
            ro(PROT_READ, MAP_SHARED),
            "read the whole page, compare with the file",
            Expected::Ok(Some(format!("{page} of {page} bytes equal the file's"))),
            docs::MAP_FILE,
            &["S11"],
            page_equal,
        )
        .label("map_file", "omitted"),
        Case::new(
            "anon-fd-minus-1",
            FLAGS,
            Setup::anonymous(4 * page, rw, MAP_PRIVATE),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!("all {} bytes zero: yes, pathname blank", 4 * page))),
            docs::ANONYMOUS_ZERO,
            &["S2"],
            zero_and_path,
        ),
        Case::new(
            "anon-with-real-fd",
            FLAGS,
            Setup::file(OpenMode::ReadOnly, 4 * page, rw, MAP_PRIVATE | MAP_ANONYMOUS),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!("all {} bytes zero: yes, pathname blank", 4 * page))),
            docs::ANONYMOUS_FD_IGNORED,
            &["S2"],
            zero_and_path,
        ),
        Case::new(
            "anon-shared-fork",
            FLAGS,
            Setup::anonymous(page, rw, MAP_SHARED),
            format!("fork; the child writes {} at +0 and exits; the parent reads +0", hex(WRITTEN)),
            Expected::Ok(Some(format!("parent reads {}", hex(WRITTEN)))),
            docs::SHARED_ACROSS_FORK,
            &["S10"],
            child_writes_parent_reads,
        ),
        Case::new(
            "anon-private-fork",
            FLAGS,
            Setup::anonymous(page, rw, MAP_PRIVATE),
            format!("fork; the child writes {} at +0 and exits; the parent reads +0", hex(WRITTEN)),
            Expected::Ok(Some("parent reads 0x00".to_string())),
            docs::PRIVATE_ACROSS_FORK,
            &[],
            child_writes_parent_reads,
        ),
        Case::new(
            "populate-anon",
            FLAGS,
            Setup::anonymous(n_populate * page, rw, MAP_PRIVATE | MAP_POPULATE),
            "mincore right after mmap; then write one byte per page, counting minor faults (getrusage)",
            Expected::Ok(Some(format!(
                "resident {n_populate}/{n_populate} before touch, 0 minor faults while writing"
            ))),
            docs::POPULATE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let n_pages = mapping.length() / env.page;
                let resident =
                    mmlab_core::pages::resident_pages(mapping.addr() as *const u8, mapping.length())
                        .map_err(|_| Failure {
                            call: "mincore",
                            errno: 0,
                        })?;
                let warm_up = Setup::anonymous(mapping.length(), PROT_READ | PROT_WRITE, MAP_PRIVATE);
                let (warm_up, _) = warm_up.map(env)?;
                let page = env.page;
                let faults = raw::faults_during(
                    |m| {
                        for p in 0..n_pages {
                            m.write(p * page, WRITTEN);
                        }
                    },
                    &warm_up,
                    &mapping,
                );
                Ok(format!(
                    "resident {resident}/{n_pages} before touch, {faults} minor faults while writing"
                ))
            },
        ),
        Case::new(
            "populate-file",
            FLAGS,
            Setup::file(
                OpenMode::ReadOnly,
                Plan::file_len(page),
                PROT_READ,
                MAP_SHARED | MAP_POPULATE,
            ),
            "read one byte per page, counting minor faults (getrusage)",
            Expected::Ok(Some("0 minor faults while reading 3 pages".to_string())),
            docs::POPULATE,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let n_pages = mapping.length().div_ceil(env.page);
                let plain = Setup::file(OpenMode::ReadOnly, mapping.length(), PROT_READ, MAP_SHARED);
                let (warm_up, _warm_fd) = plain.map(env)?;
                let page = env.page;
                let faults = raw::faults_during(
                    |m| {
                        for p in 0..n_pages {
                            std::hint::black_box(m.read(p * page));
                        }
                    },
                    &warm_up,
                    &mapping,
                );
                Ok(format!("{faults} minor faults while reading {n_pages} pages"))
            },
        ),
        Case::new(
            "hugetlb-no-reservation",
            FLAGS,
            Setup::anonymous(plan.huge_page_bytes, rw, MAP_PRIVATE | MAP_HUGETLB),
            format!(
                "map one huge page, write a byte ({})",
                plan.huge_pool_text
            ),
            huge_expected.0,
            huge_expected.1,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(0, WRITTEN);
                Ok(format!("wrote {}", hex(WRITTEN)))
            },
        )
        .note("huge pages for MAP_HUGETLB come from a pool the administrator reserves (vm.nr_hugepages); it is not the transparent huge pages of THP"),
    ]
}

/// The address argument: hint, MAP_FIXED, MAP_FIXED_NOREPLACE.
fn hint(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let anon = |flags: i32, hint: &str| {
        Setup::anonymous(page, PROT_READ | PROT_WRITE, MAP_PRIVATE | flags).hint(hint)
    };
    /// The middle of a free 16-page hole: where a NULL mmap would not go
    /// (top-down allocation takes the top of a hole).
    fn free_hint(page: usize) -> Result<usize, Failure> {
        Ok(free_range(page, 16)? + 8 * page)
    }
    fn placed(setup: &Setup, env: &CaseEnv, hint: usize) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map_at(env, hint)?;
        Ok(format!(
            "placed at the address: {}",
            yes_no(mapping.addr() == hint)
        ))
    }
    let min_hint = if plan.mmap_min_addr >= 2 * page {
        plan.mmap_min_addr - page
    } else {
        plan.mmap_min_addr / 2
    };
    let mmap_min_addr = plan.mmap_min_addr;
    let contents = &plan.contents;
    let partial_expected = format!(
        "pages read [{}, 0x00, {}]",
        hex(contents[PROBE_OFFSET]),
        hex(contents[2 * page + PROBE_OFFSET])
    );
    vec![
        Case::new(
            "hint-null",
            HINT,
            anon(0, "NULL"),
            "map, look at the address",
            Expected::Ok(Some("page-aligned: yes, non-zero: yes".to_string())),
            docs::HINT_NULL,
            &["S7"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let addr = mapping.addr();
                Ok(format!(
                    "page-aligned: {}, non-zero: {}",
                    yes_no(addr % env.page == 0),
                    yes_no(addr != 0)
                ))
            },
        ),
        Case::new(
            "hint-free",
            HINT,
            anon(0, "the middle of a free 16-page hole"),
            "map, compare the address with the hint",
            Expected::Ok(Some("placed at the address: yes".to_string())),
            docs::HINT_FREE,
            &["S7"],
            |setup, env| placed(setup, env, free_hint(env.page)?),
        ),
        Case::new(
            "hint-occupied",
            HINT,
            anon(0, "the address of an existing mapping"),
            format!(
                "map there without MAP_FIXED; read the old mapping (it holds {})",
                hex(WRITTEN)
            ),
            Expected::Ok(Some(format!(
                "placed at the address: no, old mapping reads {}",
                hex(WRITTEN)
            ))),
            docs::HINT_OCCUPIED,
            &["S7"],
            |setup, env| {
                let (old, _) = setup.map(env)?;
                old.write(0, WRITTEN);
                let (new, _fd) = setup.map_at(env, old.addr())?;
                Ok(format!(
                    "placed at the address: {}, old mapping reads {}",
                    yes_no(new.addr() == old.addr()),
                    hex(old.read(0))
                ))
            },
        ),
        Case::new(
            "hint-unaligned",
            HINT,
            anon(0, "a free address + 100 bytes"),
            "map, compare the address with the hint",
            Expected::Ok(Some(
                "a page boundary within one page of the hint: yes".to_string(),
            )),
            docs::HINT_FREE,
            &["S7"],
            |setup, env| {
                let hint = free_hint(env.page)? + 100;
                let (mapping, _fd) = setup.map_at(env, hint)?;
                let addr = mapping.addr();
                Ok(format!(
                    "a page boundary within one page of the hint: {}",
                    yes_no(addr % env.page == 0 && addr.abs_diff(hint) < env.page)
                ))
            },
        ),
        Case::new(
            "hint-below-mmap-min-addr",
            HINT,
            anon(
                0,
                &format!("{min_hint:#x}, below vm.mmap_min_addr = {mmap_min_addr}"),
            ),
            "map, compare the address with vm.mmap_min_addr",
            Expected::Ok(Some(format!(
                "address >= mmap_min_addr ({mmap_min_addr}): yes"
            ))),
            docs::HINT_MIN_ADDR,
            &["S7"],
            move |setup, env| {
                let (mapping, _fd) = setup.map_at(env, min_hint)?;
                Ok(format!(
                    "address >= mmap_min_addr ({mmap_min_addr}): {}",
                    yes_no(mapping.addr() >= mmap_min_addr)
                ))
            },
        ),
        Case::new(
            "fixed-replaces",
            HINT,
            anon(MAP_FIXED, "the address of a MAP_PRIVATE file mapping"),
            "map there with MAP_FIXED, read +64",
            Expected::Ok(Some("placed at the address: yes, reads 0x00".to_string())),
            docs::FIXED_REPLACES,
            &["S7"],
            move |setup, env| {
                let file = Setup::file(OpenMode::ReadOnly, env.page, PROT_READ, MAP_PRIVATE);
                let (old, _old_fd) = file.map(env)?;
                let (new, _fd) = setup.map_at(env, old.addr())?;
                Ok(format!(
                    "placed at the address: {}, reads {}",
                    yes_no(new.addr() == old.addr()),
                    hex(new.read(PROBE_OFFSET))
                ))
            },
        ),
        Case::new(
            "fixed-partial-overlap",
            HINT,
            anon(
                MAP_FIXED,
                "the 2nd page of a 3-page MAP_PRIVATE file mapping",
            ),
            "map one anonymous page there with MAP_FIXED; read +64 of each of the 3 pages",
            Expected::Ok(Some(partial_expected)),
            docs::FIXED_REPLACES,
            &["S7"],
            |setup, env| {
                let file = Setup::file(
                    OpenMode::ReadOnly,
                    Plan::file_len(env.page),
                    PROT_READ,
                    MAP_PRIVATE,
                );
                let (old, _old_fd) = file.map(env)?;
                setup.map_at(env, old.addr() + env.page)?;
                Ok(format!(
                    "pages read [{}, {}, {}]",
                    hex(old.read(PROBE_OFFSET)),
                    hex(old.read(env.page + PROBE_OFFSET)),
                    hex(old.read(2 * env.page + PROBE_OFFSET))
                ))
            },
        ),
        Case::new(
            "fixed-noreplace-used",
            HINT,
            anon(
                raw::MAP_FIXED_NOREPLACE,
                "the address of an existing mapping",
            ),
            "map there with MAP_FIXED_NOREPLACE",
            Expected::Errno("EEXIST"),
            docs::NOREPLACE_EEXIST,
            &["S7"],
            |setup, env| {
                let (old, _) = Setup::anonymous(env.page, PROT_READ, MAP_PRIVATE).map(env)?;
                let (new, _fd) = setup.map_at(env, old.addr())?;
                Ok(format!(
                    "placed at the address: {}",
                    yes_no(new.addr() == old.addr())
                ))
            },
        ),
        Case::new(
            "fixed-noreplace-free",
            HINT,
            anon(
                raw::MAP_FIXED_NOREPLACE,
                "the middle of a free 16-page hole",
            ),
            "map, compare the address",
            Expected::Ok(Some("placed at the address: yes".to_string())),
            docs::NOREPLACE_FREE,
            &["S7"],
            |setup, env| placed(setup, env, free_hint(env.page)?),
        ),
        Case::new(
            "fixed-unaligned",
            HINT,
            anon(MAP_FIXED, "a free address + 100 bytes"),
            "map",
            Expected::Errno("EINVAL"),
            docs::FIXED_ALIGNED,
            &["S7"],
            |setup, env| placed(setup, env, free_hint(env.page)? + 100),
        ),
    ]
}

/// The offset argument, the end of the file, and the length.
fn offset(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let file_len = Plan::file_len(page);
    let tail = file_len - 2 * page; // bytes of the file in its last page
    let past_eof = 200; // a byte past EOF, inside the last page
    let ro = |len: usize, flags: i32| Setup::file(OpenMode::ReadOnly, len, PROT_READ, flags);
    fn write_past_eof(setup: &Setup, env: &CaseEnv) -> Result<(), Failure> {
        let (mapping, _fd) = setup.map(env)?;
        mapping.write(2 * env.page + 200, WRITTEN);
        raw::sync(&mapping)?;
        raw::unmap(mapping)
    }
    vec![
        Case::new(
            "offset-aligned",
            OFFSET,
            ro(page, MAP_PRIVATE).offset(page as i64),
            format!("read the whole page, compare with the file's bytes at offset {page}"),
            Expected::Ok(Some(format!(
                "{page} of {page} bytes equal the file's bytes at offset {page}"
            ))),
            docs::OFFSET_MAPS_BYTES,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let base = setup.offset as usize;
                let n = mapping.length();
                let equal = (0..n)
                    .filter(|&i| mapping.read(i) == env.contents[base + i])
                    .count();
                Ok(format!(
                    "{equal} of {n} bytes equal the file's bytes at offset {base}"
                ))
            },
        ),
        Case::new(
            "offset-unaligned",
            OFFSET,
            ro(page, MAP_PRIVATE).offset(100),
            "map",
            Expected::Errno("EINVAL"),
            docs::OFFSET_ALIGNED,
            &["S12"],
            |setup, env| {
                setup.map(env)?;
                Ok("mapped".to_string())
            },
        ),
        Case::new(
            "offset-tail-zeroed",
            OFFSET,
            ro(file_len, MAP_SHARED),
            "read the last page: the file's bytes, then the rest of the page",
            Expected::Ok(Some(format!(
                "last page: {tail} bytes equal the file's, {} bytes after EOF zero",
                page - tail
            ))),
            docs::TAIL_ZEROED,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let start = 2 * env.page;
                let end_of_file = env.contents.len();
                let equal = (start..end_of_file)
                    .filter(|&i| mapping.read(i) == env.contents[i])
                    .count();
                let zero = (end_of_file..start + env.page)
                    .filter(|&i| mapping.read(i) == 0)
                    .count();
                Ok(format!(
                    "last page: {equal} bytes equal the file's, {zero} bytes after EOF zero"
                ))
            },
        ),
        Case::new(
            "offset-page-past-eof",
            OFFSET,
            ro(4 * page, MAP_SHARED),
            "read the first byte of the 4th page (the file ends in the 3rd)",
            Expected::Signal("SIGBUS", None),
            docs::SIGBUS_PAST_EOF,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, 3 * env.page))
            },
        ),
        Case::new(
            "offset-beyond-eof",
            OFFSET,
            ro(page, MAP_SHARED).offset(4 * page as i64),
            "map (the offset lies past the end of the file), read the first byte",
            Expected::Signal("SIGBUS", None),
            docs::SIGBUS_PAST_EOF,
            &["S12"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, 0))
            },
        )
        .note("mmap itself does not fail: POSIX allows ENXIO here, Linux's page lists no error; the access pays"),
        Case::new(
            "offset-tail-write-not-in-file",
            OFFSET,
            Setup::file(OpenMode::ReadWrite, file_len, PROT_READ | PROT_WRITE, MAP_SHARED),
            format!(
                "write {} {} bytes past EOF (in the last page), msync, munmap; stat and pread the file there",
                hex(WRITTEN),
                past_eof - tail
            ),
            Expected::Ok(Some(format!(
                "file size {file_len}, pread past EOF returns nothing"
            ))),
            docs::TAIL_ZEROED,
            &["S12"],
            |setup, env| {
                write_past_eof(setup, env)?;
                let size = std::fs::metadata(&env.file)
                    .map_err(|e| failure("stat", e))?
                    .len();
                let byte = file_byte(env, (2 * env.page + 200) as u64)?;
                Ok(format!(
                    "file size {size}, pread past EOF returns {}",
                    byte.map_or("nothing".to_string(), hex)
                ))
            },
        ),
        Case::new(
            "offset-tail-write-next-mapping",
            OFFSET,
            Setup::file(OpenMode::ReadWrite, file_len, PROT_READ | PROT_WRITE, MAP_SHARED),
            format!(
                "write {} past EOF in the last page, msync, munmap; map the file again and read that byte",
                hex(WRITTEN)
            ),
            Expected::OneOf(vec![
                "next mapping reads 0x00".to_string(),
                format!("next mapping reads {}", hex(WRITTEN)),
            ]),
            docs::TAIL_NEXT_MAPPING,
            &["S12"],
            |setup, env| {
                write_past_eof(setup, env)?;
                let (again, _fd) = setup.map(env)?;
                Ok(format!("next mapping reads {}", hex(again.read(2 * env.page + 200))))
            },
        )
        .corner(),
        Case::new(
            "len-zero",
            OFFSET,
            ro(0, MAP_PRIVATE),
            "map",
            Expected::Errno("EINVAL"),
            docs::LEN_ZERO,
            &[],
            |setup, env| {
                setup.map(env)?;
                Ok("mapped".to_string())
            },
        ),
        Case::new(
            "len-not-page-multiple",
            OFFSET,
            ro(100, MAP_PRIVATE),
            "read the byte at +4000 (past len, in the same page)",
            Expected::Ok(Some(format!("read {}", hex(plan.contents[4000.min(page - 1)])))),
            docs::PAGE_MULTIPLES,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                Ok(read_text(&mapping, 4000.min(env.page - 1)))
            },
        ),
    ]
}

/// MAP_SHARED visibility (and MAP_PRIVATE for contrast).
fn sharing(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let original = hex(plan.contents[PROBE_OFFSET]);
    let written = hex(WRITTEN);
    let rw = PROT_READ | PROT_WRITE;
    let shared_rw = || Setup::file(OpenMode::ReadWrite, page, rw, MAP_SHARED);
    let private_rw = || Setup::file(OpenMode::ReadWrite, page, rw, MAP_PRIVATE);
    fn child_writes_parent_reads(setup: &Setup, env: &CaseEnv) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        raw::in_forked_child(|| {
            mapping.write(PROBE_OFFSET, WRITTEN);
            0
        })?;
        Ok(format!("parent reads {}", hex(mapping.read(PROBE_OFFSET))))
    }
    /// Writes through the mapping, runs `then`, and reports the file's byte.
    fn write_then_pread(
        setup: &Setup,
        env: &CaseEnv,
        then: fn(Mapping) -> Result<(), Failure>,
        when: &str,
    ) -> Result<Value, Failure> {
        let (mapping, _fd) = setup.map(env)?;
        mapping.write(PROBE_OFFSET, WRITTEN);
        then(mapping)?;
        Ok(format!(
            "file {} {when}",
            file_byte_text(env, PROBE_OFFSET as u64)?
        ))
    }
    /// Writes the byte into the file with pwrite(2) through another fd.
    fn pwrite_byte(env: &CaseEnv) -> Result<(), Failure> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&env.file)
            .map_err(|e| failure("open", e))?;
        file.write_at(&[WRITTEN], PROBE_OFFSET as u64)
            .map_err(|e| failure("pwrite", e))?;
        Ok(())
    }
    vec![
        Case::new(
            "shared-fork-child-writes",
            SHARING,
            shared_rw(),
            format!("fork; the child writes {written} at +64 and exits; the parent reads +64"),
            Expected::Ok(Some(format!("parent reads {written}"))),
            docs::SHARED_ACROSS_FORK,
            &["S10"],
            child_writes_parent_reads,
        ),
        Case::new(
            "shared-other-process-own-mapping",
            SHARING,
            shared_rw(),
            format!(
                "write {written} at +64; a forked child opens and maps the file itself (O_RDONLY, MAP_SHARED) and reads +64"
            ),
            Expected::Ok(Some(format!("other process's mapping reads {written}"))),
            docs::SHARED_VISIBLE,
            &["S10"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                mapping.write(PROBE_OFFSET, WRITTEN);
                let seen = raw::in_forked_child(|| {
                    let reader = Setup::file(OpenMode::ReadOnly, env.page, PROT_READ, MAP_SHARED);
                    match reader.map(env) {
                        Ok((other, _fd)) => other.read(PROBE_OFFSET),
                        Err(_) => 0,
                    }
                })?;
                Ok(format!("other process's mapping reads {}", hex(seen)))
            },
        ),
        Case::new(
            "shared-second-mapping",
            SHARING,
            shared_rw(),
            format!("map the file twice; write {written} at +64 through the first, read through the second"),
            Expected::Ok(Some(format!("second mapping reads {written}"))),
            docs::SHARED_VISIBLE,
            &["S10"],
            |setup, env| {
                let (first, _fd) = setup.map(env)?;
                let (second, _fd2) = setup.map(env)?;
                first.write(PROBE_OFFSET, WRITTEN);
                Ok(format!("second mapping reads {}", hex(second.read(PROBE_OFFSET))))
            },
        ),
        Case::new(
            "shared-file-before-msync",
            SHARING,
            shared_rw(),
            format!("write {written} at +64, then pread the file at once (no msync)"),
            Expected::OneOf(vec![
                format!("file {written} before msync"),
                format!("file {original} before msync"),
            ]),
            docs::SHARED_BEFORE_MSYNC,
            &["S10"],
            |setup, env| write_then_pread(setup, env, |_| Ok(()), "before msync"),
        )
        .corner()
        .note("read(2) and the mapping share one page-cache page on Linux: what 'eventually' means for other readers of the file"),
        Case::new(
            "shared-file-after-msync",
            SHARING,
            shared_rw(),
            format!("write {written} at +64, msync(MS_SYNC), pread the file"),
            Expected::Ok(Some(format!("file {written} after msync"))),
            docs::MSYNC_FLUSHES,
            &["S10"],
            |setup, env| write_then_pread(setup, env, |m| raw::sync(&m), "after msync"),
        ),
        Case::new(
            "shared-file-after-munmap",
            SHARING,
            shared_rw(),
            format!("write {written} at +64, munmap, pread the file"),
            Expected::Ok(Some(format!("file {written} after munmap"))),
            docs::AFTER_MUNMAP,
            &["S10"],
            |setup, env| write_then_pread(setup, env, raw::unmap, "after munmap"),
        ),
        Case::new(
            "shared-sees-pwrite",
            SHARING,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ, MAP_SHARED),
            format!("read +64 (fault it in); pwrite {written} there through another fd; read +64 again"),
            Expected::OneOf(vec![
                format!("mapping reads {written}"),
                format!("mapping reads {original}"),
            ]),
            docs::WRITE_TO_SHARED_SILENT,
            &["S10"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                std::hint::black_box(mapping.read(PROBE_OFFSET));
                pwrite_byte(env)?;
                Ok(format!("mapping reads {}", hex(mapping.read(PROBE_OFFSET))))
            },
        )
        .corner(),
        Case::new(
            "private-fork-child-writes",
            SHARING,
            private_rw(),
            format!("fork; the child writes {written} at +64 and exits; the parent reads +64"),
            Expected::Ok(Some(format!("parent reads {original}"))),
            docs::PRIVATE_ACROSS_FORK,
            &[],
            child_writes_parent_reads,
        ),
        Case::new(
            "private-sees-later-pwrite",
            SHARING,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ, MAP_PRIVATE),
            format!("read +64 (fault it in); pwrite {written} there through another fd; read +64 again"),
            Expected::OneOf(vec![
                format!("mapping reads {written}"),
                format!("mapping reads {original}"),
            ]),
            docs::PRIVATE_UNSPECIFIED,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                std::hint::black_box(mapping.read(PROBE_OFFSET));
                pwrite_byte(env)?;
                Ok(format!("mapping reads {}", hex(mapping.read(PROBE_OFFSET))))
            },
        )
        .corner()
        .note("until the process writes to the page, a MAP_PRIVATE page is the page-cache page itself"),
    ]
}

/// What backs a mapping: the file's bytes and path, or nothing.
fn backing(plan: &Plan) -> Vec<Case> {
    let page = plan.page;
    let file_len = Plan::file_len(page);
    let original = hex(plan.contents[PROBE_OFFSET]);
    let rw = PROT_READ | PROT_WRITE;
    vec![
        Case::new(
            "file-bytes-equal",
            BACKING,
            Setup::file(OpenMode::ReadOnly, file_len, PROT_READ, MAP_SHARED),
            "read every byte of the mapping's file part, compare with the file",
            Expected::Ok(Some(format!("{file_len} of {file_len} bytes equal the file's"))),
            docs::OFFSET_MAPS_BYTES,
            &["S1"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let n = env.contents.len();
                let equal = (0..n).filter(|&i| mapping.read(i) == env.contents[i]).count();
                Ok(format!("{equal} of {n} bytes equal the file's"))
            },
        ),
        Case::new(
            "file-path-in-maps",
            BACKING,
            Setup::file(OpenMode::ReadOnly, file_len, PROT_READ, MAP_SHARED),
            "find the mapping's line in /proc/self/maps",
            Expected::Ok(Some("pathname is the file's path".to_string())),
            docs::FILE_IN_MAPS,
            &["S1"],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let path = pathname_text(mapping.addr());
                Ok(if std::path::Path::new(&path) == env.file {
                    "pathname is the file's path".to_string()
                } else {
                    format!("pathname {path}")
                })
            },
        ),
        Case::new(
            "file-fd-closed",
            BACKING,
            Setup::file(OpenMode::ReadOnly, page, PROT_READ, MAP_SHARED),
            "close the fd right after mmap, then read +64",
            Expected::Ok(Some(format!("read {original}"))),
            docs::FD_CLOSE,
            &["S1"],
            |setup, env| {
                let (mapping, fd) = setup.map(env)?;
                drop(fd);
                Ok(read_text(&mapping, PROBE_OFFSET))
            },
        ),
        Case::new(
            "anon-private-zero-blank",
            BACKING,
            Setup::anonymous(4 * page, rw, MAP_PRIVATE),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!("all {} bytes zero: yes, pathname blank", 4 * page))),
            docs::ANONYMOUS_ZERO,
            &["S2"],
            zero_and_path,
        ),
        Case::new(
            "anon-shared-zero-blank",
            BACKING,
            Setup::anonymous(4 * page, rw, MAP_SHARED),
            "read every byte; find the mapping in /proc/self/maps",
            Expected::Ok(Some(format!("all {} bytes zero: yes, pathname blank", 4 * page))),
            docs::ANONYMOUS_ZERO,
            &["S2"],
            zero_and_path,
        )
        .corner()
        .note("Linux backs shared anonymous memory with a hidden shmem file, and /proc/self/maps may name it"),
        Case::new(
            "munmap-then-read",
            BACKING,
            Setup::anonymous(page, rw, MAP_PRIVATE),
            "munmap, then read the old address",
            Expected::Signal("SIGSEGV", Some("SEGV_MAPERR")),
            docs::MUNMAP_INVALID,
            &[],
            |setup, env| {
                let (mapping, _fd) = setup.map(env)?;
                let addr = mapping.addr();
                raw::unmap(mapping)?;
                // SAFETY: a probe child reading a range it just unmapped; it
                // holds no Rust object, and the fault is the observation.
                let byte = unsafe { raw::read_raw(addr) };
                Ok(format!("read {}", hex(byte)))
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(arch: &'static str, keys: Option<bool>, fs: &str, dax: Option<bool>) -> Plan {
        let page = 4096;
        Plan {
            page,
            contents: Plan::contents_for(page),
            huge_page_bytes: 2 << 20,
            huge_pages_obtainable: 0,
            huge_pool_text: String::new(),
            mmap_min_addr: 65536,
            arch,
            protection_keys: keys,
            data_dir_fs: fs.to_string(),
            data_dir_dax: dax,
            is_root: true,
            uid: 0,
            tmpfs_reason: None,
            max_map_count: Some(65530),
            memlock_limit: Some(8 << 20),
            stack_guard_gap: None,
            la57: Some(false),
            anon_mthp: "none".to_string(),
        }
    }

    fn case<'a>(cases: &'a [Case], id: &str) -> &'a Case {
        cases.iter().find(|c| c.id == id).expect(id)
    }

    #[test]
    fn exec_only_expectations_follow_the_protection_keys() {
        let byte = hex(plan("x86_64", None, "ext4", None).contents[PROBE_OFFSET]);
        let with = all(&plan("x86_64", Some(true), "ext4", None));
        for id in ["prot-x-read", "prot-x-write"] {
            let c = case(&with, id);
            assert_eq!(
                c.expected,
                Expected::Signal("SIGSEGV", Some("SEGV_PKUERR")),
                "{id}"
            );
            assert_eq!(c.source, docs::EXEC_ONLY_PKEYS);
            assert!(c.documented_variation.is_none());
            assert!(c.setup_text(100).contains("protection keys"), "{id}");
        }
        let without = all(&plan("x86_64", Some(false), "ext4", None));
        assert_eq!(
            case(&without, "prot-x-read").expected,
            Expected::Ok(Some(format!("read {byte}")))
        );
        assert_eq!(
            case(&without, "prot-x-write").expected,
            Expected::Signal("SIGSEGV", Some("SEGV_ACCERR"))
        );
        let other = all(&plan("riscv64", None, "ext4", None));
        let c = case(&other, "prot-x-read");
        assert_eq!(c.expected, Expected::Signal("SIGSEGV", Some("SEGV_ACCERR")));
        assert_eq!(c.documented_variation, Some(docs::EXEC_VS_READ));
        // Cases that do not touch an exec-only page name no CPU condition.
        assert!(case(&with, "prot-r-read").depends_on.is_empty());
    }

    #[test]
    fn map_sync_expectations_name_the_filesystem() {
        let ext4 = all(&plan("x86_64", Some(true), "ext4", Some(false)));
        let c = case(&ext4, "flags-validate-sync");
        assert_eq!(c.expected, Expected::Errno("EOPNOTSUPP"));
        assert!(c.setup_text(100).contains("ext4"));
        assert_eq!(c.scope.as_deref(), Some("on ext4"));
        let shared = case(&ext4, "flags-shared-sync");
        assert!(matches!(shared.expected, Expected::Ok(_)));
        assert_eq!(shared.scope.as_deref(), Some("on ext4"));
        let dax = all(&plan("x86_64", Some(true), "xfs", Some(true)));
        assert!(matches!(
            case(&dax, "flags-validate-sync").expected,
            Expected::Ok(_)
        ));
    }
}
