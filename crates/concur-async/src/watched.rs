//! The start both [`as_completed`](crate::as_completed) and
//! [`wait`](crate::wait) make: the given futures, each once, every one
//! watched by one [`Watcher`].

use concur_core::{FutureHandle, IntoFutureHandle, Watcher, dedup_handles};

/// The distinct handles among `futures` (by identity, first occurrence
/// kept, input order) and a watcher over them: handle `i` is token `i`.
/// Futures done already are queued in the watcher at once, in input order,
/// without registering on them.
pub(crate) fn watch_distinct<I>(futures: I) -> (Vec<<I::Item as IntoFutureHandle>::Handle>, Watcher)
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let handles = dedup_handles(futures);
    let mut watcher = Watcher::new();
    for h in &handles {
        watcher.watch(h.to_any());
    }
    (handles, watcher)
}
