//! The MPI executor of concur: the same [`remote!`](concur_ipc::remote)
//! functions and [`TaskExecutor`](concur_core::TaskExecutor) calls as the
//! process pool, run on MPI ranks, for when one machine is not enough
//! (Python's `mpi4py.futures`).
//!
//! * [`init`]: the first statement of `main`. Initialises MPI (asking for
//!   `MPI_THREAD_MULTIPLE`), diverts ranks other than 0 into the worker
//!   loop, and gives rank 0 the [`World`] (dropping it finalizes MPI).
//! * [`MpiPool`] (built with [`MpiPool::builder`], a [`Builder`]): rank 0's
//!   executor over ranks 1..N, or over workers it spawns
//!   ([`StartMethod`]), built on the `concur-remote` engine (book,
//!   completers, callback runner) with one manager thread making every
//!   MPI call. Implements `TaskExecutor`, so every combinator works.
//! * [`MpiError`]: an MPI call that returned an error code (the crate's
//!   communicator uses `MPI_ERRORS_RETURN`); [`BuildError`].
//!
//! Run as `mpirun -n N ./program`; as root add `--allow-run-as-root`,
//! and `--oversubscribe` when N exceeds the cores. Run as `./program`, a
//! pool spawns its workers (`MPI_Comm_spawn`; they run this program, and
//! `init` diverts them).
//!
//! # Examples
//!
//! ```no_run
//! // no_run: needs `mpirun -n 3 ./program`; a worker rank never returns
//! // from `init`.
//! use concur_core::TaskExecutor;
//!
//! concur_ipc::remote! {
//!     fn square(x: u64) -> u64 { x * x }
//! }
//!
//! fn main() {
//!     let world = concur_mpi::init().expect("MPI");
//!     let pool = concur_mpi::MpiPool::builder().build().expect("worker ranks");
//!     let futs = pool.submit_batch(square, vec![1, 2, 3]).unwrap();
//!     let squares: Vec<u64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
//!     assert_eq!(squares, [1, 4, 9]);
//!     drop(pool); // workers leave their loop and finalize
//!     drop(world); // rank 0 finalizes
//! }
//! ```

// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod builder;
mod died;
mod doorbell;
mod error;
mod frame;
mod liveness;
mod manager;
mod pool;
mod raw;
mod recovery;
mod serial;
mod shared;
mod spawn;
mod start_method;
mod tags;
mod watch;
mod worker;
mod world;

pub use builder::Builder;
pub use died::RankDied;
pub use error::{BuildError, MpiError};
pub use pool::MpiPool;
pub use start_method::StartMethod;
pub use world::{World, init};

/// The README's examples, compiled (and, unless `no_run`, run) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
