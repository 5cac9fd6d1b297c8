//! The lifecycle every executor shares: [`Shutdown`] and its
//! [`ShutdownOptions`] (CPython's `shutdown(wait=True, *, cancel_futures=False)`).

/// How [`Shutdown::shutdown_with`] stops an executor: CPython's two
/// keyword arguments, named at the call site.
///
/// The default is CPython's: `wait = true` (block until queued and running
/// work is done and the workers are gone) and `cancel_futures = false`
/// (queued work still runs).
///
/// # Examples
///
/// ```
/// use concur_core::ShutdownOptions;
///
/// let how = ShutdownOptions::new().wait(false).cancel_futures(true);
/// assert!(!how.waits());
/// assert!(how.cancels_futures());
/// assert_eq!(ShutdownOptions::default(), ShutdownOptions::new());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShutdownOptions {
    wait: bool,
    cancel_futures: bool,
}

impl ShutdownOptions {
    /// CPython's defaults: wait, do not cancel queued work.
    ///
    /// # Examples
    ///
    /// ```
    /// let how = concur_core::ShutdownOptions::new();
    /// assert!(how.waits() && !how.cancels_futures());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            wait: true,
            cancel_futures: false,
        }
    }

    /// Whether `shutdown_with` blocks until every worker is gone
    /// (CPython's `wait`). With `false` it returns at once; the work still
    /// finishes in the background.
    ///
    /// # Examples
    ///
    /// ```
    /// let how = concur_core::ShutdownOptions::new().wait(false);
    /// assert!(!how.waits());
    /// ```
    #[must_use]
    pub const fn wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// Whether queued work that has not started is cancelled (its futures
    /// end [`Cancelled`](crate::ErrorKind::Cancelled)); running work always
    /// finishes (CPython's `cancel_futures`).
    ///
    /// # Examples
    ///
    /// ```
    /// let how = concur_core::ShutdownOptions::new().cancel_futures(true);
    /// assert!(how.cancels_futures());
    /// ```
    #[must_use]
    pub const fn cancel_futures(mut self, cancel: bool) -> Self {
        self.cancel_futures = cancel;
        self
    }

    /// The `wait` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::ShutdownOptions::new().waits());
    /// ```
    #[must_use]
    pub const fn waits(&self) -> bool {
        self.wait
    }

    /// The `cancel_futures` setting.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_core::ShutdownOptions::new().cancels_futures());
    /// ```
    #[must_use]
    pub const fn cancels_futures(&self) -> bool {
        self.cancel_futures
    }
}

impl Default for ShutdownOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// The lifecycle of an executor, shared by [`Executor`](crate::Executor)
/// and [`TaskExecutor`](crate::TaskExecutor) (both require it), so code
/// generic over either can stop the executor it was given.
///
/// After a shutdown every submission fails with
/// [`Shutdown`](crate::ErrorKind::Shutdown); calling it again is harmless.
///
/// # Examples
///
/// ```
/// use concur_core::{Executor, Job, Shutdown, ShutdownOptions, SubmitError};
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// #[derive(Default)]
/// struct SpawnEach {
///     closed: AtomicBool,
/// }
/// impl Executor for SpawnEach {
///     fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
///         if self.is_shutdown() {
///             return Err(SubmitError::new(job, concur_core::Error::shutdown()));
///         }
///         std::thread::spawn(move || job.run());
///         Ok(())
///     }
/// }
/// impl Shutdown for SpawnEach {
///     fn shutdown_with(&self, _how: ShutdownOptions) {
///         self.closed.store(true, Ordering::SeqCst);
///     }
///     fn is_shutdown(&self) -> bool {
///         self.closed.load(Ordering::SeqCst)
///     }
/// }
///
/// // Generic code can stop whatever executor it was handed.
/// fn run_once<E: Executor>(ex: &E) -> u32 {
///     let v = ex.submit(|| 7).unwrap().into_result().unwrap();
///     ex.shutdown();
///     v
/// }
/// let ex = SpawnEach::default();
/// assert_eq!(run_once(&ex), 7);
/// assert!(ex.is_shutdown());
/// assert!(ex.submit(|| 1).is_err());
/// ```
pub trait Shutdown: Send + Sync {
    /// Stops accepting work, as `how` says (see [`ShutdownOptions`]).
    ///
    /// # Examples
    ///
    /// See the [trait docs](Shutdown).
    fn shutdown_with(&self, how: ShutdownOptions);

    /// Whether [`shutdown_with`](Self::shutdown_with) (or
    /// [`shutdown`](Self::shutdown)) was called.
    ///
    /// # Examples
    ///
    /// See the [trait docs](Shutdown).
    fn is_shutdown(&self) -> bool;

    /// CPython's `shutdown()`: waits for queued and running work, cancels
    /// nothing. The same as `shutdown_with(ShutdownOptions::new())`.
    ///
    /// # Examples
    ///
    /// See the [trait docs](Shutdown).
    fn shutdown(&self) {
        self.shutdown_with(ShutdownOptions::new());
    }
}

impl<E: Shutdown + ?Sized> Shutdown for &E {
    fn shutdown_with(&self, how: ShutdownOptions) {
        (**self).shutdown_with(how);
    }
    fn is_shutdown(&self) -> bool {
        (**self).is_shutdown()
    }
}

impl<E: Shutdown + ?Sized> Shutdown for std::sync::Arc<E> {
    fn shutdown_with(&self, how: ShutdownOptions) {
        (**self).shutdown_with(how);
    }
    fn is_shutdown(&self) -> bool {
        (**self).is_shutdown()
    }
}

impl<E: Shutdown + ?Sized> Shutdown for Box<E> {
    fn shutdown_with(&self, how: ShutdownOptions) {
        (**self).shutdown_with(how);
    }
    fn is_shutdown(&self) -> bool {
        (**self).is_shutdown()
    }
}
