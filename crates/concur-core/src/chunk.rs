//! [`ChunkOutcome`]: what one chunk of items produced (see
//! [`TaskExecutor::submit_chunk`](crate::TaskExecutor::submit_chunk)), in
//! one shape from where the items run to where they are consumed.

use crate::error::Error;
use std::fmt;
use std::iter::{FusedIterator, Peekable};
use std::time::Duration;
use std::vec;

/// The outcomes of a chunk of items: the values of the items that
/// succeeded, in input order, and the failures by position.
///
/// Kept apart rather than as a `Vec<Result<T, Error>>` so that a chunk of
/// `u64`s costs 8 bytes per item (not the size of `Result<u64, Error>`) and
/// a chunk whose items all succeeded is a plain `Vec<T>`
/// ([`into_parts`](Self::into_parts)). Item `i` is a failure if `i` is
/// among the failures' positions, else the next value; positions are
/// strictly ascending and below [`len`](Self::len), which every
/// constructor keeps.
///
/// # Examples
///
/// ```
/// use concur_core::{ChunkOutcome, Error};
///
/// let mut out = ChunkOutcome::with_capacity(3);
/// out.push_ok(10);
/// out.push_err(Error::task("no"));
/// out.push_ok(30);
/// assert_eq!((out.len(), out.is_all_ok()), (3, false));
/// assert_eq!(out.values(), [10, 30]);
/// assert_eq!(out.failures()[0].0, 1);
/// let items: Vec<_> = out.into_iter().map(|r| r.map_err(|e| e.to_string())).collect();
/// assert_eq!(items, [Ok(10), Err("task failed: no".into()), Ok(30)]);
/// ```
#[derive(Clone)]
pub struct ChunkOutcome<T> {
    values: Vec<T>,
    failures: Vec<(usize, Error)>,
    service: Option<Duration>,
}

impl<T> ChunkOutcome<T> {
    /// No items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::ChunkOutcome::<u8>::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            values: Vec::new(),
            failures: Vec::new(),
            service: None,
        }
    }

    /// No items yet, with room for `items` values.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = concur_core::ChunkOutcome::<u8>::with_capacity(8);
    /// assert_eq!(out.len(), 0);
    /// ```
    #[must_use]
    pub fn with_capacity(items: usize) -> Self {
        Self {
            values: Vec::with_capacity(items),
            failures: Vec::new(),
            service: None,
        }
    }

    /// Every item succeeded: `values` in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = concur_core::ChunkOutcome::from_values(vec![1, 2]);
    /// assert!(out.is_all_ok());
    /// assert_eq!(out.len(), 2);
    /// ```
    #[must_use]
    pub fn from_values(values: Vec<T>) -> Self {
        Self {
            values,
            failures: Vec::new(),
            service: None,
        }
    }

    /// A chunk that failed as a whole (cancelled, refused, its worker
    /// died): `error` for each of its `len` items.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{ChunkOutcome, Error};
    /// let out = ChunkOutcome::<u8>::failed(Error::cancelled(), 2);
    /// assert_eq!(out.len(), 2);
    /// assert!(out.into_iter().all(|r| r.unwrap_err().is_cancelled()));
    /// ```
    #[must_use]
    pub fn failed(error: Error, len: usize) -> Self {
        let mut failures = Vec::with_capacity(len);
        if let Some(last) = len.checked_sub(1) {
            failures.extend((0..last).map(|i| (i, error.clone())));
            failures.push((last, error));
        }
        Self {
            values: Vec::new(),
            failures,
            service: None,
        }
    }

    /// From its two halves: the values in input order and the failures by
    /// position. `None` unless the positions are strictly ascending and
    /// each is below `values.len() + failures.len()` (the chunk's length).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{ChunkOutcome, Error};
    /// let out = ChunkOutcome::from_parts(vec!['a', 'c'], vec![(1, Error::cancelled())]).unwrap();
    /// assert_eq!(out.len(), 3);
    /// assert!(out.get(1).unwrap().is_err());
    /// // Position 3 is past the end of a chunk of 3 items.
    /// assert!(ChunkOutcome::from_parts(vec!['a', 'c'], vec![(3, Error::cancelled())]).is_none());
    /// ```
    #[must_use]
    pub fn from_parts(values: Vec<T>, failures: Vec<(usize, Error)>) -> Option<Self> {
        let len = values.len().checked_add(failures.len())?;
        let ascending = failures.windows(2).all(|w| w[0].0 < w[1].0);
        let in_range = failures.last().is_none_or(|(at, _)| *at < len);
        (ascending && in_range).then_some(Self {
            values,
            failures,
            service: None,
        })
    }

    /// Appends the next item's value.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::new();
    /// out.push_ok("x");
    /// assert_eq!(out.values(), ["x"]);
    /// ```
    pub fn push_ok(&mut self, value: T) {
        self.values.push(value);
    }

    /// Appends the values of the next items, in order. Values produced
    /// before a panic in `values` stay appended (as with `Vec::extend`), so
    /// a caller that catches the panic can record the failing item next
    /// with [`push_err`](Self::push_err) and go on.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::new();
    /// out.extend_values([1, 2]);
    /// out.push_err(concur_core::Error::cancelled());
    /// out.extend_values([4]);
    /// assert_eq!((out.len(), out.values()), (4, &[1, 2, 4][..]));
    /// assert_eq!(out.failures()[0].0, 2);
    /// ```
    pub fn extend_values<I: IntoIterator<Item = T>>(&mut self, values: I) {
        self.values.extend(values);
    }

    /// Appends the next item's failure (at position [`len`](Self::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::<u8>::new();
    /// out.push_ok(1);
    /// out.push_err(concur_core::Error::cancelled());
    /// assert_eq!(out.failures()[0].0, 1);
    /// ```
    pub fn push_err(&mut self, error: Error) {
        let at = self.len();
        self.failures.push((at, error));
    }

    /// Appends the next item's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::new();
    /// out.push(Ok(1u8));
    /// out.push(Err(concur_core::Error::cancelled()));
    /// assert_eq!(out.len(), 2);
    /// ```
    pub fn push(&mut self, outcome: Result<T, Error>) {
        match outcome {
            Ok(v) => self.push_ok(v),
            Err(e) => self.push_err(e),
        }
    }

    /// How long the chunk took where it ran (its worker's time on it,
    /// plus, for a remote executor, the round trip), if the executor
    /// measured it: what adaptive chunk sizing
    /// (`concur_combinators`' `map` without a `chunksize`) learns from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut out = concur_core::ChunkOutcome::from_values(vec![1u8]);
    /// assert_eq!(out.service_time(), None);
    /// out.set_service_time(Duration::from_micros(5));
    /// assert_eq!(out.service_time(), Some(Duration::from_micros(5)));
    /// ```
    #[must_use]
    pub fn service_time(&self) -> Option<Duration> {
        self.service
    }

    /// Records [`service_time`](Self::service_time) (an executor does, for
    /// the chunks it runs).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::<u8>::new();
    /// out.set_service_time(std::time::Duration::ZERO);
    /// assert!(out.service_time().is_some());
    /// ```
    pub fn set_service_time(&mut self, d: Duration) {
        self.service = Some(d);
    }

    /// The number of items (values and failures).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = concur_core::ChunkOutcome::<u8>::failed(concur_core::Error::cancelled(), 4);
    /// assert_eq!(out.len(), 4);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.values.len() + self.failures.len()
    }

    /// Whether the chunk has no items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::ChunkOutcome::<u8>::from_values(vec![]).is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every item succeeded (also for an empty chunk).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{ChunkOutcome, Error};
    /// assert!(ChunkOutcome::from_values(vec![1]).is_all_ok());
    /// assert!(!ChunkOutcome::<u8>::failed(Error::cancelled(), 1).is_all_ok());
    /// ```
    #[must_use]
    pub fn is_all_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The values of the items that succeeded, in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_core::ChunkOutcome<u8> =
    ///     [Ok(1), Err(concur_core::Error::cancelled()), Ok(3)].into_iter().collect();
    /// assert_eq!(out.values(), [1, 3]);
    /// ```
    #[must_use]
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// The failed items: `(position, error)`, positions ascending.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_core::ChunkOutcome<u8> =
    ///     [Ok(1), Err(concur_core::Error::cancelled())].into_iter().collect();
    /// assert_eq!(out.failures().len(), 1);
    /// assert_eq!(out.failures()[0].0, 1);
    /// ```
    #[must_use]
    pub fn failures(&self) -> &[(usize, Error)] {
        &self.failures
    }

    /// Item `i`'s outcome, or `None` past the end.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_core::ChunkOutcome<u8> =
    ///     [Err(concur_core::Error::cancelled()), Ok(2)].into_iter().collect();
    /// assert!(out.get(0).unwrap().is_err());
    /// assert_eq!(out.get(1).unwrap().ok(), Some(&2));
    /// assert!(out.get(2).is_none());
    /// ```
    #[must_use]
    pub fn get(&self, i: usize) -> Option<Result<&T, &Error>> {
        match self.failures.binary_search_by_key(&i, |(at, _)| *at) {
            Ok(k) => Some(Err(&self.failures[k].1)),
            // `before` failures come before item `i`, so it is value `i - before`.
            Err(before) => self.values.get(i - before).map(Ok),
        }
    }

    /// Every item's outcome by reference, in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_core::ChunkOutcome<u8> =
    ///     [Ok(1), Err(concur_core::Error::cancelled()), Ok(3)].into_iter().collect();
    /// let oks: Vec<bool> = out.iter().map(|r| r.is_ok()).collect();
    /// assert_eq!(oks, [true, false, true]);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Result<&T, &Error>> + '_ {
        Merge {
            values: self.values.iter(),
            failures: self.failures.iter().map(|(at, e)| (*at, e)).peekable(),
            pos: 0,
        }
    }

    /// The two halves: the values in input order and the failures by
    /// position (ascending). For a chunk whose items all succeeded the
    /// values are the whole chunk.
    ///
    /// # Examples
    ///
    /// ```
    /// let out = concur_core::ChunkOutcome::from_values(vec![1, 2]);
    /// let (values, failures) = out.into_parts();
    /// assert_eq!(values, [1, 2]);
    /// assert!(failures.is_empty());
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (Vec<T>, Vec<(usize, Error)>) {
        (self.values, self.failures)
    }

    /// Every item's outcome, in input order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_core::ChunkOutcome::new();
    /// out.push_ok(5u8);
    /// out.push_err(concur_core::Error::cancelled());
    /// let results = out.into_results();
    /// assert_eq!(*results[0].as_ref().unwrap(), 5);
    /// assert!(results[1].as_ref().unwrap_err().is_cancelled());
    /// ```
    #[must_use]
    pub fn into_results(self) -> Vec<Result<T, Error>> {
        self.into_iter().collect()
    }
}

impl<T> Default for ChunkOutcome<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for ChunkOutcome<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T> FromIterator<Result<T, Error>> for ChunkOutcome<T> {
    fn from_iter<I: IntoIterator<Item = Result<T, Error>>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut out = Self::with_capacity(iter.size_hint().0);
        for r in iter {
            out.push(r);
        }
        out
    }
}

impl<T> Extend<Result<T, Error>> for ChunkOutcome<T> {
    fn extend<I: IntoIterator<Item = Result<T, Error>>>(&mut self, iter: I) {
        for r in iter {
            self.push(r);
        }
    }
}

impl<T> IntoIterator for ChunkOutcome<T> {
    type Item = Result<T, Error>;
    type IntoIter = ChunkOutcomeIter<T>;

    fn into_iter(self) -> ChunkOutcomeIter<T> {
        ChunkOutcomeIter(Merge {
            values: self.values.into_iter(),
            failures: self.failures.into_iter().peekable(),
            pos: 0,
        })
    }
}

/// The items of a [`ChunkOutcome`] by value, in input order: `Ok` for each
/// value, `Err` for each failure at its position.
///
/// # Examples
///
/// ```
/// use concur_core::{ChunkOutcome, Error};
/// let out: ChunkOutcome<u8> = [Ok(1), Err(Error::cancelled())].into_iter().collect();
/// let mut it = out.into_iter();
/// assert_eq!(it.len(), 2);
/// assert_eq!(it.next().unwrap().unwrap(), 1);
/// assert!(it.next().unwrap().is_err());
/// assert!(it.next().is_none());
/// ```
pub struct ChunkOutcomeIter<T>(Merge<vec::IntoIter<T>, vec::IntoIter<(usize, Error)>>);

impl<T> Iterator for ChunkOutcomeIter<T> {
    type Item = Result<T, Error>;

    #[inline]
    fn next(&mut self) -> Option<Result<T, Error>> {
        self.0.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl<T> ExactSizeIterator for ChunkOutcomeIter<T> {}
impl<T> FusedIterator for ChunkOutcomeIter<T> {}

impl<T: fmt::Debug> fmt::Debug for ChunkOutcomeIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkOutcomeIter")
            .field("values", &self.0.values.as_slice())
            .field("failures", &self.0.failures.len())
            .finish_non_exhaustive()
    }
}

/// Interleaves values and positioned failures back into input order.
struct Merge<V, F: Iterator> {
    values: V,
    failures: Peekable<F>,
    /// Position of the next item.
    pos: usize,
}

impl<V, E, F> Iterator for Merge<V, F>
where
    V: ExactSizeIterator,
    F: ExactSizeIterator<Item = (usize, E)>,
{
    type Item = Result<V::Item, E>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let i = self.pos;
        self.pos += 1;
        match self.failures.next_if(|(at, _)| *at == i) {
            Some((_, e)) => Some(Err(e)),
            // The positions are below the length, so values run out only
            // after the last failure.
            None => self.values.next().map(Ok),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.values.len() + self.failures.len();
        (n, Some(n))
    }
}

impl<V, E, F> ExactSizeIterator for Merge<V, F>
where
    V: ExactSizeIterator,
    F: ExactSizeIterator<Item = (usize, E)>,
{
}
