//! Waiting on many concur futures from async code: [`as_completed`] (a
//! [`Stream`]), [`gather`] and [`wait`].
//!
//! All three are built on [`Watcher::poll_next`]: O(1) work per completion,
//! and the waker registration is core's (register, then re-check under the
//! completer's lock), so a completion that races a poll is never missed.
//! None of them has a timeout of its own: the library has no timer, so wrap
//! them in your runtime's (`tokio::time::timeout`, `smol::Timer`).

use concur_core::{DoneAndNotDone, ReturnWhen};
use concur_core::{Error, Future, FutureOutput, Watcher};
use futures_core::{FusedStream, Stream};
use std::collections::HashSet;
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Keeps the first of each future (by [`Future::id`]), in order, as CPython
/// does with `set(fs)`.
fn dedup<T>(fs: impl IntoIterator<Item = Future<T>>) -> Vec<Future<T>> {
    let mut seen = HashSet::new();
    fs.into_iter().filter(|f| seen.insert(f.id())).collect()
}

fn watch_all<T: Send + 'static>(fs: &[Future<T>]) -> Watcher {
    let mut w = Watcher::new();
    for f in fs {
        w.watch(f.erase());
    }
    w
}

/// A [`Stream`] of futures in the order they complete; see [`as_completed`].
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
pub struct AsCompleted<T> {
    watcher: Watcher,
    futures: Vec<Option<Future<T>>>,
}

/// Yields each of `fs` as it completes (finishes, fails or is cancelled):
/// the async form of `concurrent.futures.as_completed`.
///
/// Futures already done come first, in the order given; duplicates (clones
/// of one future) are yielded once. Each yielded future is done, so
/// [`Future::result`] returns at once, and so does `.await` on it, which
/// moves the value out (prefer it to [`Future::into_result`], which parks
/// the thread for as long as done-callbacks of the future still run). The
/// stream holds the futures it has not yielded yet; dropping it cancels
/// nothing. For a timeout, wrap each `next()` in your runtime's timeout.
///
/// # Examples
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
///     [first.into_result().unwrap(), second.into_result().unwrap()]
/// });
/// assert_eq!(order, ["fast", "slow"]);
/// ```
pub fn as_completed<T: Send + 'static>(fs: impl IntoIterator<Item = Future<T>>) -> AsCompleted<T> {
    let futures = dedup(fs);
    AsCompleted {
        watcher: watch_all(&futures),
        futures: futures.into_iter().map(Some).collect(),
    }
}

impl<T> AsCompleted<T> {
    /// How many futures have not been yielded yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = concur_async::as_completed(vec![concur_core::Future::ready(())]);
    /// assert_eq!(s.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.watcher.remaining()
    }
}

impl<T> Stream for AsCompleted<T> {
    type Item = Future<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Future<T>>> {
        let this = self.get_mut();
        match this.watcher.poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some((token, _))) => Poll::Ready(Some(
                this.futures[token]
                    .take()
                    .expect("the watcher yields each token once"),
            )),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.watcher.remaining();
        (n, Some(n))
    }
}

impl<T> FusedStream for AsCompleted<T> {
    fn is_terminated(&self) -> bool {
        self.watcher.remaining() == 0
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.watcher.remaining())
            .finish()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::RaiseFirst {}
    impl Sealed for super::CollectAll {}
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
/// `return_exceptions=False`). The other futures are not cancelled.
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

enum Slot<T> {
    /// Not done yet (watched).
    Waiting(Future<T>),
    /// Done; its outcome is being moved out through core's non-blocking
    /// awaitable (pending only while done-callbacks still borrow it).
    Taking(FutureOutput<T>),
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
    /// Tokens in the `Taking` state.
    taking: Vec<usize>,
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
/// Values are moved out of the futures, like [`Future::into_result`]: a
/// future whose other clones are still alive gives an
/// [`InvalidState`](concur_core::ErrorKind) error instead of its value
/// (duplicates in `fs` too). An empty `fs` resolves at once to an empty
/// vector.
///
/// # Cancellation
///
/// As in asyncio, dropping the [`Gather`] before it resolved cancels every
/// future that has not started (the others run on). After it resolved,
/// including a [`RaiseFirst`] early error, dropping it changes nothing.
///
/// # Examples
///
/// ```
/// use concur_async::{gather, RaiseFirst};
/// use concur_core::Promise;
///
/// let (p1, f1) = Promise::new();
/// let (p2, f2) = Promise::new();
/// std::thread::spawn(move || {
///     p2.set_result(2).unwrap();
///     p1.set_result(1).unwrap();
/// });
/// let all = futures::executor::block_on(gather(vec![f1, f2], RaiseFirst)).unwrap();
/// assert_eq!(all, [1, 2]);
/// ```
pub fn gather<T, P>(fs: impl IntoIterator<Item = Future<T>>, policy: P) -> Gather<T, P>
where
    T: Send + 'static,
    P: GatherPolicy,
{
    let _ = policy;
    let fs: Vec<Future<T>> = fs.into_iter().collect();
    Gather {
        watcher: watch_all(&fs),
        slots: fs.into_iter().map(Slot::Waiting).collect(),
        taking: Vec::new(),
        resolved: false,
        _policy: std::marker::PhantomData,
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
                    let slot = std::mem::replace(
                        &mut this.slots[token],
                        Slot::Done(Err(Error::invalid_state("taken"))),
                    );
                    let Slot::Waiting(fut) = slot else {
                        unreachable!("the watcher yields each token once")
                    };
                    this.slots[token] = Slot::Taking(fut.into_future());
                    this.taking.push(token);
                }
            }
        }
        // Move the outcomes out without blocking the event loop.
        let mut i = 0;
        while i < this.taking.len() {
            let token = this.taking[i];
            let Slot::Taking(out) = &mut this.slots[token] else {
                unreachable!("`taking` lists only slots in the Taking state")
            };
            match Pin::new(out).poll(cx) {
                Poll::Pending => i += 1,
                Poll::Ready(outcome) => {
                    this.taking.swap_remove(i);
                    if P::STOP_ON_ERROR {
                        if let Err(e) = &outcome {
                            this.resolved = true;
                            return Poll::Ready(P::finish(vec![Err(e.clone())]));
                        }
                    }
                    this.slots[token] = Slot::Done(outcome);
                }
            }
        }
        if !all_yielded || !this.taking.is_empty() {
            return Poll::Pending;
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
            if let Slot::Waiting(f) = slot {
                f.cancel();
            }
        }
    }
}

impl<T: Send + 'static, P: GatherPolicy> fmt::Debug for Gather<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("total", &self.slots.len())
            .field("remaining", &self.watcher.remaining())
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
/// let w = wait(Vec::<concur_core::Future<u8>>::new(), ReturnWhen::FirstCompleted);
/// assert!(futures::executor::block_on(w).0.is_empty());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<T> {
    watcher: Option<Watcher>,
    futures: Vec<Future<T>>,
    is_done: Vec<bool>,
    done_count: usize,
    failed: bool,
    return_when: ReturnWhen,
}

/// Waits until `return_when` holds for `fs`: the async form of
/// `concurrent.futures.wait` (and of `concur_combinators::wait`, whose
/// [`ReturnWhen`] and `(done, not_done)` shape it shares). Resolves to the
/// done and the not-done futures, each in input order (duplicates kept
/// once). Nothing is cancelled, including when the [`Wait`] is dropped. An
/// empty `fs` resolves at once. For a timeout, wrap it in your runtime's
/// timeout.
///
/// # Examples
///
/// ```
/// use concur_async::{wait, ReturnWhen};
/// use concur_core::Promise;
///
/// let (_pending_p, pending) = Promise::<u8>::new();
/// let (p, f) = Promise::new();
/// std::thread::spawn(move || p.set_result(7).unwrap());
/// let (done, not_done) = futures::executor::block_on(wait(vec![pending, f], ReturnWhen::FirstCompleted));
/// assert_eq!(*done[0].result().unwrap(), 7);
/// assert_eq!(not_done.len(), 1);
/// ```
pub fn wait<T: Send + 'static>(
    fs: impl IntoIterator<Item = Future<T>>,
    return_when: ReturnWhen,
) -> Wait<T> {
    let futures = dedup(fs);
    Wait {
        watcher: Some(watch_all(&futures)),
        is_done: vec![false; futures.len()],
        futures,
        done_count: 0,
        failed: false,
        return_when,
    }
}

impl<T> std::future::Future for Wait<T> {
    type Output = DoneAndNotDone<Future<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(watcher) = this.watcher.as_mut() else {
            return Poll::Ready((Vec::new(), Vec::new()));
        };
        let mut all_done = false;
        loop {
            match watcher.poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    all_done = true;
                    break;
                }
                Poll::Ready(Some((token, _))) => {
                    this.is_done[token] = true;
                    this.done_count += 1;
                    this.failed |= is_failed(&this.futures[token]);
                }
            }
        }
        let ready = all_done
            || match this.return_when {
                ReturnWhen::FirstCompleted => this.done_count > 0,
                ReturnWhen::FirstException => this.failed,
                ReturnWhen::AllCompleted => false,
            };
        if !ready {
            return Poll::Pending;
        }
        this.watcher = None;
        let mut done = Vec::with_capacity(this.done_count);
        let mut not_done = Vec::with_capacity(this.futures.len() - this.done_count);
        for (f, d) in std::mem::take(&mut this.futures)
            .into_iter()
            .zip(&this.is_done)
        {
            if *d {
                done.push(f);
            } else {
                not_done.push(f);
            }
        }
        Poll::Ready((done, not_done))
    }
}

impl<T> futures_core::FusedFuture for Wait<T> {
    fn is_terminated(&self) -> bool {
        self.watcher.is_none()
    }
}

fn is_failed<T>(f: &Future<T>) -> bool {
    f.state() == concur_core::State::Failed
}

impl<T> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("return_when", &self.return_when)
            .field("done", &self.done_count)
            .field("total", &self.futures.len())
            .finish()
    }
}
