//! Type-erased future handles and the many-future [`Watcher`].
//!
//! A watcher registers one entry (its shared queue plus a token) on each
//! future it watches. A completing future pushes the token onto the queue
//! and wakes the watcher's one parked thread or task: O(1) work per
//! completion whatever the number of watched futures. The watcher parks only
//! after publishing its waker and re-checking the queue under the same lock
//! the completer pushes under, so no wake-up is lost.

use crate::error::Error;
use crate::future::Erased;
use crate::notify::Notify;
use crate::primitive::{self, Arc, AtomicUsize, Mutex, Ordering};
use crate::state::{self, CANCELLED, FAILED, RUNNING, State};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A type-erased handle to any [`Future`](crate::Future): state, waiting and
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
    inner: std::sync::Arc<dyn Erased>,
}

impl AnyFuture {
    pub(crate) fn new<E: Erased + 'static>(e: E) -> Self {
        Self {
            inner: std::sync::Arc::new(e),
        }
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
        self.inner.cancel()
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
        self.inner.wait_until(primitive::now().checked_add(timeout))
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
            slot: None,
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

impl<T: Send + 'static> From<&crate::Future<T>> for AnyFuture {
    fn from(f: &crate::Future<T>) -> Self {
        f.erase()
    }
}

impl<T: Send + 'static> From<crate::Future<T>> for AnyFuture {
    fn from(f: crate::Future<T>) -> Self {
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
    slot: Option<usize>,
}

impl std::future::Future for DoneSignal {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.fut.inner.poll_done(cx, &mut this.slot)
    }
}

impl Drop for DoneSignal {
    fn drop(&mut self) {
        self.fut.inner.forget_waker(&mut self.slot);
    }
}

/// The queue a watcher's futures push their tokens onto.
pub(crate) struct WatchShared {
    state: Mutex<WatchState>,
    /// Mirrors `state.ready.len()` (written under the lock) so a spinning
    /// watcher can poll for news without taking the lock.
    queued: AtomicUsize,
}

struct WatchState {
    ready: VecDeque<usize>,
    /// Set only while the watcher is (about to be) parked or pending.
    notify: Option<Notify>,
}

impl WatchShared {
    /// Called by a completing future (outside its own lock).
    pub(crate) fn push_ready(&self, token: usize) {
        let wake = {
            let mut s = primitive::lock(&self.state);
            s.ready.push_back(token);
            // ORDERING: only a hint for the lock-free spin in `next_until`;
            // the queue itself is read under the lock.
            self.queued.store(s.ready.len(), Ordering::Relaxed);
            s.notify.take()
        };
        if let Some(n) = wake {
            n.wake();
        }
    }
}

/// Watches many futures at once and yields each as it completes: the
/// mechanism under `as_completed`, `wait` and async streams.
///
/// [`watch`](Self::watch) returns a token (0, 1, 2, … in call order);
/// [`next_until`](Self::next_until) blocks for the next completed token and
/// hands that future's erased handle back, keeping no reference to it.
/// Already-done futures come out first, in the order they were watched.
/// Each completion costs O(1) whatever the number of futures watched;
/// dropping the watcher deregisters from every future not yet yielded.
///
/// # Examples
///
/// ```
/// use concur_core::{Promise, Watcher};
///
/// let (p1, f1) = Promise::<u8>::new();
/// let (p2, f2) = Promise::<u8>::new();
/// let mut w = Watcher::new();
/// let t1 = w.watch(f1.erase());
/// let t2 = w.watch(f2.erase());
/// p2.set_result(2).unwrap();
/// p1.set_result(1).unwrap();
/// let order: Vec<usize> = w.map(|(t, _)| t).collect();
/// assert_eq!(order, [t2, t1]);
/// ```
#[must_use = "a watcher does nothing unless its futures are waited for"]
pub struct Watcher {
    shared: Arc<WatchShared>,
    watched: Vec<Option<AnyFuture>>,
    remaining: usize,
    /// Tokens already taken off the shared queue (or done when watched).
    local: VecDeque<usize>,
}

impl Default for Watcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Watcher {
    /// A watcher with nothing to watch yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concur_core::Watcher::new();
    /// assert_eq!(w.remaining(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            shared: Arc::new(WatchShared {
                state: Mutex::new(WatchState {
                    ready: VecDeque::new(),
                    notify: None,
                }),
                queued: AtomicUsize::new(0),
            }),
            watched: Vec::new(),
            remaining: 0,
            local: VecDeque::new(),
        }
    }

    /// Starts watching `fut`; returns its token.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut w = concur_core::Watcher::new();
    /// assert_eq!(w.watch(concur_core::Future::ready(()).erase()), 0);
    /// assert_eq!(w.try_next().unwrap().0, 0);
    /// ```
    pub fn watch(&mut self, fut: AnyFuture) -> usize {
        let token = self.watched.len();
        if !fut.inner.add_watch(&self.shared, token) {
            // Already done: ours alone to queue, ahead of later completions.
            self.local.push_back(token);
        }
        self.watched.push(Some(fut));
        self.remaining += 1;
        token
    }

    /// How many watched futures have not been yielded yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut w = concur_core::Watcher::new();
    /// w.watch(concur_core::Future::ready(()).erase());
    /// assert_eq!(w.remaining(), 1);
    /// ```
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// How many futures were ever watched.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concur_core::Watcher::new();
    /// assert_eq!(w.total(), 0);
    /// ```
    #[must_use]
    pub fn total(&self) -> usize {
        self.watched.len()
    }

    fn take(&mut self, token: usize) -> (usize, AnyFuture) {
        self.remaining -= 1;
        let fut = self.watched[token]
            .take()
            .expect("each token is pushed once: by the future or by watch()");
        (token, fut)
    }

    /// The next completed future, if one is ready now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let mut w = concur_core::Watcher::new();
    /// w.watch(f.erase());
    /// assert!(w.try_next().is_none());
    /// ```
    pub fn try_next(&mut self) -> Option<(usize, AnyFuture)> {
        if self.local.is_empty() {
            let mut s = primitive::lock(&self.shared.state);
            drain_into(&mut self.local, &self.shared, &mut s);
        }
        let t = self.local.pop_front()?;
        Some(self.take(t))
    }

    /// Blocks for the next completed future until `deadline` (`None`: no
    /// limit). `Ok(None)` once every watched future has been yielded.
    ///
    /// A deadline already passed (such as `Instant::now()`) does not block:
    /// it yields a future that is done by now, else the timeout error. A
    /// far-future deadline simply waits.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`](crate::ErrorKind) with
    /// "N (of M) futures unfinished" if the deadline passes first.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (_p, f) = concur_core::Promise::<()>::new();
    /// let mut w = concur_core::Watcher::new();
    /// w.watch(f.erase());
    /// w.watch(concur_core::Future::ready(()).erase());
    /// assert_eq!(w.next_until(None).unwrap().unwrap().0, 1);
    /// let err = w.next_until(Some(Instant::now() + Duration::from_millis(5))).unwrap_err();
    /// assert_eq!(err.to_string(), "timed out: 1 (of 2) futures unfinished");
    /// ```
    pub fn next_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<(usize, AnyFuture)>, Error> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let mut step = 0;
        // A passed deadline is a non-blocking check: no spin before it.
        let mut spinning = deadline.is_none_or(|d| primitive::now() < d);
        loop {
            if let Some(t) = self.local.pop_front() {
                return Ok(Some(self.take(t)));
            }
            // ORDERING: a hint only; the queue is re-read under the lock.
            if spinning && self.shared.queued.load(Ordering::Relaxed) == 0 {
                spinning = primitive::spin_step(step);
                step += 1;
                continue;
            }
            {
                let mut s = primitive::lock(&self.shared.state);
                if !s.ready.is_empty() {
                    s.notify = None;
                    drain_into(&mut self.local, &self.shared, &mut s);
                    continue;
                }
                if spinning {
                    continue;
                }
                s.notify = Some(Notify::current_thread());
            }
            match deadline {
                None => primitive::park(),
                Some(d) => {
                    let now = primitive::now();
                    if now >= d {
                        let mut s = primitive::lock(&self.shared.state);
                        s.notify = None;
                        drain_into(&mut self.local, &self.shared, &mut s);
                        drop(s);
                        if let Some(t) = self.local.pop_front() {
                            return Ok(Some(self.take(t)));
                        }
                        return Err(self.timeout_error());
                    }
                    primitive::park_timeout(d - now);
                }
            }
        }
    }

    /// The timeout error as `next_until` reports it.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concur_core::Watcher::new();
    /// assert!(w.timeout_error().is_timeout());
    /// ```
    #[must_use]
    pub fn timeout_error(&self) -> Error {
        Error::timeout(format!(
            "{} (of {}) futures unfinished",
            self.remaining,
            self.watched.len()
        ))
    }

    /// Async form of [`next_until`](Self::next_until) without a deadline:
    /// `Ready(None)` once everything was yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let mut w = concur_core::Watcher::new();
    /// w.watch(concur_core::Future::ready(()).erase());
    /// let got = futures::executor::block_on(poll_fn(|cx| w.poll_next(cx)));
    /// assert_eq!(got.unwrap().0, 0);
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, AnyFuture)>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        if let Some(t) = self.local.pop_front() {
            return Poll::Ready(Some(self.take(t)));
        }
        let mut s = primitive::lock(&self.shared.state);
        if !s.ready.is_empty() {
            s.notify = None;
            drain_into(&mut self.local, &self.shared, &mut s);
            drop(s);
            let t = self
                .local
                .pop_front()
                .expect("just drained a non-empty queue");
            return Poll::Ready(Some(self.take(t)));
        }
        match &s.notify {
            Some(n) if n.will_wake(cx) => {}
            _ => s.notify = Some(Notify::Task(cx.waker().clone())),
        }
        Poll::Pending
    }
}

/// Moves every queued token to `local` in one go (one lock per batch of
/// completions, not per completion). `s` is `shared`'s locked state.
fn drain_into(local: &mut VecDeque<usize>, shared: &WatchShared, s: &mut WatchState) {
    if s.ready.is_empty() {
        return;
    }
    if local.is_empty() {
        std::mem::swap(local, &mut s.ready);
    } else {
        local.append(&mut s.ready);
    }
    // ORDERING: a hint only, see `WatchShared::queued`.
    shared.queued.store(0, Ordering::Relaxed);
}

impl Iterator for Watcher {
    type Item = (usize, AnyFuture);

    /// Blocks for the next completed future; `None` when all were yielded.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None).ok().flatten()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        for (token, slot) in self.watched.iter().enumerate() {
            if let Some(f) = slot {
                f.inner.remove_watch(&self.shared, token);
            }
        }
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("remaining", &self.remaining)
            .field("total", &self.watched.len())
            .finish()
    }
}
