//! `as_completed`, `wait`, `map` and chaining over concur futures, for
//! every concur executor.
//!
//! * [`as_completed`]: futures in completion order, already-done first,
//!   duplicates once ([`AsCompleted`]); with a timeout
//!   ([`AsCompleted::timeout`], [`AsCompletedTimeout`]).
//! * [`wait()`]: block until [`ReturnWhen`] holds; `(done, not_done)`.
//! * [`ExecutorExt::map`] / [`ExecutorExt::map_unordered`]: a closure over
//!   an iterator on any [`Executor`](concur_core::Executor);
//!   [`TaskExecutorExt::map_task`] / [`TaskExecutorExt::map_task_unordered`]:
//!   a named [`RemoteFn`](concur_core::RemoteFn) on any
//!   [`TaskExecutor`](concur_core::TaskExecutor) (process and cluster
//!   executors too). Both are configured by [`MapBuilder`] (`chunksize`,
//!   `buffersize`, `timeout`) and yield through [`MapIter`].
//! * [`FutureExt`]: `then`, `then_on`, `handle`, `and_then`, `or_else`,
//!   `with_timeout`; [`join_all`] (fail-fast), [`gather`] (collect-all),
//!   [`select`]; [`retry`] with a [`Backoff`]. See [`chain`] for which
//!   thread runs chained work.
//! * Feature `progress`: `with_progress(indicatif::ProgressBar)` on
//!   [`AsCompleted`] and [`MapBuilder`].
//!
//! [`as_completed`] and [`wait()`] accept [`Future<T>`](concur_core::Future)s,
//! [`AnyFuture`](concur_core::AnyFuture)s (mixed output types and
//! executors), or references to either ([`IntoFutureHandle`]).
//!
//! # Examples
//!
//! ```
//! use concur_combinators::{as_completed, wait, ExecutorExt, FutureExt, ReturnWhen};
//! use concur_core::{Executor, Job, SubmitError};
//!
//! struct SpawnEach;
//! impl Executor for SpawnEach {
//!     fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
//!         std::thread::spawn(move || job.run());
//!         Ok(())
//!     }
//! }
//! impl concur_core::Shutdown for SpawnEach {
//!     fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
//!     fn is_shutdown(&self) -> bool {
//!         false
//!     }
//! }
//!
//! let futs: Vec<_> = (1..=3u64).map(|i| SpawnEach.submit(move || i * i).unwrap()).collect();
//! let mut sum = 0;
//! for f in as_completed(&futs) {
//!     sum += *f.result().unwrap();
//! }
//! assert_eq!(sum, 14);
//!
//! let (done, not_done) = wait(&futs, None, ReturnWhen::AllCompleted);
//! assert_eq!((done.len(), not_done.len()), (3, 0));
//!
//! let squares: Vec<u64> = SpawnEach
//!     .map(|x: u64| x * x, 1..=3)
//!     .chunksize(2)
//!     .run()
//!     .unwrap()
//!     .map(Result::unwrap)
//!     .collect();
//! assert_eq!(squares, [1, 4, 9]);
//!
//! // `then` moves the value on: the other handles (`done`) must be gone.
//! drop(done);
//! let text = futs.into_iter().next().unwrap().then(|v| format!("got {v}"));
//! assert_eq!(text.into_result().unwrap(), "got 1");
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod as_completed;
pub mod chain;
mod deadline;
mod map;
mod retry;
mod wait;

pub use as_completed::{AsCompleted, AsCompletedTimeout, as_completed};
pub use chain::{FutureExt, gather, join_all, select};
pub use concur_core::{FutureHandle, IntoFutureHandle};
pub use map::{ExecutorExt, MapBuilder, MapError, MapIter, TaskExecutorExt};
pub use retry::{Backoff, retry};
pub use wait::{DoneAndNotDone, ReturnWhen, wait};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
