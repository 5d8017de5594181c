//! Undo actions that run however the program ends: on normal return and on
//! error (the guard is dropped), on panic (dropped while unwinding), and on
//! SIGINT, SIGTERM or SIGHUP (the signal thread runs every pending action,
//! then exits with 128 + the signal: 130, 143, 129). Data folders, memory
//! cgroups and a tracefs mounted for the run use this, so the machine is
//! left as it was found.
//!
//! A signal must not race the work it interrupts: removing a data folder
//! while the measuring thread still creates files in it can leave the
//! folder behind. So on a signal, work stops first: the flag is raised,
//! and every thread that reaches a [`checkpoint`] (experiments call it
//! between steps, file creation calls it, `main` calls it before exiting)
//! stops there for good. The signal thread waits briefly for that, runs the
//! pending actions (a folder is removed until it is gone), waits for any
//! action another thread is running, and only then says what it removed,
//! checking each guard's "left behind" test: "nothing left behind" is
//! printed only when it is true.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Action = Box<dyn FnOnce() + Send>;
/// Says what an action left behind, if anything (checked after it ran).
type LeftBehind = Box<dyn Fn() -> Option<String> + Send>;

struct Pending {
    id: u64,
    description: String,
    action: Action,
    left_behind: Option<LeftBehind>,
}

static PENDING: Mutex<Vec<Pending>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The signal that interrupted the run (0: none yet).
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);
/// Threads stopped at a checkpoint after the signal.
static STOPPED: AtomicUsize = AtomicUsize::new(0);
/// Actions being run right now by guards dropped on other threads.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// How long the signal thread waits for the work to reach a checkpoint
/// before it removes things anyway (a long measurement step).
const STOP_WAIT: Duration = Duration::from_secs(3);
/// How long it waits for actions other threads are running.
const RUNNING_WAIT: Duration = Duration::from_secs(10);

/// Runs its action when dropped, unless a signal handler ran it first.
#[must_use = "the action runs when the guard is dropped"]
pub struct Guard {
    id: u64,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("id", &self.id).finish()
    }
}

/// Registers `action` (described for the log) to run exactly once: when the
/// returned guard drops or when the process is interrupted.
pub fn on_exit(description: impl Into<String>, action: impl FnOnce() + Send + 'static) -> Guard {
    register(description.into(), Box::new(action), None)
}

/// Like [`on_exit`], with a check run after the action on interruption:
/// `left_behind` returns what is still there (e.g. a folder's path), so the
/// final message never claims a removal that did not happen.
pub fn on_exit_checked(
    description: impl Into<String>,
    action: impl FnOnce() + Send + 'static,
    left_behind: impl Fn() -> Option<String> + Send + 'static,
) -> Guard {
    register(
        description.into(),
        Box::new(action),
        Some(Box::new(left_behind)),
    )
}

fn register(description: String, action: Action, left_behind: Option<LeftBehind>) -> Guard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock().push(Pending {
        id,
        description,
        action,
        left_behind,
    });
    Guard { id }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Pending>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Counted as running before the entry leaves the list, so the signal
        // thread, which takes the list, then waits for RUNNING, never exits
        // in the middle of this action.
        RUNNING.fetch_add(1, Ordering::SeqCst);
        let entry = {
            let mut pending = lock();
            pending
                .iter()
                .position(|p| p.id == self.id)
                .map(|i| pending.remove(i))
        };
        if let Some(entry) = entry {
            (entry.action)();
        }
        RUNNING.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether a signal has interrupted the run.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst) != 0
}

/// Called by work between steps: once a signal has arrived, the calling
/// thread stops here for good, and the signal thread removes what must be
/// removed and ends the process. Cheap (one atomic load) otherwise.
pub fn checkpoint() {
    if interrupted() {
        STOPPED.fetch_add(1, Ordering::SeqCst);
        loop {
            std::thread::park();
        }
    }
}

/// Removes `path` (a folder and everything in it, or a file) until it is
/// gone: a removal that raced a file being created is retried. Returns
/// whether it is gone.
pub fn remove_until_gone(path: &std::path::Path) -> bool {
    for attempt in 0..50 {
        let result = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            _ if !path.exists() => return true,
            _ => std::thread::sleep(Duration::from_millis(5 * (attempt + 1).min(10))),
        }
    }
    !path.exists()
}

/// The pid in a name `mmlab-<pid>-<anything>` (data folders, cgroups), when
/// that process is gone: what a run killed with SIGKILL left behind. Never
/// this process, never a live one (kill(pid, 0) answers, even with EPERM).
pub fn pid_of_a_gone_owner(name: &str) -> Option<i32> {
    let (pid, rest) = name.strip_prefix("mmlab-")?.split_once('-')?;
    let pid: i32 = pid.parse().ok()?;
    if rest.is_empty() || pid <= 0 || pid as u32 == std::process::id() {
        return None;
    }
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Err(nix::errno::Errno::ESRCH) => Some(pid),
        _ => None,
    }
}

fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while !done() {
        if started.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// What an interruption did: the actions run and what is still there.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Undone {
    pub n_actions: usize,
    pub left_behind: Vec<String>,
}

impl Undone {
    /// The line printed on interruption: true in every word.
    pub fn message(&self, signal: &str) -> String {
        if self.left_behind.is_empty() {
            format!(
                "interrupted by {signal}: cleaned up {} temporary item(s); nothing left behind",
                self.n_actions
            )
        } else {
            format!(
                "interrupted by {signal}: cleaned up {} temporary item(s), but could not remove: {}",
                self.n_actions,
                self.left_behind.join(", ")
            )
        }
    }
}

/// Runs every pending action, newest first, waits for actions other threads
/// are running, then checks what is left. Used by the signal thread.
pub fn run_all_pending() -> Undone {
    let entries: Vec<Pending> = std::mem::take(&mut *lock());
    let n_actions = entries.len();
    let mut checks = Vec::new();
    for entry in entries.into_iter().rev() {
        (entry.action)();
        if let Some(check) = entry.left_behind {
            checks.push((entry.description, check));
        }
    }
    if !wait_until(RUNNING_WAIT, || RUNNING.load(Ordering::SeqCst) == 0) {
        checks.push((
            "an action still running".to_string(),
            Box::new(|| Some("an undo action that did not finish in time".to_string())),
        ));
    }
    Undone {
        n_actions,
        left_behind: checks.iter().filter_map(|(_, check)| check()).collect(),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// What the signal thread does: stop the work, undo, report, exit 128 + N.
fn interrupt(signal: i32) -> ! {
    if INTERRUPTED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // A second signal while cleaning up: the first one finishes.
        loop {
            std::thread::park();
        }
    }
    // The work stops at its next checkpoint; a long step is not waited for
    // beyond STOP_WAIT (the removal retries until the folder is gone).
    wait_until(STOP_WAIT, || STOPPED.load(Ordering::SeqCst) > 0);
    let undone = run_all_pending();
    eprintln!("\n{}", undone.message(signal_name(signal)));
    std::process::exit(128 + signal);
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (a thread reading
/// them through signal-hook): it stops the work, runs every pending undo
/// action, says truthfully what it did on stderr, and exits with 128 + the
/// signal. Call it once, early in `main` (and in tests that need it); later
/// calls do nothing.
pub fn install_signal_handlers() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(mut signals) => {
                let spawned = std::thread::Builder::new()
                    .name("mmlab-signals".to_string())
                    .spawn(move || {
                        if let Some(signal) = signals.forever().next() {
                            interrupt(signal);
                        }
                    });
                if let Err(e) = spawned {
                    eprintln!("warning: cannot start the signal thread ({e}); temporary files may stay behind if interrupted");
                }
            }
            Err(e) => eprintln!(
                "warning: cannot install the signal handlers ({e}); temporary files may stay behind if interrupted"
            ),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn guard_runs_its_action_once_on_drop_and_on_panic() {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        drop(on_exit("count", move || {
            c.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(count.load(Ordering::SeqCst), 1);
        let c = count.clone();
        let result = std::panic::catch_unwind(move || {
            let _guard = on_exit("count", move || {
                c.fetch_add(1, Ordering::SeqCst);
            });
            panic!("provoked");
        });
        assert!(result.is_err());
        assert_eq!(count.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_message_says_nothing_left_behind_only_when_nothing_is() {
        let clean = Undone {
            n_actions: 2,
            left_behind: vec![],
        };
        assert!(clean.message("SIGINT").ends_with("nothing left behind"));
        let dirty = Undone {
            n_actions: 1,
            left_behind: vec!["/x/mmlab-1-2".to_string()],
        };
        let text = dirty.message("SIGTERM");
        assert!(!text.contains("nothing left behind"), "{text}");
        assert!(text.contains("could not remove: /x/mmlab-1-2"), "{text}");
    }

    #[test]
    fn a_folder_is_removed_even_while_files_are_still_being_created_in_it() {
        // The work stops at its next checkpoint, so files keep appearing only
        // for a moment: a writer that adds a burst of files while the
        // removal runs (and then stops, as the work does) must not leave
        // the folder behind. A writer that never stops is not the case the
        // protocol has to win: checkpoint() exists so that none does.
        let base = tempfile::tempdir_in(".").unwrap();
        let dir = base.path().join("busy");
        std::fs::create_dir(&dir).unwrap();
        for i in 0..200 {
            std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
        }
        let writer_dir = dir.clone();
        let writer = std::thread::spawn(move || {
            for i in 0..2000 {
                if std::fs::write(writer_dir.join(format!("g{i}")), b"x").is_err() {
                    break;
                }
            }
        });
        let gone = remove_until_gone(&dir);
        writer.join().unwrap();
        assert!(gone && !dir.exists());
    }
}
