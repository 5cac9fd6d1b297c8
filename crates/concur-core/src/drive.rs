//! [`Drive`]: what a thread blocked on a future may do for the executor
//! that will complete it, instead of only spinning and parking.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
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
/// let driver = concur_core::Driver::new(lazy.clone());
/// let (promise, fut) = Promise::with_driver(&driver);
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

/// A [`Drive`] registered for futures to name: what
/// [`Promise::with_driver`](crate::Promise::with_driver) takes. A future
/// holds only the registration's 4-byte id (its shared state stays at 112
/// bytes with the `Arc`'s counters: holding the driver's `Arc`, 16 bytes
/// more, made `as_completed` over 100k thread-pool futures 1.5–2× slower),
/// and looks the driver up when a waiter is about to block. Dropping the
/// `Driver` unregisters it: futures that outlive it then wait as any
/// other.
///
/// # Examples
///
/// ```
/// use concur_core::{Drive, Driver, Promise};
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// struct Nothing;
/// impl Drive for Nothing {
///     fn drive(&self, done: &dyn Fn() -> bool, _: Option<Instant>) -> bool {
///         done()
///     }
/// }
/// let driver = Driver::new(Arc::new(Nothing));
/// let (promise, fut) = Promise::<u8>::with_driver(&driver);
/// promise.set_result(1).unwrap();
/// assert_eq!(*fut.result().unwrap(), 1);
/// ```
pub struct Driver {
    id: Option<NonZeroU32>,
}

/// The registered drivers, by id (a handful: one per pool; a scan).
static REGISTRY: Mutex<Vec<(NonZeroU32, Arc<dyn Drive>)>> = Mutex::new(Vec::new());

/// The next id (never reused: a future of a dropped driver's pool must not
/// find another's).
static NEXT: AtomicU32 = AtomicU32::new(1);

impl Driver {
    /// Registers `drive`. (Past 4 billion registrations, futures get no
    /// driver: they wait as any other.)
    ///
    /// # Examples
    ///
    /// See [`Driver`].
    #[must_use]
    pub fn new(drive: Arc<dyn Drive>) -> Self {
        // ORDERING: only uniqueness matters.
        let id = NonZeroU32::new(
            NEXT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
                .unwrap_or(0),
        );
        if let Some(id) = id {
            lock().push((id, drive));
        }
        Self { id }
    }

    /// The id futures hold.
    pub(crate) fn id(&self) -> Option<NonZeroU32> {
        self.id
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            lock().retain(|(i, _)| *i != id);
        }
    }
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("id", &self.id).finish()
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(NonZeroU32, Arc<dyn Drive>)>> {
    REGISTRY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The driver registered as `id`, if it still is.
pub(crate) fn lookup(id: NonZeroU32) -> Option<Arc<dyn Drive>> {
    lock()
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, d)| d.clone())
}
