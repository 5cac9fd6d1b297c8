//! Chaining on blocking futures: [`FutureExt`], [`join_all`], [`gather`]
//! and [`select`].
//!
//! # Values move to the next stage
//!
//! Every combinator takes its source futures **by value** and registers a
//! consuming callback on each ([`Future::on_done`]): once a source is done
//! and no other handle to it remains, its outcome is *moved* into the next
//! stage. No combinator needs `T: Clone` or `T: Sync`, so a future of a
//! `Vec`, a `Cell` or a file handle chains like any other.
//!
//! A clone kept elsewhere holds the next stage back (it could still read
//! the value) until it is dropped. To branch, split the value in one stage
//! (`then(|v| (part_a, part_b))`, or `then(Arc::new)` to share it), or
//! read it through [`Future::add_done_callback`] and
//! [`Future::result`], which borrow instead of moving.
//!
//! # Where chained work runs
//!
//! The chained closure runs **on the thread that completes the source**
//! (an executor's worker, usually), or at once on the calling thread if
//! the source is already done (strictly: on the thread of whichever comes
//! last, the completion or the drop of the last other handle). Keep such
//! closures short; for heavy work name an executor with
//! [`then_on`](FutureExt::then_on), which only submits from the callback.
//! [`with_timeout`](FutureExt::with_timeout) fires on concur's one timer
//! thread.

use concur_core::{Error, Executor, Future, Promise};
use concur_sync::sync::{Arc, Mutex};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Runs `f` (catching a panic) unless the output was cancelled first, and
/// completes `promise` with its outcome. A cancelled source's error is
/// passed on as is (kind [`Cancelled`](concur_core::ErrorKind::Cancelled)).
fn complete_with<U: Send + 'static>(promise: &Promise<U>, f: impl FnOnce() -> Result<U, Error>) {
    if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
        return;
    }
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(Error::panicked(p)));
    let _ = promise.set_outcome(outcome);
}

/// Chaining combinators on [`Future`], in the style of Java's
/// `CompletableFuture` and of `futures::FutureExt`. Each consumes the
/// future and returns a new one at once; the value moves from stage to
/// stage (see the [module docs](self), also for where the chained closure
/// runs).
///
/// Cancelling a chained future before its source completes stops its
/// closure from running; it never cancels the source (except
/// [`with_timeout_cancelling`](Self::with_timeout_cancelling) on timeout).
///
/// # Examples
///
/// ```
/// use concur_combinators::FutureExt;
/// use concur_core::{Error, Future, Promise};
///
/// let (p, f) = Promise::new();
/// let len = f.then(|s: String| s.len());
/// let doubled = len.and_then(|n| Future::ready(n * 2));
/// p.set_result("four".to_string()).unwrap();
/// assert_eq!(doubled.into_result().unwrap(), 8);
///
/// let failed = Future::<u8>::from_error(Error::task("no"));
/// let recovered = failed.or_else(|_| Ok(0));
/// assert_eq!(recovered.into_result().unwrap(), 0);
/// ```
pub trait FutureExt<T: Send + 'static>: Sized {
    /// A future of `f(value)`: runs once this future has a value (moved
    /// in); an error (or cancellation) is passed on without calling `f`; a
    /// panic in `f` fails the new future. Runs on the completing thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::ready(20).then(|x| x + 1).then(|x| x * 2);
    /// assert_eq!(f.into_result().unwrap(), 42);
    /// ```
    fn then<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static;

    /// Like [`then`](Self::then), but `f` runs as a job on `executor`
    /// (submitted from the completing thread). If the executor refuses the
    /// job, the new future fails with its error.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use std::sync::Arc;
    /// let pool = Arc::new(concur_thread::ThreadPool::new(2).unwrap());
    /// let f = concur_core::Future::ready(6).then_on(pool, |x| x * 7);
    /// assert_eq!(f.into_result().unwrap(), 42);
    /// ```
    fn then_on<E, U, F>(self, executor: E, f: F) -> Future<U>
    where
        E: Executor + 'static,
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static;

    /// A future of `f(outcome)`, called on success *and* failure (Java's
    /// `handle`): the general form of [`then`](Self::then) and
    /// [`or_else`](Self::or_else).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::<u8>::from_error(concur_core::Error::task("x"));
    /// let g = f.handle(|r| Ok(r.is_ok()));
    /// assert!(!g.into_result().unwrap());
    /// ```
    fn handle<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(Result<T, Error>) -> Result<U, Error> + Send + 'static;

    /// Flattening: `f(value)` returns another future, and the new future
    /// completes with *its* outcome, moved (Java's `thenCompose`). Errors
    /// of this future are passed on without calling `f`.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use concur_core::Future;
    /// let f = Future::ready(2).and_then(|x| Future::ready(x * 10));
    /// assert_eq!(f.into_result().unwrap(), 20);
    /// ```
    fn and_then<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> Future<U> + Send + 'static;

    /// Recovers from an error (including cancellation): on failure the new
    /// future completes with `f(error)`; on success with the value, moved.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// let f = concur_core::Future::<i32>::from_error(concur_core::Error::task("bad"));
    /// assert_eq!(f.or_else(|e| Ok(e.message().len() as i32)).into_result().unwrap(), 3);
    /// ```
    fn or_else<F>(self, f: F) -> Future<T>
    where
        F: FnOnce(Error) -> Result<T, Error> + Send + 'static;

    /// A future with this one's outcome (moved), or failing with
    /// [`Timeout`](concur_core::ErrorKind::Timeout) if this one is not done
    /// `timeout` from now. The source keeps running.
    ///
    /// `Duration::ZERO` times out at once (on the timer thread) unless the
    /// source is already done; a timeout too long to add to the current
    /// [`Instant`] (such as `Duration::MAX`) means no limit: no timer entry
    /// is made and the output simply follows the source. A source done in
    /// time never times out, even while a clone kept elsewhere still holds
    /// its value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::FutureExt;
    /// use std::time::Duration;
    /// let (_p, f) = concur_core::Promise::<u8>::new();
    /// let source = f.erase(); // watches the source without holding its value
    /// let t = f.with_timeout(Duration::from_millis(5));
    /// assert!(t.into_result().unwrap_err().is_timeout());
    /// assert!(!source.done());
    /// ```
    fn with_timeout(self, timeout: Duration) -> Future<T>;

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
    /// let source = f.erase();
    /// let t = f.with_timeout_cancelling(Duration::from_millis(5));
    /// assert!(t.into_result().unwrap_err().is_timeout());
    /// assert!(source.cancelled());
    /// ```
    fn with_timeout_cancelling(self, timeout: Duration) -> Future<T>;
}

impl<T: Send + 'static> FutureExt<T> for Future<T> {
    fn then<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        self.handle(move |r| r.map(f))
    }

    fn then_on<E, U, F>(self, executor: E, f: F) -> Future<U>
    where
        E: Executor + 'static,
        U: Send + 'static,
        F: FnOnce(T) -> U + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.on_done(move |src| {
            let slot = Arc::new(Mutex::new(Some(promise)));
            let in_job = Arc::clone(&slot);
            let job = move || {
                let taken = in_job.lock().take();
                if let Some(p) = taken {
                    complete_with(&p, || src.map(f));
                }
            };
            if let Err(refused) = executor.submit(job) {
                let err = refused.error().clone();
                drop(refused);
                let taken = slot.lock().take();
                if let Some(p) = taken {
                    let _ = p.set_exception(err);
                }
            }
        });
        out
    }

    fn handle<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(Result<T, Error>) -> Result<U, Error> + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.on_done(move |src| complete_with(&promise, || f(src)));
        out
    }

    fn and_then<U, F>(self, f: F) -> Future<U>
    where
        U: Send + 'static,
        F: FnOnce(T) -> Future<U> + Send + 'static,
    {
        let (promise, out) = Promise::new();
        self.on_done(move |src| {
            if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
                return;
            }
            let inner = match src {
                Err(e) => Err(e),
                Ok(v) => catch_unwind(AssertUnwindSafe(|| f(v))).map_err(Error::panicked),
            };
            match inner {
                Err(e) => {
                    let _ = promise.set_exception(e);
                }
                Ok(inner) => inner.on_done(move |i| {
                    let _ = promise.set_outcome(i);
                }),
            }
        });
        out
    }

    fn or_else<F>(self, f: F) -> Future<T>
    where
        F: FnOnce(Error) -> Result<T, Error> + Send + 'static,
    {
        self.handle(move |r| match r {
            Ok(v) => Ok(v),
            Err(e) => f(e),
        })
    }

    fn with_timeout(self, timeout: Duration) -> Future<T> {
        timeout_impl(self, timeout, false)
    }

    fn with_timeout_cancelling(self, timeout: Duration) -> Future<T> {
        timeout_impl(self, timeout, true)
    }
}

fn timeout_impl<T: Send + 'static>(
    src: Future<T>,
    timeout: Duration,
    cancel_source: bool,
) -> Future<T> {
    let (promise, out) = Promise::new();
    let slot = Arc::new(Mutex::new(Some(promise)));
    let on_done = Arc::clone(&slot);
    // No value handle: state and cancel only, so it does not hold the
    // value back from `on_done`.
    let erased = src.erase();
    src.on_done(move |r| {
        let taken = on_done.lock().take();
        if let Some(p) = taken {
            let _ = p.set_outcome(r);
        }
    });
    if erased.done() {
        return out;
    }
    let Some(at) = Instant::now().checked_add(timeout) else {
        return out; // too far away to ever fire
    };
    let in_timer = Arc::clone(&slot);
    let fire = move || {
        let mut guard = in_timer.lock();
        // Done in time: the outcome is on its way (a clone kept elsewhere
        // may still hold it back), so this is no timeout.
        if erased.done() {
            return;
        }
        let taken = guard.take();
        drop(guard);
        if let Some(p) = taken {
            if cancel_source {
                erased.cancel();
            }
            let _ = p.set_exception(Error::timeout(format!(
                "future not done within {timeout:?}"
            )));
        }
    };
    if concur_core::timer::call_at(at, fire).is_err() {
        let taken = slot.lock().take();
        if let Some(p) = taken {
            let _ = p.set_exception(Error::broken("the timer thread could not start", None));
        }
    }
    out
}

/// Shared state of [`join_all`] and [`gather`].
struct Join<T: Send + 'static, O: Send + 'static> {
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
    T: Send + 'static,
    O: Send + 'static,
    I: IntoIterator<Item = Future<T>>,
{
    let futs: Vec<Future<T>> = futures.into_iter().collect();
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
    for (i, f) in futs.into_iter().enumerate() {
        let state = Arc::clone(&state);
        f.on_done(move |r| {
            let mut s = state.lock();
            if s.promise.is_none() {
                return;
            }
            if fail_fast {
                if let Err(e) = r {
                    let p = s.promise.take().expect("checked");
                    let dropped = std::mem::take(&mut s.values);
                    drop(s);
                    drop(dropped);
                    let _ = p.set_exception(e);
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
/// an empty vector at once. The futures are consumed and their values
/// moved (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use concur_combinators::join_all;
/// use concur_core::{Error, Future, Promise};
///
/// let (p, f) = Promise::new();
/// let all = join_all([Future::ready(1), f]);
/// p.set_result(2).unwrap();
/// assert_eq!(all.into_result().unwrap(), [1, 2]);
///
/// let (_p, pending) = Promise::<i32>::new();
/// let fast = join_all([pending, Future::from_error(Error::task("bad"))]);
/// assert_eq!(fast.into_result().unwrap_err().to_string(), "task failed: bad");
/// ```
pub fn join_all<T, I>(futures: I) -> Future<Vec<T>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Future<T>>,
{
    join_impl(futures, true, |r| r)
}

/// A future of every outcome, in input order, once all inputs are done
/// (**collect-all** policy, like `asyncio.gather(return_exceptions=True)`):
/// it never fails. The futures are consumed and their values moved (see
/// the [module docs](self)).
///
/// # Examples
///
/// ```
/// use concur_combinators::gather;
/// use concur_core::{Error, Future};
/// let all = gather([Future::ready(1), Future::from_error(Error::task("bad"))]);
/// let out = all.into_result().unwrap();
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert!(out[1].is_err());
/// ```
pub fn gather<T, I>(futures: I) -> Future<Vec<Result<T, Error>>>
where
    T: Send + 'static,
    I: IntoIterator<Item = Future<T>>,
{
    join_impl(futures, false, Ok)
}

/// A future of the first input to complete: its index and its outcome
/// (value or error, moved; the other inputs' values are dropped when they
/// complete). Among inputs already done, the first in input order wins.
/// With no input it fails at once with
/// [`InvalidState`](concur_core::ErrorKind::InvalidState).
///
/// # Examples
///
/// ```
/// use concur_combinators::select;
/// use concur_core::Promise;
/// let (_p, slow) = Promise::<u8>::new();
/// let (p, fast) = Promise::new();
/// let first = select([slow, fast]);
/// p.set_result(7).unwrap();
/// let (i, r) = first.into_result().unwrap();
/// assert_eq!((i, r.unwrap()), (1, 7));
/// ```
pub fn select<T, I>(futures: I) -> Future<(usize, Result<T, Error>)>
where
    T: Send + 'static,
    I: IntoIterator<Item = Future<T>>,
{
    let (promise, out) = Promise::new();
    let slot = Arc::new(Mutex::new(Some(promise)));
    let mut any = false;
    for (i, f) in futures.into_iter().enumerate() {
        any = true;
        let slot = Arc::clone(&slot);
        f.on_done(move |r| {
            let taken = slot.lock().take();
            if let Some(p) = taken {
                let _ = p.set_result((i, r));
            }
        });
    }
    if !any {
        let taken = slot.lock().take();
        if let Some(p) = taken {
            let _ = p.set_exception(Error::invalid_state("select over no futures"));
        }
    }
    out
}
