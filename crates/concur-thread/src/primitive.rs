//! Every synchronisation primitive the crate uses, in one place, so that
//! `--cfg concur_loom` swaps them all for loom's model-checked versions
//! (threads included: under loom, workers are loom threads).

#[cfg(not(concur_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread::{Builder as ThreadBuilder, JoinHandle, current as current_thread};

    /// Bounded busy-wait step: `step` counts up from 0. Returns `false` once
    /// the caller should stop spinning and park (about 1–3 µs of spinning,
    /// then a few `yield_now`s: waking a parked thread costs ~20 µs on the
    /// target machines, so a short spin pays for itself).
    pub(crate) fn spin_step(step: u32) -> bool {
        if step < 8 {
            for _ in 0..(1u32 << step) {
                std::hint::spin_loop();
            }
            true
        } else if step < 12 {
            std::thread::yield_now();
            true
        } else {
            false
        }
    }

    /// Gives the CPU away while waiting for another thread's short step.
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }
}

#[cfg(concur_loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread::{
        Builder as ThreadBuilder, JoinHandle, current as current_thread,
    };

    /// No spinning under loom: it would only multiply the interleavings.
    pub(crate) fn spin_step(_step: u32) -> bool {
        false
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }
}

pub(crate) use imp::*;

/// Locks a mutex, ignoring poisoning: no code in this crate panics while it
/// holds a lock (user code always runs after the guard is dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Waits on `cv`, ignoring poisoning (see [`lock`]).
pub(crate) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    match cv.wait(guard) {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
