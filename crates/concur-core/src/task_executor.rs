//! [`TaskExecutor`]: the contract of an executor of named [`RemoteFn`]s,
//! which every executor implements (every [`Executor`] by calling the
//! function in-process), and what its batch submissions return
//! ([`BatchResult`], [`ChunkResult`]).

use crate::chunk::ChunkOutcome;
use crate::error::{Error, SubmitError};
use crate::executor::Executor;
use crate::future::Future;
use crate::job::Job;
use crate::remote_fn::RemoteFn;

/// What [`TaskExecutor::submit_batch`] returns: one future per item, or the
/// whole batch given back.
///
/// # Examples
///
/// ```
/// use concur_core::{BatchResult, BoxError, RemoteFn};
///
/// // What `remote!` generates, written out (concur-core has no macro).
/// #[derive(Clone, Copy)]
/// struct Double;
/// impl RemoteFn for Double {
///     type Args = u32;
///     type Output = u32;
///     const NAME: &'static str = "example::double";
///     const FINGERPRINT: u64 = 1;
///     fn call(x: u32) -> Result<u32, BoxError> {
///         Ok(x * 2)
///     }
/// }
///
/// fn count<F: RemoteFn>(r: BatchResult<F>) -> usize {
///     r.map_or_else(|refused| refused.into_task().len(), |futs| futs.len())
/// }
/// let refused = concur_core::SubmitError::new(vec![1, 2], concur_core::Error::shutdown());
/// assert_eq!(count::<Double>(Err(refused)), 2);
/// assert_eq!(count::<Double>(Ok(vec![concur_core::Future::ready(2)])), 1);
/// ```
pub type BatchResult<F> =
    Result<Vec<Future<<F as RemoteFn>::Output>>, SubmitError<Vec<<F as RemoteFn>::Args>>>;

/// What [`TaskExecutor::submit_chunk`] returns: one future holding every
/// item's outcome (a [`ChunkOutcome`]), or the whole batch given back.
///
/// # Examples
///
/// ```
/// use concur_core::{BoxError, ChunkOutcome, ChunkResult, Future, RemoteFn};
///
/// // What `remote!` generates, written out (concur-core has no macro).
/// #[derive(Clone, Copy)]
/// struct Double;
/// impl RemoteFn for Double {
///     type Args = u32;
///     type Output = u32;
///     const NAME: &'static str = "example::double";
///     const FINGERPRINT: u64 = 1;
///     fn call(x: u32) -> Result<u32, BoxError> {
///         Ok(x * 2)
///     }
/// }
///
/// fn outcomes<F: RemoteFn>(r: ChunkResult<F>) -> usize {
///     match r {
///         Ok(fut) => fut.into_result().map_or(0, |items| items.len()),
///         Err(refused) => refused.into_task().len(),
///     }
/// }
/// let done = Future::ready(ChunkOutcome::from_values(vec![2, 4, 6]));
/// assert_eq!(outcomes::<Double>(Ok(done)), 3);
/// ```
pub type ChunkResult<F> =
    Result<Future<ChunkOutcome<<F as RemoteFn>::Output>>, SubmitError<Vec<<F as RemoteFn>::Args>>>;

/// An executor of named [`RemoteFn`]s: the form shared by thread, process
/// and cluster executors, so code switches executor by changing one line.
///
/// Every [`Executor`] implements it by calling the function in-process.
///
/// # Examples
///
/// ```
/// use concur_core::{BoxError, Executor, Job, RemoteFn, SubmitError, TaskExecutor};
///
/// #[derive(Clone, Copy)]
/// struct Inc;
/// impl RemoteFn for Inc {
///     type Args = u8;
///     type Output = u8;
///     const NAME: &'static str = "inc";
///     const FINGERPRINT: u64 = 7;
///     fn call(x: u8) -> Result<u8, BoxError> { x.checked_add(1).ok_or_else(|| "overflow".into()) }
/// }
///
/// struct Inline;
/// impl Executor for Inline {
///     fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> { job.run(); Ok(()) }
/// }
/// impl concur_core::Shutdown for Inline {
///     fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
///     fn is_shutdown(&self) -> bool {
///         false
///     }
/// }
///
/// assert_eq!(Inline.submit_task(Inc, 1).unwrap().into_result().unwrap(), 2);
/// assert!(Inline.submit_task(Inc, 255).unwrap().into_result().is_err());
/// ```
pub trait TaskExecutor: crate::Shutdown + Send + Sync {
    /// Schedules `f(args)`.
    ///
    /// # Errors
    ///
    /// The arguments are given back if the executor is shut down or broken.
    ///
    /// # Panics
    ///
    /// In the blanket impl for every [`Executor`]: if `execute` refuses
    /// with a job other than the one it was given (a contract bug).
    fn submit_task<F: RemoteFn>(
        &self,
        f: F,
        args: F::Args,
    ) -> Result<Future<F::Output>, SubmitError<F::Args>>;

    /// Schedules `f` over every argument set in `batch` as one unit of work
    /// (one frame for a process executor), with one future per item.
    ///
    /// # Errors
    ///
    /// The whole batch is given back if the executor is shut down or broken.
    ///
    /// # Panics
    ///
    /// In the blanket impl for every [`Executor`]: if `execute` refuses
    /// with a job other than the one it was given (a contract bug).
    fn submit_batch<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> BatchResult<F>;

    /// Schedules `f` over every argument set in `batch` as one unit of work,
    /// like [`submit_batch`](Self::submit_batch), but with one future for
    /// the whole batch that holds each item's outcome in input order (a
    /// [`ChunkOutcome`]): one allocation per batch instead of one per item,
    /// which is what
    /// `map_task(..).chunksize(n)` uses. An item's panic or error fails
    /// that item only; the future itself fails only if the batch as a
    /// whole does (cancelled, worker died, executor broken).
    ///
    /// # Errors
    ///
    /// The whole batch is given back if the executor is shut down or broken.
    ///
    /// # Panics
    ///
    /// In the blanket impl for every [`Executor`]: if `execute` refuses
    /// with a job other than the one it was given (a contract bug).
    fn submit_chunk<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> ChunkResult<F>;
}

impl<E: Executor + ?Sized> TaskExecutor for E {
    fn submit_task<F: RemoteFn>(
        &self,
        _f: F,
        args: F::Args,
    ) -> Result<Future<F::Output>, SubmitError<F::Args>> {
        let (job, fut) = Job::with_payload(args, |a| F::call(a).map_err(Error::task));
        match self.execute(job) {
            Ok(()) => Ok(fut),
            Err(e) => Err(e.map_task(Job::given_back_payload::<F::Args, F::Output>)),
        }
    }

    fn submit_batch<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> BatchResult<F> {
        let (job, futs) = Job::batch(f, batch);
        match self.execute(job) {
            Ok(()) => Ok(futs),
            Err(e) => Err(e.map_task(Job::given_back_batch::<F>)),
        }
    }

    fn submit_chunk<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> ChunkResult<F> {
        let (job, fut) = Job::chunk(f, batch);
        match self.execute(job) {
            Ok(()) => Ok(fut),
            Err(e) => {
                Err(e.map_task(Job::given_back_payload::<Vec<F::Args>, ChunkOutcome<F::Output>>))
            }
        }
    }
}
