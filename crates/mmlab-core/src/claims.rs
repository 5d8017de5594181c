//! The claims registry (CLAIMS.md at the top of the repository is written
//! from it by `mmlab list --claims`): every checkable statement
//! of the seed notes, with its id. Experiments name claims by id; the report
//! prints the statement beside the verdict.

/// One statement of the notes and what decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimInfo {
    pub id: &'static str,
    pub statement: &'static str,
    pub decided_by: &'static str,
}

pub const CLAIMS: &[ClaimInfo] = &[
    ClaimInfo {
        id: "S1",
        statement: "mmap maps a file into the process's virtual memory",
        decided_by: "bytes read through the mapping equal the file's bytes; the mapping appears in /proc/self/maps with the file's path",
    },
    ClaimInfo {
        id: "S2",
        statement: "or it allocates anonymous memory, backed by no file, fd = -1",
        decided_by: "anonymous pages read as zero; no file in /proc/self/maps; what Linux does with an fd other than -1 under MAP_ANONYMOUS",
    },
    ClaimInfo {
        id: "S3",
        statement: "the page cache holds file data; the buffer cache holds metadata",
        decided_by: "on the lab's own scratch ext4, xfs and btrfs, each made cold by unmounting it: the data file's cached pages (mincore) and the block device's (cachestat) after reading file data vs after walking many files' metadata, /proc/meminfo Cached and Buffers beside them; with MMLAB_DROP_CACHES=1 also on the data folder's own filesystem",
    },
    ClaimInfo {
        id: "S4",
        statement: "read() copies page cache -> user buffer (a second physical copy); mmap's PTEs point at the page-cache page itself",
        decided_by: "physical frames from /proc/self/pagemap; memory cost (RSS/PSS, Cached) of both paths",
    },
    ClaimInfo {
        id: "S5",
        statement: "without mmap each read/write is a system call; with mmap one system call, then plain memory access",
        decided_by: "system calls counted per run for read() with each block size vs mmap, page faults beside them",
    },
    ClaimInfo {
        id: "S6",
        statement: "lazy loading: a block is loaded only when referenced",
        decided_by: "residency (mincore) after mmap and after touching k pages; faults per touched page, cold and warm",
    },
    ClaimInfo {
        id: "S7",
        statement: "start is a hint; NULL lets the kernel choose",
        decided_by: "a free hint is honoured, an occupied one is not; MAP_FIXED replaces; MAP_FIXED_NOREPLACE fails with EEXIST",
    },
    ClaimInfo {
        id: "S8",
        statement: "PROT_READ / PROT_WRITE / PROT_EXEC control access",
        decided_by: "each access kind against each protection in a child process; mprotect; an exec stub; EACCES from the fd's open mode",
    },
    ClaimInfo {
        id: "S9",
        statement: "MAP_PRIVATE: changes are invisible to other processes and never reach the file",
        decided_by: "another process and the file still see the old bytes; one fault and a new frame per written page",
    },
    ClaimInfo {
        id: "S10",
        statement: "MAP_SHARED: changes are visible to other processes and eventually reach the file",
        decided_by: "another process sees the write at once (prot-flags: the page cache read back with pread, so reaching storage is not measured there); writeback: the bytes on storage, read with O_DIRECT from the image of the lab's own scratch ext4 without writing anything back, page by page beside the page cache (pread) and the dirty flag (kpageflags), after each of msync(MS_ASYNC), msync(MS_SYNC), munmap, close, fsync of another descriptor, syncfs, and with no call at all, polled up to a bound (vm.dirty_expire_centisecs and vm.dirty_writeback_centisecs read, never changed)",
    },
    ClaimInfo {
        id: "S11",
        statement: "MAP_FILE is the default and need not be given",
        decided_by: "the same mapping with and without MAP_FILE behaves identically",
    },
    ClaimInfo {
        id: "S12",
        statement: "offset: map the file from this offset",
        decided_by: "an aligned offset maps those bytes; an unaligned one fails with EINVAL; past EOF: SIGBUS, zeros in the last page's tail",
    },
    ClaimInfo {
        id: "S13",
        statement: "the first access must bring the data into the page cache, a price read() and mmap both pay",
        decided_by: "cold-cache runs of both paths: major faults and read time beside warm runs",
    },
    ClaimInfo {
        id: "S14",
        statement: "for repeated access to the same content mmap is faster, if the page cache holds it",
        decided_by: "time per pass for read() (several block sizes) vs mmap over many passes, warm, cold and with too small a page cache",
    },
    ClaimInfo {
        id: "S15",
        statement: "after setup, mmap access does not trap into the kernel",
        decided_by: "faults and system calls during a second pass over a mapped, touched file: zero of both (lazy-loading); writeback: write passes over MAP_SHARED, MAP_PRIVATE and anonymous mappings, again at once and after msync(MS_SYNC), with the exceptions:page_fault_user tracepoint and getrusage (a shared page written back is write-protected again, so its next write faults)",
    },
    ClaimInfo {
        id: "S16",
        statement: "if you use fread(), there will always be overhead from the system call API (int 80, trapping into kernel space)",
        decided_by: "fread() calls against the read(2) system calls they cause (stdio buffers: most fread calls never enter the kernel); the cost of a trap through `syscall` vs `int $0x80` vs a vDSO call on this CPU, with its mitigations",
    },
    ClaimInfo {
        id: "L1",
        statement: "mmap is faster than read() whatever the file's size",
        decided_by: "one complete read of a warm file, open to close, mmap+munmap vs read() into a reused buffer, for sizes 4 KiB to 64 MiB: the crossover size",
    },
    ClaimInfo {
        id: "L2",
        statement: "mmap is faster for reading a file that is not cached, in any order",
        decided_by: "random 4 KiB reads of an evicted file: major faults through a mapping (one outstanding read per thread) vs pread() from several threads and io_uring with a queue",
    },
    ClaimInfo {
        id: "L3",
        statement: "unmapping costs nothing once the data is read",
        decided_by: "munmap/mprotect time and TLB shootdown interrupts against the number of threads that touched the mapping",
    },
    ClaimInfo {
        id: "L4",
        statement: "a failed or short read reaches the program the same way through mmap as through read()",
        decided_by: "a truncated file (or an I/O error): read() returns a short count or EIO, the mapping raises SIGBUS",
    },
];

/// The registry entry of a claim id, if it exists.
pub fn claim_info(id: &str) -> Option<&'static ClaimInfo> {
    CLAIMS.iter().find(|c| c.id == id)
}
