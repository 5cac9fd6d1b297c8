//! `map` (and `map_fallible`) for every executor: [`ExecutorExt`]
//! (in-process closures) and [`TaskExecutorExt`] (named remote functions),
//! both configured through [`MapBuilder`] and iterated with [`MapIter`].
//!
//! A chunk flows one way: the submitter (`ext`) hands its inputs to the
//! executor as one job, which runs them (`chunk_run`) into the
//! [`ChunkOutcome`](concur_core::ChunkOutcome) its future carries; the
//! engine (`iter`) holds the submission ([`in_flight::InFlight`]) until
//! the consumer reaches it, and yields that outcome's items as they are.
//!
//! * `builder`: [`MapBuilder`], the options, validated by `run`.
//! * `error`: [`MapError`].
//! * `ext`: the extension traits and their submitters.
//! * `chunk_run`: running a closure over a chunk on the worker (with the
//!   in-place path for outputs laid out like their inputs).
//! * `collect`: `collect_vec`'s parallel path (workers write the outputs
//!   into the result `Vec`).
//! * `in_flight`: one submission, until its items are yielded.
//! * `iter`: [`MapIter`], buffering and yielding.
//! * `sizer`: adaptive chunk sizing (a map without a `chunksize`), with
//!   the policy.

mod builder;
mod chunk_run;
mod collect;
mod error;
mod ext;
mod in_flight;
mod iter;
mod sizer;

pub use builder::MapBuilder;
pub use error::MapError;
pub use ext::{ExecutorExt, TaskExecutorExt};
pub use iter::MapIter;
