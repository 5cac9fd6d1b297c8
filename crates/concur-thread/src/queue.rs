//! The pool's global FIFO queue: crossbeam's `Injector` algorithm with
//! block reuse (`injector.rs`; lock-free, O(1) push), or under loom a
//! mutex-protected `VecDeque` that loom can model.
//!
//! Each entry is a job plus whether its submitter claimed an idle token for
//! it (see the pool's module docs).

use concur_core::Job;

/// A queued job and whether an idle token was claimed for it.
pub(crate) type Entry = (Job, bool);

#[cfg(not(concur_loom))]
pub(crate) struct Queue(crate::injector::Injector<Entry>);

#[cfg(not(concur_loom))]
impl Queue {
    pub(crate) fn new() -> Self {
        Self(crate::injector::Injector::new())
    }

    pub(crate) fn push(&self, job: Entry) {
        self.0.push(job);
    }

    pub(crate) fn pop(&self) -> Option<Entry> {
        self.0.pop()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(concur_loom)]
pub(crate) struct Queue(crate::primitive::Mutex<std::collections::VecDeque<Entry>>);

#[cfg(concur_loom)]
impl Queue {
    pub(crate) fn new() -> Self {
        Self(crate::primitive::Mutex::new(
            std::collections::VecDeque::new(),
        ))
    }

    pub(crate) fn push(&self, job: Entry) {
        crate::primitive::lock(&self.0).push_back(job);
    }

    pub(crate) fn pop(&self) -> Option<Entry> {
        crate::primitive::lock(&self.0).pop_front()
    }

    pub(crate) fn is_empty(&self) -> bool {
        crate::primitive::lock(&self.0).is_empty()
    }
}
