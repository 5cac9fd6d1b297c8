//! Every synchronisation primitive the crate uses, in one place: std's, or
//! loom's under `--cfg concur_loom` (then only the book and the supervision
//! policy are compiled; the callback runner starts OS threads and is tested
//! for real).

#[cfg(not(concur_loom))]
pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: nothing in this crate panics while it
/// holds a lock (user code runs after the guard is dropped).
#[cfg(not(concur_loom))]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
