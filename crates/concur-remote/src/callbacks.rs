//! [`CallbackRunner`]: done-callbacks off the I/O thread.
//!
//! An elastic set of threads, started only when callbacks exist: a batch
//! queued while every runner thread is busy (a callback that sleeps, say)
//! starts another thread, so no callback waits behind a slow one. Idle
//! threads exit after [`KEEP_ALIVE`]. (tokio's blocking pool and CPython's
//! thread pool grow the same way; a fixed pool would let one slow callback
//! delay every other future's callbacks.)
//!
//! It compiles under `--cfg concur_loom` like the rest of the crate (its
//! threads are then loom's), but no model uses it: it starts threads on
//! demand and retires them after [`KEEP_ALIVE`], a timeout loom (no clock)
//! cannot check; the process pool's tests run it for real.

use concur_core::DeferredCallbacks;
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread;
use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Duration;

/// How long an idle runner thread waits for more callbacks before it exits.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

/// Runner threads at most; past it batches queue for the next free thread.
const MAX_THREADS: usize = 64;

concur_sync::thread_local! {
    // Whether this thread is one of a runner's (see `wait_idle`). A plain
    // initialiser, not `const { .. }`: loom's `thread_local!` does not take
    // one (the flag is read once per `wait_idle`, so the lazy check costs
    // nothing that matters).
    #[allow(clippy::missing_const_for_thread_local)]
    static ON_RUNNER: Cell<bool> = Cell::new(false);
}

#[derive(Default)]
struct RunnerState {
    queue: VecDeque<Vec<DeferredCallbacks>>,
    threads: usize,
    idle: usize,
    /// Batches taken but not finished.
    running: usize,
}

struct RunnerShared {
    state: Mutex<RunnerState>,
    /// Signalled when work is queued.
    work: Condvar,
    /// Signalled when the queue is empty and nothing runs.
    drained: Condvar,
}

/// Runs the done-callbacks a transport's I/O thread collected, on threads
/// of its own.
///
/// # Examples
///
/// ```
/// let runner = concur_remote::CallbackRunner::new("doc-callbacks");
/// let (promise, fut) = concur_core::Promise::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// fut.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
/// let deferred = promise.set_outcome_deferring_callbacks(Ok(3)).unwrap();
/// runner.run(deferred.into_iter().collect());
/// assert_eq!(rx.recv().unwrap(), 3);
/// runner.wait_idle();
/// ```
#[derive(Clone)]
pub struct CallbackRunner {
    shared: Arc<RunnerShared>,
    name: &'static str,
}

impl std::fmt::Debug for CallbackRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shared.state.lock();
        f.debug_struct("CallbackRunner")
            .field("threads", &s.threads)
            .field("queued", &s.queue.len())
            .finish_non_exhaustive()
    }
}

impl CallbackRunner {
    /// A runner whose threads are called `name`; none is started yet.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = concur_remote::CallbackRunner::new("pool-callbacks");
    /// runner.wait_idle(); // nothing to wait for
    /// ```
    #[must_use]
    pub fn new(name: &'static str) -> Self {
        Self {
            shared: Arc::new(RunnerShared {
                state: Mutex::new(RunnerState::default()),
                work: Condvar::new(),
                drained: Condvar::new(),
            }),
            name,
        }
    }

    /// Queues a batch of callbacks (run in order, on one thread); empty
    /// batches cost nothing. If no runner thread is idle, starts one.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = concur_remote::CallbackRunner::new("doc");
    /// runner.run(Vec::new());
    /// ```
    pub fn run(&self, batch: Vec<DeferredCallbacks>) {
        if batch.is_empty() {
            return;
        }
        let mut s = self.shared.state.lock();
        s.queue.push_back(batch);
        if s.idle > s.queue.len().saturating_sub(1) {
            drop(s);
            self.shared.work.notify_one();
            return;
        }
        if s.threads >= MAX_THREADS {
            return;
        }
        s.threads += 1;
        drop(s);
        let shared = self.shared.clone();
        let spawned = thread::Builder::new()
            .name(self.name.into())
            .spawn(move || serve(&shared));
        if spawned.is_err() {
            // No thread could be started (a thread limit): run the batch
            // here rather than lose it.
            let mut s = self.shared.state.lock();
            s.threads -= 1;
            let batch = s.queue.pop_back();
            drop(s);
            if let Some(batch) = batch {
                batch.into_iter().for_each(DeferredCallbacks::run);
            }
        }
    }

    /// Blocks until every queued callback has run. Returns at once when
    /// called from one of the runner's own threads (a callback that shuts
    /// its pool down), which would otherwise wait for itself.
    ///
    /// # Examples
    ///
    /// ```
    /// let runner = concur_remote::CallbackRunner::new("doc");
    /// runner.wait_idle();
    /// ```
    pub fn wait_idle(&self) {
        if ON_RUNNER.with(Cell::get) {
            return;
        }
        let mut s = self.shared.state.lock();
        while !s.queue.is_empty() || s.running > 0 {
            s = self.shared.drained.wait(s);
        }
    }
}

fn serve(shared: &RunnerShared) {
    ON_RUNNER.with(|c| c.set(true));
    let mut s = shared.state.lock();
    loop {
        if let Some(batch) = s.queue.pop_front() {
            s.running += 1;
            drop(s);
            batch.into_iter().for_each(DeferredCallbacks::run);
            s = shared.state.lock();
            s.running -= 1;
            if s.queue.is_empty() && s.running == 0 {
                shared.drained.notify_all();
            }
            continue;
        }
        s.idle += 1;
        let (g, timeout) = shared.work.wait_timeout(s, KEEP_ALIVE);
        s = g;
        s.idle -= 1;
        if timeout && s.queue.is_empty() {
            s.threads -= 1;
            return;
        }
    }
}
