//! [`Builder`]: a pool's settings, checked at [`Builder::build`] into
//! the pool's `Config`.

use crate::config::Config;
use crate::error::{BuildError, BuildErrorKind};
use crate::pool::ProcessPool;
use crate::start_method::StartMethod;
use concur_core::RemoteFn;
use concur_ipc::{FnRef, Packed, RemoteError, RemoteErrorKind, Request};
use concur_sync::sync::{Arc, Mutex};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc as StdArc;
use std::time::Duration;

/// Numbers the process pools of this process, for the default names.
static POOL_COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// `concur-process-{k}`, `k` counting the process pools of the process.
fn default_name() -> String {
    // ORDERING: a unique number is all that is needed.
    let k = POOL_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("concur-process-{k}")
}

/// Encodes an initializer's arguments (kept unencoded until `build`). A
/// `std` `Arc`: a shared closure, not state a loom model races on, and
/// loom's `Arc` cannot hold a `dyn` value.
type EncodeArgs = StdArc<dyn Fn() -> Result<Vec<u8>, RemoteError> + Send + Sync>;

/// The pool's initializer: the function, its name (for error messages), and
/// its arguments, encoded once by [`Builder::build`] into the `Init`
/// request every worker (also every replacement) receives.
#[derive(Clone)]
pub(crate) struct Initializer {
    func: FnRef,
    name: &'static str,
    args_type: &'static str,
    encode: EncodeArgs,
}

impl fmt::Debug for Initializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl Initializer {
    fn new<F: RemoteFn>(args: F::Args) -> Self {
        let args = Arc::new(Mutex::new(args));
        let encode: EncodeArgs = StdArc::new(move || {
            let ty = std::any::type_name::<F::Args>();
            let args = args.lock();
            let mut packed = Packed::new();
            match catch_unwind(AssertUnwindSafe(|| packed.push_encoded(&*args))) {
                Ok(Ok(())) => Ok(packed.get(0).map(<[u8]>::to_vec).unwrap_or_default()),
                Ok(Err(e)) => Err(RemoteError::from_error(RemoteErrorKind::EncodeArgs, ty, &e)),
                Err(payload) => {
                    let panic = concur_core::Error::panicked(payload);
                    Err(RemoteError::new(
                        RemoteErrorKind::EncodeArgs,
                        ty,
                        format!("panicked: {}", panic.panic_message().unwrap_or_default()),
                    ))
                }
            }
        });
        Self {
            func: FnRef::of::<F>(),
            name: F::NAME,
            args_type: std::any::type_name::<F::Args>(),
            encode,
        }
    }
}

/// The default [`Builder::start_timeout`].
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Configures a [`ProcessPool`]. Obtained from [`ProcessPool::builder`] (or
/// [`Builder::new`]); [`build`](Self::build) validates it and starts the
/// workers. A builder is `Clone`: one configuration can build several
/// pools.
///
/// # Examples
///
/// ```
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
    name: Option<String>,
    start_method: StartMethod,
    initializer: Option<Initializer>,
    max_tasks_per_child: Option<u64>,
    max_frame: usize,
    shared_memory: bool,
    task_timeout: Option<Duration>,
    start_timeout: Option<Duration>,
}

/// Same as [`Builder::new`].
///
/// # Examples
///
/// ```
/// let b = concur_process::Builder::default().max_workers(2);
/// # drop(b);
/// ```
impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with every setting at its default (the same as
    /// [`ProcessPool::builder`]): [`default_max_workers`] workers started
    /// by [`StartMethod::Spawn`], no initializer, 64 MiB frames, no task
    /// timeout, a 10 s start timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_process::Builder::new().build().unwrap();
    /// assert_eq!(pool.max_workers(), concur_process::default_max_workers());
    /// ```
    pub fn new() -> Self {
        Self {
            max_workers: None,
            name: None,
            start_method: StartMethod::Spawn,
            initializer: None,
            max_tasks_per_child: None,
            max_frame: concur_ipc::DEFAULT_MAX_FRAME,
            shared_memory: true,
            task_timeout: None,
            start_timeout: Some(DEFAULT_START_TIMEOUT),
        }
    }

    /// Number of worker processes (default: [`default_max_workers`], the
    /// number of CPUs). Zero is an error at [`build`](Self::build)
    /// ("max_workers must be at least 1").
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

    /// The pool's name: the `pool` field of its `tracing` events (feature
    /// `tracing`), and [`ProcessPool::name`]. Default:
    /// `concur-process-{k}`, with `k` counting the process pools this
    /// process built. An empty name makes [`build`](Self::build) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_process::ProcessPool::builder().name("").build().unwrap_err();
    /// assert_eq!(err.to_string(), "name must not be empty");
    /// ```
    ///
    /// ```no_run
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder().name("thumbnails").build().unwrap();
    /// assert_eq!(pool.name(), "thumbnails");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
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
    /// before its first task (CPython's `initializer`); for one that takes
    /// arguments (`initargs`), see [`initializer_with`](Self::initializer_with).
    ///
    /// If it returns an error or panics in a worker, the pool is broken (as
    /// CPython's `BrokenProcessPool`): pending futures fail and new work is
    /// refused; [`build`](Self::build) fails if that happens while it
    /// starts the workers. A worker that dies while running it is replaced
    /// like any worker that dies while starting.
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
    pub fn initializer<F: RemoteFn<Args = ()>>(self, f: F) -> Self {
        self.initializer_with(f, ())
    }

    /// A remote function that each worker runs once with `args` before its
    /// first task: CPython's `initializer` with `initargs`. The arguments
    /// are encoded once, by [`build`](Self::build), and sent to every
    /// worker (replacements too) in its handshake; a typical use stores
    /// them in a worker-global that tasks read.
    ///
    /// Failure (an error or a panic) breaks the pool, as for
    /// [`initializer`](Self::initializer).
    ///
    /// # Errors
    ///
    /// None here: [`build`](Self::build) fails with a [`BuildError`] if the
    /// arguments cannot be encoded (their `Serialize` fails or panics) or
    /// need more than the handshake frame allows (`max_frame`, and at most
    /// 64 MiB).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::TaskExecutor;
    /// use std::sync::OnceLock;
    ///
    /// static DB_URL: OnceLock<String> = OnceLock::new();
    ///
    /// concur_ipc::remote! {
    ///     fn connect(url: String, pool_size: u32) -> Result<(), String> {
    ///         if pool_size == 0 {
    ///             return Err("pool_size must be at least 1".into());
    ///         }
    ///         DB_URL.set(url).map_err(|_| "connected twice".to_string())
    ///     }
    ///     fn db_url() -> String { DB_URL.get().cloned().unwrap_or_default() }
    /// }
    ///
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let pool = concur_process::ProcessPool::builder()
    ///         .max_workers(2)
    ///         .initializer_with(connect, ("postgres://db".to_string(), 4))
    ///         .build()?;
    ///     assert_eq!(pool.submit_task(db_url, ())?.into_result()?, "postgres://db");
    ///     Ok(())
    /// }
    /// ```
    pub fn initializer_with<F: RemoteFn>(mut self, _f: F, args: F::Args) -> Self {
        self.initializer = Some(Initializer::new::<F>(args));
        self
    }

    /// The `Init` request every worker receives, encoded as a frame: the
    /// initializer (with its arguments) and the frame limit. The worker
    /// reads it before it knows `max_frame`, with the default limit, so it
    /// must fit both.
    fn init_frame(&self) -> Result<Vec<u8>, BuildError> {
        let limit = self.max_frame.min(concur_ipc::DEFAULT_MAX_FRAME);
        let name = self.initializer.as_ref().map_or("?", |i| i.name);
        let args_type = self.initializer.as_ref().map_or("()", |i| i.args_type);
        let too_large = || {
            let why = RemoteError::new(
                RemoteErrorKind::FrameTooLarge,
                args_type,
                format!(
                    "the handshake frame carrying them needs more than its limit of {limit} \
                     bytes (max_frame, and at most {} bytes: a worker reads it before it \
                     learns max_frame)",
                    concur_ipc::DEFAULT_MAX_FRAME
                ),
            );
            BuildError::init_args(name, why)
        };
        let initializer = match &self.initializer {
            Some(init) => {
                let args = (init.encode)().map_err(|e| BuildError::init_args(init.name, e))?;
                if args.len() > limit {
                    // Known too large: spare encoding it into a frame.
                    return Err(too_large());
                }
                Some((init.func, args))
            }
            None => None,
        };
        let request = Request::Init {
            initializer,
            max_frame: self.max_frame as u64,
        };
        let mut frame = Vec::new();
        concur_ipc::encode_frame(&request, limit, &mut frame).map_err(|e| match e {
            concur_ipc::FrameError::TooLarge { .. } => too_large(),
            e => BuildError::init_args(
                name,
                RemoteError::from_error(RemoteErrorKind::EncodeArgs, args_type, &e),
            ),
        })?;
        Ok(frame)
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

    /// Whether requests and replies travel through shared memory (the
    /// default): a ring of 1 MiB each way per worker, in a `memfd` both
    /// processes map, with futex doorbells. `false` keeps every frame on
    /// the worker's socket (the transport of earlier versions, and the
    /// fallback of a worker that cannot map its rings). Either way the
    /// socket carries the handshake and tells each side of the other's
    /// death.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use concur_core::TaskExecutor;
    ///
    /// concur_ipc::remote! {
    ///     fn double(x: u64) -> u64 { 2 * x }
    /// }
    ///
    /// concur_process::init();
    /// let pool = concur_process::ProcessPool::builder()
    ///     .max_workers(1)
    ///     .shared_memory(false)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.submit_task(double, 21).unwrap().into_result().unwrap(), 42);
    /// ```
    pub fn shared_memory(mut self, on: bool) -> Self {
        self.shared_memory = on;
        self
    }

    /// Per-task time limit: a task running longer has its worker killed
    /// (and replaced) and its future fails with a timeout error.
    /// `Duration::MAX` means no limit (the default); `Duration::ZERO` is
    /// refused at [`build`](Self::build) (a task cannot finish in no time).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().task_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = (timeout != Duration::MAX).then_some(timeout);
        self
    }

    /// How long a new worker may take to complete the handshake and its
    /// initializer (default 10 s). A worker that does not is killed; if no
    /// worker ever started, the pool reports that the workers were probably
    /// not diverted (no worker guard ran: see [`init`](crate::init)), otherwise it starts another one. `Duration::MAX` means no
    /// limit; `Duration::ZERO` is refused at [`build`](Self::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().start_timeout(std::time::Duration::from_secs(30));
    /// # drop(b);
    /// ```
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = (timeout != Duration::MAX).then_some(timeout);
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
    /// assert_eq!(err.to_string(), "max_tasks_per_child must be at least 1");
    /// ```
    pub fn build(self) -> Result<ProcessPool, BuildError> {
        // Keeps the pre-`main` hook linked into every binary that builds a
        // pool (see `hook`).
        crate::hook::keep();
        refuse_in_worker()?;
        let workers = match self.max_workers {
            Some(0) => return Err(BuildError::config("max_workers must be at least 1")),
            Some(n) => n,
            None => default_max_workers(),
        };
        if self.name.as_deref() == Some("") {
            return Err(BuildError::config("name must not be empty"));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(BuildError::config("max_tasks_per_child must be at least 1"));
        }
        if self.max_frame < 64 || u32::try_from(self.max_frame).is_err() {
            return Err(BuildError::config(
                "max_frame must be between 64 bytes and 4 GiB",
            ));
        }
        if self.task_timeout == Some(Duration::ZERO) {
            return Err(BuildError::config(
                "task_timeout must be greater than zero (use Duration::MAX, or leave it unset, \
                 for no limit)",
            ));
        }
        if self.start_timeout == Some(Duration::ZERO) {
            return Err(BuildError::config(
                "start_timeout must be greater than zero (use Duration::MAX for no limit)",
            ));
        }
        if let Err(e) = concur_ipc::Registry::global().check() {
            // Two declarations share a name and fingerprint: refuse to
            // start rather than let a call pick one of them.
            return Err(BuildError {
                kind: BuildErrorKind::Registry(e),
            });
        }
        let init_frame = self.init_frame()?;
        ProcessPool::start(Config {
            workers,
            name: self.name.unwrap_or_else(default_name),
            start_method: self.start_method,
            initializer: self.initializer.as_ref().map(|i| i.name),
            max_tasks_per_child: self.max_tasks_per_child,
            max_frame: self.max_frame,
            shared_memory: self.shared_memory,
            task_timeout: self.task_timeout,
            start_timeout: self.start_timeout,
            init_frame,
        })
    }
}

// The pool's constructors live beside its builder: `pool.rs` never names
// the builder, it starts from a checked `Config`.
impl ProcessPool {
    /// A [`Builder`] with the defaults (the same as [`Builder::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_process::ProcessPool::builder().max_workers(2);
    /// # drop(b);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A pool of `max_workers` worker processes, other settings default:
    /// CPython's `ProcessPoolExecutor(max_workers)`, and the same as
    /// `ProcessPool::builder().max_workers(max_workers).build()`.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]; `max_workers` 0 is refused with
    /// "max_workers must be at least 1".
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::TaskExecutor;
    /// concur_ipc::remote! {
    ///     fn double(x: u32) -> u32 { 2 * x }
    /// }
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     let pool = concur_process::ProcessPool::new(2)?;
    ///     assert_eq!(pool.submit_task(double, 21)?.into_result()?, 42);
    ///     Ok(())
    /// }
    /// ```
    pub fn new(max_workers: usize) -> Result<Self, BuildError> {
        Self::builder().max_workers(max_workers).build()
    }

    /// A pool of [`default_max_workers`](crate::default_max_workers)
    /// worker processes (the CPU count), other settings default: CPython's
    /// `ProcessPoolExecutor()`.
    ///
    /// There is no `Default` for `ProcessPool`: building one starts
    /// processes, which can fail (descriptor or process limits, workers that
    /// no guard diverted (see [`init`](crate::init)), a call from inside a
    /// worker), and `Default` cannot report an error. The thread pool,
    /// which starts nothing until used, has both `ThreadPool::default()`
    /// and a `with_default_workers()` of this shape.
    ///
    /// # Errors
    ///
    /// As [`Builder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), concur_process::BuildError> {
    ///     let pool = concur_process::ProcessPool::with_default_workers()?;
    ///     assert_eq!(pool.max_workers(), concur_process::default_max_workers());
    ///     Ok(())
    /// }
    /// ```
    pub fn with_default_workers() -> Result<Self, BuildError> {
        Self::builder().build()
    }
}

/// The default number of workers: [`std::thread::available_parallelism`]
/// (the CPUs this process may run on; 1 if unknown), as CPython's
/// `ProcessPoolExecutor()` uses `os.process_cpu_count()`.
///
/// # Examples
///
/// ```
/// assert!(concur_process::default_max_workers() >= 1);
/// ```
#[must_use]
pub fn default_max_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Refuses a pool (or the zygote) in a pool worker, or in a copy of the
/// program that no guard diverted (which tells its pool).
pub(crate) fn refuse_in_worker() -> Result<(), BuildError> {
    if crate::is_worker_process() {
        let kind = if crate::guard::diverted() {
            BuildErrorKind::InWorker
        } else {
            crate::guard::report_missing_init();
            BuildErrorKind::Undiverted
        };
        return Err(BuildError { kind });
    }
    Ok(())
}
