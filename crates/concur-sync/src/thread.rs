//! `std::thread`'s mirror (loom's threads under `--cfg concur_loom`).
//!
//! # Examples
//!
//! ```
//! let t = concur_sync::thread::Builder::new()
//!     .name("worker".into())
//!     .spawn(|| 6 * 7)
//!     .unwrap();
//! assert_eq!(t.join().unwrap(), 42);
//! ```

#[cfg(not(concur_loom))]
pub use std::thread::*;

#[cfg(concur_loom)]
pub use loom::thread::*;

/// loom has no clock: a timed park is a yield, after which the caller
/// re-checks its deadline (as it must after any spurious wake-up).
#[cfg(concur_loom)]
#[inline]
pub fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::yield_now();
}

/// Whether `handle` is the calling thread's own handle: how a pool tells
/// that `shutdown` (or the exit hook) was called from one of its own
/// threads, which cannot join itself. Needs no thread-local state (it
/// compares pthread ids), so it also works in an `atexit` handler, after
/// the calling thread's thread-locals were destroyed and
/// `std::thread::current()` would panic.
///
/// # Examples
///
/// ```
/// let other = std::thread::spawn(|| {});
/// assert!(!concur_sync::thread::is_current(&other));
/// other.join().unwrap();
/// ```
#[cfg(all(unix, not(concur_loom)))]
#[must_use]
pub fn is_current<T>(handle: &JoinHandle<T>) -> bool {
    use std::os::unix::thread::JoinHandleExt;
    // SAFETY: `pthread_self` has no preconditions.
    let me = unsafe { libc::pthread_self() };
    // SAFETY: both ids come from live threads (`handle` has not been
    // joined: it is borrowed), so comparing them is defined.
    unsafe { libc::pthread_equal(handle.as_pthread_t(), me) != 0 }
}

/// Whether `handle` is the calling thread's own handle (by thread id: no
/// pthread ids here).
///
/// # Examples
///
/// ```
/// let other = std::thread::spawn(|| {});
/// assert!(!concur_sync::thread::is_current(&other));
/// other.join().unwrap();
/// ```
#[cfg(any(not(unix), concur_loom))]
#[must_use]
pub fn is_current<T>(handle: &JoinHandle<T>) -> bool {
    handle.thread().id() == current().id()
}
