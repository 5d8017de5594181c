//! Counting a command like `perf stat`: fork, open the counters on the
//! child (inherited by its threads and children), let it exec, count from
//! the exec onwards (enable_on_exec), read after wait4.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use mmlab_core::Availability;
use mmlab_core::pages::Rusage;

use crate::{CounterError, CounterSet, Measurement, Target};

/// The counts of one command, from its exec to its end.
#[derive(Debug, Clone)]
pub struct CommandMeasurement {
    /// Exit status when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Counts (rusage is the child's own, from wait4).
    pub measurement: Measurement,
    /// `true` or the reason, per event.
    pub availability: BTreeMap<String, Availability>,
}

impl CommandMeasurement {
    /// The exit status a shell would report: the code, or 128 + signal.
    pub fn shell_status(&self) -> i32 {
        match (self.exit_code, self.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => 1,
        }
    }
}

/// Runs `argv` (looked up in PATH) and counts `events` in it and in the
/// processes it starts, from its exec onwards. An unknown event or
/// tracepoint, or a command that cannot be started, is an error.
pub fn measure_command(
    argv: &[String],
    events: &[&str],
) -> Result<CommandMeasurement, CounterError> {
    let command = argv.join(" ");
    let cannot_start = |source: std::io::Error| CounterError::CannotStart {
        command: command.clone(),
        source,
    };
    if argv.is_empty() {
        return Err(cannot_start(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "empty command",
        )));
    }
    // Bad input (names, tracepoints) is found before anything runs.
    let plan = CounterSet::plan(events)?;
    // Everything the child needs is built before fork: after fork, only
    // async-signal-safe calls are allowed there.
    let c_args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|e| cannot_start(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    let mut c_ptrs: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    c_ptrs.push(std::ptr::null());

    let io = |call: &str| {
        let call = call.to_string();
        move |e: nix::errno::Errno| CounterError::Io {
            call,
            source: std::io::Error::from(e),
        }
    };
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io("pipe2"))?;
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io("pipe2"))?;

    let shared = SharedRusage::new().map_err(io("mmap(MAP_SHARED | MAP_ANONYMOUS)"))?;
    let pid =
        fork_waiting_child(&go_r, &err_w, [&go_w, &err_r], &shared, &c_ptrs).map_err(io("fork"))?;
    drop(go_r);
    drop(err_w);

    let set = match plan.open(Target::ChildOnExec(pid)) {
        Ok(set) => set,
        Err(e) => {
            kill_and_reap(pid);
            return Err(e);
        }
    };
    let start = Instant::now();
    let go = nix::unistd::write(&go_w, b"g");
    drop(go_w);
    if let Err(e) = go {
        kill_and_reap(pid);
        return Err(io("write(start pipe)")(e));
    }
    // EOF: exec succeeded (the pipe is close-on-exec); 4 bytes: its errno.
    let mut errno = [0u8; 4];
    let n = read_full(&err_r, &mut errno);
    drop(err_r);
    if n == 4 {
        let _ = wait4(pid);
        return Err(cannot_start(std::io::Error::from_raw_os_error(
            i32::from_ne_bytes(errno),
        )));
    }
    let (status, rusage) = wait4(pid).map_err(|source| CounterError::Io {
        call: format!("wait4({pid})"),
        source,
    })?;
    let elapsed_ns = start.elapsed().as_nanos() as u64;
    // wait4 counts from fork; the counters from exec: drop what the child
    // did before exec (its copy-on-write faults after fork, mostly).
    let rusage = Rusage::from_libc(&rusage).since(&Rusage::from_libc(&shared.read()));
    let measurement = set.read_counts(elapsed_ns, rusage);
    let (exit_code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(CommandMeasurement {
        exit_code,
        signal,
        measurement,
        availability: set.availability(),
    })
}

/// Ends a child that was never told to exec. (Not by closing the start pipe:
/// a child forked meanwhile by another thread may hold a copy of its write
/// end until it execs itself.)
fn kill_and_reap(pid: libc::pid_t) {
    // SAFETY: kill has no memory effects; `pid` is our own unreaped child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = wait4(pid);
}

/// Forks a child that waits for one byte on `go` (EOF: exits 126 without
/// exec), then execvp's `argv`; if exec fails it writes errno to `err` and
/// exits 127. `go_w` and `err_r` are the parent's ends, closed in the child.
fn fork_waiting_child(
    go: &OwnedFd,
    err: &OwnedFd,
    parent_ends: [&OwnedFd; 2],
    pre_exec: &SharedRusage,
    argv: &[*const libc::c_char],
) -> Result<libc::pid_t, nix::errno::Errno> {
    let go = go.as_raw_fd();
    let err = err.as_raw_fd();
    let parent_ends = parent_ends.map(|fd| fd.as_raw_fd());
    // SAFETY: after fork the child only calls async-signal-safe functions
    // (read, execvp with prebuilt arguments, write, _exit) on memory that was
    // prepared before the fork; it never returns into Rust code.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return Err(nix::errno::Errno::last());
        }
        if pid == 0 {
            for fd in parent_ends {
                libc::close(fd);
            }
            let mut byte = 0u8;
            loop {
                let n = libc::read(go, (&raw mut byte).cast(), 1);
                if n == 1 {
                    break;
                }
                if n == 0 || *libc::__errno_location() != libc::EINTR {
                    libc::_exit(126);
                }
            }
            libc::getrusage(libc::RUSAGE_SELF, pre_exec.ptr);
            libc::execvp(argv[0], argv.as_ptr());
            let code = (*libc::__errno_location()).to_ne_bytes();
            libc::write(err, code.as_ptr().cast(), 4);
            libc::_exit(127);
        }
        Ok(pid)
    }
}

/// A page shared with the child, in which it leaves its getrusage just
/// before exec.
struct SharedRusage {
    ptr: *mut libc::rusage,
}

impl SharedRusage {
    fn new() -> Result<SharedRusage, nix::errno::Errno> {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
        let len =
            std::num::NonZeroUsize::new(std::mem::size_of::<libc::rusage>()).expect("non-zero");
        // SAFETY: a fresh shared anonymous mapping aliases no Rust object;
        // it is zero-filled, a valid (all-zero) rusage.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )
        }?;
        Ok(SharedRusage {
            ptr: ptr.as_ptr().cast(),
        })
    }

    /// What the child left (all zero if it never got to exec).
    fn read(&self) -> libc::rusage {
        // SAFETY: `ptr` maps a rusage-sized zero-initialised region; the
        // child wrote it before exec, which happened before wait4 returned.
        unsafe { self.ptr.read_volatile() }
    }
}

impl Drop for SharedRusage {
    fn drop(&mut self) {
        if let Some(ptr) = std::ptr::NonNull::new(self.ptr.cast()) {
            // SAFETY: unmaps exactly the mapping made in `new`; no reference
            // into it survives.
            let _ = unsafe { nix::sys::mman::munmap(ptr, std::mem::size_of::<libc::rusage>()) };
        }
    }
}

/// Reads until `buf` is full or EOF; returns the bytes read.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match nix::unistd::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    done
}

/// wait4(pid): the wait status and the child's own rusage.
fn wait4(pid: libc::pid_t) -> std::io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to overwrite.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `rusage` are valid writable locations.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut rusage) };
        if rc == pid {
            return Ok((status, rusage));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}
