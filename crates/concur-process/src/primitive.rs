//! Every synchronisation primitive the crate uses, in one place. The
//! bookkeeping the pool keeps under its mutex (`concur_remote::Book`) is
//! loom-checked in `concur-remote`; the pool itself (threads plus syscalls)
//! is tested with real processes.

pub(crate) use std::sync::atomic::{AtomicBool, Ordering};
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: the pool never panics while it holds
/// a lock (user code, such as done-callbacks and `Serialize` impls, runs
/// after the guard is dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
