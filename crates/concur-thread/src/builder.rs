//! [`Builder`] and [`BuildError`]: configuring a [`ThreadPool`], and the
//! pool's constructors (`ThreadPool::builder`, `new`, `with_default_workers`,
//! `default`), which all go through it.

use crate::config::{Config, Initializer};
use crate::pool::ThreadPool;
use concur_core::BoxError;
use std::fmt;
use std::sync::Arc as StdArc;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;

/// Numbers the pools of the process, for the default names
/// (`concur-thread-0`, …) and thread-name prefixes (`concur-pool-0`, …).
static POOL_COUNTER: StdAtomicUsize = StdAtomicUsize::new(0);

/// Configures a [`ThreadPool`]; [`build`](Self::build) validates it.
///
/// Every setting has a default, so `ThreadPool::builder().build()` gives a
/// pool like CPython's `ThreadPoolExecutor()`. A builder is `Clone`: one
/// configuration can build several pools (a cloned initializer is shared,
/// not copied).
///
/// # Examples
///
/// ```
/// use concur_core::Executor;
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::builder()
///     .max_workers(2)
///     .thread_name_prefix("io")
///     .stack_size(256 * 1024)
///     .build()
///     .unwrap();
/// let name = pool.submit(|| std::thread::current().name().map(str::to_owned)).unwrap();
/// assert_eq!(name.into_result().unwrap().as_deref(), Some("io_0"));
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder {
    max_workers: Option<usize>,
    name: Option<String>,
    thread_name_prefix: Option<String>,
    stack_size: Option<usize>,
    initializer: Option<Initializer>,
}

/// Same as [`Builder::new`].
///
/// # Examples
///
/// ```
/// let pool = concur_thread::Builder::default().max_workers(1).build().unwrap();
/// assert_eq!(pool.max_workers(), 1);
/// ```
impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with every setting at its default (the same as
    /// [`ThreadPool::builder`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::Builder::new().build().unwrap();
    /// assert_eq!(pool.max_workers(), concur_thread::default_max_workers());
    /// ```
    pub fn new() -> Self {
        Self {
            max_workers: None,
            name: None,
            thread_name_prefix: None,
            stack_size: None,
            initializer: None,
        }
    }

    /// The most worker threads the pool will ever run at once. Threads start
    /// lazily, one per submission that finds no idle worker, up to this
    /// bound. Default: [`default_max_workers`] (CPython's
    /// `min(32, cpu_count + 4)`); 0 makes [`build`](Self::build) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::builder().max_workers(3).build().unwrap();
    /// assert_eq!(pool.max_workers(), 3);
    /// assert!(concur_thread::ThreadPool::builder().max_workers(0).build().is_err());
    /// ```
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// The pool's name: the `pool` field of its `tracing` events (feature
    /// `tracing`), and [`ThreadPool::name`]. Default: the
    /// [`thread_name_prefix`](Self::thread_name_prefix) if one was set, else
    /// `concur-thread-{k}`, with `k` counting the pools of the process. An
    /// empty name makes [`build`](Self::build) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::builder().name("thumbnails").build().unwrap();
    /// assert_eq!(pool.name(), "thumbnails");
    /// let io = concur_thread::ThreadPool::builder().thread_name_prefix("io").build().unwrap();
    /// assert_eq!(io.name(), "io");
    /// assert!(concur_thread::ThreadPool::new(1).unwrap().name().starts_with("concur-thread-"));
    /// assert!(concur_thread::ThreadPool::builder().name("").build().is_err());
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Names the workers `{prefix}_0`, `{prefix}_1`, … in the order they
    /// start. Default: `concur-pool-{k}`, with `k` counting the pools of
    /// the process. An empty prefix or one containing a NUL byte makes
    /// [`build`](Self::build) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::builder().thread_name_prefix("db").build().unwrap();
    /// assert_eq!(pool.thread_name_prefix(), "db");
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = Some(prefix.into());
        self
    }

    /// The stack size of each worker, in bytes. Default: the standard
    /// library's (2 MiB unless `RUST_MIN_STACK` says otherwise); 0 makes
    /// [`build`](Self::build) fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::builder().stack_size(64 * 1024).build().unwrap();
    /// assert_eq!(pool.submit(|| 1).unwrap().into_result().unwrap(), 1);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// A function every worker runs once when it starts, before any task
    /// (CPython's `initializer`; capture what would be `initargs`).
    ///
    /// If it returns an error or panics, the pool is *broken*: every task
    /// still queued and every later submission fails with
    /// [`ErrorKind::Broken`](concur_core::ErrorKind::Broken), whose source is
    /// the initializer's error (or its panic, as a
    /// [`Panicked`](concur_core::ErrorKind::Panicked) error).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Executor, ErrorKind};
    /// use std::cell::Cell;
    ///
    /// thread_local!(static CONN: Cell<u32> = const { Cell::new(0) });
    ///
    /// let pool = concur_thread::ThreadPool::builder()
    ///     .initializer(|| -> Result<(), std::io::Error> {
    ///         CONN.with(|c| c.set(7));
    ///         Ok(())
    ///     })
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.submit(|| CONN.with(Cell::get)).unwrap().into_result().unwrap(), 7);
    ///
    /// let broken = concur_thread::ThreadPool::builder()
    ///     .initializer(|| Err::<(), _>(std::fmt::Error))
    ///     .build()
    ///     .unwrap();
    /// let err = broken.submit(|| 1).unwrap().into_result().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Broken);
    /// assert!(err.downcast_ref::<std::fmt::Error>().is_some());
    /// ```
    pub fn initializer<F, E>(mut self, init: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        self.initializer = Some(Initializer(StdArc::new(move || init().map_err(Into::into))));
        self
    }

    /// Validates the configuration and creates the pool (no thread starts
    /// until the first submission).
    ///
    /// # Errors
    ///
    /// A [`BuildError`] if `max_workers` or `stack_size` is 0, the name is
    /// empty, or the thread name prefix is empty or contains a NUL byte.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concur_thread::ThreadPool::builder().max_workers(0).build().unwrap_err();
    /// assert_eq!(err.to_string(), "max_workers must be at least 1");
    /// ```
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        let max_workers = match self.max_workers {
            Some(0) => return Err(BuildError(BuildErrorKind::ZeroWorkers)),
            Some(n) => n,
            None => default_max_workers(),
        };
        if self.stack_size == Some(0) {
            return Err(BuildError(BuildErrorKind::ZeroStack));
        }
        if self.name.as_deref() == Some("") {
            return Err(BuildError(BuildErrorKind::EmptyName));
        }
        let prefix = match &self.thread_name_prefix {
            Some(p) if p.is_empty() => return Err(BuildError(BuildErrorKind::EmptyPrefix)),
            Some(p) if p.contains('\0') => return Err(BuildError(BuildErrorKind::NulInPrefix)),
            Some(p) => Some(p.clone()),
            None => None,
        };
        let (name, prefix) = default_names(self.name, prefix);
        Ok(ThreadPool::from_config(Config {
            max_workers,
            name,
            prefix,
            stack_size: self.stack_size,
            initializer: self.initializer,
        }))
    }
}

impl ThreadPool {
    /// A [`Builder`] to configure a pool.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::builder().max_workers(2).build().unwrap();
    /// assert_eq!(pool.max_workers(), 2);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A pool of at most `max_workers` threads, other settings default:
    /// CPython's `ThreadPoolExecutor(max_workers)`, and the same as
    /// `ThreadPool::builder().max_workers(max_workers).build()`.
    ///
    /// # Errors
    ///
    /// A [`BuildError`](crate::BuildError) if `max_workers` is 0
    /// ("max_workers must be at least 1").
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// assert_eq!(pool.submit(|| "hi").unwrap().into_result().unwrap(), "hi");
    /// assert_eq!(
    ///     concur_thread::ThreadPool::new(0).unwrap_err().to_string(),
    ///     "max_workers must be at least 1"
    /// );
    /// ```
    pub fn new(max_workers: usize) -> Result<Self, crate::BuildError> {
        Builder::new().max_workers(max_workers).build()
    }

    /// A pool with every setting at its default, bounded by
    /// [`default_max_workers`](crate::default_max_workers) (CPython's
    /// `ThreadPoolExecutor()`); never fails. It exists, next to
    /// [`ThreadPool::default`], so that code switches between this and
    /// `ProcessPool::with_default_workers()` (which can fail: starting
    /// processes can) by changing one line.
    ///
    /// # Errors
    ///
    /// None: the default configuration is always valid and no thread
    /// starts before the first submission. The `Result` is the process
    /// pool's shape.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::with_default_workers().unwrap();
    /// assert_eq!(pool.max_workers(), concur_thread::default_max_workers());
    /// ```
    pub fn with_default_workers() -> Result<Self, crate::BuildError> {
        Ok(Self::default())
    }
}

/// CPython's `ThreadPoolExecutor()`: at most
/// [`default_max_workers`](crate::default_max_workers) threads
/// (`min(32, cpu_count + 4)`), every other setting at its default. Infallible:
/// the default configuration is always valid and threads start lazily, at
/// the first submission.
///
/// # Examples
///
/// ```
/// use concur_core::Executor;
/// let pool = concur_thread::ThreadPool::default();
/// assert_eq!(pool.max_workers(), concur_thread::default_max_workers());
/// assert_eq!(pool.submit(|| 6 * 7).unwrap().into_result().unwrap(), 42);
/// ```
impl Default for ThreadPool {
    fn default() -> Self {
        Self::from_config(default_config())
    }
}

/// The default configuration, which [`Builder::build`] always accepts:
/// what `ThreadPool::default()` builds without a `Result`.
pub(crate) fn default_config() -> Config {
    let (name, prefix) = default_names(None, None);
    Config {
        max_workers: default_max_workers(),
        name,
        prefix,
        stack_size: None,
        initializer: None,
    }
}

/// The pool's name and thread-name prefix, defaults filled in: the name
/// is the prefix if only that was given, else `concur-thread-{k}`; the
/// prefix `concur-pool-{k}`, `k` counting the pools of the process (drawn
/// only if a default is needed).
fn default_names(name: Option<String>, prefix: Option<String>) -> (String, String) {
    let k = || {
        // ORDERING: a unique number is all that is needed.
        POOL_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
    match (name, prefix) {
        (Some(n), Some(p)) => (n, p),
        (None, Some(p)) => (p.clone(), p),
        (Some(n), None) => (n, format!("concur-pool-{}", k())),
        (None, None) => {
            let k = k();
            (format!("concur-thread-{k}"), format!("concur-pool-{k}"))
        }
    }
}

/// CPython's default worker bound: `min(32, cpu_count + 4)`, where
/// `cpu_count` is [`std::thread::available_parallelism`] (1 if unknown).
///
/// # Examples
///
/// ```
/// let n = concur_thread::default_max_workers();
/// assert!((5..=32).contains(&n));
/// ```
#[must_use]
pub fn default_max_workers() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    32.min(cpus + 4)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildErrorKind {
    ZeroWorkers,
    ZeroStack,
    EmptyName,
    EmptyPrefix,
    NulInPrefix,
}

/// Why [`Builder::build`] refused a configuration.
///
/// # Examples
///
/// ```
/// let err = concur_thread::ThreadPool::builder().stack_size(0).build().unwrap_err();
/// assert_eq!(err.to_string(), "stack_size must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(BuildErrorKind);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            BuildErrorKind::ZeroWorkers => "max_workers must be at least 1",
            BuildErrorKind::ZeroStack => "stack_size must be at least 1",
            BuildErrorKind::EmptyName => "name must not be empty",
            BuildErrorKind::EmptyPrefix => "thread_name_prefix must not be empty",
            BuildErrorKind::NulInPrefix => "thread_name_prefix must not contain a NUL byte",
        })
    }
}

impl std::error::Error for BuildError {}

/// A refused configuration is an [`ErrorKind::InvalidConfig`](concur_core::ErrorKind::InvalidConfig)
/// error with the same text, whose source is the `BuildError`, so `?`
/// works in a function returning `Result<_, concur_core::Error>`.
///
/// # Examples
///
/// ```
/// use concur_thread::{BuildError, ThreadPool};
///
/// fn pool() -> Result<ThreadPool, concur_core::Error> {
///     Ok(ThreadPool::builder().max_workers(0).build()?)
/// }
/// let err = pool().unwrap_err();
/// assert_eq!(err.kind(), concur_core::ErrorKind::InvalidConfig);
/// assert!(err.downcast_ref::<BuildError>().is_some());
/// ```
impl From<BuildError> for concur_core::Error {
    fn from(e: BuildError) -> Self {
        Self::with_source(concur_core::ErrorKind::InvalidConfig, e)
    }
}
