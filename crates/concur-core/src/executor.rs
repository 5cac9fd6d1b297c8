//! [`Executor`]: the contract of an executor of in-process closures
//! (CPython's `Executor`), and its impls for references and smart pointers.

use crate::error::{BoxError, SubmitError};
use crate::future::Future;
use crate::job::Job;

/// An executor of in-process closures: CPython's `Executor`.
///
/// Implementors provide [`execute`](Self::execute) and
/// [`Shutdown`](crate::Shutdown); [`submit`](Self::submit) and
/// [`submit_fallible`](Self::submit_fallible) are built on them. Every
/// `Executor` is also a [`TaskExecutor`](crate::TaskExecutor).
///
/// # Examples
///
/// A (deliberately simple) executor that runs each job on a new thread:
///
/// ```
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
/// let fut = SpawnEach.submit(|| 2 + 2).unwrap();
/// assert_eq!(fut.into_result().unwrap(), 4);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run closures: it is not an `Executor`",
    label = "not an `Executor`",
    note = "a `ProcessPool` runs only named functions: declare them with `concur::remote!` and use `submit_task` / `map_task` (`TaskExecutor`); closures need a `ThreadPool`"
)]
pub trait Executor: crate::Shutdown + Send + Sync {
    /// Queues `job` to run.
    ///
    /// # Errors
    ///
    /// Gives the same job back, with [`Error::shutdown`](crate::Error::shutdown) or
    /// [`Error::broken`](crate::Error::broken), if the executor can no longer accept work. It must
    /// be the very job it was given: the provided methods unwrap the task
    /// from it.
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>>;

    /// Schedules `f` and returns the future of its value. A panic in `f`
    /// fails the future; it never reaches the caller or kills a worker.
    ///
    /// # Errors
    ///
    /// The closure is given back if the executor is shut down or broken.
    ///
    /// # Panics
    ///
    /// If `execute` refuses with a job other than the one it was given (a
    /// bug in the executor, which breaks its contract).
    fn submit<F, R>(&self, f: F) -> Result<Future<R>, SubmitError<F>>
    where
        Self: Sized,
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let (job, fut) = Job::new(f);
        match self.execute(job) {
            Ok(()) => Ok(fut),
            Err(e) => Err(e.map_task(Job::given_back_payload::<F, R>)),
        }
    }

    /// Schedules a fallible `f`: its `Err(e)` fails the future with `e`
    /// (kind [`Task`](crate::ErrorKind::Task)), so `result()` fails with it
    /// instead of returning a nested `Result`.
    ///
    /// `E` is anything `?` converts into a [`BoxError`]: a concrete
    /// `std::error::Error` (`io::Error`, `ParseIntError`, … — downcastable
    /// back with [`Error::downcast_ref`](crate::Error::downcast_ref)), `String`, `&'static str`,
    /// `BoxError`, or `anyhow::Error` (see [`Job::new_fallible`]).
    ///
    /// # Examples
    ///
    /// ```
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
    /// let parsed = SpawnEach.submit_fallible(|| "12".parse::<u32>()).unwrap();
    /// assert_eq!(parsed.into_result().unwrap(), 12);
    ///
    /// let refused = SpawnEach
    ///     .submit_fallible(|| -> Result<u32, String> { Err("no such user".into()) })
    ///     .unwrap();
    /// assert_eq!(refused.into_result().unwrap_err().to_string(), "task failed: no such user");
    /// ```
    ///
    /// # Errors
    ///
    /// The closure is given back if the executor is shut down or broken.
    ///
    /// # Panics
    ///
    /// If `execute` refuses with a job other than the one it was given (a
    /// bug in the executor, which breaks its contract).
    fn submit_fallible<F, T, E>(&self, f: F) -> Result<Future<T>, SubmitError<F>>
    where
        Self: Sized,
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<BoxError>,
    {
        let (job, fut) = Job::new_fallible(f);
        match self.execute(job) {
            Ok(()) => Ok(fut),
            Err(e) => Err(e.map_task(Job::given_back_payload::<F, T>)),
        }
    }
}

impl<E: Executor + ?Sized> Executor for &E {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        (**self).execute(job)
    }
}

impl<E: Executor + ?Sized> Executor for std::sync::Arc<E> {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        (**self).execute(job)
    }
}

impl<E: Executor + ?Sized> Executor for Box<E> {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        (**self).execute(job)
    }
}
