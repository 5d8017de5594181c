//! read() decomposed: per-call time of read() on a warm file at block sizes
//! from 64 B to 1 MiB, each into one reused buffer, beside two memcpy
//! loops with no kernel at all (both buffers of the block size, and from a
//! file-sized buffer into the block-sized one, the pattern read() copies).

use std::fs::File;
use std::hint::black_box;
use std::io::{Read, Seek, SeekFrom};
use std::time::Instant;

use anyhow::Context;

use crate::count::Counter;

/// 64 B .. 1 MiB, powers of two: 15 sizes, log-spaced.
pub const BLOCK_SIZES: [u64; 15] = [
    64,
    128,
    256,
    512,
    1 << 10,
    2 << 10,
    4 << 10,
    8 << 10,
    16 << 10,
    32 << 10,
    64 << 10,
    128 << 10,
    256 << 10,
    512 << 10,
    1 << 20,
];

pub const MEMCPY_HOT: &str = "memcpy, both buffers of the block size";
pub const MEMCPY_STREAM: &str = "memcpy from a file-sized buffer";
pub const READ: &str = "read()";

/// Whole passes over the file so that at least `min_calls` calls are timed.
pub fn passes_for(size: u64, block: u64, min_calls: u64) -> u64 {
    min_calls.div_ceil(size.div_ceil(block)).max(1)
}

/// Timed: `passes` passes of read() over the whole file at `block`, each
/// stopping at the last byte (the EOF read is made, untimed, afterwards);
/// the lseek back to 0 is outside the timed region. Returns (ns, calls).
pub fn timed_read(
    file: &mut File,
    size: u64,
    block: usize,
    buffer: &mut [u8],
    passes: u64,
) -> anyhow::Result<(u64, u64)> {
    let mut ns = 0u64;
    let mut calls = 0u64;
    for _ in 0..passes {
        mmlab_core::cleanup::checkpoint();
        file.seek(SeekFrom::Start(0)).context("lseek")?;
        let mut got = 0u64;
        let started = Instant::now();
        while got < size {
            let n = file.read(&mut buffer[..block]).context("read")?;
            if n == 0 {
                anyhow::bail!("the data file ended after {got} of {size} bytes");
            }
            got += n as u64;
            calls += 1;
        }
        ns += started.elapsed().as_nanos() as u64;
        black_box(&buffer[..block]);
        let tail = file.read(&mut buffer[..block]).context("read at EOF")?;
        anyhow::ensure!(tail == 0, "the data file grew during the run");
    }
    Ok((ns, calls))
}

/// Counted, untimed: one pass of read() at `block` until read() returns 0.
/// Returns (read() calls made by the loop, counts).
pub fn counted_read(
    counter: &Counter,
    file: &mut File,
    block: usize,
    buffer: &mut [u8],
) -> anyhow::Result<(u64, crate::count::Counts)> {
    file.seek(SeekFrom::Start(0)).context("lseek")?;
    let (calls, counts) = counter.count(|| -> std::io::Result<u64> {
        let mut calls = 0u64;
        loop {
            calls += 1;
            if file.read(&mut buffer[..block])? == 0 {
                return Ok(calls);
            }
        }
    });
    Ok((calls.context("read")?, counts))
}

/// memcpy between two resident buffers of `block` bytes, `n` times.
pub fn memcpy_hot(block: usize, n: u64) -> u64 {
    let source = vec![0x5au8; block];
    let mut target = vec![0u8; block];
    let started = Instant::now();
    for _ in 0..n {
        target.copy_from_slice(black_box(&source));
        black_box(&mut target);
    }
    started.elapsed().as_nanos() as u64
}

/// memcpy from `source` (file-sized, resident) into a `block`-sized
/// buffer, block by block over the whole source, `passes` times: the copy
/// read() does, with no kernel. Returns (ns, copies).
pub fn memcpy_stream(source: &[u8], target: &mut [u8], block: usize, passes: u64) -> (u64, u64) {
    let mut copies = 0u64;
    let started = Instant::now();
    for _ in 0..passes {
        for chunk in source.chunks(block) {
            target[..chunk.len()].copy_from_slice(black_box(chunk));
            black_box(&mut *target);
            copies += 1;
        }
    }
    (started.elapsed().as_nanos() as u64, copies)
}
