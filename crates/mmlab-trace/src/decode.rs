//! Turning raw argument words into what the notes talk about: `PROT_*` and
//! `MAP_*` by name (strace's spelling, so the two can be compared), fds
//! resolved to their paths, sizes as people write them, errno names.
//!
//! Everything that reads the traced process (a path string, a buffer, an
//! fd's target) is read at the call's entry, while the process is stopped.

use std::io::IoSliceMut;

use mmlab_core::format_size;
use nix::sys::uio::{RemoteIoVec, process_vm_readv};
use nix::unistd::Pid;
use serde_json::Value;

use crate::syscalls::ArgKind;

/// Bits and their names, tried in order; what is left over is shown in hex.
type FlagTable = &'static [(u64, &'static str)];

const PROT_FLAGS: FlagTable = &[
    (0x1, "PROT_READ"),
    (0x2, "PROT_WRITE"),
    (0x4, "PROT_EXEC"),
    (0x8, "PROT_SEM"),
    (0x0100_0000, "PROT_GROWSDOWN"),
    (0x0200_0000, "PROT_GROWSUP"),
];

/// MAP_* bits other than the mapping type (the low four bits), in numeric
/// order as strace prints them.
const MAP_FLAGS: FlagTable = &[
    (0x10, "MAP_FIXED"),
    (0x20, "MAP_ANONYMOUS"),
    (0x40, "MAP_32BIT"),
    (0x100, "MAP_GROWSDOWN"),
    (0x800, "MAP_DENYWRITE"),
    (0x1000, "MAP_EXECUTABLE"),
    (0x2000, "MAP_LOCKED"),
    (0x4000, "MAP_NORESERVE"),
    (0x8000, "MAP_POPULATE"),
    (0x1_0000, "MAP_NONBLOCK"),
    (0x2_0000, "MAP_STACK"),
    (0x4_0000, "MAP_HUGETLB"),
    (0x8_0000, "MAP_SYNC"),
    (0x10_0000, "MAP_FIXED_NOREPLACE"),
    (0x400_0000, "MAP_UNINITIALIZED"),
];

const MAP_TYPES: &[(u64, &str)] = &[
    (0x1, "MAP_SHARED"),
    (0x2, "MAP_PRIVATE"),
    (0x3, "MAP_SHARED_VALIDATE"),
    (0x8, "MAP_DROPPABLE"),
];

const MSYNC_FLAGS: FlagTable = &[(0x1, "MS_ASYNC"), (0x2, "MS_INVALIDATE"), (0x4, "MS_SYNC")];
const MREMAP_FLAGS: FlagTable = &[
    (0x1, "MREMAP_MAYMOVE"),
    (0x2, "MREMAP_FIXED"),
    (0x4, "MREMAP_DONTUNMAP"),
];
const MLOCKALL_FLAGS: FlagTable = &[
    (0x1, "MCL_CURRENT"),
    (0x2, "MCL_FUTURE"),
    (0x4, "MCL_ONFAULT"),
];
const MLOCK_FLAGS: FlagTable = &[(0x1, "MLOCK_ONFAULT")];
const AT_FLAGS: FlagTable = &[
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x200, "AT_REMOVEDIR"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x800, "AT_NO_AUTOMOUNT"),
    (0x1000, "AT_EMPTY_PATH"),
    (0x2000, "AT_STATX_FORCE_SYNC"),
    (0x4000, "AT_STATX_DONT_SYNC"),
];
/// O_* bits after the access mode; O_SYNC and O_TMPFILE contain other bits
/// and so come before them.
const OPEN_FLAGS: FlagTable = &[
    (0x40, "O_CREAT"),
    (0x80, "O_EXCL"),
    (0x100, "O_NOCTTY"),
    (0x200, "O_TRUNC"),
    (0x400, "O_APPEND"),
    (0x800, "O_NONBLOCK"),
    (0x10_1000, "O_SYNC"),
    (0x1000, "O_DSYNC"),
    (0x2000, "O_ASYNC"),
    (0x4000, "O_DIRECT"),
    (0x8000, "O_LARGEFILE"),
    (0x41_0000, "O_TMPFILE"),
    (0x1_0000, "O_DIRECTORY"),
    (0x2_0000, "O_NOFOLLOW"),
    (0x4_0000, "O_NOATIME"),
    (0x8_0000, "O_CLOEXEC"),
    (0x20_0000, "O_PATH"),
];

const MADVICE: &[(u64, &str)] = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
    (102, "MADV_GUARD_INSTALL"),
    (103, "MADV_GUARD_REMOVE"),
];

const WHENCE: &[(u64, &str)] = &[
    (0, "SEEK_SET"),
    (1, "SEEK_CUR"),
    (2, "SEEK_END"),
    (3, "SEEK_DATA"),
    (4, "SEEK_HOLE"),
];

/// `AT_FDCWD` as the kernel sees it in a 64-bit register (-100 as an int).
const AT_FDCWD: i32 = -100;

fn flags_with(table: FlagTable, mut value: u64, mut names: Vec<String>) -> String {
    for &(bits, name) in table {
        if bits != 0 && value & bits == bits {
            names.push(name.to_string());
            value &= !bits;
        }
    }
    if value != 0 {
        names.push(format!("{value:#x}"));
    }
    names.join("|")
}

/// `PROT_READ|PROT_EXEC`, or `PROT_NONE` for 0.
pub fn prot_names(prot: u64) -> String {
    if prot == 0 {
        return "PROT_NONE".to_string();
    }
    flags_with(PROT_FLAGS, prot, Vec::new())
}

/// `MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE`: the mapping type first, then the
/// other bits in numeric order, then MAP_HUGE_* and leftover bits.
pub fn map_flag_names(flags: u64) -> String {
    let mut names = Vec::new();
    let map_type = flags & 0xf;
    match MAP_TYPES.iter().find(|(bits, _)| *bits == map_type) {
        Some((_, name)) => names.push(name.to_string()),
        None if map_type == 0 => {}
        None => names.push(format!("{map_type:#x} /* MAP_??? */")),
    }
    let mut rest = flags & !0xf;
    // With MAP_HUGETLB, bits 26..31 give log2 of the huge page size.
    let mut huge = None;
    if rest & 0x4_0000 != 0 && rest >> 26 != 0 {
        let shift = (rest >> 26) & 0x3f;
        huge = Some(format!("{}<<MAP_HUGE_SHIFT", shift));
        rest &= !(0x3f << 26);
    }
    let mut text = flags_with(MAP_FLAGS, rest, names);
    if let Some(huge) = huge {
        if !text.is_empty() {
            text.push('|');
        }
        text.push_str(&huge);
    }
    if text.is_empty() {
        "0".to_string()
    } else {
        text
    }
}

/// `O_RDONLY|O_CLOEXEC`.
pub fn open_flag_names(flags: u64) -> String {
    let mode = match flags & 0x3 {
        0 => "O_RDONLY",
        1 => "O_WRONLY",
        2 => "O_RDWR",
        _ => "O_ACCMODE",
    };
    // O_PATH ignores the access mode, and strace leaves O_RDONLY out then.
    let names = if flags & 0x20_0000 != 0 && flags & 0x3 == 0 {
        Vec::new()
    } else {
        vec![mode.to_string()]
    };
    flags_with(OPEN_FLAGS, flags & !0x3, names)
}

fn value_name(table: &[(u64, &str)], value: u64) -> String {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, name)| name.to_string())
        .unwrap_or_else(|| value.to_string())
}

fn flags_or_zero(table: FlagTable, value: u64) -> String {
    if value == 0 {
        "0".to_string()
    } else {
        flags_with(table, value, Vec::new())
    }
}

/// The errno name (`ENOENT`) of an error number.
pub fn errno_name(errno: i32) -> String {
    let e = nix::errno::Errno::from_raw(errno);
    if e == nix::errno::Errno::UnknownErrno {
        format!("errno {errno}")
    } else {
        format!("{e:?}")
    }
}

/// `1974096 (1.9 MiB)`; numbers below 1 KiB stand alone.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1024 {
        format!("{bytes} ({})", format_size(bytes))
    } else {
        bytes.to_string()
    }
}

fn addr_text(addr: u64) -> String {
    if addr == 0 {
        "NULL".to_string()
    } else {
        format!("{addr:#x}")
    }
}

fn addr_value(addr: u64) -> Value {
    if addr == 0 {
        Value::Null
    } else {
        Value::String(format!("{addr:#x}"))
    }
}

/// Reads `len` bytes of the stopped process `pid` at `addr`, page by page
/// so that an unreadable page ends the read instead of failing it.
pub fn read_memory(pid: Pid, addr: u64, len: usize) -> Vec<u8> {
    const PAGE: u64 = 4096;
    let mut out = Vec::with_capacity(len);
    let mut at = addr;
    while out.len() < len && at != 0 {
        let in_page = (PAGE - at % PAGE) as usize;
        let want = in_page.min(len - out.len());
        let mut chunk = vec![0u8; want];
        let remote = [RemoteIoVec {
            base: at as usize,
            len: want,
        }];
        match process_vm_readv(pid, &mut [IoSliceMut::new(&mut chunk)], &remote) {
            Ok(n) if n > 0 => {
                out.extend_from_slice(&chunk[..n]);
                if n < want {
                    break;
                }
                at += n as u64;
            }
            _ => break,
        }
    }
    out
}

/// Reads a NUL-terminated string (at most `max` bytes) of process `pid`.
pub fn read_c_string(pid: Pid, addr: u64, max: usize) -> Option<String> {
    if addr == 0 {
        return None;
    }
    let mut bytes = Vec::new();
    let mut at = addr;
    while bytes.len() < max {
        let chunk = read_memory(pid, at, (4096 - (at % 4096) as usize).min(256));
        if chunk.is_empty() {
            break;
        }
        if let Some(end) = chunk.iter().position(|&b| b == 0) {
            bytes.extend_from_slice(&chunk[..end]);
            return Some(String::from_utf8_lossy(&bytes).into_owned());
        }
        at += chunk.len() as u64;
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        None
    } else {
        Some(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// The path an fd of process `pid` refers to (`/proc/PID/fd/N`).
pub fn fd_path(pid: Pid, fd: i32) -> Option<String> {
    if fd < 0 {
        return None;
    }
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Bytes as a C string literal of at most `max` bytes, like strace prints
/// buffers: `"hello\n"...`.
pub fn quoted(bytes: &[u8], full_len: usize) -> String {
    let mut text = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => text.push_str("\\\""),
            b'\\' => text.push_str("\\\\"),
            b'\n' => text.push_str("\\n"),
            b'\t' => text.push_str("\\t"),
            0x20..=0x7e => text.push(b as char),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text.push('"');
    if full_len > bytes.len() {
        text.push_str("...");
    }
    text
}

/// How many bytes of a written buffer are shown.
pub const BUFFER_SHOWN_BYTES: usize = 128;

/// One decoded argument: its display text and its JSON fields.
#[derive(Debug, Clone)]
pub struct DecodedArg {
    pub text: String,
    pub fields: Vec<(String, Value)>,
}

/// Decodes argument `index` of a call whose raw arguments are `raw`, in the
/// stopped process `pid`.
pub fn decode_arg(pid: Pid, name: &str, kind: ArgKind, index: usize, raw: &[u64]) -> DecodedArg {
    let value = raw[index];
    let single = |text: String, json: Value| DecodedArg {
        text,
        fields: vec![(name.to_string(), json)],
    };
    match kind {
        ArgKind::Addr | ArgKind::OutBuf => single(addr_text(value), addr_value(value)),
        ArgKind::Size => single(size_text(value), Value::from(value)),
        ArgKind::Offset => {
            let text = if value == 0 {
                "0".to_string()
            } else if value >= 1024 {
                format!("{value:#x} ({})", format_size(value))
            } else {
                format!("{value:#x}")
            };
            single(text, Value::from(value))
        }
        ArgKind::Prot => single(prot_names(value), Value::from(prot_names(value))),
        ArgKind::MapFlags => single(map_flag_names(value), Value::from(map_flag_names(value))),
        ArgKind::OpenFlags => single(open_flag_names(value), Value::from(open_flag_names(value))),
        ArgKind::MsyncFlags => {
            let t = flags_or_zero(MSYNC_FLAGS, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::MremapFlags => {
            let t = flags_or_zero(MREMAP_FLAGS, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::MlockallFlags => {
            let t = flags_or_zero(MLOCKALL_FLAGS, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::MlockFlags => {
            let t = flags_or_zero(MLOCK_FLAGS, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::AtFlags => {
            let t = flags_or_zero(AT_FLAGS, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::Advice => {
            let t = value_name(MADVICE, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::Whence => {
            let t = value_name(WHENCE, value);
            single(t.clone(), Value::from(t))
        }
        ArgKind::Mode => {
            let text = if value == 0 {
                "0".to_string()
            } else {
                format!("0{value:o}")
            };
            single(text, Value::from(value))
        }
        ArgKind::Int => {
            let v = value as i64;
            single(v.to_string(), Value::from(v))
        }
        ArgKind::Hex => single(format!("{value:#x}"), Value::from(format!("{value:#x}"))),
        ArgKind::Fd | ArgKind::DirFd => {
            let fd = value as i32;
            if kind == ArgKind::DirFd && fd == AT_FDCWD {
                return single("AT_FDCWD".to_string(), Value::from("AT_FDCWD"));
            }
            let path = fd_path(pid, fd);
            let text = match &path {
                Some(p) => format!("{fd}<{p}>"),
                None => fd.to_string(),
            };
            let mut fields = vec![(name.to_string(), Value::from(fd))];
            fields.push((
                format!("{name}_path"),
                path.map(Value::from).unwrap_or(Value::Null),
            ));
            DecodedArg { text, fields }
        }
        ArgKind::Path => match read_c_string(pid, value, 4096) {
            Some(path) => single(quoted(path.as_bytes(), path.len()), Value::from(path)),
            None => single(addr_text(value), addr_value(value)),
        },
        ArgKind::InBuf => {
            let len = raw.get(index + 1).copied().unwrap_or(0) as usize;
            let bytes = read_memory(pid, value, len.min(BUFFER_SHOWN_BYTES));
            let text = quoted(&bytes, len);
            single(
                text,
                Value::from(String::from_utf8_lossy(&bytes).into_owned()),
            )
        }
    }
}

/// A return value as shown after ` = `: an address, an fd with its path,
/// a size, or `-1 ENOENT (No such file or directory)`.
pub fn return_text(
    pid: Pid,
    kind: ArgKind,
    value: i64,
) -> (String, Option<String>, Option<String>) {
    if (-4095..0).contains(&value) {
        let errno = (-value) as i32;
        let name = errno_name(errno);
        let desc = nix::errno::Errno::from_raw(errno).desc();
        return (format!("-1 {name} ({desc})"), Some(name), None);
    }
    match kind {
        ArgKind::Addr => (format!("{:#x}", value as u64), None, None),
        ArgKind::Size => (size_text(value as u64), None, None),
        ArgKind::Fd => {
            let path = fd_path(pid, value as i32);
            let text = match &path {
                Some(p) => format!("{value}<{p}>"),
                None => value.to_string(),
            };
            (text, None, path)
        }
        _ => (value.to_string(), None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_flags_as_strace_spells_them() {
        let check = |got: String, expected: &str| assert_eq!(got, expected);
        check(prot_names(0), "PROT_NONE");
        check(prot_names(5), "PROT_READ|PROT_EXEC");
        check(prot_names(0x13), "PROT_READ|PROT_WRITE|0x10");
        check(map_flag_names(0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        check(map_flag_names(0x812), "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE");
        check(map_flag_names(0x32), "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS");
        check(
            map_flag_names(0x2_0022),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK",
        );
        check(map_flag_names(0x1), "MAP_SHARED");
        check(
            map_flag_names(0x22 | 0x4_0000 | (21 << 26)),
            "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT",
        );
        check(open_flag_names(0x8_0000), "O_RDONLY|O_CLOEXEC");
        check(open_flag_names(0x241), "O_WRONLY|O_CREAT|O_TRUNC");
        check(open_flag_names(0x10_1002), "O_RDWR|O_SYNC");
        check(errno_name(2), "ENOENT");
        check(size_text(8192), "8192 (8 KiB)");
        check(size_text(100), "100");
        check(quoted(b"ab\"\n\x01", 10), "\"ab\\\"\\n\\x01\"...");
        // The libc crate agrees with the tables on the bits the notes name.
        assert_eq!(libc::MAP_ANONYMOUS as u64, 0x20);
        assert_eq!(libc::MAP_DENYWRITE as u64, 0x800);
        assert_eq!(libc::PROT_EXEC as u64, 0x4);
        assert_eq!(libc::O_CLOEXEC as u64, 0x8_0000);
    }

    #[test]
    fn reads_own_memory_strings_and_fds() {
        let me = nix::unistd::getpid();
        let text = std::ffi::CString::new("/some/path").unwrap();
        assert_eq!(
            read_c_string(me, text.as_ptr() as u64, 4096).as_deref(),
            Some("/some/path")
        );
        let file = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsRawFd;
        let path = fd_path(me, file.as_raw_fd()).unwrap();
        assert!(path.ends_with("/status"), "{path}");
    }
}
