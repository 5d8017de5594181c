//! Fault-safe probes: run a closure in a forked child and report how it
//! ended (exit code, or the signal with its si_code, or killed at the
//! timeout) with the child's own rusage from wait4. An experiment provokes a
//! SIGSEGV or SIGBUS this way and records it as data; the harness carries on.
//!
//! In the child, before the closure runs: core dumps are off
//! (RLIMIT_CORE = 0), SIGINT/SIGTERM/SIGHUP are back to their defaults, the
//! child dies with its parent (PR_SET_PDEATHSIG), and SIGSEGV, SIGBUS,
//! SIGILL, SIGFPE and SIGTRAP get a handler that writes the siginfo to a pipe
//! and then lets the signal kill the child as it would have.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::pages::Rusage;

/// How a probe's child ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Ending {
    Exited {
        code: i32,
    },
    Signaled {
        signal: String,
        signal_number: i32,
        /// si_code as the handler saw it; `None` if no handler ran (a signal
        /// sent from outside that cannot be caught, or a stack overflow).
        si_code: Option<i32>,
        si_code_name: Option<String>,
        fault_addr: Option<u64>,
    },
    TimedOut {
        after_ms: u64,
    },
}

impl Ending {
    /// `exit 0`, `signal SIGSEGV/SEGV_ACCERR`, `timeout after 2000 ms`.
    pub fn describe(&self) -> String {
        match self {
            Ending::Exited { code } => format!("exit {code}"),
            Ending::Signaled {
                signal,
                si_code_name: Some(code),
                ..
            } => format!("signal {signal}/{code}"),
            Ending::Signaled { signal, .. } => format!("signal {signal}"),
            Ending::TimedOut { after_ms } => format!("timeout after {after_ms} ms"),
        }
    }

    pub fn signal_name(&self) -> Option<&str> {
        match self {
            Ending::Signaled { signal, .. } => Some(signal),
            _ => None,
        }
    }
}

/// What a probe returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOutcome {
    pub ending: Ending,
    /// The child's own resource usage (wait4), faults included.
    pub rusage: Rusage,
    pub elapsed_ns: u64,
    /// Bytes the child sent with [`ProbeChannel::send`] before it ended.
    pub output: Vec<u8>,
}

impl ProbeOutcome {
    /// The output decoded as the JSON value the child sent with `send_json`.
    pub fn output_json<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.output).ok()
    }
}

/// The child's way to send bytes back (say, the value it read before the
/// fault), written at once so they survive the child's death.
#[derive(Debug)]
pub struct ProbeChannel {
    fd: i32,
}

impl ProbeChannel {
    pub fn send(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: writing from a valid slice to the pipe's write end.
            let n =
                unsafe { libc::write(self.fd, rest.as_ptr() as *const libc::c_void, rest.len()) };
            if n <= 0 {
                return;
            }
            rest = &rest[n as usize..];
        }
    }

    pub fn send_json<T: Serialize>(&mut self, value: &T) {
        if let Ok(bytes) = serde_json::to_vec(value) {
            self.send(&bytes);
        }
    }
}

/// The write end of the siginfo pipe in the child (-1 in the parent).
static SIGINFO_FD: AtomicI32 = AtomicI32::new(-1);

const CAUGHT_SIGNALS: [i32; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
];

extern "C" fn record_fault(signal: i32, info: *mut libc::siginfo_t, _context: *mut libc::c_void) {
    // Only async-signal-safe calls here: write, sigaction, raise.
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as u64) };
    let mut record = [0u8; 16];
    record[0..4].copy_from_slice(&signal.to_ne_bytes());
    record[4..8].copy_from_slice(&code.to_ne_bytes());
    record[8..16].copy_from_slice(&addr.to_ne_bytes());
    let fd = SIGINFO_FD.load(Ordering::Relaxed);
    // SAFETY: write and sigaction are async-signal-safe; the default action
    // is restored so that the faulting instruction, run again on return,
    // kills the process with this very signal.
    unsafe {
        libc::write(fd, record.as_ptr() as *const libc::c_void, record.len());
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &default, std::ptr::null_mut());
        if code <= 0 {
            // Sent by a process (SI_USER, SI_TKILL, SI_QUEUE): no fault to
            // re-run, so deliver it again by hand.
            libc::raise(signal);
        }
    }
}

/// The name of a signal (`SIGSEGV`), or `SIG<n>`.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("SIG{signal}"))
}

/// The symbolic name of a signal's si_code, as in siginfo.h.
pub fn si_code_name(signal: i32, code: i32) -> String {
    let generic = match code {
        0 => Some("SI_USER"),
        0x80 => Some("SI_KERNEL"),
        -1 => Some("SI_QUEUE"),
        -6 => Some("SI_TKILL"),
        _ => None,
    };
    let specific = match (signal, code) {
        (libc::SIGSEGV, 1) => Some("SEGV_MAPERR"),
        (libc::SIGSEGV, 2) => Some("SEGV_ACCERR"),
        (libc::SIGSEGV, 3) => Some("SEGV_BNDERR"),
        (libc::SIGSEGV, 4) => Some("SEGV_PKUERR"),
        (libc::SIGBUS, 1) => Some("BUS_ADRALN"),
        (libc::SIGBUS, 2) => Some("BUS_ADRERR"),
        (libc::SIGBUS, 3) => Some("BUS_OBJERR"),
        (libc::SIGBUS, 4) => Some("BUS_MCEERR_AR"),
        (libc::SIGBUS, 5) => Some("BUS_MCEERR_AO"),
        (libc::SIGILL, 1) => Some("ILL_ILLOPC"),
        (libc::SIGILL, 2) => Some("ILL_ILLOPN"),
        (libc::SIGILL, 3) => Some("ILL_ILLADR"),
        (libc::SIGILL, 4) => Some("ILL_ILLTRP"),
        (libc::SIGILL, 5) => Some("ILL_PRVOPC"),
        (libc::SIGFPE, 1) => Some("FPE_INTDIV"),
        (libc::SIGFPE, 2) => Some("FPE_INTOVF"),
        (libc::SIGTRAP, 1) => Some("TRAP_BRKPT"),
        (libc::SIGTRAP, 2) => Some("TRAP_TRACE"),
        _ => None,
    };
    specific
        .or(generic)
        .map(str::to_string)
        .unwrap_or_else(|| format!("si_code {code}"))
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).context("pipe2")
}

/// Prepares the child: called right after fork, in the child only.
fn child_setup(siginfo_write_fd: i32) {
    SIGINFO_FD.store(siginfo_write_fd, Ordering::Relaxed);
    // SAFETY: plain libc calls on the child's own process state.
    unsafe {
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(signal, libc::SIG_DFL);
        }
        for signal in CAUGHT_SIGNALS {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = record_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Runs `probe` in a forked child and waits at most `timeout` for it. The
/// closure's return value is the child's exit code; a panic exits with 101.
/// Only the calling thread exists in the child: the closure must not wait on
/// locks that other threads of the parent may hold.
pub fn run_in_child<F>(timeout: Duration, probe: F) -> anyhow::Result<ProbeOutcome>
where
    F: FnOnce(&mut ProbeChannel) -> i32,
{
    let (output_read, output_write) = pipe()?;
    let (siginfo_read, siginfo_write) = pipe()?;
    let started = Instant::now();
    // SAFETY: the child only runs the probe and then _exit()s; it never
    // returns into the caller's frames, so no destructor runs twice.
    match unsafe { nix::unistd::fork() }.context("fork")? {
        nix::unistd::ForkResult::Child => {
            child_setup(siginfo_write.as_raw_fd());
            let mut channel = ProbeChannel {
                fd: output_write.as_raw_fd(),
            };
            let code =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| probe(&mut channel)))
                    .unwrap_or(101);
            // SAFETY: ends the child without running the parent's atexit
            // handlers or destructors.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(output_write);
            drop(siginfo_write);
            wait_for_child(child.as_raw(), timeout, started, output_read, siginfo_read)
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) {
    // SAFETY: fcntl on a descriptor this function's caller owns.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}

fn drain(fd: &OwnedFd, into: &mut Vec<u8>) {
    let mut buffer = [0u8; 8192];
    loop {
        // SAFETY: reading into a valid buffer from a descriptor we own.
        let n = unsafe {
            libc::read(
                fd.as_raw_fd(),
                buffer.as_mut_ptr() as *mut libc::c_void,
                buffer.len(),
            )
        };
        if n <= 0 {
            return;
        }
        into.extend_from_slice(&buffer[..n as usize]);
    }
}

fn wait_for_child(
    pid: i32,
    timeout: Duration,
    started: Instant,
    output: OwnedFd,
    siginfo: OwnedFd,
) -> anyhow::Result<ProbeOutcome> {
    set_nonblocking(&output);
    set_nonblocking(&siginfo);
    let mut output_bytes = Vec::new();
    let mut siginfo_bytes = Vec::new();
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value for wait4 to fill.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        let mut poll_fd = libc::pollfd {
            fd: output.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut poll_fd, 1, 2) };
        drain(&output, &mut output_bytes);
        drain(&siginfo, &mut siginfo_bytes);
        // SAFETY: waiting for our own child with valid out-pointers.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut rusage) };
        if rc == pid {
            break;
        }
        if rc < 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(error).context("wait4");
        }
        if started.elapsed() >= timeout {
            timed_out = true;
            // SAFETY: killing and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                while libc::wait4(pid, &mut status, 0, &mut rusage) < 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                {
                }
            }
            break;
        }
    }
    let elapsed_ns = started.elapsed().as_nanos() as u64;
    drain(&output, &mut output_bytes);
    drain(&siginfo, &mut siginfo_bytes);
    let ending = if timed_out {
        Ending::TimedOut {
            after_ms: timeout.as_millis() as u64,
        }
    } else if libc::WIFEXITED(status) {
        Ending::Exited {
            code: libc::WEXITSTATUS(status),
        }
    } else {
        let signal = libc::WTERMSIG(status);
        // The last record for this signal is the one that killed the child.
        let record = siginfo_bytes
            .chunks_exact(16)
            .map(|r| {
                let sig = i32::from_ne_bytes(r[0..4].try_into().expect("4 bytes"));
                let code = i32::from_ne_bytes(r[4..8].try_into().expect("4 bytes"));
                let addr = u64::from_ne_bytes(r[8..16].try_into().expect("8 bytes"));
                (sig, code, addr)
            })
            .rfind(|(sig, _, _)| *sig == signal);
        Ending::Signaled {
            signal: signal_name(signal),
            signal_number: signal,
            si_code: record.map(|r| r.1),
            si_code_name: record.map(|r| si_code_name(signal, r.1)),
            fault_addr: record.map(|r| r.2),
        }
    };
    Ok(ProbeOutcome {
        ending,
        rusage: Rusage::from_libc(&rusage),
        elapsed_ns,
        output: output_bytes,
    })
}
