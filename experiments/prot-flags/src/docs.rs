//! The documentation sentences the expectations come from, quoted from the
//! Linux man-pages (6.03: mmap(2), mprotect(2), msync(2), sigaction(2),
//! proc(5), ioctl_iflags(2), open(2)) and POSIX.1-2008. Each case's
//! `expected_source` is one of these, so a student can find the sentence.

pub const PROT_READ: &str = "mmap(2): \"PROT_READ Pages may be read.\"";
pub const PROT_WRITE: &str = "mmap(2): \"PROT_WRITE Pages may be written.\"";
pub const PROT_EXEC: &str = "mmap(2): \"PROT_EXEC Pages may be executed.\"";
pub const PROT_VIOLATION: &str = "mprotect(2): \"If the calling process tries to access memory in a manner that violates the protections, then the kernel generates a SIGSEGV signal for the process.\"; sigaction(2): \"SEGV_ACCERR Invalid permissions for mapped object.\"";
pub const PROT_NONE: &str = "mmap(2): \"PROT_NONE Pages may not be accessed.\"; mprotect(2): POSIX \"must not allow any access if PROT_NONE has been set\"; sigaction(2): \"SEGV_ACCERR Invalid permissions for mapped object.\"";
pub const WRITE_WITHOUT_PROT_WRITE: &str = "mmap(2): \"SIGSEGV Attempted write into a region mapped as read-only.\"; mprotect(2): POSIX \"can allow write access only if PROT_WRITE has been set\"; sigaction(2): \"SEGV_ACCERR Invalid permissions for mapped object.\"";

pub const WRITE_IMPLIES_READ: &str =
    "mmap(2) NOTES: \"On some hardware architectures (e.g., i386), PROT_WRITE implies PROT_READ.\"";
pub const EXEC_VS_READ: &str = "mprotect(2) NOTES: \"Whether PROT_EXEC has any effect different from PROT_READ depends on processor architecture, kernel version, and process state.\"";
pub const EXEC_ONLY_PKEYS: &str = "Linux commit 62b5f7d013fc (4.6, \"mm/core, x86/mm/pkeys: Add execute-only protection keys support\"): \"If a user calls: mmap(..., PROT_EXEC); or mprotect(ptr, sz, PROT_EXEC); (note PROT_EXEC-only without PROT_READ/WRITE), the kernel will notice this, and set a special protection key on the memory. It also sets the appropriate bits in the Protection Keys User Rights (PKRU) register so that the memory becomes unreadable and unwritable.\"; pkeys(7): protection keys \"always act to further restrict these traditional permission mechanisms\" and \"If a process performs an access that violates pkey restrictions, it receives a SIGSEGV signal.\"; sigaction(2): \"SEGV_PKUERR (since Linux 4.6) Access was denied by memory protection keys.\"";
pub const EXEC_READABLE_WITHOUT_PKEYS: &str = "mprotect(2) NOTES: \"Whether PROT_EXEC has any effect different from PROT_READ depends on processor architecture, kernel version, and process state.\"; on x86_64 it has none without protection keys: Linux commit 62b5f7d013fc: \"Any PROT_EXEC calls get converted to PROT_READ inside the kernel\" (x86 page-table entries have no read-permission bit: a present user page is readable)";
pub const READ_IMPLIES_EXEC: &str =
    "mmap(2) NOTES: \"It is architecture dependent whether PROT_READ implies PROT_EXEC or not.\"";
pub const POSIX_MAY_PERMIT: &str = "mprotect(2) NOTES: \"POSIX.1 says that an implementation may permit access other than that specified in prot, but at a minimum can allow write access only if PROT_WRITE has been set, and must not allow any access if PROT_NONE has been set.\"";

pub const PROT_MUST_NOT_CONFLICT: &str = "mmap(2): \"The prot argument describes the desired memory protection of the mapping (and must not conflict with the open mode of the file).\"";
pub const EACCES_SHARED_WRITE: &str = "mmap(2) EACCES: \"Or MAP_SHARED was requested and PROT_WRITE is set, but fd is not open in read/write (O_RDWR) mode.\"";
pub const EACCES_NOT_READABLE: &str =
    "mmap(2) EACCES: \"Or a file mapping was requested, but fd is not open for reading.\"";
pub const EACCES_APPEND_ONLY: &str = "mmap(2) EACCES: \"Or PROT_WRITE is set, but the file is append-only.\"; ioctl_iflags(2): \"FS_APPEND_FL 'a' The file can be opened only with the O_APPEND flag.\"";
pub const O_APPEND_IS_NOT_APPEND_ONLY: &str = "mmap(2) EACCES names \"the file is append-only\", the inode attribute of ioctl_iflags(2) (\"FS_APPEND_FL 'a' The file can be opened only with the O_APPEND flag.\"), not the open flag; open(2): \"O_APPEND The file is opened in append mode.\" No sentence forbids mapping an O_APPEND fd";
pub const PRIVATE_NOT_CARRIED: &str = "mmap(2): \"MAP_PRIVATE Create a private copy-on-write mapping. Updates to the mapping are not visible to other processes mapping the same file, and are not carried through to the underlying file.\"; EACCES asks O_RDWR only for \"MAP_SHARED ... and PROT_WRITE\"";
pub const MPROTECT_EACCES: &str = "mprotect(2) EACCES: \"The memory cannot be given the specified access. This can happen, for example, if you mmap(2) a file to which you have read-only access, then ask mprotect() to mark it PROT_WRITE.\"";
pub const MPROTECT_PRIVATE_OK: &str = "mmap(2) asks O_RDWR only for \"MAP_SHARED ... and PROT_WRITE\" (EACCES), so a MAP_PRIVATE mapping of an O_RDONLY fd may be PROT_WRITE; mprotect(2) EACCES is given only \"for example\" for \"a file to which you have read-only access\"";
pub const MPROTECT_CHANGES: &str = "mprotect(2): \"mprotect() changes the access protections for the calling process's memory pages containing any part of the address range\"";
pub const MPROTECT_EINVAL: &str = "mprotect(2) EINVAL: \"addr is not a valid pointer, or not a multiple of the system page size.\"";
pub const MPROTECT_ENOMEM: &str = "mprotect(2) ENOMEM: \"Addresses in the range [addr, addr+len-1] are invalid for the address space of the process, or specify one or more pages that are not mapped.\"";

pub const SHARED_VISIBLE: &str = "mmap(2): \"MAP_SHARED Share this mapping. Updates to the mapping are visible to other processes mapping the same region, and (in the case of file-backed mappings) are carried through to the underlying file.\"";
pub const SHARED_BEFORE_MSYNC: &str = "mmap(2): \"(To precisely control when updates are carried through to the underlying file requires the use of msync(2).)\"; msync(2): \"Without use of this call, there is no guarantee that changes are written back before munmap(2) is called.\"";
pub const MSYNC_FLUSHES: &str = "msync(2): \"msync() flushes changes made to the in-core copy of a file that was mapped into memory using mmap(2) back to the filesystem.\"";
pub const AFTER_MUNMAP: &str = "msync(2): \"Without use of this call, there is no guarantee that changes are written back before munmap(2) is called.\"; mmap(2) MAP_SHARED: updates \"are carried through to the underlying file\"";
pub const PRIVATE_UNSPECIFIED: &str = "mmap(2) MAP_PRIVATE: \"It is unspecified whether changes made to the file after the mmap() call are visible in the mapped region.\"";

pub const FLAGS_EXACTLY_ONE: &str = "mmap(2): \"This behavior is determined by including exactly one of the following values in flags\" (MAP_SHARED, MAP_SHARED_VALIDATE, MAP_PRIVATE); POSIX: \"Either MAP_SHARED or MAP_PRIVATE can be specified, but not both.\"";
pub const FLAGS_NONE: &str =
    "mmap(2) EINVAL: \"flags contained none of MAP_PRIVATE, MAP_SHARED, or MAP_SHARED_VALIDATE.\"";
pub const VALIDATE_UNKNOWN: &str = "mmap(2): \"when creating a mapping using MAP_SHARED_VALIDATE, the kernel verifies all passed flags are known and fails the mapping with the error EOPNOTSUPP for unknown flags.\"";
pub const SHARED_IGNORES_UNKNOWN: &str = "mmap(2): \"MAP_SHARED_VALIDATE ... provides the same behavior as MAP_SHARED except that MAP_SHARED mappings ignore unknown flags in flags.\"";
pub const VALIDATE_SAME: &str =
    "mmap(2): \"MAP_SHARED_VALIDATE ... This flag provides the same behavior as MAP_SHARED\"";
pub const MAP_SYNC_NON_DAX: &str = "mmap(2): \"MAP_SYNC ... This flag is supported only for files supporting DAX (direct mapping of persistent memory). For other files, creating a mapping with this flag results in an EOPNOTSUPP error.\"";
pub const MAP_SYNC_DAX: &str = "mmap(2): \"MAP_SYNC ... This flag is available only with the MAP_SHARED_VALIDATE mapping type\" and \"This flag is supported only for files supporting DAX (direct mapping of persistent memory).\"";
pub const MAP_SYNC_SHARED_IGNORES: &str = "mmap(2): \"MAP_SYNC ... This flag is available only with the MAP_SHARED_VALIDATE mapping type; mappings of type MAP_SHARED will silently ignore this flag.\"";
pub const MAP_FILE: &str = "mmap(2): \"MAP_FILE Compatibility flag. Ignored.\"";
pub const ANONYMOUS_ZERO: &str = "mmap(2): \"MAP_ANONYMOUS The mapping is not backed by any file; its contents are initialized to zero.\"; proc(5): \"If the pathname field is blank, this is an anonymous mapping as obtained via mmap(2).\"";
pub const ANONYMOUS_FD_IGNORED: &str = "mmap(2): \"MAP_ANONYMOUS ... The fd argument is ignored; however, some implementations require fd to be -1 if MAP_ANONYMOUS (or MAP_ANON) is specified\"";
pub const POPULATE: &str = "mmap(2): \"MAP_POPULATE Populate (prefault) page tables for a mapping. For a file mapping, this causes read-ahead on the file. This will help to reduce blocking on page faults later.\"";
pub const HUGETLB_NO_POOL: &str = "mmap(2): \"MAP_HUGETLB Allocate the mapping using \\\"huge\\\" pages.\" and \"ENOMEM No memory is available.\"; hugetlbpage.rst: huge pages come from the pool sized by /proc/sys/vm/nr_hugepages (plus nr_overcommit_hugepages)";
pub const HUGETLB_WITH_POOL: &str = "mmap(2): \"MAP_HUGETLB Allocate the mapping using \\\"huge\\\" pages.\"; hugetlbpage.rst: huge pages come from the pool sized by /proc/sys/vm/nr_hugepages (free pages exist here)";

pub const HINT_NULL: &str = "mmap(2): \"If addr is NULL, then the kernel chooses the (page-aligned) address at which to create the mapping\"";
pub const HINT_FREE: &str = "mmap(2): \"If addr is not NULL, then the kernel takes it as a hint about where to place the mapping; on Linux, the kernel will pick a nearby page boundary (but always above or equal to the value specified by /proc/sys/vm/mmap_min_addr) and attempt to create the mapping there.\"";
pub const HINT_OCCUPIED: &str = "mmap(2): \"If another mapping already exists there, the kernel picks a new address that may or may not depend on the hint.\"";
pub const HINT_MIN_ADDR: &str = "mmap(2): \"the kernel will pick a nearby page boundary (but always above or equal to the value specified by /proc/sys/vm/mmap_min_addr)\"";
pub const FIXED_REPLACES: &str = "mmap(2): \"MAP_FIXED Don't interpret addr as a hint: place the mapping at exactly that address. ... If the memory region specified by addr and length overlaps pages of any existing mapping(s), then the overlapped part of the existing mapping(s) will be discarded.\"";
pub const FIXED_ALIGNED: &str = "mmap(2): \"MAP_FIXED ... addr must be suitably aligned: for most architectures a multiple of the page size is sufficient\"; EINVAL: \"We don't like addr, length, or offset (e.g., they are too large, or not aligned on a page boundary).\"";
pub const NOREPLACE_EEXIST: &str = "mmap(2) EEXIST: \"MAP_FIXED_NOREPLACE was specified in flags, and the range covered by addr and length clashes with an existing mapping.\"";
pub const NOREPLACE_FREE: &str = "mmap(2): \"MAP_FIXED_NOREPLACE ... provides behavior that is similar to MAP_FIXED with respect to the addr enforcement, but differs in that MAP_FIXED_NOREPLACE never clobbers a preexisting mapped range.\"";

pub const OFFSET_MAPS_BYTES: &str = "mmap(2): \"The contents of a file mapping ... are initialized using length bytes starting at offset offset in the file (or other object) referred to by the file descriptor fd.\"";
pub const OFFSET_ALIGNED: &str = "mmap(2): \"offset must be a multiple of the page size as returned by sysconf(_SC_PAGE_SIZE).\"; EINVAL: \"We don't like addr, length, or offset (e.g., they are too large, or not aligned on a page boundary).\"";
pub const SIGBUS_PAST_EOF: &str = "mmap(2): \"SIGBUS Attempted access to a page of the buffer that lies beyond the end of the mapped file.\"";
pub const TAIL_ZEROED: &str = "mmap(2) NOTES: \"A file is mapped in multiples of the page size. For a file that is not a multiple of the page size, the remaining bytes in the partial page at the end of the mapping are zeroed when mapped, and modifications to that region are not written out to the file.\"";
pub const TAIL_NEXT_MAPPING: &str = "mmap(2) BUGS: \"POSIX specifies that the system shall always zero fill any partial page at the end of the object ... On Linux, when you write data to such partial page after the end of the object, the data stays in the page cache ... subsequent mappings may see the modified content.\"";
pub const LEN_ZERO: &str = "mmap(2) EINVAL: \"(since Linux 2.6.12) length was 0.\"";
pub const PAGE_MULTIPLES: &str =
    "mmap(2) NOTES: \"A file is mapped in multiples of the page size.\"";

pub const FD_CLOSE: &str = "mmap(2): \"After the mmap() call has returned, the file descriptor, fd, can be closed immediately without invalidating the mapping.\"";
pub const MUNMAP_INVALID: &str = "munmap(2): \"causes further references to addresses within the range to generate invalid memory references\"; sigaction(2): \"SEGV_MAPERR Address not mapped to object.\"";
pub const FILE_IN_MAPS: &str =
    "proc(5): \"The pathname field will usually be the file that is backing the mapping.\"";
pub const SHARED_ACROSS_FORK: &str = "mmap(2) NOTES: \"Memory mapped by mmap() is preserved across fork(2), with the same attributes.\"; MAP_SHARED: \"Updates to the mapping are visible to other processes mapping the same region\"";
pub const PRIVATE_ACROSS_FORK: &str = "mmap(2) NOTES: \"Memory mapped by mmap() is preserved across fork(2), with the same attributes.\"; MAP_PRIVATE: \"Updates to the mapping are not visible to other processes mapping the same file\"";
pub const WRITE_TO_SHARED_SILENT: &str = "mmap(2) does not say whether write(2) to the file shows in an existing MAP_SHARED mapping (it speaks only of updates to the mapping); POSIX speaks only of \"write references\" to the mapping: either outcome is allowed here";

// fd and file type.
pub const EBADF: &str =
    "mmap(2) EBADF: \"fd is not a valid file descriptor (and MAP_ANONYMOUS was not set).\"";
pub const O_PATH_EBADF: &str = "open(2) O_PATH: \"The file itself is not opened, and other file operations (e.g., read(2), write(2), fchmod(2), fchown(2), fgetxattr(2), ioctl(2), mmap(2)) fail with the error EBADF.\"";
pub const NOT_MAPPABLE: &str = "mmap(2) EACCES: \"A file descriptor refers to a non-regular file.\" and ENODEV: \"The underlying filesystem of the specified file does not support memory mapping.\": both sentences name this fd, so either errno is documented";
pub const DEV_ZERO: &str = "zero(4): \"reads from /dev/zero always return bytes containing zero ('\\0' characters)\"; proc(5): \"The pathname field will usually be the file that is backing the mapping.\"";
pub const DEV_ZERO_SHARED: &str = "zero(4): \"reads from /dev/zero always return bytes containing zero\"; mmap(2) NOTES: \"Memory mapped by mmap() is preserved across fork(2), with the same attributes.\"; MAP_SHARED: \"Updates to the mapping are visible to other processes mapping the same region\"";
pub const MEMFD: &str = "memfd_create(2): \"The file behaves like a regular file, and so can be modified, truncated, memory-mapped, and so on.\" and \"The displayed name is always prefixed with memfd:\"; MAP_SHARED: updates \"are carried through to the underlying file\"";

// Length and offset limits.
pub const TOO_LARGE: &str = "mmap(2) EINVAL: \"We don't like addr, length, or offset (e.g., they are too large, or not aligned on a page boundary).\"; ENOMEM: \"No memory is available.\"";
pub const LEN_WRAPS: &str = "mmap(2) EINVAL: \"We don't like addr, length, or offset (e.g., they are too large, or not aligned on a page boundary).\" (the length is rounded up to a page multiple, which wraps to 0 for SIZE_MAX, and EINVAL \"(since Linux 2.6.12) length was 0.\")";
pub const FITS_ADDRESS_SPACE: &str = "mmap(2): \"The length argument specifies the length of the mapping (which must be greater than 0).\"; MAP_NORESERVE: \"Do not reserve swap space for this mapping.\" (PROT_NONE: nothing can be written, so nothing needs reserving)";
pub const OFFSET_HUGE_MAPS: &str = "mmap(2) lists EOVERFLOW only \"On 32-bit architecture together with the large file extension\"; on 64-bit an offset far past EOF is no error of mmap, and SIGBUS: \"Attempted access to a page of the buffer that lies beyond the end of the mapped file.\"";
pub const OFFSET_OVERFLOW: &str = "mmap(2) EOVERFLOW: \"On 32-bit architecture together with the large file extension (i.e., using 64-bit off_t): the number of pages used for length plus number of pages used for offset would overflow unsigned long (32 bits).\"; EINVAL: \"We don't like addr, length, or offset (e.g., they are too large ...)\": on 64-bit, offset plus length past the largest file offset is the same overflow";
pub const ADDR_BEYOND_CPU: &str = "mmap(2) ENOMEM: \"We don't like addr, because it exceeds the virtual address space of the CPU.\"";
pub const FIXED_FITS: &str = "mmap(2) MAP_FIXED: \"place the mapping at exactly that address\"; ENOMEM only where addr \"exceeds the virtual address space of the CPU\"";
pub const HINT_INVALID: &str = "mmap(2): \"If addr is not NULL, then the kernel takes it as a hint about where to place the mapping\" (a hint, so an address the process cannot have is no error)";

// The file changes under the mapping.
pub const TRUNCATE_SIGBUS: &str = "truncate(2): \"If the file previously was larger than this size, the extra data is lost.\"; mmap(2) SIGBUS: \"Attempted access to a page of the buffer that lies beyond the end of the mapped file.\"";
pub const TRUNCATE_KEEPS_FRONT: &str = "truncate(2): \"cause the regular file ... to be truncated to a size of precisely length bytes\" (the bytes before it stay); mmap(2) SIGBUS is only for \"a page of the buffer that lies beyond the end of the mapped file\"";
pub const TRUNCATE_TAIL_ZERO: &str = "mmap(2) NOTES: \"For a file that is not a multiple of the page size, the remaining bytes in the partial page at the end of the mapping are zeroed when mapped\"; truncate(2): \"the extra data is lost\"";
pub const TRUNCATE_GROWS_ZERO: &str = "truncate(2): \"If the file previously was shorter, it is extended, and the extended part reads as null bytes ('\\0').\"";
pub const TRUNCATE_PRIVATE: &str = "mmap(2) SIGBUS: \"Attempted access to a page of the buffer that lies beyond the end of the mapped file.\"; MAP_PRIVATE: \"It is unspecified whether changes made to the file after the mmap() call are visible in the mapped region.\": either outcome is documented";
pub const EXTEND_SEEN: &str = "mmap(2) SIGBUS is only for \"a page of the buffer that lies beyond the end of the mapped file\" (after the extension the page lies within it); MAP_SHARED: \"Share this mapping.\"; POSIX mmap(): \"The mmap() function shall establish a mapping between a process' address space and a file\"";
pub const LENGTH_FIXED: &str = "mmap(2): \"The length argument specifies the length of the mapping (which must be greater than 0).\" (nothing makes a mapping grow with its file)";
pub const UNLINK_MAPPED: &str = "POSIX mmap(): \"The mmap() function shall add an extra reference to the file associated with the file descriptor fildes which is not removed by a subsequent close() on that file descriptor. This reference shall be removed when there are no more mappings to the file.\"";

// /proc/self/maps.
pub const MAPS_PERMS: &str = "proc(5) /proc/pid/maps: \"The perms field is a set of permissions: r = read, w = write, x = execute, s = shared, p = private (copy on write)\"; the accesses as mmap(2) and mprotect(2) state them (PROT_READ \"Pages may be read\", PROT_WRITE \"may be written\", PROT_EXEC \"may be executed\"; a violation \"generates a SIGSEGV\")";
pub const MAPS_COLUMNS: &str = "proc(5): \"The offset field is the offset into the file/whatever; dev is the device (major:minor); inode is the inode on that device. 0 indicates that no inode is associated with the memory region, as would be the case with BSS (uninitialized data).\"";
pub const MAPS_SPLIT: &str = "mprotect(2) ENOMEM: \"(For example, making the protection of a range PROT_READ in the middle of a region currently protected as PROT_READ|PROT_WRITE would result in three mappings: two read/write mappings at each end and a read-only mapping in the middle.)\"";
pub const MAPS_MERGE: &str = "no page says whether adjacent mappings with equal attributes are shown as one line again; proc(5) shows one line per \"mapped memory region\": either is documented";

// munmap.
pub const MUNMAP_NOTHING: &str = "mmap(2) munmap(): \"It is not an error if the indicated range does not contain any mapped pages.\"";
pub const MUNMAP_ALIGNED: &str = "mmap(2) munmap(): \"The address addr must be a multiple of the page size (but length need not be).\"; EINVAL: \"We don't like addr, length, or offset (e.g., they are too large, or not aligned on a page boundary).\"";
pub const MUNMAP_WHOLE_PAGES: &str = "mmap(2) munmap(): \"All pages containing a part of the indicated range are unmapped, and subsequent references to these pages will generate SIGSEGV.\"; sigaction(2): \"SEGV_MAPERR Address not mapped to object.\"";
pub const MUNMAP_SIDES: &str = "mmap(2) munmap(): \"deletes the mappings for the specified address range\" (only that range); ENOMEM: \"unmapping a region in the middle of an existing mapping ... results in two smaller mappings on either side of the region being unmapped.\"";

// msync.
pub const MSYNC_EINVAL: &str = "msync(2) EINVAL: \"addr is not a multiple of PAGESIZE; or any bit other than MS_ASYNC | MS_INVALIDATE | MS_SYNC is set in flags; or both MS_SYNC and MS_ASYNC are set in flags.\"";
pub const MSYNC_ENOMEM: &str =
    "msync(2) ENOMEM: \"The indicated memory (or part of it) was not mapped.\"";
pub const MSYNC_EBUSY: &str = "msync(2) EBUSY: \"MS_INVALIDATE was specified in flags, and a memory lock exists for the specified address range.\"";
pub const MSYNC_NO_FLAG: &str = "msync(2): \"The flags argument should specify exactly one of MS_ASYNC and MS_SYNC\"; NOTES: \"Linux permits a call to msync() that specifies neither of these flags, with semantics that are (currently) equivalent to specifying MS_ASYNC.\"";
pub const MSYNC_ANONYMOUS: &str = "msync(2) \"flushes changes made to the in-core copy of a file\"; its ERRORS name nothing for an anonymous range (no sentence applies: success)";
pub const MSYNC_ASYNC_NOOP: &str = "msync(2) NOTES: \"Since Linux 2.6.19, MS_ASYNC is in fact a no-op, since the kernel properly tracks dirty pages and flushes them to storage as necessary.\"";
pub const MSYNC_SYNC_WAITS: &str =
    "msync(2): \"MS_SYNC Requests an update and waits for it to complete.\"";

// madvise.
pub const MADV_EINVAL_ADVICE: &str = "madvise(2) EINVAL: \"advice is not a valid.\"";
pub const MADV_EINVAL_ADDR: &str =
    "madvise(2) EINVAL: \"addr is not page-aligned or length is negative.\"";
pub const MADV_ENOMEM: &str = "madvise(2) ENOMEM: \"Addresses in the specified range are not currently mapped, or are outside the address space of the process.\"";
pub const MADV_DONTNEED: &str = "madvise(2) MADV_DONTNEED: \"subsequent accesses of pages in the range will succeed, but will result in either repopulating the memory contents from the up-to-date contents of the underlying mapped file ... or zero-fill-on-demand pages for anonymous private mappings.\"";
pub const MADV_DONTNEED_LOCKED: &str = "madvise(2) EINVAL: \"advice is MADV_DONTNEED or MADV_REMOVE and the specified address range includes locked, Huge TLB pages, or VM_PFNMAP pages.\"";
pub const MADV_FREE: &str = "madvise(2) MADV_FREE: \"the freeing could be delayed until memory pressure occurs ... Once pages in the range have been freed, the caller will see zero-fill-on-demand pages upon subsequent page references.\": the written byte or zero";
pub const MADV_FREE_FILE: &str = "madvise(2) EINVAL: \"advice is MADV_FREE or MADV_WIPEONFORK but the specified address range includes file, Huge TLB, MAP_SHARED, or VM_PFNMAP ranges.\"";
pub const MADV_REMOVE: &str = "madvise(2) MADV_REMOVE: \"This is equivalent to punching a hole in the corresponding range of the backing store (see fallocate(2)). Subsequent accesses in the specified address range will see data with a value of zero.\" and \"since Linux 3.5, any filesystem which supports the fallocate(2) FALLOC_FL_PUNCH_HOLE mode also supports MADV_REMOVE.\"";
pub const MADV_REMOVE_PRIVATE: &str = "madvise(2) EACCES: \"advice is MADV_REMOVE, but the specified address range is not a shared writable mapping.\"";
pub const MADV_WILLNEED: &str = "madvise(2) MADV_WILLNEED: \"Expect access in the near future. (Hence, it might be a good idea to read some pages ahead.)\": no outcome is promised, the numbers are data";
pub const MADV_POPULATE_READ: &str = "madvise(2) MADV_POPULATE_READ: \"Populate (prefault) page tables readable, faulting in all pages in the range just as if manually reading from each page\" and \"If MADV_POPULATE_READ succeeds, all page tables have been populated (prefaulted) readable once.\"";
pub const MADV_POPULATE_WRITE: &str = "madvise(2) MADV_POPULATE_WRITE: \"Populate (prefault) page tables writable, faulting in all pages in the range just as if manually writing to each each page\" and \"If MADV_POPULATE_WRITE succeeds, all page tables have been populated (prefaulted) writable once.\"";
pub const MADV_POPULATE_PERMS: &str = "madvise(2) EINVAL: \"advice is MADV_POPULATE_READ or MADV_POPULATE_WRITE, but the specified address range includes ranges with insufficient permissions\"";
pub const MADV_POPULATE_SIGBUS: &str = "madvise(2) EFAULT: \"advice is MADV_POPULATE_READ or MADV_POPULATE_WRITE, and populating (prefaulting) page tables failed because a SIGBUS would have been generated on actual memory access\"";
pub const MADV_DONTFORK: &str = "madvise(2) MADV_DONTFORK: \"Do not make the pages in this range available to the child after a fork(2).\"; sigaction(2): \"SEGV_MAPERR Address not mapped to object.\"";
pub const MADV_DOFORK: &str = "madvise(2) MADV_DOFORK: \"Undo the effect of MADV_DONTFORK, restoring the default behavior, whereby a mapping is inherited across fork(2).\"";
pub const MADV_WIPEONFORK: &str = "madvise(2) MADV_WIPEONFORK: \"Present the child process with zero-filled memory in this range after a fork(2).\"";

// mincore.
pub const MINCORE_EINVAL: &str = "mincore(2) EINVAL: \"addr is not a multiple of the page size.\"";
pub const MINCORE_ENOMEM: &str =
    "mincore(2) ENOMEM: \"addr to addr + length contained unmapped memory.\"";
pub const MINCORE_EFAULT: &str = "mincore(2) EFAULT: \"vec points to an invalid address.\"";
pub const MINCORE_TOO_LONG: &str =
    "mincore(2) ENOMEM: \"length is greater than (TASK_SIZE - addr).\"";
pub const MINCORE_UNTOUCHED: &str = "mincore(2): \"the least significant bit of each byte will be set if the corresponding page is currently resident in memory\"; mmap(2) MAP_POPULATE (\"Populate (prefault) page tables\") is what it takes for pages to exist before the first touch";
pub const MINCORE_TOUCHED: &str = "mincore(2): \"the least significant bit of each byte will be set if the corresponding page is currently resident in memory\" (a page just written is in memory)";
pub const MINCORE_PAGE_CACHE: &str = "mmap(2) NOTES: \"An application can determine which pages of a mapping are currently resident in the buffer/page cache using mincore(2).\"; mm/mincore.c (Linux 5.2 and later): \"Reveal pagecache information only for non-anonymous mappings that correspond to the files the calling process could (if tried) open for writing\"";
pub const MINCORE_HIDDEN: &str = "mm/mincore.c (Linux 5.2 and later): \"Reveal pagecache information only for non-anonymous mappings that correspond to the files the calling process could (if tried) open for writing; otherwise we'd be including shared non-exclusive mappings, which opens a side channel.\" (do_mincore() then reports every page of such a mapping as resident)";

// Locking.
pub const MAP_LOCKED: &str = "mmap(2) MAP_LOCKED: \"Mark the mapped region to be locked in the same way as mlock(2). This implementation will try to populate (prefault) the whole range\"; proc(5) /proc/pid/smaps: \"The \\\"Locked\\\" indicates whether the mapping is locked in memory or not.\"";
pub const LOCKED_SMAPS: &str = "proc(5) /proc/pid/smaps: \"The \\\"Locked\\\" indicates whether the mapping is locked in memory or not.\"; mlock(2): \"mlock(), mlock2(), and mlockall() lock part or all of the calling process's virtual address space into RAM, preventing that memory from being paged to the swap area.\"";
pub const MUNLOCK: &str = "mlock(2): \"munlock() unlocks pages in the address range starting at addr and continuing for len bytes.\"";
pub const MLOCK_ROUNDS: &str = "mlock(2) NOTES: \"Under Linux, mlock(), mlock2(), and munlock() automatically round addr down to the nearest page boundary.\"";
pub const MLOCK_ENOMEM_UNMAPPED: &str = "mlock(2) ENOMEM: \"Some of the specified address range does not correspond to mapped pages in the address space of the process.\"";
pub const MLOCK_ONFAULT: &str = "mlock2(2) MLOCK_ONFAULT: \"Lock pages that are currently resident and mark the entire range so that the remaining nonresident pages are locked when they are populated by a page fault.\"";

// Privilege.
pub const MIN_ADDR_UNPRIVILEGED: &str = "security/commoncap.c, cap_mmap_addr(): \"If the process is attempting to map memory below dac_mmap_min_addr they need CAP_SYS_RAWIO.\" and \"Return: 0 if this mapping should be allowed or -EPERM if not.\"";
pub const MEMLOCK_EAGAIN: &str = "mmap(2) EAGAIN: \"The file has been locked, or too much memory has been locked (see setrlimit(2)).\"; mlock(2): \"the RLIMIT_MEMLOCK soft resource limit instead defines a limit on how much memory an unprivileged process may lock.\"";
pub const MEMLOCK_ENOMEM: &str = "mlock(2) ENOMEM: \"(Linux 2.6.9 and later) the caller had a nonzero RLIMIT_MEMLOCK soft resource limit, but tried to lock more memory than the limit permitted. This limit is not enforced if the process is privileged (CAP_IPC_LOCK).\"";
pub const MEMLOCK_EPERM: &str = "mlock(2) EPERM: \"The caller is not privileged, but needs privilege (CAP_IPC_LOCK) to perform the requested operation.\"; getrlimit(2) RLIMIT_MEMLOCK: \"This is the maximum number of bytes of memory that may be locked into RAM.\" (0 here)";
pub const MEMLOCK_PRIVILEGED: &str = "mlock(2): \"Since Linux 2.6.9, no limits are placed on the amount of memory that a privileged process can lock\"; ENOMEM: \"This limit is not enforced if the process is privileged (CAP_IPC_LOCK).\"";
pub const HUGETLB_UNPRIVILEGED: &str = "mmap(2) EPERM: \"The MAP_HUGETLB flag was specified, but the caller was not privileged (did not have the CAP_IPC_LOCK capability) and is not a member of the sysctl_hugetlb_shm_group group\"; ENOMEM: \"No memory is available.\" (no huge page pool)";

// MAP_GROWSDOWN.
pub const GROWSDOWN_RETURN: &str = "mmap(2) MAP_GROWSDOWN: \"The return address is one page lower than the memory area that is actually created in the process's virtual address space.\"";
pub const GROWSDOWN_GROWS: &str = "mmap(2) MAP_GROWSDOWN: \"Touching an address in the \\\"guard\\\" page below the mapping will cause the mapping to grow by a page. This growth can be repeated until the mapping grows to within a page of the high end of the next lower mapping, at which point touching the \\\"guard\\\" page will result in a SIGSEGV signal.\"";
pub const GROWSDOWN_ONLY_GUARD: &str = "mmap(2) MAP_GROWSDOWN names only \"the \\\"guard\\\" page below the mapping\" as what makes it grow; an address further below is outside every mapping (sigaction(2): \"SEGV_MAPERR Address not mapped to object.\")";

// MAP_SHARED_VALIDATE.
pub const VALIDATE_KNOWN: &str = "mmap(2): \"when creating a mapping using MAP_SHARED_VALIDATE, the kernel verifies all passed flags are known and fails the mapping with the error EOPNOTSUPP for unknown flags.\" (this flag is documented, so known)";

// max_map_count.
pub const MAX_MAP_COUNT: &str = "Documentation/admin-guide/sysctl/vm.rst max_map_count: \"This file contains the maximum number of memory map areas a process may have.\"; mmap(2) ENOMEM: \"The process's maximum number of mappings would have been exceeded.\"";
pub const MAX_MAP_COUNT_MUNMAP: &str = "mmap(2) ENOMEM: \"The process's maximum number of mappings would have been exceeded. This error can also occur for munmap(), when unmapping a region in the middle of an existing mapping, since this results in two smaller mappings on either side of the region being unmapped.\"";
pub const MAX_MAP_COUNT_MPROTECT: &str = "mprotect(2) ENOMEM: \"Changing the protection of a memory region would result in the total number of mappings with distinct attributes (e.g., read versus read/write protection) exceeding the allowed maximum.\"";
