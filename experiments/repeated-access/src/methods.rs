//! The ways of reading a file that the experiment compares, and one pass of
//! each over the whole file. Every method feeds the same bytes to the same
//! summing kernel ([`crate::kernel::checked_sum`]); only the way the bytes
//! reach the process differs, so a difference in time is the method's.
//!
//! What a pass contains (the timed region) and what it does not:
//! - read family: the `read`/`pread` calls up to and including the one that
//!   returns 0 at end of file (so ceil(size / block) + 1 calls per pass); the
//!   `lseek` back to offset 0 happens before the timed region.
//! - mapped once (`mmap-reused`, `mmap-copy`): the `mmap` call belongs to the
//!   first pass; later passes only touch memory; the `munmap` happens after
//!   the last pass, outside every timed region.
//! - mapped every pass (`mmap-per-pass`, `mmap-populate`, `mmap-sequential`):
//!   `mmap` (+ `madvise`) and `munmap` are inside every pass; the three differ
//!   from each other in exactly one flag or call.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;

use anyhow::Context;
use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};
use mmlab_core::DataFile;

use crate::kernel::checked_sum;

/// Which kind of method: the read family takes a block size, mappings do
/// not, and the ceiling reads no file at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Block,
    Mapping,
    Ceiling,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Block => "block",
            Family::Mapping => "mapping",
            Family::Ceiling => "ceiling",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// `read()` into one buffer of the block size, reused for every call.
    Read,
    /// `pread()` at an explicit offset into one reused buffer.
    Pread,
    /// `read()` into a freshly allocated, zeroed buffer for every call.
    ReadFreshBuffer,
    /// One mapping, reused; each block is copied into a buffer and summed
    /// there: the cost of the copy that `read()` makes, without its calls.
    MmapCopy,
    /// `mmap` once, then every pass sums the mapping in place.
    MmapReused,
    /// `mmap` + sum + `munmap` in every pass.
    MmapPerPass,
    /// As `mmap-per-pass` with MAP_POPULATE: the page tables are filled
    /// inside `mmap`, so the sum takes no faults.
    MmapPopulate,
    /// As `mmap-per-pass` with `madvise(MADV_SEQUENTIAL)` after `mmap`.
    MmapSequential,
    /// The same kernel over an anonymous, resident buffer of the file's
    /// size: the memory bandwidth every method is measured against.
    MemoryCeiling,
}

impl Method {
    /// Every method that reads the file, in the order a repetition runs them.
    pub const FILE_METHODS: [Method; 8] = [
        Method::Read,
        Method::Pread,
        Method::ReadFreshBuffer,
        Method::MmapCopy,
        Method::MmapReused,
        Method::MmapPerPass,
        Method::MmapPopulate,
        Method::MmapSequential,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Method::Read => "read",
            Method::Pread => "pread",
            Method::ReadFreshBuffer => "read-fresh-buffer",
            Method::MmapCopy => "mmap-copy",
            Method::MmapReused => "mmap-reused",
            Method::MmapPerPass => "mmap-per-pass",
            Method::MmapPopulate => "mmap-populate",
            Method::MmapSequential => "mmap-sequential",
            Method::MemoryCeiling => "memory-ceiling",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Method::Read | Method::Pread | Method::ReadFreshBuffer | Method::MmapCopy => {
                Family::Block
            }
            Method::MmapReused
            | Method::MmapPerPass
            | Method::MmapPopulate
            | Method::MmapSequential => Family::Mapping,
            Method::MemoryCeiling => Family::Ceiling,
        }
    }

    /// Whether the method keeps one mapping for all passes of a run.
    pub fn maps_once(self) -> bool {
        matches!(self, Method::MmapReused | Method::MmapCopy)
    }

    /// The system call that carries this method's data (`None` when it
    /// makes none per block): its tracepoint count is recorded per pass.
    pub fn call_of_interest(self) -> Option<&'static str> {
        match self {
            Method::Read | Method::ReadFreshBuffer => Some("read"),
            Method::Pread => Some("pread64"),
            Method::MmapCopy
            | Method::MmapReused
            | Method::MmapPerPass
            | Method::MmapPopulate
            | Method::MmapSequential => Some("mmap"),
            Method::MemoryCeiling => None,
        }
    }

    /// Whether a pass makes one `read`/`pread` call per block, plus the one
    /// that returns 0 at end of file.
    pub fn reads_blocks(self) -> bool {
        matches!(self, Method::Read | Method::Pread | Method::ReadFreshBuffer)
    }
}

/// `read`/`pread` calls one pass makes over `size_bytes` in blocks of
/// `block_bytes`: one per block, and the one that returns 0 at end of file.
pub fn expected_read_calls(size_bytes: u64, block_bytes: u64) -> u64 {
    size_bytes.div_ceil(block_bytes) + 1
}

/// Maps `len` bytes of `file` read-only and shared, with MAP_POPULATE when
/// asked. The length is given, so memmap2 makes exactly one `mmap` call (no
/// `fstat`).
fn map_file(file: &File, len: usize, populate: bool) -> io::Result<Mmap> {
    let mut options = MmapOptions::new();
    options.len(len);
    if populate {
        options.populate();
    }
    // SAFETY: the data file belongs to this run's private data folder and is
    // never truncated or written while mapped, so the slice memmap2 hands
    // out stays valid and unchanged for the mapping's lifetime.
    unsafe { options.map(file) }
}

/// Reads into `buffer` until it is full or the file ends; returns the bytes
/// read. `read_at` is one `read` or `pread` call at the given file offset.
fn fill_block(
    buffer: &mut [u8],
    offset: u64,
    read_at: &mut impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match read_at(&mut buffer[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The sum of the file read block by block through `read_at`, into `buffer`
/// (or into a fresh buffer per block when `buffer` is `None`).
fn sum_by_blocks(
    block_bytes: usize,
    mut buffer: Option<&mut Vec<u8>>,
    mut read_at: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> io::Result<u64> {
    let mut sum = 0u64;
    let mut offset = 0u64;
    loop {
        let mut fresh;
        let block: &mut [u8] = match buffer.as_deref_mut() {
            Some(reused) => reused,
            None => {
                fresh = vec![0u8; block_bytes];
                &mut fresh
            }
        };
        let filled = fill_block(block, offset, &mut read_at)?;
        sum = sum.wrapping_add(checked_sum(&block[..filled]));
        offset += filled as u64;
        if filled < block_bytes {
            return Ok(sum);
        }
    }
}

/// One method over one file (or the anonymous buffer) for a series of
/// passes: holds the open file, the reused buffer and, for the methods that
/// map once, the mapping.
#[derive(Debug)]
pub struct MethodRun<'a> {
    pub method: Method,
    /// The read family's block size (0 for mappings and the ceiling).
    pub block_bytes: usize,
    size_bytes: usize,
    file: File,
    buffer: Vec<u8>,
    mapping: Option<Mmap>,
    anonymous: Option<&'a [u8]>,
}

impl<'a> MethodRun<'a> {
    /// Opens `data` for `method`. `anonymous` is the ceiling's buffer (only
    /// read by [`Method::MemoryCeiling`]); `block_bytes` must be a positive
    /// multiple of 8 for the read family, so every block starts at a word.
    pub fn open(
        method: Method,
        block_bytes: usize,
        data: &DataFile,
        anonymous: Option<&'a [u8]>,
    ) -> anyhow::Result<MethodRun<'a>> {
        let block_bytes = if method.family() == Family::Block {
            anyhow::ensure!(
                block_bytes > 0 && block_bytes.is_multiple_of(8),
                "block size {block_bytes} is not a positive multiple of 8 bytes"
            );
            block_bytes
        } else {
            0
        };
        if method == Method::MemoryCeiling {
            let buffer = anonymous.context("the memory ceiling needs its anonymous buffer")?;
            anyhow::ensure!(
                buffer.len() as u64 == data.size_bytes,
                "the anonymous buffer has {} bytes, the file {}",
                buffer.len(),
                data.size_bytes
            );
        }
        let reused_buffer = match method {
            Method::Read | Method::Pread | Method::MmapCopy => vec![0u8; block_bytes],
            _ => Vec::new(),
        };
        Ok(MethodRun {
            method,
            block_bytes,
            size_bytes: usize::try_from(data.size_bytes).context("file larger than memory")?,
            file: data.open()?,
            buffer: reused_buffer,
            mapping: None,
            anonymous,
        })
    }

    /// The open file, for residency checks and eviction.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Work that belongs before a pass but not in its time: rewinding the
    /// file offset for `read()`.
    pub fn prepare_pass(&mut self) -> anyhow::Result<()> {
        if matches!(self.method, Method::Read | Method::ReadFreshBuffer) {
            self.file
                .seek(SeekFrom::Start(0))
                .context("lseek to the start of the data file")?;
        }
        Ok(())
    }

    /// Drops the page-table entries of a kept mapping
    /// (`madvise(MADV_DONTNEED)`), so that the file's pages are no longer
    /// mapped and can be evicted, as reclaim would unmap them under memory
    /// pressure. The mapping itself stays; the next access faults again.
    pub fn unmap_pages(&mut self) -> anyhow::Result<()> {
        if let Some(mapping) = &self.mapping {
            // SAFETY: a read-only MAP_SHARED file mapping: dropping its page
            // table entries loses nothing; the next access faults the same
            // file bytes back in. No reference into it is alive here.
            unsafe { mapping.unchecked_advise(UncheckedAdvice::DontNeed) }
                .context("madvise(MADV_DONTNEED) on the kept mapping")?;
        }
        Ok(())
    }

    /// One pass over every byte of the file: the timed region. Returns the
    /// checksum of what was read.
    pub fn pass(&mut self) -> io::Result<u64> {
        let block = self.block_bytes;
        match self.method {
            Method::Read => {
                let mut file = &self.file;
                sum_by_blocks(block, Some(&mut self.buffer), |b, _| file.read(b))
            }
            Method::Pread => {
                let file = &self.file;
                sum_by_blocks(block, Some(&mut self.buffer), |b, at| file.read_at(b, at))
            }
            Method::ReadFreshBuffer => {
                let mut file = &self.file;
                sum_by_blocks(block, None, |b, _| file.read(b))
            }
            Method::MmapCopy => {
                if self.mapping.is_none() {
                    self.mapping = Some(map_file(&self.file, self.size_bytes, false)?);
                }
                let mapping = self.mapping.as_deref().unwrap_or_default();
                let mut sum = 0u64;
                for chunk in mapping.chunks(block) {
                    let copy = &mut self.buffer[..chunk.len()];
                    copy.copy_from_slice(chunk);
                    sum = sum.wrapping_add(checked_sum(std::hint::black_box(copy)));
                }
                Ok(sum)
            }
            Method::MmapReused => {
                if self.mapping.is_none() {
                    self.mapping = Some(map_file(&self.file, self.size_bytes, false)?);
                }
                Ok(checked_sum(self.mapping.as_deref().unwrap_or_default()))
            }
            Method::MmapPerPass | Method::MmapPopulate | Method::MmapSequential => {
                let populate = self.method == Method::MmapPopulate;
                let mapping = map_file(&self.file, self.size_bytes, populate)?;
                if self.method == Method::MmapSequential {
                    mapping.advise(Advice::Sequential)?;
                }
                let sum = checked_sum(&mapping);
                drop(mapping); // munmap, inside the pass
                Ok(sum)
            }
            Method::MemoryCeiling => Ok(checked_sum(self.anonymous.unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_calls_count_the_end_of_file_read() {
        for (size, block, calls) in [
            (4096, 4096, 2),
            (4097, 4096, 3),
            (1 << 20, 4096, 257),
            (1 << 20, 16 << 20, 2),
            (0, 4096, 1),
        ] {
            assert_eq!(expected_read_calls(size, block), calls, "{size} / {block}");
        }
    }

    #[test]
    fn every_method_reproduces_the_checksum_of_a_real_file() {
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = mmlab_core::DataDir::create(Some(base.path())).unwrap();
        // Not a multiple of any block size: the last block is partial.
        let data = dir.create_file("sum", (1 << 20) + 4104).unwrap();
        let anonymous: Vec<u8> = std::fs::read(&data.path).unwrap();
        let methods = Method::FILE_METHODS.iter().chain([&Method::MemoryCeiling]);
        for method in methods {
            for block in [4096usize, 65_536, 16 << 20] {
                let mut run = MethodRun::open(*method, block, &data, Some(&anonymous)).unwrap();
                for pass in 0..3 {
                    run.prepare_pass().unwrap();
                    let sum = run.pass().unwrap();
                    assert_eq!(
                        sum,
                        data.checksum,
                        "{} block {block} pass {pass}",
                        method.name()
                    );
                }
            }
        }
    }

    #[test]
    fn a_block_size_that_is_not_a_word_multiple_is_refused() {
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = mmlab_core::DataDir::create(Some(base.path())).unwrap();
        let data = dir.create_file("odd", 4096).unwrap();
        let error = MethodRun::open(Method::Read, 100, &data, None).unwrap_err();
        assert!(error.to_string().contains("multiple of 8"), "{error}");
    }
}
