//! concur: Python's `concurrent.futures` model in Rust.
//!
//! A [`Future`] is a handle to a result that does not exist yet; executors run
//! tasks and fill futures in; combinators and callbacks react to them. This
//! crate only re-exports the sub-crates, each behind its own feature:
//!
//! * the core, always: [`Future`], [`Promise`], [`State`], [`Error`],
//!   [`ErrorKind`], [`AnyFuture`], [`Watcher`], [`Executor`], [`TaskExecutor`],
//!   [`RemoteFn`], [`Job`], [`SubmitError`], [`ChunkOutcome`];
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    feature = "thread",
    doc = "* [`thread`] (feature `thread`, default): the thread-pool executor;"
)]
#![cfg_attr(
    feature = "combinators",
    doc = "* [`combinators`] (feature `combinators`, default): `as_completed`, `wait`, `map`, chaining;"
)]
#![cfg_attr(
    feature = "process",
    doc = "* [`process`] and [`ipc`] (feature `process`): the process-pool executor;"
)]
#![cfg_attr(
    feature = "mpi",
    doc = "* [`mpi`] (feature `mpi`, off by default): the executor on MPI ranks;"
)]
#![cfg_attr(
    feature = "async",
    doc = "* [`asyncio`] (feature `async`): the bridge to async runtimes."
)]
//!
//! # Examples
//!
//! ```
//! use concur::Promise;
//!
//! let (promise, fut) = Promise::new();
//! std::thread::spawn(move || promise.set_result(6 * 7).unwrap());
//! assert_eq!(*fut.result().unwrap(), 42);
//! ```

#[doc(inline)]
pub use concur_core::{
    AnyFuture, BoxError, ChunkOutcome, DoneSignal, Error, ErrorKind, Executor, Future,
    FutureOutput, FutureOutputRef, Job, PoolStats, Promise, RemoteFn, Replacements, RunOutcome,
    Shutdown, ShutdownOptions, State, SubmitError, TaskExecutor, Watcher,
};

/// The core crate, for items not re-exported at the top.
#[doc(inline)]
pub use concur_core as core_api;

/// The thread-pool executor.
#[cfg(feature = "thread")]
#[doc(inline)]
pub use concur_thread as thread;

/// `as_completed`, `wait`, `map` and chaining.
#[cfg(feature = "combinators")]
#[doc(inline)]
pub use concur_combinators as combinators;

/// The process-pool executor.
#[cfg(feature = "process")]
#[doc(inline)]
pub use concur_process as process;

/// Framing and the remote-function registry behind the process pool.
#[cfg(feature = "process")]
#[doc(inline)]
pub use concur_ipc as ipc;

/// Bulk plain data in shared memory, passed to and from worker processes
/// as a descriptor (see [`ipc::SharedSlice`]).
#[cfg(feature = "process")]
pub use concur_ipc::SharedSlice;

/// Declares remote functions (see [`ipc::remote!`](concur_ipc::remote)):
/// `concur::remote! { fn f(..) -> .. { .. } }`.
#[cfg(feature = "process")]
pub use concur_ipc::remote;

/// The bridge between concur futures and async runtimes.
#[cfg(feature = "async")]
#[doc(inline)]
pub use concur_async as asyncio;

/// The executor on MPI ranks (needs an MPI library at build time).
#[cfg(feature = "mpi")]
#[doc(inline)]
pub use concur_mpi as mpi;

/// The concur guide (`docs/guide.md`): the lecture's model taught in Rust.
/// Every snippet in it is compiled and run as a doctest of this crate.
#[doc = include_str!("../../../docs/guide.md")]
pub mod guide {}

/// The names most programs need: `use concur::prelude::*;`.
///
/// # Examples
///
/// ```
/// use concur::prelude::*;
///
/// let pool = ThreadPool::new(2).unwrap();
/// let fut = pool.submit(|| 1 + 1).unwrap();
/// assert_eq!(fut.into_result().unwrap(), 2);
/// ```
pub mod prelude {
    #[doc(no_inline)]
    pub use concur_core::{
        AnyFuture, Error, ErrorKind, Executor, Future, Promise, RemoteFn, Shutdown,
        ShutdownOptions, State, TaskExecutor,
    };

    #[cfg(feature = "thread")]
    #[doc(no_inline)]
    pub use concur_thread::ThreadPool;

    #[cfg(feature = "combinators")]
    #[doc(no_inline)]
    pub use concur_combinators::{
        ExecutorExt, FutureExt, ReturnWhen, TaskExecutorExt, as_completed, wait,
    };

    #[cfg(feature = "process")]
    #[doc(no_inline)]
    pub use concur_process::{ProcessPool, StartMethod};

    #[cfg(feature = "async")]
    #[doc(no_inline)]
    pub use concur_async::{run_in_executor, wrap_future};
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
