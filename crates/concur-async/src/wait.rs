//! [`wait`]: the async twin of `concur_combinators::wait`, with the same
//! inputs, [`ReturnWhen`] (whose [`holds`](ReturnWhen::holds) is the one
//! condition both use) and `(done, not_done)` shape.

use crate::deadline::Deadline;
use concur_core::{DoneAndNotDone, IntoFutureHandle, ReturnWhen, Watcher};
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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
///   holds: plain futures run on, [`WrappedFuture`](crate::WrappedFuture)s keep their
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
    let (handles, watcher) = Watcher::distinct(fs);
    Wait {
        watcher: Some(watcher),
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
