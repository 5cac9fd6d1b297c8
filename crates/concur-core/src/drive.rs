//! [`Drive`]: what a thread blocked on a future may do for the executor
//! that will complete it, instead of only spinning and parking.

use std::time::Instant;

/// Work a thread about to block on a future can do for the executor that
/// completes it: an executor whose results arrive somewhere the waiting
/// thread can read them (a process pool's shared-memory reply ring) lets
/// the waiter read and complete them itself, which saves the hand-over
/// through the executor's own thread (two context switches per result on
/// a machine with fewer CPUs than busy threads).
///
/// A future made by [`Promise::with_driver`](crate::Promise::with_driver)
/// calls [`drive`](Self::drive) once per blocking wait
/// ([`Future::wait`](crate::Future::wait), `result`, `into_result` and
/// their timed forms, unless the future is already done or the deadline
/// has passed); if it returns `false` the thread then spins briefly and
/// parks, as on any future. Futures without a
/// driver (every executor's but the process pool's over shared memory)
/// wait as before.
///
/// # Examples
///
/// ```
/// use concur_core::{Drive, Promise};
/// use std::sync::{Arc, Mutex};
/// use std::time::Instant;
///
/// /// Completes the promises it holds when a waiter comes along.
/// struct Lazy(Mutex<Vec<Promise<u32>>>);
///
/// impl Drive for Lazy {
///     fn drive(&self, done: &dyn Fn() -> bool, _deadline: Option<Instant>) -> bool {
///         for p in self.0.lock().unwrap().drain(..) {
///             let _ = p.set_result(7);
///         }
///         done()
///     }
/// }
///
/// let lazy = Arc::new(Lazy(Mutex::new(Vec::new())));
/// let driver: Arc<dyn Drive> = lazy.clone();
/// let (promise, fut) = Promise::with_driver(driver);
/// lazy.0.lock().unwrap().push(promise);
/// // Nobody else completes it: the waiting thread does, through the driver.
/// assert_eq!(*fut.result().unwrap(), 7);
/// ```
pub trait Drive: Send + Sync {
    /// Makes progress for the executor on the calling thread until `done()`
    /// is true, `deadline` passes, or the driver judges that parking is the
    /// better use of the wait; returns `done()`.
    ///
    /// Returning early is always correct: the caller then waits as usual,
    /// and the executor must complete the future without it. So a driver
    /// may only do work the executor's own thread would otherwise do, and
    /// must leave it able to do the rest (a driver never waits for a lock
    /// the executor's thread holds for long).
    fn drive(&self, done: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool;
}
