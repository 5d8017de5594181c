//! The system calls the tracer knows by name (numbers from `libc::SYS_*`
//! for the build's architecture, x86_64 or aarch64), how each argument is decoded, and the named sets a user
//! picks with `-e`: `memory` (the calls `strace -e trace=memory` shows),
//! `file-io` and `default` (the memory family plus file I/O).

use std::collections::BTreeSet;

/// How one argument (or a return value) is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// An address: `NULL` or `0x7f...`.
    Addr,
    /// A byte count: `1974096 (1.9 MiB)`.
    Size,
    /// A file offset in bytes: `0x26000 (152 KiB)`.
    Offset,
    /// `PROT_READ|PROT_EXEC`.
    Prot,
    /// `MAP_PRIVATE|MAP_ANONYMOUS`.
    MapFlags,
    /// A file descriptor, resolved to its path: `3</usr/lib/libc.so.6>`.
    Fd,
    /// A directory descriptor for the `*at` calls: `AT_FDCWD` or an fd.
    DirFd,
    /// A NUL-terminated path read from the traced process.
    Path,
    /// `O_RDONLY|O_CLOEXEC`.
    OpenFlags,
    /// File mode in octal: `0644`.
    Mode,
    /// A user buffer the call fills in (shown as its address).
    OutBuf,
    /// A user buffer the call reads: the first bytes as a quoted string,
    /// its length taken from the next argument.
    InBuf,
    /// `MADV_DONTNEED`.
    Advice,
    /// `MS_SYNC|MS_INVALIDATE`.
    MsyncFlags,
    /// `MREMAP_MAYMOVE`.
    MremapFlags,
    /// `MCL_CURRENT|MCL_FUTURE`.
    MlockallFlags,
    /// `MLOCK_ONFAULT`.
    MlockFlags,
    /// `AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW`.
    AtFlags,
    /// `SEEK_SET`.
    Whence,
    /// A signed decimal integer.
    Int,
    /// An unsigned number in hex (masks, opaque values).
    Hex,
}

/// One known system call: its number, name, arguments and the kind of its
/// return value.
#[derive(Debug, Clone, Copy)]
pub struct SyscallDef {
    pub number: i64,
    pub name: &'static str,
    /// Argument names (the JSON keys) and kinds, in order.
    pub args: &'static [(&'static str, ArgKind)],
    /// How the return value is shown: `Addr` (mmap, brk), `Fd` (openat),
    /// `Size` (read, write) or `Int`.
    pub returns: ArgKind,
    pub memory: bool,
    pub file_io: bool,
}

use ArgKind::*;

macro_rules! def {
    ($nr:expr, $name:literal, [$(($arg:literal, $kind:expr)),* $(,)?], $ret:expr, $memory:expr, $file:expr) => {
        SyscallDef {
            number: $nr,
            name: $name,
            args: &[$(($arg, $kind)),*],
            returns: $ret,
            memory: $memory,
            file_io: $file,
        }
    };
}

/// Every call the tracer can name on both architectures (see also
/// [`ARCH_SYSCALLS`]). `memory` marks the calls strace's
/// `trace=memory` class holds (strace's `TM` flag), `file_io` the file I/O
/// family of `mmlab trace`'s default set.
#[rustfmt::skip]
pub const SYSCALLS: &[SyscallDef] = &[
    // The memory family.
    def!(libc::SYS_mmap, "mmap", [("addr", Addr), ("len_bytes", Size), ("prot", Prot), ("flags", MapFlags), ("fd", Fd), ("offset_bytes", Offset)], Addr, true, false),
    def!(libc::SYS_munmap, "munmap", [("addr", Addr), ("len_bytes", Size)], Int, true, false),
    def!(libc::SYS_mprotect, "mprotect", [("addr", Addr), ("len_bytes", Size), ("prot", Prot)], Int, true, false),
    def!(libc::SYS_madvise, "madvise", [("addr", Addr), ("len_bytes", Size), ("advice", Advice)], Int, true, false),
    def!(libc::SYS_mremap, "mremap", [("old_addr", Addr), ("old_len_bytes", Size), ("new_len_bytes", Size), ("flags", MremapFlags), ("new_addr", Addr)], Addr, true, false),
    def!(libc::SYS_msync, "msync", [("addr", Addr), ("len_bytes", Size), ("flags", MsyncFlags)], Int, true, false),
    def!(libc::SYS_brk, "brk", [("addr", Addr)], Addr, true, false),
    def!(libc::SYS_mlock, "mlock", [("addr", Addr), ("len_bytes", Size)], Int, true, false),
    def!(libc::SYS_munlock, "munlock", [("addr", Addr), ("len_bytes", Size)], Int, true, false),
    def!(libc::SYS_mlock2, "mlock2", [("addr", Addr), ("len_bytes", Size), ("flags", MlockFlags)], Int, true, false),
    def!(libc::SYS_mlockall, "mlockall", [("flags", MlockallFlags)], Int, true, false),
    def!(libc::SYS_munlockall, "munlockall", [], Int, true, false),
    def!(libc::SYS_mincore, "mincore", [("addr", Addr), ("len_bytes", Size), ("vec", OutBuf)], Int, true, false),
    def!(libc::SYS_pkey_mprotect, "pkey_mprotect", [("addr", Addr), ("len_bytes", Size), ("prot", Prot), ("pkey", Int)], Int, true, false),
    def!(libc::SYS_remap_file_pages, "remap_file_pages", [("addr", Addr), ("size_bytes", Size), ("prot", Prot), ("pgoff", Int), ("flags", MapFlags)], Int, true, false),
    def!(libc::SYS_shmat, "shmat", [("shmid", Int), ("addr", Addr), ("flags", Hex)], Addr, true, false),
    def!(libc::SYS_shmdt, "shmdt", [("addr", Addr)], Int, true, false),
    def!(libc::SYS_io_setup, "io_setup", [("nr_events", Int), ("ctx", OutBuf)], Int, true, false),
    def!(libc::SYS_io_destroy, "io_destroy", [("ctx", Hex)], Int, true, false),
    def!(libc::SYS_mbind, "mbind", [("addr", Addr), ("len_bytes", Size), ("mode", Int), ("nodemask", Addr), ("maxnode", Int), ("flags", Hex)], Int, true, false),
    def!(libc::SYS_set_mempolicy, "set_mempolicy", [("mode", Int), ("nodemask", Addr), ("maxnode", Int)], Int, true, false),
    def!(libc::SYS_get_mempolicy, "get_mempolicy", [("mode", OutBuf), ("nodemask", OutBuf), ("maxnode", Int), ("addr", Addr), ("flags", Hex)], Int, true, false),
    def!(libc::SYS_migrate_pages, "migrate_pages", [("pid", Int), ("maxnode", Int), ("old_nodes", Addr), ("new_nodes", Addr)], Int, true, false),
    def!(libc::SYS_move_pages, "move_pages", [("pid", Int), ("count", Int), ("pages", Addr), ("nodes", Addr), ("status", OutBuf), ("flags", Hex)], Int, true, false),
    def!(450, "set_mempolicy_home_node", [("start", Addr), ("len_bytes", Size), ("home_node", Int), ("flags", Hex)], Int, true, false),
    def!(453, "map_shadow_stack", [("addr", Addr), ("size_bytes", Size), ("flags", Hex)], Addr, true, false),
    def!(462, "mseal", [("addr", Addr), ("len_bytes", Size), ("flags", Hex)], Int, true, false),
    // File I/O.
    def!(libc::SYS_openat, "openat", [("dirfd", DirFd), ("path", Path), ("flags", OpenFlags), ("mode", Mode)], Fd, false, true),
    def!(libc::SYS_read, "read", [("fd", Fd), ("buf", OutBuf), ("count_bytes", Size)], Size, false, true),
    def!(libc::SYS_pread64, "pread64", [("fd", Fd), ("buf", OutBuf), ("count_bytes", Size), ("offset_bytes", Offset)], Size, false, true),
    def!(libc::SYS_write, "write", [("fd", Fd), ("buf", InBuf), ("count_bytes", Size)], Size, false, true),
    def!(libc::SYS_pwrite64, "pwrite64", [("fd", Fd), ("buf", InBuf), ("count_bytes", Size), ("offset_bytes", Offset)], Size, false, true),
    def!(libc::SYS_close, "close", [("fd", Fd)], Int, false, true),
    def!(libc::SYS_fstat, "fstat", [("fd", Fd), ("statbuf", OutBuf)], Int, false, true),
    // glibc's fstat() is newfstatat(fd, "", buf, AT_EMPTY_PATH) since 2.33,
    // and Rust's metadata() is statx: without these two, "fstat" would
    // never show.
    def!(libc::SYS_newfstatat, "newfstatat", [("dirfd", DirFd), ("path", Path), ("statbuf", OutBuf), ("flags", AtFlags)], Int, false, true),
    def!(libc::SYS_statx, "statx", [("dirfd", DirFd), ("path", Path), ("flags", AtFlags), ("mask", Hex), ("statxbuf", OutBuf)], Int, false, true),
    // Known by name for -e, in no default set.
    def!(libc::SYS_lseek, "lseek", [("fd", Fd), ("offset_bytes", Int), ("whence", Whence)], Int, false, false),
    def!(libc::SYS_readv, "readv", [("fd", Fd), ("iov", Addr), ("iovcnt", Int)], Size, false, false),
    def!(libc::SYS_writev, "writev", [("fd", Fd), ("iov", Addr), ("iovcnt", Int)], Size, false, false),
    def!(libc::SYS_fadvise64, "fadvise64", [("fd", Fd), ("offset_bytes", Offset), ("len_bytes", Size), ("advice", Int)], Int, false, false),
    def!(libc::SYS_readahead, "readahead", [("fd", Fd), ("offset_bytes", Offset), ("count_bytes", Size)], Int, false, false),
    def!(libc::SYS_ftruncate, "ftruncate", [("fd", Fd), ("length_bytes", Size)], Int, false, false),
    def!(libc::SYS_fallocate, "fallocate", [("fd", Fd), ("mode", Hex), ("offset_bytes", Offset), ("len_bytes", Size)], Int, false, false),
    def!(libc::SYS_sendfile, "sendfile", [("out_fd", Fd), ("in_fd", Fd), ("offset", Addr), ("count_bytes", Size)], Size, false, false),
    def!(libc::SYS_copy_file_range, "copy_file_range", [("fd_in", Fd), ("off_in", Addr), ("fd_out", Fd), ("off_out", Addr), ("len_bytes", Size), ("flags", Hex)], Size, false, false),
    def!(libc::SYS_splice, "splice", [("fd_in", Fd), ("off_in", Addr), ("fd_out", Fd), ("off_out", Addr), ("len_bytes", Size), ("flags", Hex)], Size, false, false),
    def!(libc::SYS_fsync, "fsync", [("fd", Fd)], Int, false, false),
    def!(libc::SYS_fdatasync, "fdatasync", [("fd", Fd)], Int, false, false),
    def!(libc::SYS_dup, "dup", [("fd", Fd)], Fd, false, false),
    def!(libc::SYS_dup3, "dup3", [("oldfd", Fd), ("newfd", Int), ("flags", OpenFlags)], Fd, false, false),
    def!(libc::SYS_memfd_create, "memfd_create", [("name", Path), ("flags", Hex)], Fd, false, false),
    def!(libc::SYS_execve, "execve", [("path", Path), ("argv", Addr), ("envp", Addr)], Int, false, false),
    def!(libc::SYS_clone, "clone", [("flags", Hex), ("stack", Addr), ("parent_tid", Addr), ("child_tid", Addr), ("tls", Hex)], Int, false, false),
    def!(libc::SYS_clone3, "clone3", [("args", Addr), ("size", Int)], Int, false, false),
    def!(libc::SYS_wait4, "wait4", [("pid", Int), ("wstatus", OutBuf), ("options", Hex), ("rusage", OutBuf)], Int, false, false),
    def!(libc::SYS_exit_group, "exit_group", [("status", Int)], Int, false, false),
    def!(libc::SYS_getpid, "getpid", [], Int, false, false),
    def!(libc::SYS_getrandom, "getrandom", [("buf", OutBuf), ("count_bytes", Size), ("flags", Hex)], Size, false, false),
    def!(libc::SYS_sigaltstack, "sigaltstack", [("ss", Addr), ("old_ss", OutBuf)], Int, false, false),
    def!(libc::SYS_ioctl, "ioctl", [("fd", Fd), ("request", Hex), ("arg", Hex)], Int, false, false),
    def!(libc::SYS_futex, "futex", [("uaddr", Addr), ("op", Int), ("val", Int), ("timeout", Addr), ("uaddr2", Addr), ("val3", Int)], Int, false, false),
];

/// Calls that exist on x86_64 only (aarch64 has only the `*at`, `dup3` and
/// `clone` forms, and no `arch_prctl`).
#[cfg(target_arch = "x86_64")]
#[rustfmt::skip]
pub const ARCH_SYSCALLS: &[SyscallDef] = &[
    def!(libc::SYS_open, "open", [("path", Path), ("flags", OpenFlags), ("mode", Mode)], Fd, false, true),
    def!(libc::SYS_dup2, "dup2", [("oldfd", Fd), ("newfd", Int)], Fd, false, false),
    def!(libc::SYS_fork, "fork", [], Int, false, false),
    def!(libc::SYS_vfork, "vfork", [], Int, false, false),
    def!(libc::SYS_arch_prctl, "arch_prctl", [("code", Hex), ("addr", Addr)], Int, false, false),
];

/// Calls that exist on x86_64 only: none of them on aarch64.
#[cfg(not(target_arch = "x86_64"))]
pub const ARCH_SYSCALLS: &[SyscallDef] = &[];

/// Every call the tracer knows on the architecture of this build.
pub fn known() -> impl Iterator<Item = &'static SyscallDef> {
    SYSCALLS.iter().chain(ARCH_SYSCALLS)
}

/// The known call with this number.
pub fn by_number(number: i64) -> Option<&'static SyscallDef> {
    known().find(|d| d.number == number)
}

/// The known call with this name.
pub fn by_name(name: &str) -> Option<&'static SyscallDef> {
    known().find(|d| d.name == name)
}

/// The names of `mmlab trace`'s default set, in the order of the issue:
/// the memory family (mmap, munmap, mprotect, madvise, mremap, msync, brk,
/// mlock) and file I/O (openat, read, pread64, write, close, fstat and the
/// two calls fstat is made of today, newfstatat and statx).
pub const DEFAULT_NAMES: &[&str] = &[
    "mmap",
    "munmap",
    "mprotect",
    "madvise",
    "mremap",
    "msync",
    "brk",
    "mlock",
    "openat",
    "open",
    "read",
    "pread64",
    "write",
    "close",
    "fstat",
    "newfstatat",
    "statx",
];

/// A set of calls to record, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    numbers: BTreeSet<i64>,
}

/// A `-e` list that names something unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "-e {input:?}: unknown system call or set {unknown:?}; write a comma-separated list of names \
     (mmap,munmap,...) or the sets memory, file-io, default, all"
)]
pub struct SelectionError {
    pub input: String,
    pub unknown: String,
}

impl Selection {
    /// The default set (see [`DEFAULT_NAMES`]).
    pub fn default_set() -> Selection {
        Selection {
            numbers: DEFAULT_NAMES
                .iter()
                .filter_map(|name| by_name(name))
                .map(|d| d.number)
                .collect(),
        }
    }

    /// strace's `trace=memory` class.
    pub fn memory() -> Selection {
        Selection {
            numbers: known().filter(|d| d.memory).map(|d| d.number).collect(),
        }
    }

    /// No call at all: the tracer still stops at every call (this is what
    /// ptrace costs) but records nothing.
    pub fn none() -> Selection {
        Selection {
            numbers: BTreeSet::new(),
        }
    }

    /// Parses a `-e` list: names and sets separated by commas, e.g.
    /// `memory,openat` or `trace=mmap,munmap` (strace's spelling).
    pub fn parse(input: &str) -> Result<Selection, SelectionError> {
        let text = input.trim();
        let text = text.strip_prefix("trace=").unwrap_or(text);
        let mut numbers = BTreeSet::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let item = item.strip_prefix('%').unwrap_or(item);
            match item {
                "memory" => numbers.extend(Selection::memory().numbers),
                "file-io" | "file_io" => {
                    numbers.extend(known().filter(|d| d.file_io).map(|d| d.number))
                }
                "default" => numbers.extend(Selection::default_set().numbers),
                "all" => numbers.extend(known().map(|d| d.number)),
                name => match by_name(name) {
                    Some(def) => {
                        numbers.insert(def.number);
                    }
                    None => {
                        return Err(SelectionError {
                            input: input.to_string(),
                            unknown: name.to_string(),
                        });
                    }
                },
            }
        }
        if numbers.is_empty() {
            return Err(SelectionError {
                input: input.to_string(),
                unknown: String::new(),
            });
        }
        Ok(Selection { numbers })
    }

    pub fn contains(&self, number: i64) -> bool {
        self.numbers.contains(&number)
    }

    /// The names in the set, by number.
    pub fn names(&self) -> Vec<&'static str> {
        self.numbers
            .iter()
            .filter_map(|n| by_number(*n))
            .map(|d| d.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_are_unique() {
        let numbers: BTreeSet<i64> = SYSCALLS.iter().map(|d| d.number).collect();
        let names: BTreeSet<&str> = SYSCALLS.iter().map(|d| d.name).collect();
        assert_eq!(numbers.len(), SYSCALLS.len());
        assert_eq!(names.len(), SYSCALLS.len());
        for name in DEFAULT_NAMES {
            assert!(
                by_name(name).is_some(),
                "{name} is in the default set but not known"
            );
        }
    }

    #[test]
    fn parses_sets_and_names() {
        let check = |input: &str, expected: &[&str]| {
            let mut names = Selection::parse(input).unwrap().names();
            names.sort_unstable();
            let mut expected = expected.to_vec();
            expected.sort_unstable();
            assert_eq!(names, expected, "-e {input}");
        };
        check("mmap", &["mmap"]);
        check("trace=mmap, munmap", &["mmap", "munmap"]);
        check("%memory", &Selection::memory().names());
        check("memory,openat", &{
            let mut v = Selection::memory().names();
            v.push("openat");
            v
        });
        assert!(Selection::parse("mmap,nosuchcall").is_err());
        assert!(Selection::parse("").is_err());
    }
}
