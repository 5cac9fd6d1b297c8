//! Chaining on blocking futures: [`FutureExt`], [`join_all`], [`gather`]
//! and [`select`].
//!
//! # Where chained work runs
//!
//! Every combinator here registers a done-callback on its source
//! ([`Future::add_done_callback`]), so the chained closure runs **on the
//! thread that completes the source** (an executor's worker, usually), or
//! at once on the calling thread if the source is already done. Keep such
//! closures short; for heavy work name an executor with
//! [`then_on`](FutureExt::then_on), which only submits from the callback.
//! [`with_timeout`](FutureExt::with_timeout) fires on concur's one timer
//! thread.
//!
//! # Values are borrowed, or cloned to move on
//!
//! A future's value can only be borrowed while other handles exist, and a
//! callback only ever borrows it. Combinators that hand the *same* value on
//! to a new future ([`and_then`](FutureExt::and_then)'s inner result,
//! [`or_else`](FutureExt::or_else), [`with_timeout`](FutureExt::with_timeout),
//! [`join_all`], [`gather`], [`select`]) therefore need `T: Clone`; wrap a
//! large value in an `Arc` to make that clone cheap.

use crate::handle::IntoFutureHandle;
use crate::primitive::{Arc, Mutex, lock};
use crate::timer;
use concur_core::{Error, Executor, Future, Promise};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Runs `f` (catching a panic) unless the output was cancelled first, and
/// completes `promise` with its outcome. A cancelled source's error is
/// passed on as is (kind [`Cancelled`](concur_core::ErrorKind::Cancelled)).
fn complete_with<U: Send + Sync + 'static>(
    promise: &Promise<U>,
    f: impl FnOnce() -> Result<U, Error>,
) {
    if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
        return;
    }
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(Error::panicked(p)));
    let _ = promise.set_outcome(outcome);
}

/// Chaining combinators on [`Future`], in the style of Java's
/// `CompletableFuture`. Each returns a new future at once; see the
/// [module docs](self) for where the chained closure runs.
///
/// Cancelling a chained future before its source completes stops its
/// closure from running; it never cancels the source (except
/// [`with_timeout_cancelling`](Self::with_timeout_cancelling) on timeout).
///
/// # Examples
///
/// ```
/// use concur_combinators::FutureExt;
/// use concur_core::{Error, Promise};
///
/// let (p, f) = Promise::new();
/// let len = f.then(|s: &String| s.len());
/// let doubled = len.and_then(|n| concur_core::Future::ready(n * 2));
/// p.set_result("four".to_string()).unwrap();
/// assert_eq!(*doubled.result().unwrap(), 8);
///
/// let failed = concur_core::Future::<u8>::failed(Error::task("no"));
/// let recovered = failed.or_else(|_| Ok(0));
/// assert_eq!(*recovered.result().unwrap(), 0);
/// ```
pub trait FutureExt<T: Send + Sync + 'static> {
    /// A future of `f(&value)`: runs once this future has a value; an error
    /// (or cancellation) is passed on without calling `f`; a panic in `f`
    /// fails the new future. Runs on the completing thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::ready(20).then(|x| x + 1).then(|x| x * 2);
    /// assert_eq!(*f.result().unwrap(), 42);
    /// ```
    fn then<U, F>(&self, f: F) -> Future<U>
    where
        U: Send + Sync + 'static,
        F: FnOnce(&T) -> U + Send + 'static;

    /// Like [`then`](Self::then), but `f` runs as a job on `executor`
    /// (submitted from the completing thread). If the executor refuses the
    /// job, the new future fails with its error.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use concur_core::{Executor, Job, SubmitError};
    /// struct SpawnEach;
    /// impl Executor for SpawnEach {
    ///     fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
    ///         std::thread::spawn(move || job.run());
    ///         Ok(())
    ///     }
    /// }
    /// impl concur_core::Shutdown for SpawnEach {
    ///     fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
    ///     fn is_shutdown(&self) -> bool {
    ///         false
    ///     }
    /// }
    /// let f = concur_core::Future::ready(6).then_on(SpawnEach, |x| x * 7);
    /// assert_eq!(*f.result().unwrap(), 42);
    /// ```
    fn then_on<E, U, F>(&self, executor: E, f: F) -> Future<U>
    where
        E: Executor + 'static,
        U: Send + Sync + 'static,
        F: FnOnce(&T) -> U + Send + 'static;

    /// A future of `f(outcome)`, called on success *and* failure (Java's
    /// `handle`): the general form of [`then`](Self::then) and
    /// [`or_else`](Self::or_else), needing no `Clone`.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::<u8>::failed(concur_core::Error::task("x"));
    /// let g = f.handle(|r| Ok(r.is_ok()));
    /// assert!(!*g.result().unwrap());
    /// ```
    fn handle<U, F>(&self, f: F) -> Future<U>
    where
        U: Send + Sync + 'static,
        F: FnOnce(Result<&T, Error>) -> Result<U, Error> + Send + 'static;

    /// Flattening: `f(&value)` returns another future, and the new future
    /// completes with *its* outcome (Java's `thenCompose`). Errors of this
    /// future are passed on without calling `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use concur_core::Future;
    /// let f = Future::ready(2).and_then(|x| Future::ready(x * 10));
    /// assert_eq!(*f.result().unwrap(), 20);
    /// ```
    fn and_then<U, F>(&self, f: F) -> Future<U>
    where
        U: Clone + Send + Sync + 'static,
        F: FnOnce(&T) -> Future<U> + Send + 'static;

    /// Recovers from an error (including cancellation): on failure the new
    /// future completes with `f(error)`; on success with a clone of the
    /// value.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::<i32>::failed(concur_core::Error::task("bad"));
    /// assert_eq!(*f.or_else(|e| Ok(e.message().len() as i32)).result().unwrap(), 3);
    /// ```
    fn or_else<F>(&self, f: F) -> Future<T>
    where
        T: Clone,
        F: FnOnce(Error) -> Result<T, Error> + Send + 'static;

    /// A future with this one's outcome, or failing with
    /// [`Timeout`](concur_core::ErrorKind::Timeout) if this one is not done
    /// `timeout` from now. The source keeps running.
    ///
    /// `Duration::ZERO` times out at once (on the timer thread) unless the
    /// source is already done; a timeout too long to add to the current
    /// [`Instant`] (such as `Duration::MAX`) means no
    /// limit: no timer entry is made and the output simply follows the
    /// source.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use std::time::Duration;
    /// let (_p, f) = concur_core::Promise::<u8>::new();
    /// let t = f.with_timeout(Duration::from_millis(5));
    /// assert!(t.result().unwrap_err().is_timeout());
    /// assert!(!f.done());
    /// ```
    fn with_timeout(&self, timeout: Duration) -> Future<T>
    where
        T: Clone;

    /// Like [`with_timeout`](Self::with_timeout), and on timeout also
    /// cancels the source (which only succeeds if it has not started).
    ///
    /// `Duration::ZERO` times out (and tries to cancel) at once unless the
    /// source is already done; `Duration::MAX` means no limit and never
    /// cancels.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use std::time::Duration;
    /// let (_p, f) = concur_core::Promise::<u8>::new();
    /// let t = f.with_timeout_cancelling(Duration::from_millis(5));
    /// assert!(t.result().unwrap_err().is_timeout());
    /// f.wait();
    /// assert!(f.cancelled());
    /// ```
    fn with_timeout_cancelling(&self, timeout: Duration) -> Future<T>
    where
        T: Clone;
}

impl<T: Send + Sync + 'static> FutureExt<T> for Future<T> {
    fn then<U, F>(&self, f: F) -> Future<U>
    where
        U: Send + Sync + 'static,
        F: FnOnce(&T) -> U + Send + 'static,
    {
        self.handle(move |r| r.map(f))
    }

    fn then_on<E, U, F>(&self, executor: E, f: F) -> Future<U>
    where
        E: Executor + 'static,
        U: Send + Sync + 'static,
        F: FnOnce(&T) -> U + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.add_done_callback(move |src| {
            let src = src.clone();
            let slot = Arc::new(Mutex::new(Some(promise)));
            let in_job = Arc::clone(&slot);
            let job = move || {
                if let Some(p) = lock(&in_job).take() {
                    complete_with(&p, || src.result().map(f));
                }
            };
            if let Err(refused) = executor.submit(job) {
                let err = refused.error().clone();
                drop(refused);
                if let Some(p) = lock(&slot).take() {
                    let _ = p.set_exception(err);
                }
            }
        });
        out
    }

    fn handle<U, F>(&self, f: F) -> Future<U>
    where
        U: Send + Sync + 'static,
        F: FnOnce(Result<&T, Error>) -> Result<U, Error> + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.add_done_callback(move |src| {
            complete_with(&promise, || f(src.result()));
        });
        out
    }

    fn and_then<U, F>(&self, f: F) -> Future<U>
    where
        U: Clone + Send + Sync + 'static,
        F: FnOnce(&T) -> Future<U> + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.add_done_callback(move |src| {
            if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
                return;
            }
            let inner = match src.result() {
                Err(e) => Err(e),
                Ok(v) => catch_unwind(AssertUnwindSafe(|| f(v))).map_err(Error::panicked),
            };
            match inner {
                Err(e) => {
                    let _ = promise.set_exception(e);
                }
                Ok(inner) => inner.add_done_callback(move |i| {
                    let _ = promise.set_outcome(i.result().cloned());
                }),
            }
        });
        out
    }

    fn or_else<F>(&self, f: F) -> Future<T>
    where
        T: Clone,
        F: FnOnce(Error) -> Result<T, Error> + Send + 'static,
    {
        self.handle(move |r| match r {
            Ok(v) => Ok(v.clone()),
            Err(e) => f(e),
        })
    }

    fn with_timeout(&self, timeout: Duration) -> Future<T>
    where
        T: Clone,
    {
        timeout_impl(self, timeout, false)
    }

    fn with_timeout_cancelling(&self, timeout: Duration) -> Future<T>
    where
        T: Clone,
    {
        timeout_impl(self, timeout, true)
    }
}

fn timeout_impl<T: Clone + Send + Sync + 'static>(
    src: &Future<T>,
    timeout: Duration,
    cancel_source: bool,
) -> Future<T> {
    let (promise, out) = Promise::new();
    let slot = Arc::new(Mutex::new(Some(promise)));
    let on_done = Arc::clone(&slot);
    src.add_done_callback(move |s| {
        if let Some(p) = lock(&on_done).take() {
            let _ = p.set_outcome(s.result().cloned());
        }
    });
    if src.done() {
        return out;
    }
    let Some(at) = Instant::now().checked_add(timeout) else {
        return out; // too far away to ever fire
    };
    let erased = src.erase(); // no value handle: cancel only
    let in_timer = Arc::clone(&slot);
    let fire = Box::new(move || {
        let taken = lock(&in_timer).take();
        if let Some(p) = taken {
            if cancel_source {
                erased.cancel();
            }
            let _ = p.set_exception(Error::timeout(format!(
                "future not done within {timeout:?}"
            )));
        }
    });
    if timer::schedule(at, fire).is_err() {
        let taken = lock(&slot).take();
        if let Some(p) = taken {
            let _ = p.set_exception(Error::broken("the timer thread could not start", None));
        }
    }
    out
}

/// Shared state of [`join_all`] and [`gather`].
struct Join<T: Send + Sync + 'static, O: Send + Sync + 'static> {
    values: Vec<Option<Result<T, Error>>>,
    left: usize,
    promise: Option<Promise<Vec<O>>>,
}

fn join_impl<T, O, I>(
    futures: I,
    fail_fast: bool,
    finish: fn(Result<T, Error>) -> Result<O, Error>,
) -> Future<Vec<O>>
where
    T: Clone + Send + Sync + 'static,
    O: Send + Sync + 'static,
    I: IntoIterator,
    I::Item: IntoFutureHandle<Handle = Future<T>>,
{
    let futs: Vec<Future<T>> = futures
        .into_iter()
        .map(IntoFutureHandle::into_future_handle)
        .collect();
    let (promise, out) = Promise::new();
    if futs.is_empty() {
        let _ = promise.set_result(Vec::new());
        return out;
    }
    let state = Arc::new(Mutex::new(Join {
        values: (0..futs.len()).map(|_| None).collect(),
        left: futs.len(),
        promise: Some(promise),
    }));
    for (i, f) in futs.iter().enumerate() {
        let state = Arc::clone(&state);
        f.add_done_callback(move |f| {
            let r = f.result().cloned();
            let mut s = lock(&state);
            if s.promise.is_none() {
                return;
            }
            if fail_fast {
                if let Err(e) = &r {
                    let p = s.promise.take().expect("checked");
                    drop(s);
                    let _ = p.set_exception(e.clone());
                    return;
                }
            }
            s.values[i] = Some(r);
            s.left -= 1;
            if s.left > 0 {
                return;
            }
            let p = s.promise.take().expect("checked");
            let values = std::mem::take(&mut s.values);
            drop(s);
            let outcome: Result<Vec<O>, Error> = values
                .into_iter()
                .map(|v| finish(v.expect("every future reported")))
                .collect();
            let _ = p.set_outcome(outcome);
        });
    }
    out
}

/// A future of every value, in input order, failing as soon as any input
/// fails (**fail-fast** policy; the others keep running). Empty input gives
/// an empty vector at once. Values are cloned (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use concur_combinators::join_all;
/// use concur_core::{Error, Future, Promise};
///
/// let (p, f) = Promise::new();
/// let all = join_all([Future::ready(1), f.clone()]);
/// p.set_result(2).unwrap();
/// assert_eq!(*all.result().unwrap(), [1, 2]);
///
/// let (_p, pending) = Promise::<i32>::new();
/// let fast = join_all([&pending, &Future::failed(Error::task("bad"))]);
/// assert_eq!(fast.result().unwrap_err().to_string(), "task failed: bad");
/// ```
pub fn join_all<T, I>(futures: I) -> Future<Vec<T>>
where
    T: Clone + Send + Sync + 'static,
    I: IntoIterator,
    I::Item: IntoFutureHandle<Handle = Future<T>>,
{
    join_impl(futures, true, |r| r)
}

/// A future of every outcome, in input order, once all inputs are done
/// (**collect-all** policy, like `asyncio.gather(return_exceptions=True)`):
/// it never fails. Values are cloned (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use concur_combinators::gather;
/// use concur_core::{Error, Future};
/// let all = gather([Future::ready(1), Future::failed(Error::task("bad"))]);
/// let out = all.result().unwrap();
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert!(out[1].is_err());
/// ```
pub fn gather<T, I>(futures: I) -> Future<Vec<Result<T, Error>>>
where
    T: Clone + Send + Sync + 'static,
    I: IntoIterator,
    I::Item: IntoFutureHandle<Handle = Future<T>>,
{
    join_impl(futures, false, Ok)
}

/// A future of the first input to complete: its index and its outcome
/// (value or error). Among inputs already done, the first in input order
/// wins. With no input it fails at once with
/// [`InvalidState`](concur_core::ErrorKind::InvalidState). The value is
/// cloned (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use concur_combinators::select;
/// use concur_core::{Future, Promise};
/// let (_p, slow) = Promise::<u8>::new();
/// let (p, fast) = Promise::new();
/// let first = select([&slow, &fast]);
/// p.set_result(7).unwrap();
/// let (i, r) = first.result().unwrap();
/// assert_eq!((*i, *r.as_ref().unwrap()), (1, 7));
/// ```
pub fn select<T, I>(futures: I) -> Future<(usize, Result<T, Error>)>
where
    T: Clone + Send + Sync + 'static,
    I: IntoIterator,
    I::Item: IntoFutureHandle<Handle = Future<T>>,
{
    let (promise, out) = Promise::new();
    let slot = Arc::new(Mutex::new(Some(promise)));
    let mut any = false;
    for (i, f) in futures.into_iter().enumerate() {
        any = true;
        let slot = Arc::clone(&slot);
        f.into_future_handle().add_done_callback(move |f| {
            let taken = lock(&slot).take();
            if let Some(p) = taken {
                let _ = p.set_result((i, f.result().cloned()));
            }
        });
    }
    if !any {
        if let Some(p) = lock(&slot).take() {
            let _ = p.set_exception(Error::invalid_state("select over no futures"));
        }
    }
    out
}
