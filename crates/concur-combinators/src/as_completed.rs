//! [`as_completed`]: futures in completion order.

use crate::deadline::deadline_after;
use concur_core::{Error, FutureHandle, IntoFutureHandle, Watcher};
use std::fmt;
use std::time::{Duration, Instant};

/// Yields the given futures as they complete (finish, fail or are
/// cancelled): CPython's `concurrent.futures.as_completed`.
///
/// * Futures already done when it is called come first, in input order;
///   the others follow in completion order.
/// * The same future given twice (by identity, [`Future::id`]) is yielded
///   once.
/// * Without a timeout the items are the handles themselves (no `Result`:
///   nothing can go wrong while waiting). [`AsCompleted::timeout`] adds a
///   deadline and makes the items `Result`s, ending with one `Err` of kind
///   [`Timeout`](concur_core::ErrorKind::Timeout) if it passes.
/// * The iterator keeps no reference to a future it has yielded, and
///   dropping it deregisters from every future not yet yielded.
/// * Built on [`Watcher`]: O(1) work per completion whatever the number of
///   futures; no polling, no sleeping.
///
/// Pass [`Future<T>`](concur_core::Future)s (or `&Future<T>`) to get the
/// same typed handles back; pass [`AnyFuture`](concur_core::AnyFuture)s to
/// mix output types (and executors) in one call.
///
/// [`Future::id`]: concur_core::Future::id
///
/// # Examples
///
/// ```
/// use concur_combinators::as_completed;
/// use concur_core::Executor;
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let futs: Vec<_> = (1..=3u64).map(|i| pool.submit(move || i * i).unwrap()).collect();
/// let mut sum = 0;
/// for f in as_completed(&futs) {
///     sum += *f.result().unwrap();
/// }
/// assert_eq!(sum, 14);
/// ```
///
/// Already-done futures first, then completion order:
///
/// ```
/// use concur_combinators::as_completed;
/// use concur_core::{Future, Promise};
///
/// let (p1, f1) = Promise::new();
/// let f2 = Future::ready(2);
/// let it = as_completed([&f1, &f2]);
/// p1.set_result(1).unwrap();
/// let values: Vec<i32> = it.map(|f| *f.result().unwrap()).collect();
/// assert_eq!(values, [2, 1]);
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<<I::Item as IntoFutureHandle>::Handle>
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let (handles, watcher) = Watcher::distinct(futures);
    AsCompleted {
        inner: Watched {
            watcher: Some(watcher),
            slots: handles.into_iter().map(Some).collect(),
            #[cfg(feature = "progress")]
            bar: None,
        },
    }
}

/// What both iterators share: the watcher and the handles not yet yielded.
struct Watched<H> {
    watcher: Option<Watcher>,
    /// The handle for each watcher token, taken out when yielded.
    slots: Vec<Option<H>>,
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
}

impl<H> Watched<H> {
    fn remaining(&self) -> usize {
        self.watcher.as_ref().map_or(0, Watcher::remaining)
    }

    #[cfg(feature = "progress")]
    fn set_progress(&mut self, bar: indicatif::ProgressBar) {
        bar.set_length(self.slots.len() as u64);
        self.bar = Some(bar);
    }

    fn end(&mut self) {
        // Dropping the watcher deregisters from the futures not yielded.
        self.watcher = None;
        self.slots = Vec::new();
        #[cfg(feature = "progress")]
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<H, Error>> {
        let watcher = self.watcher.as_mut()?;
        match watcher.next_until(deadline) {
            Ok(Some((token, _erased))) => {
                let h = self.slots[token]
                    .take()
                    .expect("the watcher yields each token once");
                #[cfg(feature = "progress")]
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                if self.remaining() == 0 {
                    self.end();
                }
                Some(Ok(h))
            }
            Ok(None) => {
                self.end();
                None
            }
            Err(e) => {
                self.end();
                Some(Err(e))
            }
        }
    }
}

/// The iterator [`as_completed`] returns: each handle as its future
/// completes. [`timeout`](Self::timeout) turns it into an
/// [`AsCompletedTimeout`].
///
/// # Examples
///
/// ```
/// let f = concur_core::Future::ready(5);
/// let mut it = concur_combinators::as_completed([f]);
/// assert_eq!(it.remaining(), 1);
/// assert_eq!(*it.next().unwrap().result().unwrap(), 5);
/// assert!(it.next().is_none());
/// ```
#[must_use = "iterators do nothing unless consumed"]
pub struct AsCompleted<H> {
    inner: Watched<H>,
}

impl<H> AsCompleted<H> {
    /// How many futures have not been yielded yet (0 once the iterator
    /// ended).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let it = concur_combinators::as_completed([f.clone(), f]);
    /// assert_eq!(it.remaining(), 1); // duplicates count once
    /// ```
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    /// Gives up waiting `timeout` after this call: the items become
    /// `Result`s, and if the deadline passes with futures still unfinished
    /// the iterator yields one `Err` of kind
    /// [`Timeout`](concur_core::ErrorKind::Timeout) whose message reads
    /// "2 (of 4) futures unfinished", then ends (CPython's
    /// `as_completed(fs, timeout)`; [`MapBuilder::timeout`] is the same
    /// shape for `map`).
    ///
    /// `Duration::ZERO` never blocks: it yields the futures done by now,
    /// then the `Err` if any are left. A timeout too long to add to the
    /// current [`Instant`] (such as `Duration::MAX`) is no limit.
    ///
    /// [`MapBuilder::timeout`]: crate::MapBuilder::timeout
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_combinators::as_completed;
    /// use concur_core::{Future, Promise};
    /// use std::time::Duration;
    ///
    /// let (_pending, slow) = Promise::<String>::new();
    /// let mixed = [Future::ready(1).erase(), slow.erase()];
    /// let mut it = as_completed(&mixed).timeout(Duration::from_millis(10));
    /// assert!(it.next().unwrap().is_ok());
    /// let err = it.next().unwrap().unwrap_err();
    /// assert_eq!(err.message(), "1 (of 2) futures unfinished");
    /// assert!(it.next().is_none());
    /// ```
    pub fn timeout(self, timeout: Duration) -> AsCompletedTimeout<H> {
        AsCompletedTimeout {
            inner: self.inner,
            deadline: deadline_after(Some(timeout)),
        }
    }

    /// Ticks `bar` once per yielded future (its length is set to the number
    /// of distinct futures) and finishes it when the iterator ends: the
    /// `tqdm(as_completed(...))` pattern.
    ///
    /// # Examples
    ///
    /// ```
    /// use indicatif::{ProgressBar, ProgressDrawTarget};
    /// let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    /// let fs = [concur_core::Future::ready(1), concur_core::Future::ready(2)];
    /// let n = concur_combinators::as_completed(&fs).with_progress(bar.clone()).count();
    /// assert_eq!((n, bar.position(), bar.length()), (2, 2, Some(2)));
    /// ```
    #[cfg(feature = "progress")]
    pub fn with_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.inner.set_progress(bar);
        self
    }
}

impl<H: FutureHandle> Iterator for AsCompleted<H> {
    type Item = H;

    fn next(&mut self) -> Option<H> {
        // Without a deadline the watcher never reports an error.
        self.inner.next_until(None).and_then(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}

impl<H: FutureHandle> ExactSizeIterator for AsCompleted<H> {}

impl<H: FutureHandle> std::iter::FusedIterator for AsCompleted<H> {}

impl<H> fmt::Debug for AsCompleted<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

/// The iterator [`AsCompleted::timeout`] returns: `Ok(handle)` per future
/// in completion order, or one final `Err` (kind
/// [`Timeout`](concur_core::ErrorKind::Timeout)) if the deadline passes.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let f = concur_core::Future::ready(5);
/// let mut it = concur_combinators::as_completed([f]).timeout(Duration::from_secs(5));
/// assert_eq!(it.remaining(), 1);
/// assert_eq!(*it.next().unwrap().unwrap().result().unwrap(), 5);
/// assert!(it.next().is_none());
/// ```
#[must_use = "iterators do nothing unless consumed"]
pub struct AsCompletedTimeout<H> {
    inner: Watched<H>,
    deadline: Option<Instant>,
}

impl<H> AsCompletedTimeout<H> {
    /// How many futures have not been yielded yet (0 once the iterator
    /// ended, also after a timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let mut it = concur_combinators::as_completed([f]).timeout(std::time::Duration::ZERO);
    /// assert_eq!(it.remaining(), 1);
    /// assert!(it.next().unwrap().unwrap_err().is_timeout());
    /// assert_eq!(it.remaining(), 0);
    /// ```
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    /// [`AsCompleted::with_progress`], after the timeout was set.
    ///
    /// # Examples
    ///
    /// ```
    /// use indicatif::{ProgressBar, ProgressDrawTarget};
    /// use std::time::Duration;
    /// let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    /// let fs = [concur_core::Future::ready(1)];
    /// let it = concur_combinators::as_completed(&fs).timeout(Duration::from_secs(5));
    /// assert_eq!(it.with_progress(bar.clone()).count(), 1);
    /// assert!(bar.is_finished());
    /// ```
    #[cfg(feature = "progress")]
    pub fn with_progress(mut self, bar: indicatif::ProgressBar) -> Self {
        self.inner.set_progress(bar);
        self
    }
}

impl<H: FutureHandle> Iterator for AsCompletedTimeout<H> {
    type Item = Result<H, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_until(self.deadline)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        if self.deadline.is_none() {
            (n, Some(n))
        } else {
            // A timeout may end it early, with one extra `Err` item.
            (0, Some(n + 1))
        }
    }
}

impl<H: FutureHandle> std::iter::FusedIterator for AsCompletedTimeout<H> {}

impl<H> fmt::Debug for AsCompletedTimeout<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("remaining", &self.remaining())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}
