//! [`PoolStats`]: what a pool reports about its workers and tasks, the same
//! type for every executor, with the worker replacements by cause
//! ([`Replacements`]).

/// A snapshot of a pool's counters: its workers (alive, started, replaced
/// by cause) and its tasks (queued, running, completed, failed, cancelled),
/// from `ThreadPool::stats` or `ProcessPool::stats`.
///
/// A *task* is one unit of work the pool was given: one `submit` or
/// `submit_task`, one `submit_batch` or `submit_chunk` (so one chunk of a
/// `map`). Every task the pool accepted ends as exactly one of
/// `completed`, `failed` or `cancelled`:
///
/// * `completed`: its future (every future of a batch) holds a value. A
///   chunk whose items failed still completes: the failures are in its
///   `ChunkOutcome`.
/// * `failed`: its future holds an error: the task panicked or returned
///   one, or was lost with its worker (died, timed out) or its pool (broken).
/// * `cancelled`: it was cancelled before it ran (`Future::cancel`,
///   `shutdown` with `cancel_futures`), or killed while running by
///   `ProcessPool::kill`.
///
/// The counters are cheap to keep and to read, and each is exact, but the
/// snapshot is *not* atomic across fields: a task finishing while the
/// snapshot is taken may be missing from `running` and not yet in
/// `completed`, or (in a thread pool) counted in `queued` and in `running`
/// at once. Read it as a gauge, and read it again once the pool is quiet
/// (after the futures are done) for exact totals.
///
/// `#[non_exhaustive]`: more counters may come; read the fields, and build
/// one (for a test double, say) from [`Default`].
///
/// # Examples
///
/// ```
/// use concur_core::PoolStats;
///
/// let mut stats = PoolStats::default();
/// stats.completed = 8;
/// stats.failed = 2;
/// assert_eq!(stats.finished(), 10);
/// assert_eq!(stats.replaced.total(), 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Workers running now (threads, or worker processes launched and not
    /// yet gone, starting ones included).
    pub workers_alive: usize,
    /// Workers started since the pool was built (replacements included).
    pub workers_started: u64,
    /// Workers that were gone and replaced, by why they went (counted when
    /// the pool decides to start the new one, which may be a moment, or a
    /// start-up backoff, before it runs).
    pub replaced: Replacements,
    /// Tasks accepted and waiting for a worker (a cancelled one counts
    /// until a worker skips it).
    pub queued: usize,
    /// Tasks a worker is running now.
    pub running: usize,
    /// Tasks that finished with a value.
    pub completed: u64,
    /// Tasks that finished with an error.
    pub failed: u64,
    /// Tasks cancelled (before running, or killed while running).
    pub cancelled: u64,
}

impl PoolStats {
    /// `completed + failed + cancelled`: the tasks that are over.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stats = concur_core::PoolStats::default();
    /// stats.cancelled = 3;
    /// assert_eq!(stats.finished(), 3);
    /// ```
    #[must_use]
    pub fn finished(&self) -> u64 {
        self.completed + self.failed + self.cancelled
    }
}

/// Why workers were replaced (part of [`PoolStats`]). A thread pool never
/// replaces a worker (a task's panic does not kill it), so its counts are
/// all zero; a process pool counts each worker it started again in a slot
/// after the previous one was gone.
///
/// # Examples
///
/// ```
/// let mut r = concur_core::Replacements::default();
/// r.crashed = 1;
/// r.recycled = 2;
/// assert_eq!(r.total(), 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Replacements {
    /// It died on its own (a signal such as `SIGKILL` from outside, or an
    /// exit) after it was ready.
    pub crashed: u64,
    /// It was killed because its task overran the pool's `task_timeout`.
    pub timed_out: u64,
    /// The pool killed it on request: `ProcessPool::kill` of its task,
    /// `terminate_workers` or `kill_workers`.
    pub killed: u64,
    /// It exited after `max_tasks_per_child` tasks.
    pub recycled: u64,
    /// It died, or overran `start_timeout`, before it was ready (handshake
    /// or initializer).
    pub failed_start: u64,
    /// It was killed for breaking the pool's protocol.
    pub protocol: u64,
}

impl Replacements {
    /// Every replacement, whatever its cause.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_core::Replacements::default().total(), 0);
    /// ```
    #[must_use]
    pub fn total(&self) -> u64 {
        self.crashed
            + self.timed_out
            + self.killed
            + self.recycled
            + self.failed_start
            + self.protocol
    }
}
