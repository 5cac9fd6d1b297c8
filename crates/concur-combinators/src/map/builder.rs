//! [`MapBuilder`]: the options of one `map` call, validated when it starts.

use super::collect::{DEFAULT_WINDOW, ScatterFn, collect_in_place};
use super::error::MapError;
use super::in_flight::SubmitFn;
use super::iter::MapIter;
use super::sizer::{Chunking, Sizer};
use crate::deadline::deadline_after;
use std::fmt;
use std::time::Duration;

/// Options of one `map` call; [`run`](Self::run) starts it.
///
/// | option | default | meaning |
/// |---|---|---|
/// | [`chunksize`](Self::chunksize) | adaptive: sized as the map goes | inputs per task (one job / one frame) |
/// | [`buffersize`](Self::buffersize) | adaptive: 16; a fixed `chunksize`: none, all inputs are submitted by `run` | chunks in flight ahead of the consumer |
/// | [`timeout`](Self::timeout) | none | deadline for every result, counted from `run` |
///
/// Without a `chunksize`, each chunk is sized from the time the ones before
/// took where they ran, for about 1 ms each: cheap items go in large
/// chunks, an item of a millisecond or more alone (the policy is in the
/// crate's `map/sizer.rs`). On a 2-worker process pool that reached
/// 0.81–0.91× the throughput of the best hand-picked `chunksize` for
/// no-op items, 0.99× for 10 µs items and 0.99–1.0× for 1 ms items (bench
/// `process_adaptive`). Inputs are then taken lazily, 16 chunks ahead.
///
/// With a fixed `chunksize` on large inputs, set a `buffersize` (a few
/// chunks per worker): without it every input and every chunk's output
/// buffer exist at once, which costs memory and page faults (10M `u64`s
/// with chunksize 1024 on two workers, collected into a `Vec`: 4.4× the
/// time of rayon's `par_iter` eagerly, 2.6× with `buffersize(64)`; see
/// [`collect_vec`](Self::collect_vec), which matches rayon).
///
/// # Examples
///
/// ```
/// use concur_combinators::ExecutorExt;
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// use std::time::Duration;
/// let out: Vec<u64> = pool
///     .map(|x: u64| x * x, 0..10)
///     .chunksize(4)
///     .buffersize(2)
///     .timeout(Duration::from_secs(60))
///     .run()
///     .unwrap()
///     .collect::<Result<_, _>>()
///     .unwrap();
/// assert_eq!(out, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
/// ```
#[must_use = "a map does nothing until it is started: call `.run()` on it, then iterate the results"]
pub struct MapBuilder<'e, It: Iterator, R> {
    inputs: It,
    submit: SubmitFn<'e, It::Item, R>,
    /// `collect_vec`'s parallel path, for in-process closures.
    scatter: Option<ScatterFn<'e, It::Item, R>>,
    /// `None`: adaptive.
    chunksize: Option<usize>,
    buffersize: Option<usize>,
    timeout: Option<Duration>,
    ordered: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl<'e, It: Iterator, R: Send + 'static> MapBuilder<'e, It, R> {
    pub(super) fn new(inputs: It, submit: SubmitFn<'e, It::Item, R>, ordered: bool) -> Self {
        Self {
            inputs,
            submit,
            scatter: None,
            chunksize: None,
            buffersize: None,
            timeout: None,
            ordered,
            #[cfg(feature = "progress")]
            bar: None,
        }
    }

    /// The options `run` and `collect_vec` refuse.
    fn check(&self) -> Result<(), MapError> {
        if self.chunksize == Some(0) {
            return Err(MapError::ZeroChunksize);
        }
        if self.buffersize == Some(0) {
            return Err(MapError::ZeroBuffersize);
        }
        Ok(())
    }

    /// Adds `collect_vec`'s parallel path.
    pub(super) fn with_scatter(mut self, scatter: ScatterFn<'e, It::Item, R>) -> Self {
        self.scatter = Some(scatter);
        self
    }

    /// Inputs per task, fixed (without it: adaptive, see the table above).
    /// Large chunks amortise per-task cost (one frame per chunk for
    /// process executors); `chunksize(1)` is CPython's default, one task
    /// per input (a remote function's single items then go out as plain
    /// tasks). 0 is refused by [`run`](Self::run) with
    /// [`MapError::ZeroChunksize`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use concur_combinators::ExecutorExt;
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let n = pool.map(|x: u32| x, 0..100).chunksize(7).run().unwrap().count();
    /// assert_eq!(n, 100);
    /// ```
    pub fn chunksize(mut self, n: usize) -> Self {
        self.chunksize = Some(n);
        self
    }

    /// Bounds how many chunks are submitted and not yet yielded: `run`
    /// takes `n` chunks of input, and each chunk the consumer moves past
    /// takes one more. Inputs are pulled lazily, so an infinite iterator
    /// works. Without it, a map with a fixed [`chunksize`](Self::chunksize)
    /// submits every input at once in `run` (as CPython does); an adaptive
    /// one keeps 16 chunks in flight. 0 is refused with
    /// [`MapError::ZeroBuffersize`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use concur_combinators::ExecutorExt;
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let first: Vec<u64> = pool.map(|x: u64| x * 2, 0..).buffersize(4).run().unwrap()
    ///     .take(3).map(Result::unwrap).collect();
    /// assert_eq!(first, [0, 2, 4]);
    /// ```
    pub fn buffersize(mut self, n: usize) -> Self {
        self.buffersize = Some(n);
        self
    }

    /// A deadline for every result, counted from [`run`](Self::run). A
    /// result not ready in time yields one `Err` of kind
    /// [`Timeout`](concur_core::ErrorKind::Timeout); the iterator then
    /// cancels what has not started and ends.
    ///
    /// `Duration::ZERO` never blocks: results already done by the time
    /// they are asked for are yielded, the first one that is not gives the
    /// `Err`. A timeout too long to add to the current
    /// [`Instant`](std::time::Instant) (such as `Duration::MAX`) is the same
    /// as no timeout (also for [`size_hint`](Iterator::size_hint)).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::ExecutorExt;
    /// use std::sync::{mpsc, Mutex};
    ///
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// let (release, gate) = mpsc::channel::<()>();
    /// let gate = Mutex::new(gate);
    /// let slow = move |x: u8| {
    ///     let _ = gate.lock().unwrap().recv(); // blocks until `release` drops
    ///     x
    /// };
    /// let mut it = pool.map(slow, [1]).timeout(std::time::Duration::ZERO).run().unwrap();
    /// assert!(it.next().unwrap().unwrap_err().is_timeout());
    /// assert!(it.next().is_none());
    /// drop(release);
    /// ```
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Ticks `bar` once per yielded result (its length is set when the
    /// input's length is known) and finishes it at the end: the
    /// `tqdm.contrib.concurrent.thread_map` pattern.
    ///
    /// # Examples
    ///
    /// ```
    /// # use concur_combinators::ExecutorExt;
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// use indicatif::{ProgressBar, ProgressDrawTarget};
    /// let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    /// let n = pool.map(|x: u8| x, 0..5).with_progress(bar.clone()).run().unwrap().count();
    /// assert_eq!((n, bar.position(), bar.length()), (5, 5, Some(5)));
    /// ```
    #[cfg(feature = "progress")]
    pub fn with_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.bar = Some(bar);
        self
    }

    /// Validates the options, submits the first chunks (all of them without
    /// a [`buffersize`](Self::buffersize)) and returns the result iterator.
    ///
    /// # Errors
    ///
    /// [`MapError::ZeroChunksize`], [`MapError::ZeroBuffersize`], or
    /// [`MapError::Submit`] if the executor refuses work (what it had
    /// accepted is cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// # use concur_combinators::ExecutorExt;
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let it = pool.map(|x: u8| x + 1, [1, 2]).run().unwrap();
    /// assert_eq!(it.map(Result::unwrap).collect::<Vec<_>>(), [2, 3]);
    /// ```
    pub fn run(self) -> Result<MapIter<'e, It, R>, MapError> {
        self.check()?;
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            if let (lo, Some(hi)) = self.inputs.size_hint() {
                if lo == hi {
                    bar.set_length(hi as u64);
                }
            }
        }
        MapIter::start(
            self.inputs,
            self.submit,
            chunking(self.chunksize),
            self.buffersize,
            deadline_after(self.timeout),
            self.ordered,
            #[cfg(feature = "progress")]
            self.bar,
        )
        .map_err(MapError::Submit)
    }
}

/// The chunking a `chunksize` setting asks for.
fn chunking(chunksize: Option<usize>) -> Chunking {
    chunksize.map_or_else(|| Chunking::Adaptive(Sizer::default()), Chunking::Fixed)
}

impl<It, R> MapBuilder<'_, It, R>
where
    It: Iterator,
    It::Item: Send + 'static,
    R: Send + 'static,
{
    /// Runs the map and collects every output into a `Vec`, in input order
    /// (for `map_unordered` too), or returns the first failure in input
    /// order (an item's panic or `Err`, a refused submission), as
    /// `run()?.collect::<Result<Vec<R>, Error>>()` would.
    ///
    /// For a closure ([`ExecutorExt`](crate::ExecutorExt)) whose inputs know
    /// their length (an exact `size_hint`, as ranges, `Vec`s and slices
    /// have), the workers write the outputs straight into the result, so no
    /// one thread moves them all: 10M `u64`s at chunksize 1024 on two
    /// workers collect in about rayon's time (see the bench
    /// `combinators/map_10m_chunk1024`). At most
    /// [`buffersize`](Self::buffersize) chunks (default 32) are in flight.
    /// Otherwise (a remote function, inputs of unknown length, a
    /// [`timeout`](Self::timeout) or progress bar) it is that `collect`.
    /// After a failure nothing more is submitted, and what has not started
    /// is cancelled.
    ///
    /// # Errors
    ///
    /// The first failure in input order; a refused option or submission
    /// (as [`run`](Self::run)'s [`MapError`], converted).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::ExecutorExt;
    ///
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let squares = pool.map(|x: u64| x * x, 0..1000).chunksize(64).collect_vec().unwrap();
    /// assert_eq!(squares[999], 998_001);
    ///
    /// let err = pool
    ///     .map(|x: u32| if x == 7 { panic!("seven") } else { x }, 0..10)
    ///     .collect_vec()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("seven"));
    /// ```
    pub fn collect_vec(mut self) -> Result<Vec<R>, concur_core::Error> {
        let exact = match self.inputs.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        #[cfg(feature = "progress")]
        let plain = self.bar.is_none() && self.timeout.is_none();
        #[cfg(not(feature = "progress"))]
        let plain = self.timeout.is_none();
        match (self.scatter.take(), exact) {
            (Some(mut scatter), Some(len)) if plain => {
                self.check()?;
                collect_in_place(
                    self.inputs,
                    len,
                    &mut scatter,
                    chunking(self.chunksize),
                    self.buffersize.unwrap_or(DEFAULT_WINDOW),
                )
            }
            _ => self.run()?.collect(),
        }
    }
}

impl<It: Iterator, R> fmt::Debug for MapBuilder<'_, It, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapBuilder")
            .field("chunksize", &self.chunksize)
            .field("buffersize", &self.buffersize)
            .field("timeout", &self.timeout)
            .field("ordered", &self.ordered)
            .finish_non_exhaustive()
    }
}
