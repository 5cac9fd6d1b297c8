//! [`BoundedSubmitter`]: asyncio's `Semaphore` pattern around
//! `run_in_executor`, on [`async_lock::Semaphore`].

use crate::wrap::{WrappedFuture, run_in_executor};
use async_lock::Semaphore;
use concur_core::{Error, Executor};
use std::fmt;
use std::num::NonZeroUsize;
// `async-lock`'s `acquire_arc` takes a `std::sync::Arc`; the semaphore is
// its own primitive (not modelled under loom), so std's `Arc` is used here.
use std::sync::Arc;

use concur_sync::sync::Mutex;

/// Submits closures to an executor with at most `max_in_flight` of them
/// queued or running at once; further submissions wait (asynchronously, the
/// event loop never blocks) for a slot.
///
/// A slot is taken before the task is submitted and given back when its
/// future is done: finished, failed, or cancelled (for example because the
/// returned [`WrappedFuture`] was dropped before the task started). The
/// executor itself may be shared with other submitters; only tasks submitted
/// through this one count.
///
/// The semaphore is [`async_lock::Semaphore`], which is fair: waiting
/// submissions get slots in the order they asked.
///
/// # Examples
///
/// ```
/// use concur_async::BoundedSubmitter;
/// use concur_core::{Executor, Job, SubmitError};
/// use std::num::NonZeroUsize;
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
/// let bounded = BoundedSubmitter::new(SpawnEach, NonZeroUsize::new(2).unwrap());
/// let total = futures::executor::block_on(async {
///     let mut handles = Vec::new();
///     for i in 0..10u64 {
///         handles.push(bounded.submit(move || i * i).await); // waits while 2 are in flight
///     }
///     let mut sum = 0;
///     for h in handles {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(total, 285);
/// ```
pub struct BoundedSubmitter<E> {
    executor: E,
    permits: Arc<Semaphore>,
    max_in_flight: usize,
}

impl<E: Executor> BoundedSubmitter<E> {
    /// A submitter over `executor` (a pool, `&pool` or `Arc<pool>`) allowing
    /// `max_in_flight` tasks at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let b = concur_async::BoundedSubmitter::new(&pool, std::num::NonZeroUsize::MIN);
    /// assert_eq!(b.max_in_flight(), 1);
    /// ```
    pub fn new(executor: E, max_in_flight: NonZeroUsize) -> Self {
        let n = max_in_flight.get();
        Self {
            executor,
            permits: Arc::new(Semaphore::new(n)),
            max_in_flight: n,
        }
    }

    /// The limit given to [`new`](Self::new).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let b = concur_async::BoundedSubmitter::new(&pool, std::num::NonZeroUsize::new(8).unwrap());
    /// assert_eq!(b.max_in_flight(), 8);
    /// ```
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }

    /// The executor tasks are submitted to.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_thread::ThreadPool;
    /// let b = concur_async::BoundedSubmitter::new(ThreadPool::new(2).unwrap(), std::num::NonZeroUsize::MIN);
    /// let pool: &ThreadPool = b.executor();
    /// assert_eq!(pool.max_workers(), 2);
    /// ```
    pub fn executor(&self) -> &E {
        &self.executor
    }

    /// Waits for a free slot, then submits `f` like
    /// [`run_in_executor`](crate::run_in_executor) and returns its
    /// awaitable (same cancel-on-drop rule). Dropping this future while it
    /// waits for a slot submits nothing.
    ///
    /// # Errors
    ///
    /// None here; the awaitable resolves to the executor's refusal or the
    /// task's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let b = concur_async::BoundedSubmitter::new(&pool, std::num::NonZeroUsize::MIN);
    /// let v = futures::executor::block_on(async { b.submit(|| 5).await.await });
    /// assert_eq!(v.unwrap(), 5);
    /// ```
    pub async fn submit<F, R>(&self, f: F) -> WrappedFuture<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let permit = self.permits.acquire_arc().await;
        self.submit_with(permit, f)
    }

    /// Submits `f` if a slot is free now; otherwise gives `f` back.
    ///
    /// # Errors
    ///
    /// `Err(f)` when `max_in_flight` tasks are in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// let (release, gate) = std::sync::mpsc::channel::<()>();
    /// let b = concur_async::BoundedSubmitter::new(&pool, std::num::NonZeroUsize::MIN);
    /// let first = b.try_submit(move || gate.recv().is_err()).ok().unwrap();
    /// assert!(b.try_submit(|| 2).is_err()); // one in flight already
    /// drop(release);
    /// assert!(first.detach().into_result().unwrap());
    /// ```
    pub fn try_submit<F, R>(&self, f: F) -> Result<WrappedFuture<R>, F>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match self.permits.try_acquire_arc() {
            Some(permit) => Ok(self.submit_with(permit, f)),
            None => Err(f),
        }
    }

    /// Waits for a slot, runs `f` and waits for its outcome: the whole
    /// `async with sem: await loop.run_in_executor(...)` pattern.
    ///
    /// # Errors
    ///
    /// The executor's refusal or whatever the task failed with.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let b = concur_async::BoundedSubmitter::new(&pool, std::num::NonZeroUsize::MIN);
    /// assert_eq!(futures::executor::block_on(b.run(|| "x")).unwrap(), "x");
    /// ```
    pub async fn run<F, R>(&self, f: F) -> Result<R, Error>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.submit(f).await.await
    }

    fn submit_with<F, R>(&self, permit: async_lock::SemaphoreGuardArc, f: F) -> WrappedFuture<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // The slot is freed by whichever comes first: the task finishing
        // (before its outcome is published, so an awaiter that sees the
        // outcome can submit again at once), or the future being done any
        // other way (cancelled, refused, panicked).
        let slot = Arc::new(Mutex::new(Some(permit)));
        let in_task = slot.clone();
        let w = run_in_executor(&self.executor, move || {
            let out = f();
            drop(in_task.lock().take());
            out
        });
        // A fresh wrapper always holds its future.
        if let Some(fut) = w.future() {
            fut.add_done_callback(move |_| drop(slot.lock().take()));
        }
        w
    }
}

impl<E> fmt::Debug for BoundedSubmitter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSubmitter")
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}
