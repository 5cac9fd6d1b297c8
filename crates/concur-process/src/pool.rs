//! [`ProcessPool`]: the handle users hold, and its [`TaskExecutor`] impl.
//! Calls are encoded here, on the submitting thread, outside the book's
//! lock; the dispatcher thread (`dispatcher.rs`) does the rest.

use crate::config::Config;
use crate::desk::Desk;
use crate::dispatcher::Dispatcher;
#[cfg(not(concur_loom))]
use crate::driver::PoolDriver;
use crate::error::{BuildError, BuildErrorKind};
use crate::handover::Handover;
use crate::shared::{Command, KillReason, PoolShared, Status};
use crate::stats::Counters;
use crate::sys;
use concur_core::{
    BatchResult, ChunkResult, Driver, Future, PoolStats, RemoteFn, Shutdown, ShutdownOptions,
    SubmitError, TaskExecutor,
};
use concur_remote::{Book, CallbackRunner, RemoteCall};
use concur_sync::sync::atomic::{AtomicU64, Ordering};
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread;
use std::fmt;
use std::time::Duration;

/// An executor running named [`RemoteFn`]s in worker processes: CPython's
/// `ProcessPoolExecutor`, without its failure modes.
///
/// * Each worker has its own socket pair; one dispatcher thread in this
///   process owns all bookkeeping; every assignment carries a generation
///   number so a late reply from a replaced worker is ignored.
/// * A worker that dies mid-task (signal, abort, `exit`) fails only that
///   task with [`WorkerDied`](crate::WorkerDied) and is replaced; the pool keeps serving.
/// * [`kill`](Self::kill) stops a running future's worker;
///   [`task_timeout`](crate::Builder::task_timeout) does so on overrun.
/// * Dropping the pool is `shutdown(wait = true)`. A pool that is never
///   dropped (one in a `static`) is shut down the same way when the
///   process exits: accepted work finishes and every worker is reaped
///   first, as CPython's exit hook makes it (see
///   [`concur_core::join_at_exit`]).
///
/// It implements [`TaskExecutor`], so code written against the thread pool's
/// `submit_task`/`submit_batch` switches by changing one line.
///
/// The workers are copies of the current binary, diverted into the worker
/// loop before `main` runs (on Linux with glibc, automatically; see
/// [`init`](crate::init)), so a pool works the same in a binary, a
/// `#[test]`, a doctest (this one) or an example, with no set-up call.
///
/// # Examples
///
/// ```
/// use concur_core::TaskExecutor;
/// use concur_process::{ProcessPool, StartMethod};
///
/// concur_ipc::remote! {
///     fn square(x: u64) -> u64 { x * x }
///     fn worker_pid() -> u32 { std::process::id() }
/// }
///
/// for method in [StartMethod::Spawn, StartMethod::ForkServer] {
///     let pool = ProcessPool::builder().start_method(method).max_workers(2).build().unwrap();
///     let fut = pool.submit_task(square, 12).unwrap();
///     assert_eq!(fut.into_result().unwrap(), 144);
///     // It really ran in another process.
///     let pid = pool.submit_task(worker_pid, ()).unwrap().into_result().unwrap();
///     assert_ne!(pid, std::process::id());
/// }
/// ```
pub struct ProcessPool {
    inner: Arc<PoolShared>,
    workers: usize,
    /// What its futures' blocked waiters run (`None`: no shared memory).
    driver: Option<Driver>,
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The same fields, in the same order, as `ThreadPool`'s: the bound,
        // the live workers, the lifecycle, then the pool's own settings.
        f.debug_struct("ProcessPool")
            .field("max_workers", &self.workers)
            .field("num_workers", &self.worker_pids().len())
            .field("shutdown", &self.is_shutdown())
            .field("broken", &self.is_broken())
            .field("start_method", &self.inner.config.start_method)
            .finish_non_exhaustive()
    }
}

impl ProcessPool {
    /// Starts the dispatcher (which starts the workers) and waits until
    /// every worker completed its start once, or the pool broke.
    pub(crate) fn start(config: Config) -> Result<Self, BuildError> {
        let workers = config.workers;
        let exe = std::env::current_exe().map_err(BuildError::io)?;
        let wake = sys::eventfd().map_err(BuildError::io)?;
        let inner = Arc::new(PoolShared {
            book: Mutex::new(Book::new(workers, config.max_tasks_per_child)),
            commands: Mutex::new(Vec::new()),
            status: Mutex::new(Status {
                started: vec![false; workers],
                finished: false,
                pids: vec![None; workers],
                on_rings: vec![false; workers],
            }),
            cond: Condvar::new(),
            wake,
            config,
            exe,
            callbacks: CallbackRunner::new("concur-process-callbacks"),
            next_generation: AtomicU64::new(1),
            dispatcher: Mutex::new(None),
            stats: Counters::default(),
            desks: (0..workers).map(|_| Desk::default()).collect(),
            handover: Handover::default(),
        });
        let thread_inner = inner.clone();
        let handle = thread::Builder::new()
            .name("concur-process-dispatcher".into())
            .spawn(move || Dispatcher::new(thread_inner).run())
            .map_err(BuildError::io)?;
        *inner.dispatcher.lock() = Some(handle);
        // loom's `Arc` has no `Weak`; a model never exits the process.
        #[cfg(not(concur_loom))]
        {
            let weak = Arc::downgrade(&inner);
            concur_core::join_at_exit(weak);
        }
        // Waiters on this pool's futures read its reply rings themselves
        // (see `driver.rs`).
        #[cfg(not(concur_loom))]
        let driver = inner
            .config
            .shared_memory
            .then(|| Driver::new(std::sync::Arc::new(PoolDriver::new(Arc::downgrade(&inner)))));
        #[cfg(concur_loom)]
        let driver = None;
        let pool = ProcessPool {
            inner,
            workers,
            driver,
        };
        // Wait for every worker's start, or for the pool to break. The
        // dispatcher enforces the start timeout and the start policy, so
        // this wait ends unless the start timeout is unlimited. Once one
        // worker is up, a slot whose starts keep failing (a descriptor
        // limit, say) is retried in the background: the pool is returned
        // after the start timeout rather than held back by it.
        let since = std::time::Instant::now();
        let give_up = pool
            .inner
            .config
            .start_timeout
            .and_then(|t| since.checked_add(t));
        let mut status = pool.inner.status.lock();
        loop {
            let one_up = status.started.iter().any(|s| *s);
            if one_up && give_up.is_some_and(|d| std::time::Instant::now() >= d) {
                break;
            }
            let broken = pool.inner.book.lock().broken().cloned();
            if let Some(e) = broken {
                drop(status);
                pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
                return Err(BuildError {
                    kind: BuildErrorKind::Start(e),
                });
            }
            if status.started.iter().all(|s| *s) || status.finished {
                break;
            }
            status = pool
                .inner
                .cond
                .wait_timeout(status, Duration::from_millis(100))
                .0;
        }
        drop(status);
        Ok(pool)
    }

    /// The number of worker processes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(3).build().unwrap();
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    #[must_use]
    pub fn max_workers(&self) -> usize {
        self.workers
    }

    /// The pool's name (see [`Builder::name`](crate::Builder::name)): the
    /// `pool` field of its `tracing` events.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().build().unwrap();
    /// assert!(pool.name().starts_with("concur-process-"));
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// A snapshot of the pool's counters (see [`PoolStats`] for what each
    /// counts): worker processes alive (launched and not yet reaped,
    /// starting ones included), started, and replaced by cause (crashed,
    /// timed out, killed, recycled by `max_tasks_per_child`, failed to
    /// start, broke the protocol); tasks queued, running, completed,
    /// failed and cancelled.
    ///
    /// Cheap (two short locks); not atomic across fields: the dispatcher
    /// may move a task from one count to the next while it is read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use concur_core::TaskExecutor;
    ///
    /// concur_ipc::remote! {
    ///     fn halve(x: u32) -> Result<u32, String> {
    ///         if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) }
    ///     }
    /// }
    ///
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::new(2).unwrap();
    /// let futs: Vec<_> = (1..=4).map(|x| pool.submit_task(halve, x).unwrap()).collect();
    /// futs.iter().for_each(|f| f.wait());
    /// let stats = pool.stats();
    /// assert_eq!((stats.completed, stats.failed), (2, 2));
    /// assert_eq!(stats.workers_alive, 2);
    /// assert_eq!(stats.replaced.total(), 0);
    /// ```
    #[must_use]
    pub fn stats(&self) -> PoolStats {
        let alive = self.inner.status.lock().pids.iter().flatten().count();
        let (queued, running, skipped) = {
            let book = self.inner.book.lock();
            (book.queued(), book.busy(), book.skipped_cancelled())
        };
        self.inner.stats.snapshot(alive, queued, running, skipped)
    }

    /// The process ids of the current workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(2).build().unwrap();
    /// assert_eq!(pool.worker_pids().len(), 2);
    /// ```
    #[must_use]
    pub fn worker_pids(&self) -> Vec<u32> {
        self.inner
            .status
            .lock()
            .pids
            .iter()
            .flatten()
            .copied()
            .collect()
    }

    /// How many of the current workers talk over shared memory (see
    /// [`Builder::shared_memory`](crate::Builder::shared_memory)); the
    /// others use their sockets (see the guide, §11).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(2).build().unwrap();
    /// assert_eq!(pool.workers_on_shared_memory(), 2);
    /// ```
    #[must_use]
    pub fn workers_on_shared_memory(&self) -> usize {
        let status = self.inner.status.lock();
        status
            .pids
            .iter()
            .zip(&status.on_rings)
            .filter(|(pid, on)| pid.is_some() && **on)
            .count()
    }

    fn generation(&self) -> u64 {
        // ORDERING: only uniqueness matters (a read-modify-write never hands
        // out a value twice); the task is published to the dispatcher
        // through the book's mutex.
        self.inner.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues `task`, or gives `batch` back if the pool is closed.
    fn submit_encoded<A>(
        &self,
        task: RemoteCall,
        batch: Vec<A>,
    ) -> Result<(), SubmitError<Vec<A>>> {
        let _generation = task.generation();
        let mut book = self.inner.book.lock();
        let assignment = match book.submit(task) {
            Ok(a) => a,
            Err((task, e)) => {
                drop(book);
                // Shut down meanwhile: give the arguments back, and leave
                // the promises dropped unrun.
                drop(task);
                return Err(SubmitError::new(batch, e));
            }
        };
        drop(book);
        concur_core::__event!(
            trace,
            pool = %self.inner.config.name,
            task = _generation,
            "task submitted"
        );
        if let Some(a) = assignment {
            self.inner.send_assignment(a);
        }
        Ok(())
    }

    fn submit_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> BatchResult<F> {
        if let Some(e) = self.inner.book.lock().refusal() {
            return Err(SubmitError::new(batch, e));
        }
        match attached(|| {
            concur_remote::batch_call::<F>(
                &batch,
                self.inner.config.max_frame,
                || self.generation(),
                self.driver.as_ref(),
            )
        }) {
            (Some(task), futs) => self.submit_encoded(task, batch).map(|()| futs),
            (None, futs) => Ok(futs),
        }
    }

    fn submit_chunk_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> ChunkResult<F> {
        if let Some(e) = self.inner.book.lock().refusal() {
            return Err(SubmitError::new(batch, e));
        }
        match attached(|| {
            concur_remote::chunk_call::<F>(
                &batch,
                self.inner.config.max_frame,
                || self.generation(),
                self.driver.as_ref(),
            )
        }) {
            (Some(task), fut) => self.submit_encoded(task, batch).map(|()| fut),
            (None, fut) => Ok(fut),
        }
    }

    /// Kills the worker running `future`'s task (pebble-style): the future
    /// fails as cancelled and the worker is replaced. Returns `false` if the
    /// task is not running (then use [`Future::cancel`] for a pending one).
    ///
    /// # Examples
    ///
    /// ```
    /// # use concur_core::TaskExecutor;
    /// concur_ipc::remote! {
    ///     fn forever() { loop { std::thread::sleep(std::time::Duration::from_secs(1)) } }
    /// }
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// let fut = pool.submit_task(forever, ()).unwrap();
    /// while !fut.running() { std::thread::yield_now() }
    /// assert!(pool.kill(&fut));
    /// assert!(fut.result().unwrap_err().is_cancelled());
    /// ```
    pub fn kill<T>(&self, future: &Future<T>) -> bool {
        let found = self.inner.book.lock().find_future(future.id());
        match found {
            Some((slot, generation)) => {
                self.inner.command(Command::Kill {
                    slot,
                    generation,
                    reason: KillReason::Cancelled,
                });
                true
            }
            None => false,
        }
    }

    /// Stops accepting work. With `cancel_futures`, cancels tasks not yet
    /// started. With `wait`, blocks until every accepted task finished and
    /// every worker exited and was reaped. Returns in every state (also
    /// after crashes); idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.shutdown();
    /// assert!(pool.worker_pids().is_empty());
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_with(ShutdownOptions::new());
    }

    /// Shuts down as `how` says: `wait` (block until the work is done and
    /// every worker is reaped) and `cancel_futures` (cancel tasks that have
    /// not started), as in CPython.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::ShutdownOptions;
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown_with(&self, how: ShutdownOptions) {
        self.inner.shutdown(how);
    }

    fn signal_all(&self, signal: libc::c_int) {
        let cancelled = self.inner.book.lock().close(true);
        self.inner.stats.tasks_cancelled(cancelled.len());
        for t in cancelled {
            t.cancel();
        }
        self.inner.command(Command::SignalAll(signal));
        self.inner.join_dispatcher();
        self.inner.callbacks.wait_idle();
    }

    /// Whether [`shutdown`](Self::shutdown) (or a shutdown through
    /// `terminate_workers`/`kill_workers`) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// ```
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.inner.book.lock().is_closed()
    }

    /// Whether the pool is broken (CPython's `BrokenProcessPool`): an
    /// initializer failed, or workers could not be started at all. Every
    /// pending future then fails and new work is refused, with an error of
    /// kind [`Broken`](concur_core::ErrorKind::Broken) saying why.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn flaky_init() -> Result<(), String> {
    ///         if std::path::Path::new("/tmp/db-moved").exists() {
    ///             return Err("the database moved".into());
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let pool = concur_process::ProcessPool::builder()
    ///     .max_workers(1)
    ///     .initializer(flaky_init)
    ///     .build()
    ///     .unwrap();
    /// assert!(!pool.is_broken());
    /// ```
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.inner.book.lock().broken().is_some()
    }

    /// Sends `SIGTERM` to every worker and shuts down: queued tasks are
    /// cancelled, running ones fail with [`WorkerDied`](crate::WorkerDied). Returns once every
    /// worker is reaped (CPython 3.14's `terminate_workers`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.terminate_workers();
    /// assert!(pool.worker_pids().is_empty());
    /// ```
    pub fn terminate_workers(&self) {
        self.signal_all(libc::SIGTERM);
    }

    /// As [`terminate_workers`](Self::terminate_workers), with `SIGKILL`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.kill_workers();
    /// ```
    pub fn kill_workers(&self) {
        self.signal_all(libc::SIGKILL);
    }
}

/// Runs an encoding of a submission (`batch_call`, `chunk_call`) with
/// shared slices among the arguments collected as descriptors, which go
/// with the call.
fn attached<R>(encode: impl FnOnce() -> (Option<RemoteCall>, R)) -> (Option<RemoteCall>, R) {
    let ((call, rest), attachments) = concur_ipc::attach::collect(encode);
    let call = call.map(|mut c| {
        c.attach(attachments);
        c
    });
    (call, rest)
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shutdown for ProcessPool {
    fn shutdown_with(&self, how: ShutdownOptions) {
        ProcessPool::shutdown_with(self, how);
    }
    fn is_shutdown(&self) -> bool {
        ProcessPool::is_shutdown(self)
    }
}

impl TaskExecutor for ProcessPool {
    fn submit_task<F: RemoteFn>(
        &self,
        _f: F,
        args: F::Args,
    ) -> Result<Future<F::Output>, SubmitError<F::Args>> {
        match self.submit_items::<F>(vec![args]) {
            Ok(mut futs) => Ok(futs.pop().expect("one future per item")),
            Err(e) => Err(e.map_task(|mut v| v.pop().expect("the item is given back"))),
        }
    }

    fn submit_batch<F: RemoteFn>(&self, _f: F, batch: Vec<F::Args>) -> BatchResult<F> {
        self.submit_items::<F>(batch)
    }

    fn submit_chunk<F: RemoteFn>(&self, _f: F, batch: Vec<F::Args>) -> ChunkResult<F> {
        self.submit_chunk_items::<F>(batch)
    }
}
