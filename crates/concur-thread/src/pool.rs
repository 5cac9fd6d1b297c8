//! [`ThreadPool`]: the queue, the idle/sleep bookkeeping and the workers.
//!
//! # Invariants
//!
//! * `state` = flags (`SHUTDOWN`, `BROKEN`) + `INFLIGHT` × submissions in
//!   progress. A submission increments it, and only pushes if no flag was
//!   set; closing sets a flag, then waits for the in-flight count to reach
//!   zero. After that no job can enter the queue, so "closing, no
//!   submission in flight and queue empty" is final: a worker may exit.
//! * `counters` = `spinning` (low 32 bits: idle workers that will look at
//!   the queue again without being woken) + `sleeping` (high 32 bits:
//!   workers blocked on `wake`). `sleeping` changes only under the `sleep`
//!   lock; a waker moves one sleeper to `spinning` and adds a token to the
//!   lock's counter, so `sleeping + tokens` = workers in the sleep section.
//! * No lost wake-up (Dekker): a submitter pushes, fences, then reads
//!   `counters`; a worker going to sleep registers in `counters`, fences,
//!   then re-checks the queue. One of them sees the other. A worker that
//!   leaves `spinning` with a job does the same check so that a job pushed
//!   while it still looked like a spinner gets a sleeper woken.
//! * `idle` holds idle tokens (CPython's `_idle_semaphore`, made exact):
//!   tokens = idle workers − queued jobs whose submitter claimed a token.
//!   A worker puts its token out just *before* its task's future completes
//!   (`Job::run_then`), so whoever sees the result and submits again finds
//!   it; a submitter that claims a token does not start a thread and marks
//!   its job claimed; an idle worker taking an unclaimed job retracts one; a
//!   busy worker taking a claimed job gives one back (the idle worker it
//!   was meant for is still idle). Tokens only steer thread creation, and
//!   are not touched by submitters once every worker slot is used;
//!   liveness comes from the two points above.
//!
//! # Idle workers: announce, spin one at a time, sleep, get woken
//!
//! A design note in the manner of rayon-core's `sleep/README.md`. The
//! numbers behind each wait (and the measurements) are in
//! [`concur_sync::backoff`]; this is the protocol around them.
//!
//! 1. **Finishing a job.** Just before the job's future completes, a
//!    worker that finds the queue empty puts its idle token out
//!    (`run_then`), so a caller woken by the result who submits again at
//!    once claims it and starts no thread. It then pops the queue.
//! 2. **Burst poll.** Empty queue: it polls for about a microsecond
//!    ([`burst_poll`](concur_sync::backoff::burst_poll)) *without*
//!    announcing itself, so a `submit` loop's next job is caught with no
//!    write to `counters` on either side.
//! 3. **Announce.** Still nothing: it adds itself to `spinning`. If it is
//!    the only spinner it spins
//!    ([`idle_worker`](concur_sync::backoff::idle_worker): yields, so a
//!    submitter sharing its core runs); a second idle worker only looks at
//!    the queue once and goes to sleep, since one spinner already takes the
//!    next job at once and another would only take CPU from the submitter.
//! 4. **Sleep.** Under the `sleep` lock it moves from `spinning` to
//!    `sleeping`, fences, and looks at the queue again (the Dekker pair of
//!    the invariants: a submitter pushes, fences, then reads `counters`).
//!    Then it waits on `wake` until a wake-up token is there for it, or the
//!    pool is closed.
//! 5. **Wake.** A submitter wakes one sleeper only when there are sleepers
//!    and no spinner (`notify_new_job`); the waker moves the sleeper back
//!    to `spinning` and hands it a token under the lock, so the next
//!    submission already counts it and wakes nobody else. A spinner that
//!    takes a job while others sleep wakes one if the queue still holds
//!    work (`become_busy`): a backlog wakes sleepers one by one, each woken
//!    worker passing it on, instead of the submitter reading the queue.
//!    A woken worker spins again (step 3) before it sleeps again.
//! 6. **Close.** Shutdown or a broken pool sets a flag and wakes every
//!    sleeper; a worker exits once no submission is in flight and the
//!    queue is empty, else it retries without sleeping.
//!
//! Idle tokens (the last invariant) ride along: a worker's token is out
//! while it is idle in any of steps 2–5, and a submitter that claims one
//! queues its job as `claimed` instead of starting a thread.

use crate::config::Config;
use crate::queue::{JobQueue, QueuedJob};
use crate::stats::{Counters, Tally};
use concur_core::{__event, Error, Executor, Job, PoolStats, RunOutcome, SubmitError, TaskIds};
use concur_sync::backoff;
use concur_sync::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread::{self, JoinHandle};
use crossbeam_utils::CachePadded;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

const SHUTDOWN: usize = 1;
const BROKEN: usize = 2;
const CLOSED: usize = SHUTDOWN | BROKEN;
const INFLIGHT: usize = 4;

const SPINNER: u64 = 1;
const SLEEPER: u64 = 1 << 32;

fn spinning(c: u64) -> u64 {
    c & (SLEEPER - 1)
}

fn sleeping(c: u64) -> u64 {
    c >> 32
}

struct PoolShared {
    queue: JobQueue,
    // Each hot word on its own cache line: the submitter's read-modify-
    // writes of `state` must not miss because workers just wrote `idle`.
    state: CachePadded<AtomicUsize>,
    idle: CachePadded<AtomicUsize>,
    counters: CachePadded<AtomicU64>,
    /// Wake-up tokens handed to sleepers (see the module invariants).
    sleep: Mutex<usize>,
    wake: Condvar,
    /// Worker slots taken so far (never decreases except when a spawn fails).
    threads: AtomicUsize,
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// Held while joining, so that concurrent `shutdown(wait = true)` calls
    /// all return after every worker is joined.
    join_lock: Mutex<()>,
    broken: Mutex<Option<Error>>,
    /// The ids of the `tracing` events (zero-sized without the feature;
    /// with it, only submitters write this line).
    ids: CachePadded<TaskIds>,
    /// What `stats` reports; nothing on the submit path touches it.
    stats: Counters,
    config: Config,
}

/// A pool of worker threads running submitted closures: CPython's
/// `ThreadPoolExecutor`.
///
/// * Submission comes from the [`Executor`] trait (`submit`,
///   `submit_fallible`) and [`TaskExecutor`](concur_core::TaskExecutor)
///   (`submit_task`, `submit_batch`); import the trait to call them.
/// * Workers start lazily: a submission that finds no idle worker starts
///   one, up to [`max_workers`](Self::max_workers); idle workers are reused
///   first. Idle workers spin briefly, then sleep; a submission wakes
///   exactly one sleeper, and only when needed.
/// * A panic or returned error lands in the task's future; the worker
///   survives.
/// * [`shutdown`](Self::shutdown) stops accepting work; dropping the
///   pool is `shutdown(wait = true, cancel_futures = false)`: queued work
///   still runs and every worker is joined.
/// * A pool that is never dropped (one in a `static`, say a
///   `LazyLock<ThreadPool>`) is shut down the same way when the process
///   exits: its queued and running work finishes first, as CPython's exit
///   hook makes it (see [`concur_core::join_at_exit`]).
/// * [`scope`](Self::scope) submits closures that borrow from the caller.
///
/// # Examples
///
/// ```
/// use concur_core::Executor;
/// use concur_thread::ThreadPool;
///
/// let pool = ThreadPool::new(4).unwrap();
/// let futs: Vec<_> = (0..10u64).map(|i| pool.submit(move || i * i).unwrap()).collect();
/// let total: u64 = futs.into_iter().map(|f| f.into_result().unwrap()).sum();
/// assert_eq!(total, 285);
///
/// // A panic fails only its own future.
/// let bad = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
/// assert_eq!(bad.result().unwrap_err().panic_message(), Some("boom"));
/// assert_eq!(*pool.submit(|| 1).unwrap().result().unwrap(), 1);
/// ```
///
/// Closures must be `Send`: this does not compile.
///
/// ```compile_fail
/// use concur_core::Executor;
/// let pool = concur_thread::ThreadPool::new(1).unwrap();
/// let not_send = std::rc::Rc::new(5);
/// let fut = pool.submit(move || *not_send);
/// ```
pub struct ThreadPool {
    shared: Arc<PoolShared>,
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.shared;
        // The same fields, in the same order, as `ProcessPool`'s: the bound,
        // the live workers, the lifecycle, then the pool's own settings.
        f.debug_struct("ThreadPool")
            .field("max_workers", &s.config.max_workers)
            .field("num_threads", &self.num_threads())
            .field("shutdown", &self.is_shutdown())
            .field("broken", &self.is_broken())
            .field("thread_name_prefix", &s.config.prefix)
            .finish_non_exhaustive()
    }
}

impl ThreadPool {
    pub(crate) fn from_config(config: Config) -> Self {
        let pool = Self {
            shared: Arc::new(PoolShared {
                queue: JobQueue::new(),
                state: CachePadded::new(AtomicUsize::new(0)),
                idle: CachePadded::new(AtomicUsize::new(0)),
                counters: CachePadded::new(AtomicU64::new(0)),
                sleep: Mutex::new(0),
                wake: Condvar::new(),
                threads: AtomicUsize::new(0),
                handles: Mutex::new(Vec::new()),
                join_lock: Mutex::new(()),
                broken: Mutex::new(None),
                ids: CachePadded::new(TaskIds::new()),
                stats: Counters::default(),
                config,
            }),
        };
        // loom's `Arc` has no `Weak`; a model never exits the process.
        #[cfg(not(concur_loom))]
        {
            let weak = Arc::downgrade(&pool.shared);
            concur_core::join_at_exit(weak);
        }
        pool
    }

    /// The most worker threads this pool runs.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_thread::ThreadPool::new(7).unwrap().max_workers(), 7);
    /// ```
    #[must_use]
    pub fn max_workers(&self) -> usize {
        self.shared.config.max_workers
    }

    /// The pool's name (see [`Builder::name`](crate::Builder::name)): the
    /// `pool` field of its `tracing` events.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::builder().name("resize").build().unwrap();
    /// assert_eq!(pool.name(), "resize");
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        &self.shared.config.name
    }

    /// A snapshot of the pool's counters: workers alive and started, tasks
    /// queued, running, completed, failed and cancelled (see [`PoolStats`]
    /// for what each counts). A thread pool never replaces a worker, so
    /// `replaced` is all zeros.
    ///
    /// Cheap: it sums one small tally per worker and reads the queue's
    /// length; keeping the counts costs the submit path nothing. It is not
    /// atomic across fields: while tasks run, a task may be missing from
    /// one count and not yet in the next.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    ///
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let ok = pool.submit(|| 1).unwrap();
    /// let bad = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
    /// ok.wait();
    /// bad.wait();
    /// let stats = pool.stats();
    /// assert_eq!((stats.completed, stats.failed, stats.cancelled), (1, 1, 0));
    /// assert_eq!((stats.queued, stats.running), (0, 0));
    /// assert!((1..=2).contains(&stats.workers_alive));
    /// assert_eq!(stats.replaced.total(), 0);
    /// ```
    #[must_use]
    pub fn stats(&self) -> PoolStats {
        let s = &self.shared;
        s.stats.snapshot(s.queue.len())
    }

    /// The prefix of the workers' names (`{prefix}_0`, `{prefix}_1`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// assert!(pool.thread_name_prefix().starts_with("concur-pool-"));
    /// ```
    #[must_use]
    pub fn thread_name_prefix(&self) -> &str {
        &self.shared.config.prefix
    }

    /// How many worker threads have been started so far (CPython's
    /// `len(executor._threads)`); never more than
    /// [`max_workers`](Self::max_workers).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::new(4).unwrap();
    /// assert_eq!(pool.num_threads(), 0);
    /// pool.submit(|| ()).unwrap().wait();
    /// assert_eq!(pool.num_threads(), 1);
    /// ```
    #[must_use]
    pub fn num_threads(&self) -> usize {
        // ORDERING: a statistic; no memory is published through it.
        self.shared.threads.load(Ordering::Relaxed)
    }

    /// CPython's `shutdown()`: stops accepting work, waits for queued and
    /// running jobs, cancels nothing. Same as
    /// `shutdown_with(ShutdownOptions::new())`; idempotent. Also reachable
    /// through the [`Shutdown`](concur_core::Shutdown) trait, for generic code.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// let fut = pool.submit(|| 1).unwrap();
    /// pool.shutdown();
    /// assert!(fut.done());
    /// assert!(pool.submit(|| 2).is_err());
    /// ```
    pub fn shutdown(&self) {
        concur_core::Shutdown::shutdown_with(self, concur_core::ShutdownOptions::new());
    }

    /// Shuts down as `how` says: `wait` (block until the work is done)
    /// and `cancel_futures` (cancel jobs that have not started), as in
    /// CPython.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::ShutdownOptions;
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_futures(true));
    /// assert!(pool.is_shutdown());
    /// ```
    pub fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        concur_core::Shutdown::shutdown_with(self, how);
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// ```
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.shared.state.load(Ordering::SeqCst) & SHUTDOWN != 0
    }

    /// Whether a worker's initializer failed, breaking the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Executor;
    /// let pool = concur_thread::ThreadPool::builder()
    ///     .initializer(|| Err::<(), _>("no database"))
    ///     .build()
    ///     .unwrap();
    /// let _ = pool.submit(|| ()).unwrap().wait();
    /// assert!(pool.is_broken());
    /// ```
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.shared.state.load(Ordering::SeqCst) & BROKEN != 0
    }

    fn closed_error(&self, state: usize) -> Error {
        if state & BROKEN != 0 {
            if let Some(e) = self.shared.broken.lock().clone() {
                return e;
            }
        }
        Error::shutdown()
    }
}

impl PoolShared {
    /// Claims an idle token without blocking (`_idle_semaphore.acquire(timeout=0)`).
    fn claim_idle(&self) -> bool {
        // ORDERING: tokens only steer thread creation (see module docs);
        // correctness never depends on them, so Relaxed is enough.
        let mut n = self.idle.load(Ordering::Relaxed);
        while n > 0 {
            // ORDERING: as above.
            match self
                .idle
                .compare_exchange_weak(n, n - 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    fn release_idle(&self) {
        // ORDERING: see `claim_idle`.
        self.idle.fetch_add(1, Ordering::Relaxed);
    }

    /// After a submission pushed a job (and fenced): wakes one sleeper if no
    /// worker is spinning. A spinner will take the job, or, if it takes an
    /// older one, wakes a sleeper for the rest as it stops spinning
    /// ([`become_busy`](Self::become_busy)); so a backlog wakes sleepers
    /// one by one without the submitter reading the queue's (contended)
    /// head.
    fn notify_new_job(&self) {
        let c = self.counters.load(Ordering::SeqCst);
        if sleeping(c) > 0 && spinning(c) == 0 {
            self.wake_one();
        }
    }

    fn wake_one(&self) {
        let mut tokens = self.sleep.lock();
        let c = self.counters.load(Ordering::SeqCst);
        if sleeping(c) > 0 {
            // One sleeper becomes a spinner: later submissions see it.
            self.counters
                .fetch_add(SPINNER.wrapping_sub(SLEEPER), Ordering::SeqCst);
            *tokens += 1;
            self.wake.notify_one();
        }
    }

    /// A spinning worker found a job: it stops spinning, and wakes a sleeper
    /// if more work is queued that a submitter may have left to it.
    fn become_busy(&self) {
        let before = self.counters.fetch_sub(SPINNER, Ordering::SeqCst);
        if sleeping(before) > 0 {
            fence(Ordering::SeqCst);
            if !self.queue.is_empty() {
                self.wake_one();
            }
        }
    }

    fn in_flight(state: usize) -> usize {
        state / INFLIGHT
    }

    /// Waits until at most `own` submissions are in flight (`own` is 1 when
    /// the caller is itself a submission).
    fn wait_in_flight(&self, own: usize) {
        while Self::in_flight(self.state.load(Ordering::SeqCst)) > own {
            thread::yield_now();
        }
    }

    /// Breaks the pool with `error` (first one wins) and fails every queued
    /// job with it.
    fn break_pool(&self, error: Error, own_in_flight: usize) {
        {
            let mut slot = self.broken.lock();
            if slot.is_none() {
                __event!(
                    error,
                    pool = %self.config.name,
                    error = %error,
                    "the thread pool is broken; queued and later tasks fail"
                );
                *slot = Some(error);
            }
        }
        self.state.fetch_or(BROKEN, Ordering::SeqCst);
        self.wait_in_flight(own_in_flight);
        let error = self
            .broken
            .lock()
            .clone()
            .expect("set above, never cleared");
        while let Some(QueuedJob { job, id: _id, .. }) = self.queue.pop() {
            self.stats.failed_queued();
            __event!(debug, pool = %self.config.name, task = %_id, "task failed: the pool is broken");
            job.fail(error.clone());
        }
        self.wake_all();
    }

    fn wake_all(&self) {
        let _tokens = self.sleep.lock();
        self.wake.notify_all();
    }

    /// Starts worker number `index` (its slot is already reserved).
    fn spawn_worker(this: &Arc<Self>, index: usize) -> std::io::Result<()> {
        let mut builder = thread::Builder::new().name(format!("{}_{index}", this.config.prefix));
        if let Some(size) = this.config.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(this);
        let handle = builder.spawn(move || shared.worker_main(index))?;
        this.handles.lock().push(handle);
        Ok(())
    }

    /// A worker's life: counted alive while it serves.
    fn worker_main(&self, index: usize) {
        let tally = self.stats.worker_started();
        __event!(debug, pool = %self.config.name, worker = index, "worker thread started");
        self.serve(index, &tally);
        self.stats.worker_exited();
        __event!(debug, pool = %self.config.name, worker = index, "worker thread exited");
    }

    /// Runs the initializer, then jobs until the pool is closed and drained.
    /// (`_index` and `_id` are only read by `tracing` events.)
    fn serve(&self, _index: usize, tally: &Tally) {
        if let Some(init) = &self.config.initializer {
            let outcome = match catch_unwind(AssertUnwindSafe(|| (init.0)())) {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(panic) => Some(Box::new(Error::panicked(panic)) as concur_core::BoxError),
            };
            if let Some(cause) = outcome {
                __event!(
                    error,
                    pool = %self.config.name,
                    worker = _index,
                    error = %cause,
                    "a worker's initializer failed"
                );
                self.break_pool(
                    Error::broken(
                        "a thread initializer failed, the thread pool is not usable anymore",
                        Some(cause),
                    ),
                    0,
                );
                return;
            }
        }
        // Whether this worker's idle token is out (it counts as idle).
        let mut token_out = false;
        loop {
            // Idle tokens only steer thread creation, which ends once every
            // worker slot is taken (slots are not given back): from then on
            // they are left alone, which spares each job a look at the
            // queue's tail (`is_empty`, a cache line the submitter writes)
            // and two read-modify-writes of the shared token count.
            // ORDERING: a slot count; a stale value only costs a token update.
            let track = self.threads.load(Ordering::Relaxed) < self.config.max_workers;
            let QueuedJob {
                job,
                claimed,
                id: _id,
            } = match self.queue.pop() {
                Some(queued) => queued,
                None => {
                    if track && !token_out {
                        self.release_idle();
                        token_out = true;
                    }
                    // A short poll before announcing itself as a spinner:
                    // during a burst the next job is usually a few hundred
                    // ns away, and catching it here spares the submitters a
                    // cache miss on `counters`. The worker is not counted
                    // as spinning meanwhile, which is safe: it looks at the
                    // queue again before it can sleep.
                    match self.poll_briefly() {
                        Some(queued) => queued,
                        None => {
                            let before = self.counters.fetch_add(SPINNER, Ordering::SeqCst);
                            // One spinner is enough to pick up the next job
                            // at once; a second one would only take CPU from
                            // the submitter (3 threads on 2 cores in a burst
                            // of small tasks), so it goes to sleep without
                            // spinning. A submission still wakes it when no
                            // worker is spinning, and a spinner that takes a
                            // job with more queued wakes it too.
                            let spin = spinning(before) == 0;
                            match self.idle_wait(spin) {
                                Some(queued) => queued,
                                None => return,
                            }
                        }
                    }
                }
            };
            match (token_out && track, claimed && track) {
                // Idle, taking a job nobody claimed a token for: retract ours.
                (true, false) => {
                    self.claim_idle();
                }
                // Busy, taking a job whose submitter claimed a token: the
                // idle worker that token stood for is still idle.
                (false, true) => self.release_idle(),
                // A claimed job taken by an idle worker, or an unclaimed one
                // by a busy worker: tokens already balance.
                _ => {}
            }
            // The token goes out again before the task's future completes,
            // so a caller of `result()` that submits again at once finds
            // this worker idle (CPython's test_idle_thread_reuse, made
            // deterministic) — unless more work is queued, which this
            // worker takes next (as CPython gh-102024: no token churn in a
            // burst).
            token_out = false;
            tally.took();
            __event!(trace, pool = %self.config.name, worker = _index, task = %_id, "task started");
            job.run_then(|outcome| {
                tally.ended(outcome);
                match outcome {
                    RunOutcome::Completed => {
                        __event!(trace, pool = %self.config.name, worker = _index, task = %_id, "task finished")
                    }
                    RunOutcome::Failed => {
                        __event!(debug, pool = %self.config.name, worker = _index, task = %_id, "task failed")
                    }
                    RunOutcome::Cancelled => {
                        __event!(debug, pool = %self.config.name, worker = _index, task = %_id, "task cancelled before it started")
                    }
                }
                if track && self.queue.is_empty() {
                    self.release_idle();
                    token_out = true;
                }
            });
        }
    }

    fn poll_briefly(&self) -> Option<QueuedJob> {
        let mut step = 0;
        while backoff::burst_poll(step) {
            if let Some(queued) = self.queue.pop() {
                return Some(queued);
            }
            step += 1;
        }
        None
    }

    /// The idle phase of a (spinning) worker: spin, then sleep, until a job
    /// comes (`Some`, worker no longer spinning) or the pool is closed and
    /// drained (`None`, worker unregistered). Without `spin` (another worker
    /// already spins) it looks at the queue once, then sleeps; after a
    /// wake-up it spins again before sleeping.
    fn idle_wait(&self, mut spin: bool) -> Option<QueuedJob> {
        loop {
            let mut step = 0;
            loop {
                if let Some(queued) = self.queue.pop() {
                    self.become_busy();
                    return Some(queued);
                }
                if !spin
                    || self.state.load(Ordering::SeqCst) & CLOSED != 0
                    || !backoff::idle_worker(step)
                {
                    break;
                }
                step += 1;
            }
            // Woken workers spin again before sleeping.
            spin = true;

            let mut tokens = self.sleep.lock();
            self.counters
                .fetch_add(SLEEPER.wrapping_sub(SPINNER), Ordering::SeqCst);
            fence(Ordering::SeqCst);
            if let Some(queued) = self.queue.pop() {
                self.counters
                    .fetch_sub(SLEEPER.wrapping_sub(SPINNER), Ordering::SeqCst);
                drop(tokens);
                self.become_busy();
                return Some(queued);
            }
            let state = self.state.load(Ordering::SeqCst);
            if state & CLOSED != 0 {
                if Self::in_flight(state) == 0 && self.queue.is_empty() {
                    self.counters.fetch_sub(SLEEPER, Ordering::SeqCst);
                    return None;
                }
                // A submission is finishing: retry without sleeping.
                self.counters
                    .fetch_sub(SLEEPER.wrapping_sub(SPINNER), Ordering::SeqCst);
                drop(tokens);
                thread::yield_now();
                continue;
            }
            loop {
                if *tokens > 0 {
                    // The waker already moved this worker to `spinning`.
                    *tokens -= 1;
                    break;
                }
                if self.state.load(Ordering::SeqCst) & CLOSED != 0 {
                    self.counters
                        .fetch_sub(SLEEPER.wrapping_sub(SPINNER), Ordering::SeqCst);
                    break;
                }
                tokens = self.wake.wait(tokens);
            }
        }
    }
}

impl Executor for ThreadPool {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        let s = &self.shared;
        let state = s.state.fetch_add(INFLIGHT, Ordering::SeqCst);
        if state & CLOSED != 0 {
            s.state.fetch_sub(INFLIGHT, Ordering::SeqCst);
            return Err(SubmitError::new(job, self.closed_error(state)));
        }
        let mut spawn = None;
        let mut claimed = false;
        // ORDERING: a slot count; the CAS below decides. Idle tokens only
        // steer thread creation, so once every slot is taken they are not
        // touched on this path (one contended CAS less per submission).
        let mut n = s.threads.load(Ordering::Relaxed);
        if n < s.config.max_workers {
            claimed = s.claim_idle();
            while !claimed && n < s.config.max_workers {
                // ORDERING: the slot counter publishes nothing.
                match s.threads.compare_exchange_weak(
                    n,
                    n + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        spawn = Some(n);
                        break;
                    }
                    Err(actual) => n = actual,
                }
            }
        }
        let id = s.ids.next();
        __event!(trace, pool = %s.config.name, task = %id, "task submitted");
        s.queue.push(QueuedJob { job, claimed, id });
        fence(Ordering::SeqCst);
        s.notify_new_job();
        if let Some(index) = spawn {
            if let Err(e) = PoolShared::spawn_worker(s, index) {
                __event!(warn, pool = %s.config.name, worker = index, error = %e, "could not start a worker thread");
                // ORDERING: as above.
                let before = s.threads.fetch_sub(1, Ordering::Relaxed);
                if before == 1 {
                    // No worker at all: the queued jobs could never run.
                    s.break_pool(
                        Error::broken("could not start a worker thread", Some(Box::new(e))),
                        1,
                    );
                }
            }
        }
        s.state.fetch_sub(INFLIGHT, Ordering::SeqCst);
        Ok(())
    }
}
impl PoolShared {
    /// `shutdown_with`'s body. Uses no thread-local state (the exit hook
    /// calls it after the exiting thread's thread-locals are gone).
    fn shutdown(&self, how: concur_core::ShutdownOptions) {
        let (wait, cancel_futures) = (how.waits(), how.cancels_futures());
        self.state.fetch_or(SHUTDOWN, Ordering::SeqCst);
        self.wait_in_flight(0);
        if cancel_futures {
            while let Some(QueuedJob { job, id: _id, .. }) = self.queue.pop() {
                self.stats.cancelled_queued();
                __event!(debug, pool = %self.config.name, task = %_id, "task cancelled by shutdown");
                job.cancel();
            }
        }
        self.wake_all();
        if wait {
            let _joining = self.join_lock.lock();
            let handles = std::mem::take(&mut *self.handles.lock());
            let mut kept = Vec::new();
            for h in handles {
                if thread::is_current(&h) {
                    // Called from one of our own workers: it cannot join
                    // itself; it exits once it returns to its loop.
                    kept.push(h);
                } else {
                    // Workers never panic (jobs catch their panics).
                    let _ = h.join();
                }
            }
            self.handles.lock().extend(kept);
        }
    }
}

/// A pool still alive at exit (one in a `static`) runs its queued work and
/// joins its workers first, as CPython's exit hook does.
impl concur_core::JoinAtExit for PoolShared {
    fn join_at_exit(&self) {
        self.shutdown(concur_core::ShutdownOptions::new());
    }
}

impl concur_core::Shutdown for ThreadPool {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        self.shared.shutdown(how);
    }
    fn is_shutdown(&self) -> bool {
        ThreadPool::is_shutdown(self)
    }
}

// The pool's state stays consistent when a caller unwinds: user code never
// runs while the pool holds a lock or is between two bookkeeping steps.
impl std::panic::UnwindSafe for ThreadPool {}
impl std::panic::RefUnwindSafe for ThreadPool {}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
