//! [`Promise`]: the completing side of a future, which an executor holds
//! to report the task's progress and outcome.

use super::future::Future;
use super::shared::{DeferredCallbacks, SharedState};
use crate::error::Error;
use crate::state::{FAILED, FINISHED, State};
use concur_sync::sync::Arc;
use std::fmt;

/// The completing side of a [`Future`]: what an executor holds to report the
/// task's progress and outcome.
///
/// Dropping a promise that has not completed its future fails the future
/// with [`ErrorKind::Abandoned`](crate::ErrorKind), so no waiter hangs.
///
/// # Examples
///
/// ```
/// use concur_core::{ErrorKind, Promise};
///
/// let (promise, fut) = Promise::<u32>::new();
/// drop(promise);
/// assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Abandoned);
/// ```
#[must_use = "dropping a promise fails its future as abandoned"]
pub struct Promise<T: Send + 'static> {
    shared: Arc<SharedState<T>>,
}

impl<T: Send + 'static> Promise<T> {
    /// A pending future and the promise that completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_result("done").unwrap();
    /// assert_eq!(*fut.result().unwrap(), "done");
    /// ```
    #[inline]
    pub fn new() -> (Self, Future<T>) {
        let shared = Arc::new(SharedState::new(1));
        (
            Self {
                shared: shared.clone(),
            },
            Future::from_shared(shared),
        )
    }

    /// A pending future and its promise, whose blocked waiters run
    /// `driver` before they park (see [`Drive`](crate::Drive)): the
    /// executor that completes the future may let its waiters do so.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Drive, Promise};
    /// use std::sync::Arc;
    /// use std::time::Instant;
    ///
    /// struct Nothing;
    /// impl Drive for Nothing {
    ///     fn drive(&self, done: &dyn Fn() -> bool, _: Option<Instant>) -> bool {
    ///         done()
    ///     }
    /// }
    ///
    /// let driver = concur_core::Driver::new(Arc::new(Nothing));
    /// let (promise, fut) = Promise::with_driver(&driver);
    /// let t = std::thread::spawn(move || promise.set_result(3).unwrap());
    /// assert_eq!(*fut.result().unwrap(), 3);
    /// t.join().unwrap();
    /// ```
    #[inline]
    pub fn with_driver(driver: &crate::Driver) -> (Self, Future<T>) {
        let shared = Arc::new(SharedState::with_driver(1, driver.id()));
        (
            Self {
                shared: shared.clone(),
            },
            Future::from_shared(shared),
        )
    }

    /// Marks the future running, unless it was cancelled.
    ///
    /// Returns `Ok(true)` if the task should run now, `Ok(false)` if it was
    /// cancelled (waiters were already told; skip the task).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if the future is already
    /// running or done (a bug in the executor).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, _fut) = concur_core::Promise::<()>::new();
    /// assert!(promise.set_running_or_notify_cancel().unwrap());
    /// assert!(promise.set_running_or_notify_cancel().is_err());
    /// ```
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, Error> {
        self.shared.start_running()
    }

    fn complete(&self, outcome: Result<T, Error>, new_state: u8) -> Result<(), Error> {
        SharedState::complete(&self.shared, outcome, new_state)
    }

    /// Completes the future with `value`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if the future is already
    /// done (finished, failed or cancelled); the first outcome stays.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_result(1).unwrap();
    /// assert!(promise.set_result(2).is_err());
    /// assert_eq!(*fut.result().unwrap(), 1);
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), Error> {
        self.complete(Ok(value), FINISHED)
    }

    /// Fails the future with `error`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<u8>::new();
    /// promise.set_exception(concur_core::Error::task("no")).unwrap();
    /// assert!(fut.result().is_err());
    /// ```
    pub fn set_exception(&self, error: Error) -> Result<(), Error> {
        self.complete(Err(error), FAILED)
    }

    /// Completes with a value or fails with an error.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_outcome(Ok(3)).unwrap();
    /// assert_eq!(fut.into_result().unwrap(), 3);
    /// ```
    pub fn set_outcome(&self, outcome: Result<T, Error>) -> Result<(), Error> {
        match outcome {
            Ok(v) => self.set_result(v),
            Err(e) => self.set_exception(e),
        }
    }

    /// Completes the future like [`set_outcome`](Self::set_outcome) (waiters
    /// wake at once), but leaves its done-callbacks to the caller: `Some`
    /// if there are any, to [`run`](DeferredCallbacks::run) on another
    /// thread. An executor's I/O thread uses this so that a slow callback
    /// never delays the results of other futures.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// // No callbacks: nothing to run later.
    /// assert!(promise.set_outcome_deferring_callbacks(Ok(5)).unwrap().is_none());
    /// assert_eq!(fut.into_result().unwrap(), 5);
    /// ```
    pub fn set_outcome_deferring_callbacks(
        &self,
        outcome: Result<T, Error>,
    ) -> Result<Option<DeferredCallbacks>, Error> {
        SharedState::complete_deferring_callbacks(&self.shared, outcome)
    }

    /// The future's current state.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// fut.cancel();
    /// assert_eq!(promise.state(), concur_core::State::Cancelled);
    /// ```
    pub fn state(&self) -> State {
        State::from_u8(self.shared.state_u8())
    }

    /// Cancels the future if it is still pending (for executors that drop
    /// queued work, e.g. `shutdown(cancel_futures = true)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(promise.cancel());
    /// assert!(fut.cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        SharedState::cancel(&self.shared)
    }

    /// The shared state, for erasing.
    pub(crate) fn shared(&self) -> &Arc<SharedState<T>> {
        &self.shared
    }
}

impl<T: Send + 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        if !self.shared.is_done() {
            let _ = self.complete(Err(Error::abandoned()), FAILED);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("state", &self.state())
            .finish()
    }
}
