//! [`Job`]: a unit of work an executor runs — a task of any kind bound to
//! the promise of its future. The kinds are in [`kinds`], how a `Job` holds
//! one without knowing it (vtable, inline storage) in [`vtable`].

mod kinds;
mod vtable;

use self::kinds::{BatchJob, PayloadJob, ScopedJob, call_each_item};
use self::vtable::{RawJob, RunJob};
use crate::chunk::ChunkOutcome;
use crate::error::{BoxError, Error};
use crate::future::{Future, Promise};
use crate::remote_fn::RemoteFn;
use std::fmt;

/// A unit of work an executor runs: a task bound to the promise of its
/// future. Executors only move jobs around and call [`run`](Self::run),
/// [`cancel`](Self::cancel) or [`fail`](Self::fail); panics, task errors and
/// cancellation are handled inside.
///
/// Dropping a job unrun fails its future as
/// [`Abandoned`](crate::ErrorKind::Abandoned).
///
/// # Examples
///
/// ```
/// let (job, fut) = concur_core::Job::new(|| 6 * 7);
/// std::thread::spawn(move || job.run());
/// assert_eq!(*fut.result().unwrap(), 42);
/// ```
#[must_use = "a job does nothing unless run"]
pub struct Job {
    /// The job, of whichever kind, inline when it fits (no allocation:
    /// submitting a small closure costs one allocation, the future's).
    raw: RawJob,
}

impl Job {
    fn from_run<J: RunJob>(job: J) -> Self {
        Self {
            raw: RawJob::new(job),
        }
    }

    pub(crate) fn with_payload<P: Send + 'static, T: Send + 'static>(
        payload: P,
        call: fn(P) -> Result<T, Error>,
    ) -> (Self, Future<T>) {
        let (promise, fut) = Promise::new();
        let job = Self::from_run(PayloadJob {
            payload,
            call,
            promise,
        });
        (job, fut)
    }

    /// A job running `f`; its value fills the future, a panic fails it with
    /// [`Panicked`](crate::ErrorKind::Panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new(|| -> u8 { panic!("oops") });
    /// job.run();
    /// assert_eq!(fut.result().unwrap_err().panic_message(), Some("oops"));
    /// ```
    pub fn new<F, R>(f: F) -> (Self, Future<R>)
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        Self::with_payload(f, |f| Ok(f()))
    }

    /// A job running a fallible `f`: `Ok(v)` fills the future with `v`,
    /// `Err(e)` fails it with `e` (kind [`Task`](crate::ErrorKind::Task)).
    ///
    /// `E` is anything that converts into a [`BoxError`], as `?` would: a
    /// concrete `std::error::Error` (downcastable back with
    /// [`Error::downcast_ref`]), a `String` or `&str` (its text is the
    /// message), a `BoxError` (downcastable to what it boxes), or an
    /// `anyhow::Error` (its text and `source()` chain are kept, but not its
    /// inner type: anyhow's own conversion into a `Box<dyn Error>` hides it).
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new_fallible(|| "x".parse::<u8>());
    /// job.run();
    /// let err = fut.result().unwrap_err();
    /// assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
    ///
    /// let (job, fut) = concur_core::Job::new_fallible(|| -> Result<u8, String> { Err("no".into()) });
    /// job.run();
    /// assert_eq!(fut.result().unwrap_err().message(), "no");
    /// ```
    pub fn new_fallible<F, T, E>(f: F) -> (Self, Future<T>)
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Into<BoxError>,
    {
        Self::with_payload(f, |f| f().map_err(Error::task))
    }

    /// A job whose closure may borrow data living for `'scope`.
    ///
    /// # Safety
    ///
    /// The caller must ensure the job is run or dropped before `'scope`
    /// ends (as a scoped executor does by waiting for every job it accepted
    /// before its scope returns). The job and its future are `'static` in
    /// type only.
    ///
    /// # Examples
    ///
    /// ```
    /// let data = vec![1, 2, 3];
    /// // SAFETY: the job runs before `data` goes out of scope.
    /// let (job, fut) = unsafe { concur_core::Job::new_scoped(|| data.iter().sum::<i32>()) };
    /// job.run();
    /// assert_eq!(*fut.result().unwrap(), 6);
    /// ```
    pub unsafe fn new_scoped<'scope, F, R>(f: F) -> (Self, Future<R>)
    where
        F: FnOnce() -> R + Send + 'scope,
        R: Send + 'static,
    {
        let (promise, fut) = Promise::new();
        // The job's type is not `'static`, but `Job` erases it: the caller
        // guarantees the job is consumed (run or dropped) before `'scope`
        // ends, and nothing of it outlives that.
        (Self::from_run(ScopedJob { f, promise }), fut)
    }

    /// One job running `f` on every argument set in `batch`, in order, with
    /// one future per item (what [`TaskExecutor::submit_batch`](crate::TaskExecutor::submit_batch) submits).
    /// Crate-private: executors receive it through `execute` and only run,
    /// cancel or fail it.
    pub(crate) fn batch<F: RemoteFn>(_f: F, batch: Vec<F::Args>) -> (Self, Vec<Future<F::Output>>) {
        let mut futs = Vec::with_capacity(batch.len());
        let items = batch
            .into_iter()
            .map(|a| {
                let (p, f) = Promise::new();
                futs.push(f);
                (a, p)
            })
            .collect();
        (Self::from_run(BatchJob::<F> { items }), futs)
    }

    /// One job running `f` on every argument set in `batch`, in order, with
    /// one future holding every item's outcome as a [`ChunkOutcome`] (what
    /// [`TaskExecutor::submit_chunk`](crate::TaskExecutor::submit_chunk) submits). A panic or error fails its
    /// item only; cancelling the future cancels the whole chunk.
    /// Crate-private, as [`batch`](Self::batch).
    pub(crate) fn chunk<F: RemoteFn>(
        _f: F,
        batch: Vec<F::Args>,
    ) -> (Self, Future<ChunkOutcome<F::Output>>) {
        Self::with_payload(batch, call_each_item::<F>)
    }

    /// Runs the task (unless its future was cancelled) and completes the
    /// future. Never panics: a panicking task fails its future.
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new(|| ());
    /// job.run();
    /// assert!(fut.done());
    /// ```
    pub fn run(self) {
        self.raw.run(&mut |_| {});
    }

    /// Like [`run`](Self::run), calling `before_complete` once after the
    /// task ran (or was found cancelled) and just before its future (for a
    /// batch: the last future) is completed, with how the run ended. An
    /// executor uses it to record that the worker is free before a waiter
    /// can observe the result (so a submission made right after `result()`
    /// returns finds the worker idle), and to count outcomes.
    /// `before_complete` must not panic or block.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Job, RunOutcome};
    ///
    /// let (job, fut) = Job::new(|| 5);
    /// let probe = fut.clone();
    /// let mut seen = None;
    /// job.run_then(|outcome| {
    ///     assert!(!probe.done());
    ///     seen = Some(outcome);
    /// });
    /// assert_eq!(seen, Some(RunOutcome::Completed));
    /// assert_eq!(*fut.result().unwrap(), 5);
    ///
    /// let (job, _fut) = Job::new(|| -> u8 { panic!("boom") });
    /// job.run_then(|outcome| assert_eq!(outcome, RunOutcome::Failed));
    /// ```
    pub fn run_then(self, before_complete: impl FnOnce(RunOutcome)) {
        let mut once = Some(before_complete);
        let mut hook = |outcome| {
            if let Some(f) = once.take() {
                f(outcome);
            }
        };
        self.raw.run(&mut hook);
    }

    /// Cancels the job's future(s) without running it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new(|| ());
    /// job.cancel();
    /// assert!(fut.cancelled());
    /// ```
    pub fn cancel(self) {
        self.raw.cancel();
    }

    /// Fails the job's future(s) with `error` without running it (for
    /// example [`Error::broken`] when the executor broke).
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new(|| ());
    /// job.fail(concur_core::Error::shutdown());
    /// assert!(fut.result().is_err());
    /// ```
    pub fn fail(self, error: Error) {
        self.raw.fail(error);
    }

    /// The payload of a job an executor refused and gave back, made by
    /// [`with_payload`](Self::with_payload) with these types.
    ///
    /// # Panics
    ///
    /// If the executor gave back another job (it breaks its contract).
    pub(crate) fn given_back_payload<P: 'static, T: Send + 'static>(self) -> P {
        self.raw
            .into_any()
            .and_then(|any| any.downcast::<PayloadJob<P, T>>().ok())
            .map(|job| job.payload)
            .expect(GIVE_BACK)
    }

    /// The argument sets of a [`batch`](Self::batch) job an executor
    /// refused and gave back.
    ///
    /// # Panics
    ///
    /// If the executor gave back another job (it breaks its contract).
    pub(crate) fn given_back_batch<F: RemoteFn>(self) -> Vec<F::Args> {
        self.raw
            .into_any()
            .and_then(|any| any.downcast::<BatchJob<F>>().ok())
            .map(|job| job.items.into_iter().map(|(a, _)| a).collect())
            .expect(GIVE_BACK)
    }
}

/// How a [`Job`]'s run ended, as [`Job::run_then`] reports it.
///
/// # Examples
///
/// ```
/// use concur_core::{Job, RunOutcome};
///
/// let (job, fut) = Job::new(|| ());
/// assert!(fut.cancel());
/// job.run_then(|outcome| assert_eq!(outcome, RunOutcome::Cancelled));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunOutcome {
    /// Its future holds a value (for a batch: every future that was not
    /// cancelled does).
    Completed,
    /// Its future holds an error: the task panicked or returned one (for a
    /// batch: some item did).
    Failed,
    /// Its future was cancelled before it ran (for a batch: every one was).
    Cancelled,
}

/// Why a refused job must be the one the executor was given.
const GIVE_BACK: &str = "executors must give back the job they were given";

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[derive(Clone, Copy)]
    struct Halve;
    impl RemoteFn for Halve {
        type Args = u32;
        type Output = u32;
        const NAME: &'static str = "tests::halve";
        const FINGERPRINT: u64 = 0x4a1f;
        fn call(x: u32) -> Result<u32, BoxError> {
            match x {
                13 => panic!("unlucky {x}"),
                x if x % 2 == 1 => Err(format!("{x} is odd").into()),
                x => Ok(x / 2),
            }
        }
    }

    #[test]
    fn chunk_jobs_run_cancel_and_fail_as_a_whole() {
        let (job, fut) = Job::chunk(Halve, vec![2, 3, 13, 8]);
        job.run();
        let kinds: Vec<_> = fut
            .into_result()
            .unwrap()
            .into_iter()
            .map(|r| r.map_err(|e| e.kind()))
            .collect();
        assert_eq!(
            kinds,
            [Ok(1), Err(ErrorKind::Task), Err(ErrorKind::Panicked), Ok(4)]
        );
        // Cancelled before it ran: the whole chunk is cancelled, nothing runs.
        let (job, fut) = Job::chunk(Halve, vec![13, 2]);
        assert!(fut.cancel());
        job.run();
        assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Cancelled);
        // A job failed by its executor fails the chunk's future.
        let (job, fut) = Job::chunk(Halve, vec![2]);
        job.fail(Error::shutdown());
        assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Shutdown);
    }

    #[test]
    fn batch_jobs_cancel_and_fail_every_item() {
        let (job, futs) = Job::batch(Halve, vec![2, 4]);
        job.cancel();
        assert!(futs.iter().all(Future::cancelled));
        let (job, futs) = Job::batch(Halve, vec![2, 4]);
        job.fail(Error::shutdown());
        assert!(
            futs.iter()
                .all(|f| f.result().unwrap_err().kind() == ErrorKind::Shutdown)
        );
        let (job, futs) = Job::batch(Halve, vec![2, 4, 6]);
        assert!(futs[1].cancel());
        job.run();
        assert_eq!(*futs[0].result().unwrap(), 1);
        assert!(futs[1].cancelled());
        assert_eq!(*futs[2].result().unwrap(), 3);
        let (job, futs) = Job::batch(Halve, Vec::new());
        job.run();
        assert!(futs.is_empty());
    }

    #[test]
    fn run_then_reports_how_a_batch_ended() {
        let outcome_of = |job: Job| {
            let mut seen = None;
            job.run_then(|o| seen = Some(o));
            seen.expect("called once")
        };
        // 3 is odd: Halve fails on it.
        let (job, _futs) = Job::batch(Halve, vec![2, 3, 4]);
        assert_eq!(outcome_of(job), RunOutcome::Failed);
        let (job, futs) = Job::batch(Halve, vec![2, 4]);
        assert!(futs.iter().all(Future::cancel));
        assert_eq!(outcome_of(job), RunOutcome::Cancelled);
        let (job, futs) = Job::batch(Halve, vec![2, 4]);
        assert!(futs[0].cancel());
        assert_eq!(outcome_of(job), RunOutcome::Completed);
        let (job, _futs) = Job::batch(Halve, Vec::new());
        assert_eq!(outcome_of(job), RunOutcome::Completed);
        // A chunk's item failures stay in its outcome: the chunk completed.
        let (job, _fut) = Job::chunk(Halve, vec![3]);
        assert_eq!(outcome_of(job), RunOutcome::Completed);
    }
}
