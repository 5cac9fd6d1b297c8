//! Fixtures and helpers shared by the integration tests of concur's crates
//! (`publish = false`; each crate lists it under `[dev-dependencies]`).
//!
//! * [`remote_fns`]: hand-written [`RemoteFn`](concur_core::RemoteFn)s
//!   ([`Halve`], [`Square`], [`Inverse`], [`Double`], [`Negate`]) and the
//!   task error [`TestError`] some of them fail with.
//! * [`TestPool`]: a small fixed pool of std threads, for crates that may
//!   not depend on `concur-thread`.
//! * [`Event`]: a one-shot event that tasks wait on.
//! * [`fault`]: faults provoked for real (a true SIGSEGV, SIGKILL of self).
//! * [`procfs`]: what this process holds, from `/proc` (threads,
//!   descriptors, child processes), and [`leak_checked`].
//! * [`run_child`]: runs one ignored test of this executable in a child
//!   process, for what only a process's exit can show.
//! * [`tracing_capture`]: a global `tracing` subscriber recording events,
//!   per thread or from every thread, for tests of the `tracing` feature.
//!
//! It depends on `concur-core` only, so every crate's tests can use it.
//!
//! # Examples
//!
//! ```
//! use concur_core::TaskExecutor;
//! use concur_testkit::{Square, TestPool};
//!
//! let pool = TestPool::new(2);
//! assert_eq!(pool.submit_task(Square, 12).unwrap().into_result().unwrap(), 144);
//! ```

mod child;
mod event;
pub mod fault;
pub mod procfs;
pub mod remote_fns;
mod test_pool;
pub mod tracing_capture;
mod tracked;

pub use child::run_child;
pub use event::Event;
pub use procfs::leak_checked;
pub use remote_fns::{Double, Halve, Inverse, Negate, Square, TestError};
pub use test_pool::TestPool;
pub use tracked::Tracked;

/// A generous bound for a wait that must end, so a bug shows as a failure
/// rather than a hang on a loaded machine.
///
/// # Examples
///
/// ```
/// assert!(concur_testkit::PATIENCE.as_secs() >= 30);
/// ```
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);
