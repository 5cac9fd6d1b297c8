//! [`ProcessPool`], its builder and the dispatcher thread.

use crate::book::{Assignment, Book, ChunkPromise, Promises, Task, panic_text};
use crate::forkserver::ForkServer;
use crate::primitive::{Arc, Condvar, Mutex, lock};
use crate::sys::{self, ExitCause, Recv};
use concur_core::{
    BatchResult, ChunkResult, Error, Future, Promise, RemoteFn, SubmitError, TaskExecutor,
};
use concur_ipc::{FnRef, Packed, RemoteError, RemoteErrorKind, Reply, Request};
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::{Command as ProcessCommand, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a worker told to exit may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// How worker processes are started.
///
/// # Examples
///
/// ```
/// let m = concur_process::StartMethod::default();
/// assert_eq!(m, concur_process::StartMethod::Spawn);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMethod {
    /// Re-execute the current binary with a token in the environment;
    /// [`init`](crate::init) at the top of `main` diverts it into the
    /// worker loop. Nothing of the parent's memory is inherited.
    #[default]
    Spawn,
    /// Re-execute the current binary once as a single-threaded fork server
    /// (diverted by [`init`](crate::init) before any user code runs), which
    /// then `fork`s each worker: replacing a worker costs a fork, not an
    /// exec, and no worker inherits a lock held by one of this process's
    /// threads. (CPython starts its fork server the same way.)
    ForkServer,
}

/// Why a worker process died while running a task: the future of that task
/// fails with `concur_core::Error::task(WorkerDied)` (downcastable).
///
/// # Examples
///
/// ```
/// use concur_process::{ExitCause, WorkerDied};
/// let e = WorkerDied { pid: 42, cause: ExitCause::Signal(9) };
/// assert_eq!(
///     e.to_string(),
///     "worker process 42 died while running the task: killed by signal 9 (SIGKILL)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerDied {
    /// The worker's process id.
    pub pid: u32,
    /// Its exit code or signal.
    pub cause: ExitCause,
}

impl fmt::Display for WorkerDied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worker process {} died while running the task: {}",
            self.pid, self.cause
        )
    }
}

impl std::error::Error for WorkerDied {}

/// Why [`Builder::build`] failed.
///
/// # Examples
///
/// ```
/// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "invalid configuration: max_workers must be at least 1");
/// ```
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
}

#[derive(Debug)]
enum BuildErrorKind {
    InWorker,
    Config(&'static str),
    Io(std::io::Error),
    Start(Error),
}

impl BuildError {
    /// Whether the build was refused because this process is itself a pool
    /// worker (nested pools are not allowed).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(!err.is_in_worker());
    /// ```
    #[must_use]
    pub fn is_in_worker(&self) -> bool {
        matches!(self.kind, BuildErrorKind::InWorker)
    }

    /// The pool's error if the workers could not be started (handshake
    /// timeout, a worker that exited, an initializer that failed).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_workers(0).build().unwrap_err();
    /// assert!(err.start_error().is_none());
    /// ```
    #[must_use]
    pub fn start_error(&self) -> Option<&Error> {
        match &self.kind {
            BuildErrorKind::Start(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            BuildErrorKind::InWorker => f.write_str(
                "cannot create a process pool inside a pool worker process (nested pools are refused)",
            ),
            BuildErrorKind::Config(m) => write!(f, "invalid configuration: {m}"),
            BuildErrorKind::Io(e) => write!(f, "could not set up the pool: {e}"),
            BuildErrorKind::Start(e) => write!(f, "could not start the workers: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            BuildErrorKind::Io(e) => Some(e),
            BuildErrorKind::Start(e) => Some(e),
            _ => None,
        }
    }
}

/// Configures a [`ProcessPool`]. Obtained from [`ProcessPool::builder`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// concur_ipc::remote! {
///     fn setup() { }
/// }
/// let pool = concur_process::ProcessPool::builder()
///     .max_workers(2)
///     .initializer(setup)
///     .max_tasks_per_child(100)
///     .max_frame(1 << 20)
///     .task_timeout(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    max_workers: Option<usize>,
    start_method: StartMethod,
    initializer: Option<(FnRef, &'static str)>,
    max_tasks_per_child: Option<u64>,
    max_frame: usize,
    task_timeout: Option<Duration>,
    start_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            max_workers: None,
            start_method: StartMethod::Spawn,
            initializer: None,
            max_tasks_per_child: None,
            max_frame: concur_ipc::DEFAULT_MAX_FRAME,
            task_timeout: None,
            start_timeout: Duration::from_secs(10),
        }
    }
}

impl Builder {
    /// Number of worker processes (default: the number of CPUs). Zero is an
    /// error at [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().max_workers(4);
    /// # drop(b);
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// How workers are started (default [`StartMethod::Spawn`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_process::{ProcessPool, StartMethod};
    /// let b = ProcessPool::builder().start_method(StartMethod::ForkServer);
    /// # drop(b);
    /// ```
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.start_method = method;
        self
    }

    /// A remote function taking no arguments that each worker runs once
    /// before its first task. If it fails, the pool is broken (as CPython's
    /// `BrokenProcessPool`): pending futures fail and new work is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn warm_up() { }
    /// }
    /// let b = concur_process::ProcessPool::builder().initializer(warm_up);
    /// # drop(b);
    /// ```
    pub fn initializer<F: RemoteFn<Args = ()>>(mut self, _f: F) -> Self {
        self.initializer = Some((FnRef::of::<F>(), F::NAME));
        self
    }

    /// Replace a worker after it ran `n` tasks (batches count as one).
    /// Zero is an error at [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().max_tasks_per_child(3);
    /// # drop(b);
    /// ```
    pub fn max_tasks_per_child(mut self, n: u64) -> Self {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// The largest frame (request or reply) in bytes; default 64 MiB.
    /// Arguments or results over it fail their future.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().max_frame(1 << 20);
    /// # drop(b);
    /// ```
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Per-task time limit: a task running longer has its worker killed
    /// (and replaced) and its future fails with a timeout error.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().task_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = Some(timeout);
        self
    }

    /// How long a new worker may take to complete the handshake and its
    /// initializer (default 10 s). A worker that does not is killed and the
    /// pool reports that `concur_process::init()` is probably missing.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().start_timeout(std::time::Duration::from_secs(30));
    /// # drop(b);
    /// ```
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Starts the workers and waits until every one completed its
    /// handshake (and initializer).
    ///
    /// # Errors
    ///
    /// If called in a worker process, on invalid settings, or if the
    /// workers cannot be started (see [`BuildError`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().max_tasks_per_child(0).build().unwrap_err();
    /// assert!(err.to_string().contains("max_tasks_per_child"));
    /// ```
    pub fn build(self) -> Result<ProcessPool, BuildError> {
        let err = |kind| Err(BuildError { kind });
        if crate::is_worker_process() {
            return err(BuildErrorKind::InWorker);
        }
        let workers = match self.max_workers {
            Some(0) => return err(BuildErrorKind::Config("max_workers must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        if self.max_tasks_per_child == Some(0) {
            return err(BuildErrorKind::Config(
                "max_tasks_per_child must be at least 1",
            ));
        }
        if self.max_frame < 64 || u32::try_from(self.max_frame).is_err() {
            return err(BuildErrorKind::Config(
                "max_frame must be between 64 bytes and 4 GiB",
            ));
        }
        let exe = std::env::current_exe().map_err(|e| BuildError {
            kind: BuildErrorKind::Io(e),
        })?;
        let wake = sys::eventfd().map_err(|e| BuildError {
            kind: BuildErrorKind::Io(e),
        })?;
        let inner = Arc::new(Inner {
            book: Mutex::new(Book::new(workers, self.max_tasks_per_child, self.max_frame)),
            commands: Mutex::new(Vec::new()),
            status: Mutex::new(Status {
                ready: 0,
                finished: false,
                pids: vec![None; workers],
            }),
            cond: Condvar::new(),
            wake,
            config: self,
            exe,
        });
        let thread_inner = inner.clone();
        let handle = std::thread::Builder::new()
            .name("concur-process-dispatcher".into())
            .spawn(move || Dispatcher::new(thread_inner).run())
            .map_err(|e| BuildError {
                kind: BuildErrorKind::Io(e),
            })?;
        let pool = ProcessPool {
            inner,
            dispatcher: Mutex::new(Some(handle)),
            workers,
        };
        // Wait for every worker's handshake, or for the pool to break. The
        // dispatcher enforces the start timeout, so this wait ends.
        let mut status = lock(&pool.inner.status);
        loop {
            let broken = lock(&pool.inner.book).broken().cloned();
            if let Some(e) = broken {
                drop(status);
                pool.shutdown(true, true);
                return err(BuildErrorKind::Start(e));
            }
            if status.ready >= workers || status.finished {
                break;
            }
            status = match pool
                .inner
                .cond
                .wait_timeout(status, Duration::from_millis(100))
            {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        drop(status);
        Ok(pool)
    }
}

/// A worker's connection (the pool's end of its socket pair).
#[derive(Debug)]
pub(crate) struct Conn {
    fd: OwnedFd,
}

impl Conn {
    fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        sys::send_all(&self.fd, frame)
    }
}

#[derive(Debug)]
enum Command {
    /// Kill the worker of `slot` if it still runs `generation`.
    Kill {
        slot: usize,
        generation: u64,
        reason: KillReason,
    },
    /// Send `signal` to every worker (terminate_workers / kill_workers).
    SignalAll(libc::c_int),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillReason {
    /// The task overran `task_timeout`.
    Timeout,
    /// [`ProcessPool::kill`] on its future.
    Cancelled,
    /// The handshake or initializer did not finish in time.
    StartTimeout,
    /// A broken frame, or a failed write to the worker.
    Protocol,
    /// terminate_workers / kill_workers, or the pool broke.
    Stop,
}

#[derive(Debug)]
struct Status {
    ready: usize,
    finished: bool,
    pids: Vec<Option<u32>>,
}

pub(crate) struct Inner {
    book: Mutex<Book<Arc<Conn>>>,
    commands: Mutex<Vec<Command>>,
    status: Mutex<Status>,
    cond: Condvar,
    wake: OwnedFd,
    config: Builder,
    exe: std::path::PathBuf,
}

impl Inner {
    fn command(&self, c: Command) {
        lock(&self.commands).push(c);
        sys::eventfd_signal(&self.wake);
    }

    fn send_assignment(&self, a: Assignment<Arc<Conn>>) {
        if a.conn.send(&a.frame).is_err() {
            self.command(Command::Kill {
                slot: a.slot,
                generation: a.generation,
                reason: KillReason::Protocol,
            });
        } else if self.config.task_timeout.is_some() {
            // The dispatcher arms the deadline.
            sys::eventfd_signal(&self.wake);
        }
    }
}

/// An executor running named [`RemoteFn`]s in worker processes: CPython's
/// `ProcessPoolExecutor`, without its failure modes.
///
/// * Each worker has its own socket pair; one dispatcher thread in this
///   process owns all bookkeeping; every assignment carries a generation
///   number so a late reply from a replaced worker is ignored.
/// * A worker that dies mid-task (signal, abort, `exit`) fails only that
///   task with [`WorkerDied`] and is replaced; the pool keeps serving.
/// * [`kill`](Self::kill) stops a running future's worker;
///   [`task_timeout`](Builder::task_timeout) does so on overrun.
/// * Dropping the pool is `shutdown(wait = true)`.
///
/// It implements [`TaskExecutor`], so code written against the thread pool's
/// `submit_task`/`submit_batch` switches by changing one line.
///
/// The binary must call [`init`](crate::init) at the top of `main`.
///
/// # Examples
///
/// ```no_run
/// use concur_core::TaskExecutor;
/// use concur_process::ProcessPool;
///
/// concur_ipc::remote! {
///     fn square(x: u64) -> u64 { x * x }
/// }
///
/// fn main() {
///     concur_process::init();
///     let pool = ProcessPool::builder().max_workers(2).build().unwrap();
///     let fut = pool.submit_task(square, 12).unwrap();
///     assert_eq!(fut.into_result().unwrap(), 144);
/// }
/// ```
pub struct ProcessPool {
    inner: Arc<Inner>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    workers: usize,
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool")
            .field("max_workers", &self.workers)
            .field("start_method", &self.inner.config.start_method)
            .finish_non_exhaustive()
    }
}

impl ProcessPool {
    /// A builder with the defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().max_workers(2);
    /// # drop(b);
    /// ```
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A pool with the default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::new().unwrap();
    /// ```
    pub fn new() -> Result<Self, BuildError> {
        Self::builder().build()
    }

    /// The number of worker processes.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(3).build().unwrap();
    /// assert_eq!(pool.max_workers(), 3);
    /// ```
    #[must_use]
    pub fn max_workers(&self) -> usize {
        self.workers
    }

    /// The process ids of the current workers.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(2).build().unwrap();
    /// assert_eq!(pool.worker_pids().len(), 2);
    /// ```
    #[must_use]
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.inner.status)
            .pids
            .iter()
            .flatten()
            .copied()
            .collect()
    }

    /// Encodes every argument set of `batch`: the encoded items to send,
    /// and the positions (ascending) of those that failed to encode, or
    /// whose running size went past `max_frame`.
    fn encode_batch<F: RemoteFn>(&self, batch: &[F::Args]) -> (Packed, Vec<(usize, Error)>) {
        let max = self.inner.config.max_frame;
        let ty = std::any::type_name::<F::Args>();
        let mut items = Packed::with_capacity(batch.len(), batch.len() * 8);
        let mut unsent = Vec::new();
        for (i, args) in batch.iter().enumerate() {
            let before = items.byte_len();
            let err = match catch_unwind(AssertUnwindSafe(|| items.push_encoded(args))) {
                // Each item also costs a length prefix (up to 10 bytes).
                Ok(Ok(())) if 64 + items.byte_len() + 10 * items.len() <= max => continue,
                Ok(Ok(())) => {
                    items.pop();
                    RemoteError::new(
                        RemoteErrorKind::FrameTooLarge,
                        ty,
                        format!("the arguments need more than max_frame ({max} bytes)"),
                    )
                }
                Ok(Err(e)) => RemoteError::from_error(RemoteErrorKind::EncodeArgs, ty, &e),
                Err(p) => {
                    // A panicking `Serialize` may have left part of its bytes.
                    items.truncate_bytes(before);
                    RemoteError::new(
                        RemoteErrorKind::EncodeArgs,
                        ty,
                        format!("panicked: {}", panic_text(&*p)),
                    )
                }
            };
            unsent.push((i, Error::task(err)));
        }
        (items, unsent)
    }

    /// Queues `task`, or gives `batch` back if the pool is closed.
    fn submit_encoded<A>(&self, task: Task, batch: Vec<A>) -> Result<(), SubmitError<Vec<A>>> {
        let mut book = lock(&self.inner.book);
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
        if let Some(a) = assignment {
            self.inner.send_assignment(a);
        }
        Ok(())
    }

    fn submit_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> BatchResult<F> {
        if let Some(e) = lock(&self.inner.book).refusal() {
            return Err(SubmitError::new(batch, e));
        }
        let (items, unsent) = self.encode_batch::<F>(&batch);
        let mut futs = Vec::with_capacity(batch.len());
        let mut promises = Vec::with_capacity(items.len());
        let mut unsent = unsent.into_iter().peekable();
        for i in 0..batch.len() {
            if let Some((_, e)) = unsent.next_if(|(at, _)| *at == i) {
                futs.push(Future::failed(e));
            } else {
                let (p, f) = Promise::new();
                promises.push(p);
                futs.push(f);
            }
        }
        if items.is_empty() {
            return Ok(futs);
        }
        let task = Task::new(
            FnRef::of::<F>(),
            items,
            Box::new(Promises::<F>::new(promises)),
        );
        self.submit_encoded(task, batch).map(|()| futs)
    }

    fn submit_chunk_items<F: RemoteFn>(&self, batch: Vec<F::Args>) -> ChunkResult<F> {
        if let Some(e) = lock(&self.inner.book).refusal() {
            return Err(SubmitError::new(batch, e));
        }
        let (items, unsent) = self.encode_batch::<F>(&batch);
        let (promise, fut) = Promise::new();
        if items.is_empty() {
            let _ = promise.set_result(unsent.into_iter().map(|(_, e)| Err(e)).collect());
            return Ok(fut);
        }
        let completer = ChunkPromise::<F>::new(promise, unsent, batch.len());
        let task = Task::new(FnRef::of::<F>(), items, Box::new(completer));
        self.submit_encoded(task, batch).map(|()| fut)
    }

    /// Kills the worker running `future`'s task (pebble-style): the future
    /// fails as cancelled and the worker is replaced. Returns `false` if the
    /// task is not running (then use [`Future::cancel`] for a pending one).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use concur_core::TaskExecutor;
    /// concur_ipc::remote! {
    ///     fn forever() { loop { std::thread::sleep(std::time::Duration::from_secs(1)) } }
    /// }
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// let fut = pool.submit_task(forever, ()).unwrap();
    /// while !fut.running() { std::thread::yield_now() }
    /// assert!(pool.kill(&fut));
    /// assert!(fut.result().unwrap_err().is_cancelled());
    /// ```
    pub fn kill<T>(&self, future: &Future<T>) -> bool {
        let found = lock(&self.inner.book).find_future(future.id());
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
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.shutdown(true, false);
    /// assert!(pool.worker_pids().is_empty());
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let cancelled = lock(&self.inner.book).close(cancel_futures);
        for t in cancelled {
            t.cancel();
        }
        sys::eventfd_signal(&self.inner.wake);
        if wait {
            self.join();
        }
    }

    fn join(&self) {
        let mut slot = lock(&self.dispatcher);
        let is_dispatcher = slot
            .as_ref()
            .is_some_and(|h| h.thread().id() == std::thread::current().id());
        if is_dispatcher {
            // Called from a done-callback on the dispatcher thread: it
            // finishes on its own once this callback returns.
            return;
        }
        if let Some(h) = slot.take() {
            let _ = h.join();
        }
    }

    fn signal_all(&self, signal: libc::c_int) {
        let cancelled = lock(&self.inner.book).close(true);
        for t in cancelled {
            t.cancel();
        }
        self.inner.command(Command::SignalAll(signal));
        self.join();
    }

    /// Sends `SIGTERM` to every worker and shuts down: queued tasks are
    /// cancelled, running ones fail with [`WorkerDied`]. Returns once every
    /// worker is reaped (CPython 3.14's `terminate_workers`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// concur_process::init();
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
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().max_workers(1).build().unwrap();
    /// pool.kill_workers();
    /// ```
    pub fn kill_workers(&self) {
        self.signal_all(libc::SIGKILL);
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        self.shutdown(true, false);
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Hello,
    Init,
    Ready,
    Exiting,
}

struct Proc {
    pid: i32,
    /// Forked by the fork server (its child, not ours).
    forked: bool,
    pidfd: OwnedFd,
    conn: Arc<Conn>,
    rbuf: Vec<u8>,
    phase: Phase,
    started: Instant,
    eof: bool,
    kill_reason: Option<KillReason>,
    exit_deadline: Option<Instant>,
    task_deadline: Option<(u64, Instant)>,
}

impl Proc {
    /// A worker just started, connected through `parent`, awaiting its hello.
    fn new(pid: i32, forked: bool, pidfd: OwnedFd, parent: OwnedFd) -> Self {
        Self {
            pid,
            forked,
            pidfd,
            conn: Arc::new(Conn { fd: parent }),
            rbuf: Vec::new(),
            phase: Phase::Hello,
            started: Instant::now(),
            eof: false,
            kill_reason: None,
            exit_deadline: None,
            task_deadline: None,
        }
    }

    fn kill(&mut self, reason: KillReason) {
        if self.kill_reason.is_none() {
            self.kill_reason = Some(reason);
        }
        sys::pidfd_kill(&self.pidfd, libc::SIGKILL);
    }
}

struct Dispatcher {
    inner: Arc<Inner>,
    procs: Vec<Option<Proc>>,
    pollfds: Vec<libc::pollfd>,
    server: Option<ForkServer>,
}

fn startup_hint() -> &'static str {
    "call `concur_process::init()` as the first statement of `main` so that worker \
     processes are diverted into the worker loop"
}

impl Dispatcher {
    fn new(inner: Arc<Inner>) -> Self {
        let n = lock(&inner.book).slots();
        Self {
            inner,
            procs: (0..n).map(|_| None).collect(),
            pollfds: Vec::new(),
            server: None,
        }
    }

    fn run(mut self) {
        if self.inner.config.start_method == StartMethod::ForkServer {
            match ForkServer::start(&self.inner.exe) {
                Ok(s) => self.server = Some(s),
                Err(e) => self.break_pool(Error::broken(
                    "could not start the fork server",
                    Some(Box::new(e)),
                )),
            }
        }
        for slot in 0..self.procs.len() {
            self.spawn(slot);
        }
        loop {
            let timeout = self.tick();
            if self.finished() {
                break;
            }
            self.poll_once(timeout);
        }
        if let Some(server) = self.server.take() {
            server.stop(EXIT_GRACE);
        }
        let mut status = lock(&self.inner.status);
        status.finished = true;
        status.pids.iter_mut().for_each(|p| *p = None);
        drop(status);
        self.inner.cond.notify_all();
    }

    fn finished(&self) -> bool {
        let book = lock(&self.inner.book);
        book.is_closed()
            && (book.is_idle() || book.broken().is_some())
            && self.procs.iter().all(Option::is_none)
    }

    fn break_pool(&mut self, error: Error) {
        let tasks = lock(&self.inner.book).break_pool(error.clone());
        for t in tasks {
            t.fail(error.clone());
        }
        for p in self.procs.iter_mut().flatten() {
            p.kill(KillReason::Stop);
        }
        self.inner.cond.notify_all();
    }

    fn spawn(&mut self, slot: usize) {
        if lock(&self.inner.book).broken().is_some() {
            return;
        }
        let started = match &mut self.server {
            Some(server) => start_forked(server, self.inner.config.start_timeout),
            None => self.start_process(),
        };
        match started {
            Ok(p) => {
                lock(&self.inner.status).pids[slot] = Some(p.pid as u32);
                lock(&self.inner.book).starting(slot);
                self.procs[slot] = Some(p);
            }
            Err(e) => self.break_pool(Error::broken(
                "could not start a worker process",
                Some(Box::new(e)),
            )),
        }
    }

    fn start_process(&self) -> std::io::Result<Proc> {
        let (parent, child) = sys::socketpair()?;
        let child_fd = child.as_raw_fd();
        let mut cmd = ProcessCommand::new(&self.inner.exe);
        cmd.env(crate::WORKER_ENV, format!("spawn:{child_fd}"))
            .stdin(Stdio::null());
        // SAFETY: the closure only calls async-signal-safe functions (fcntl,
        // prctl) in the forked child before exec.
        unsafe {
            cmd.pre_exec(move || {
                sys::clear_cloexec(child_fd)?;
                // Die with the dispatcher thread's process rather than
                // linger as an orphan.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let spawned = cmd.spawn()?;
        drop(child);
        let pid = spawned.id() as i32;
        drop(spawned);
        let pidfd = match sys::pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                sys::kill(pid, libc::SIGKILL);
                let _ = sys::reap(pid);
                return Err(e);
            }
        };
        Ok(Proc::new(pid, false, pidfd, parent))
    }

    /// Handles commands, deadlines and shutdown progress; returns the poll
    /// timeout.
    fn tick(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let commands = std::mem::take(&mut *lock(&self.inner.commands));
        for c in commands {
            match c {
                Command::Kill {
                    slot,
                    generation,
                    reason,
                } => {
                    let running = lock(&self.inner.book).running(slot);
                    if running == Some(generation)
                        && let Some(p) = &mut self.procs[slot]
                    {
                        p.kill(reason);
                    }
                }
                Command::SignalAll(sig) => {
                    for p in self.procs.iter_mut().flatten() {
                        p.kill_reason.get_or_insert(KillReason::Stop);
                        sys::pidfd_kill(&p.pidfd, sig);
                    }
                }
            }
        }
        let config = &self.inner.config;
        let mut next: Option<Instant> = None;
        let mut arm = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let (closed, idle, broken) = {
            let book = lock(&self.inner.book);
            for (slot, proc) in self.procs.iter_mut().enumerate() {
                let Some(p) = proc else { continue };
                if let (Some(timeout), Some(generation)) = (config.task_timeout, book.running(slot))
                    && p.task_deadline.is_none_or(|(g, _)| g != generation)
                {
                    p.task_deadline = Some((generation, now + timeout));
                }
            }
            (book.is_closed(), book.is_idle(), book.broken().is_some())
        };
        for (slot, proc) in self.procs.iter_mut().enumerate() {
            let Some(p) = proc else { continue };
            if p.kill_reason.is_some() {
                continue;
            }
            match p.phase {
                Phase::Hello | Phase::Init => {
                    let deadline = p.started + config.start_timeout;
                    if closed && idle {
                        p.kill(KillReason::Stop);
                    } else if now >= deadline {
                        p.kill(KillReason::StartTimeout);
                    } else {
                        arm(deadline);
                    }
                }
                Phase::Ready => {
                    if let Some((generation, deadline)) = p.task_deadline {
                        if lock(&self.inner.book).running(slot) == Some(generation) {
                            if now >= deadline {
                                p.kill(KillReason::Timeout);
                                continue;
                            }
                            arm(deadline);
                        }
                    }
                    if closed && idle {
                        lock(&self.inner.book).exiting(slot);
                        p.phase = Phase::Exiting;
                        p.exit_deadline = Some(now + EXIT_GRACE);
                        if send_request(&p.conn, &Request::Exit, config.max_frame).is_err() {
                            p.kill(KillReason::Stop);
                        }
                    }
                }
                Phase::Exiting => match p.exit_deadline {
                    Some(d) if now >= d => p.kill(KillReason::Stop),
                    Some(d) => arm(d),
                    None => {}
                },
            }
        }
        if broken {
            for p in self.procs.iter_mut().flatten() {
                if p.kill_reason.is_none() {
                    p.kill(KillReason::Stop);
                }
            }
        }
        next.map(|t| t.saturating_duration_since(now))
    }

    fn poll_once(&mut self, timeout: Option<Duration>) {
        self.pollfds.clear();
        self.pollfds.push(libc::pollfd {
            fd: self.inner.wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for p in self.procs.iter().flatten() {
            self.pollfds.push(libc::pollfd {
                fd: p.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            self.pollfds.push(libc::pollfd {
                fd: if p.eof { -1 } else { p.conn.fd.as_raw_fd() },
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let ms = timeout.map_or(1000, |t| {
            i32::try_from(t.as_millis().saturating_add(1))
                .unwrap_or(1000)
                .min(1000)
        });
        if let Some(server) = &self.server {
            self.pollfds.push(libc::pollfd {
                fd: server.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // The dispatcher blocks at once (it does not poll before blocking
        // as workers do): a worker's reply wakes it on the worker's own CPU,
        // which is cheap, while a dispatcher yielding in a loop next to a
        // CPU-bound worker loses its turn for milliseconds (EEVDF pushes a
        // yielding task's deadline back a slice per yield): 8 prime-counting
        // jobs on 2 workers took 75-80 ms that way instead of 69-73 ms.
        if sys::poll(&mut self.pollfds, ms).is_err() {
            std::thread::sleep(Duration::from_millis(1));
            return;
        }
        if self.pollfds[0].revents != 0 {
            sys::eventfd_drain(&self.inner.wake);
        }
        if self.server.is_some() && self.pollfds.last().is_some_and(|p| p.revents != 0) {
            // The fork server died: workers can no longer be started.
            if let Some(server) = self.server.take() {
                let cause = sys::reap(server.pid).unwrap_or(ExitCause::Code(-1));
                drop(server);
                self.break_pool(Error::broken(format!("the fork server {cause}"), None));
            }
        }
        let ready: Vec<(usize, bool, bool)> = {
            let mut i = 1;
            let mut out = Vec::new();
            for (slot, p) in self.procs.iter().enumerate() {
                if p.is_none() {
                    continue;
                }
                let exited = self.pollfds[i].revents != 0;
                let readable = self.pollfds[i + 1].revents != 0;
                i += 2;
                if exited || readable {
                    out.push((slot, readable, exited));
                }
            }
            out
        };
        for (slot, readable, exited) in ready {
            if readable {
                self.read_from(slot);
            }
            if exited {
                // Drain what it wrote before dying (a last reply).
                self.read_from(slot);
                self.reap(slot);
            }
        }
    }

    fn read_from(&mut self, slot: usize) {
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        if p.eof {
            return;
        }
        match sys::recv_available(&p.conn.fd, &mut p.rbuf) {
            Ok(Recv::Data) => {}
            Ok(Recv::WouldBlock) => return,
            Ok(Recv::Eof) | Err(_) => {
                p.eof = true;
                if p.phase != Phase::Exiting {
                    // A worker only closes its socket by exiting; make sure.
                    sys::pidfd_kill(&p.pidfd, libc::SIGKILL);
                }
            }
        }
        let max = self.inner.config.max_frame;
        loop {
            let Some(p) = &mut self.procs[slot] else {
                return;
            };
            if p.rbuf.len() < concur_ipc::PREFIX_LEN {
                break;
            }
            let prefix: [u8; 4] = p.rbuf[..4].try_into().expect("4 bytes");
            let len = match concur_ipc::frame_len(prefix, max) {
                Ok(l) => l,
                Err(_) => {
                    p.rbuf.clear();
                    p.eof = true;
                    p.kill(KillReason::Protocol);
                    break;
                }
            };
            if p.rbuf.len() < 4 + len {
                break;
            }
            let reply = concur_ipc::decode::<Reply>(&p.rbuf[4..4 + len]);
            p.rbuf.drain(..4 + len);
            match reply {
                Ok(r) => self.handle(slot, r),
                Err(_) => {
                    if let Some(p) = &mut self.procs[slot] {
                        p.eof = true;
                        p.kill(KillReason::Protocol);
                    }
                    break;
                }
            }
        }
    }

    fn handle(&mut self, slot: usize, reply: Reply) {
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        let max_frame = self.inner.config.max_frame;
        match (p.phase, reply) {
            (Phase::Hello, Reply::Hello(hello)) => {
                if let Err(why) = hello.check() {
                    p.kill(KillReason::Stop);
                    self.break_pool(Error::broken(
                        format!("worker refused at handshake: {why}"),
                        None,
                    ));
                    return;
                }
                let init = Request::Init {
                    initializer: self.inner.config.initializer.map(|(f, _)| f),
                    max_frame: max_frame as u64,
                };
                p.phase = Phase::Init;
                if send_request(&p.conn, &init, max_frame).is_err() {
                    p.kill(KillReason::Protocol);
                }
            }
            (Phase::Init, Reply::Ready) => {
                p.phase = Phase::Ready;
                p.started = Instant::now();
                let conn = p.conn.clone();
                lock(&self.inner.status).ready += 1;
                self.inner.cond.notify_all();
                let next = lock(&self.inner.book).ready(slot, conn);
                if let Some(a) = next {
                    self.inner.send_assignment(a);
                }
            }
            (Phase::Init, Reply::InitFailed(e)) => {
                let name = self.inner.config.initializer.map_or("?", |(_, n)| n);
                p.phase = Phase::Exiting;
                p.exit_deadline = Some(Instant::now() + EXIT_GRACE);
                self.break_pool(Error::broken(
                    format!("the initializer `{name}` failed in a worker"),
                    Some(Box::new(e)),
                ));
            }
            (
                Phase::Ready,
                Reply::Done {
                    generation,
                    results,
                },
            ) => {
                let outcome = lock(&self.inner.book).done(slot, generation);
                if outcome.retire {
                    p.phase = Phase::Exiting;
                    p.exit_deadline = Some(Instant::now() + EXIT_GRACE);
                    if send_request(&p.conn, &Request::Exit, max_frame).is_err() {
                        p.kill(KillReason::Stop);
                    }
                }
                if let Some(a) = outcome.next {
                    self.inner.send_assignment(a);
                }
                if let Some(task) = outcome.task {
                    task.complete(results);
                }
            }
            (_, Reply::Done { .. }) => {
                // A reply after we told it to exit: its task was already
                // accounted for (stale); ignore.
            }
            _ => p.kill(KillReason::Protocol),
        }
    }

    fn reap(&mut self, slot: usize) {
        let Some(p) = self.procs[slot].take() else {
            return;
        };
        let cause = match (&mut self.server, p.forked) {
            (Some(server), true) => server.status_of(p.pid),
            _ => sys::reap(p.pid).unwrap_or(ExitCause::Code(-1)),
        };
        lock(&self.inner.status).pids[slot] = None;
        let task = lock(&self.inner.book).died(slot);
        let pid = p.pid as u32;
        if let Some(task) = task {
            let error = match p.kill_reason {
                Some(KillReason::Timeout) => Error::timeout(format!(
                    "the task ran longer than the pool's task_timeout of {:?}; its worker \
                     process {pid} was killed",
                    self.inner.config.task_timeout.unwrap_or_default()
                )),
                Some(KillReason::Cancelled) => Error::cancelled(),
                _ => match lock(&self.inner.book).broken() {
                    Some(e) if p.kill_reason == Some(KillReason::Stop) => e.clone(),
                    _ => Error::task(WorkerDied { pid, cause }),
                },
            };
            task.fail(error);
        }
        let (closed, queued, broken) = {
            let book = lock(&self.inner.book);
            (book.is_closed(), book.queued(), book.broken().is_some())
        };
        if matches!(p.phase, Phase::Hello | Phase::Init) && !broken && !(closed && queued == 0) {
            let error = match (p.phase, p.kill_reason) {
                (Phase::Hello, Some(KillReason::StartTimeout)) => Error::broken(
                    format!(
                        "worker process {pid} did not complete the handshake within {:?}: {}",
                        self.inner.config.start_timeout,
                        startup_hint()
                    ),
                    None,
                ),
                (Phase::Hello, _) => Error::broken(
                    format!(
                        "worker process {pid} {cause} before completing the handshake: {}",
                        startup_hint()
                    ),
                    None,
                ),
                (_, Some(KillReason::StartTimeout)) => Error::broken(
                    format!(
                        "the initializer did not finish within {:?} in worker process {pid}",
                        self.inner.config.start_timeout
                    ),
                    None,
                ),
                _ => Error::broken(
                    format!("worker process {pid} {cause} while running the initializer"),
                    None,
                ),
            };
            self.break_pool(error);
            return;
        }
        if !broken && (!closed || queued > 0) {
            self.spawn(slot);
        }
    }
}

fn start_forked(server: &mut ForkServer, timeout: Duration) -> std::io::Result<Proc> {
    let (parent, child) = sys::socketpair()?;
    let (pid, pidfd) = server.fork_worker(child, timeout)?;
    Ok(Proc::new(pid, true, pidfd, parent))
}

fn send_request(conn: &Conn, request: &Request, max_frame: usize) -> std::io::Result<()> {
    let mut out = Vec::new();
    concur_ipc::encode_frame(request, max_frame, &mut out).map_err(std::io::Error::other)?;
    conn.send(&out)
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}
