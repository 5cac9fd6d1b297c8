//! Every synchronisation primitive the crate uses, in one place, so that
//! `--cfg concur_loom` swaps them for loom's model-checked versions. (The
//! timer thread, which sleeps in real time, lives in concur-core and uses
//! `std` directly.)

#[cfg(not(concur_loom))]
mod imp {
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
}

#[cfg(concur_loom)]
mod imp {
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
}

pub(crate) use imp::*;

/// Locks a mutex, ignoring poisoning: no code in this crate panics while it
/// holds a lock (user closures always run after the guard is dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
