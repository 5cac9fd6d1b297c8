//! [`gather`]: asyncio's `gather` over owned concur futures
//! ([`GatherInput`]), with a [`GatherPolicy`] ([`RaiseFirst`] or
//! [`CollectAll`]) and an optional timeout.
//!
//! Built on [`Watcher::poll_next`] (O(1) work per completion, no missed
//! wake-up); each done future's value is moved out through core's
//! non-blocking awaitable. The timeout runs on concur-core's one timer
//! thread, under any runtime.

use crate::WrappedFuture;
use crate::deadline::Deadline;
use concur_core::{Error, Future, FutureOutput, Watcher};
use std::fmt;
use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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

/// One gathered future, from watched to its outcome.
enum GatherSlot<T: Send + 'static> {
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
    slots: Vec<GatherSlot<T>>,
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
            slots.push(GatherSlot::Done(Err(e)));
            continue;
        };
        let any = out.get_ref().expect("not resolved").erase();
        watcher.watch(any);
        token_slot.push(slots.len());
        slots.push(GatherSlot::Waiting(Source {
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
                GatherSlot::Done(o) => o,
                GatherSlot::Waiting(src) | GatherSlot::Taking(src) => {
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
                        GatherSlot::Done(Err(Error::invalid_state("taken"))),
                    );
                    let GatherSlot::Waiting(src) = slot else {
                        unreachable!("the watcher yields each token once")
                    };
                    this.slots[i] = GatherSlot::Taking(src);
                    this.taking.push(i);
                }
            }
        }
        // Move the outcomes out without blocking the event loop.
        let mut k = 0;
        while k < this.taking.len() {
            let i = this.taking[k];
            let GatherSlot::Taking(src) = &mut this.slots[i] else {
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
                    this.slots[i] = GatherSlot::Done(outcome);
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
                GatherSlot::Done(o) => o,
                GatherSlot::Waiting(_) | GatherSlot::Taking(_) => {
                    unreachable!("every outcome was taken")
                }
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
            if let GatherSlot::Waiting(src) = slot {
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
