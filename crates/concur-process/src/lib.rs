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
//! * [`ProcessPool::stats`]: a [`PoolStats`](concur_core::PoolStats)
//!   snapshot, with the workers replaced by cause (crashed, timed out,
//!   killed, recycled, failed start, protocol).
//! * Feature `tracing`: events for tasks, worker launch, start, death
//!   (with its signal or exit code) and replacement, an initializer
//!   failure and a broken pool, with the pool's [`name`](Builder::name)
//!   and the worker's pid.
//!
//! Linux only (pidfd, kernel ≥ 5.3).
//!
//! # Faults
//!
//! A worker that dies in any phase of its life (starting, handshake,
//! initializer, idle, running, retiring), or cannot be started for a while
//! (`EMFILE`, `EAGAIN`), is replaced with bounded backoff; the pool is
//! broken only if workers cannot be started at all (see the supervision
//! table in the `dispatcher` module's source, and
//! [`concur_remote::Verdict`]). A dead fork server is started again.
//! Infrastructure failures have their own [`concur_core::ErrorKind`]s
//! (`WorkerDied`, `Protocol`, `FrameTooLarge`, `Codec`), distinct from a
//! task's own `Task` error.
//!
//! A task handed to a worker that dies before reading it fails with
//! `WorkerDied` too: the pool cannot tell whether it started.
//!
//! # Where user code runs
//!
//! Results are decoded (your `Deserialize`) on the pool's dispatcher
//! thread, so a slow or blocking `Deserialize` delays other results; keep
//! it plain. Done-callbacks and `then` closures of process futures run on
//! the pool's callback threads, never on the dispatcher: a slow callback
//! delays nobody else's result.
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

mod builder;
mod closures;
mod config;
mod dispatcher;
mod error;
mod forkserver;
mod guard;
mod launch;
mod pool;
mod proc;
mod reexec;
mod shared;
mod start_method;
mod stats;
mod sys;
mod token;
mod worker;

pub use builder::{Builder, default_max_workers};
pub use closures::{MapOnProcessPool, SubmitToProcessPool};
pub use error::{BuildError, ProtocolViolation, WorkerDied};
pub use guard::{init, is_worker_process};
pub use pool::ProcessPool;
pub use start_method::StartMethod;
pub use sys::ExitCause;
