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

use crate::buffer::{PlacedBuffer, page_offset};
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
    /// size: one thread's memory bandwidth, which every method (one thread
    /// each) is measured against.
    MemoryCeiling,
    /// The same kernel over the same buffer in one thread per CPU, each
    /// over its own contiguous part: the machine's memory bandwidth.
    MemoryCeilingAllCpus,
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
            Method::MemoryCeilingAllCpus => "memory-ceiling-all-cpus",
        }
    }

    /// The method a result file names.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::FILE_METHODS
            .into_iter()
            .chain([Method::MemoryCeiling, Method::MemoryCeilingAllCpus])
            .find(|m| m.name() == name)
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
            Method::MemoryCeiling | Method::MemoryCeilingAllCpus => Family::Ceiling,
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
            Method::MemoryCeiling | Method::MemoryCeilingAllCpus => None,
        }
    }

    /// Whether a pass makes one `read`/`pread` call per block, plus the one
    /// that returns 0 at end of file.
    pub fn reads_blocks(self) -> bool {
        matches!(self, Method::Read | Method::Pread | Method::ReadFreshBuffer)
    }

    /// Whether the method reads into a buffer of its own that the run
    /// places (read, pread, and mmap-copy's copy target); read-fresh-buffer
    /// takes whatever the allocator returns, which is its point.
    pub fn places_buffer(self) -> bool {
        matches!(self, Method::Read | Method::Pread | Method::MmapCopy)
    }

    /// Whether the method reads the data file (every method but the
    /// ceilings).
    pub fn reads_file(self) -> bool {
        self.family() != Family::Ceiling
    }
}

/// One series' method: what a repetition runs, and what a sample records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    pub method: Method,
    /// The read family's block size; 0 for methods that take none.
    pub block_bytes: u64,
    /// Bytes past a page boundary where the method's buffer starts (0 by
    /// default; the full profile's alignment axis tries others).
    pub buffer_offset: u64,
}

impl Config {
    pub fn new(method: Method, block_bytes: u64) -> Config {
        Config {
            method,
            block_bytes: if method.family() == Family::Block {
                block_bytes
            } else {
                0
            },
            buffer_offset: 0,
        }
    }

    pub fn at_offset(self, buffer_offset: u64) -> Config {
        Config {
            buffer_offset,
            ..self
        }
    }

    /// `read 64k`, `read 64k +16`, `mmap-reused`.
    pub fn series(&self) -> String {
        series_name(self.method, self.block_bytes, self.buffer_offset)
    }
}

/// `read 64k` for the read family (`read 64k +16` with its buffer 16 bytes
/// past a page), the method's name otherwise.
pub fn series_name(method: Method, block_bytes: u64, buffer_offset: u64) -> String {
    if method.family() == Family::Block {
        let base = format!(
            "{} {}",
            method.name(),
            mmlab_core::size::format_size_short(block_bytes)
        );
        if buffer_offset == 0 {
            base
        } else {
            format!("{base} +{buffer_offset}")
        }
    } else {
        method.name().to_string()
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

/// The page offsets of the buffers a pass read into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offsets {
    /// The first buffer's offset past a page.
    pub first: Option<u64>,
    /// Whether a later buffer started at another offset (fresh buffers).
    pub varied: bool,
}

impl Offsets {
    fn saw(&mut self, pointer: *const u8) {
        let offset = page_offset(pointer);
        match self.first {
            None => self.first = Some(offset),
            Some(first) if first != offset => self.varied = true,
            Some(_) => {}
        }
    }
}

/// The sum of the file read block by block through `read_at`, into `buffer`
/// (or into a fresh buffer per block when `buffer` is `None`, whose offsets
/// go into `offsets`).
fn sum_by_blocks(
    block_bytes: usize,
    mut buffer: Option<&mut [u8]>,
    offsets: &mut Offsets,
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
                offsets.saw(fresh.as_ptr());
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

/// The sum of `bytes` in `threads` threads, each over its own contiguous
/// part (split at multiples of 64 bytes, so every part starts at a word of
/// the file and the parts' sums add up to the whole's).
pub fn sum_in_threads(bytes: &[u8], threads: usize) -> u64 {
    let threads = threads.max(1);
    let part = bytes.len().div_ceil(threads).next_multiple_of(64).max(64);
    std::thread::scope(|scope| {
        let handles: Vec<_> = bytes
            .chunks(part)
            .skip(1)
            .map(|chunk| scope.spawn(move || checked_sum(chunk)))
            .collect();
        let own = bytes.chunks(part).next().map_or(0, checked_sum);
        handles
            .into_iter()
            .map(|h| h.join().expect("a summing thread panicked"))
            .fold(own, u64::wrapping_add)
    })
}

/// What a kept mapping looks like after a pass (smaps): how much of it is
/// mapped, and how much of that with PMD (2 MiB) entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MappingState {
    pub rss_bytes: u64,
    pub file_pmd_mapped_bytes: u64,
}

/// One method over one file (or the anonymous buffer) for a series of
/// passes: holds the open file, the placed buffer and, for the methods that
/// map once, the mapping.
#[derive(Debug)]
pub struct MethodRun<'a> {
    pub method: Method,
    /// The read family's block size (0 for mappings and the ceiling).
    pub block_bytes: usize,
    size_bytes: usize,
    file: File,
    buffer: Option<PlacedBuffer>,
    mapping: Option<Mmap>,
    anonymous: Option<&'a [u8]>,
    /// Threads of the all-CPU ceiling.
    threads: usize,
    /// The buffers of the last pass.
    offsets: Offsets,
}

impl<'a> MethodRun<'a> {
    /// Opens `data` for `config`. `anonymous` is the ceilings' buffer (only
    /// read by the ceilings); `block_bytes` must be a positive multiple of 8
    /// for the read family, so every block starts at a word.
    pub fn open(
        config: Config,
        data: &DataFile,
        anonymous: Option<&'a [u8]>,
    ) -> anyhow::Result<MethodRun<'a>> {
        let method = config.method;
        let block_bytes = if method.family() == Family::Block {
            let block = config.block_bytes as usize;
            anyhow::ensure!(
                block > 0 && block.is_multiple_of(8),
                "block size {block} is not a positive multiple of 8 bytes"
            );
            block
        } else {
            0
        };
        if method.family() == Family::Ceiling {
            let buffer = anonymous.context("the memory ceiling needs its anonymous buffer")?;
            anyhow::ensure!(
                buffer.len() as u64 == data.size_bytes,
                "the anonymous buffer has {} bytes, the file {}",
                buffer.len(),
                data.size_bytes
            );
        }
        let buffer = if method.places_buffer() {
            Some(PlacedBuffer::new(
                block_bytes,
                config.buffer_offset as usize,
            )?)
        } else {
            None
        };
        Ok(MethodRun {
            method,
            block_bytes,
            size_bytes: usize::try_from(data.size_bytes).context("file larger than memory")?,
            file: data.open()?,
            buffer,
            mapping: None,
            anonymous,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            offsets: Offsets::default(),
        })
    }

    /// The open file, for residency checks and eviction.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// Threads the pass sums in (1 but for the all-CPU ceiling).
    pub fn threads(&self) -> usize {
        if self.method == Method::MemoryCeilingAllCpus {
            self.threads
        } else {
            1
        }
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

    /// Starts the series over: a kept mapping is unmapped, so that the next
    /// pass is a first pass again (its `mmap` and faults included).
    pub fn restart(&mut self) {
        self.mapping = None;
    }

    /// Drops the page-table entries of a kept mapping
    /// (`madvise(MADV_DONTNEED)`), so that `POSIX_FADV_DONTNEED`, which
    /// skips mapped pages, can evict the file's pages. (Reclaim would evict
    /// them mapped: it unmaps them itself.) The mapping itself stays; the
    /// next access faults again.
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

    /// The page offset of the buffer the last pass read into (the first
    /// one, for fresh buffers) and whether fresh buffers varied; `None` for
    /// methods without a buffer.
    pub fn buffer_offsets(&self) -> Offsets {
        match &self.buffer {
            Some(buffer) => Offsets {
                first: Some(buffer.page_offset()),
                varied: false,
            },
            None => self.offsets,
        }
    }

    /// The kept mapping's RSS and PMD-mapped bytes (smaps), `None` without
    /// a kept mapping or where smaps is unreadable.
    pub fn mapping_state(&self) -> Option<MappingState> {
        let mapping = self.mapping.as_ref()?;
        let entry = mmlab_core::pages::smaps_entry(None, mapping.as_ptr() as usize).ok()?;
        Some(MappingState {
            rss_bytes: entry.kib("Rss") * 1024,
            file_pmd_mapped_bytes: entry.kib("FilePmdMapped") * 1024,
        })
    }

    /// [`plain_read_loop`] over this run's file and buffer (read only):
    /// the same work as a `read` pass, with nothing around it. Returns the
    /// sum and the elapsed nanoseconds.
    pub fn plain_pass(&mut self) -> io::Result<(u64, u64)> {
        if self.method != Method::Read {
            return Err(io::Error::other("the plain loop is read()'s"));
        }
        let buffer = self
            .buffer
            .as_mut()
            .map(PlacedBuffer::as_mut_slice)
            .ok_or_else(|| io::Error::other("the plain loop needs a read buffer"))?;
        plain_read_loop(&self.file, buffer)
    }

    /// One pass over every byte of the file: the timed region. Returns the
    /// checksum of what was read.
    pub fn pass(&mut self) -> io::Result<u64> {
        let block = self.block_bytes;
        let buffer = self.buffer.as_mut().map(PlacedBuffer::as_mut_slice);
        match self.method {
            Method::Read => {
                let mut file = &self.file;
                sum_by_blocks(block, buffer, &mut self.offsets, |b, _| file.read(b))
            }
            Method::Pread => {
                let file = &self.file;
                sum_by_blocks(block, buffer, &mut self.offsets, |b, at| {
                    file.read_at(b, at)
                })
            }
            Method::ReadFreshBuffer => {
                let mut file = &self.file;
                self.offsets = Offsets::default();
                sum_by_blocks(block, None, &mut self.offsets, |b, _| file.read(b))
            }
            Method::MmapCopy => {
                if self.mapping.is_none() {
                    self.mapping = Some(map_file(&self.file, self.size_bytes, false)?);
                }
                let mapping = self.mapping.as_deref().unwrap_or_default();
                let buffer = buffer.unwrap_or_default();
                let mut sum = 0u64;
                for chunk in mapping.chunks(block) {
                    let copy = &mut buffer[..chunk.len()];
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
            Method::MemoryCeilingAllCpus => Ok(sum_in_threads(
                self.anonymous.unwrap_or_default(),
                self.threads,
            )),
        }
    }
}

/// The plain loop the harness is checked against: read() into `buffer`
/// until end of file, each block summed by the same kernel, timed by the
/// clock alone (no counter set, no closure, no bookkeeping). Returns the
/// sum and the elapsed nanoseconds. `file` must be at offset 0.
pub fn plain_read_loop(file: &File, buffer: &mut [u8]) -> io::Result<(u64, u64)> {
    let mut file = file;
    let start = std::time::Instant::now();
    let mut sum = 0u64;
    loop {
        let n = file.read(buffer)?;
        if n == 0 {
            break;
        }
        sum = sum.wrapping_add(checked_sum(&buffer[..n]));
    }
    Ok((sum, start.elapsed().as_nanos() as u64))
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
        let methods = Method::FILE_METHODS
            .iter()
            .chain([&Method::MemoryCeiling, &Method::MemoryCeilingAllCpus]);
        for method in methods {
            for block in [4096u64, 65_536, 16 << 20] {
                for offset in [0u64, 16, 2048] {
                    let config = Config::new(*method, block).at_offset(offset);
                    let mut run = MethodRun::open(config, &data, Some(&anonymous)).unwrap();
                    for pass in 0..3 {
                        run.prepare_pass().unwrap();
                        let sum = run.pass().unwrap();
                        assert_eq!(sum, data.checksum, "{} pass {pass}", config.series());
                        if method.places_buffer() {
                            assert_eq!(run.buffer_offsets().first, Some(offset));
                        }
                    }
                    run.restart();
                    run.prepare_pass().unwrap();
                    assert_eq!(
                        run.pass().unwrap(),
                        data.checksum,
                        "{} restarted",
                        config.series()
                    );
                }
            }
        }
        // The plain loop, and the threads' parts, add up to the same sum.
        let mut buffer = PlacedBuffer::new(4096, 0).unwrap();
        let (sum, _) = plain_read_loop(&data.open().unwrap(), buffer.as_mut_slice()).unwrap();
        assert_eq!(sum, data.checksum);
        for threads in [1, 2, 3, 7] {
            assert_eq!(
                sum_in_threads(&anonymous, threads),
                data.checksum,
                "{threads} threads"
            );
        }
    }

    #[test]
    fn fresh_buffers_record_where_the_allocator_put_them() {
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = mmlab_core::DataDir::create(Some(base.path())).unwrap();
        let data = dir.create_file("fresh", 1 << 20).unwrap();
        let mut run =
            MethodRun::open(Config::new(Method::ReadFreshBuffer, 65_536), &data, None).unwrap();
        run.prepare_pass().unwrap();
        run.pass().unwrap();
        let offsets = run.buffer_offsets();
        assert!(offsets.first.is_some_and(|o| o < 4096), "{offsets:?}");
        let mapped = MethodRun::open(Config::new(Method::MmapReused, 0), &data, None).unwrap();
        assert_eq!(mapped.buffer_offsets(), Offsets::default());
        assert_eq!(
            Config::new(Method::Read, 4096).at_offset(16).series(),
            "read 4k +16"
        );
        assert_eq!(
            Config::new(Method::MmapReused, 4096).series(),
            "mmap-reused"
        );
    }

    #[test]
    fn a_block_size_that_is_not_a_word_multiple_is_refused() {
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = mmlab_core::DataDir::create(Some(base.path())).unwrap();
        let data = dir.create_file("odd", 4096).unwrap();
        let error = MethodRun::open(Config::new(Method::Read, 100), &data, None).unwrap_err();
        assert!(error.to_string().contains("multiple of 8"), "{error}");
    }
}
