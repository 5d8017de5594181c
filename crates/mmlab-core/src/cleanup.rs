//! Undo actions that run however the program ends: on normal return and on
//! error (the guard is dropped), on panic (dropped while unwinding), and on
//! Ctrl-C, SIGTERM or SIGHUP (the signal handler runs every pending action,
//! then exits with 130). Data folders and a tracefs mounted for the run use
//! this, so the machine is left as it was found.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

type Action = Box<dyn FnOnce() + Send>;

static PENDING: Mutex<Vec<(u64, String, Action)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

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
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock().push((id, description.into(), Box::new(action)));
    Guard { id }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(u64, String, Action)>> {
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Drop for Guard {
    fn drop(&mut self) {
        let action = {
            let mut pending = lock();
            pending
                .iter()
                .position(|(id, _, _)| *id == self.id)
                .map(|i| pending.remove(i).2)
        };
        if let Some(action) = action {
            action();
        }
    }
}

/// Runs every pending action, newest first. Used by the signal handler.
pub fn run_all_pending() {
    let actions: Vec<_> = std::mem::take(&mut *lock());
    for (_, _, action) in actions.into_iter().rev() {
        action();
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP: it runs every pending
/// undo action, says so on stderr, and exits with status 130. Call it once,
/// early in `main` (and in tests that need it); later calls do nothing.
pub fn install_signal_handlers() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let result = ctrlc::set_handler(|| {
            let n = lock().len();
            run_all_pending();
            eprintln!("\ninterrupted: cleaned up {n} temporary item(s); nothing left behind");
            std::process::exit(130);
        });
        if let Err(e) = result {
            eprintln!("warning: cannot install the Ctrl-C handler ({e}); temporary files may stay behind if interrupted");
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
}
