//! The supervision policy: what a pool does when a worker dies or cannot
//! be started, by the phase it was in.
//!
//! | phase of the worker | a death or a start error means |
//! |---|---|
//! | launching (spawn, fork) | `Replace` after [`backoff`]; `Break` only if no worker was ever ready and [`MAX_START_ATTEMPTS`] starts in a row failed |
//! | starting (handshake, initializer) | the same |
//! | idle | `Replace` at once |
//! | running a task | the task fails (worker died), then `Replace` at once |
//! | retiring (told to exit, or retired for a protocol violation) | `Replace` at once |
//!
//! In every phase the verdict is `Stop` (no replacement) once the pool is
//! shut down and nothing is queued. An initializer that *fails* (returns an
//! error or panics) breaks the pool, as CPython's `BrokenProcessPool`; that
//! is decided by the transport, not here.

use std::time::Duration;

/// Consecutive failed starts, with no worker ever ready, after which the
/// pool is broken (the binary cannot start workers at all: copies that
/// no worker guard diverts, an exec that fails, a descriptor limit reached at once).
///
/// # Examples
///
/// ```
/// assert!(concur_remote::MAX_START_ATTEMPTS >= 2);
/// ```
pub const MAX_START_ATTEMPTS: u32 = 3;

/// The wait before the `failures`-th consecutive restart of a slot's
/// worker: 0 for the first failure, then 10 ms doubling up to 1 s.
///
/// # Examples
///
/// ```
/// use concur_remote::backoff;
/// use std::time::Duration;
/// assert_eq!(backoff(1), Duration::ZERO);
/// assert_eq!(backoff(2), Duration::from_millis(10));
/// assert_eq!(backoff(3), Duration::from_millis(20));
/// assert_eq!(backoff(u32::MAX), Duration::from_secs(1));
/// ```
#[must_use]
pub fn backoff(failures: u32) -> Duration {
    if failures <= 1 {
        return Duration::ZERO;
    }
    let shift = (failures - 2).min(7);
    Duration::from_millis(10u64 << shift).min(Duration::from_secs(1))
}

/// What to do with a slot whose worker is gone.
///
/// # Examples
///
/// ```
/// use concur_remote::{Book, Verdict};
/// let mut book = Book::<u8>::new(1, None);
/// // A launch that failed before any worker was ever ready: try again.
/// assert_eq!(book.launch_failed(0), Verdict::Replace { after: std::time::Duration::ZERO });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Start a new worker in the slot after this wait.
    Replace {
        /// The backoff before the new start.
        after: Duration,
    },
    /// Leave the slot empty: the pool is shut down with nothing queued, or
    /// already broken.
    Stop,
    /// Workers cannot be started at all: break the pool with the cause.
    Break,
}
