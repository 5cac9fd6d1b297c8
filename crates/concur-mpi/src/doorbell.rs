//! [`Doorbell`]: how submitting threads hand assignments to the manager
//! and wake it, without a lost wake-up and without a wake-up sent after
//! the manager freed its communicator.
//!
//! * Submitters push onto the outbox, then ring. Only the first ring since
//!   the manager last looked does anything (`pending`); the manager clears
//!   `pending` *before* it takes the outbox, so a push after the take
//!   rings again.
//! * A ring is a zero-byte MPI self-send, which ends the manager's
//!   blocking probe (the `send` closure), or, when the manager polls
//!   (`MPI_THREAD_SERIALIZED`), a flag and a condition variable.
//! * The send runs under the `open` lock; the manager [`close`](Doorbell::close)s
//!   it under the same lock before it frees the communicator, so no send
//!   is mid-flight then or starts later.
//!
//! The loom models (`doorbell/loom_tests.rs`) check both properties.

use concur_sync::sync::atomic::{AtomicBool, Ordering};
use concur_sync::sync::{Condvar, Mutex};
use std::time::Duration;

#[cfg(all(test, concur_loom))]
mod loom_tests;

/// The outbox of `T`s and the wake-up of the one thread that takes them.
#[derive(Debug)]
pub(crate) struct Doorbell<T> {
    outbox: Mutex<Vec<T>>,
    /// Set by the first ring since the manager last took the outbox.
    pending: AtomicBool,
    /// The manager polls: a ring sets `nudge` instead of sending.
    polling: bool,
    nudge: Mutex<bool>,
    nudged: Condvar,
    /// Whether a ring may still send (cleared by `close`).
    open: Mutex<bool>,
}

impl<T> Doorbell<T> {
    pub(crate) fn new(polling: bool) -> Self {
        Self {
            outbox: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            polling,
            nudge: Mutex::new(false),
            nudged: Condvar::new(),
            open: Mutex::new(true),
        }
    }

    /// Whether the manager polls instead of blocking in a probe.
    pub(crate) fn polling(&self) -> bool {
        self.polling
    }

    /// Hands `item` to the manager and rings.
    pub(crate) fn post(&self, item: T, send: impl FnOnce()) {
        self.outbox.lock().push(item);
        self.ring(send);
    }

    /// Wakes the manager: the first ring since it last took the outbox
    /// runs `send` (unless closed), or nudges a polling manager.
    pub(crate) fn ring(&self, send: impl FnOnce()) {
        if self.pending.swap(true, Ordering::SeqCst) {
            return;
        }
        if self.polling {
            *self.nudge.lock() = true;
            self.nudged.notify_one();
            return;
        }
        let open = self.open.lock();
        if *open {
            send();
        }
    }

    /// The manager: everything posted so far. Clears `pending` first, so
    /// that a post after the take rings again.
    pub(crate) fn take(&self) -> Vec<T> {
        self.pending.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.outbox.lock())
    }

    /// A polling manager's wait between turns: until a ring, or `limit`.
    /// Consumes the ring.
    pub(crate) fn wait(&self, limit: Duration) {
        let mut nudged = self.nudge.lock();
        if !*nudged {
            nudged = self.nudged.wait_timeout(nudged, limit).0;
        }
        *nudged = false;
    }

    /// The manager, before it frees what `send` uses: no ring sends once
    /// this returns.
    pub(crate) fn close(&self) {
        *self.open.lock() = false;
    }
}
