//! [`Event`]: a one-shot event (CPython's `threading.Event`).

use crate::PATIENCE;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

/// A one-shot event: tasks [`wait`](Self::wait) until the test
/// [`set`](Self::set)s it (CPython's tests use a `threading.Event` or a
/// `Semaphore(0)` the same way). Clones share the event.
///
/// # Examples
///
/// ```
/// let e = concur_testkit::Event::new();
/// let waiter = {
///     let e = e.clone();
///     std::thread::spawn(move || e.wait())
/// };
/// e.set();
/// waiter.join().unwrap();
/// assert!(e.is_set());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Event(Arc<(Mutex<bool>, Condvar)>);

impl Event {
    /// An event not set yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_testkit::Event::new().is_set());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the event, waking every waiter (now and later).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_testkit::Event::new();
    /// e.set();
    /// e.wait(); // returns at once
    /// ```
    pub fn set(&self) {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.1.notify_all();
    }

    /// Whether the event is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_testkit::Event::new();
    /// e.clone().set();
    /// assert!(e.is_set());
    /// ```
    #[must_use]
    pub fn is_set(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until the event is set.
    ///
    /// # Panics
    ///
    /// If it is not set within [`PATIENCE`](crate::PATIENCE) (a test
    /// fails instead of hanging).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_testkit::Event::new();
    /// e.set();
    /// e.wait();
    /// ```
    pub fn wait(&self) {
        let deadline = Instant::now() + PATIENCE;
        let mut set = self.0.0.lock().unwrap_or_else(PoisonError::into_inner);
        while !*set {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "event never set");
            set = self
                .0
                .1
                .wait_timeout(set, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
