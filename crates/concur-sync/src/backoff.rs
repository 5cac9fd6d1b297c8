//! How long concur's threads spin before they park: every spin/back-off
//! tuning in the workspace, with the measurements behind it.
//!
//! Each function is one step of a bounded wait. `step` counts up from 0;
//! the caller re-checks its condition after each step and parks once the
//! function returns `false`. Under `--cfg concur_loom` every function
//! returns `false` at once: spinning would only multiply the interleavings
//! loom explores, and parking is what the models must check.
//!
//! # The policy, and why
//!
//! These machines are 2-core, oversubscribed VMs: a parked thread costs
//! ~20 µs to wake, while a `yield_now` costs well under a microsecond and,
//! unlike a pause loop, lets the thread we are waiting for run when it
//! shares our core. So waits are short pause loops (for a result that is
//! nanoseconds away) followed by yields (for one that is microseconds away),
//! then a park.
//!
//! * [`result_wait`]: a thread blocked in `Future::result` and friends.
//!   4 doubling pause loops, then up to 64 yields: this halved the thread
//!   pool's submit → result round trip.
//! * [`idle_worker`]: the one thread-pool worker allowed to spin while
//!   idle. 256 yields, some 40–70 µs on an idle machine: long enough to
//!   outlast the ~20 µs a parked async runtime takes to wake on a result
//!   and submit the next task, so `run_in_executor` round trips need one
//!   wake-up, not two (64 yields: 42 µs vs tokio `spawn_blocking`'s 24 µs;
//!   256: 17.6 vs 19.4 µs). Pause loops here held the core the submitting
//!   thread needed (round trip 2.5–6 µs against ≈ 0.9 µs with yields).
//! * [`burst_poll`]: a worker that just finished a job polls about 1 µs
//!   (16 × 8 pause loops) for the next job of a burst before it announces
//!   itself idle, which saves the idle/wake bookkeeping per job of a
//!   `submit` loop.
//! * [`SpinWait`]: a lock-free retry loop that never parks (the thread
//!   pool's queue waiting out another thread's push or pop, or retrying a
//!   lost CAS): crossbeam-utils' `Backoff`, limits unchanged (doubling
//!   pause loops up to 64, then yields).
//!
//! # Examples
//!
//! ```
//! use concur_sync::backoff;
//! use std::sync::atomic::{AtomicBool, Ordering};
//!
//! let flag = AtomicBool::new(true);
//! let mut step = 0;
//! while !flag.load(Ordering::Acquire) && backoff::result_wait(step) {
//!     step += 1;
//! }
//! ```

/// One step of a blocked result wait (see the [module](self) docs);
/// `false` once the caller should park.
///
/// # Examples
///
/// ```
/// let steps = (0..).take_while(|&s| concur_sync::backoff::result_wait(s)).count();
/// assert!(steps <= 68);
/// ```
#[cfg(not(concur_loom))]
#[inline]
pub fn result_wait(step: u32) -> bool {
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

/// One step of an idle worker's wait before it sleeps (see the
/// [module](self) docs); `false` once the worker should sleep.
///
/// # Examples
///
/// ```
/// let steps = (0..).take_while(|&s| concur_sync::backoff::idle_worker(s)).count();
/// assert!(steps <= 256);
/// ```
#[cfg(not(concur_loom))]
#[inline]
pub fn idle_worker(step: u32) -> bool {
    if step < 256 {
        std::thread::yield_now();
        true
    } else {
        false
    }
}

/// One step of a worker's short poll for the next job of a burst (see the
/// [module](self) docs); `false` once the worker should announce itself
/// idle.
///
/// # Examples
///
/// ```
/// let steps = (0..).take_while(|&s| concur_sync::backoff::burst_poll(s)).count();
/// assert!(steps <= 16);
/// ```
#[cfg(not(concur_loom))]
#[inline]
pub fn burst_poll(step: u32) -> bool {
    if step < 16 {
        for _ in 0..8 {
            std::hint::spin_loop();
        }
        true
    } else {
        false
    }
}

/// No spinning under loom.
#[cfg(concur_loom)]
#[inline]
pub fn result_wait(_step: u32) -> bool {
    false
}

/// No spinning under loom.
#[cfg(concur_loom)]
#[inline]
pub fn idle_worker(_step: u32) -> bool {
    false
}

/// No polling under loom.
#[cfg(concur_loom)]
#[inline]
pub fn burst_poll(_step: u32) -> bool {
    false
}

/// Back-off for a lock-free loop that retries until another thread's step
/// is done, and never parks: crossbeam-utils' `Backoff` itself (doubling
/// pause loops, then yields). Under loom both methods yield to the model's
/// scheduler instead, so the thread it waits for can run.
///
/// # Examples
///
/// ```
/// use concur_sync::backoff::SpinWait;
/// use concur_sync::sync::atomic::{AtomicUsize, Ordering};
///
/// let n = AtomicUsize::new(0);
/// let backoff = SpinWait::new();
/// let mut seen = n.load(Ordering::Relaxed);
/// while let Err(actual) = n.compare_exchange_weak(seen, seen + 1, Ordering::Relaxed, Ordering::Relaxed) {
///     seen = actual;
///     backoff.spin(); // lost a race: retry soon
/// }
/// assert_eq!(n.load(Ordering::Relaxed), 1);
/// ```
#[derive(Debug, Default)]
pub struct SpinWait(#[cfg(not(concur_loom))] crossbeam_utils::Backoff);

impl SpinWait {
    /// A back-off at its first step.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_sync::backoff::SpinWait::new().snooze();
    /// ```
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// After a lost race (a failed CAS): a short pause loop, doubling with
    /// each step up to crossbeam's limit.
    ///
    /// # Examples
    ///
    /// See [`SpinWait`].
    #[inline]
    pub fn spin(&self) {
        #[cfg(not(concur_loom))]
        self.0.spin();
        #[cfg(concur_loom)]
        loom::thread::yield_now();
    }

    /// While waiting for another thread's step: pause loops as in
    /// [`spin`](Self::spin) for the first steps, then `yield_now`.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_sync::backoff::SpinWait::new();
    /// for _ in 0..12 {
    ///     b.snooze();
    /// }
    /// ```
    #[inline]
    pub fn snooze(&self) {
        #[cfg(not(concur_loom))]
        self.0.snooze();
        #[cfg(concur_loom)]
        loom::thread::yield_now();
    }
}
