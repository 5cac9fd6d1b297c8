//! Process-pool executor for concur: true CPU parallelism in worker
//! processes, as Python's `ProcessPoolExecutor`, without its famous
//! failures.
//!
//! * The worker guard (Python's `if __name__ == "__main__"`): the workers
//!   are copies of the current binary, diverted into the worker loop before
//!   `main` runs by a pre-`main` hook (Linux with glibc), so nothing in
//!   `main`, and no test harness, runs again in them, and no set-up call is
//!   needed. [`init`] is the explicit form, optional (harmless where the
//!   hook ran), for platforms without the hook; a pool whose workers were
//!   not diverted says so at start (naming [`init`]), never an endless
//!   spawn.
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
//! The pool re-executes the current binary, and the pre-`main` hook
//! diverts the copy before libtest's `main`, so a process pool works in a
//! plain `#[test]` function (and in a doctest, such as the ones here): the
//! workers never run the harness or other tests (see this crate's
//! `tests/pool.rs`). Remote functions declared anywhere in the test binary,
//! or in the crates it links, are found in the workers. Tests that count
//! child processes or descriptors look at the whole process, so run those
//! one at a time.
//!
//! # Examples
//!
//! ```
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
//!     // No set-up call: the workers never get here.
//!     let pool = ProcessPool::builder().max_workers(2).build().unwrap();
//!     let futs = pool.submit_batch(is_prime, vec![97, 98, 101]).unwrap();
//!     let out: Vec<bool> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
//!     assert_eq!(out, [true, false, true]);
//! }
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod closures;
mod config;
mod desk;
mod dispatcher;
mod driver;
mod error;
mod forkserver;
mod guard;
mod handover;
mod hook;
mod launch;
mod passfd;
mod pool;
mod proc;
mod reexec;
mod ring;
mod shared;
mod shm;
mod start_method;
mod stats;
mod sys;
mod token;
mod worker;
mod zygote;

pub use builder::{Builder, default_max_workers};
pub use closures::{MapOnProcessPool, SubmitToProcessPool};
pub use error::{BuildError, ProtocolViolation, WorkerDied};
pub use guard::{init, is_worker_process};
pub use pool::ProcessPool;
pub use start_method::StartMethod;
pub use sys::ExitCause;
pub use zygote::start_fork_server;
#[doc(hidden)]
pub use zygote::zygote_pid;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
