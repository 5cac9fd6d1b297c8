//! Every synchronisation primitive the crate uses, in one place, so that
//! `--cfg concur_loom` swaps them for loom's model-checked versions.
//!
//! The one exception is [`timer`](crate::timer), which sleeps in real time
//! and is never part of a loom model: it uses `std` directly through
//! [`real`].

#[cfg(not(concur_loom))]
mod imp {
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
}

#[cfg(concur_loom)]
mod imp {
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
}

pub(crate) use imp::*;

/// Real-time primitives for the timer thread (never modelled by loom: it
/// needs real time, which loom does not have).
pub(crate) mod real {
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
}

/// Locks a mutex, ignoring poisoning: no code in this crate panics while it
/// holds a lock (user closures always run after the guard is dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// [`lock`] for the real-time mutexes of [`real`].
pub(crate) fn lock_real<T>(m: &real::Mutex<T>) -> real::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
