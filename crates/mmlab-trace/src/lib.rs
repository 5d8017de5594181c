//! A small ptrace system-call tracer for mmap-lab, written so a student can
//! watch the calls the notes talk about: it starts a command, follows its
//! forks, clones and execs, and records the memory family (mmap, munmap,
//! mprotect, madvise, mremap, msync, brk, mlock) and file I/O (openat,
//! read, pread64, write, close, fstat) with their arguments decoded the way
//! the notes explain mmap's (start, len, prot, flags, fd, offset): `PROT_*`
//! and `MAP_*` by name as strace spells them, fds resolved to their paths,
//! sizes as people write them, errors by errno name.
//!
//! It is not strace: x86_64 (tested) and aarch64 (compiled, not run on the
//! project's machines) only, no attaching to running processes, no
//! job control (a stopped tracee is restarted), and it decodes only the
//! calls listed in [`syscalls::SYSCALLS`]. Every stop costs two context
//! switches per call, which is why the lab counts with perf and traces
//! only to look (the who-calls-mmap experiment measures by how much).

pub mod decode;
pub mod summary;
pub mod syscalls;
pub mod tracer;

pub use summary::{SummaryRow, format_duration, format_summary, summarize};
pub use syscalls::{Selection, SelectionError};
pub use tracer::{CommandSpec, Ending, SyscallRecord, Trace, TraceError, resolve_program, trace};

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
compile_error!("mmlab-trace reads x86_64 or aarch64 registers and system call numbers");
