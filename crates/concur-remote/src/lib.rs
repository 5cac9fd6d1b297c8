//! The remote-pool engine of concur: everything a pool of remote workers
//! needs that does not depend on how bytes reach a worker.
//!
//! * [`Book`]: the bookkeeping state machine (queue, worker slots,
//!   assignments and their generations) with the supervision policy
//!   ([`Verdict`]): what to do when a worker dies or cannot be started in
//!   any phase of its life. No I/O, no codec, no clock: a transport calls
//!   it under one mutex and then does the I/O it asks for. Loom-checked.
//! * [`RemoteCall`] and the [`Completer`]s ([`Promises`], [`ChunkPromise`]): a
//!   call encoded once on the submitting thread, and the side that decodes
//!   the worker's results into the futures.
//! * [`batch_call`] / [`chunk_call`]: a submitted batch encoded into the
//!   call to send and the caller's futures (items that cannot be encoded
//!   fail their own futures), the same for every transport.
//! * [`CallbackRunner`]: runs done-callbacks off the transport's I/O
//!   thread, so one slow callback never delays another future's result.
//!
//! The messages a worker exchanges (`Hello`, `Init`, `Ready`, `Call`,
//! `Done`, `Exit`) are [`concur_ipc::Request`] and [`concur_ipc::Reply`].
//! Transports: `concur-process` (a socket pair per worker process); an MPI
//! executor is next.
//!
//! # Examples
//!
//! ```
//! use concur_core::{Promise, RemoteFn};
//! use concur_remote::{Book, Promises, RemoteCall};
//!
//! concur_ipc::remote! {
//!     fn double(x: u32) -> u32 { 2 * x }
//! }
//!
//! // A transport with one worker slot whose connection is the number 7.
//! let mut book = Book::<u8>::new(1, None);
//! book.starting(0);
//! assert!(book.ready(0, 7).is_none()); // nothing queued yet
//!
//! // Submitting assigns the task at once to the idle worker...
//! let (p, fut) = Promise::new();
//! let task = RemoteCall::call::<double>(1, vec![concur_ipc::encode(&21u32).unwrap()].into(), 1 << 20,
//!     Box::new(Promises::<double>::new(vec![p]))).unwrap();
//! let assignment = book.submit(task).unwrap().unwrap();
//! assert_eq!(assignment.conn, 7);
//!
//! // ...the transport sends `assignment.frame`, and on the reply:
//! let reply = book.done(0, assignment.generation);
//! let results = vec![Ok(concur_ipc::encode(&42u32).unwrap())].into();
//! let done = reply.task.unwrap().complete(results);
//! assert!(!done.failed);
//! for deferred in done.callbacks { deferred.run() }
//! assert_eq!(fut.into_result().unwrap(), 42);
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod book;
mod callbacks;
mod completer;
mod policy;
mod remote_call;

pub use batch::{batch_call, chunk_call};
pub use book::{Assignment, Book, Death, Done, WorkerSlot};
pub use callbacks::CallbackRunner;
pub use completer::{ChunkPromise, Completer, Completion, Promises, remote_failure};
pub use policy::{MAX_START_ATTEMPTS, Verdict, backoff};
pub use remote_call::RemoteCall;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
