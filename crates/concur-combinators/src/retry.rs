//! [`retry`]: resubmit a failing task to an executor, with back-off.

use concur_core::{BoxError, Error, Executor, Future, Promise, State};
use concur_sync::sync::{Arc, Mutex};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// How long [`retry`] waits before each new attempt.
///
/// # Examples
///
/// ```
/// use concur_combinators::Backoff;
/// use std::time::Duration;
/// let b = Backoff::exponential(Duration::from_millis(10), Duration::from_millis(50));
/// let delays: Vec<_> = (1..=4).map(|n| b.delay(n)).collect();
/// assert_eq!(delays, [10, 20, 40, 50].map(Duration::from_millis));
/// assert_eq!(Backoff::none().delay(3), Duration::ZERO);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    factor: u32,
    max: Duration,
}

impl Backoff {
    /// Retry at once.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_combinators::Backoff::none().delay(1), std::time::Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn none() -> Self {
        Self::fixed(Duration::ZERO)
    }

    /// The same delay before every retry.
    ///
    /// `Duration::ZERO` retries at once (as [`none`](Self::none)). A delay
    /// too long to add to the current [`Instant`] (such as
    /// `Duration::MAX`) is a retry that never comes: [`retry`] fails with
    /// the last error at once rather than hanging.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = concur_combinators::Backoff::fixed(Duration::from_millis(5));
    /// assert_eq!(b.delay(9), Duration::from_millis(5));
    /// ```
    #[must_use]
    pub const fn fixed(delay: Duration) -> Self {
        Self {
            initial: delay,
            factor: 1,
            max: delay,
        }
    }

    /// `initial` before the first retry, doubling each time, capped at `max`.
    ///
    /// Doubling saturates, so `max = Duration::MAX` means no cap (once a
    /// delay no longer fits in an [`Instant`], [`retry`] fails with the
    /// last error, as for [`fixed`](Self::fixed)). `initial =
    /// Duration::ZERO` stays zero: every retry at once. `max` below
    /// `initial` caps every delay at `max`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = concur_combinators::Backoff::exponential(Duration::from_secs(1), Duration::from_secs(3));
    /// assert_eq!(b.delay(2), Duration::from_secs(2));
    /// assert_eq!(b.delay(60), Duration::from_secs(3));
    /// ```
    #[must_use]
    pub const fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            factor: 2,
            max,
        }
    }

    /// The delay before retry number `retry` (1 for the first retry).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = concur_combinators::Backoff::none();
    /// assert!(b.delay(1).is_zero());
    /// ```
    #[must_use]
    pub fn delay(&self, retry: u32) -> Duration {
        let mut d = self.initial;
        // Stops at the cap, and at once for a constant delay (zero, or a
        // factor of 1): the loop is O(log max), never O(retry).
        for _ in 1..retry {
            if d >= self.max || d.is_zero() || self.factor == 1 {
                break;
            }
            d = d.saturating_mul(self.factor);
        }
        d.min(self.max)
    }
}

/// One `retry` call: what each attempt needs, and the output's promise.
struct Retry<E, F, T: Send + 'static> {
    executor: E,
    /// The task, its error already an [`Error`] (of kind `Task`).
    f: F,
    retries: u32,
    backoff: Backoff,
    /// The output's promise (taken when it is completed) and the number of
    /// retries made so far.
    state: Mutex<(Option<Promise<T>>, u32)>,
}

/// Runs the fallible task `f` on `executor`; if it fails (an `Err` or a
/// panic), resubmits it, up to `retries` more times, waiting
/// `backoff.delay(n)` before retry `n` (on concur's timer thread, not on a
/// worker). The future holds the first success, or the last error.
///
/// `Er` is anything `?` converts into a [`BoxError`]: a concrete
/// `std::error::Error` (the last error stays downcastable to it), `String`,
/// `&'static str`, `BoxError` or `anyhow::Error` (text and `source()` chain
/// kept, inner type not: see [`Job::new_fallible`](concur_core::Job::new_fallible)).
///
/// A zero delay resubmits at once, from the failed attempt's thread. A
/// delay too long to add to the current [`Instant`] (`Duration::MAX`) ends
/// the retries: the future fails with the last error at once.
///
/// Cancelling the returned future stops further attempts (a running attempt
/// finishes). If the executor refuses an attempt, the future fails with its
/// error ([`Shutdown`](concur_core::ErrorKind::Shutdown), …).
///
/// # Examples
///
/// ```
/// use concur_combinators::{retry, Backoff};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
///
/// let pool = Arc::new(concur_thread::ThreadPool::new(2).unwrap());
/// let calls = AtomicU32::new(0);
/// let fut = retry(Arc::clone(&pool), 3, Backoff::fixed(Duration::from_millis(1)), move || {
///     let n = calls.fetch_add(1, Ordering::SeqCst);
///     if n < 2 { Err(std::io::Error::other("flaky")) } else { Ok(n) }
/// });
/// assert_eq!(*fut.result().unwrap(), 2);
///
/// // Any error `?` accepts: here a `String`, whose text is the message.
/// let fut = retry(pool, 1, Backoff::none(), || -> Result<u32, String> { Err("still down".into()) });
/// assert_eq!(fut.result().unwrap_err().to_string(), "task failed: still down");
/// ```
pub fn retry<E, F, T, Er>(executor: E, retries: u32, backoff: Backoff, f: F) -> Future<T>
where
    E: Executor + 'static,
    F: Fn() -> Result<T, Er> + Send + Sync + 'static,
    T: Send + 'static,
    Er: Into<BoxError>,
{
    let (promise, out) = Promise::new();
    let r = Arc::new(Retry {
        executor,
        f: move || f().map_err(Error::task),
        retries,
        backoff,
        state: Mutex::new((Some(promise), 0)),
    });
    Retry::submit_attempt(r);
    out
}

impl<E, F, T> Retry<E, F, T>
where
    E: Executor + 'static,
    F: Fn() -> Result<T, Error> + Send + Sync + 'static,
    T: Send + 'static,
{
    // Associated functions on `Arc<Self>`, not methods: `self: Arc<Self>`
    // works for std's `Arc` only, and loom builds swap it.

    /// Submits the next attempt; the executor's refusal ends the retries.
    fn submit_attempt(this: Arc<Self>) {
        let in_job = Arc::clone(&this);
        if let Err(refused) = this.executor.submit(move || Self::attempt(in_job)) {
            let err = refused.error().clone();
            drop(refused);
            this.finish(Err(err));
        }
    }

    /// One attempt, on a worker: on failure, the next one is submitted
    /// (after its delay, from the timer thread) unless the retries are
    /// spent, the output was cancelled, or the delay cannot be kept.
    fn attempt(this: Arc<Self>) {
        if this.cancelled() {
            return;
        }
        let err = match catch_unwind(AssertUnwindSafe(|| (this.f)())) {
            Ok(Ok(v)) => return this.finish(Ok(v)),
            Ok(Err(e)) => e,
            Err(p) => Error::panicked(p),
        };
        let Some(n) = this.count_retry() else {
            return this.finish(Err(err));
        };
        if this.cancelled() {
            return;
        }
        let delay = this.backoff.delay(n);
        if delay.is_zero() {
            return Self::submit_attempt(this);
        }
        // A delay past what an `Instant` holds never comes: fail now.
        let in_timer = Arc::clone(&this);
        let scheduled = Instant::now().checked_add(delay).is_some_and(|at| {
            concur_core::timer::call_at(at, move || Self::submit_attempt(in_timer)).is_ok()
        });
        if !scheduled {
            this.finish(Err(err));
        }
    }
}

impl<E, F, T: Send + 'static> Retry<E, F, T> {
    /// Completes the output (once; later calls do nothing).
    fn finish(&self, outcome: Result<T, Error>) {
        let taken = self.state.lock().0.take();
        if let Some(p) = taken {
            let _ = p.set_outcome(outcome);
        }
    }

    /// Whether the output is cancelled (or already completed).
    fn cancelled(&self) -> bool {
        self.state
            .lock()
            .0
            .as_ref()
            .is_none_or(|p| p.state() == State::Cancelled)
    }

    /// Counts one more retry: its number (1 for the first), or `None` if
    /// every retry was made.
    fn count_retry(&self) -> Option<u32> {
        let mut s = self.state.lock();
        if s.1 >= self.retries {
            None
        } else {
            s.1 += 1;
            Some(s.1)
        }
    }
}

impl<E, F, T: Send + 'static> fmt::Debug for Retry<E, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}
