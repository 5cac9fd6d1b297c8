//! Every synchronisation primitive the crate uses, in one place, so that
//! `--cfg concur_loom` swaps them all for loom's model-checked versions
//! (threads included: under loom, workers are loom threads).

#[cfg(not(concur_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
    pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread::{Builder as ThreadBuilder, JoinHandle, current as current_thread};

    /// One step of an idle worker's bounded wait before it sleeps; `step`
    /// counts up from 0 and the worker re-checks the queue after each step.
    /// Returns `false` once the worker should sleep.
    ///
    /// Steps are `yield_now`s, not `spin_loop`s: on the 2-core, oversubscribed
    /// machines this was tuned on, a pause loop holds the core that the
    /// submitting thread needs to wake on (round trip 2.5–6 µs), while
    /// yielding keeps the worker responsive *and* lets the submitter run
    /// (≈ 2.5 µs with the core's waiting, ≈ 0.9 µs with a yielding waiter).
    /// 256 yields is some 40–70 µs on an idle machine: long enough to outlast
    /// the ~20 µs it takes a parked async runtime to wake on a result and
    /// submit the next task, so `run_in_executor` round trips need one
    /// wake-up, not two (64 yields: 42 µs vs tokio `spawn_blocking`'s 24 µs;
    /// 256: 17.6 vs 19.4 µs). Only one idle worker spins at a time.
    pub(crate) fn spin_step(step: u32) -> bool {
        if step < 256 {
            std::thread::yield_now();
            true
        } else {
            false
        }
    }

    /// One step of a worker's short poll for the next job of a burst,
    /// before it announces itself idle: about 1 µs of pause loops.
    pub(crate) fn poll_step(step: u32) -> bool {
        if step < 16 {
            for _ in 0..8 {
                std::hint::spin_loop();
            }
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

    /// No polling under loom (see `spin_step`).
    pub(crate) fn poll_step(_step: u32) -> bool {
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
