//! The queue a [`Watcher`](crate::Watcher)'s futures push their tokens
//! onto as they complete, and the one waker of the watcher's thread or task.
//!
//! Completing futures only ever call [`ReadyQueue::push_ready`]; the watcher
//! drains the queue in batches ([`ReadyQueue::drain_locked`]) and parks only
//! after publishing its waker under the same lock the completer pushes
//! under, so no wake-up is lost.

use crate::notify::Notify;
use concur_sync::sync::atomic::{AtomicUsize, Ordering};
use concur_sync::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;

/// The tokens of a watcher's completed futures, not yet taken.
pub(crate) struct ReadyQueue {
    tokens: Mutex<ReadyTokens>,
    /// Mirrors `tokens.ready.len()` (written under the lock) so a spinning
    /// watcher can poll for news without taking the lock.
    queued: AtomicUsize,
}

/// What [`ReadyQueue`]'s lock guards.
pub(crate) struct ReadyTokens {
    pub(crate) ready: VecDeque<usize>,
    /// Set only while the watcher is (about to be) parked or pending.
    pub(crate) notify: Option<Notify>,
}

impl ReadyQueue {
    pub(crate) fn new() -> Self {
        Self {
            tokens: Mutex::new(ReadyTokens {
                ready: VecDeque::new(),
                notify: None,
            }),
            queued: AtomicUsize::new(0),
        }
    }

    /// Called by a completing future (outside its own lock).
    pub(crate) fn push_ready(&self, token: usize) {
        let wake = {
            let mut s = self.tokens.lock();
            s.ready.push_back(token);
            // ORDERING: only a hint for the lock-free spin in
            // `Watcher::next_until`; the queue itself is read under the lock.
            self.queued.store(s.ready.len(), Ordering::Relaxed);
            s.notify.take()
        };
        if let Some(n) = wake {
            n.wake();
        }
    }

    /// Takes the lock, for the watcher.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ReadyTokens> {
        self.tokens.lock()
    }

    /// Whether the queue looked empty (a hint: re-check under the lock).
    pub(crate) fn looks_empty(&self) -> bool {
        // ORDERING: a hint only; the queue is re-read under the lock.
        self.queued.load(Ordering::Relaxed) == 0
    }

    /// Moves every queued token to `local` in one go (one lock per batch of
    /// completions, not per completion). `s` is this queue's locked state.
    pub(crate) fn drain_locked(&self, s: &mut ReadyTokens, local: &mut VecDeque<usize>) {
        if s.ready.is_empty() {
            return;
        }
        if local.is_empty() {
            std::mem::swap(local, &mut s.ready);
        } else {
            local.append(&mut s.ready);
        }
        // ORDERING: a hint only, see `ReadyQueue::queued`.
        self.queued.store(0, Ordering::Relaxed);
    }
}
