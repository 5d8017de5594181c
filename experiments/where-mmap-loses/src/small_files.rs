//! L1: one complete read of a warm file, open to close, by each method, for
//! file sizes from 4 KiB to 64 MiB. Every method sums every 8-byte word of
//! the file with the same loop (checked against the file's checksum), so
//! they do the same work; only the way the bytes arrive differs:
//!
//! - `mmap`: open, fstat (memmap2 asks the length), mmap, sum, munmap, close;
//! - `read()`: open, read() into a reused buffer until it returns 0, summing
//!   each block, close;
//! - `pread()`: open, fstat, pread() at increasing offsets into the same
//!   buffer, close;
//! - `std::fs::read`: open, statx, read into a fresh Vec of the file's size,
//!   sum, free, close (what a Rust program writes first).
//!
//! Interleaved: in every round, for every size, the methods take turns
//! (their order rotated by the round), each over every file of that size.
//! One row per (size, method, round): the median time per file over the
//! files, with their p5 and p95.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use anyhow::Context;
use mmlab_core::pages::Rusage;
use mmlab_core::{DataDir, DataFile};
use serde_json::{Value, json};

pub const PART: &str = "small-files";

pub const MMAP: &str = "mmap";
pub const READ: &str = "read()";
pub const PREAD: &str = "pread()";
pub const FS_READ: &str = "std::fs::read";
pub const METHODS: [&str; 4] = [MMAP, READ, PREAD, FS_READ];

/// What L1 is given by the plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sizes: Vec<u64>,
    /// Bytes of files per size (at least one file, at most `max_files`).
    pub bytes_per_size: u64,
    pub max_files: u64,
    pub rounds: usize,
    pub buffer_bytes: usize,
}

impl Plan {
    pub fn files_for(&self, size: u64) -> u64 {
        (self.bytes_per_size / size).clamp(1, self.max_files)
    }
}

/// The sum every method computes: every little-endian u64 word.
#[inline]
pub fn sum_words(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    for chunk in bytes.chunks_exact(8) {
        sum = sum.wrapping_add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    sum
}

fn read_mmap(file: &DataFile) -> anyhow::Result<u64> {
    let handle = File::open(&file.path)?;
    // SAFETY (memmap2's contract): the lab's own file, which nothing
    // truncates or writes while it is mapped.
    let map = unsafe { memmap2::Mmap::map(&handle) }.context("mmap")?;
    let sum = sum_words(&map);
    drop(map);
    drop(handle);
    Ok(sum)
}

fn read_read(file: &DataFile, buffer: &mut [u8]) -> anyhow::Result<u64> {
    let mut handle = File::open(&file.path)?;
    let mut sum = 0u64;
    loop {
        let n = handle.read(buffer).context("read")?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(sum_words(&buffer[..n]));
    }
    Ok(sum)
}

fn read_pread(file: &DataFile, buffer: &mut [u8]) -> anyhow::Result<u64> {
    let handle = File::open(&file.path)?;
    let len = handle.metadata().context("fstat")?.len();
    let mut sum = 0u64;
    let mut offset = 0u64;
    while offset < len {
        let want = ((len - offset) as usize).min(buffer.len());
        let n = handle
            .read_at(&mut buffer[..want], offset)
            .context("pread")?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(sum_words(&buffer[..n]));
        offset += n as u64;
    }
    Ok(sum)
}

fn read_fs_read(file: &DataFile) -> anyhow::Result<u64> {
    let bytes = std::fs::read(&file.path).context("std::fs::read")?;
    Ok(sum_words(&bytes))
}

fn read_with(method: &str, file: &DataFile, buffer: &mut [u8]) -> anyhow::Result<u64> {
    match method {
        MMAP => read_mmap(file),
        READ => read_read(file, buffer),
        PREAD => read_pread(file, buffer),
        _ => read_fs_read(file),
    }
}

fn quantiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (
        mmlab_core::stats::quantile(values, 0.05),
        mmlab_core::stats::quantile(values, 0.5),
        mmlab_core::stats::quantile(values, 0.95),
    )
}

/// The files of every size, written once and left warm.
pub fn make_files(dir: &DataDir, plan: &Plan) -> anyhow::Result<Vec<(u64, Vec<DataFile>)>> {
    let mut all = Vec::new();
    for &size in &plan.sizes {
        let mut files = Vec::new();
        for i in 0..plan.files_for(size) {
            files.push(dir.create_file(&format!("small-{size}-{i}"), size)?);
        }
        all.push((size, files));
    }
    Ok(all)
}

/// The timed rounds. Returns one row per (size, method, round).
pub fn measure(
    files: &[(u64, Vec<DataFile>)],
    plan: &Plan,
    progress: &dyn Fn(),
) -> anyhow::Result<Vec<Value>> {
    let mut buffer = vec![0u8; plan.buffer_bytes];
    // Warm-up: every file read once by every method (the page cache holds
    // them all; code and allocator paths are warm).
    for (_, group) in files {
        for file in group {
            for method in METHODS {
                let sum = read_with(method, file, &mut buffer)?;
                anyhow::ensure!(
                    sum == file.checksum,
                    "{method} of {} summed {sum:#x}, the file's checksum is {:#x}",
                    file.path.display(),
                    file.checksum
                );
            }
        }
    }
    let mut rows = Vec::new();
    for round in 0..plan.rounds {
        mmlab_core::cleanup::checkpoint();
        for (size, group) in files {
            for k in 0..METHODS.len() {
                let method = METHODS[(k + round) % METHODS.len()];
                let mut times = Vec::with_capacity(group.len());
                let mut sums_ok = true;
                let before = Rusage::now(true);
                for file in group {
                    let started = Instant::now();
                    let sum = read_with(method, file, &mut buffer)?;
                    let elapsed = started.elapsed().as_nanos() as f64;
                    std::hint::black_box(sum);
                    sums_ok &= sum == file.checksum;
                    times.push(elapsed);
                }
                let used = Rusage::now(true).since(&before);
                let n = times.len();
                let (p5, median, p95) = quantiles(&mut times);
                rows.push(json!({
                    "part": PART,
                    "size_bytes": size,
                    "method": method,
                    "round": round,
                    "order_in_round": k,
                    "n_files": n,
                    "ns_per_file": median,
                    "ns_per_file_p5": p5,
                    "ns_per_file_p95": p95,
                    "ns_per_kib": median / (*size as f64 / 1024.0),
                    "minor_faults_per_file": used.n_minor_faults as f64 / n as f64,
                    "major_faults": used.n_major_faults,
                    "sums_ok": sums_ok,
                }));
            }
        }
        progress();
    }
    Ok(rows)
}
