//! Future handles, their completing side, waiters, callbacks, errors and the
//! executor traits: the core every concur executor and combinator builds on.
//!
//! * [`Future`]: a cheap, clonable, `Send + Sync` handle to a result that may
//!   not exist yet ([`result`](Future::result), [`cancel`](Future::cancel),
//!   [`add_done_callback`](Future::add_done_callback), `.await`).
//! * [`Promise`]: the completing side an executor holds
//!   ([`set_running_or_notify_cancel`](Promise::set_running_or_notify_cancel),
//!   [`set_result`](Promise::set_result), [`set_exception`](Promise::set_exception)).
//! * [`State`]: pending, running, finished, failed, cancelled.
//! * [`Error`] / [`ErrorKind`]: the one error futures fail with;
//!   [`SubmitError`] gives a refused task back.
//! * [`AnyFuture`]: a type-erased handle; [`Watcher`]: waits on many futures
//!   at once with O(1) work per completion.
//! * [`Executor`], [`Job`], [`TaskExecutor`], [`RemoteFn`]: the executor
//!   contract; [`ChunkOutcome`]: what a chunk of items produced, from the
//!   worker to `map`.
//! * [`FutureHandle`] / [`IntoFutureHandle`]: what the many-future waiters
//!   (`as_completed`, `wait`, blocking and async) accept and hand back;
//!   [`ReturnWhen`]: when `wait` returns; [`timer`]: the one timer thread
//!   behind every runtime-independent timeout.
//! * [`join_at_exit`] / [`JoinAtExit`]: executors still alive when the
//!   process exits (a pool in a `static`) finish their work first, as
//!   CPython's exit hook does.
//! * [`PoolStats`] / [`Replacements`]: the snapshot of a pool's workers and
//!   tasks that every pool's `stats()` returns.
//!
//! # Features
//!
//! * `tracing`: events through the [`tracing`](https://docs.rs/tracing)
//!   crate (a done-callback that panicked, at `error`). The `tracing`
//!   feature of every other concur crate turns this one on, and with it
//!   the events of every concur crate in the build (task submit, start and
//!   finish at `trace`/`debug`; worker deaths, replacements, broken pools
//!   at `warn`/`error`). Off (the default), no concur crate depends on
//!   `tracing` and the events compile to nothing.
//!
//! # Examples
//!
//! ```
//! use concur_core::{Promise, State};
//! use std::{thread, time::Duration};
//!
//! let (promise, fut) = Promise::new();
//! fut.add_done_callback(|f| println!("done: {:?}", f));
//! let worker = thread::spawn(move || {
//!     if promise.set_running_or_notify_cancel().unwrap() {
//!         promise.set_result(6 * 7).unwrap();
//!     }
//! });
//! assert_eq!(*fut.result_timeout(Duration::from_secs(5)).unwrap(), 42);
//! assert_eq!(fut.state(), State::Finished);
//! worker.join().unwrap();
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod chunk;
mod drive;
mod error;
mod executor;
mod exit;
mod future;
mod handle;
mod job;
mod notify;
mod ready_queue;
mod remote_fn;
mod return_when;
mod shutdown;
mod state;
mod stats;
mod task_executor;
pub mod timer;
mod trace;
mod watch;

pub use chunk::{ChunkOutcome, ChunkOutcomeIter};
pub use drive::{Drive, Driver};
pub use error::{BoxError, Error, ErrorKind, SubmitError};
pub use executor::Executor;
pub use exit::{JoinAtExit, join_at_exit};
pub use future::{
    AnyFuture, DeferredCallbacks, DoneSignal, Future, FutureOutput, FutureOutputRef, Promise,
};
#[doc(hidden)]
pub use handle::__private;
pub use handle::{FutureHandle, IntoFutureHandle, dedup_handles};
pub use job::{Job, RunOutcome};
pub use remote_fn::RemoteFn;
pub use return_when::{DoneAndNotDone, ReturnWhen};
pub use shutdown::{Shutdown, ShutdownOptions};
pub use state::State;
pub use stats::{PoolStats, Replacements};
pub use task_executor::{BatchResult, ChunkResult, TaskExecutor};
pub use watch::Watcher;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
#[doc(hidden)]
pub use trace::{TaskId, TaskIds};

/// The `tracing` crate, for [`__event!`]'s expansion in other crates.
#[cfg(feature = "tracing")]
#[doc(hidden)]
pub mod __private_tracing {
    pub use tracing;
}
