//! [`MapIter`]: the engine of every `map`. It takes the input chunk by
//! chunk, keeps at most `buffersize` submissions in flight, and yields
//! each item's outcome in input order (or, unordered, as submissions
//! complete), straight from the [`ChunkOutcome`] a chunk's future holds.

use super::in_flight::{InFlight, SubmitFn, chunk_outcome};
use super::sizer::{Chunking, WINDOW};
use concur_core::{ChunkOutcome, ChunkOutcomeIter, Error, Future, Watcher};
use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

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
    chunking: Chunking,
    buffersize: Option<usize>,
    deadline: Option<Instant>,
    ordered: bool,
    /// Submissions still in the buffer (ordered: queued; unordered: not
    /// completed).
    in_flight: usize,
    /// Items submitted and not yielded, apart from those left in `run`.
    outstanding: usize,
    /// Items submitted in all.
    submitted: usize,
    /// Ordered mode: submissions in input order.
    queue: VecDeque<InFlight<R>>,
    /// The rest of a chunk whose items all succeeded: `next`'s fast path
    /// (in both modes). Not counted in `in_flight` or `outstanding`.
    run: std::vec::IntoIter<R>,
    /// The rest of a chunk with failures, being yielded (not counted in
    /// `in_flight`).
    mixed: Option<ChunkOutcomeIter<R>>,
    /// Unordered mode: every submission, by watcher token, until yielded.
    watcher: Watcher,
    watched: Vec<Option<InFlight<R>>>,
    /// A submission that failed: reported for its chunk's items, then no
    /// more input is taken.
    failure: Option<Error>,
    ended: bool,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl<'e, It: Iterator, R: Send + 'static> MapIter<'e, It, R> {
    /// Submits the first chunks (all of them without a `buffersize`);
    /// the executor's error if it refused one, after cancelling what it
    /// had accepted.
    pub(super) fn start(
        inputs: It,
        submit: SubmitFn<'e, It::Item, R>,
        chunking: Chunking,
        buffersize: Option<usize>,
        deadline: Option<Instant>,
        ordered: bool,
        #[cfg(feature = "progress")] bar: Option<indicatif::ProgressBar>,
    ) -> Result<Self, Error> {
        let mut it = MapIter {
            inputs: Some(inputs),
            submit,
            buffersize: buffersize.or(chunking.is_adaptive().then_some(WINDOW)),
            chunking,
            deadline,
            ordered,
            in_flight: 0,
            outstanding: 0,
            submitted: 0,
            queue: VecDeque::new(),
            run: Vec::new().into_iter(),
            mixed: None,
            watcher: Watcher::new(),
            watched: Vec::new(),
            failure: None,
            ended: false,
            #[cfg(feature = "progress")]
            bar,
        };
        it.fill();
        if let Some(e) = it.failure.take() {
            it.cancel_all();
            it.ended = true;
            return Err(e);
        }
        Ok(it)
    }
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
        let remaining = match inputs.size_hint() {
            (lo, Some(hi)) if lo == hi => Some(lo),
            _ => None,
        };
        let size = self.chunking.next_size(remaining);
        let chunk: Vec<It::Item> = inputs.by_ref().take(size).collect();
        if chunk.len() < size {
            self.inputs = None;
        }
        if chunk.is_empty() {
            return false;
        }
        let len = chunk.len();
        let work = match (self.submit)(chunk, self.chunking.is_adaptive()) {
            Ok(w) => w,
            Err(e) => {
                // Report the refusal for this chunk's items, take no more.
                self.inputs = None;
                self.failure = Some(e.clone());
                InFlight::Chunk(Future::<ChunkOutcome<R>>::from_error(e), len)
            }
        };
        self.in_flight += 1;
        self.outstanding += len;
        self.submitted += len;
        if self.ordered {
            self.queue.push_back(work);
        } else {
            self.watcher.watch(work.erase());
            self.watched.push(Some(work));
        }
        true
    }

    fn cancel_all(&mut self) {
        for w in self.queue.drain(..) {
            w.cancel();
        }
        for w in self.watched.iter().flatten() {
            w.cancel();
        }
        self.watched = Vec::new();
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

    /// The next outcome of the chunk with failures being yielded, if any.
    fn next_mixed(&mut self) -> Option<Result<R, Error>> {
        let next = self.mixed.as_mut()?.next();
        if next.is_none() {
            self.mixed = None;
        }
        next
    }

    fn next_ordered(&mut self) -> Option<Result<R, Error>> {
        loop {
            if let Some(v) = self.next_mixed() {
                return Some(v);
            }
            // CPython's order: take the next chunk out of the buffer, then
            // top the buffer up, then wait.
            let work = self.queue.pop_front();
            if work.is_some() {
                self.in_flight -= 1;
            }
            self.fill();
            let work = match work {
                Some(w) => w,
                None => {
                    let w = self.queue.pop_front()?;
                    self.in_flight -= 1;
                    w
                }
            };
            if !work.wait_until(self.deadline) {
                work.cancel();
                return self.time_out();
            }
            if let Some(v) = self.yield_done(work) {
                return Some(v);
            }
        }
    }

    fn next_unordered(&mut self) -> Option<Result<R, Error>> {
        loop {
            if let Some(v) = self.next_mixed() {
                return Some(v);
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
            let work = self.watched[token]
                .take()
                .expect("the watcher yields each token once");
            self.in_flight -= 1;
            self.fill();
            if let Some(v) = self.yield_done(work) {
                return Some(v);
            }
        }
    }

    /// Starts yielding a done submission and returns its first outcome
    /// (`None` only for an empty chunk). A chunk whose items all succeeded
    /// becomes `run`, which `next` yields without leaving its fast path;
    /// one with failures becomes `mixed`.
    fn yield_done(&mut self, work: InFlight<R>) -> Option<Result<R, Error>> {
        let out = match work {
            InFlight::Item(f) => return Some(f.into_result()),
            InFlight::Chunk(f, len) => {
                let out = chunk_outcome(f, len);
                self.chunking.observe(len, out.service_time());
                out
            }
        };
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
            let mut rest = out.into_iter();
            let first = rest.next();
            self.mixed = Some(rest);
            first
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
            .field("chunking", &self.chunking)
            .field("buffersize", &self.buffersize)
            .field("in_flight", &self.in_flight)
            .field("outstanding", &self.outstanding)
            .finish_non_exhaustive()
    }
}
