//! The one home of concur's `tracing` events: the [`__event!`](crate::__event)
//! macro every crate emits through, and the task ids its events carry.
//!
//! With the `tracing` feature of `concur-core` (which the `tracing`
//! feature of every other concur crate turns on) the macro is
//! `tracing::<level>!`; without it the macro expands to `()` and no crate
//! depends on `tracing` at all: an event's fields are not even evaluated.
//! Because Cargo unifies features, the events of every concur crate are
//! on as soon as one crate of the build enables the feature.
//!
//! A crate that keeps state only for its events (a task's id) keeps a
//! [`TaskId`] and draws it from [`TaskIds`]: a `u64` counter with the
//! feature, zero-sized and free without it, so callers need no `cfg` of
//! their own (their own `cfg(feature = "tracing")` would disagree with
//! core's when another crate turned core's on).

#[cfg(feature = "tracing")]
use std::sync::atomic::{AtomicU64, Ordering};

/// Emits a `tracing` event at `$level` (`trace`, `debug`, `info`, `warn`,
/// `error`) with `tracing`'s own field syntax, when `concur-core` is built
/// with its `tracing` feature; expands to a unit block otherwise (nothing is
/// evaluated). Not public API: concur's crates emit their events through it.
#[cfg(feature = "tracing")]
#[doc(hidden)]
#[macro_export]
macro_rules! __event {
    ($level:ident, $($arg:tt)+) => {
        $crate::__private_tracing::tracing::$level!($($arg)+)
    };
}

/// Emits a `tracing` event at `$level` (`trace`, `debug`, `info`, `warn`,
/// `error`) with `tracing`'s own field syntax, when `concur-core` is built
/// with its `tracing` feature; expands to a unit block otherwise (nothing is
/// evaluated). Not public API: concur's crates emit their events through it.
#[cfg(not(feature = "tracing"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __event {
    // A string literal of the call's tokens, dropped at once: nothing is
    // evaluated, and two events that differ only in level or text stay
    // different expressions (so an `if` choosing between them is not
    // "identical blocks" to clippy).
    ($level:ident, $($arg:tt)+) => {{
        let _: &str = stringify!($level $($arg)+);
    }};
}

/// A task's id in its pool's events: a `u64` with the `tracing` feature,
/// nothing without it. Shown as the number (or `-` without the feature).
#[doc(hidden)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TaskId(#[cfg(feature = "tracing")] u64);

impl std::fmt::Debug for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "tracing")]
        {
            write!(f, "{}", self.0)
        }
        #[cfg(not(feature = "tracing"))]
        {
            f.write_str("-")
        }
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// A pool's source of [`TaskId`]s (1, 2, 3, … in submission order): one
/// relaxed counter with the `tracing` feature, zero-sized without it.
#[doc(hidden)]
#[derive(Default)]
pub struct TaskIds(#[cfg(feature = "tracing")] AtomicU64);

impl TaskIds {
    /// A counter whose first id is 1.
    #[must_use]
    pub const fn new() -> Self {
        Self(
            #[cfg(feature = "tracing")]
            AtomicU64::new(0),
        )
    }

    /// The next id (nothing to compute without the feature).
    #[inline]
    #[must_use]
    pub fn next(&self) -> TaskId {
        TaskId(
            // ORDERING: ids only label events; nothing is published.
            #[cfg(feature = "tracing")]
            {
                self.0.fetch_add(1, Ordering::Relaxed) + 1
            },
        )
    }
}

impl std::fmt::Debug for TaskIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskIds").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_count_from_one_with_the_feature_and_are_free_without() {
        let ids = TaskIds::new();
        let (a, b) = (ids.next(), ids.next());
        #[cfg(feature = "tracing")]
        {
            assert_eq!((a.to_string(), b.to_string()), ("1".into(), "2".into()));
            assert_ne!(a, b);
        }
        #[cfg(not(feature = "tracing"))]
        {
            assert_eq!(size_of::<TaskId>(), 0);
            assert_eq!(size_of::<TaskIds>(), 0);
            assert_eq!(format!("{a:?}"), "-");
            assert_eq!(a, b);
        }
    }

    #[test]
    fn events_evaluate_their_fields_only_with_the_feature() {
        let evaluated = std::cell::Cell::new(false);
        let probe = || {
            evaluated.set(true);
            1
        };
        // With the feature, fields are evaluated only when a subscriber
        // wants the event; install one that wants everything.
        #[cfg(feature = "tracing")]
        let _guard = tracing::subscriber::set_default(EverythingSubscriber);
        crate::__event!(error, value = probe(), "probe");
        let _ = probe;
        assert_eq!(evaluated.get(), cfg!(feature = "tracing"));
    }

    /// A subscriber enabling every event and recording nothing.
    #[cfg(feature = "tracing")]
    struct EverythingSubscriber;

    #[cfg(feature = "tracing")]
    impl tracing::Subscriber for EverythingSubscriber {
        fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
            tracing::span::Id::from_u64(1)
        }
        fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
        fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
        fn event(&self, _: &tracing::Event<'_>) {}
        fn enter(&self, _: &tracing::span::Id) {}
        fn exit(&self, _: &tracing::span::Id) {}
    }
}
