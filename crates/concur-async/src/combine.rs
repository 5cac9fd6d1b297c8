//! Waiting on many concur futures from async code: [`as_completed`] (a
//! [`Stream`]), [`gather`] and [`wait`], the async twins of
//! `concur_combinators::{as_completed, wait}` taking the same inputs
//! ([`IntoFutureHandle`]: `Future<T>`, `&Future<T>`, `AnyFuture`,
//! `&AnyFuture`, and here also [`WrappedFuture<T>`]) and the same
//! timeouts.
//!
//! All three are built on [`Watcher::poll_next`]: O(1) work per completion,
//! and the waker registration is core's (register, then re-check under the
//! completer's lock), so a completion that races a poll is never missed.
//! Timeouts run on concur-core's one timer thread
//! ([`concur_core::timer`]), not on a runtime's timer: they work the same
//! under tokio, smol and `futures::executor`, and a timeout that is never
//! reached costs one cancelled timer entry.

use crate::WrappedFuture;
use crate::deadline::Deadline;
use concur_core::{DoneAndNotDone, ReturnWhen};
use concur_core::{Error, Future, FutureHandle, FutureOutput, IntoFutureHandle, Watcher};
use futures_core::{FusedStream, Stream};
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

fn watch_all<H: FutureHandle>(hs: &[H]) -> Watcher {
    let mut w = Watcher::new();
    for h in hs {
        w.watch(h.to_any());
    }
    w
}

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
/// on a yielded [`Future`] or [`WrappedFuture`] returns at once and moves
/// the value out (prefer it to [`Future::into_result`], which parks the
/// thread for as long as done-callbacks of the future still run), and
/// [`Future::result`] borrows it. Without a timeout the items are the
/// handles themselves; [`AsCompleted::timeout`] makes them `Result`s.
///
/// The stream holds the handles it has not yielded yet and drops them when
/// dropped: plain futures are left running, [`WrappedFuture`]s keep their
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
    let handles = concur_core::dedup_handles(fs);
    AsCompleted {
        watcher: Some(watch_all(&handles)),
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
    /// pending [`WrappedFuture`] is cancelled if not started). The
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

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::RaiseFirst {}
    impl Sealed for super::CollectAll {}
    impl<T: Send + 'static> Sealed for concur_core::Future<T> {}
    impl<T: Send + 'static> Sealed for crate::WrappedFuture<T> {}
}

/// How [`gather`] treats a failed future: [`RaiseFirst`] or [`CollectAll`].
///
/// Sealed; the policy decides the output type.
///
/// # Examples
///
/// ```
/// use concur_async::{gather, CollectAll, GatherPolicy, RaiseFirst};
/// use concur_core::Future;
///
/// fn all<P: GatherPolicy>(policy: P) -> P::Output<u8> {
///     futures::executor::block_on(gather(vec![Future::ready(1u8)], policy))
/// }
/// assert_eq!(all(RaiseFirst).unwrap(), [1]);
/// assert_eq!(*all(CollectAll)[0].as_ref().unwrap(), 1);
/// ```
pub trait GatherPolicy: sealed::Sealed + Send + 'static {
    /// What `gather` resolves to for futures of `T`.
    type Output<T>;
    #[doc(hidden)]
    const STOP_ON_ERROR: bool;
    #[doc(hidden)]
    fn finish<T>(outcomes: Vec<Result<T, Error>>) -> Self::Output<T>;
}

/// [`gather`] policy: resolve to `Result<Vec<T>, Error>`, failing with the
/// first error as soon as a future fails (asyncio's
/// `return_exceptions=False`). The other futures are not cancelled
/// (asyncio's rule), except [`WrappedFuture`]s, which `gather` then drops
/// and which keep their cancel-on-drop rule.
///
/// # Examples
///
/// ```
/// use concur_async::{gather, RaiseFirst};
/// use concur_core::{Error, Future};
///
/// let fs = vec![Future::ready(1), Future::from_error(Error::task("bad")), Future::ready(3)];
/// let err = futures::executor::block_on(gather(fs, RaiseFirst)).unwrap_err();
/// assert_eq!(err.to_string(), "task failed: bad");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaiseFirst;

/// [`gather`] policy: wait for every future and resolve to one
/// `Result<T, Error>` per future, in input order (asyncio's
/// `return_exceptions=True`).
///
/// # Examples
///
/// ```
/// use concur_async::{gather, CollectAll};
/// use concur_core::{Error, Future};
///
/// let fs = vec![Future::ready(1), Future::from_error(Error::task("bad"))];
/// let out = futures::executor::block_on(gather(fs, CollectAll));
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert!(out[1].is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectAll;

impl GatherPolicy for RaiseFirst {
    type Output<T> = Result<Vec<T>, Error>;
    const STOP_ON_ERROR: bool = true;
    fn finish<T>(outcomes: Vec<Result<T, Error>>) -> Self::Output<T> {
        outcomes.into_iter().collect()
    }
}

impl GatherPolicy for CollectAll {
    type Output<T> = Vec<Result<T, Error>>;
    const STOP_ON_ERROR: bool = false;
    fn finish<T>(outcomes: Vec<Result<T, Error>>) -> Self::Output<T> {
        outcomes
    }
}

/// What [`gather`] accepts, item by item: an owned [`Future<T>`] or an
/// owned [`WrappedFuture<T>`] (from [`run_in_executor`](crate::run_in_executor)
/// and friends, keeping its cancel-on-drop rule).
///
/// `gather` moves each value out, so it takes owned handles only: a
/// `&Future<T>` would have to be cloned, and a clone alive keeps the value
/// from being moved out. To gather futures you keep, await the borrows
/// (`(&f).await`, which needs `T: Sync`) or clone the values yourself.
///
/// Sealed: implemented for those two types.
///
/// # Examples
///
/// ```
/// use concur_async::{gather, run_in_executor, RaiseFirst};
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let out = futures::executor::block_on(gather(
///     vec![run_in_executor(&pool, || 1), run_in_executor(&pool, || 2)],
///     RaiseFirst,
/// ));
/// assert_eq!(out.unwrap(), [1, 2]);
/// ```
///
/// Borrowed futures are refused at compile time:
///
/// ```compile_fail
/// use concur_async::{gather, RaiseFirst};
/// let fs = vec![concur_core::Future::ready(1)];
/// let _ = gather(&fs, RaiseFirst);
/// ```
#[diagnostic::on_unimplemented(
    message = "`gather` takes owned futures: `{Self}` is not a `Future<T>` or `WrappedFuture<T>`",
    label = "gather moves each value out, so it cannot take a borrowed or erased future",
    note = "pass the futures by value (`gather(futs, ..)`, not `gather(&futs, ..)`); to keep them, await borrows instead: `(&f).await`"
)]
pub trait GatherInput: sealed::Sealed {
    /// The value type.
    type Output: Send + 'static;
    #[doc(hidden)]
    /// The awaitable moving the value out (`None`: already taken), and
    /// whether dropping it unresolved cancels the task.
    fn into_output(self) -> (Option<FutureOutput<Self::Output>>, bool);
}

impl<T: Send + 'static> GatherInput for Future<T> {
    type Output = T;
    fn into_output(self) -> (Option<FutureOutput<T>>, bool) {
        (Some(self.into_future()), false)
    }
}

impl<T: Send + 'static> GatherInput for WrappedFuture<T> {
    type Output = T;
    fn into_output(self) -> (Option<FutureOutput<T>>, bool) {
        (WrappedFuture::into_output(self), true)
    }
}

/// One gathered future's awaitable, with its drop rule.
struct Source<T: Send + 'static> {
    out: FutureOutput<T>,
    cancel_on_drop: bool,
}

impl<T: Send + 'static> Source<T> {
    fn cancel(&self) {
        if let Some(f) = self.out.get_ref() {
            f.cancel();
        }
    }
}

impl<T: Send + 'static> Drop for Source<T> {
    fn drop(&mut self) {
        if self.cancel_on_drop {
            self.cancel();
        }
    }
}

enum Slot<T: Send + 'static> {
    /// Not done yet (watched).
    Waiting(Source<T>),
    /// Done; its outcome is being moved out through core's non-blocking
    /// awaitable (pending only while done-callbacks still borrow it).
    Taking(Source<T>),
    Done(Result<T, Error>),
}

/// The awaitable returned by [`gather`].
///
/// # Examples
///
/// ```
/// use concur_async::{gather, CollectAll};
/// let g = gather(vec![concur_core::Future::ready(1u8)], CollectAll);
/// assert_eq!(futures::executor::block_on(g).len(), 1);
/// ```
#[must_use = "dropping an unresolved Gather cancels the futures that have not started"]
pub struct Gather<T: Send + 'static, P: GatherPolicy> {
    watcher: Watcher,
    slots: Vec<Slot<T>>,
    /// The slot of each watcher token.
    token_slot: Vec<usize>,
    /// Slots in the `Taking` state.
    taking: Vec<usize>,
    /// The error for an input already resolved when given, which fails a
    /// [`RaiseFirst`] gather on its first poll.
    taken_input: Option<Error>,
    deadline: Deadline,
    resolved: bool,
    _policy: std::marker::PhantomData<fn() -> P>,
}

// The values are never pinned: `Gather` only moves them out.
impl<T: Send + 'static, P: GatherPolicy> Unpin for Gather<T, P> {}

/// Waits for all of `fs` and resolves to their values in input order:
/// asyncio's `gather`. `policy` is [`RaiseFirst`] (`Result<Vec<T>, Error>`,
/// failing with the first error as soon as it happens) or [`CollectAll`]
/// (`Vec<Result<T, Error>>` once every future is done).
///
/// `fs` holds owned [`Future<T>`]s or [`WrappedFuture<T>`]s (what
/// [`run_in_executor`](crate::run_in_executor) returns; no `.detach()`
/// needed), see [`GatherInput`]. Values are moved out, like
/// [`Future::into_result`]: a future whose other clones are still alive
/// gives an [`InvalidState`](concur_core::ErrorKind) error instead of its
/// value (duplicates in `fs` too). An empty `fs` resolves at once to an
/// empty vector. [`Gather::timeout`] bounds the wait.
///
/// # Cancellation
///
/// As in asyncio, dropping the [`Gather`] before it resolved cancels every
/// future that has not started (the others run on); so does a timeout.
/// After it resolved, dropping it changes nothing. A [`RaiseFirst`] early
/// error cancels no plain future, but the [`WrappedFuture`]s still pending
/// are dropped with the `Gather`'s state and keep their own rule: a task
/// not started is cancelled.
///
/// # Examples
///
/// ```
/// use concur_async::{gather, run_in_executor, RaiseFirst};
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let all = futures::executor::block_on(async {
///     let tasks = (0..4u64).map(|i| run_in_executor(&pool, move || i * i));
///     gather(tasks, RaiseFirst).await
/// });
/// assert_eq!(all.unwrap(), [0, 1, 4, 9]);
/// ```
pub fn gather<I, P>(fs: I, policy: P) -> Gather<<I::Item as GatherInput>::Output, P>
where
    I: IntoIterator,
    I::Item: GatherInput,
    P: GatherPolicy,
{
    let _ = policy;
    let mut watcher = Watcher::new();
    let mut slots = Vec::new();
    let mut token_slot = Vec::new();
    let mut taken_input = None;
    for f in fs {
        let (out, cancel_on_drop) = f.into_output();
        let Some(out) = out else {
            let e = Error::invalid_state("the WrappedFuture already resolved: its value was taken");
            taken_input.get_or_insert_with(|| e.clone());
            slots.push(Slot::Done(Err(e)));
            continue;
        };
        let any = out.get_ref().expect("not resolved").erase();
        watcher.watch(any);
        token_slot.push(slots.len());
        slots.push(Slot::Waiting(Source {
            out,
            cancel_on_drop,
        }));
    }
    Gather {
        watcher,
        slots,
        token_slot,
        taking: Vec::new(),
        taken_input,
        deadline: Deadline::never(),
        resolved: false,
        _policy: std::marker::PhantomData,
    }
}

impl<T: Send + 'static, P: GatherPolicy> Gather<T, P> {
    /// Gives up `timeout` after this call if not every future is done by
    /// then: [`RaiseFirst`] resolves to an `Err` of kind
    /// [`Timeout`](concur_core::ErrorKind::Timeout) ("2 (of 4) futures
    /// unfinished"), [`CollectAll`] to the outcomes with that error in
    /// place of each future not done. Either way the futures not started
    /// are cancelled, as dropping the `Gather` would (asyncio's
    /// `wait_for(gather(..), timeout)`).
    ///
    /// `Duration::ZERO` never waits (what is done by now counts); a timeout
    /// too long to add to the current [`Instant`](std::time::Instant) (such
    /// as `Duration::MAX`) is no limit. The deadline is kept by concur's
    /// timer thread, under any runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_async::{gather, CollectAll, RaiseFirst};
    /// use concur_core::{Future, Promise};
    /// use std::time::Duration;
    ///
    /// let (_p, pending) = Promise::<u8>::new();
    /// let keep = pending.clone();
    /// let g = gather(vec![Future::ready(1), pending], RaiseFirst).timeout(Duration::from_millis(10));
    /// let err = futures::executor::block_on(g).unwrap_err();
    /// assert!(err.is_timeout());
    /// assert!(keep.cancelled());
    ///
    /// let (_p, pending) = Promise::<u8>::new();
    /// let g = gather(vec![Future::ready(1), pending], CollectAll).timeout(Duration::ZERO);
    /// let out = futures::executor::block_on(g);
    /// assert_eq!(*out[0].as_ref().unwrap(), 1);
    /// assert!(out[1].as_ref().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Deadline::after(timeout);
        self
    }

    /// Resolves with what is done now and `error` for the rest, cancelling
    /// the futures not started.
    fn give_up(&mut self, error: Error) -> P::Output<T> {
        self.resolved = true;
        let outcomes = std::mem::take(&mut self.slots)
            .into_iter()
            .map(|s| match s {
                Slot::Done(o) => o,
                Slot::Waiting(src) | Slot::Taking(src) => {
                    src.cancel();
                    Err(error.clone())
                }
            })
            .collect();
        P::finish(outcomes)
    }
}

impl<T: Send + 'static, P: GatherPolicy> std::future::Future for Gather<T, P> {
    type Output = P::Output<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.resolved {
            return Poll::Ready(P::finish(vec![Err(Error::invalid_state(
                "polled after completion",
            ))]));
        }
        if P::STOP_ON_ERROR {
            // A wrapper that had already resolved when given.
            if let Some(e) = this.taken_input.take() {
                this.resolved = true;
                this.slots = Vec::new();
                return Poll::Ready(P::finish(vec![Err(e)]));
            }
        }
        // Every newly completed future starts handing its outcome over.
        let mut all_yielded = false;
        loop {
            match this.watcher.poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    all_yielded = true;
                    break;
                }
                Poll::Ready(Some((token, _))) => {
                    let i = this.token_slot[token];
                    let slot = std::mem::replace(
                        &mut this.slots[i],
                        Slot::Done(Err(Error::invalid_state("taken"))),
                    );
                    let Slot::Waiting(src) = slot else {
                        unreachable!("the watcher yields each token once")
                    };
                    this.slots[i] = Slot::Taking(src);
                    this.taking.push(i);
                }
            }
        }
        // Move the outcomes out without blocking the event loop.
        let mut k = 0;
        while k < this.taking.len() {
            let i = this.taking[k];
            let Slot::Taking(src) = &mut this.slots[i] else {
                unreachable!("`taking` lists only slots in the Taking state")
            };
            match Pin::new(&mut src.out).poll(cx) {
                Poll::Pending => k += 1,
                Poll::Ready(outcome) => {
                    this.taking.swap_remove(k);
                    if P::STOP_ON_ERROR {
                        if let Err(e) = &outcome {
                            this.resolved = true;
                            // Dropping the rest: wrapped futures cancel.
                            this.slots = Vec::new();
                            return Poll::Ready(P::finish(vec![Err(e.clone())]));
                        }
                    }
                    this.slots[i] = Slot::Done(outcome);
                }
            }
        }
        if !all_yielded || !this.taking.is_empty() {
            return match this.deadline.poll_passed(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(passed) => {
                    let error = passed.err().unwrap_or_else(|| this.watcher.timeout_error());
                    Poll::Ready(this.give_up(error))
                }
            };
        }
        this.resolved = true;
        let outcomes = std::mem::take(&mut this.slots)
            .into_iter()
            .map(|s| match s {
                Slot::Done(o) => o,
                Slot::Waiting(_) | Slot::Taking(_) => unreachable!("every outcome was taken"),
            })
            .collect();
        Poll::Ready(P::finish(outcomes))
    }
}

impl<T: Send + 'static, P: GatherPolicy> futures_core::FusedFuture for Gather<T, P> {
    fn is_terminated(&self) -> bool {
        self.resolved
    }
}

impl<T: Send + 'static, P: GatherPolicy> Drop for Gather<T, P> {
    fn drop(&mut self) {
        if self.resolved {
            return;
        }
        for slot in &self.slots {
            if let Slot::Waiting(src) = slot {
                src.cancel();
            }
        }
    }
}

impl<T: Send + 'static, P: GatherPolicy> fmt::Debug for Gather<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("total", &self.slots.len())
            .field("remaining", &self.watcher.remaining())
            .field("deadline", &self.deadline)
            .field("resolved", &self.resolved)
            .finish()
    }
}

/// The awaitable returned by [`wait`].
///
/// # Examples
///
/// ```
/// use concur_async::{wait, ReturnWhen};
/// let w = wait(Vec::<concur_core::Future<u8>>::new(), None, ReturnWhen::FirstCompleted);
/// assert!(futures::executor::block_on(w).0.is_empty());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<H> {
    watcher: Option<Watcher>,
    handles: Vec<H>,
    is_done: Vec<bool>,
    done_count: usize,
    failed: bool,
    return_when: ReturnWhen,
    deadline: Deadline,
}

// The handles are never pinned: they are only moved out.
impl<H> Unpin for Wait<H> {}

/// Waits until `return_when` holds for `fs`, or until `timeout` (counted
/// from this call; `None`: no limit): the async form of
/// `concurrent.futures.wait`, with the signature, inputs, [`ReturnWhen`]
/// and `(done, not_done)` shape of the blocking `concur_combinators::wait`
/// (the condition itself is [`ReturnWhen::holds`], shared by both).
///
/// * Resolves to the done and the not-done handles, each in input order
///   (duplicates kept once). An empty `fs` resolves at once.
/// * A timeout is not an error: whatever is done by then is in `done`.
///   `Some(Duration::ZERO)` never waits (a snapshot of what is done now);
///   a timeout too long to add to the current
///   [`Instant`](std::time::Instant) (such as `Duration::MAX`) is the same
///   as `None`. The deadline is kept by concur's timer thread, under any
///   runtime (should that thread fail to start, `wait` resolves at once).
/// * Nothing is cancelled. Dropping the [`Wait`] drops the handles it
///   holds: plain futures run on, [`WrappedFuture`]s keep their
///   cancel-on-drop rule.
///
/// # Examples
///
/// ```
/// use concur_async::{run_in_executor, wait, ReturnWhen};
/// use concur_thread::ThreadPool;
/// use std::time::Duration;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let (done, not_done) = futures::executor::block_on(async {
///     let quick = run_in_executor(&pool, || 7);
///     let slow = run_in_executor(&pool, || std::thread::sleep(Duration::from_millis(200)));
///     let (done, not_done) =
///         wait(vec![quick], Some(Duration::from_secs(5)), ReturnWhen::AllCompleted).await;
///     let (_, still) = wait(vec![slow], Some(Duration::ZERO), ReturnWhen::AllCompleted).await;
///     assert_eq!(still.len(), 1);
///     (done, not_done)
/// });
/// assert_eq!((done.len(), not_done.len()), (1, 0));
/// ```
pub fn wait<I>(
    fs: I,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> Wait<<I::Item as IntoFutureHandle>::Handle>
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let handles = concur_core::dedup_handles(fs);
    Wait {
        watcher: Some(watch_all(&handles)),
        is_done: vec![false; handles.len()],
        handles,
        done_count: 0,
        failed: false,
        return_when,
        deadline: Deadline::after_opt(timeout),
    }
}

impl<H> std::future::Future for Wait<H> {
    type Output = DoneAndNotDone<H>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(watcher) = this.watcher.as_mut() else {
            return Poll::Ready((Vec::new(), Vec::new()));
        };
        loop {
            match watcher.poll_next(cx) {
                Poll::Pending | Poll::Ready(None) => break,
                Poll::Ready(Some((token, f))) => {
                    this.is_done[token] = true;
                    this.done_count += 1;
                    this.failed |= f.failed();
                }
            }
        }
        let total = this.handles.len();
        if !this.return_when.holds(this.done_count, total, this.failed)
            && this.deadline.poll_passed(cx).is_pending()
        {
            return Poll::Pending;
        }
        this.watcher = None;
        let mut done = Vec::with_capacity(this.done_count);
        let mut not_done = Vec::with_capacity(total - this.done_count);
        for (h, d) in std::mem::take(&mut this.handles)
            .into_iter()
            .zip(&this.is_done)
        {
            if *d {
                done.push(h);
            } else {
                not_done.push(h);
            }
        }
        Poll::Ready((done, not_done))
    }
}

impl<H> futures_core::FusedFuture for Wait<H> {
    fn is_terminated(&self) -> bool {
        self.watcher.is_none()
    }
}

impl<H> fmt::Debug for Wait<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("return_when", &self.return_when)
            .field("done", &self.done_count)
            .field("total", &self.handles.len())
            .field("deadline", &self.deadline)
            .finish()
    }
}
