//! One mapping under test: a file or anonymous mmap that is touched page by
//! page, asked which of its pages are in memory (mincore), which are mapped
//! in this process's page table (/proc/self/pagemap), and unmapped on drop.
//!
//! Every `unsafe` of the experiment lives here, in small functions with
//! their reasons. Touching is done with volatile accesses on the calling
//! thread and allocates nothing, so a measured region around a touch counts
//! the faults of the touch and nothing else.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

use anyhow::{Context, bail};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags};

use mmlab_core::fingerprint::page_size;

/// The madvise(2) advice values the experiment compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Normal,
    Sequential,
    Random,
    WillNeed,
    PopulateRead,
    PopulateWrite,
    HugePage,
    NoHugePage,
}

impl Advice {
    /// The name as in madvise(2): `MADV_RANDOM`.
    pub fn name(self) -> &'static str {
        match self {
            Advice::Normal => "MADV_NORMAL",
            Advice::Sequential => "MADV_SEQUENTIAL",
            Advice::Random => "MADV_RANDOM",
            Advice::WillNeed => "MADV_WILLNEED",
            Advice::PopulateRead => "MADV_POPULATE_READ",
            Advice::PopulateWrite => "MADV_POPULATE_WRITE",
            Advice::HugePage => "MADV_HUGEPAGE",
            Advice::NoHugePage => "MADV_NOHUGEPAGE",
        }
    }

    fn to_nix(self) -> MmapAdvise {
        match self {
            Advice::Normal => MmapAdvise::MADV_NORMAL,
            Advice::Sequential => MmapAdvise::MADV_SEQUENTIAL,
            Advice::Random => MmapAdvise::MADV_RANDOM,
            Advice::WillNeed => MmapAdvise::MADV_WILLNEED,
            Advice::PopulateRead => MmapAdvise::MADV_POPULATE_READ,
            Advice::PopulateWrite => MmapAdvise::MADV_POPULATE_WRITE,
            Advice::HugePage => MmapAdvise::MADV_HUGEPAGE,
            Advice::NoHugePage => MmapAdvise::MADV_NOHUGEPAGE,
        }
    }
}

/// How a mapping is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MapOptions {
    /// MAP_PRIVATE instead of MAP_SHARED (file mappings; anonymous
    /// mappings are always private here).
    pub private: bool,
    /// MAP_POPULATE: fault every page in inside the mmap call.
    pub populate: bool,
}

/// A live mapping, unmapped when dropped.
#[derive(Debug)]
pub struct Mapping {
    address: NonNull<libc::c_void>,
    length: usize,
    writable: bool,
}

impl Mapping {
    /// Maps the first `length` bytes of `file` read-only (PROT_READ).
    /// Makes one mmap system call and touches nothing.
    pub fn file(file: &File, length: usize, options: MapOptions) -> anyhow::Result<Mapping> {
        let size = NonZeroUsize::new(length).context("mmap of an empty range")?;
        let mut flags = if options.private {
            MapFlags::MAP_PRIVATE
        } else {
            MapFlags::MAP_SHARED
        };
        if options.populate {
            flags |= MapFlags::MAP_POPULATE;
        }
        // SAFETY: a fresh mapping at an address the kernel chooses (no
        // MAP_FIXED), so no existing memory is replaced; it is read-only and
        // only accessed through this value, which unmaps it on drop.
        let address = unsafe {
            nix::sys::mman::mmap(None, size, ProtFlags::PROT_READ, flags, file.as_fd(), 0)
        }
        .with_context(|| format!("mmap({length} bytes, PROT_READ, {flags:?}) of a data file"))?;
        Ok(Mapping {
            address,
            length,
            writable: false,
        })
    }

    /// A private anonymous read-write mapping of `length` bytes.
    pub fn anonymous(length: usize, options: MapOptions) -> anyhow::Result<Mapping> {
        let size = NonZeroUsize::new(length).context("mmap of an empty range")?;
        let mut flags = MapFlags::MAP_PRIVATE;
        if options.populate {
            flags |= MapFlags::MAP_POPULATE;
        }
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses;
        // nothing else refers to it and it is unmapped on drop.
        let address = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .with_context(|| {
            format!("mmap({length} bytes, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|{flags:?})")
        })?;
        Ok(Mapping {
            address,
            length,
            writable: true,
        })
    }

    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Pages of the mapping (the last one may be partial).
    pub fn number_of_pages(&self) -> usize {
        self.length.div_ceil(page_size())
    }

    pub fn address(&self) -> usize {
        self.address.as_ptr() as usize
    }

    /// madvise(2) over the whole mapping.
    pub fn advise(&self, advice: Advice) -> anyhow::Result<()> {
        // SAFETY: the range is exactly this live mapping. None of the advice
        // values used here discards data (no MADV_DONTNEED or MADV_FREE), so
        // no reference into the mapping can observe a change.
        unsafe { nix::sys::mman::madvise(self.address, self.length, advice.to_nix()) }
            .with_context(|| format!("madvise({}, {} bytes)", advice.name(), self.length))
    }

    /// Reads the first byte of each page in `pages` (page indices, in that
    /// order) and returns their wrapping sum, so the reads cannot be
    /// optimised away. Allocates nothing.
    ///
    /// Panics when an index is outside the mapping.
    pub fn read_pages(&self, pages: &[usize]) -> u64 {
        let n_pages = self.number_of_pages();
        let page = page_size();
        let base = self.address.as_ptr() as *const u8;
        let mut sum = 0u64;
        for &index in pages {
            assert!(
                index < n_pages,
                "page {index} outside a {n_pages}-page mapping"
            );
            // SAFETY: index < n_pages, so the byte lies inside this live,
            // readable mapping (the first byte of a page that overlaps the
            // mapped length, which is always below the file's end here).
            let byte = unsafe { std::ptr::read_volatile(base.add(index * page)) };
            sum = sum.wrapping_add(u64::from(byte));
        }
        sum
    }

    /// Sums every 8-byte word of the mapping with [`sum_le_words`] and
    /// returns the sum (the data file's checksum when the whole file is
    /// mapped): a pass that consumes every byte, like a read() pass that
    /// sums each block. Allocates nothing.
    pub fn sum_all(&self) -> u64 {
        // SAFETY: the slice covers exactly this live, readable mapping,
        // which lies within the file (the mapped length never exceeds the
        // file's size here, so no page past EOF raises SIGBUS) and stays
        // mapped until `self` is dropped, after the slice's last use. Nothing
        // writes the file while it is summed.
        let bytes =
            unsafe { std::slice::from_raw_parts(self.address.as_ptr() as *const u8, self.length) };
        checked_sum(bytes)
    }

    /// Writes `value` into the first byte of each page in `pages`.
    /// Allocates nothing. Panics on a read-only mapping or an index outside
    /// the mapping.
    pub fn write_pages(&self, pages: &[usize], value: u8) {
        assert!(self.writable, "write to a read-only mapping");
        let n_pages = self.number_of_pages();
        let page = page_size();
        let base = self.address.as_ptr() as *mut u8;
        for &index in pages {
            assert!(
                index < n_pages,
                "page {index} outside a {n_pages}-page mapping"
            );
            // SAFETY: index < n_pages and the mapping is PROT_WRITE and
            // private to this value, so the byte is valid to write.
            unsafe { std::ptr::write_volatile(base.add(index * page), value) };
        }
    }

    /// Residency per page as mincore(2) sees it: for a file mapping, whether
    /// the page is in the page cache (mapped here or not); for an anonymous
    /// one, whether it is in memory.
    pub fn residency(&self) -> anyhow::Result<Vec<bool>> {
        mmlab_core::pages::residency(self.address.as_ptr() as *const u8, self.length)
    }

    pub fn resident_pages(&self) -> anyhow::Result<u64> {
        Ok(count(&self.residency()?))
    }

    /// Per page, whether this process's page table maps it now (the
    /// "present" bit of /proc/self/pagemap; readable without root, which
    /// only hides frame numbers). Reading pagemap faults nothing in.
    pub fn mapped(&self) -> anyhow::Result<Vec<bool>> {
        let path = "/proc/self/pagemap";
        let mut file = File::open(path).with_context(|| format!("cannot open {path}"))?;
        let first = (self.address() / page_size()) as u64;
        file.seek(SeekFrom::Start(first * 8))
            .with_context(|| format!("cannot seek in {path}"))?;
        let mut bytes = vec![0u8; self.number_of_pages() * 8];
        file.read_exact(&mut bytes)
            .with_context(|| format!("cannot read {path}"))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|w| {
                let word = u64::from_le_bytes(w.try_into().expect("8 bytes"));
                word >> 63 & 1 == 1
            })
            .collect())
    }

    pub fn mapped_pages(&self) -> anyhow::Result<u64> {
        Ok(count(&self.mapped()?))
    }

    /// The mapping's smaps entry (AnonHugePages, FilePmdMapped, Rss...).
    pub fn smaps(&self) -> anyhow::Result<mmlab_core::pages::SmapsEntry> {
        mmlab_core::pages::smaps_entry(None, self.address())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the range this value mapped; no
        // reference into it outlives `self` (touches only return copies).
        let _ = unsafe { nix::sys::mman::munmap(self.address, self.length) };
    }
}

/// Number of `true` values.
pub fn count(flags: &[bool]) -> u64 {
    flags.iter().filter(|f| **f).count() as u64
}

/// The summing loop of every pass (the same as repeated-access's):
/// `mmlab_core::summing`, eight independent accumulators, so a pass
/// measures how the bytes arrive, not the loop.
pub use mmlab_core::summing::{checked_sum, sum_le_words};

/// Reads a whole file with read(2) into `buffer`, block by block (each
/// block filled up to the buffer's length or the end of the file, so every
/// block starts at a multiple of 8 bytes), and sums every block with
/// [`checked_sum`]: the read() pass that consumes every byte, as
/// [`Mapping::sum_all`] does through a mapping. Returns the bytes read and
/// the sum (the file's checksum). Allocates nothing.
pub fn sum_whole_file(file: &File, buffer: &mut [u8]) -> anyhow::Result<(u64, u64)> {
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).context("lseek to 0")?;
    let (mut total, mut sum) = (0u64, 0u64);
    loop {
        let mut filled = 0;
        while filled < buffer.len() {
            let n = reader
                .read(&mut buffer[filled..])
                .context("read(2) of a data file")?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        sum = sum.wrapping_add(checked_sum(&buffer[..filled]));
        total += filled as u64;
        if filled < buffer.len() {
            return Ok((total, sum));
        }
    }
}

/// Reads a whole file with read(2) in 1 MiB blocks into a buffer allocated
/// by the caller (so a measured region around it allocates nothing) and
/// returns the bytes read.
pub fn read_whole_file(file: &File, buffer: &mut [u8]) -> anyhow::Result<u64> {
    let mut reader = file;
    reader.seek(SeekFrom::Start(0)).context("lseek to 0")?;
    let mut total = 0u64;
    loop {
        let n = reader.read(buffer).context("read(2) of a data file")?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
    }
}

/// Makes the whole file resident in the page cache (read(2) when it is not
/// already) and returns the pages still missing afterwards (0 = warm).
pub fn warm_file(file: &File, buffer: &mut [u8]) -> anyhow::Result<u64> {
    let length = file.metadata().context("fstat of a data file")?.len();
    let n_pages = length.div_ceil(page_size() as u64);
    let resident = mmlab_core::pages::file_resident_pages(file.as_fd())?;
    if resident < n_pages {
        read_whole_file(file, buffer)?;
    }
    let resident = mmlab_core::pages::file_resident_pages(file.as_fd())?;
    Ok(n_pages - resident.min(n_pages))
}

/// Evicts the file from the page cache and checks with mincore; fails when
/// pages stay resident, because a "cold" measurement would then be false.
pub fn evict_file(file: &File) -> anyhow::Result<()> {
    let left = mmlab_core::pages::evict_file(file.as_fd())?;
    if left > 0 {
        bail!(
            "{left} pages of a data file stayed in the page cache after POSIX_FADV_DONTNEED, so no measurement can be cold (is the data folder on tmpfs? choose --data-dir on a disk filesystem)"
        );
    }
    Ok(())
}
