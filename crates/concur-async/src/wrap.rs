//! From the pool to the event loop: [`wrap_future`], [`run_in_executor`],
//! [`run_in_executor_fallible`], [`run_task_in_executor`] and the awaitable they return, [`WrappedFuture`].
//!
//! # Invariants
//!
//! * A [`WrappedFuture`] is core's [`FutureOutput`] (the awaitable behind
//!   `fut.await`) plus cancel-on-drop. Core's awaitable never blocks: if
//!   done-callbacks still borrow the value when the future completes, it
//!   waits for them with a waker, not by parking the event loop thread.
//! * Dropping a wrapper that has not yielded its outcome calls
//!   [`Future::cancel`], which only changes a *pending* future: a running or
//!   done one is untouched.

use concur_core::{
    AnyFuture, Error, Executor, Future, FutureHandle, FutureOutput, IntoFutureHandle, Job,
    RemoteFn, State, TaskExecutor,
};
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

/// An owned awaitable over a concur [`Future`], with asyncio's
/// cancel-on-drop rule.
///
/// Resolves to the future's outcome, moving the value out (like
/// [`Future::into_result`]). The event loop never blocks: the task's
/// completion wakes the awaiting task.
///
/// # Cancel on drop
///
/// Dropping the wrapper before it resolved cancels the underlying future
/// **if the task has not started**: a queued task is then skipped by the
/// executor and every other handle sees it cancelled (asyncio's
/// `wrap_future` / `run_in_executor` semantics). A task already running runs
/// to completion, and a future already done is left as it is. To keep the
/// task alive whatever happens to the awaitable, call
/// [`detach`](Self::detach).
///
/// # Values and other handles
///
/// Like `.await` on an owned [`Future`], the value is moved out, which needs
/// the wrapper's handle to be the only one; if other clones of the future are
/// still alive the outcome is an [`InvalidState`](concur_core::ErrorKind)
/// error (errors are shared and always come through).
///
/// # Examples
///
/// ```
/// use concur_async::wrap_future;
/// use concur_core::Promise;
///
/// let (promise, fut) = Promise::new();
/// std::thread::spawn(move || promise.set_result(6 * 7).unwrap());
/// let v = futures::executor::block_on(wrap_future(fut)).unwrap();
/// assert_eq!(v, 42);
/// ```
#[must_use = "dropping a WrappedFuture cancels its task if it has not started"]
pub struct WrappedFuture<T: Send + 'static> {
    /// `None` only once detached (or while being dropped).
    out: Option<FutureOutput<T>>,
    /// The wrapped future's [`Future::id`], kept after it resolved.
    id: usize,
}

/// Wraps a concur future into an owned awaitable with cancel-on-drop
/// semantics (asyncio's `wrap_future`). See [`WrappedFuture`].
///
/// # Examples
///
/// ```
/// use concur_async::wrap_future;
/// use concur_core::Promise;
///
/// let (promise, fut) = Promise::<u8>::new();
/// let handle = fut.clone();
/// drop(wrap_future(fut)); // dropped before the task started
/// assert!(handle.cancelled());
/// assert!(!promise.set_running_or_notify_cancel().unwrap());
/// ```
pub fn wrap_future<T: Send + 'static>(fut: Future<T>) -> WrappedFuture<T> {
    WrappedFuture {
        id: fut.id(),
        out: Some(fut.into_future()),
    }
}

/// Runs `f` on `executor` and returns an awaitable of its outcome: asyncio's
/// `loop.run_in_executor(executor, f)`.
///
/// The task is submitted at once (not on first poll). The calling thread
/// never blocks, neither here nor when awaiting. A panic in `f` fails the
/// outcome with [`Panicked`](concur_core::ErrorKind::Panicked).
///
/// Dropping the returned future before it resolves cancels the task **if it
/// has not started yet** (it then never runs); once started it runs to the
/// end. Use [`WrappedFuture::detach`] to keep it queued whatever happens.
///
/// # Errors
///
/// The awaitable resolves to [`Shutdown`](concur_core::ErrorKind::Shutdown)
/// or [`Broken`](concur_core::ErrorKind::Broken) if the executor refuses the
/// task (it is then never run), or to whatever the task failed with.
///
/// # Examples
///
/// ```
/// use concur_async::run_in_executor;
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let out = futures::executor::block_on(async {
///     run_in_executor(&pool, || (1..=10).sum::<u32>()).await
/// });
/// assert_eq!(out.unwrap(), 55);
/// ```
///
/// The closure runs on another thread, so it must be `Send`:
///
/// ```compile_fail
/// use concur_async::run_in_executor;
/// use concur_core::{Executor, Job, SubmitError};
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let shared = std::rc::Rc::new(1);
/// let _ = run_in_executor(&pool, move || *shared);
/// ```
pub fn run_in_executor<E, F, R>(executor: &E, f: F) -> WrappedFuture<R>
where
    E: Executor + ?Sized,
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (job, fut) = Job::new(f);
    if let Err(refused) = executor.execute(job) {
        let (job, error) = refused.into_parts();
        job.fail(error);
    }
    wrap_future(fut)
}

/// [`run_in_executor`] for a fallible closure: its `Err(e)` fails the
/// outcome with `e` ([`Task`](concur_core::ErrorKind::Task)), so the
/// awaitable resolves to `Result<T, Error>` rather than a nested result.
/// Same cancel-on-drop rule.
///
/// `Er` is anything `?` converts into a [`BoxError`](concur_core::BoxError):
/// a concrete `std::error::Error` (downcastable back to it), `String`,
/// `&'static str`, `BoxError` or `anyhow::Error` (as
/// [`Job::new_fallible`]).
///
/// # Errors
///
/// The closure's error, a panic, or the executor's refusal.
///
/// # Examples
///
/// ```
/// use concur_async::run_in_executor_fallible;
/// use concur_core::{Executor, Job, SubmitError};
///
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
///
/// let err = futures::executor::block_on(run_in_executor_fallible(&SpawnEach, || "x".parse::<u8>()))
///     .unwrap_err();
/// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
///
/// let text = futures::executor::block_on(run_in_executor_fallible(&SpawnEach, || -> Result<u8, String> {
///     Err("no such user".into())
/// }));
/// assert_eq!(text.unwrap_err().message(), "no such user");
/// ```
pub fn run_in_executor_fallible<E, F, T, Er>(executor: &E, f: F) -> WrappedFuture<T>
where
    E: Executor + ?Sized,
    F: FnOnce() -> Result<T, Er> + Send + 'static,
    T: Send + 'static,
    Er: Into<concur_core::BoxError>,
{
    let (job, fut) = Job::new_fallible(f);
    if let Err(refused) = executor.execute(job) {
        let (job, error) = refused.into_parts();
        job.fail(error);
    }
    wrap_future(fut)
}

/// Runs the named remote function `f(args)` on any [`TaskExecutor`] (a
/// thread or process pool alike) and returns an awaitable of its outcome,
/// with the same cancel-on-drop rule as [`run_in_executor`].
///
/// # Errors
///
/// The awaitable resolves to the executor's refusal
/// ([`Shutdown`](concur_core::ErrorKind::Shutdown) /
/// [`Broken`](concur_core::ErrorKind::Broken)) or to the function's error
/// ([`Task`](concur_core::ErrorKind::Task)).
///
/// # Examples
///
/// ```
/// use concur_async::run_task_in_executor;
/// use concur_core::{BoxError, Executor, Job, RemoteFn, SubmitError};
///
/// #[derive(Clone, Copy)]
/// struct Square;
/// impl RemoteFn for Square {
///     type Args = u64;
///     type Output = u64;
///     const NAME: &'static str = "doc::square";
///     const FINGERPRINT: u64 = 1;
///     fn call(x: u64) -> Result<u64, BoxError> { Ok(x * x) }
/// }
///
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
///
/// let v = futures::executor::block_on(run_task_in_executor(&SpawnEach, Square, 12));
/// assert_eq!(v.unwrap(), 144);
/// ```
pub fn run_task_in_executor<E, F>(executor: &E, f: F, args: F::Args) -> WrappedFuture<F::Output>
where
    E: TaskExecutor + ?Sized,
    F: RemoteFn,
{
    match executor.submit_task(f, args) {
        Ok(fut) => wrap_future(fut),
        Err(refused) => wrap_future(Future::from_error(refused.error().clone())),
    }
}

impl<T: Send + 'static> WrappedFuture<T> {
    /// The underlying concur future (for its state, callbacks, or a
    /// clone); `None` once the wrapper resolved (its value was moved out).
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concur_async::wrap_future(concur_core::Future::ready(1));
    /// assert!(w.future().unwrap().done());
    /// ```
    pub fn future(&self) -> Option<&Future<T>> {
        self.out.as_ref().and_then(FutureOutput::get_ref)
    }

    /// The future's state ([`State::Finished`] once the wrapper resolved,
    /// whatever the outcome was).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let w = concur_async::wrap_future(f);
    /// assert_eq!(w.state(), concur_core::State::Pending);
    /// ```
    pub fn state(&self) -> State {
        self.future().map_or(State::Finished, Future::state)
    }

    /// Whether the underlying future is done (or the wrapper resolved).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_async::wrap_future(concur_core::Future::ready(0)).done());
    /// ```
    pub fn done(&self) -> bool {
        self.future().is_none_or(Future::done)
    }

    /// Cancels the task if it has not started; see [`Future::cancel`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let w = concur_async::wrap_future(f);
    /// assert!(w.cancel());
    /// let err = futures::executor::block_on(w).unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.future().is_some_and(Future::cancel)
    }

    /// Gives the concur future back without cancel-on-drop: the task keeps
    /// running (or queued) whatever happens to the returned handle, which
    /// can itself be awaited.
    ///
    /// Called after the wrapper resolved (its value already moved out), it
    /// returns a future failed with
    /// [`InvalidState`](concur_core::ErrorKind::InvalidState).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, f) = concur_core::Promise::<u8>::new();
    /// let detached = concur_async::wrap_future(f).detach();
    /// drop(detached); // no cancellation
    /// assert!(promise.set_running_or_notify_cancel().unwrap());
    /// ```
    pub fn detach(mut self) -> Future<T> {
        self.out
            .take()
            .and_then(FutureOutput::into_inner)
            .unwrap_or_else(|| {
                Future::from_error(Error::invalid_state(
                    "detach after the wrapper resolved: the outcome was already taken",
                ))
            })
    }
}

impl<T: Send + 'static> WrappedFuture<T> {
    /// The awaitable inside (`None` once resolved or detached), giving up
    /// cancel-on-drop: for `gather`, which keeps the rule itself.
    pub(crate) fn into_output(mut self) -> Option<FutureOutput<T>> {
        self.out.take().filter(|o| o.get_ref().is_some())
    }
}

impl<T: Send + 'static> concur_core::__private::Sealed for WrappedFuture<T> {}

/// A `WrappedFuture` can be given to [`as_completed`](crate::as_completed)
/// and [`wait`](crate::wait()), which hand it back (done, or still
/// pending for `wait`) with its cancel-on-drop rule intact: a pending
/// wrapper the waiter drops (the stream dropped, or ended by its timeout)
/// cancels its task if not started.
///
/// # Examples
///
/// ```
/// use concur_core::FutureHandle;
/// let f = concur_core::Future::ready(1);
/// let w = concur_async::wrap_future(f.clone());
/// assert_eq!(w.handle_id(), f.id());
/// assert!(w.to_any().done());
/// ```
impl<T: Send + 'static> FutureHandle for WrappedFuture<T> {
    fn to_any(&self) -> AnyFuture {
        match self.future() {
            Some(f) => f.erase(),
            // Resolved: done, like `state()` says.
            None => Future::ready(()).erase(),
        }
    }
    fn handle_id(&self) -> usize {
        self.id
    }
}

/// Owned wrappers only: a borrowed one would have to be cloned, and a
/// clone alive would keep the wrapper from moving its value out.
impl<T: Send + 'static> IntoFutureHandle for WrappedFuture<T> {
    type Handle = Self;
    fn into_future_handle(self) -> Self {
        self
    }
}

impl<T: Send + 'static> std::future::Future for WrappedFuture<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut().out.as_mut() {
            Some(out) => Pin::new(out).poll(cx),
            None => Poll::Ready(Err(Error::invalid_state("polled after detach"))),
        }
    }
}

impl<T: Send + 'static> futures_core::FusedFuture for WrappedFuture<T> {
    /// `true` once the wrapper yielded its outcome (or was detached).
    fn is_terminated(&self) -> bool {
        self.future().is_none()
    }
}

impl<T: Send + 'static> Drop for WrappedFuture<T> {
    fn drop(&mut self) {
        // Remove our waker first (no self-wake), then cancel: a no-op unless
        // the task is still pending.
        if let Some(fut) = self.out.take().and_then(FutureOutput::into_inner) {
            fut.cancel();
        }
    }
}

impl<T: Send + 'static> fmt::Debug for WrappedFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedFuture")
            .field("fut", &self.future())
            .finish()
    }
}
