//! [`wait()`]: block until a condition over many futures holds.

use crate::as_completed::deadline_after;
use crate::handle::{FutureHandle, IntoFutureHandle, dedup};
use concur_core::{AnyFuture, Watcher};
use std::time::Duration;

pub use concur_core::{DoneAndNotDone, ReturnWhen};

/// Waits until `return_when` holds for `futures`, or until `timeout`
/// (counted from this call; `None`: no limit), and returns
/// `(done, not_done)`: CPython's `concurrent.futures.wait`.
///
/// * Returns at once if the condition already holds (an already-failed
///   future satisfies [`FirstException`](ReturnWhen::FirstException)).
/// * A timeout is not an error: whatever is done by then is in `done`.
///   `Some(Duration::ZERO)` never blocks (a snapshot of what is done now);
///   a timeout too long to add to the current
///   [`Instant`](std::time::Instant) (such as `Duration::MAX`) is the same
///   as `None`.
/// * Both vectors keep the input order; a future given twice appears once.
/// * If the condition does not hold yet, every future is watched by one
///   [`Watcher`] (O(1) per completion; a done one is not registered on),
///   deregistered before returning. A future that completes while `wait`
///   starts is never missed. The condition is
///   [`ReturnWhen::holds`], shared with the async `wait`.
///
/// # Examples
///
/// ```
/// use concur_combinators::{wait, ReturnWhen};
/// use concur_core::{Error, Future, Promise};
/// use std::time::Duration;
///
/// let ok = Future::ready(1);
/// let (_p, pending) = Promise::new();
/// let (done, not_done) = wait([&ok, &pending], None, ReturnWhen::FirstCompleted);
/// assert_eq!((done.len(), not_done.len()), (1, 1));
///
/// let bad = Future::from_error(Error::task("boom"));
/// let (done, not_done) = wait([&bad, &pending], None, ReturnWhen::FirstException);
/// assert_eq!((done[0].id(), not_done[0].id()), (bad.id(), pending.id()));
///
/// let (done, not_done) =
///     wait([&ok, &pending], Some(Duration::from_millis(5)), ReturnWhen::AllCompleted);
/// assert_eq!((done.len(), not_done.len()), (1, 1));
/// ```
pub fn wait<I>(
    futures: I,
    timeout: Option<Duration>,
    return_when: ReturnWhen,
) -> DoneAndNotDone<<I::Item as IntoFutureHandle>::Handle>
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let deadline = deadline_after(timeout);
    let handles = dedup(futures);
    let erased: Vec<AnyFuture> = handles.iter().map(FutureHandle::to_any).collect();

    let total = erased.len();
    let done_now = erased.iter().filter(|f| f.done()).count();
    let failed_now = erased.iter().any(AnyFuture::failed);
    if !return_when.holds(done_now, total, failed_now) {
        // Every future is watched, also those done already: one that
        // completes between the check above and here must still be seen
        // (a done future is yielded at once, without registering on it).
        // The counts restart from what the watcher yields.
        let mut watcher = Watcher::new();
        for f in &erased {
            watcher.watch(f.clone());
        }
        let (mut done, mut failed) = (0, false);
        // Ends when everything is done (`Ok(None)`) or on the deadline.
        while let Ok(Some((_, f))) = watcher.next_until(deadline) {
            done += 1;
            failed |= f.failed();
            if return_when.holds(done, total, failed) {
                break;
            }
        }
    }

    let mut done = Vec::new();
    let mut not_done = Vec::new();
    for (h, e) in handles.into_iter().zip(&erased) {
        if e.done() {
            done.push(h);
        } else {
            not_done.push(h);
        }
    }
    (done, not_done)
}
