//! The tracer: starts a command under ptrace, follows its forks, clones and
//! execs, and records the selected system calls with decoded arguments.
//!
//! One thread does all of it: ptrace requests are tied to the thread that
//! attached, and `waitpid(-1, __WALL | __WNOTHREAD)` then sees only this
//! thread's tracees, so traces running on other threads (tests) never steal
//! each other's stops. Per traced thread we keep whether it is inside a
//! system call: stops alternate entry, exit, entry, ... for each thread.

use std::collections::{BTreeSet, HashMap};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use nix::errno::Errno;
use nix::sys::ptrace::{self, Event, Options};
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::decode;
use crate::syscalls::{self, Selection, SyscallDef};

/// The command to trace.
#[derive(Debug, Clone, Default)]
pub struct CommandSpec {
    /// A path, or a name looked up in `PATH`.
    pub program: String,
    pub args: Vec<String>,
    /// Send the command's standard output to this file instead of ours.
    pub stdout_to: Option<PathBuf>,
}

impl CommandSpec {
    pub fn new(program: impl Into<String>, args: &[&str]) -> CommandSpec {
        CommandSpec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            stdout_to: None,
        }
    }
}

/// One recorded system call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SyscallRecord {
    /// The thread that made the call (its tid; the pid for a one-thread process).
    pub pid: i32,
    /// Its process (thread group) id: equal to `pid` for a process's main
    /// thread.
    #[serde(default)]
    pub tgid: i32,
    pub syscall: String,
    pub number: i64,
    /// When the call entered, in seconds since the trace started.
    pub start_s: f64,
    /// From entry to exit as the tracer saw them (ptrace stops included);
    /// `None` when the process died inside the call.
    pub duration_ns: Option<u64>,
    /// Decoded arguments by name (`len_bytes`, `prot`, `fd`, `fd_path`...).
    pub args: serde_json::Map<String, serde_json::Value>,
    /// The raw argument words, in order.
    pub raw_args: Vec<u64>,
    /// The raw return value; `None` when the process died inside the call.
    pub return_value: Option<i64>,
    /// `ENOENT` when the call failed.
    pub errno: Option<String>,
    /// For calls that return an fd (openat), the path it refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    /// The call as a line of text: `mmap(NULL, 8192 (8 KiB), ...) = 0x7f...`.
    pub text: String,
}

impl SyscallRecord {
    /// The raw value of the argument called `name` in [`syscalls::SYSCALLS`].
    pub fn raw(&self, name: &str) -> Option<u64> {
        let def = syscalls::by_number(self.number)?;
        let index = def.args.iter().position(|(n, _)| *n == name)?;
        self.raw_args.get(index).copied()
    }

    /// A decoded string argument (`prot`, `flags`, `fd_path`, `path`).
    pub fn arg_str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(|v| v.as_str())
    }

    pub fn failed(&self) -> bool {
        self.errno.is_some()
    }

    /// `[pid  1234] 0.004512 mmap(...) = 0x7f... <12 us>`.
    pub fn line(&self) -> String {
        let duration = match self.duration_ns {
            Some(ns) if ns >= 10_000 => format!(" <{} us>", ns / 1000),
            Some(ns) => format!(" <{:.1} us>", ns as f64 / 1000.0),
            None => String::new(),
        };
        format!(
            "[pid {:>6}] {:>10.6} {}{duration}",
            self.pid, self.start_s, self.text
        )
    }
}

/// How the traced command ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Ending {
    Exited {
        code: i32,
    },
    Signaled {
        signal: String,
        signal_number: i32,
        core_dumped: bool,
    },
}

impl Ending {
    /// The shell's exit status for this ending: the code, or 128 + signal.
    pub fn shell_status(&self) -> i32 {
        match self {
            Ending::Exited { code } => *code,
            Ending::Signaled { signal_number, .. } => 128 + signal_number,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Ending::Exited { code } => format!("exited with status {code}"),
            Ending::Signaled {
                signal,
                core_dumped,
                ..
            } => format!(
                "killed by {signal}{}",
                if *core_dumped { " (core dumped)" } else { "" }
            ),
        }
    }
}

/// A finished trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub command: Vec<String>,
    pub root_pid: i32,
    pub ending: Ending,
    pub records: Vec<SyscallRecord>,
    /// Every pid and tid seen, in the order they appeared.
    pub pids: Vec<i32>,
    /// How many times ptrace stopped the command at a system call (entry and
    /// exit count once each), recorded or not: the cost of watching.
    pub n_syscall_stops: u64,
    pub elapsed_ns: u64,
    /// The trace ended because this process was interrupted (Ctrl-C,
    /// SIGTERM): the tracees were killed with SIGKILL.
    pub interrupted: bool,
}

/// Why a trace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The command does not exist, is not executable, or exec failed.
    #[error("cannot start {program}: {reason}")]
    CannotStart { program: String, reason: String },
    /// ptrace itself is refused here (seccomp, Yama, a container).
    #[error(
        "ptrace is not permitted here ({call}: {errno}); run outside a sandbox that forbids ptrace, \
         or as a user allowed to trace (kernel.yama.ptrace_scope)"
    )]
    NotPermitted { call: String, errno: Errno },
    #[error("{call} failed: {errno}")]
    System { call: String, errno: Errno },
}

fn sys(call: &str) -> impl FnOnce(Errno) -> TraceError + '_ {
    move |errno| TraceError::System {
        call: call.to_string(),
        errno,
    }
}

/// Finds the program as the shell would: a path with a `/` as it is, a
/// bare name in `PATH`.
pub fn resolve_program(program: &str) -> Result<PathBuf, TraceError> {
    let cannot = |reason: &str| TraceError::CannotStart {
        program: program.to_string(),
        reason: reason.to_string(),
    };
    if program.is_empty() {
        return Err(cannot("empty command"));
    }
    let executable = |path: &Path| -> Result<(), &'static str> {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Err(_) => Err("no such file"),
            Ok(m) if m.is_dir() => Err("is a directory"),
            Ok(m) if m.permissions().mode() & 0o111 == 0 => Err("not executable"),
            Ok(_) => Ok(()),
        }
    };
    if program.contains('/') {
        let path = PathBuf::from(program);
        executable(&path).map_err(cannot)?;
        return Ok(path);
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&search) {
        let candidate = dir.join(program);
        if executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(cannot("command not found in PATH"))
}

/// What the child must do after fork, prepared before it (no allocation
/// in the child).
struct Prepared {
    path: CString,
    argv: Vec<CString>,
    stdout: Option<OwnedFd>,
    error_write: OwnedFd,
}

const STAGE_TRACEME: u8 = b'T';
const STAGE_EXEC: u8 = b'E';

/// Runs in the child between fork and exec: only async-signal-safe calls.
/// Redirects stdout, dies with the tracer thread, asks to be traced, stops
/// itself so the tracer can set its options, then execs. A failure is sent
/// on the error pipe as a stage byte and the errno.
///
/// # Safety
/// Call only in a freshly forked child; it never returns.
unsafe fn child_after_fork(prepared: &Prepared, argv: &[*const libc::c_char]) -> ! {
    let report = |stage: u8| -> ! {
        let errno = Errno::last_raw();
        let mut message = [0u8; 5];
        message[0] = stage;
        message[1..].copy_from_slice(&errno.to_le_bytes());
        // SAFETY: writing a stack buffer to an fd we own, then exiting
        // without running any destructor or atexit handler of the parent.
        unsafe {
            libc::write(prepared.error_write.as_raw_fd(), message.as_ptr().cast(), 5);
            libc::_exit(127)
        }
    };
    // SAFETY: plain system calls on fds and values prepared before fork.
    unsafe {
        if let Some(fd) = &prepared.stdout {
            libc::dup2(fd.as_raw_fd(), 1);
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == -1 {
            report(STAGE_TRACEME);
        }
        libc::kill(libc::getpid(), libc::SIGSTOP);
        libc::execv(prepared.path.as_ptr(), argv.as_ptr());
    }
    report(STAGE_EXEC)
}

/// Forks the child that will exec the command.
fn spawn_stopped(prepared: &Prepared) -> Result<Pid, TraceError> {
    let mut argv: Vec<*const libc::c_char> = prepared.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: the child runs only `child_after_fork`, which makes
    // async-signal-safe system calls on data prepared before the fork and
    // ends in exec or _exit; the parent only records the pid.
    match unsafe { nix::unistd::fork() }.map_err(sys("fork"))? {
        nix::unistd::ForkResult::Child => unsafe { child_after_fork(prepared, &argv) },
        nix::unistd::ForkResult::Parent { child } => Ok(child),
    }
}

#[derive(Debug)]
struct Pending {
    def: &'static SyscallDef,
    raw: Vec<u64>,
    args_text: Vec<String>,
    args: serde_json::Map<String, serde_json::Value>,
    started: Instant,
}

#[derive(Debug, Default)]
struct ThreadState {
    in_syscall: bool,
    /// The thread group, read from /proc once per thread.
    tgid: Option<i32>,
    /// The initial SIGSTOP of a new tracee is still to come (and must not
    /// be delivered).
    awaiting_initial_stop: bool,
    pending: Option<Pending>,
}

/// Traces `spec` until it and every process it started have ended. Each
/// recorded call is handed to `on_record` as it completes (for live
/// printing) and kept in the returned [`Trace`].
///
/// If this function panics or the process is interrupted (Ctrl-C), every
/// live tracee is killed: none is left stopped under ptrace. PTRACE_O_EXITKILL
/// does the same if the tracer dies without running any handler.
pub fn trace(
    spec: &CommandSpec,
    selection: &Selection,
    on_record: &mut dyn FnMut(&SyscallRecord),
) -> Result<Trace, TraceError> {
    let path = resolve_program(&spec.program)?;
    let cstring = |s: &str| {
        CString::new(s.as_bytes()).map_err(|_| TraceError::CannotStart {
            program: spec.program.clone(),
            reason: "an argument contains a NUL byte".to_string(),
        })
    };
    let stdout = match &spec.stdout_to {
        Some(file) => Some(OwnedFd::from(std::fs::File::create(file).map_err(|e| {
            TraceError::CannotStart {
                program: spec.program.clone(),
                reason: format!("cannot create {}: {e}", file.display()),
            }
        })?)),
        None => None,
    };
    let (error_read, error_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe2"))?;
    // Read only after the child has ended, without blocking: a child forked
    // meanwhile by another thread of this process may hold the write end.
    nix::fcntl::fcntl(
        &error_read,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(sys("fcntl"))?;
    let mut argv = vec![cstring(&spec.program)?];
    for arg in &spec.args {
        argv.push(cstring(arg)?);
    }
    let prepared = Prepared {
        path: CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            TraceError::CannotStart {
                program: spec.program.clone(),
                reason: "the path contains a NUL byte".to_string(),
            }
        })?,
        argv,
        stdout,
        error_write,
    };
    let started = Instant::now();
    let root = spawn_stopped(&prepared)?;
    drop(prepared); // closes our copy of the pipe's write end and of stdout

    // Kill every live tracee on panic or Ctrl-C; empty once all have ended.
    let live: Arc<Mutex<BTreeSet<i32>>> = Arc::new(Mutex::new(BTreeSet::from([root.as_raw()])));
    let live_for_guard = live.clone();
    let interrupted = Arc::new(AtomicBool::new(false));
    let interrupted_for_guard = interrupted.clone();
    let _guard =
        mmlab_core::cleanup::on_exit(format!("kill the traced command (pid {root})"), move || {
            let pids =
                std::mem::take(&mut *live_for_guard.lock().unwrap_or_else(|p| p.into_inner()));
            // Set before the kill, so the tracer sees it when the deaths come.
            if !pids.is_empty() {
                interrupted_for_guard.store(true, Ordering::SeqCst);
            }
            for pid in pids {
                let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        });

    let mut tracer = Tracer {
        selection,
        started,
        threads: HashMap::new(),
        live,
        records: Vec::new(),
        pids: vec![root.as_raw()],
        n_syscall_stops: 0,
    };
    let flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
    let first = loop {
        match waitpid(root, Some(flags)) {
            Err(Errno::EINTR) => continue,
            other => break other.map_err(sys("waitpid"))?,
        }
    };
    match first {
        WaitStatus::Stopped(_, Signal::SIGSTOP) => {}
        _ => {
            tracer.forget(root);
            return Err(child_error(&spec.program, &error_read).unwrap_or(
                TraceError::CannotStart {
                    program: spec.program.clone(),
                    reason: format!("the child ended before exec ({first:?})"),
                },
            ));
        }
    }
    let options = Options::PTRACE_O_TRACESYSGOOD
        | Options::PTRACE_O_TRACEFORK
        | Options::PTRACE_O_TRACEVFORK
        | Options::PTRACE_O_TRACECLONE
        | Options::PTRACE_O_TRACEEXEC
        | Options::PTRACE_O_EXITKILL;
    if let Err(errno) = ptrace::setoptions(root, options) {
        let _ = nix::sys::signal::kill(root, Signal::SIGKILL);
        let _ = waitpid(root, Some(flags));
        tracer.forget(root);
        return Err(TraceError::NotPermitted {
            call: "ptrace(PTRACE_SETOPTIONS)".to_string(),
            errno,
        });
    }
    tracer.threads.insert(root, ThreadState::default());
    tracer.resume(root, None);
    let ending = tracer.run(root, on_record)?;

    if let Some(error) = child_error(&spec.program, &error_read) {
        return Err(error);
    }
    let mut command = vec![spec.program.clone()];
    command.extend(spec.args.iter().cloned());
    Ok(Trace {
        command,
        root_pid: root.as_raw(),
        ending,
        records: tracer.records,
        pids: tracer.pids,
        n_syscall_stops: tracer.n_syscall_stops,
        elapsed_ns: started.elapsed().as_nanos() as u64,
        interrupted: interrupted.load(Ordering::SeqCst),
    })
}

/// The error the child sent before exec, if any.
fn child_error(program: &str, error_read: &OwnedFd) -> Option<TraceError> {
    let mut message = [0u8; 5];
    let n = nix::unistd::read(error_read, &mut message).ok()?;
    if n != 5 {
        return None;
    }
    let errno = Errno::from_raw(i32::from_le_bytes([
        message[1], message[2], message[3], message[4],
    ]));
    Some(match message[0] {
        STAGE_TRACEME => TraceError::NotPermitted {
            call: "ptrace(PTRACE_TRACEME)".to_string(),
            errno,
        },
        STAGE_EXEC => TraceError::CannotStart {
            program: program.to_string(),
            reason: format!(
                "exec failed: {} ({})",
                decode::errno_name(errno as i32),
                errno.desc()
            ),
        },
        _ => return None,
    })
}

struct Tracer<'a> {
    selection: &'a Selection,
    started: Instant,
    threads: HashMap<Pid, ThreadState>,
    live: Arc<Mutex<BTreeSet<i32>>>,
    records: Vec<SyscallRecord>,
    pids: Vec<i32>,
    n_syscall_stops: u64,
}

impl Tracer<'_> {
    fn remember(&mut self, pid: Pid) {
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pid.as_raw());
        if !self.pids.contains(&pid.as_raw()) {
            self.pids.push(pid.as_raw());
        }
    }

    fn forget(&mut self, pid: Pid) {
        self.threads.remove(&pid);
        self.live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&pid.as_raw());
    }

    /// Restarts a tracee until its next system call; a tracee that died in
    /// the meantime (ESRCH) reports its death through waitpid.
    fn resume(&self, pid: Pid, signal: Option<Signal>) {
        let _ = ptrace::syscall(pid, signal);
    }

    fn run(
        &mut self,
        root: Pid,
        on_record: &mut dyn FnMut(&SyscallRecord),
    ) -> Result<Ending, TraceError> {
        let flags = WaitPidFlag::__WALL | WaitPidFlag::__WNOTHREAD;
        let mut ending = None;
        loop {
            if ending.is_some() && self.threads.is_empty() {
                break;
            }
            let status = match waitpid(None::<Pid>, Some(flags)) {
                Ok(status) => status,
                Err(Errno::EINTR) => continue,
                Err(Errno::ECHILD) => break,
                Err(errno) => return Err(sys("waitpid")(errno)),
            };
            match status {
                WaitStatus::PtraceSyscall(pid) => {
                    self.n_syscall_stops += 1;
                    self.on_syscall_stop(pid, on_record);
                    self.resume(pid, None);
                }
                WaitStatus::PtraceEvent(pid, _, event) => {
                    self.on_event(pid, event);
                    self.resume(pid, None);
                }
                WaitStatus::Stopped(pid, signal) => {
                    let state = self.threads.get(&pid);
                    let initial = state.is_none_or(|s| s.awaiting_initial_stop);
                    if initial && signal == Signal::SIGSTOP {
                        // A new tracee's first stop: swallow it.
                        self.remember(pid);
                        self.threads.entry(pid).or_default().awaiting_initial_stop = false;
                        self.resume(pid, None);
                    } else if is_group_stop(pid, signal) {
                        // Job control is not supported: the tracee goes on.
                        self.resume(pid, None);
                    } else {
                        self.resume(pid, Some(signal));
                    }
                }
                WaitStatus::Exited(pid, code) => {
                    self.on_death(pid, on_record);
                    if pid == root {
                        ending = Some(Ending::Exited { code });
                    }
                }
                WaitStatus::Signaled(pid, signal, core_dumped) => {
                    self.on_death(pid, on_record);
                    if pid == root {
                        ending = Some(Ending::Signaled {
                            signal: signal.as_str().to_string(),
                            signal_number: signal as i32,
                            core_dumped,
                        });
                    }
                }
                WaitStatus::Continued(_) | WaitStatus::StillAlive => {}
            }
        }
        Ok(ending.unwrap_or(Ending::Exited { code: 0 }))
    }

    fn on_event(&mut self, pid: Pid, event: i32) {
        let fork_like = [
            Event::PTRACE_EVENT_FORK as i32,
            Event::PTRACE_EVENT_VFORK as i32,
            Event::PTRACE_EVENT_CLONE as i32,
        ];
        if fork_like.contains(&event) {
            if let Ok(new) = ptrace::getevent(pid) {
                let new = Pid::from_raw(new as i32);
                self.remember(new);
                self.threads.entry(new).or_insert(ThreadState {
                    awaiting_initial_stop: true,
                    ..ThreadState::default()
                });
            }
        } else if event == Event::PTRACE_EVENT_EXEC as i32 {
            // A thread other than the leader may have called execve: it
            // now has the leader's id and is still inside execve.
            if let Ok(former) = ptrace::getevent(pid) {
                let former = Pid::from_raw(former as i32);
                if former != pid
                    && let Some(state) = self.threads.remove(&former)
                {
                    self.live
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&former.as_raw());
                    self.threads.insert(pid, state);
                }
            }
        }
    }

    fn on_death(&mut self, pid: Pid, on_record: &mut dyn FnMut(&SyscallRecord)) {
        if let Some(pending) = self.threads.get_mut(&pid).and_then(|s| s.pending.take()) {
            let record = self.finish(pid, pending, None);
            on_record(&record);
            self.records.push(record);
        }
        self.forget(pid);
    }

    fn on_syscall_stop(&mut self, pid: Pid, on_record: &mut dyn FnMut(&SyscallRecord)) {
        let Ok(regs) = ptrace::getregs(pid) else {
            return; // died under us: waitpid reports it
        };
        self.tgid(pid); // read while the thread is alive
        let selection = self.selection;
        let state = self.threads.entry(pid).or_default();
        if !state.in_syscall {
            state.in_syscall = true;
            let (number, raw) = entry_registers(&regs);
            state.pending = None;
            if selection.contains(number)
                && let Some(def) = syscalls::by_number(number)
            {
                let raw = raw[..def.args.len()].to_vec();
                let mut args_text = Vec::with_capacity(raw.len());
                let mut args = serde_json::Map::new();
                for (index, (name, kind)) in def.args.iter().enumerate() {
                    let decoded = decode::decode_arg(pid, name, *kind, index, &raw);
                    args_text.push(decoded.text);
                    args.extend(decoded.fields);
                }
                state.pending = Some(Pending {
                    def,
                    raw,
                    args_text,
                    args,
                    started: Instant::now(),
                });
            }
        } else {
            state.in_syscall = false;
            if let Some(pending) = state.pending.take() {
                let record = self.finish(pid, pending, Some(return_value(&regs)));
                on_record(&record);
                self.records.push(record);
            }
        }
    }

    /// The thread group of `pid`, read from `/proc/PID/status` on first use.
    fn tgid(&mut self, pid: Pid) -> i32 {
        let state = self.threads.entry(pid).or_default();
        *state.tgid.get_or_insert_with(|| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .and_then(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("Tgid:"))
                        .and_then(|v| v.trim().parse().ok())
                })
                .unwrap_or(pid.as_raw())
        })
    }

    fn finish(&mut self, pid: Pid, pending: Pending, return_value: Option<i64>) -> SyscallRecord {
        let tgid = self.tgid(pid);
        let (ret_text, errno, return_path) = match return_value {
            Some(value) => decode::return_text(pid, pending.def.returns, value),
            None => ("?".to_string(), None, None),
        };
        let text = format!(
            "{}({}) = {ret_text}",
            pending.def.name,
            pending.args_text.join(", ")
        );
        SyscallRecord {
            pid: pid.as_raw(),
            tgid,
            syscall: pending.def.name.to_string(),
            number: pending.def.number,
            start_s: pending.started.duration_since(self.started).as_secs_f64(),
            duration_ns: return_value.map(|_| pending.started.elapsed().as_nanos() as u64),
            args: pending.args,
            raw_args: pending.raw,
            return_value,
            errno,
            return_path,
            text,
        }
    }
}

/// A stop signal with no siginfo is a group-stop, not a signal to deliver.
fn is_group_stop(pid: Pid, signal: Signal) -> bool {
    matches!(
        signal,
        Signal::SIGSTOP | Signal::SIGTSTP | Signal::SIGTTIN | Signal::SIGTTOU
    ) && matches!(ptrace::getsiginfo(pid), Err(Errno::EINVAL))
}

/// The system call number and its six argument registers at a
/// syscall-entry stop (x86_64: orig_rax; rdi, rsi, rdx, r10, r8, r9).
#[cfg(target_arch = "x86_64")]
fn entry_registers(regs: &libc::user_regs_struct) -> (i64, [u64; 6]) {
    (
        regs.orig_rax as i64,
        [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9],
    )
}

/// The return value at a syscall-exit stop (x86_64: rax).
#[cfg(target_arch = "x86_64")]
fn return_value(regs: &libc::user_regs_struct) -> i64 {
    regs.rax as i64
}

/// aarch64: the number in x8, the arguments in x0-x5 (read at entry: x0
/// holds the return value at exit). Compiled, not run, on the project's
/// machines (ptrace does not run under qemu-user).
#[cfg(target_arch = "aarch64")]
fn entry_registers(regs: &libc::user_regs_struct) -> (i64, [u64; 6]) {
    let r = &regs.regs;
    (r[8] as i64, [r[0], r[1], r[2], r[3], r[4], r[5]])
}

/// aarch64: the return value in x0 at a syscall-exit stop.
#[cfg(target_arch = "aarch64")]
fn return_value(regs: &libc::user_regs_struct) -> i64 {
    regs.regs[0] as i64
}
