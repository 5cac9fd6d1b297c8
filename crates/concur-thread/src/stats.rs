//! The thread pool's counters behind [`ThreadPool::stats`](crate::ThreadPool::stats):
//! one [`Tally`] per worker, on the worker's own cache line, written only
//! by that worker; a few pool-wide counts for the cold paths (worker start
//! and exit, jobs cancelled by `shutdown` or failed by a broken pool).
//!
//! Nothing here is touched on the submit path, and a worker's tally costs
//! it two plain (non-`lock`ed) relaxed increments per job on a line no
//! other thread writes. The snapshot sums the tallies; it is not atomic
//! across fields (see [`PoolStats`]).
//!
//! These are `std`'s atomics, not `concur_sync`'s: the counters take part
//! in no protocol (nothing is published through them, no decision reads
//! them), so loom has nothing to check in them, and loom's atomics would
//! only add to every model's state space.

use concur_core::{PoolStats, RunOutcome};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// One worker's counts. Only its worker writes them.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    taken: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
}

/// A single writer's increment: a load and a store, no read-modify-write.
#[inline]
fn bump(c: &AtomicU64) {
    // ORDERING: a statistic read only by snapshots; nothing is published.
    c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

impl Tally {
    /// The worker took a job off the queue.
    #[inline]
    pub(crate) fn took(&self) {
        bump(&self.taken);
    }

    /// The job it took ended so.
    #[inline]
    pub(crate) fn ended(&self, outcome: RunOutcome) {
        bump(match outcome {
            RunOutcome::Completed => &self.completed,
            RunOutcome::Failed => &self.failed,
            RunOutcome::Cancelled => &self.cancelled,
        });
    }
}

/// The pool's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Every worker's tally, kept after the worker exits (its counts stay
    /// in the totals). Locked only when a worker starts and by snapshots.
    tallies: Mutex<Vec<Arc<CachePadded<Tally>>>>,
    alive: AtomicUsize,
    started: AtomicU64,
    /// Queued jobs cancelled by `shutdown(cancel_futures)`.
    cancelled_queued: AtomicU64,
    /// Queued jobs failed because the pool broke.
    failed_queued: AtomicU64,
}

impl Counters {
    /// A worker starts: it counts as alive and gets its tally.
    pub(crate) fn worker_started(&self) -> Arc<CachePadded<Tally>> {
        // ORDERING (here and below): statistics; nothing is published.
        self.started.fetch_add(1, Ordering::Relaxed);
        self.alive.fetch_add(1, Ordering::Relaxed);
        let tally = Arc::new(CachePadded::new(Tally::default()));
        self.tallies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&tally));
        tally
    }

    /// A worker exits.
    pub(crate) fn worker_exited(&self) {
        self.alive.fetch_sub(1, Ordering::Relaxed);
    }

    /// A queued job was cancelled without running.
    pub(crate) fn cancelled_queued(&self) {
        self.cancelled_queued.fetch_add(1, Ordering::Relaxed);
    }

    /// A queued job was failed without running.
    pub(crate) fn failed_queued(&self) {
        self.failed_queued.fetch_add(1, Ordering::Relaxed);
    }

    /// The snapshot, with the queue's length read by the caller.
    pub(crate) fn snapshot(&self, queued: usize) -> PoolStats {
        let (mut taken, mut completed, mut failed, mut cancelled) = (0u64, 0u64, 0u64, 0u64);
        for t in self
            .tallies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            // Relaxed loads of two counters may be out of step (a job's
            // end seen before its take): `running` saturates at 0.
            completed += t.completed.load(Ordering::Relaxed);
            failed += t.failed.load(Ordering::Relaxed);
            cancelled += t.cancelled.load(Ordering::Relaxed);
            taken += t.taken.load(Ordering::Relaxed);
        }
        let mut stats = PoolStats::default();
        stats.workers_alive = self.alive.load(Ordering::Relaxed);
        stats.workers_started = self.started.load(Ordering::Relaxed);
        stats.queued = queued;
        stats.running =
            usize::try_from(taken.saturating_sub(completed + failed + cancelled)).unwrap_or(0);
        stats.completed = completed;
        stats.failed = failed + self.failed_queued.load(Ordering::Relaxed);
        stats.cancelled = cancelled + self.cancelled_queued.load(Ordering::Relaxed);
        stats
    }
}
