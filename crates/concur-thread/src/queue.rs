//! What waits in the thread pool's queue: a [`QueuedJob`], in the
//! lock-free [`Injector`] (crossbeam's algorithm with block reuse; O(1)
//! push). Loom builds run the same queue, with smaller blocks.

use crate::injector::Injector;
use concur_core::{Job, TaskId};

/// A job in the thread pool's queue.
pub(crate) struct QueuedJob {
    pub(crate) job: Job,
    /// Whether its submitter claimed an idle token for it (see the pool's
    /// module docs).
    pub(crate) claimed: bool,
    /// Its id in the pool's `tracing` events (zero-sized without the
    /// feature).
    pub(crate) id: TaskId,
}

/// The thread pool's queue.
pub(crate) type JobQueue = Injector<QueuedJob>;
