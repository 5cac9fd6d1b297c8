//! [`InFlight`]: one submission of a `map`, from the moment the executor
//! accepts it until the consumer yields its items; and [`SubmitFn`], which
//! makes one from a chunk of inputs.

use concur_core::{AnyFuture, ChunkOutcome, Error, Future};
use std::time::Instant;

/// Submits one chunk of inputs, timed if the flag says so (adaptive sizing
/// needs its service time: a remote single item then goes as a chunk too);
/// the executor's error if it refused.
pub(super) type SubmitFn<'e, A, R> =
    Box<dyn FnMut(Vec<A>, bool) -> Result<InFlight<R>, Error> + Send + 'e>;

/// Work submitted for one chunk of inputs, the same in both modes: queued
/// in input order (`map`) or watched by token (`map_unordered`).
pub(super) enum InFlight<R> {
    /// A chunk, in-process or remote ([`TaskExecutor::submit_chunk`]): one
    /// future holding every item's outcome, and the chunk's length.
    ///
    /// [`TaskExecutor::submit_chunk`]: concur_core::TaskExecutor::submit_chunk
    Chunk(Future<ChunkOutcome<R>>, usize),
    /// A remote chunk of one item, submitted as a plain task
    /// ([`TaskExecutor::submit_task`]): its own future, no chunk around it.
    ///
    /// [`TaskExecutor::submit_task`]: concur_core::TaskExecutor::submit_task
    Item(Future<R>),
}

impl<R: Send + 'static> InFlight<R> {
    /// Cancels the work if it has not started.
    pub(super) fn cancel(&self) {
        match self {
            Self::Chunk(f, _) => {
                f.cancel();
            }
            Self::Item(f) => {
                f.cancel();
            }
        }
    }

    /// The future to watch for its completion (unordered mode).
    pub(super) fn erase(&self) -> AnyFuture {
        match self {
            Self::Chunk(f, _) => f.erase(),
            Self::Item(f) => f.erase(),
        }
    }

    /// Blocks until the work is done or `deadline` passes (`None`: no
    /// limit); `false` if it passed first.
    pub(super) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        fn wait<T: Send + 'static>(f: &Future<T>, deadline: Option<Instant>) -> bool {
            match deadline {
                None => {
                    f.wait();
                    true
                }
                Some(d) => f.wait_deadline(d),
            }
        }
        match self {
            Self::Chunk(f, _) => wait(f, deadline),
            Self::Item(f) => wait(f, deadline),
        }
    }
}

/// A finished chunk's outcome; a chunk that failed as a whole (cancelled,
/// refused, abandoned, its worker died), or whose executor gave the wrong
/// number of outcomes, reports its error for every one of its `len` items.
pub(super) fn chunk_outcome<R: Send + 'static>(
    fut: Future<ChunkOutcome<R>>,
    len: usize,
) -> ChunkOutcome<R> {
    match fut.into_result() {
        Ok(out) if out.len() == len => out,
        Ok(out) => ChunkOutcome::failed(
            Error::broken(
                format!("{} outcomes for a chunk of {len} items", out.len()),
                None,
            ),
            len,
        ),
        Err(e) => ChunkOutcome::failed(e, len),
    }
}
