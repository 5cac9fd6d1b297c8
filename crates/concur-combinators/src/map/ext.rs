//! The extension traits that start a `map`: [`ExecutorExt`] (a closure on
//! any [`Executor`]) and [`TaskExecutorExt`] (a named [`RemoteFn`] on any
//! [`TaskExecutor`]), and the submitters that turn each chunk of inputs
//! into work in flight on the executor.

use super::builder::MapBuilder;
use super::chunk_run::{run_closure_chunk, run_fallible_chunk};
use super::collect::{Dest, ScatterFn, scatter};
use super::in_flight::{InFlight, SubmitFn};
use concur_core::{BoxError, ChunkOutcome, Executor, RemoteFn, TaskExecutor};
use concur_sync::sync::Arc;

/// `map` and `map_unordered` for every [`Executor`]: runs a closure over
/// each input on the executor's workers.
///
/// `f` is shared by every task (through an `Arc`), so it is `Fn + Send +
/// Sync + 'static`; inputs and outputs move between threads. Each chunk of
/// [`chunksize`](MapBuilder::chunksize) inputs is one job; a panic on one
/// input fails that input only.
///
/// # Examples
///
/// ```
/// use concur_combinators::ExecutorExt;
///
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let lens: Vec<usize> = pool
///     .map(|s: &'static str| s.len(), ["a", "bb", "ccc"])
///     .run()
///     .unwrap()
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(lens, [1, 2, 3]);
///
/// let mut any_order: Vec<usize> = pool
///     .map_unordered(|x: usize| x * 10, 0..4)
///     .run()
///     .unwrap()
///     .map(Result::unwrap)
///     .collect();
/// any_order.sort();
/// assert_eq!(any_order, [0, 10, 20, 30]);
/// ```
///
/// A closure that is not `Send + Sync` (here it holds an `Rc`) cannot be
/// mapped across threads:
///
/// ```compile_fail
/// use concur_combinators::ExecutorExt;
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let shared = std::rc::Rc::new(1);
/// let _ = pool.map(move |x: u8| x + *shared, [1]).run();
/// ```
pub trait ExecutorExt: Executor {
    /// `f` over every input; results in input order. Configure, then
    /// [`run`](MapBuilder::run).
    fn map<F, I, R>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        closure_map(self, f, inputs, true)
    }

    /// Like [`map`](Self::map), yielding results in completion order.
    fn map_unordered<F, I, R>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        closure_map(self, f, inputs, false)
    }

    /// Like [`map`](Self::map) for a fallible `f`: an input whose call
    /// returns `Err(e)` yields `Err` of kind
    /// [`Task`](concur_core::ErrorKind::Task) holding `e`, the others
    /// continue, so each result is a plain `Result<R, Error>` rather than a
    /// nested one. `E` is anything `?` converts into a [`BoxError`]: a
    /// concrete `std::error::Error` (downcastable back with
    /// [`Error::downcast_ref`](concur_core::Error::downcast_ref)), `String`, `&'static str`, `BoxError` or
    /// `anyhow::Error` (see [`Job::new_fallible`](concur_core::Job::new_fallible)).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::ExecutorExt;
    /// use std::num::ParseIntError;
    ///
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let out: Vec<_> = pool
    ///     .map_fallible(|s: &str| s.parse::<u32>(), ["1", "x", "3"])
    ///     .run()
    ///     .unwrap()
    ///     .collect();
    /// assert_eq!(*out[0].as_ref().unwrap(), 1);
    /// assert!(out[1].as_ref().unwrap_err().downcast_ref::<ParseIntError>().is_some());
    /// assert_eq!(*out[2].as_ref().unwrap(), 3);
    /// ```
    fn map_fallible<F, I, R, E>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, R>
    where
        F: Fn(I::Item) -> Result<R, E> + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
        E: Into<BoxError>,
    {
        let f = Arc::new(f);
        let g = Arc::clone(&f);
        MapBuilder::new(
            inputs.into_iter(),
            chunk_submitter(self, move |c| run_fallible_chunk(&*f, c)),
            true,
        )
        .with_scatter(scatter_submitter(self, move |a| {
            g(a).map_err(concur_core::Error::task)
        }))
    }
}

impl<E: Executor + ?Sized> ExecutorExt for E {}

/// Submits each chunk as one job on `exec` that runs `run` over it: the
/// submitter of [`ExecutorExt`]'s methods (`run` is
/// [`run_closure_chunk`] or [`run_fallible_chunk`] around the user's
/// closure).
/// `map`/`map_unordered` of an in-process closure: its chunks run
/// `run_closure_chunk` on `exec`.
fn closure_map<E, F, I, R>(
    exec: &E,
    f: F,
    inputs: I,
    ordered: bool,
) -> MapBuilder<'_, I::IntoIter, R>
where
    E: Executor + ?Sized,
    F: Fn(I::Item) -> R + Send + Sync + 'static,
    I: IntoIterator,
    I::Item: Send + 'static,
    R: Send + 'static,
{
    let f = Arc::new(f);
    let g = Arc::clone(&f);
    MapBuilder::new(
        inputs.into_iter(),
        chunk_submitter(exec, move |c| run_closure_chunk(&*f, c)),
        ordered,
    )
    .with_scatter(scatter_submitter(exec, move |a| Ok(g(a))))
}

/// Submits each chunk and its place in the result as one job on `exec`
/// that writes `f`'s outputs there: `collect_vec`'s parallel path.
fn scatter_submitter<'e, X, A, R>(
    exec: &'e X,
    f: impl Fn(A) -> Result<R, concur_core::Error> + Send + Sync + 'static,
) -> ScatterFn<'e, A, R>
where
    X: Executor + ?Sized,
    A: Send + 'static,
    R: Send + 'static,
{
    let f = Arc::new(f);
    let g = Arc::clone(&f);
    ScatterFn {
        submit: Box::new(move |chunk: Vec<A>, dest: Dest<R>| {
            let f = Arc::clone(&f);
            Executor::submit(&exec, move || scatter(&*f, chunk, dest))
                .map_err(|e| e.error().clone())
        }),
        here: Box::new(move |chunk, dest| scatter(&*g, chunk, dest)),
    }
}

fn chunk_submitter<'e, X, A, R>(
    exec: &'e X,
    run: impl Fn(Vec<A>) -> ChunkOutcome<R> + Send + Sync + 'static,
) -> SubmitFn<'e, A, R>
where
    X: Executor + ?Sized,
    A: Send + 'static,
    R: Send + 'static,
{
    let run = Arc::new(run);
    Box::new(move |chunk: Vec<A>, timed: bool| {
        let run = Arc::clone(&run);
        let len = chunk.len();
        // Only adaptive sizing reads the time: two clock reads per chunk
        // are not paid by fixed chunks.
        let job = move || {
            let start = timed.then(std::time::Instant::now);
            let mut out = run(chunk);
            if let Some(start) = start {
                out.set_service_time(start.elapsed());
            }
            out
        };
        match Executor::submit(&exec, job) {
            Ok(fut) => Ok(InFlight::Chunk(fut, len)),
            Err(e) => Err(e.error().clone()),
        }
    })
}

/// `map_task` and `map_task_unordered` for every [`TaskExecutor`] (thread,
/// process and cluster executors alike): runs a named [`RemoteFn`] over
/// each input. Chunks of [`chunksize`](MapBuilder::chunksize) inputs go out
/// as one [`submit_chunk`](TaskExecutor::submit_chunk) (one frame and one
/// future for a process executor); each input still has its own outcome.
///
/// (Named `map_task` rather than `map` because every [`Executor`] is also a
/// [`TaskExecutor`], and one method name on both traits would be ambiguous.)
///
/// # Examples
///
/// ```
/// use concur_combinators::TaskExecutorExt;
/// use concur_core::{BoxError, Executor, Job, RemoteFn, SubmitError};
///
/// #[derive(Clone, Copy)]
/// struct Half;
/// impl RemoteFn for Half {
///     type Args = u32;
///     type Output = u32;
///     const NAME: &'static str = "half";
///     const FINGERPRINT: u64 = 2;
///     fn call(x: u32) -> Result<u32, BoxError> {
///         if x % 2 == 0 { Ok(x / 2) } else { Err("odd".into()) }
///     }
/// }
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let out: Vec<_> = pool.map_task(Half, [2, 3, 4]).chunksize(2).run().unwrap().collect();
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert_eq!(out[1].as_ref().unwrap_err().to_string(), "task failed: odd");
/// assert_eq!(*out[2].as_ref().unwrap(), 2);
/// ```
pub trait TaskExecutorExt: TaskExecutor {
    /// `f` over every input; results in input order. Configure, then
    /// [`run`](MapBuilder::run).
    fn map_task<F, I>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, F::Output>
    where
        F: RemoteFn,
        I: IntoIterator<Item = F::Args>,
    {
        MapBuilder::new(inputs.into_iter(), remote_submitter(self, f), true)
    }

    /// Like [`map_task`](Self::map_task), yielding results in completion
    /// order.
    fn map_task_unordered<F, I>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, F::Output>
    where
        F: RemoteFn,
        I: IntoIterator<Item = F::Args>,
    {
        MapBuilder::new(inputs.into_iter(), remote_submitter(self, f), false)
    }
}

impl<E: TaskExecutor + ?Sized> TaskExecutorExt for E {}

fn remote_submitter<'e, E, F>(exec: &'e E, f: F) -> SubmitFn<'e, F::Args, F::Output>
where
    E: TaskExecutor + ?Sized,
    F: RemoteFn,
{
    Box::new(move |mut chunk: Vec<F::Args>, timed: bool| {
        // A timed single item goes as a chunk: only a chunk's outcome
        // carries its service time.
        if chunk.len() == 1 && !timed {
            let args = chunk.pop().expect("one item");
            match exec.submit_task(f, args) {
                Ok(fut) => Ok(InFlight::Item(fut)),
                Err(e) => Err(e.error().clone()),
            }
        } else {
            let len = chunk.len();
            match exec.submit_chunk(f, chunk) {
                Ok(fut) => Ok(InFlight::Chunk(fut, len)),
                Err(e) => Err(e.error().clone()),
            }
        }
    })
}
