//! From a plain thread to the event loop: [`Spawner`] and
//! [`run_coroutine_threadsafe`].
//!
//! # Invariants
//!
//! * The concur future stays *pending* while its coroutine runs (as in
//!   asyncio), so [`Future::cancel`] succeeds until the coroutine finished.
//!   The coroutine's completion goes through
//!   [`Promise::set_running_or_notify_cancel`], so a cancellation that won
//!   the race is never overwritten.
//! * Cancelling runs a done-callback that sets the task's abort flag and
//!   takes its stored waker under one lock; the task checks the flag and
//!   stores its (possibly replaced) waker under that same lock before it
//!   polls the coroutine. So either the task sees the flag, or the waker it
//!   stored last is woken: no wake-up is lost (`tests/loom.rs`).

use concur_core::{Error, Future, Promise};
use concur_sync::sync::{Arc, Mutex};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A boxed, type-erased `std::future::Future` handed to a [`Spawner`]
/// (a runtime's task): drive it to completion on the runtime (its output
/// is `()`; results travel through a concur future).
///
/// # Examples
///
/// ```
/// let task: concur_async::BoxedCoroutine = Box::pin(async { println!("polled") });
/// futures::executor::block_on(task);
/// ```
pub type BoxedCoroutine = Pin<Box<dyn std::future::Future<Output = ()> + Send + 'static>>;

/// A running async runtime that accepts tasks from any thread.
///
/// Implemented for `tokio::runtime::Handle` and `Runtime` (feature `tokio`), for
/// [`BackgroundRuntime`](crate::BackgroundRuntime) and its spawner (feature
/// `background-runtime`), for `async_executor::Executor<'static>` (same
/// feature; drive it with `run`, as smol does), and through references,
/// `Arc` and `Box`. Implement it for any other runtime in three lines.
/// Without the `tokio` feature a tokio handle is not a `Spawner`, and the
/// compile error says which feature to enable.
///
/// # Examples
///
/// A spawner that runs each task on a new thread with
/// `futures::executor::block_on`:
///
/// ```
/// use concur_async::{run_coroutine_threadsafe, SpawnError, Spawner, BoxedCoroutine};
///
/// struct ThreadPerTask;
/// impl Spawner for ThreadPerTask {
///     fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
///         std::thread::spawn(move || futures::executor::block_on(task));
///         Ok(())
///     }
/// }
///
/// let fut = run_coroutine_threadsafe(async { 40 + 2 }, &ThreadPerTask);
/// assert_eq!(fut.into_result().unwrap(), 42);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Spawner`: concur cannot spawn tasks on it",
    label = "not a `Spawner`",
    note = "a tokio `Handle` or `Runtime` is a `Spawner` only with the `tokio` feature: enable feature `tokio` of `concur` (or of `concur-async`); for another runtime, implement `Spawner` (one method)"
)]
pub trait Spawner: Send + Sync {
    /// Schedules `task` to be polled to completion on the runtime.
    ///
    /// # Errors
    ///
    /// A [`SpawnError`] holding the task if the runtime no longer accepts
    /// work (for example it was shut down).
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError>;
}

impl<S: Spawner + ?Sized> Spawner for &S {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        (**self).spawn(task)
    }
}

impl<S: Spawner + ?Sized> Spawner for std::sync::Arc<S> {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        (**self).spawn(task)
    }
}

impl<S: Spawner + ?Sized> Spawner for Box<S> {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        (**self).spawn(task)
    }
}

#[cfg(feature = "tokio")]
impl Spawner for tokio::runtime::Handle {
    /// Spawns onto the tokio runtime. Never fails: a runtime that is shut
    /// down drops the task, and [`run_coroutine_threadsafe`]'s future then
    /// fails with [`Shutdown`](concur_core::ErrorKind::Shutdown).
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        drop(tokio::runtime::Handle::spawn(self, task));
        Ok(())
    }
}

#[cfg(feature = "tokio")]
impl Spawner for tokio::runtime::Runtime {
    /// Spawns onto the runtime, like its [`Handle`](tokio::runtime::Handle).
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        Spawner::spawn(self.handle(), task)
    }
}

/// A [`Spawner`] refused a task: the runtime is shut down. Holds the task,
/// unpolled.
///
/// # Examples
///
/// ```
/// use concur_async::{SpawnError, BoxedCoroutine};
///
/// let task: BoxedCoroutine = Box::pin(async {});
/// let err = SpawnError::new(task);
/// assert_eq!(err.to_string(), "the runtime is shut down and accepts no task");
/// let _task_back: BoxedCoroutine = err.into_task();
/// ```
pub struct SpawnError {
    task: BoxedCoroutine,
}

impl SpawnError {
    /// Wraps the refused task.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = concur_async::SpawnError::new(Box::pin(async {}));
    /// ```
    #[must_use]
    pub fn new(task: BoxedCoroutine) -> Self {
        Self { task }
    }

    /// The refused task, never polled.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_async::SpawnError::new(Box::pin(async {}));
    /// futures::executor::block_on(err.into_task());
    /// ```
    #[must_use]
    pub fn into_task(self) -> BoxedCoroutine {
        self.task
    }
}

impl fmt::Debug for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError").finish_non_exhaustive()
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the runtime is shut down and accepts no task")
    }
}

impl std::error::Error for SpawnError {}

// SAFETY: `Sync` only lets threads share `&SpawnError`, and nothing is
// reachable through it: `Debug` and `Display` print fixed text and no
// `&self` method touches the task, which is reachable only by value
// (`into_task`) and so moves to one thread (`BoxedCoroutine` is `Send`). A shared
// `SpawnError` never shares its task (as `std::sync::Exclusive`). Keep it
// so: a `&self` method reaching the task would make this unsound. This is
// what makes it a `BoxError` (`Send + Sync`) and convertible by `?`.
unsafe impl Sync for SpawnError {}

/// An [`ErrorKind::Shutdown`](concur_core::ErrorKind::Shutdown) error (the
/// runtime is shut down) whose source is the `SpawnError`; the task is
/// dropped with it, unpolled.
///
/// # Examples
///
/// ```
/// use concur_async::SpawnError;
/// let e = concur_core::Error::from(SpawnError::new(Box::pin(async {})));
/// assert_eq!(e.kind(), concur_core::ErrorKind::Shutdown);
/// assert!(e.downcast_ref::<SpawnError>().is_some());
/// ```
impl From<SpawnError> for Error {
    fn from(e: SpawnError) -> Self {
        Error::with_source(concur_core::ErrorKind::Shutdown, e)
    }
}

/// Submits the coroutine `coro` to a running runtime from any thread and
/// returns a concur [`Future`] of its output: asyncio's
/// `run_coroutine_threadsafe(coro, loop)`.
///
/// The runtime must be running, driven by some thread (a tokio runtime in
/// `block_on` or with worker threads, a [`BackgroundRuntime`](crate::BackgroundRuntime),
/// an executor inside `run`), as asyncio's loop must be; otherwise the
/// coroutine waits until it is.
///
/// The returned future can be waited on from plain threads
/// ([`Future::result`]), chained with callbacks, or awaited elsewhere.
///
/// * It stays *pending* while the coroutine runs (as in asyncio), then
///   finishes with its output, or fails with
///   [`Panicked`](concur_core::ErrorKind::Panicked) if the coroutine
///   panicked (the panic is caught; the runtime is unaffected).
/// * [`Future::cancel`] succeeds until the coroutine finished and aborts it,
///   best effort: the coroutine is dropped at the next point its task is
///   polled (at once if it is idle awaiting something; after the current
///   poll if a runtime thread is polling it right now). Code between two
///   `.await`s is never interrupted.
/// * If the spawner refuses the task, or the runtime drops it unfinished
///   (it was shut down), the future fails with
///   [`Shutdown`](concur_core::ErrorKind::Shutdown).
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "background-runtime")] {
/// use concur_async::{run_coroutine_threadsafe, BackgroundRuntime};
///
/// let rt = BackgroundRuntime::new().unwrap();
/// let fut = run_coroutine_threadsafe(async { "hello from the loop" }, &rt);
/// assert_eq!(*fut.result().unwrap(), "hello from the loop");
///
/// // Cancelling aborts a coroutine that has not finished.
/// let stuck = run_coroutine_threadsafe(std::future::pending::<()>(), &rt);
/// assert!(stuck.cancel());
/// assert!(stuck.result().unwrap_err().is_cancelled());
/// # }
/// ```
///
/// The coroutine moves to the runtime's thread(s), so it must be `Send`:
///
/// ```compile_fail
/// use concur_async::{run_coroutine_threadsafe, BackgroundRuntime};
/// let rt = BackgroundRuntime::new().unwrap();
/// let local = std::rc::Rc::new(1);
/// let _ = run_coroutine_threadsafe(async move { *local }, &rt);
/// ```
pub fn run_coroutine_threadsafe<F, S>(coro: F, spawner: &S) -> Future<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
    S: Spawner + ?Sized,
{
    let (promise, fut) = Promise::new();
    let abort = Arc::new(AbortSignal::new());
    let on_cancel = abort.clone();
    fut.add_done_callback(move |f| {
        if f.cancelled() {
            on_cancel.abort();
        }
    });
    let task = AbortableCoroutine {
        coro: Some(Box::pin(coro)),
        promise: Some(promise),
        abort,
    };
    if let Err(refused) = spawner.spawn(Box::pin(task)) {
        // Dropping the unpolled task fails the future with `Shutdown`.
        drop(refused);
    }
    fut
}

/// The abort flag and the task's last waker, under one lock.
struct AbortSignal {
    state: Mutex<AbortState>,
}

struct AbortState {
    aborted: bool,
    waker: Option<Waker>,
}

impl AbortSignal {
    fn new() -> Self {
        Self {
            state: Mutex::new(AbortState {
                aborted: false,
                waker: None,
            }),
        }
    }

    /// `true` if aborted; else stores (or refreshes) the task's waker.
    fn poll_aborted(&self, cx: &Context<'_>) -> bool {
        let mut s = self.state.lock();
        if s.aborted {
            s.waker = None;
            return true;
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        false
    }

    fn abort(&self) {
        let waker = {
            let mut s = self.state.lock();
            s.aborted = true;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The coroutine behind [`run_coroutine_threadsafe`], with its promise
/// and abort signal: what it boxes into a [`BoxedCoroutine`].
struct AbortableCoroutine<F: std::future::Future>
where
    F::Output: Send + 'static,
{
    coro: Option<Pin<Box<F>>>,
    promise: Option<Promise<F::Output>>,
    abort: Arc<AbortSignal>,
}

impl<F: std::future::Future> AbortableCoroutine<F>
where
    F::Output: Send + 'static,
{
    fn complete(&mut self, outcome: Result<F::Output, Error>) {
        self.coro = None;
        if let Some(promise) = self.promise.take() {
            // `Ok(false)`: cancelled meanwhile; the cancellation stands.
            if let Ok(true) = promise.set_running_or_notify_cancel() {
                let _ = promise.set_outcome(outcome);
            }
        }
    }
}

impl<F: std::future::Future> std::future::Future for AbortableCoroutine<F>
where
    F::Output: Send + 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Every field is `Unpin` (the coroutine is boxed).
        let this = self.get_mut();
        if this.abort.poll_aborted(cx) {
            // The future is already cancelled; drop the coroutine now.
            this.coro = None;
            this.promise = None;
            return Poll::Ready(());
        }
        let Some(coro) = this.coro.as_mut() else {
            return Poll::Ready(());
        };
        match catch_unwind(AssertUnwindSafe(|| coro.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                this.complete(Ok(v));
                Poll::Ready(())
            }
            Err(payload) => {
                this.complete(Err(Error::panicked(payload)));
                Poll::Ready(())
            }
        }
    }
}

impl<F: std::future::Future> Drop for AbortableCoroutine<F>
where
    F::Output: Send + 'static,
{
    fn drop(&mut self) {
        // Drop the coroutine first, so its own destructors have run when
        // waiters see the outcome.
        self.coro = None;
        if let Some(promise) = self.promise.take() {
            // Dropped unfinished by the runtime (or refused by the spawner).
            let _ = promise.set_exception(Error::shutdown());
        }
    }
}
