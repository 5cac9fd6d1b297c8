//! The executor contract: [`Job`], [`Executor`] (in-process closures) and
//! [`TaskExecutor`] (named remote functions, which every executor runs).

use crate::chunk::ChunkOutcome;
use crate::error::{BoxError, Error, SubmitError};
use crate::future::{Future, Promise};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::panic::{AssertUnwindSafe, catch_unwind};

trait RunJob: Send + Sized {
    /// Runs the job; calls `before_complete` once, after the task ran (or
    /// was found cancelled) and before the last future is completed.
    fn run(self, before_complete: &mut dyn FnMut());
    fn cancel(self);
    fn fail(self, error: Error);
    fn into_any(self) -> Option<Box<dyn Any + Send>>;
}

/// Room for a job stored inline in [`Job`] (no allocation): a promise, a
/// function pointer and a closure of up to two words fit.
type Slot = MaybeUninit<[usize; 4]>;

/// A job type's operations on a [`Slot`] holding it (inline or as a box).
/// Each one consumes the job: it is called at most once per slot, and the
/// slot is never read again afterwards.
struct VTable {
    run: unsafe fn(*mut Slot, &mut dyn FnMut()),
    cancel: unsafe fn(*mut Slot),
    fail: unsafe fn(*mut Slot, Error),
    into_any: unsafe fn(*mut Slot) -> Option<Box<dyn Any + Send>>,
    drop: unsafe fn(*mut Slot),
}

/// Moves the job out of `slot`: inline if `J` fits, else out of its box.
///
/// # Safety
///
/// `slot` holds a live `J` written by [`Job::from_run`] and is not read again.
unsafe fn take<J: RunJob>(slot: *mut Slot) -> J {
    if fits_inline::<J>() {
        // SAFETY: per the contract `slot` holds a `J` written in place.
        unsafe { slot.cast::<J>().read() }
    } else {
        // SAFETY: per the contract `slot` holds a `Box<J>`.
        *unsafe { slot.cast::<Box<J>>().read() }
    }
}

const fn fits_inline<J>() -> bool {
    size_of::<J>() <= size_of::<Slot>() && align_of::<J>() <= align_of::<Slot>()
}

/// The [`VTable`] of each job type.
trait HasVTable {
    const VTABLE: &'static VTable;
}

impl<J: RunJob> HasVTable for J {
    const VTABLE: &'static VTable = &VTable {
        run: run_slot::<J>,
        cancel: cancel_slot::<J>,
        fail: fail_slot::<J>,
        into_any: into_any_slot::<J>,
        drop: drop_slot::<J>,
    };
}

// The vtable entries. Each has `take`'s safety contract: `Job` calls exactly
// one of them, once, on the slot `from_run` filled with a `J`, and never
// touches the slot again.

unsafe fn run_slot<J: RunJob>(slot: *mut Slot, before_complete: &mut dyn FnMut()) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(slot) }.run(before_complete);
}

unsafe fn cancel_slot<J: RunJob>(slot: *mut Slot) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(slot) }.cancel();
}

unsafe fn fail_slot<J: RunJob>(slot: *mut Slot, error: Error) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(slot) }.fail(error);
}

unsafe fn into_any_slot<J: RunJob>(slot: *mut Slot) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(slot) }.into_any()
}

unsafe fn drop_slot<J: RunJob>(slot: *mut Slot) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    drop(unsafe { take::<J>(slot) });
}

/// Runs `call(payload)` behind `catch_unwind` into `promise`, unless
/// cancelled; `before_complete` runs just before the promise is completed.
fn run_into<P, T: Send + 'static>(
    promise: &Promise<T>,
    payload: P,
    call: impl FnOnce(P) -> Result<T, Error>,
    before_complete: &mut dyn FnMut(),
) {
    if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
        before_complete();
        return;
    }
    let outcome = match catch_unwind(AssertUnwindSafe(move || call(payload))) {
        Ok(o) => o,
        Err(panic) => Err(Error::panicked(panic)),
    };
    before_complete();
    let _ = promise.set_outcome(outcome);
}

/// One payload, one function pointer that runs it, one promise.
struct PayloadJob<P, T: Send + 'static> {
    payload: P,
    call: fn(P) -> Result<T, Error>,
    promise: Promise<T>,
}

impl<P: Send + 'static, T: Send + 'static> RunJob for PayloadJob<P, T> {
    fn run(self, before_complete: &mut dyn FnMut()) {
        run_into(&self.promise, self.payload, self.call, before_complete);
    }
    fn cancel(self) {
        self.promise.cancel();
    }
    fn fail(self, error: Error) {
        let _ = self.promise.set_exception(error);
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(self))
    }
}

/// Many argument sets of one remote function, one promise each, run in order.
struct BatchJob<F: RemoteFn> {
    items: Vec<(F::Args, Promise<F::Output>)>,
}

impl<F: RemoteFn> RunJob for BatchJob<F> {
    fn run(self, before_complete: &mut dyn FnMut()) {
        let last = self.items.len().saturating_sub(1);
        if self.items.is_empty() {
            before_complete();
        }
        for (i, (args, promise)) in self.items.into_iter().enumerate() {
            let call = |a| F::call(a).map_err(Error::task);
            if i == last {
                run_into(&promise, args, call, before_complete);
            } else {
                run_into(&promise, args, call, &mut || {});
            }
        }
    }
    fn cancel(self) {
        for (_, p) in &self.items {
            p.cancel();
        }
    }
    fn fail(self, error: Error) {
        for (_, p) in &self.items {
            let _ = p.set_exception(error.clone());
        }
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(self))
    }
}

/// Runs a [`Job::chunk`]'s items in order: one outcome each, a panic
/// failing only its item.
fn run_chunk<F: RemoteFn>(items: Vec<F::Args>) -> Result<ChunkOutcome<F::Output>, Error> {
    let mut out = ChunkOutcome::with_capacity(items.len());
    for a in items {
        out.push(match catch_unwind(AssertUnwindSafe(|| F::call(a))) {
            Ok(r) => r.map_err(Error::task),
            Err(panic) => Err(Error::panicked(panic)),
        });
    }
    Ok(out)
}

/// A closure that borrows from a scope; see [`Job::new_scoped`].
struct ScopedJob<F, T: Send + 'static> {
    f: F,
    promise: Promise<T>,
}

impl<F: FnOnce() -> T + Send, T: Send + 'static> RunJob for ScopedJob<F, T> {
    fn run(self, before_complete: &mut dyn FnMut()) {
        run_into(&self.promise, self.f, |f| Ok(f()), before_complete);
    }
    fn cancel(self) {
        self.promise.cancel();
    }
    fn fail(self, error: Error) {
        let _ = self.promise.set_exception(error);
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        None
    }
}

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
    /// The operations of the job type stored in `slot`.
    vtable: &'static VTable,
    /// The job itself when it fits (no allocation: submitting a small
    /// closure costs one allocation, the future's), else a `Box` of it.
    slot: Slot,
    /// `Send` but neither `Sync` nor unwind-safe, as a `Box<dyn Any + Send>`.
    _marker: PhantomData<Box<dyn Any + Send>>,
}

impl Job {
    fn from_run<J: RunJob>(job: J) -> Self {
        let mut slot = Slot::uninit();
        if fits_inline::<J>() {
            // SAFETY: `J` fits `Slot` in size and alignment (checked above).
            unsafe { slot.as_mut_ptr().cast::<J>().write(job) };
        } else {
            // SAFETY: a `Box` is one pointer, which `Slot` holds.
            unsafe { slot.as_mut_ptr().cast::<Box<J>>().write(Box::new(job)) };
        }
        Self {
            vtable: J::VTABLE,
            slot,
            _marker: PhantomData,
        }
    }

    /// Hands the slot to one vtable entry; `self` is forgotten, so the job
    /// is consumed exactly once.
    fn consume<R>(self, op: impl FnOnce(&'static VTable, *mut Slot) -> R) -> R {
        let mut this = ManuallyDrop::new(self);
        let vtable = this.vtable;
        op(vtable, &raw mut this.slot)
    }

    fn with_payload<P: Send + 'static, T: Send + 'static>(
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
    /// one future per item (what [`TaskExecutor::submit_batch`] submits).
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
    /// [`TaskExecutor::submit_chunk`] submits). A panic or error fails its
    /// item only; cancelling the future cancels the whole chunk.
    /// Crate-private, as [`batch`](Self::batch).
    pub(crate) fn chunk<F: RemoteFn>(
        _f: F,
        batch: Vec<F::Args>,
    ) -> (Self, Future<ChunkOutcome<F::Output>>) {
        Self::with_payload(batch, run_chunk::<F>)
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
        // SAFETY: `consume` hands over the slot `from_run` filled, once.
        self.consume(|vt, slot| unsafe { (vt.run)(slot, &mut || {}) });
    }

    /// Like [`run`](Self::run), calling `before_complete` once after the
    /// task ran (or was found cancelled) and just before its future (for a
    /// batch: the last future) is completed. An executor uses it to record
    /// that the worker is free before a waiter can observe the result (so a
    /// submission made right after `result()` returns finds the worker
    /// idle). `before_complete` must not panic or block.
    ///
    /// # Examples
    ///
    /// ```
    /// let (job, fut) = concur_core::Job::new(|| 5);
    /// let probe = fut.clone();
    /// let mut called = false;
    /// job.run_then(|| {
    ///     assert!(!probe.done());
    ///     called = true;
    /// });
    /// assert!(called);
    /// assert_eq!(*fut.result().unwrap(), 5);
    /// ```
    pub fn run_then(self, before_complete: impl FnOnce()) {
        let mut once = Some(before_complete);
        let mut hook = || {
            if let Some(f) = once.take() {
                f();
            }
        };
        // SAFETY: `consume` hands over the slot `from_run` filled, once.
        self.consume(|vt, slot| unsafe { (vt.run)(slot, &mut hook) });
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
        // SAFETY: `consume` hands over the slot `from_run` filled, once.
        self.consume(|vt, slot| unsafe { (vt.cancel)(slot) });
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
        // SAFETY: `consume` hands over the slot `from_run` filled, once.
        self.consume(|vt, slot| unsafe { (vt.fail)(slot, error) });
    }

    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        // SAFETY: `consume` hands over the slot `from_run` filled, once.
        self.consume(|vt, slot| unsafe { (vt.into_any)(slot) })
    }

    fn into_payload<P: 'static, T: Send + 'static>(self) -> Option<P> {
        let any = self.into_any()?;
        let job = any.downcast::<PayloadJob<P, T>>().ok()?;
        let PayloadJob { payload, .. } = *job;
        Some(payload)
    }

    fn into_batch<F: RemoteFn>(self) -> Option<Vec<F::Args>> {
        let any = self.into_any()?;
        let job = any.downcast::<BatchJob<F>>().ok()?;
        Some(job.items.into_iter().map(|(a, _)| a).collect())
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: a `Job` that is dropped was not consumed (`consume`
        // forgets it), so its slot still holds the job; it is never read
        // again. Dropping the job drops its promise, failing the future as
        // abandoned.
        unsafe { (self.vtable.drop)(&raw mut self.slot) };
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").finish_non_exhaustive()
    }
}

const GIVE_BACK: &str = "executors must give back the job they were given";

/// An executor of in-process closures: CPython's `Executor`.
///
/// Implementors provide [`execute`](Self::execute) and
/// [`Shutdown`](crate::Shutdown); [`submit`](Self::submit) and
/// [`submit_fallible`](Self::submit_fallible) are built on them. Every
/// `Executor` is also a [`TaskExecutor`].
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
    /// Gives the same job back, with [`Error::shutdown`] or
    /// [`Error::broken`], if the executor can no longer accept work. It must
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
            Err(e) => Err(e.map_task(|job| job.into_payload::<F, R>().expect(GIVE_BACK))),
        }
    }

    /// Schedules a fallible `f`: its `Err(e)` fails the future with `e`
    /// (kind [`Task`](crate::ErrorKind::Task)), so `result()` fails with it
    /// instead of returning a nested `Result`.
    ///
    /// `E` is anything `?` converts into a [`BoxError`]: a concrete
    /// `std::error::Error` (`io::Error`, `ParseIntError`, … — downcastable
    /// back with [`Error::downcast_ref`]), `String`, `&'static str`,
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
            Err(e) => Err(e.map_task(|job| job.into_payload::<F, T>().expect(GIVE_BACK))),
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

/// A function that can run in another process (or on another machine):
/// named by a stable registry name and a signature fingerprint, never by a
/// code address. Arguments and output are serializable.
///
/// Usually implemented by the `concur-ipc` registration macro rather than by
/// hand (`concur::remote!`, which also keeps the function callable as a
/// plain function). A closure is never a `RemoteFn`: its code has no name a
/// worker process could look up.
///
/// # Examples
///
/// ```
/// use concur_core::{BoxError, RemoteFn};
///
/// #[derive(Clone, Copy)]
/// struct Square;
/// impl RemoteFn for Square {
///     type Args = i64;
///     type Output = i64;
///     const NAME: &'static str = "example::square";
///     const FINGERPRINT: u64 = 0x5157;
///     fn call(x: i64) -> Result<i64, BoxError> { Ok(x * x) }
/// }
/// assert_eq!(Square::call(9).unwrap(), 81);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a remote function",
    label = "declare this function with `concur::remote!`",
    note = "a closure's (or plain `fn`'s) code cannot be named in another process: write it as `concur::remote! {{ fn name(arg: Type) -> Output {{ .. }} }}` and pass `name`"
)]
pub trait RemoteFn: Copy + Send + 'static {
    /// The argument set (a tuple for several arguments).
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// What the function returns on success.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The registry name, unique in a build (e.g. the function's path).
    const NAME: &'static str;
    /// A fingerprint of the signature (argument and output types), so a
    /// mismatched peer is refused instead of misreading bytes.
    const FINGERPRINT: u64;
    /// Runs the function in this process.
    ///
    /// # Errors
    ///
    /// Whatever the function itself fails with.
    fn call(args: Self::Args) -> Result<Self::Output, BoxError>;
}

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
            Err(e) => {
                Err(e.map_task(|job| job.into_payload::<F::Args, F::Output>().expect(GIVE_BACK)))
            }
        }
    }

    fn submit_batch<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> BatchResult<F> {
        let (job, futs) = Job::batch(f, batch);
        match self.execute(job) {
            Ok(()) => Ok(futs),
            Err(e) => Err(e.map_task(|job| job.into_batch::<F>().expect(GIVE_BACK))),
        }
    }

    fn submit_chunk<F: RemoteFn>(&self, f: F, batch: Vec<F::Args>) -> ChunkResult<F> {
        let (job, fut) = Job::chunk(f, batch);
        match self.execute(job) {
            Ok(()) => Ok(fut),
            Err(e) => Err(e.map_task(|job| {
                job.into_payload::<Vec<F::Args>, ChunkOutcome<F::Output>>()
                    .expect(GIVE_BACK)
            })),
        }
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
}
