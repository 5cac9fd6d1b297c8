//! The many-future [`Watcher`]: the mechanism under `as_completed`, `wait`
//! and async streams.
//!
//! A watcher registers one entry (its [`ReadyQueue`] plus a token) on each
//! future it watches. A completing future pushes the token onto the queue
//! and wakes the watcher's one parked thread or task: O(1) work per
//! completion whatever the number of watched futures. The watcher parks only
//! after publishing its waker and re-checking the queue under the same lock
//! the completer pushes under, so no wake-up is lost.

use crate::error::Error;
use crate::future::AnyFuture;
use crate::handle::{FutureHandle, IntoFutureHandle, dedup_handles};
use crate::notify::Notify;
use crate::ready_queue::ReadyQueue;
use concur_sync::backoff;
use concur_sync::sync::Arc;
use concur_sync::thread;
use std::collections::VecDeque;
use std::fmt;
use std::task::{Context, Poll};
use std::time::Instant;

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
    queue: Arc<ReadyQueue>,
    watched: Vec<Option<AnyFuture>>,
    remaining: usize,
    /// Tokens already taken off the shared queue (or done when watched).
    local: VecDeque<usize>,
    /// The driver of the first watched future that has one (see
    /// [`Drive`](crate::Drive)): a blocked `next_until` runs it before it
    /// parks, so a process pool's results are read by the waiting thread
    /// here too. Futures of other executors complete as usual.
    driver: Option<std::sync::Arc<dyn crate::Drive>>,
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
            queue: Arc::new(ReadyQueue::new()),
            watched: Vec::new(),
            remaining: 0,
            local: VecDeque::new(),
            driver: None,
        }
    }

    /// The distinct futures among `futures` (by identity, first occurrence
    /// kept, input order, as [`dedup_handles`]) and one watcher over them:
    /// handle `i` is token `i`. Futures done already are queued at once, in
    /// input order, without registering on them. The start every
    /// many-future waiter (`as_completed`, `wait`, blocking or async) makes.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Future, Watcher};
    ///
    /// let (a, b) = (Future::ready(1), Future::ready(2));
    /// let (handles, mut w) = Watcher::distinct([&a, &b, &a]);
    /// assert_eq!(handles, [a.clone(), b.clone()]);
    /// assert_eq!(w.remaining(), 2);
    /// assert_eq!(w.try_next().unwrap().0, 0);
    /// ```
    pub fn distinct<I>(futures: I) -> (Vec<<I::Item as IntoFutureHandle>::Handle>, Self)
    where
        I: IntoIterator,
        I::Item: IntoFutureHandle,
    {
        let handles = dedup_handles(futures);
        let mut watcher = Self::new();
        for h in &handles {
            watcher.watch(h.to_any());
        }
        (handles, watcher)
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
        if !fut.add_watch(&self.queue, token) {
            // Already done: ours alone to queue, ahead of later completions.
            self.local.push_back(token);
        } else if self.driver.is_none() {
            self.driver = fut.driver();
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
            let mut s = self.queue.lock();
            self.queue.drain_locked(&mut s, &mut self.local);
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
        let mut spinning = deadline.is_none_or(|d| Instant::now() < d);
        // The driver runs once per blocking wait, first (as on a future).
        let mut drive = spinning && self.driver.is_some();
        loop {
            if let Some(t) = self.local.pop_front() {
                return Ok(Some(self.take(t)));
            }
            if drive && self.queue.looks_empty() {
                drive = false;
                if let Some(d) = &self.driver {
                    let queue = &self.queue;
                    d.drive(&|| !queue.looks_empty(), deadline);
                }
            }
            if spinning && self.queue.looks_empty() {
                spinning = backoff::result_wait(step);
                step += 1;
                continue;
            }
            {
                let mut s = self.queue.lock();
                if !s.ready.is_empty() {
                    s.notify = None;
                    self.queue.drain_locked(&mut s, &mut self.local);
                    continue;
                }
                if spinning {
                    continue;
                }
                s.notify = Some(Notify::current_thread());
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        let mut s = self.queue.lock();
                        s.notify = None;
                        self.queue.drain_locked(&mut s, &mut self.local);
                        drop(s);
                        if let Some(t) = self.local.pop_front() {
                            return Ok(Some(self.take(t)));
                        }
                        return Err(self.timeout_error());
                    }
                    thread::park_timeout(d - now);
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
        let mut s = self.queue.lock();
        if !s.ready.is_empty() {
            s.notify = None;
            self.queue.drain_locked(&mut s, &mut self.local);
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
        for (token, watched) in self.watched.iter().enumerate() {
            if let Some(f) = watched {
                f.remove_watch(&self.queue, token);
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
