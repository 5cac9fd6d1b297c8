//! Thread-pool executor for concur: Python's `ThreadPoolExecutor` in Rust.
//!
//! * [`ThreadPool`]: lazily started workers (an idle one is reused before a
//!   new one starts, never more than `max_workers`), a lock-free queue,
//!   brief spinning before sleeping, `shutdown(wait, cancel_futures)`, an
//!   initializer whose failure breaks the pool, and
//!   [`scope`](ThreadPool::scope) for closures that borrow.
//! * [`Builder`] / [`BuildError`]: configuration, validated by `build()`.
//! * [`Scope`]: scoped submission, like [`std::thread::scope`].
//! * `RayonExecutor` (feature `rayon`): the same traits on a rayon pool.
//!
//! Submission methods come from the core traits
//! [`Executor`] (`submit`, `submit_fallible`) and
//! [`TaskExecutor`] (`submit_task`,
//! `submit_batch`).
//!
//! # Examples
//!
//! ```
//! use concur_core::{Executor, ErrorKind};
//! use concur_thread::ThreadPool;
//!
//! let pool = ThreadPool::builder().max_workers(2).thread_name_prefix("calc").build().unwrap();
//! let ok = pool.submit(|| 2 + 2).unwrap();
//! let err = pool.submit_fallible(|| "x".parse::<i32>()).unwrap();
//! assert_eq!(*ok.result().unwrap(), 4);
//! assert_eq!(err.result().unwrap_err().kind(), ErrorKind::Task);
//!
//! pool.shutdown();
//! let refused = pool.submit(|| 1).unwrap_err();
//! assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
//! assert_eq!((refused.into_task())(), 1);
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod config;
mod injector;
mod pool;
mod queue;
#[cfg(feature = "rayon")]
mod rayon;
mod scope;

pub use builder::{BuildError, Builder, default_max_workers};
/// The core traits that provide `submit`, `submit_fallible`, `submit_task`
/// and `submit_batch`, re-exported so `use concur_thread::Executor;` works.
#[doc(no_inline)]
pub use concur_core::{Executor, TaskExecutor};
pub use pool::ThreadPool;
#[cfg(feature = "rayon")]
pub use rayon::RayonExecutor;
pub use scope::Scope;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
