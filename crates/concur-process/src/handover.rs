//! [`Handover`]: who arms the shared-memory reply rings' doorbells, the
//! dispatcher or the threads helping it (see `driver.rs`).
//!
//! While a waiter helps, the rings at the desks stay disarmed (a worker's
//! reply rings no doorbell: the eventfd write, and the dispatcher it
//! wakes, would cost the round trip what helping saves). So a dispatcher
//! about to block must not miss a reply that arrives after the last
//! helper left: it stores [`parked`](Handover::park) before it loads the
//! helper count, a helper decrements the count before it loads `parked`
//! ([`leave`](Handover::leave)), with a `SeqCst` fence between each store
//! and its load (a `SeqCst` store and load would do under the C++ model,
//! but loom models those as acquire/release; it does model fences, so
//! the model checks the code as it is). At least one sees the other: either the dispatcher arms the rings itself, or the last helper
//! re-arms them (and rings the eventfd if a ring already holds bytes).
//! The loom model (`handover/loom_tests.rs`) checks that no reply is left
//! unread with the dispatcher asleep and no doorbell rung.

use concur_sync::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};

#[cfg(all(test, concur_loom))]
mod loom_tests;

/// The helper count and the dispatcher's parked flag (see the module
/// docs).
#[derive(Debug, Default)]
pub(crate) struct Handover {
    helpers: AtomicUsize,
    parked: AtomicBool,
}

impl Handover {
    /// The dispatcher is about to block: whether it arms the desks'
    /// doorbells itself (no one helps).
    pub(crate) fn park(&self) -> bool {
        self.parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.helpers.load(Ordering::SeqCst) == 0
    }

    /// The dispatcher woke up.
    pub(crate) fn unpark(&self) {
        self.parked.store(false, Ordering::SeqCst);
    }

    /// Whether some thread helps now (the dispatcher then does not poll
    /// in a loop).
    pub(crate) fn helped(&self) -> bool {
        self.helpers.load(Ordering::SeqCst) > 0
    }

    /// A waiter starts helping (it then disarms the desks' doorbells).
    pub(crate) fn enter(&self) {
        self.helpers.fetch_add(1, Ordering::SeqCst);
    }

    /// A waiter stops helping: whether it must re-arm the desks' doorbells
    /// (it was the last, and the dispatcher is parked), and then ring the
    /// dispatcher's eventfd if a ring holds bytes.
    pub(crate) fn leave(&self) -> bool {
        let last = self.helpers.fetch_sub(1, Ordering::SeqCst) == 1;
        fence(Ordering::SeqCst);
        last && self.parked.load(Ordering::SeqCst)
    }
}
