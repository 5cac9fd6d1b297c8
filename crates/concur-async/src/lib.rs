//! The bridge between concur futures and async code, for any runtime: an
//! event loop for I/O, a pool for blocking or CPU work, futures flowing
//! between them (asyncio's hybrid pattern).
//!
//! Everything works under any runtime: tokio (current-thread and
//! multi-thread), smol / async-executor and `futures::executor::block_on`.
//! Besides concur's own crates, the crate depends on `futures-core` (the
//! [`Stream`](futures_core::Stream) trait) and `async-lock` (the
//! semaphore of [`BoundedSubmitter`]), and on one runtime's crates per
//! feature:
//!
//! * `background-runtime` (on by default): `async-executor` and
//!   `futures-lite`, for the built-in [`BackgroundRuntime`] thread.
//! * `tokio` (off by default): `tokio`, for the [`Spawner`] impls of its
//!   `Handle` and `Runtime`.
//!
//! With `default-features = false` and without `tokio` it pulls in no
//! runtime at all.
//! A concur [`Future`](concur_core::Future) can be `.await`ed directly
//! (concur-core implements `IntoFuture` for it); this crate adds:
//!
//! * Pool → loop: [`run_in_executor`] (`loop.run_in_executor`),
//!   [`run_in_executor_fallible`] (for closures returning `Result`),
//!   [`run_task_in_executor`] (for any [`TaskExecutor`](concur_core::TaskExecutor)),
//!   [`wrap_future`] (`asyncio.wrap_future`), all returning a
//!   [`WrappedFuture`] that cancels a not-yet-started task when dropped
//!   ([`WrappedFuture::detach`] opts out).
//! * Loop → threads: [`run_coroutine_threadsafe`] submits a
//!   `std::future::Future` to a running runtime through a [`Spawner`]
//!   (tokio's `Handle` with feature `tokio`; the built-in
//!   [`BackgroundRuntime`] with feature `background-runtime`, on by default)
//!   and returns a concur future; cancelling it aborts the coroutine.
//! * Many futures: [`as_completed`] (a [`Stream`](futures_core::Stream)),
//!   [`gather`] with [`RaiseFirst`] or [`CollectAll`], [`wait`] with
//!   [`ReturnWhen`]: the same inputs as the blocking
//!   `concur_combinators::{as_completed, wait}` ([`IntoFutureHandle`],
//!   plus [`WrappedFuture`]s, no `.detach()` needed) and the same timeouts
//!   (`as_completed(fs).timeout(d)`, `wait(fs, timeout, return_when)`,
//!   `gather(fs, policy).timeout(d)`), kept by concur's timer thread under
//!   any runtime.
//! * [`BoundedSubmitter`]: at most N tasks in flight, on
//!   [`async_lock::Semaphore`].
//!
//! # Examples
//!
//! ```
//! use concur_async::{gather, run_in_executor, RaiseFirst};
//! use concur_thread::ThreadPool;
//!
//! let pool = ThreadPool::new(2).unwrap();
//! let out = futures::executor::block_on(async {
//!     // Offload CPU work; the event loop keeps running meanwhile. Each
//!     // task keeps its cancel-on-drop rule inside `gather`.
//!     let squares = (0..4u64).map(|i| run_in_executor(&pool, move || i * i));
//!     gather(squares, RaiseFirst).await
//! });
//! assert_eq!(out.unwrap(), [0, 1, 4, 9]);
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Docs link to the feature-gated runtime; without it those links dangle.
#![cfg_attr(
    not(feature = "background-runtime"),
    allow(rustdoc::broken_intra_doc_links)
)]

mod as_completed;
#[cfg(feature = "background-runtime")]
mod background;
mod bounded;
mod deadline;
mod gather;
mod spawn;
mod wait;
mod wrap;

pub use as_completed::{AsCompleted, AsCompletedTimeout, as_completed};
#[cfg(feature = "background-runtime")]
pub use background::{BackgroundRuntime, BackgroundSpawner};
pub use bounded::BoundedSubmitter;
#[doc(no_inline)]
pub use concur_core::{DoneAndNotDone, FutureHandle, IntoFutureHandle, ReturnWhen};
pub use gather::{CollectAll, Gather, GatherInput, GatherPolicy, RaiseFirst, gather};
pub use spawn::{BoxedCoroutine, SpawnError, Spawner, run_coroutine_threadsafe};
pub use wait::{Wait, wait};
pub use wrap::{
    WrappedFuture, run_in_executor, run_in_executor_fallible, run_task_in_executor, wrap_future,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
