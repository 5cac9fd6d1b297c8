//! Finishing executors' work when the process exits, as CPython's
//! `concurrent.futures` exit hook does: [`join_at_exit`] and the
//! [`JoinAtExit`] an executor implements.
//!
//! The registry is a process-wide `std::sync::Mutex`, outside concur-sync
//! and loom on purpose: `exit` is a process-wide event no model can race.

use std::sync::{Mutex, Once, PoisonError, Weak};

/// An executor whose work [`join_at_exit`] finishes when the process exits.
///
/// Implemented by the shared state of concur's pools; implement it for an
/// executor of your own to give it the same guarantee.
///
/// # Examples
///
/// ```
/// use concur_core::JoinAtExit;
/// use std::sync::{Arc, Mutex};
/// use std::thread::JoinHandle;
///
/// struct Worker(Mutex<Option<JoinHandle<()>>>);
///
/// impl JoinAtExit for Worker {
///     fn join_at_exit(&self) {
///         if let Some(h) = self.0.lock().unwrap().take() {
///             let _ = h.join();
///         }
///     }
/// }
///
/// let w = Arc::new(Worker(Mutex::new(Some(std::thread::spawn(|| {})))));
/// let weak = Arc::downgrade(&w);
/// concur_core::join_at_exit(weak);
/// ```
pub trait JoinAtExit: Send + Sync {
    /// Stops accepting work and blocks until the work already accepted is
    /// done (`shutdown(wait = true, cancel_futures = false)`).
    ///
    /// Called at most once per registration, from the thread that called
    /// `exit`, after that thread's thread-locals were destroyed: do not call
    /// `std::thread::current()` or `std::thread::park` here, and return at
    /// once if the calling thread is one of the executor's own (it cannot
    /// wait for itself).
    fn join_at_exit(&self);
}

struct Registry {
    /// The process that registered these: a `fork`ed child must not join
    /// threads it does not have.
    pid: u32,
    pools: Vec<Weak<dyn JoinAtExit>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    pid: 0,
    pools: Vec::new(),
});
static INSTALL: Once = Once::new();

/// Registers `executor` to be joined when the process exits. Executors
/// are joined newest first, so a pool whose tasks submit to an older pool
/// finishes while the older one still accepts work. A registration whose
/// executor was dropped is skipped (and pruned at the next registration).
///
/// A pool held in a `static` (`LazyLock<ThreadPool>`, the Rust form of a
/// module-level executor) is never dropped, so its `Drop`-time
/// `shutdown(wait = true)` never runs: without this hook, work still queued
/// or running when `main` returns would be lost. Each executor registers a
/// weak reference to its shared state when it is built; when the process
/// exits through `exit` (returning from `main`, [`std::process::exit`],
/// libtest finishing), one `atexit` handler shuts down every executor still
/// alive, newest first, and waits for its work, as
/// `shutdown(wait = true, cancel_futures = false)` would.
///
/// # Design
///
/// The choices, and why:
///
/// * **Wait, as CPython does** (rather than refusing pools in statics):
///   it is what a Python user expects, and what a `static` pool's user
///   would write by hand. A task that never ends therefore keeps the
///   process from exiting, as in CPython; call
///   `shutdown_with(ShutdownOptions::new().cancel_futures(true))` before
///   returning from `main` to drop queued work instead.
/// * **`atexit`, not a main-thread destructor:** it runs whichever thread
///   calls `exit`. By then glibc has run that thread's thread-local
///   destructors, so [`JoinAtExit::join_at_exit`] must not touch
///   `std::thread::current()` (it panics after its destructor ran) or park
///   the calling thread; the pools join their threads with
///   [`JoinHandle::join`](std::thread::JoinHandle::join) and wait on
///   condition variables, which need no thread-local state.
/// * **Only in the process that built the pool:** a `fork`ed child that
///   calls `exit` inherits the handler but not the pool's threads; the
///   handler does nothing there (it compares process ids).
/// * **Dropped pools are skipped:** the registry holds weak references, so
///   a pool that was dropped (and so already joined) costs nothing at exit.
/// * Exits that bypass `atexit` (`std::process::abort`, `libc::_exit`, a
///   fatal signal) join nothing.
///
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// struct Noop;
/// impl concur_core::JoinAtExit for Noop {
///     fn join_at_exit(&self) {}
/// }
///
/// let pool: Arc<Noop> = Arc::new(Noop);
/// let weak = Arc::downgrade(&pool);
/// concur_core::join_at_exit(weak);
/// ```
pub fn join_at_exit(executor: Weak<dyn JoinAtExit>) {
    INSTALL.call_once(install);
    let mut r = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let pid = std::process::id();
    if r.pid != pid {
        // First registration, or the first in a forked child: what the
        // parent registered is not ours to join.
        r.pid = pid;
        r.pools.clear();
    }
    r.pools.retain(|w| w.strong_count() > 0);
    r.pools.push(executor);
}

#[cfg(unix)]
fn install() {
    extern "C" fn at_exit() {
        // A panic must not unwind into libc's `exit`.
        let _ = std::panic::catch_unwind(run_exit_joins);
    }
    // SAFETY: `atexit` only stores the function pointer; `at_exit` is an
    // `extern "C" fn()` that never unwinds. A failure (the table full)
    // leaves pools in statics unjoined, as before; nothing else depends on
    // it.
    unsafe { libc::atexit(at_exit) };
}

#[cfg(not(unix))]
fn install() {}

/// Joins every registered executor still alive, newest first; executors
/// registered meanwhile (a task that builds a pool at exit) are joined too.
fn run_exit_joins() {
    loop {
        let pools = {
            let mut r = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
            if r.pid != std::process::id() {
                return;
            }
            std::mem::take(&mut r.pools)
        };
        if pools.is_empty() {
            return;
        }
        for pool in pools.iter().rev() {
            if let Some(pool) = pool.upgrade() {
                pool.join_at_exit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(Arc<AtomicUsize>);
    impl JoinAtExit for Counting {
        fn join_at_exit(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn live_executors_are_joined_once_and_dropped_ones_skipped() {
        let joined = Arc::new(AtomicUsize::new(0));
        let live: Arc<dyn JoinAtExit> = Arc::new(Counting(joined.clone()));
        let dropped: Arc<dyn JoinAtExit> = Arc::new(Counting(joined.clone()));
        join_at_exit(Arc::downgrade(&live));
        join_at_exit(Arc::downgrade(&dropped));
        drop(dropped);
        run_exit_joins();
        assert_eq!(joined.load(Ordering::SeqCst), 1);
        // Taken out of the registry: a second exit pass joins nothing.
        run_exit_joins();
        assert_eq!(joined.load(Ordering::SeqCst), 1);
    }
}
