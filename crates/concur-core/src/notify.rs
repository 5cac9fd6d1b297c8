//! The one waker enum shared by blocking and async waiting.

use concur_sync::thread::{self, Thread};
use std::task::Waker;

/// Who to wake: a parked thread or an async task.
#[derive(Debug, Clone)]
pub(crate) enum Notify {
    Thread(Thread),
    Task(Waker),
}

impl Notify {
    pub(crate) fn current_thread() -> Self {
        Self::Thread(thread::current())
    }

    pub(crate) fn wake(self) {
        match self {
            Self::Thread(t) => t.unpark(),
            Self::Task(w) => w.wake(),
        }
    }

    /// Whether waking `self` would wake the same party as `other` would.
    pub(crate) fn will_wake(&self, other: &std::task::Context<'_>) -> bool {
        match self {
            Self::Task(w) => w.will_wake(other.waker()),
            Self::Thread(_) => false,
        }
    }
}
