//! [`AnyFuture`]: a type-erased handle to any future (state, waiting,
//! cancelling; not the value), its awaitable [`DoneSignal`], and erasing
//! ([`Future::erase`], [`Promise::erase`], the `From` impls).
//!
//! The erased operations are the [`Erased`] trait, implemented by the
//! future's [`SharedState`] itself: outside loom an `AnyFuture` is the
//! future's own `Arc`, unsized, so erasing allocates nothing.

use super::future::Future;
use super::promise::Promise;
use super::shared::SharedState;
use crate::ready_queue::ReadyQueue;
use crate::state::{self, CANCELLED, FAILED, RUNNING, State};
use concur_sync::sync::Arc;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The `Arc` an [`AnyFuture`] holds: the future's own (`std`'s, outside
/// loom), or under `--cfg concur_loom` a `std` `Arc` around `LoomErased`,
/// since loom's `Arc` cannot be unsized to `dyn Erased`.
#[cfg(not(concur_loom))]
type ErasedArc<E> = Arc<E>;
#[cfg(concur_loom)]
type ErasedArc<E> = std::sync::Arc<E>;

/// Type-erased operations on a future's shared state, for [`AnyFuture`].
trait Erased: Send + Sync {
    fn id(&self) -> usize;
    fn state_u8(&self) -> u8;
    /// Takes the `Arc` because completing needs one (for the callback
    /// loan); `&Arc<Self>` is no object-safe receiver.
    fn cancel(self: ErasedArc<Self>) -> bool;
    fn wait_until(&self, deadline: Option<Instant>) -> bool;
    fn poll_done(&self, cx: &mut Context<'_>, waiter_id: &mut Option<usize>) -> Poll<()>;
    fn forget_waker(&self, waiter_id: &mut Option<usize>);
    fn add_watch(&self, queue: &Arc<ReadyQueue>, token: usize) -> bool;
    fn remove_watch(&self, queue: &Arc<ReadyQueue>, token: usize);
    fn driver(&self) -> Option<std::sync::Arc<dyn crate::Drive>>;
}

#[cfg(not(concur_loom))]
impl<T: Send + 'static> Erased for SharedState<T> {
    fn id(&self) -> usize {
        // The address `Arc::as_ptr` gives, as `Future::id`.
        std::ptr::from_ref(self) as *const () as usize
    }
    fn state_u8(&self) -> u8 {
        SharedState::state_u8(self)
    }
    fn cancel(self: Arc<Self>) -> bool {
        SharedState::cancel(&self)
    }
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        SharedState::wait_until(self, deadline)
    }
    fn poll_done(&self, cx: &mut Context<'_>, waiter_id: &mut Option<usize>) -> Poll<()> {
        SharedState::poll_done(self, cx, waiter_id)
    }
    fn forget_waker(&self, waiter_id: &mut Option<usize>) {
        SharedState::forget_waker(self, waiter_id);
    }
    fn add_watch(&self, queue: &Arc<ReadyQueue>, token: usize) -> bool {
        SharedState::add_watch(self, queue, token)
    }
    fn remove_watch(&self, queue: &Arc<ReadyQueue>, token: usize) {
        SharedState::remove_watch(self, queue, token);
    }
    fn driver(&self) -> Option<std::sync::Arc<dyn crate::Drive>> {
        SharedState::driver(self)
    }
}

/// Under loom: holds the future's (loom) `Arc` behind [`Erased`].
#[cfg(concur_loom)]
struct LoomErased<T>(Arc<SharedState<T>>);

#[cfg(concur_loom)]
impl<T: Send + 'static> Erased for LoomErased<T> {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }
    fn state_u8(&self) -> u8 {
        self.0.state_u8()
    }
    fn cancel(self: ErasedArc<Self>) -> bool {
        SharedState::cancel(&self.0)
    }
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        self.0.wait_until(deadline)
    }
    fn poll_done(&self, cx: &mut Context<'_>, waiter_id: &mut Option<usize>) -> Poll<()> {
        self.0.poll_done(cx, waiter_id)
    }
    fn forget_waker(&self, waiter_id: &mut Option<usize>) {
        self.0.forget_waker(waiter_id);
    }
    fn add_watch(&self, queue: &Arc<ReadyQueue>, token: usize) -> bool {
        self.0.add_watch(queue, token)
    }
    fn remove_watch(&self, queue: &Arc<ReadyQueue>, token: usize) {
        self.0.remove_watch(queue, token);
    }
    fn driver(&self) -> Option<std::sync::Arc<dyn crate::Drive>> {
        self.0.driver()
    }
}

/// A type-erased handle to any [`Future`]: state, waiting and
/// cancelling, but not the value. Lets one collection hold futures of
/// different output types.
///
/// # Examples
///
/// ```
/// use concur_core::{AnyFuture, Future};
/// let fs: Vec<AnyFuture> = vec![Future::ready(1u8).erase(), Future::ready("s").erase()];
/// assert!(fs.iter().all(AnyFuture::done));
/// ```
#[derive(Clone)]
pub struct AnyFuture {
    inner: ErasedArc<dyn Erased>,
}

impl AnyFuture {
    /// Erases a handle over `shared` (which it does not count: an erased
    /// handle cannot read the value). Outside loom this is one reference
    /// count on the future's own `Arc`, no allocation.
    #[cfg(not(concur_loom))]
    fn from_shared<T: Send + 'static>(shared: &Arc<SharedState<T>>) -> Self {
        Self {
            inner: shared.clone(),
        }
    }

    /// Erases a handle over `shared`. loom's `Arc` has no unsized coercion,
    /// so under `--cfg concur_loom` a `std` `Arc` holds a wrapper around
    /// the (model-checked) loom `Arc`: one allocation per erase, in models
    /// only.
    #[cfg(concur_loom)]
    fn from_shared<T: Send + 'static>(shared: &Arc<SharedState<T>>) -> Self {
        Self {
            inner: ErasedArc::new(LoomErased(shared.clone())),
        }
    }

    /// Registers a watcher token (see [`SharedState::add_watch`]).
    pub(crate) fn add_watch(&self, queue: &Arc<ReadyQueue>, token: usize) -> bool {
        self.inner.add_watch(queue, token)
    }

    /// The driver the future's blocked waiters run, if any (see
    /// [`Drive`](crate::Drive)).
    pub(crate) fn driver(&self) -> Option<std::sync::Arc<dyn crate::Drive>> {
        self.inner.driver()
    }

    /// Removes a watcher token (see [`SharedState::remove_watch`]).
    pub(crate) fn remove_watch(&self, queue: &Arc<ReadyQueue>, token: usize) {
        self.inner.remove_watch(queue, token);
    }

    /// The current state.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = concur_core::Future::ready(()).erase();
    /// assert_eq!(f.state(), concur_core::State::Finished);
    /// ```
    #[must_use]
    pub fn state(&self) -> State {
        State::from_u8(self.inner.state_u8())
    }

    /// Whether finished, failed or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::Future::ready(()).erase().done());
    /// ```
    #[must_use]
    pub fn done(&self) -> bool {
        state::is_terminal(self.inner.state_u8())
    }

    /// Whether running now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_core::Future::ready(()).erase().running());
    /// ```
    #[must_use]
    pub fn running(&self) -> bool {
        self.inner.state_u8() == RUNNING
    }

    /// Whether cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let any = f.erase();
    /// any.cancel();
    /// assert!(any.cancelled());
    /// ```
    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.inner.state_u8() == CANCELLED
    }

    /// Whether done with an error (not counting cancellation).
    ///
    /// # Examples
    ///
    /// ```
    /// let f = concur_core::Future::<()>::from_error(concur_core::Error::task("x"));
    /// assert!(f.erase().failed());
    /// ```
    #[must_use]
    pub fn failed(&self) -> bool {
        self.inner.state_u8() == FAILED
    }

    /// Cancels if pending; see [`Future::cancel`](crate::Future::cancel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// assert!(f.erase().cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        ErasedArc::clone(&self.inner).cancel()
    }

    /// Blocks until done.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_core::Future::ready(()).erase().wait();
    /// ```
    pub fn wait(&self) {
        self.inner.wait_until(None);
    }

    /// Blocks until done or `timeout`; `true` if done.
    ///
    /// `Duration::ZERO` polls once without blocking; a timeout too long to
    /// add to the current [`Instant`] (such as `Duration::MAX`) means no
    /// limit, as [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// assert!(!f.erase().wait_timeout(std::time::Duration::from_millis(1)));
    /// ```
    #[must_use]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner.wait_until(Instant::now().checked_add(timeout))
    }

    /// Blocks until done or until `deadline`; `true` if done (as
    /// [`Future::wait_deadline`](crate::Future::wait_deadline)).
    ///
    /// A deadline already passed (such as `Instant::now()`) polls once
    /// without blocking; a far-future one simply waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = concur_core::Future::ready(()).erase();
    /// assert!(f.wait_deadline(std::time::Instant::now()));
    /// ```
    #[must_use]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.inner.wait_until(Some(deadline))
    }

    /// The future's identity, equal to [`Future::id`](crate::Future::id).
    ///
    /// # Examples
    ///
    /// ```
    /// let f = concur_core::Future::ready(0);
    /// assert_eq!(f.erase().id(), f.id());
    /// ```
    #[must_use]
    pub fn id(&self) -> usize {
        self.inner.id()
    }

    /// An awaitable that resolves once the future is done.
    ///
    /// # Examples
    ///
    /// ```
    /// let f = concur_core::Future::ready(0).erase();
    /// futures::executor::block_on(f.done_signal());
    /// ```
    pub fn done_signal(&self) -> DoneSignal {
        DoneSignal {
            fut: self.clone(),
            waiter_id: None,
        }
    }
}

/// Identity: two erased handles are equal when they watch the same future
/// (the same [`id`](AnyFuture::id)), whatever its state.
///
/// # Examples
///
/// ```
/// let f = concur_core::Future::ready(1);
/// assert_eq!(f.erase(), f.erase());
/// assert_ne!(f.erase(), concur_core::Future::ready(1).erase());
/// ```
impl PartialEq for AnyFuture {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for AnyFuture {}

/// Hashes the identity, consistently with `Eq`.
impl std::hash::Hash for AnyFuture {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl fmt::Debug for AnyFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<AnyFuture at {:#x} state={}>", self.id(), self.state())
    }
}

impl<T: Send + 'static> From<&Future<T>> for AnyFuture {
    fn from(f: &Future<T>) -> Self {
        f.erase()
    }
}

impl<T: Send + 'static> From<Future<T>> for AnyFuture {
    fn from(f: Future<T>) -> Self {
        f.erase()
    }
}

/// Resolves when an [`AnyFuture`] is done. See [`AnyFuture::done_signal`].
///
/// # Examples
///
/// ```
/// let f = concur_core::Future::ready(()).erase();
/// futures::executor::block_on(f.done_signal());
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct DoneSignal {
    fut: AnyFuture,
    waiter_id: Option<usize>,
}

impl std::future::Future for DoneSignal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.fut.inner.poll_done(cx, &mut this.waiter_id)
    }
}

impl Drop for DoneSignal {
    fn drop(&mut self) {
        self.fut.inner.forget_waker(&mut self.waiter_id);
    }
}

impl<T: Send + 'static> Future<T> {
    /// A type-erased handle (state, cancel, waiting; not the value), for
    /// collections of futures with different output types.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_core::Future::ready(1u8);
    /// let b = concur_core::Future::ready("two");
    /// let all = [a.erase(), b.erase()];
    /// assert!(all.iter().all(|f| f.done()));
    /// ```
    pub fn erase(&self) -> AnyFuture {
        AnyFuture::from_shared(self.shared())
    }
}

impl<T: Send + 'static> Promise<T> {
    /// A type-erased handle to the future (as [`Future::erase`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!promise.erase().done());
    /// assert_eq!(promise.erase(), fut.erase());
    /// ```
    pub fn erase(&self) -> AnyFuture {
        AnyFuture::from_shared(self.shared())
    }
}
