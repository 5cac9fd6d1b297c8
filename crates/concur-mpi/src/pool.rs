//! [`MpiPool`]: the handle users hold on rank 0, and its [`TaskExecutor`]
//! impl. Calls are encoded here, on the submitting thread, outside the
//! book's lock; the manager thread (`manager.rs`) sends them.

use crate::builder::Builder;
use crate::error::BuildError;
use crate::manager::Manager;
use crate::shared::{PoolShared, Status};
use crate::start_method::StartMethod;
use crate::watch::Watcher;
use crate::world::{self, BUILT, LIVE_POOLS};
use concur_core::{
    BatchResult, ChunkResult, Future, RemoteFn, Shutdown, ShutdownOptions, SubmitError,
    TaskExecutor,
};
use concur_remote::{Book, CallbackRunner, RemoteCall};
use concur_sync::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread;
use std::fmt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// An executor running named [`RemoteFn`]s on MPI ranks: rank 0 submits,
/// ranks 1..N (diverted into the worker loop by [`init`](crate::init))
/// run the calls; they are the world's other ranks, or processes the
/// pool spawned ([`StartMethod`](crate::StartMethod)). mpi4py's
/// `MPIPoolExecutor`.
///
/// * The same `remote!` functions and [`TaskExecutor`] calls as the
///   process pool, so `map_task`, `as_completed`, `wait` work unchanged.
/// * One manager thread on rank 0 makes every send and receive; it sleeps
///   in a matched probe, and submitters wake it with a zero-byte message
///   to rank 0.
/// * A worker from a different build is refused at the handshake (the
///   registry fingerprint), and `build` fails with the reason.
/// * Dropping the pool is `shutdown(wait = true)`: accepted work finishes,
///   then every worker rank leaves its loop and finalizes MPI. A world
///   serves one pool: its ranks exit with it; spawned workers belong to
///   their pool.
///
/// # Examples
///
/// ```no_run
/// // no_run: needs `mpirun -n 3 ./program` (a worker rank never returns
/// // from `init`).
/// use concur_core::TaskExecutor;
///
/// concur_ipc::remote! {
///     fn square(x: u64) -> u64 { x * x }
/// }
///
/// fn main() {
///     let world = concur_mpi::init().unwrap();
///     let pool = concur_mpi::MpiPool::builder().build().unwrap();
///     assert_eq!(pool.submit_task(square, 12).unwrap().into_result().unwrap(), 144);
///     drop(pool);
///     drop(world);
/// }
/// ```
pub struct MpiPool {
    inner: Arc<PoolShared>,
    workers: usize,
    counted: AtomicBool,
}

impl fmt::Debug for MpiPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiPool")
            .field("max_workers", &self.workers)
            .field("shutdown", &self.is_shutdown())
            .field("broken", &self.is_broken())
            .finish_non_exhaustive()
    }
}

impl MpiPool {
    /// A [`Builder`] with the default settings.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n N`.
    /// let world = concur_mpi::init().unwrap();
    /// let pool = concur_mpi::MpiPool::builder().build().unwrap();
    /// # drop(pool); drop(world);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn start(builder: Builder) -> Result<Self, BuildError> {
        let rt = world::runtime().ok_or_else(BuildError::not_initialized)?;
        if rt.rank != 0 {
            return Err(BuildError::not_root(rt.rank));
        }
        if rt.thread_level < crate::raw::thread_serialized() {
            return Err(BuildError::thread_level(rt.thread_level));
        }
        // Local resources first: a failure after the workers started would
        // leave them waiting.
        let (stop_tx, stop_rx) = UnixStream::pair()
            .map_err(|e| BuildError::mpi(crate::MpiError::new("socketpair", -1, e.to_string())))?;
        let spawn = match builder.start_method {
            StartMethod::World => false,
            StartMethod::Spawn => true,
            StartMethod::Auto => rt.size <= 1,
        };
        let (comm, workers, listening, spawned) = if spawn {
            let n = builder.max_workers.unwrap_or_else(default_max_workers);
            let s = {
                let _serial = crate::serial::lock();
                crate::spawn::start(n, &builder.spawn_info)?
            };
            (s.comm, n, s.listening, Some(s.inter))
        } else {
            let workers = usize::try_from(rt.size - 1).unwrap_or(0);
            if workers == 0 {
                return Err(BuildError::no_workers());
            }
            if let Some(n) = builder.max_workers.filter(|n| *n != workers) {
                return Err(BuildError::config(format!(
                    "max_workers({n}) in world mode: the workers are the world's ranks 1..N, \
                     {workers} here (start the job with `mpirun -n {}`, or spawn the workers \
                     with StartMethod::Spawn)",
                    n + 1
                )));
            }
            if BUILT.swap(true, Ordering::SeqCst) {
                return Err(BuildError::already_built());
            }
            (rt.comm, workers, world::take_listening(), None)
        };
        let inner = Arc::new(PoolShared {
            book: Mutex::new(Book::new(workers, None)),
            doorbell: crate::doorbell::Doorbell::new(crate::serial::serialized()),
            status: Mutex::new(Status::default()),
            cond: Condvar::new(),
            comm,
            spawned,
            max_frame: builder.max_frame,
            check_build: builder.check_build,
            initializer: builder
                .initializer
                .and_then(|i| i.args.ok().map(|a| (i.func, i.name, a))),
            callbacks: CallbackRunner::new("concur-mpi-callbacks"),
            next_generation: AtomicU64::new(1),
            manager: Mutex::new(None),
            events: Mutex::new(Vec::new()),
            links: Mutex::new((0..workers).map(|_| None).collect()),
            started: Mutex::new(vec![None; workers]),
            task_timeout: builder.task_timeout,
            watcher_stop: Mutex::new(None),
            watcher: Mutex::new(None),
        });
        *inner.watcher_stop.lock() = Some(stop_tx);
        let watcher = Watcher::new(inner.clone(), listening, stop_rx);
        let manager = Manager::new(inner.clone());
        LIVE_POOLS.fetch_add(1, Ordering::SeqCst);
        let pool = MpiPool {
            inner: inner.clone(),
            workers,
            counted: AtomicBool::new(true),
        };
        let handle = thread::Builder::new()
            .name("concur-mpi-manager".into())
            .spawn(move || manager.run())
            .map_err(|e| BuildError::mpi(crate::MpiError::new("spawn manager", -1, e.to_string())));
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                // No manager will ever tell the workers to go: do it here.
                world::release_workers(comm, workers);
                if let Some(inter) = spawned {
                    let freed = comm.free().and_then(|()| inter.disconnect());
                    if let Err(e) = freed {
                        eprintln!("concur-mpi: {e}");
                    }
                }
                pool.release();
                return Err(e);
            }
        };
        *inner.manager.lock() = Some(handle);
        let watching = thread::Builder::new()
            .name("concur-mpi-watcher".into())
            .spawn(move || watcher.run());
        match watching {
            Ok(h) => *inner.watcher.lock() = Some(h),
            Err(e) => eprintln!(
                "concur-mpi: no watcher thread ({e}): the death of a worker rank will not be noticed"
            ),
        }
        let mut status = inner.status.lock();
        loop {
            let broken = inner.book.lock().broken().cloned();
            if let Some(e) = broken.or_else(|| status.mpi_failure.clone()) {
                drop(status);
                pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
                return Err(BuildError::start(e));
            }
            if status.ready + status.lost >= workers || status.finished {
                break;
            }
            status = inner
                .cond
                .wait_timeout(status, Duration::from_millis(100))
                .0;
        }
        drop(status);
        Ok(pool)
    }

    /// Counts this pool out of the live ones (once).
    fn release(&self) {
        if self.counted.swap(false, Ordering::SeqCst) {
            LIVE_POOLS.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// The number of worker ranks.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n 3`.
    /// let world = concur_mpi::init().unwrap();
    /// assert_eq!(concur_mpi::MpiPool::builder().build().unwrap().max_workers(), 2);
    /// # drop(world);
    /// ```
    #[must_use]
    pub fn max_workers(&self) -> usize {
        self.workers
    }

    /// Stops accepting work and waits until every accepted task finished
    /// and every worker rank was told to exit ([`shutdown_with`](Self::shutdown_with)
    /// with the defaults). Idempotent.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n N`.
    /// let world = concur_mpi::init().unwrap();
    /// let pool = concur_mpi::MpiPool::builder().build().unwrap();
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// # drop(pool); drop(world);
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_with(ShutdownOptions::new());
    }

    /// Shuts down as `how` says: `wait` (block until the work is done and
    /// the manager exited) and `cancel_futures` (cancel tasks that have not
    /// started), as the process pool.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n N`.
    /// use concur_core::ShutdownOptions;
    /// let world = concur_mpi::init().unwrap();
    /// let pool = concur_mpi::MpiPool::builder().build().unwrap();
    /// pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
    /// # drop(pool); drop(world);
    /// ```
    pub fn shutdown_with(&self, how: ShutdownOptions) {
        self.inner.shutdown(how);
        if how.waits() && self.inner.status.lock().finished {
            self.release();
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n N`.
    /// let world = concur_mpi::init().unwrap();
    /// let pool = concur_mpi::MpiPool::builder().build().unwrap();
    /// assert!(!pool.is_shutdown());
    /// # drop(pool); drop(world);
    /// ```
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.inner.book.lock().is_closed()
    }

    /// Whether the pool is broken (a worker refused at the handshake, an
    /// MPI call failed): pending futures fail and new work is refused with
    /// an error of kind [`Broken`](concur_core::ErrorKind::Broken).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// // no_run: needs `mpirun -n N`.
    /// let world = concur_mpi::init().unwrap();
    /// assert!(!concur_mpi::MpiPool::builder().build().unwrap().is_broken());
    /// # drop(world);
    /// ```
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.inner.book.lock().broken().is_some()
    }

    fn generation(&self) -> u64 {
        // ORDERING: only uniqueness matters (a read-modify-write never
        // hands a value out twice); the task reaches the manager through
        // the book's or the doorbell's mutex.
        self.inner.next_generation.fetch_add(1, Ordering::Relaxed)
    }

    fn submit_encoded<A>(
        &self,
        task: RemoteCall,
        batch: Vec<A>,
    ) -> Result<(), SubmitError<Vec<A>>> {
        let assignment = self.inner.book.lock().submit(task);
        match assignment {
            Ok(Some(a)) => self.inner.post(a),
            Ok(None) => {}
            Err((task, e)) => {
                drop(task);
                return Err(SubmitError::new(batch, e));
            }
        }
        Ok(())
    }

    fn submit_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> BatchResult<F> {
        if let Some(e) = self.inner.book.lock().refusal() {
            return Err(SubmitError::new(batch, e));
        }
        match concur_remote::batch_call::<F>(
            &batch,
            self.inner.max_frame,
            || self.generation(),
            None,
        ) {
            (Some(task), futs) => self.submit_encoded(task, batch).map(|()| futs),
            (None, futs) => Ok(futs),
        }
    }

    fn submit_chunk_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> ChunkResult<F> {
        if let Some(e) = self.inner.book.lock().refusal() {
            return Err(SubmitError::new(batch, e));
        }
        match concur_remote::chunk_call::<F>(
            &batch,
            self.inner.max_frame,
            || self.generation(),
            None,
        ) {
            (Some(task), fut) => self.submit_encoded(task, batch).map(|()| fut),
            (None, fut) => Ok(fut),
        }
    }
}

/// The default number of spawned workers: the machine's available
/// parallelism (the process pool's default).
fn default_max_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Drop for MpiPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shutdown for MpiPool {
    fn shutdown_with(&self, how: ShutdownOptions) {
        MpiPool::shutdown_with(self, how);
    }
    fn is_shutdown(&self) -> bool {
        MpiPool::is_shutdown(self)
    }
}

impl TaskExecutor for MpiPool {
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
