//! [`RayonExecutor`]: the concur executor traits on a `rayon` thread pool.

use crate::injector::Injector;
use concur_core::{Error, Executor, Job, SubmitError};
use concur_sync::sync::atomic::{AtomicUsize, Ordering};
use concur_sync::sync::{Arc, Condvar, Mutex};
use std::fmt;

const SHUTDOWN: usize = 1;
/// One job accepted and not yet finished (or a submission in progress).
const UNIT: usize = 2;

struct RayonShared {
    /// `SHUTDOWN` flag + `UNIT` × outstanding jobs.
    state: AtomicUsize,
    /// Our own FIFO: each rayon task pops exactly one job, so
    /// `cancel_futures` can cancel queued jobs at once.
    queue: Injector<Job>,
    lock: Mutex<()>,
    all_done: Condvar,
}

impl RayonShared {
    fn finish_one(&self) {
        let before = self.state.fetch_sub(UNIT, Ordering::SeqCst);
        if before & SHUTDOWN != 0 && before / UNIT == 1 {
            let _g = self.lock.lock();
            self.all_done.notify_all();
        }
    }
}

/// A concur [`Executor`] (and so a [`TaskExecutor`](concur_core::TaskExecutor))
/// running jobs on a `rayon` thread pool, for programs that already run
/// rayon and want handles to results.
///
/// Jobs are started in submission order with `rayon::ThreadPool::spawn`.
/// [`shutdown`](Self::shutdown) stops accepting work, `cancel_futures`
/// cancels what has not started, `wait` blocks until accepted jobs are done
/// (except when called from a worker of the same rayon pool, where waiting
/// could deadlock). Dropping the executor is `shutdown(wait = true)`; the
/// rayon pool itself lives on while other handles to it exist. Unlike
/// [`ThreadPool`](crate::ThreadPool), an executor that is never dropped is
/// not joined at exit: rayon's own pools are not either, and its threads
/// belong to rayon.
///
/// # Examples
///
/// ```
/// use concur_core::Executor;
/// use concur_thread::RayonExecutor;
///
/// let pool = rayon_core::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let exec = RayonExecutor::new(pool);
/// let fut = exec.submit(|| 6 * 7).unwrap();
/// assert_eq!(fut.into_result().unwrap(), 42);
/// exec.shutdown();
/// assert!(exec.submit(|| 0).is_err());
/// ```
pub struct RayonExecutor {
    pool: std::sync::Arc<rayon_core::ThreadPool>,
    shared: Arc<RayonShared>,
}

impl fmt::Debug for RayonExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RayonExecutor")
            .field("num_threads", &self.pool.current_num_threads())
            .field(
                "shutdown",
                &(self.shared.state.load(Ordering::SeqCst) & SHUTDOWN != 0),
            )
            .finish_non_exhaustive()
    }
}

impl RayonExecutor {
    /// CPython's `shutdown()`: stops accepting work, waits for queued and
    /// running jobs, cancels nothing. Same as
    /// `shutdown_with(ShutdownOptions::new())`; idempotent. Also reachable
    /// through the [`Shutdown`](concur_core::Shutdown) trait, for generic code.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::RayonExecutor::new(rayon_core::ThreadPoolBuilder::new().num_threads(1).build().unwrap());
    /// let fut = pool.submit(|| 1).unwrap();
    /// pool.shutdown();
    /// assert!(fut.done());
    /// assert!(pool.submit(|| 2).is_err());
    /// ```
    pub fn shutdown(&self) {
        concur_core::Shutdown::shutdown_with(self, concur_core::ShutdownOptions::new());
    }

    /// Shuts down as `how` says: `wait` (block until the work is done)
    /// and `cancel_futures` (cancel jobs that have not started), as in
    /// CPython.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::ShutdownOptions;
    /// let pool = concur_thread::RayonExecutor::new(rayon_core::ThreadPoolBuilder::new().num_threads(1).build().unwrap());
    /// pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_futures(true));
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        concur_core::Shutdown::shutdown_with(self, how);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let exec = concur_thread::RayonExecutor::new(
    ///     rayon_core::ThreadPoolBuilder::new().num_threads(1).build().unwrap(),
    /// );
    /// assert!(!exec.is_shutdown());
    /// exec.shutdown();
    /// assert!(exec.is_shutdown());
    /// ```
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.shared.state.load(Ordering::SeqCst) & SHUTDOWN != 0
    }

    /// Runs jobs on `pool`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = rayon_core::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    /// let exec = concur_thread::RayonExecutor::new(pool);
    /// assert_eq!(exec.rayon_pool().current_num_threads(), 1);
    /// ```
    #[must_use]
    pub fn new(pool: rayon_core::ThreadPool) -> Self {
        Self::from_shared(std::sync::Arc::new(pool))
    }

    /// Runs jobs on a rayon pool shared with other code.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// use std::sync::Arc;
    /// let pool = Arc::new(rayon_core::ThreadPoolBuilder::new().num_threads(1).build().unwrap());
    /// let exec = concur_thread::RayonExecutor::from_shared(Arc::clone(&pool));
    /// let same = Arc::clone(&pool);
    /// let index = exec.submit(move || same.current_thread_index()).unwrap();
    /// assert_eq!(index.into_result().unwrap(), Some(0));
    /// ```
    #[must_use]
    pub fn from_shared(pool: std::sync::Arc<rayon_core::ThreadPool>) -> Self {
        Self {
            pool,
            shared: Arc::new(RayonShared {
                state: AtomicUsize::new(0),
                queue: Injector::new(),
                lock: Mutex::new(()),
                all_done: Condvar::new(),
            }),
        }
    }

    /// The rayon pool the jobs run on.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = rayon_core::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    /// let exec = concur_thread::RayonExecutor::new(pool);
    /// assert_eq!(exec.rayon_pool().install(|| 1 + 1), 2);
    /// ```
    #[must_use]
    pub fn rayon_pool(&self) -> &rayon_core::ThreadPool {
        &self.pool
    }
}

impl Executor for RayonExecutor {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        let s = &self.shared;
        let before = s.state.fetch_add(UNIT, Ordering::SeqCst);
        if before & SHUTDOWN != 0 {
            s.finish_one();
            return Err(SubmitError::new(job, Error::shutdown()));
        }
        s.queue.push(job);
        let shared = Arc::clone(s);
        self.pool.spawn(move || {
            // One rayon task per accepted job: there is a job to pop unless
            // `cancel_futures` drained the queue.
            if let Some(job) = shared.queue.pop() {
                job.run();
                shared.finish_one();
            }
        });
        Ok(())
    }
}

impl concur_core::Shutdown for RayonExecutor {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        let (wait, cancel_futures) = (how.waits(), how.cancels_futures());
        let s = &self.shared;
        s.state.fetch_or(SHUTDOWN, Ordering::SeqCst);
        if cancel_futures {
            while let Some(job) = s.queue.pop() {
                job.cancel();
                s.finish_one();
            }
        }
        if wait && self.pool.current_thread_index().is_none() {
            let mut g = s.lock.lock();
            while s.state.load(Ordering::SeqCst) / UNIT > 0 {
                g = s.all_done.wait(g);
            }
        }
    }
    fn is_shutdown(&self) -> bool {
        RayonExecutor::is_shutdown(self)
    }
}

impl Drop for RayonExecutor {
    fn drop(&mut self) {
        self.shutdown();
    }
}
