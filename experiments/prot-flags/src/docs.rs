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
