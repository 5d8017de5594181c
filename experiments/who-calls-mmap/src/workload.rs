//! The small programs the experiment traces. They run inside the `mmlab`
//! binary itself (`mmlab trace --workload SPEC`, a hidden flag), started
//! fresh for every trace, so each one begins with a clean malloc state and
//! the dynamic loader's work happens in front of the tracer.
//!
//! Each workload brackets the part that matters with *marks*: a `write` to
//! fd -1 whose text says where it is (`mmlab-mark: begin malloc 131072`).
//! The kernel answers EBADF and does nothing else, but the tracer records
//! the call with its text, so the experiment (and a student reading the
//! trace) can tell the program's own calls from the start-up's.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use mmlab_core::pages::Rusage;

/// The prefix of every mark's text.
pub const MARK_PREFIX: &str = "mmlab-mark: ";

/// The most bytes of a mark the tracer shows (mmlab-trace decodes the first
/// 128 bytes of a written buffer): a mark's numbers must fit in them.
pub const MARK_SHOWN_BYTES: usize = 128;

/// Writes a mark: `write(-1, "mmlab-mark: <text>", len)`, which fails with
/// EBADF and is seen only by a tracer.
pub fn mark(text: &str) {
    write_mark(&marked(text));
}

/// The full text of a mark, built ahead of time where the mark must not
/// allocate (inside a window whose faults and calls are counted).
pub fn marked(text: &str) -> String {
    format!("{MARK_PREFIX}{text}")
}

/// Writes a mark built by [`marked`]; allocates nothing.
pub fn write_mark(message: &str) {
    // SAFETY: write(2) reads `len` bytes from a valid buffer we own; fd -1
    // is never open, so the kernel returns EBADF without side effects.
    unsafe {
        libc::write(-1, message.as_ptr().cast(), message.len());
    }
}

/// Wrapping sum of little-endian u64 words, a trailing partial word
/// zero-padded: the same checksum as `mmlab_core::DataFile`.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    let mut sum = 0u64;
    for chunk in &mut chunks {
        sum = sum.wrapping_add(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        sum = sum.wrapping_add(u64::from_le_bytes(word));
    }
    sum
}

/// malloc(size), touch its first and last byte, free; false if malloc
/// returned null.
fn malloc_and_free(size: usize) -> bool {
    // SAFETY: malloc returns null or a block of `size` bytes that we own;
    // we write inside it and free it exactly once.
    unsafe {
        let block = libc::malloc(size).cast::<u8>();
        if block.is_null() {
            return false;
        }
        block.write_volatile(1);
        block.add(size - 1).write_volatile(1);
        mark(&format!("free {size}"));
        libc::free(block.cast());
    }
    true
}

/// What a workload did, as it saw it: the same numbers its `end` mark
/// carries, so a caller (a test) can check them without a tracer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadReport {
    /// Bytes read from the file (file workloads only).
    pub bytes_read: Option<u64>,
    /// Checksum of those bytes, as `checksum` computes it (file workloads only).
    pub checksum: Option<u64>,
    /// Minor faults of this thread while reading (file workloads only).
    pub minor_faults: Option<u64>,
    /// malloc calls that returned a block (malloc workloads only).
    pub allocations: Option<u64>,
    /// read() calls made in the timed loop (`readloop` only).
    pub read_calls: Option<u64>,
    /// `mmap` only: faults (minor + major) of the first and the second
    /// pass over the mapping, and the second pass's checksum.
    pub first_pass_faults: Option<u64>,
    pub second_pass_faults: Option<u64>,
    pub second_pass_checksum: Option<u64>,
    /// `anon:N` only: bytes of the fresh anonymous mapping that were not
    /// zero, whether /proc/self/maps had a line for it, and whether that
    /// line named a file (its pathname field not blank).
    pub nonzero_bytes: Option<u64>,
    pub maps_line_found: Option<bool>,
    pub maps_pathname: Option<String>,
}

impl WorkloadReport {
    fn file(len: usize, sum: u64, faults: u64) -> WorkloadReport {
        mark(&format!(
            "end bytes={len} checksum={sum} minor_faults={faults}"
        ));
        WorkloadReport {
            bytes_read: Some(len as u64),
            checksum: Some(sum),
            minor_faults: Some(faults),
            ..WorkloadReport::default()
        }
    }
}

/// Runs the workload named by `spec` and returns the exit status (0; a
/// failure is an error). See `execute_workload` for the specs.
pub fn run_workload(spec: &str) -> anyhow::Result<i32> {
    execute_workload(spec).map(|_| 0)
}

/// Runs the workload named by `spec` and returns what it did.
///
/// - `noop`: nothing; a trace shows only the start-up (the loader's work)
/// - `malloc:N`: malloc(N), touch, free
/// - `malloc-twice:N`: the same twice (the second shows glibc's dynamic threshold)
/// - `fs-read:PATH`: `std::fs::read` of the file
/// - `read-4k:PATH`: `read()` into a 4 KiB buffer until end of file
/// - `mmap:PATH`: map the file with memmap2 and sum it, twice (the second
///   pass between its own marks, `second pass` and `second pass done`,
///   with the faults of each pass counted outside those marks)
/// - `anon:N`: mmap N bytes of private anonymous memory with fd -1, count
///   the bytes that are not zero and look the mapping up in
///   /proc/self/maps (pathname blank or not), munmap
/// - `readloop:N`: N `read()` calls of 64 bytes from /dev/zero, then print
///   `elapsed_ns=E calls=N` on stdout (after a warm-up of 1000 calls)
pub fn execute_workload(spec: &str) -> anyhow::Result<WorkloadReport> {
    let (name, value) = spec.split_once(':').unwrap_or((spec, ""));
    let size = || -> anyhow::Result<usize> {
        let bytes = mmlab_core::parse_size(value)
            .with_context(|| format!("workload {spec:?}: bad size"))?;
        if bytes == 0 {
            bail!("workload {spec:?}: the size must not be 0");
        }
        Ok(bytes as usize)
    };
    let report = match name {
        "noop" => WorkloadReport::default(),
        "malloc" => {
            let size = size()?;
            mark(&format!("begin malloc {size}"));
            let made = u64::from(malloc_and_free(size));
            mark("end");
            WorkloadReport {
                allocations: Some(made),
                ..WorkloadReport::default()
            }
        }
        "malloc-twice" => {
            let size = size()?;
            mark(&format!("begin malloc-twice {size}"));
            let mut made = u64::from(malloc_and_free(size));
            mark("again");
            made += u64::from(malloc_and_free(size));
            mark("end");
            WorkloadReport {
                allocations: Some(made),
                ..WorkloadReport::default()
            }
        }
        "fs-read" => {
            mark("begin fs-read");
            let before = Rusage::now(true);
            let data = std::fs::read(value).with_context(|| format!("cannot read {value}"))?;
            let (len, sum) = (data.len(), checksum(&data));
            drop(data);
            let faults = Rusage::now(true).since(&before).n_minor_faults;
            WorkloadReport::file(len, sum, faults)
        }
        "read-4k" => {
            mark("begin read-4k");
            let before = Rusage::now(true);
            let mut file = File::open(value).with_context(|| format!("cannot open {value}"))?;
            let mut buffer = [0u8; 4096];
            let (mut len, mut sum) = (0usize, 0u64);
            loop {
                let n = file
                    .read(&mut buffer)
                    .with_context(|| format!("cannot read {value}"))?;
                if n == 0 {
                    break;
                }
                // Blocks are 8-byte aligned in the file (4 KiB reads of a
                // regular file return whole blocks), so sums add up.
                sum = sum.wrapping_add(checksum(&buffer[..n]));
                len += n;
            }
            drop(file);
            let faults = Rusage::now(true).since(&before).n_minor_faults;
            WorkloadReport::file(len, sum, faults)
        }
        "mmap" => {
            // Built before the windows they close, so they allocate nothing there.
            let (second, second_done) = (marked("second pass"), marked("second pass done"));
            // For the mapping's line in /proc/self/maps, read after the
            // second pass (outside its window): the buffer and the file's
            // canonical path are made here, before the case begins.
            let mut maps = vec![0u8; 1 << 20];
            let canonical =
                std::fs::canonicalize(value).with_context(|| format!("cannot resolve {value}"))?;
            mark("begin mmap");
            let before = Rusage::now(true);
            let file = File::open(value).with_context(|| format!("cannot open {value}"))?;
            // SAFETY (memmap2's contract): the file is the experiment's own
            // data file, which nobody truncates while it is mapped.
            let map = unsafe { memmap2::Mmap::map(&file) }
                .with_context(|| format!("cannot mmap {value}"))?;
            let first_before = Rusage::now(true);
            let (len, sum) = (map.len(), checksum(&map));
            let first = Rusage::now(true).since(&first_before);
            // The second pass: only the pass itself lies between its marks
            // (getrusage is called outside them).
            let second_before = Rusage::now(true);
            write_mark(&second);
            let again = checksum(std::hint::black_box(&map));
            write_mark(&second_done);
            let second_pass = Rusage::now(true).since(&second_before);
            let maps_text = read_into(Path::new("/proc/self/maps"), &mut maps)?;
            let names_the_file = maps_line(&maps_text, map.as_ptr() as u64)
                .map(maps_pathname)
                .map(|name| Path::new(name) == canonical);
            mark("unmap");
            drop(map);
            drop(file);
            let faults = Rusage::now(true).since(&before).n_minor_faults;
            let first_faults = first.n_minor_faults + first.n_major_faults;
            let second_faults = second_pass.n_minor_faults + second_pass.n_major_faults;
            // Two marks: the tracer shows only a mark's first 128 bytes.
            // maps_file: 1 when the mapping's line in /proc/self/maps names
            // the data file, 0 when it names something else or nothing, 2
            // when no line holds the mapping's address.
            let maps_file = match names_the_file {
                Some(true) => 1,
                Some(false) => 0,
                None => 2,
            };
            mark(&format!(
                "passes first_pass_faults={first_faults} second_pass_faults={second_faults} maps_file={maps_file}"
            ));
            mark(&format!(
                "end bytes={len} checksum={sum} minor_faults={faults}"
            ));
            WorkloadReport {
                bytes_read: Some(len as u64),
                checksum: Some(sum),
                minor_faults: Some(faults),
                first_pass_faults: Some(first_faults),
                second_pass_faults: Some(second_faults),
                second_pass_checksum: Some(again),
                ..WorkloadReport::default()
            }
        }
        "anon" => {
            let size = size()?;
            anonymous(size)?
        }
        "readloop" => {
            let calls: u64 = value
                .parse()
                .with_context(|| format!("workload {spec:?}: bad number of calls"))?;
            let zero = File::open("/dev/zero").context("cannot open /dev/zero")?;
            read_loop(&zero, WARM_UP_CALLS)?;
            let elapsed_ns = read_loop(&zero, calls)?;
            println!("elapsed_ns={elapsed_ns} calls={calls}");
            WorkloadReport {
                read_calls: Some(calls),
                ..WorkloadReport::default()
            }
        }
        _ => bail!(
            "unknown workload {spec:?}: noop, malloc:N, malloc-twice:N, fs-read:PATH, read-4k:PATH, \
             mmap:PATH, anon:N, readloop:N"
        ),
    };
    Ok(report)
}

/// Calls made before the timed loop, so that both the in-process loop and
/// the workload's are timed warm.
pub const WARM_UP_CALLS: u64 = 1000;

/// `calls` read() calls of 64 bytes from `file` (/dev/zero); returns the
/// elapsed nanoseconds.
pub fn read_loop(mut file: &File, calls: u64) -> anyhow::Result<u64> {
    let mut buffer = [0u8; 64];
    let started = Instant::now();
    for _ in 0..calls {
        let n = file.read(&mut buffer).context("read /dev/zero")?;
        std::hint::black_box(n);
    }
    Ok(started.elapsed().as_nanos() as u64)
}

/// The `anon:N` workload: a private anonymous mapping with fd -1, its bytes
/// counted (nonzero ones) and its line in /proc/self/maps read while it is
/// mapped. The buffer for /proc/self/maps is allocated before the begin
/// mark, so the only mmap between the marks is the one under test.
fn anonymous(size: usize) -> anyhow::Result<WorkloadReport> {
    let mut maps = vec![0u8; 1 << 20];
    mark(&format!("begin anon {size}"));
    // SAFETY: a fresh private anonymous mapping (no address hint, no file);
    // it is read only within its length and unmapped exactly once below.
    let address = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if address == libc::MAP_FAILED {
        let error = std::io::Error::last_os_error();
        mark("end");
        bail!("workload anon:{size}: mmap failed: {error}");
    }
    // SAFETY: the mapping is `size` readable bytes until munmap below.
    let bytes = unsafe { std::slice::from_raw_parts(address.cast::<u8>(), size) };
    let nonzero = bytes.iter().filter(|b| **b != 0).count() as u64;
    let text = read_into(Path::new("/proc/self/maps"), &mut maps);
    // SAFETY: unmaps exactly the mapping made above; `bytes` is not used after.
    unsafe {
        libc::munmap(address, size);
    }
    let text = text?;
    let line = maps_line(&text, address as u64);
    let pathname = line.map(maps_pathname);
    mark(&format!(
        "end bytes={size} nonzero_bytes={nonzero} maps_line={} maps_path={} pathname={}",
        u8::from(line.is_some()),
        u8::from(pathname.is_some_and(|p| !p.is_empty())),
        pathname.unwrap_or_default()
    ));
    Ok(WorkloadReport {
        bytes_read: Some(size as u64),
        nonzero_bytes: Some(nonzero),
        maps_line_found: Some(line.is_some()),
        maps_pathname: pathname.map(str::to_string),
        ..WorkloadReport::default()
    })
}

/// Reads a small file into `buffer` (no allocation) and returns its text.
fn read_into(path: &Path, buffer: &mut [u8]) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut len = 0;
    loop {
        if len == buffer.len() {
            bail!("{} is larger than {} bytes", path.display(), buffer.len());
        }
        let n = file
            .read(&mut buffer[len..])
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        len += n;
    }
    drop(file);
    Ok(String::from_utf8_lossy(&buffer[..len]).into_owned())
}

/// The line of /proc/self/maps whose range holds `address`.
pub fn maps_line(maps: &str, address: u64) -> Option<&str> {
    maps.lines().find(|line| {
        let Some((start, end)) = line
            .split_whitespace()
            .next()
            .and_then(|range| range.split_once('-'))
        else {
            return false;
        };
        let parse = |hex: &str| u64::from_str_radix(hex, 16).ok();
        matches!((parse(start), parse(end)), (Some(s), Some(e)) if s <= address && address < e)
    })
}

/// The pathname field of a /proc/self/maps line (blank for anonymous
/// memory): everything after the fifth field.
pub fn maps_pathname(line: &str) -> &str {
    let mut rest = line;
    for _ in 0..5 {
        rest = rest.trim_start();
        rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
    }
    rest.trim()
}
