//! [`wait()`]: block until a condition over many futures holds.

use crate::deadline::deadline_after;
use concur_core::Watcher;
use concur_core::{FutureHandle, IntoFutureHandle};
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
/// * Every future is watched by one [`Watcher`](concur_core::Watcher) (O(1) per completion; a
///   done one is not registered on), deregistered before returning. A
///   future that completes while `wait` starts is never missed. The
///   condition is
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
    // The watcher yields the futures done already first, then the others
    // as they complete: one that completes while `wait` starts is seen.
    let (handles, mut watcher) = Watcher::distinct(futures);
    let total = handles.len();
    let (mut done, mut failed) = (0, false);
    while !return_when.holds(done, total, failed) {
        // Ends when everything is done (`Ok(None)`) or on the deadline.
        let Ok(Some((_, f))) = watcher.next_until(deadline) else {
            break;
        };
        done += 1;
        failed |= f.failed();
    }
    // Deregisters from the futures not yielded.
    drop(watcher);

    // By the state now: one done since the loop ended is in `done` too.
    let (done, not_done) = handles.into_iter().partition(|h| h.to_any().done());
    (done, not_done)
}
