//! `map` (and `map_fallible`) for every executor: [`ExecutorExt`] (in-process closures) and
//! [`TaskExecutorExt`] (named remote functions), both configured through
//! [`MapBuilder`] and iterated with [`MapIter`].

use crate::as_completed::deadline_after;
use concur_core::{
    BoxError, ChunkOutcome, ChunkOutcomeIter, Error, Executor, Future, RemoteFn, TaskExecutor,
    Watcher,
};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use concur_sync::sync::Arc;
use std::time::{Duration, Instant};

/// Work submitted for one chunk of inputs.
enum Pending<R> {
    /// A chunk, in-process or remote ([`TaskExecutor::submit_chunk`]): one
    /// future holding every item's outcome, and the chunk's length.
    Chunk(Future<ChunkOutcome<R>>, usize),
    /// A remote single item: its own future.
    Items(Vec<Future<R>>),
}

impl<R: Send + 'static> Pending<R> {
    fn cancel(&self) {
        match self {
            Self::Chunk(f, _) => {
                f.cancel();
            }
            Self::Items(fs) => {
                for f in fs {
                    f.cancel();
                }
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Chunk(_, n) => *n,
            Self::Items(fs) => fs.len(),
        }
    }
}

/// A chunk run here: its values and its (rare) failures, whose positions
/// ascend and stay in range by construction. Were they not, the chunk
/// fails as a whole rather than yielding its items out of place.
fn run_outcome<R>(values: Vec<R>, failures: Vec<(usize, Error)>) -> ChunkOutcome<R> {
    let len = values.len() + failures.len();
    ChunkOutcome::from_parts(values, failures).unwrap_or_else(|| {
        let e = Error::broken("map recorded a chunk's failures out of order", None);
        ChunkOutcome::failed(e, len)
    })
}

/// Runs `f` over `chunk`, catching each item's panic.
///
/// When an output has its input's size and alignment (`u64 → u64`,
/// `String → String`, …) the outputs are written into the chunk's own
/// buffer, so a chunk costs no allocation on the worker and its buffer is
/// freed by the thread that allocated it. (A cross-thread free of each
/// chunk buffer took glibc's arena lock against the submitting thread:
/// 10M items at chunksize 1024 ran 67 → 59 ms on 2 cores.)
fn run_chunk<A, R>(f: &(impl Fn(A) -> R + ?Sized), chunk: Vec<A>) -> ChunkOutcome<R> {
    if size_of::<A>() == size_of::<R>() && align_of::<A>() == align_of::<R>() && size_of::<A>() != 0
    {
        run_chunk_in_place(f, chunk)
    } else {
        run_chunk_copy(f, chunk)
    }
}

/// [`run_chunk`] into a new buffer. One `catch_unwind` covers a run of
/// items, so the loop stays a plain `extend`; after a panic the item that
/// panicked is recorded and the run resumes with the next one.
fn run_chunk_copy<A, R>(f: &(impl Fn(A) -> R + ?Sized), chunk: Vec<A>) -> ChunkOutcome<R> {
    let mut values = Vec::with_capacity(chunk.len());
    let mut failures = Vec::new();
    let mut items = chunk.into_iter();
    loop {
        // `extend` keeps the values pushed before a panic.
        let run = catch_unwind(AssertUnwindSafe(|| values.extend(items.by_ref().map(f))));
        match run {
            Ok(()) => break,
            // Every item before the panicking one left a value or a failure.
            Err(p) => failures.push((values.len() + failures.len(), Error::panicked(p))),
        }
    }
    run_outcome(values, failures)
}

/// A chunk's buffer while [`run_chunk_in_place`] turns its inputs into
/// outputs: slots `[0, written)` hold outputs, slots `[read, len)` hold
/// inputs not yet taken, and the slots between were moved out. `written <=
/// read` always. Dropping it (only when something unwinds past the loop)
/// drops both live ranges and frees the buffer.
struct InPlace<A, R> {
    ptr: *mut A,
    cap: usize,
    len: usize,
    read: usize,
    written: usize,
    _owns: std::marker::PhantomData<(A, R)>,
}

impl<A, R> Drop for InPlace<A, R> {
    fn drop(&mut self) {
        // SAFETY: per the struct's invariant `[0, written)` holds `R`s and
        // `[read, len)` holds `A`s, each dropped once here; the buffer came
        // from a `Vec<A>` of capacity `cap`, freed once by the empty `Vec`.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.cast::<R>(),
                self.written,
            ));
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.add(self.read),
                self.len - self.read,
            ));
            drop(Vec::from_raw_parts(self.ptr, 0, self.cap));
        }
    }
}

/// [`run_chunk`] for outputs laid out like the inputs: output `k` goes in
/// the slot of input `k` (failed items leave no output, so later outputs
/// shift left into slots already emptied).
fn run_chunk_in_place<A, R>(f: &(impl Fn(A) -> R + ?Sized), chunk: Vec<A>) -> ChunkOutcome<R> {
    debug_assert!(size_of::<A>() == size_of::<R>() && align_of::<A>() == align_of::<R>());
    let mut chunk = std::mem::ManuallyDrop::new(chunk);
    let mut buf = InPlace::<A, R> {
        ptr: chunk.as_mut_ptr(),
        cap: chunk.capacity(),
        len: chunk.len(),
        read: 0,
        written: 0,
        _owns: std::marker::PhantomData,
    };
    let mut failures = Vec::new();
    while buf.read < buf.len {
        let i = buf.read;
        // SAFETY: slot `i` (= `read`) holds an input not yet taken; moving
        // `read` past it right after hands it to us alone.
        let a = unsafe { buf.ptr.add(i).read() };
        buf.read += 1;
        match catch_unwind(AssertUnwindSafe(|| f(a))) {
            Ok(v) => {
                // SAFETY: `written <= i < read`, so slot `written` was moved
                // out (its input taken) and holds nothing; `R` has `A`'s size
                // and alignment, so an `R` fits the slot.
                unsafe { buf.ptr.cast::<R>().add(buf.written).write(v) };
                buf.written += 1;
            }
            Err(p) => failures.push((i, Error::panicked(p))),
        }
    }
    let buf = std::mem::ManuallyDrop::new(buf);
    // SAFETY: every input was taken (`read == len`); `[0, written)` holds
    // `R`s; the allocation is `cap` slots of `A`'s layout, which is `R`'s
    // (same size and alignment), as `Vec<R>` needs to free it.
    let values = unsafe { Vec::from_raw_parts(buf.ptr.cast::<R>(), buf.written, buf.cap) };
    run_outcome(values, failures)
}

/// A finished chunk's outcome; a chunk that failed as a whole (cancelled,
/// refused, abandoned, its worker died), or whose executor gave the wrong
/// number of outcomes, reports its error for every one of its `len` items.
fn finished<R: Send + 'static>(fut: Future<ChunkOutcome<R>>, len: usize) -> ChunkOutcome<R> {
    match fut.into_result() {
        Ok(out) if out.len() == len => out,
        Ok(out) => ChunkOutcome::failed(
            Error::broken(
                format!("{} outcomes for a chunk of {len} items", out.len()),
                None,
            ),
            len,
        ),
        Err(e) => ChunkOutcome::failed(e, len),
    }
}

type SubmitFn<'e, A, R> = Box<dyn FnMut(Vec<A>) -> Result<Pending<R>, Error> + Send + 'e>;

/// Why [`MapBuilder::run`] refused to start.
///
/// # Examples
///
/// ```
/// use concur_combinators::{ExecutorExt, MapError};
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let err = pool.map(|x: u8| x, [1]).chunksize(0).run().unwrap_err();
/// assert!(matches!(err, MapError::ZeroChunksize));
/// assert_eq!(err.to_string(), "map chunksize must be at least 1");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MapError {
    /// `chunksize(0)`: a chunk must hold at least one item.
    ZeroChunksize,
    /// `buffersize(0)`: at least one chunk must be in flight.
    ZeroBuffersize,
    /// The executor refused a chunk (shut down or broken); what was already
    /// submitted has been cancelled.
    Submit(Error),
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroChunksize => f.write_str("map chunksize must be at least 1"),
            Self::ZeroBuffersize => f.write_str("map buffersize must be at least 1"),
            Self::Submit(e) => write!(f, "the executor refused map work: {e}"),
        }
    }
}

impl std::error::Error for MapError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Submit(e) => Some(e),
            _ => None,
        }
    }
}

/// A refused option is an [`ErrorKind::InvalidConfig`](concur_core::ErrorKind::InvalidConfig)
/// error; refused work keeps the executor's error kind
/// ([`Shutdown`](concur_core::ErrorKind::Shutdown), …). Either way the
/// source is the `MapError`, so `?` works in a function returning
/// `Result<_, concur_core::Error>`.
///
/// # Examples
///
/// ```
/// use concur_combinators::{ExecutorExt, MapError};
/// use concur_core::ErrorKind;
///
/// fn total(pool: &concur_thread::ThreadPool, chunk: usize) -> Result<u64, concur_core::Error> {
///     let mut sum = 0;
///     for v in pool.map(|x: u64| x * 2, 1..=3).chunksize(chunk).run()? {
///         sum += v?;
///     }
///     Ok(sum)
/// }
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// assert_eq!(total(&pool, 2).unwrap(), 12);
/// let err = total(&pool, 0).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidConfig);
/// assert_eq!(err.to_string(), "map chunksize must be at least 1");
/// assert!(matches!(err.downcast_ref::<MapError>(), Some(MapError::ZeroChunksize)));
/// ```
impl From<MapError> for Error {
    fn from(e: MapError) -> Self {
        let kind = match &e {
            MapError::Submit(refused) => refused.kind(),
            _ => concur_core::ErrorKind::InvalidConfig,
        };
        Error::with_source(kind, e)
    }
}

/// Options of one `map` call; [`run`](Self::run) starts it.
///
/// | option | default | meaning |
/// |---|---|---|
/// | [`chunksize`](Self::chunksize) | 1 | inputs per task (one job / one frame) |
/// | [`buffersize`](Self::buffersize) | none: all inputs are submitted by `run` | chunks in flight ahead of the consumer |
/// | [`timeout`](Self::timeout) | none | deadline for every result, counted from `run` |
///
/// For large inputs set a `buffersize` (a few chunks per worker): without
/// it every input and every chunk's output buffer exist at once, which
/// costs memory and page faults (10M `u64`s with chunksize 1024 on two
/// workers, collected into a `Vec`: 4.4× the time of rayon's `par_iter`
/// eagerly, 2.6× with `buffersize(64)`).
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
    chunksize: usize,
    buffersize: Option<usize>,
    timeout: Option<Duration>,
    ordered: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl<'e, It: Iterator, R: Send + 'static> MapBuilder<'e, It, R> {
    fn new(inputs: It, submit: SubmitFn<'e, It::Item, R>, ordered: bool) -> Self {
        Self {
            inputs,
            submit,
            chunksize: 1,
            buffersize: None,
            timeout: None,
            ordered,
            #[cfg(feature = "progress")]
            bar: None,
        }
    }

    /// Inputs per task (default 1). Large chunks amortise per-task cost
    /// (one frame per chunk for process executors). 0 is refused by
    /// [`run`](Self::run) with [`MapError::ZeroChunksize`].
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
        self.chunksize = n;
        self
    }

    /// Bounds how many chunks are submitted and not yet yielded: `run`
    /// takes `n` chunks of input, and each chunk the consumer moves past
    /// takes one more. Inputs are pulled lazily, so an infinite iterator
    /// works. Without it, `run` submits every input at once (as CPython
    /// does). 0 is refused with [`MapError::ZeroBuffersize`].
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
        if self.chunksize == 0 {
            return Err(MapError::ZeroChunksize);
        }
        if self.buffersize == Some(0) {
            return Err(MapError::ZeroBuffersize);
        }
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            if let (lo, Some(hi)) = self.inputs.size_hint() {
                if lo == hi {
                    bar.set_length(hi as u64);
                }
            }
        }
        let mut it = MapIter {
            inputs: Some(self.inputs),
            submit: self.submit,
            chunksize: self.chunksize,
            buffersize: self.buffersize,
            deadline: deadline_after(self.timeout),
            ordered: self.ordered,
            in_flight: 0,
            outstanding: 0,
            submitted: 0,
            queue: VecDeque::new(),
            run: Vec::new().into_iter(),
            current: Current::Empty,
            watcher: Watcher::new(),
            slots: Vec::new(),
            batch_left: HashMap::new(),
            next_batch: 0,
            failure: None,
            ended: false,
            #[cfg(feature = "progress")]
            bar: self.bar,
        };
        it.fill();
        if let Some(e) = it.failure.take() {
            it.cancel_all();
            it.ended = true;
            return Err(MapError::Submit(e));
        }
        Ok(it)
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

enum Current<R> {
    Empty,
    Values(ChunkOutcomeIter<R>),
    Futures(std::vec::IntoIter<Future<R>>),
}

/// One watched future of an unordered map.
enum Slot<R> {
    Chunk(Future<ChunkOutcome<R>>, usize),
    Item(Future<R>, u64),
}

/// The results of a `map`: one `Result` per input, in input order (or in
/// completion order for `map_unordered`).
///
/// A failing item yields its error (a panic as
/// [`Panicked`](concur_core::ErrorKind::Panicked), a remote task's error as
/// [`Task`](concur_core::ErrorKind::Task)) and the others continue. Dropping
/// the iterator cancels every chunk that has not started.
///
/// # Examples
///
/// ```
/// # use concur_combinators::ExecutorExt;
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let out: Vec<_> = pool
///     .map(|x: i32| if x == 2 { panic!("two") } else { x }, 1..=3)
///     .run()
///     .unwrap()
///     .collect();
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert_eq!(out[1].as_ref().unwrap_err().panic_message(), Some("two"));
/// assert_eq!(*out[2].as_ref().unwrap(), 3);
/// ```
#[must_use = "iterators do nothing unless consumed"]
pub struct MapIter<'e, It: Iterator, R: Send + 'static> {
    inputs: Option<It>,
    submit: SubmitFn<'e, It::Item, R>,
    chunksize: usize,
    buffersize: Option<usize>,
    deadline: Option<Instant>,
    ordered: bool,
    /// Chunks submitted and still in the buffer (ordered: queued; unordered:
    /// not fully completed).
    in_flight: usize,
    /// Items submitted and not yielded, apart from those left in `run`.
    outstanding: usize,
    /// Items submitted in all.
    submitted: usize,
    /// Ordered mode: chunks in input order.
    queue: VecDeque<Pending<R>>,
    /// The rest of a chunk whose items all succeeded: `next`'s fast path
    /// (in both modes). Not counted in `in_flight` or `outstanding`.
    run: std::vec::IntoIter<R>,
    /// A chunk being yielded that is not a clean `run`: one with failures,
    /// or remote single-item futures (not counted in `in_flight`).
    current: Current<R>,
    /// Unordered mode: every submitted future, by watcher token.
    watcher: Watcher,
    slots: Vec<Option<Slot<R>>>,
    /// Unordered mode: items not yet yielded per remote batch.
    batch_left: HashMap<u64, usize>,
    next_batch: u64,
    /// A submission that failed: reported for its chunk's items, then no
    /// more input is taken.
    failure: Option<Error>,
    ended: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl<It: Iterator, R: Send + 'static> MapIter<'_, It, R> {
    /// Submits chunks until `buffersize` are in flight (or the input ends).
    fn fill(&mut self) {
        while self.buffersize.is_none_or(|b| self.in_flight < b) {
            if !self.submit_one() {
                break;
            }
        }
    }

    /// Takes one chunk of input and submits it; `false` if there was none.
    fn submit_one(&mut self) -> bool {
        let Some(inputs) = self.inputs.as_mut() else {
            return false;
        };
        let chunk: Vec<It::Item> = inputs.by_ref().take(self.chunksize).collect();
        if chunk.len() < self.chunksize {
            self.inputs = None;
        }
        if chunk.is_empty() {
            return false;
        }
        let len = chunk.len();
        let pending = match (self.submit)(chunk) {
            Ok(p) => p,
            Err(e) => {
                // Report the refusal for this chunk's items, take no more.
                self.inputs = None;
                self.failure = Some(e.clone());
                Pending::Chunk(Future::<ChunkOutcome<R>>::from_error(e), len)
            }
        };
        self.in_flight += 1;
        self.outstanding += pending.len();
        self.submitted += pending.len();
        if self.ordered {
            self.queue.push_back(pending);
        } else {
            match pending {
                Pending::Chunk(f, n) => {
                    self.watcher.watch(f.erase());
                    self.slots.push(Some(Slot::Chunk(f, n)));
                }
                Pending::Items(fs) => {
                    let b = self.next_batch;
                    self.next_batch += 1;
                    self.batch_left.insert(b, fs.len());
                    for f in fs {
                        self.watcher.watch(f.erase());
                        self.slots.push(Some(Slot::Item(f, b)));
                    }
                }
            }
        }
        true
    }

    fn cancel_all(&mut self) {
        for p in self.queue.drain(..) {
            p.cancel();
        }
        if let Current::Futures(fs) = std::mem::replace(&mut self.current, Current::Empty) {
            for f in fs {
                f.cancel();
            }
        }
        for slot in self.slots.iter().flatten() {
            match slot {
                Slot::Chunk(f, _) => {
                    f.cancel();
                }
                Slot::Item(f, _) => {
                    f.cancel();
                }
            }
        }
        self.slots = Vec::new();
        self.watcher = Watcher::new();
        self.inputs = None;
    }

    fn timeout_error(&self) -> Error {
        Error::timeout(format!(
            "{} (of {}) map results unfinished",
            self.outstanding, self.submitted
        ))
    }

    fn end(&mut self) {
        self.ended = true;
        self.run = Vec::new().into_iter();
        self.cancel_all();
        #[cfg(feature = "progress")]
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }

    /// Ends on a timeout, yielding the error once.
    fn time_out(&mut self) -> Option<Result<R, Error>> {
        let e = self.timeout_error();
        self.end();
        Some(Err(e))
    }

    fn wait(&self, f: &Future<impl Send + 'static>) -> bool {
        match self.deadline {
            None => {
                f.wait();
                true
            }
            Some(d) => f.wait_deadline(d),
        }
    }

    fn next_ordered(&mut self) -> Option<Result<R, Error>> {
        loop {
            match &mut self.current {
                Current::Values(it) => {
                    if let Some(v) = it.next() {
                        return Some(v);
                    }
                }
                Current::Futures(it) => {
                    if let Some(f) = it.next() {
                        if !self.wait(&f) {
                            f.cancel();
                            return self.time_out();
                        }
                        return Some(f.into_result());
                    }
                }
                Current::Empty => {}
            }
            self.current = Current::Empty;
            // CPython's order: take the next chunk out of the buffer, then
            // top the buffer up, then wait.
            let pending = self.queue.pop_front();
            if pending.is_some() {
                self.in_flight -= 1;
            }
            self.fill();
            let pending = match pending {
                Some(p) => p,
                None => {
                    let p = self.queue.pop_front()?;
                    self.in_flight -= 1;
                    p
                }
            };
            let out = match pending {
                Pending::Chunk(f, len) => {
                    if !self.wait(&f) {
                        f.cancel();
                        return self.time_out();
                    }
                    finished(f, len)
                }
                Pending::Items(fs) => {
                    self.current = Current::Futures(fs.into_iter());
                    continue;
                }
            };
            if let Some(v) = self.start(out) {
                return Some(v);
            }
        }
    }

    /// Starts yielding a finished chunk and returns its first outcome
    /// (`None` only for an empty chunk). A chunk whose items all succeeded
    /// becomes `run`, which `next` yields without leaving its fast path.
    fn start(&mut self, out: ChunkOutcome<R>) -> Option<Result<R, Error>> {
        if out.is_all_ok() {
            let (values, _) = out.into_parts();
            let mut run = values.into_iter();
            let first = run.next()?;
            // The caller counts `first` as yielded; the rest leave
            // `outstanding` now (they are counted through `run.len()`).
            self.outstanding -= run.len();
            self.run = run;
            Some(Ok(first))
        } else {
            let mut it = out.into_iter();
            let first = it.next();
            self.current = Current::Values(it);
            first
        }
    }

    fn next_unordered(&mut self) -> Option<Result<R, Error>> {
        loop {
            if let Current::Values(it) = &mut self.current {
                if let Some(v) = it.next() {
                    return Some(v);
                }
                self.current = Current::Empty;
            }
            if self.watcher.remaining() == 0 {
                self.fill();
                if self.watcher.remaining() == 0 {
                    return None;
                }
            }
            let token = match self.watcher.next_until(self.deadline) {
                Ok(Some((t, _))) => t,
                Ok(None) => return None,
                Err(_) => return self.time_out(),
            };
            let slot = self.slots[token]
                .take()
                .expect("the watcher yields each token once");
            match slot {
                Slot::Chunk(f, len) => {
                    self.in_flight -= 1;
                    self.fill();
                    if let Some(v) = self.start(finished(f, len)) {
                        return Some(v);
                    }
                }
                Slot::Item(f, b) => {
                    let left = self.batch_left.get_mut(&b).expect("batch counted");
                    *left -= 1;
                    if *left == 0 {
                        self.batch_left.remove(&b);
                        self.in_flight -= 1;
                        self.fill();
                    }
                    return Some(f.into_result());
                }
            }
        }
    }
}

impl<It: Iterator, R: Send + 'static> Iterator for MapIter<'_, It, R> {
    type Item = Result<R, Error>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // Fast path: the next value of a chunk whose items all succeeded.
        if let Some(v) = self.run.next() {
            #[cfg(feature = "progress")]
            if let Some(bar) = &self.bar {
                bar.inc(1);
            }
            return Some(Ok(v));
        }
        self.next_slow()
    }

    /// Exact without a timeout once the input's length is known (every
    /// input yields one result); a timeout may end the iterator early.
    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.ended {
            return (0, Some(0));
        }
        let (lo, hi) = self
            .inputs
            .as_ref()
            .map_or((0, Some(0)), Iterator::size_hint);
        let left = self.outstanding + self.run.len();
        let hi = hi.and_then(|h| h.checked_add(left));
        if self.deadline.is_some() {
            (0, hi)
        } else {
            (lo.saturating_add(left), hi)
        }
    }
}

impl<It: Iterator, R: Send + 'static> MapIter<'_, It, R> {
    #[inline(never)]
    fn next_slow(&mut self) -> Option<Result<R, Error>> {
        if self.ended {
            return None;
        }
        let item = if self.ordered {
            self.next_ordered()
        } else {
            self.next_unordered()
        };
        match &item {
            Some(_) => {
                self.outstanding -= 1;
                #[cfg(feature = "progress")]
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            None => self.end(),
        }
        item
    }
}

impl<It: Iterator, R: Send + 'static> std::iter::FusedIterator for MapIter<'_, It, R> {}

impl<It: Iterator, R: Send + 'static> Drop for MapIter<'_, It, R> {
    /// Cancels every chunk that has not started.
    fn drop(&mut self) {
        self.cancel_all();
    }
}

impl<It: Iterator, R: Send + 'static> fmt::Debug for MapIter<'_, It, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapIter")
            .field("ordered", &self.ordered)
            .field("chunksize", &self.chunksize)
            .field("buffersize", &self.buffersize)
            .field("in_flight", &self.in_flight)
            .field("outstanding", &self.outstanding)
            .finish_non_exhaustive()
    }
}

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
        MapBuilder::new(inputs.into_iter(), closure_submitter(self, f), true)
    }

    /// Like [`map`](Self::map), yielding results in completion order.
    fn map_unordered<F, I, R>(&self, f: F, inputs: I) -> MapBuilder<'_, I::IntoIter, R>
    where
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        R: Send + 'static,
    {
        MapBuilder::new(inputs.into_iter(), closure_submitter(self, f), false)
    }

    /// Like [`map`](Self::map) for a fallible `f`: an input whose call
    /// returns `Err(e)` yields `Err` of kind
    /// [`Task`](concur_core::ErrorKind::Task) holding `e`, the others
    /// continue, so each result is a plain `Result<R, Error>` rather than a
    /// nested one. `E` is anything `?` converts into a [`BoxError`]: a
    /// concrete `std::error::Error` (downcastable back with
    /// [`Error::downcast_ref`]), `String`, `&'static str`, `BoxError` or
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
        MapBuilder::new(inputs.into_iter(), fallible_submitter(self, f), true)
    }
}

impl<E: Executor + ?Sized> ExecutorExt for E {}

/// [`closure_submitter`] for [`ExecutorExt::map_fallible`]: each item's
/// `Err` or panic fails that item only.
fn fallible_submitter<'e, X, F, A, R, E>(exec: &'e X, f: F) -> SubmitFn<'e, A, R>
where
    X: Executor + ?Sized,
    F: Fn(A) -> Result<R, E> + Send + Sync + 'static,
    A: Send + 'static,
    R: Send + 'static,
    E: Into<BoxError>,
{
    let f = Arc::new(f);
    Box::new(move |chunk: Vec<A>| {
        let f = Arc::clone(&f);
        let len = chunk.len();
        let task = move || {
            let mut out = ChunkOutcome::with_capacity(chunk.len());
            for a in chunk {
                out.push(match catch_unwind(AssertUnwindSafe(|| f(a))) {
                    Ok(r) => r.map_err(Error::task),
                    Err(p) => Err(Error::panicked(p)),
                });
            }
            out
        };
        match Executor::submit(&exec, task) {
            Ok(fut) => Ok(Pending::Chunk(fut, len)),
            Err(e) => Err(e.error().clone()),
        }
    })
}

fn closure_submitter<'e, E, F, A, R>(exec: &'e E, f: F) -> SubmitFn<'e, A, R>
where
    E: Executor + ?Sized,
    F: Fn(A) -> R + Send + Sync + 'static,
    A: Send + 'static,
    R: Send + 'static,
{
    let f = Arc::new(f);
    Box::new(move |chunk: Vec<A>| {
        let f = Arc::clone(&f);
        let len = chunk.len();
        let task = move || run_chunk(&*f, chunk);
        match Executor::submit(&exec, task) {
            Ok(fut) => Ok(Pending::Chunk(fut, len)),
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
    Box::new(move |mut chunk: Vec<F::Args>| {
        if chunk.len() == 1 {
            let args = chunk.pop().expect("one item");
            match exec.submit_task(f, args) {
                Ok(fut) => Ok(Pending::Items(vec![fut])),
                Err(e) => Err(e.error().clone()),
            }
        } else {
            let len = chunk.len();
            match exec.submit_chunk(f, chunk) {
                Ok(fut) => Ok(Pending::Chunk(fut, len)),
                Err(e) => Err(e.error().clone()),
            }
        }
    })
}
