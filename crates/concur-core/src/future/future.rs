//! [`Future`]: the handle to a result that may not exist yet — the reading
//! side of a future (its state, waits, borrowed and moved results,
//! done-callbacks and consumers, identity). Every operation is a view of
//! the [`SharedState`] the handle counts in, which does the work.

use super::shared::SharedState;
use crate::error::Error;
use crate::state::{CANCELLED, FAILED, FINISHED, RUNNING, State};
use concur_sync::sync::Arc;
use std::fmt;
use std::time::{Duration, Instant};

/// A handle to a result that may not exist yet.
///
/// Cheap to clone (one reference count) and `Send + Sync`: any number of
/// threads may wait on and read the same future. It is filled in by its
/// [`Promise`](crate::Promise), usually held by an executor.
///
/// # Reading the value without `T: Clone`
///
/// [`result`](Self::result) blocks and *borrows* the value
/// (`Result<&T, Error>`), so every handle can read it. To *own* it, consume
/// the handle with [`into_result`](Self::into_result) (or `.await` it): that
/// moves the value out when this is the last handle. Errors are shared
/// (`Error` is a cheap clone), so every reader sees the same error.
///
/// # Identity
///
/// Futures compare equal, and hash alike, when they are clones of one
/// another ([`id`](Self::id)); the value plays no part, so `T` needs no
/// `Eq` or `Hash`. A map from futures to what they are for is Python's
/// `{executor.submit(load, url): url}`:
///
/// ```
/// use concur_core::{Future, Promise};
/// use std::collections::HashMap;
///
/// let (p1, f1) = Promise::<usize>::new();
/// let (p2, f2) = Promise::<usize>::new();
/// let urls: HashMap<Future<usize>, &str> =
///     HashMap::from([(f1.clone(), "a.example"), (f2.clone(), "b.example")]);
/// p2.set_result(42).unwrap();
/// assert_eq!(urls[&f2], "b.example");
/// assert_eq!(urls.get(&f1), Some(&"a.example"));
/// drop(p1);
/// ```
///
/// Clippy's `mutable_key_type` lint flags such maps because the shared
/// state holds atomics; the hash is the identity, which never changes, so
/// allow the lint there (or list `concur_core::Future` and
/// `concur_core::AnyFuture` under `ignore-interior-mutability` in
/// `clippy.toml`).
///
/// # Examples
///
/// ```
/// use concur_core::Promise;
/// use std::thread;
///
/// let (promise, fut) = Promise::new();
/// let reader = fut.clone();
/// let t = thread::spawn(move || *reader.result().unwrap() + 1);
/// promise.set_result(41).unwrap();
/// assert_eq!(t.join().unwrap(), 42);
/// assert_eq!(fut.into_result().unwrap(), 41);
/// ```
#[must_use = "a future does nothing unless its result is read or it is cancelled"]
#[repr(transparent)] // for `lent`: a `&Arc<SharedState<T>>` viewed as a `&Future<T>`
pub struct Future<T> {
    shared: Arc<SharedState<T>>,
}

impl<T> Future<T> {
    /// A handle over `shared`, which already counts it in its `handles`.
    pub(crate) fn from_shared(shared: Arc<SharedState<T>>) -> Self {
        Self { shared }
    }

    /// The shared state, for the other views of it (the await adapters,
    /// erasing).
    pub(crate) fn shared(&self) -> &Arc<SharedState<T>> {
        &self.shared
    }

    /// The handle done-callbacks see: `shared` (the completer's loan, or a
    /// live handle's own state) viewed as a `Future<T>` without being
    /// counted in `handles` — the loan counts as `LENT` instead (see
    /// [the callback loan](super::shared#the-callback-loan)). A view is
    /// never dropped, only borrowed; cloning it makes a real handle.
    fn lent(shared: &Arc<SharedState<T>>) -> &Self {
        // SAFETY: `Future<T>` is `repr(transparent)` over its one field, an
        // `Arc<SharedState<T>>`, so the two have the same layout and the
        // reference stays valid for the borrow of `shared`. Through a shared
        // reference the view is never dropped, so it never takes from
        // `handles` what it did not add.
        unsafe { &*std::ptr::from_ref(shared).cast::<Self>() }
    }

    /// The current state.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(3);
    /// assert_eq!(fut.state(), concur_core::State::Finished);
    /// ```
    #[must_use]
    pub fn state(&self) -> State {
        State::from_u8(self.shared.state_u8())
    }

    /// Whether the future is finished, failed or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!fut.done());
    /// ```
    #[must_use]
    pub fn done(&self) -> bool {
        self.shared.is_done()
    }

    /// Whether an executor is running the task now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// promise.set_running_or_notify_cancel().unwrap();
    /// assert!(fut.running());
    /// ```
    #[must_use]
    pub fn running(&self) -> bool {
        self.shared.state_u8() == RUNNING
    }

    /// Whether the future was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(fut.cancel());
    /// assert!(fut.cancelled());
    /// ```
    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.shared.state_u8() == CANCELLED
    }

    /// Whether the future is done with an error (not counting
    /// cancellation), as [`AnyFuture::failed`](crate::AnyFuture::failed).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future};
    /// assert!(Future::<u8>::from_error(Error::task("x")).failed());
    /// assert!(!Future::ready(1).failed());
    /// ```
    #[must_use]
    pub fn failed(&self) -> bool {
        self.shared.state_u8() == FAILED
    }

    /// Blocks until the future is done (without reading it).
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(());
    /// fut.wait();
    /// assert!(fut.done());
    /// ```
    pub fn wait(&self) {
        self.shared.wait_until(None);
    }

    /// Blocks until the future is done or `timeout` passes; `true` if done.
    ///
    /// `Duration::ZERO` polls once without blocking; a timeout too long to
    /// add to the current [`Instant`] (such as `Duration::MAX`) means no
    /// limit, as [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!fut.wait_timeout(Duration::from_millis(1)));
    /// ```
    #[must_use]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.shared.wait_until(Instant::now().checked_add(timeout))
    }

    /// Blocks until done or until `deadline`; `true` if done.
    ///
    /// A deadline already passed (such as `Instant::now()`) polls once
    /// without blocking; a far-future one simply waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(1);
    /// assert!(fut.wait_deadline(std::time::Instant::now()));
    /// ```
    #[must_use]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.shared.wait_until(Some(deadline))
    }

    /// Borrows the outcome if the future is done, without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// assert!(fut.try_result().is_none());
    /// promise.set_result(5).unwrap();
    /// assert_eq!(fut.try_result().unwrap().unwrap(), &5);
    /// ```
    pub fn try_result(&self) -> Option<Result<&T, Error>>
    where
        T: Sync,
    {
        if !self.shared.is_done() {
            return None;
        }
        Some(self.read())
    }

    /// The outcome, borrowed; the caller observed a terminal state.
    pub(crate) fn read(&self) -> Result<&T, Error> {
        // SAFETY: callers observed a terminal state; `self` is a handle (or
        // the loan's view) and the reference lives no longer than it.
        match unsafe { self.shared.outcome() } {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::invalid_state("the value was moved out")),
        }
    }

    /// Blocks until done and borrows the value, or returns the error the
    /// task failed with ([`ErrorKind::Cancelled`](crate::ErrorKind) if it was
    /// cancelled).
    ///
    /// # Errors
    ///
    /// The stored error: the task's own error, its panic, a cancellation, a
    /// broken or shut-down executor.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(String::from("hi"));
    /// assert_eq!(fut.result().unwrap(), "hi");
    /// ```
    pub fn result(&self) -> Result<&T, Error>
    where
        T: Sync,
    {
        self.wait();
        self.read()
    }

    /// Like [`result`](Self::result), giving up after `timeout`.
    ///
    /// `Duration::ZERO` polls once without blocking (a pending future
    /// gives the `Timeout` error); `Duration::MAX` means no limit, as
    /// [`result`](Self::result).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`](crate::ErrorKind) if the future is not done in
    /// time (the future is unaffected), else as [`result`](Self::result).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_promise, fut) = concur_core::Promise::<u8>::new();
    /// let err = fut.result_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(err.is_timeout());
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, Error>
    where
        T: Sync,
    {
        if !self.wait_timeout(timeout) {
            return Err(Error::timeout("1 (of 1) futures unfinished"));
        }
        self.read()
    }

    /// Blocks until done and returns the error the future ended with, or
    /// `None` if it produced a value. A cancelled future gives its
    /// [`Cancelled`](crate::ErrorKind::Cancelled) error
    /// ([`Error::is_cancelled`]).
    ///
    /// CPython's `exception()` *raises* `CancelledError` instead. Here a
    /// cancellation is an [`Error`] like any other outcome (as
    /// [`result`](Self::result) returns it), so there is nothing to raise:
    /// this never fails, and [`exception_timeout`](Self::exception_timeout)
    /// fails only on its timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future, Promise};
    /// let fut = Future::<u8>::from_error(Error::task("bad"));
    /// assert_eq!(fut.exception().unwrap().to_string(), "task failed: bad");
    /// assert!(Future::ready(1).exception().is_none());
    /// let (_p, pending) = Promise::<u8>::new();
    /// pending.cancel();
    /// assert!(pending.exception().unwrap().is_cancelled());
    /// ```
    pub fn exception(&self) -> Option<Error> {
        self.wait();
        self.read().err()
    }

    /// Like [`exception`](Self::exception), giving up after `timeout`.
    ///
    /// `Duration::ZERO` polls once without blocking; `Duration::MAX` means
    /// no limit, as [`exception`](Self::exception).
    ///
    /// # Errors
    ///
    /// Only [`ErrorKind::Timeout`](crate::ErrorKind), if the future is not
    /// done in time. A cancelled future is `Ok(Some(error))`, as in
    /// [`exception`](Self::exception).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let fut = concur_core::Future::ready(1);
    /// assert!(fut.exception_timeout(Duration::ZERO).unwrap().is_none());
    /// let (_p, pending) = concur_core::Promise::<u8>::new();
    /// assert!(pending.exception_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<Error>, Error> {
        if !self.wait_timeout(timeout) {
            return Err(Error::timeout("1 (of 1) futures unfinished"));
        }
        Ok(self.read().err())
    }

    /// Blocks until done and moves the value out of the last handle.
    ///
    /// Done-callbacks borrow the value while they run; if they are still
    /// running on the completing thread, this also waits for them (so a
    /// registered callback never makes it fail). A done-callback must
    /// therefore not block on another thread's `into_result` of its own
    /// future.
    ///
    /// # Errors
    ///
    /// The stored error if the task failed or was cancelled. If other
    /// handles to a *successful* future still exist, the value cannot be
    /// moved: [`ErrorKind::InvalidState`](crate::ErrorKind) (use
    /// [`result`](Self::result) to borrow it instead). Also `InvalidState`
    /// if called from a done-callback of this same future (on a clone):
    /// the value is borrowed by that callback.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(vec![1, 2]);
    /// let v: Vec<i32> = fut.into_result().unwrap();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn into_result(self) -> Result<T, Error> {
        self.wait();
        let unlent = self.shared.wait_unlent();
        self.finish_into_result(unlent)
    }

    /// The move (or the error) once the future is done and, if `unlent`,
    /// no done-callback borrows the value any more.
    pub(crate) fn finish_into_result(self, unlent: bool) -> Result<T, Error> {
        match self.try_into_result() {
            Ok(outcome) => outcome,
            Err(shared) => match shared.read() {
                Err(e) => Err(e),
                Ok(_) if !unlent => Err(Error::invalid_state(
                    "into_result inside a done-callback of the same future: the callback borrows the value",
                )),
                Ok(_) => Err(Error::invalid_state(
                    "into_result needs the only handle: other clones of this future still exist",
                )),
            },
        }
    }

    /// Without blocking: moves the outcome out if the future is done and
    /// this is its only handle, else gives the handle back.
    ///
    /// # Errors
    ///
    /// `Err(self)` if the future is not done, other handles exist, or its
    /// done-callbacks are still running (they borrow the value).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// let fut = fut.try_into_result().unwrap_err(); // not done yet
    /// promise.set_result('x').unwrap();
    /// assert_eq!(fut.try_into_result().unwrap().unwrap(), 'x');
    /// ```
    pub fn try_into_result(self) -> Result<Result<T, Error>, Self> {
        self.shared.take_if_sole_handle().ok_or(self)
    }

    /// A stable identity for this future while any handle lives (the
    /// address of its shared state): equal for clones of one future.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_core::Future::ready(1);
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), concur_core::Future::ready(1).id());
    /// ```
    #[must_use]
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.shared) as *const () as usize
    }
}

impl<T: Send + 'static> Future<T> {
    /// A future already finished with `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(*concur_core::Future::ready(7).result().unwrap(), 7);
    /// ```
    pub fn ready(value: T) -> Self {
        Self::completed(Ok(value), FINISHED)
    }

    /// A future already failed with `error` (the twin of
    /// [`ready`](Self::ready); [`failed`](Self::failed) is the predicate).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future, State};
    /// let fut = Future::<()>::from_error(Error::shutdown());
    /// assert_eq!(fut.state(), State::Failed);
    /// ```
    pub fn from_error(error: Error) -> Self {
        Self::completed(Err(error), FAILED)
    }

    /// A future born done: nothing waits on it yet, so completing it only
    /// stores the outcome.
    fn completed(outcome: Result<T, Error>, new_state: u8) -> Self {
        let shared = Arc::new(SharedState::new(1));
        let _ = SharedState::complete(&shared, outcome, new_state);
        Self { shared }
    }

    /// Cancels the future if it has not started. Returns `true` if it is
    /// cancelled now (also if it already was), `false` if it is running or
    /// done.
    ///
    /// Waiters and callbacks are notified at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(fut.cancel());
    /// assert!(!promise.set_running_or_notify_cancel().unwrap()); // the executor skips it
    /// assert!(fut.result().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        SharedState::cancel(&self.shared)
    }

    /// Runs `callback` once the future is done (value, error or
    /// cancellation): on the completing thread, or at once on this thread if
    /// the future is already done. A panicking callback is reported through
    /// `tracing` (with the `tracing` feature) and does not stop the others.
    ///
    /// Callbacks run in registration order, strictly: one added while the
    /// completing thread is still running earlier callbacks (including one
    /// added by such a callback) is queued behind them and runs on that
    /// thread, rather than at once on this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let (promise, fut) = concur_core::Promise::new();
    /// fut.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
    /// promise.set_result(9).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 9);
    /// ```
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
    {
        SharedState::add_done_callback(
            &self.shared,
            Box::new(move |shared| callback(Self::lent(shared))),
        );
    }

    /// Gives up this handle and hands the outcome **by move** to `callback`
    /// once nothing else can read it: the future is done, no other
    /// [`Future`] handle remains (erased [`AnyFuture`](crate::AnyFuture)s
    /// and the [`Promise`](crate::Promise) do not count) and no done-callback still borrows
    /// the value. Like [`Arc::into_inner`](std::sync::Arc::into_inner),
    /// the value goes to the last owner; neither `T: Clone` nor `T: Sync`
    /// is needed.
    ///
    /// `callback` runs exactly once, on the thread of whichever of those
    /// events comes last: the completion, the drop of the last other
    /// handle, the end of the done-callbacks, or this call itself (then at
    /// once, here).
    ///
    /// If several handles register consumers, the first registered gets the
    /// value and later ones get
    /// [`InvalidState`](crate::ErrorKind::InvalidState) ("moved to an
    /// earlier consumer"); an error (including a cancellation, or
    /// [`Abandoned`](crate::ErrorKind::Abandoned) when the promise is
    /// dropped) is cloned to every consumer. If another handle moves the
    /// value out with [`into_result`](Self::into_result) first, consumers
    /// get `InvalidState`. A panicking consumer is reported through
    /// `tracing` (with the `tracing` feature) and never reaches the thread
    /// that ran it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::sync::mpsc;
    ///
    /// // `Cell` is neither `Clone` (here, with a `String`) nor `Sync`.
    /// let (promise, fut) = concur_core::Promise::new();
    /// let watcher = fut.clone();
    /// let (tx, rx) = mpsc::channel();
    /// fut.on_done(move |r: Result<Cell<String>, _>| tx.send(r.unwrap().into_inner()).unwrap());
    /// promise.set_result(Cell::new("moved".to_string())).unwrap();
    /// assert!(rx.try_recv().is_err()); // `watcher` could still read it
    /// drop(watcher);
    /// assert_eq!(rx.recv().unwrap(), "moved");
    /// ```
    pub fn on_done<F>(self, callback: F)
    where
        F: FnOnce(Result<T, Error>) + Send + 'static,
    {
        self.shared.add_consumer(Box::new(callback));
        drop(self);
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        self.shared.add_handle();
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        self.shared.drop_handle();
    }
}

/// Identity, not value: two handles are equal when they are handles to the
/// same future (clones of one another), whatever `T` and the state. So a
/// future can key a map, as in Python's `{executor.submit(f, url): url}`.
///
/// # Examples
///
/// ```
/// let a = concur_core::Future::ready(1);
/// assert_eq!(a, a.clone());
/// assert_ne!(a, concur_core::Future::ready(1));
/// ```
impl<T> PartialEq for Future<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Eq for Future<T> {}

/// Hashes the identity ([`Future::id`]), consistently with `Eq`.
impl<T> std::hash::Hash for Future<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<T> fmt::Debug for Future<T> {
    /// Like CPython's repr: `<Future at 0x… state=finished returned u64>`,
    /// `<Future at 0x… state=failed raised ParseIntError>` for a task's
    /// error (its [`Error::type_name`]), the kind otherwise (`raised
    /// cancelled`, `raised panicked`, …).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        write!(f, "<Future at {:#x} state={}", self.id(), s.as_str())?;
        match s {
            State::Finished => write!(f, " returned {}>", std::any::type_name::<T>()),
            State::Failed => match self.read() {
                Err(e) => match e.type_name() {
                    Some(t) => write!(f, " raised {t}>"),
                    None => write!(f, " raised {}>", e.kind()),
                },
                Ok(_) => f.write_str(">"),
            },
            _ => f.write_str(">"),
        }
    }
}
