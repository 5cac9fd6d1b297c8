//! [`as_completed`]: a [`Stream`] of concur futures in completion order,
//! the async twin of `concur_combinators::as_completed`, taking the same
//! inputs ([`IntoFutureHandle`]: `Future<T>`, `&Future<T>`, `AnyFuture`,
//! `&AnyFuture`, and here also [`WrappedFuture<T>`](crate::WrappedFuture)) and the same timeout.
//!
//! Built on [`Watcher::poll_next`]: O(1) work per completion, and the
//! waker registration is core's (register, then re-check under the
//! completer's lock), so a completion that races a poll is never missed.
//! The timeout runs on concur-core's one timer thread (`deadline.rs`),
//! under any runtime.

use crate::deadline::Deadline;
use concur_core::{Error, IntoFutureHandle, Watcher};
use futures_core::{FusedStream, Stream};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A [`Stream`] of handles in the order their futures complete; see
/// [`as_completed`]. [`timeout`](Self::timeout) turns it into an
/// [`AsCompletedTimeout`].
///
/// # Examples
///
/// ```
/// use concur_async::as_completed;
/// use futures::StreamExt;
///
/// let fs = vec![concur_core::Future::ready(1), concur_core::Future::ready(2)];
/// let n = futures::executor::block_on(as_completed(fs).count());
/// assert_eq!(n, 2);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<H> {
    /// `None` once ended.
    watcher: Option<Watcher>,
    slots: Vec<Option<H>>,
}

// The handles are never pinned: they are only moved out.
impl<H> Unpin for AsCompleted<H> {}

/// Yields each of `fs` as it completes (finishes, fails or is cancelled):
/// the async form of `concurrent.futures.as_completed` and of
/// `concur_combinators::as_completed`, taking the same inputs.
///
/// Futures already done come first, in the order given; duplicates (clones
/// of one future) are yielded once. Each yielded handle is done: `.await`
/// on a yielded [`Future`](concur_core::Future) or [`WrappedFuture`](crate::WrappedFuture) returns at once and moves
/// the value out (prefer it to [`Future::into_result`](concur_core::Future::into_result), which parks the
/// thread for as long as done-callbacks of the future still run), and
/// [`Future::result`](concur_core::Future::result) borrows it. Without a timeout the items are the
/// handles themselves; [`AsCompleted::timeout`] makes them `Result`s.
///
/// The stream holds the handles it has not yielded yet and drops them when
/// dropped: plain futures are left running, [`WrappedFuture`](crate::WrappedFuture)s keep their
/// cancel-on-drop rule (a task not started is cancelled).
///
/// # Examples
///
/// ```
/// use concur_async::{as_completed, run_in_executor};
/// use concur_thread::ThreadPool;
/// use futures::StreamExt;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let sum = futures::executor::block_on(async {
///     let tasks = (1..=3u64).map(|i| run_in_executor(&pool, move || i * i));
///     let mut stream = as_completed(tasks);
///     let mut sum = 0;
///     while let Some(done) = stream.next().await {
///         sum += done.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 14);
/// ```
///
/// Completion order:
///
/// ```
/// use concur_async::as_completed;
/// use concur_core::Promise;
/// use futures::StreamExt;
///
/// let (slow_p, slow) = Promise::new();
/// let (fast_p, fast) = Promise::new();
/// let order = futures::executor::block_on(async move {
///     let mut stream = as_completed(vec![slow, fast]);
///     fast_p.set_result("fast").unwrap();
///     let first = stream.next().await.unwrap();
///     slow_p.set_result("slow").unwrap();
///     let second = stream.next().await.unwrap();
///     assert!(stream.next().await.is_none());
///     [first.await.unwrap(), second.await.unwrap()]
/// });
/// assert_eq!(order, ["fast", "slow"]);
/// ```
pub fn as_completed<I>(fs: I) -> AsCompleted<<I::Item as IntoFutureHandle>::Handle>
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let (handles, watcher) = Watcher::distinct(fs);
    AsCompleted {
        watcher: Some(watcher),
        slots: handles.into_iter().map(Some).collect(),
    }
}

impl<H> AsCompleted<H> {
    /// How many futures have not been yielded yet (0 once the stream
    /// ended).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = concur_async::as_completed(vec![concur_core::Future::ready(())]);
    /// assert_eq!(s.remaining(), 1);
    /// ```
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.watcher.as_ref().map_or(0, Watcher::remaining)
    }

    /// Gives up waiting `timeout` after this call: the items become
    /// `Result`s, and if the deadline passes with futures still unfinished
    /// the stream yields one `Err` of kind
    /// [`Timeout`](concur_core::ErrorKind::Timeout) ("2 (of 4) futures
    /// unfinished"), then ends, dropping the handles it still holds (a
    /// pending [`WrappedFuture`](crate::WrappedFuture) is cancelled if not started). The
    /// blocking `as_completed(fs).timeout(d)` has the same shape.
    ///
    /// `Duration::ZERO` never waits: the futures done by now, then the
    /// `Err` if any are left. A timeout too long to add to the current
    /// [`Instant`](std::time::Instant) (such as `Duration::MAX`) is no
    /// limit. The deadline is kept by concur's timer thread, under any
    /// runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_async::as_completed;
    /// use concur_core::{Future, Promise};
    /// use futures::StreamExt;
    /// use std::time::Duration;
    ///
    /// let (_never, pending) = Promise::<u8>::new();
    /// let items: Vec<_> = futures::executor::block_on(
    ///     as_completed(vec![Future::ready(1), pending])
    ///         .timeout(Duration::from_millis(10))
    ///         .collect(),
    /// );
    /// assert!(items[0].is_ok());
    /// assert_eq!(items[1].as_ref().unwrap_err().message(), "1 (of 2) futures unfinished");
    /// assert_eq!(items.len(), 2);
    /// ```
    pub fn timeout(self, timeout: Duration) -> AsCompletedTimeout<H> {
        AsCompletedTimeout {
            inner: self,
            deadline: Deadline::after(timeout),
        }
    }

    fn end(&mut self) {
        self.watcher = None;
        self.slots = Vec::new();
    }

    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Option<H>> {
        let Some(watcher) = self.watcher.as_mut() else {
            return Poll::Ready(None);
        };
        match watcher.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.end();
                Poll::Ready(None)
            }
            Poll::Ready(Some((token, _))) => {
                let h = self.slots[token]
                    .take()
                    .expect("the watcher yields each token once");
                if self.remaining() == 0 {
                    self.end();
                }
                Poll::Ready(Some(h))
            }
        }
    }
}

impl<H> Stream for AsCompleted<H> {
    type Item = H;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<H>> {
        self.get_mut().poll_inner(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        (n, Some(n))
    }
}

impl<H> FusedStream for AsCompleted<H> {
    fn is_terminated(&self) -> bool {
        self.remaining() == 0
    }
}

impl<H> fmt::Debug for AsCompleted<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining())
            .finish()
    }
}

/// The stream [`AsCompleted::timeout`] returns: `Ok(handle)` per future in
/// completion order, or one final `Err` (kind
/// [`Timeout`](concur_core::ErrorKind::Timeout)) if the deadline passes.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// let s = concur_async::as_completed(vec![concur_core::Future::ready(5)])
///     .timeout(Duration::from_secs(5));
/// let items: Vec<_> = futures::executor::block_on(s.collect());
/// assert_eq!(*items[0].as_ref().unwrap().result().unwrap(), 5);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompletedTimeout<H> {
    inner: AsCompleted<H>,
    deadline: Deadline,
}

impl<H> AsCompletedTimeout<H> {
    /// How many futures have not been yielded yet (0 once the stream ended,
    /// also after a timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let s = concur_async::as_completed([f]).timeout(std::time::Duration::ZERO);
    /// assert_eq!(s.remaining(), 1);
    /// ```
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.inner.remaining()
    }
}

impl<H> Stream for AsCompletedTimeout<H> {
    type Item = Result<H, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.inner.poll_inner(cx) {
            Poll::Ready(item) => Poll::Ready(item.map(Ok)),
            Poll::Pending => match this.deadline.poll_passed(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(passed) => {
                    let error = passed.err().unwrap_or_else(|| {
                        let w = this.inner.watcher.as_ref();
                        w.expect("pending, so not ended").timeout_error()
                    });
                    this.inner.end();
                    Poll::Ready(Some(Err(error)))
                }
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining();
        if self.deadline.is_limited() {
            // A timeout may end it early, with one extra `Err` item.
            (0, Some(n + 1))
        } else {
            (n, Some(n))
        }
    }
}

impl<H> FusedStream for AsCompletedTimeout<H> {
    fn is_terminated(&self) -> bool {
        self.inner.watcher.is_none()
    }
}

impl<H> fmt::Debug for AsCompletedTimeout<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("remaining", &self.remaining())
            .field("deadline", &self.deadline)
            .finish()
    }
}
