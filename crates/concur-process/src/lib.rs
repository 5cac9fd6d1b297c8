//! Process-pool executor for concur: true CPU parallelism in worker
//! processes, as Python's `ProcessPoolExecutor`, without its famous
//! failures.
//!
//! * [`init`]: call it first thing in `main`; it diverts worker processes
//!   into the worker loop (the `if __name__ == "__main__"` guard). A
//!   forgotten call is reported at pool start, never an endless spawn.
//! * [`ProcessPool`] / [`Builder`]: the pool; it implements
//!   [`concur_core::TaskExecutor`] (`submit_task`, `submit_batch`), so
//!   code moves between the thread pool and the process pool by changing
//!   one line. Functions are named, not sent: declare them with
//!   [`concur_ipc::remote!`].
//! * A worker killed mid-task (signal, abort, segfault, `exit`) fails only
//!   that task with [`WorkerDied`] and is replaced; every child is reaped
//!   (pidfd, never `waitpid(-1)`), every descriptor is close-on-exec.
//! * [`ProcessPool::kill`], [`Builder::task_timeout`],
//!   [`ProcessPool::terminate_workers`], [`ProcessPool::kill_workers`] stop
//!   running work.
//!
//! Linux only (pidfd, kernel ≥ 5.3).
//!
//! # Testing a binary that uses the pool
//!
//! The pool re-executes the current binary, so a test binary must be its
//! own worker: write process-pool tests as `harness = false` test targets
//! whose `main` calls [`init`] first (see this crate's `tests/pool.rs`).
//!
//! # Examples
//!
//! ```no_run
//! use concur_core::TaskExecutor;
//! use concur_process::ProcessPool;
//!
//! concur_ipc::remote! {
//!     fn is_prime(n: u64) -> bool {
//!         n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//!     }
//! }
//!
//! fn main() {
//!     concur_process::init();
//!     let pool = ProcessPool::builder().max_workers(2).build().unwrap();
//!     let futs = pool.submit_batch(is_prime, vec![97, 98, 101]).unwrap();
//!     let out: Vec<bool> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
//!     assert_eq!(out, [true, false, true]);
//! }
//! ```

#[cfg(not(concur_loom))]
mod forkserver;
#[cfg(not(concur_loom))]
mod pool;
#[cfg(not(concur_loom))]
mod primitive;
#[cfg(not(concur_loom))]
mod sys;
#[cfg(not(concur_loom))]
mod worker;

mod book;

#[cfg(not(concur_loom))]
pub use pool::{BuildError, Builder, ProcessPool, StartMethod, WorkerDied};
#[cfg(not(concur_loom))]
pub use sys::ExitCause;

/// The bookkeeping state machine, exposed for the loom model only.
#[cfg(concur_loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::book::*;
}

/// The environment variable carrying the worker token.
#[cfg(not(concur_loom))]
pub(crate) const WORKER_ENV: &str = "CONCUR_PROCESS_WORKER";

#[cfg(not(concur_loom))]
static IN_WORKER: primitive::AtomicBool = primitive::AtomicBool::new(false);

/// Diverts a worker process into the worker loop; returns at once in any
/// other process. Call it as the first statement of `main`, before any
/// thread is started.
///
/// In a worker (started by a [`ProcessPool`] with a token in its
/// environment) it serves tasks and then exits the process: it never
/// returns there.
///
/// # Examples
///
/// ```no_run
/// concur_process::init(); // the first statement of `main`
/// // ... build pools, submit work ...
/// ```
#[cfg(not(concur_loom))]
pub fn init() {
    let Some(token) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    IN_WORKER.store(true, primitive::Ordering::SeqCst);
    // SAFETY: called at the top of `main` before other threads exist (as
    // documented), so nothing reads the environment concurrently. Removing
    // the token keeps it from leaking into processes a task starts.
    unsafe { std::env::remove_var(WORKER_ENV) };
    let token_str = token.to_str().unwrap_or("");
    let fd = |prefix: &str| {
        token_str
            .strip_prefix(prefix)
            .and_then(|fd| fd.parse::<i32>().ok())
    };
    let code = match (fd("spawn:"), fd("forkserver:")) {
        (Some(fd), _) => worker::run(fd),
        (_, Some(fd)) => forkserver::serve(fd),
        _ => {
            eprintln!("concur-process: malformed {WORKER_ENV} token {token:?}");
            2
        }
    };
    std::process::exit(code);
}

/// Whether this process is a pool worker (or a re-executed worker whose
/// `main` forgot to call [`init`]). Pools refuse to be built in one.
///
/// # Examples
///
/// ```
/// assert!(!concur_process::is_worker_process());
/// ```
#[cfg(not(concur_loom))]
#[must_use]
pub fn is_worker_process() -> bool {
    IN_WORKER.load(primitive::Ordering::SeqCst) || std::env::var_os(WORKER_ENV).is_some()
}
