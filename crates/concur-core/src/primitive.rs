//! Every synchronisation primitive the crate uses, in one place, so that
//! `--cfg concur_loom` swaps them all for loom's model-checked versions.

#[cfg(not(concur_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use std::thread::{Thread, ThreadId, current as current_thread};

    /// `std::cell::UnsafeCell` with loom's `with`/`with_mut` interface.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    pub(crate) fn park() {
        std::thread::park();
    }

    pub(crate) fn park_timeout(d: std::time::Duration) {
        std::thread::park_timeout(d);
    }

    /// Bounded busy-wait step: `step` counts up from 0. Returns `false` once
    /// the caller should stop spinning and park.
    ///
    /// A few short pause loops, then up to 64 `yield_now`s: on these 2-core
    /// VMs a parked thread costs ~20 µs to wake, and yielding (rather than
    /// pausing) lets the thread we wait for run when it shares our core,
    /// which halved the thread pool's submit→result round trip.
    pub(crate) fn spin_step(step: u32) -> bool {
        if step < 4 {
            for _ in 0..(1u32 << step) {
                std::hint::spin_loop();
            }
            true
        } else if step < 68 {
            std::thread::yield_now();
            true
        } else {
            false
        }
    }

    pub(crate) fn now() -> std::time::Instant {
        std::time::Instant::now()
    }
}

#[cfg(concur_loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};
    pub(crate) use loom::thread::{Thread, ThreadId, current as current_thread};

    /// loom's `UnsafeCell`, plus `get_mut` for exclusive owners.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(loom::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::cell::UnsafeCell::new(value))
        }
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            self.0.with(f)
        }
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            self.0.with_mut(f)
        }
    }

    pub(crate) fn park() {
        loom::thread::park();
    }

    /// loom has no real time: a timed park is a yield, after which the
    /// caller re-checks its deadline.
    pub(crate) fn park_timeout(_d: std::time::Duration) {
        loom::thread::yield_now();
    }

    /// No spinning under loom: it would only multiply the interleavings.
    pub(crate) fn spin_step(_step: u32) -> bool {
        false
    }

    pub(crate) fn now() -> std::time::Instant {
        std::time::Instant::now()
    }
}

pub(crate) use imp::*;

/// Locks a mutex, ignoring poisoning: no code in this crate panics while it
/// holds a lock (user callbacks always run after the guard is dropped).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
