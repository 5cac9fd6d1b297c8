//! What the pool handle, its submitters and its manager thread share: the
//! book (one mutex), the outbox of assignments made on submitting threads,
//! the start status, the callback runner, and the wake-up.

use crate::raw::Comm;
use crate::tags;
use concur_core::{Error, ShutdownOptions};
use concur_remote::{Assignment, Book, CallbackRunner};
use concur_sync::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use concur_sync::sync::{Condvar, Mutex};
use concur_sync::thread::{self, JoinHandle};
use std::fmt;

/// A worker's connection in the book: its rank.
pub(crate) type Rank = i32;

/// Start-up progress, for `build` to wait on.
#[derive(Debug, Default)]
pub(crate) struct Status {
    /// Workers that completed their start.
    pub(crate) ready: usize,
    /// Workers lost before they were ready (a protocol violation).
    pub(crate) lost: usize,
    /// The manager has exited.
    pub(crate) finished: bool,
    /// An MPI call of the manager failed: the pool broke with it.
    pub(crate) mpi_failure: Option<Error>,
}

pub(crate) struct PoolShared {
    pub(crate) book: Mutex<Book<Rank>>,
    /// Assignments the book made on submitting threads, for the manager
    /// (the one thread that sends) to send.
    pub(crate) outbox: Mutex<Vec<Assignment<Rank>>>,
    /// Set by the first wake-up since the manager last looked: later
    /// submitters skip the self-send.
    pub(crate) wake_pending: AtomicBool,
    pub(crate) status: Mutex<Status>,
    pub(crate) cond: Condvar,
    pub(crate) comm: Comm,
    pub(crate) max_frame: usize,
    /// The initializer (function, name, encoded arguments), if any.
    pub(crate) initializer: Option<(concur_ipc::FnRef, &'static str, Vec<u8>)>,
    pub(crate) callbacks: CallbackRunner,
    pub(crate) next_generation: AtomicU64,
    pub(crate) manager: Mutex<Option<JoinHandle<()>>>,
}

impl PoolShared {
    /// Wakes the manager from its probe: a zero-byte send to this rank.
    /// Only the first caller since the manager last looked sends.
    pub(crate) fn wake(&self) {
        if self.wake_pending.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Err(e) = self.comm.send(&[], 0, tags::WAKE) {
            // Nothing else can reach the manager; report and break.
            eprintln!("concur-mpi: could not wake the manager: {e}");
        }
    }

    /// Hands an assignment made on this thread to the manager.
    pub(crate) fn post(&self, a: Assignment<Rank>) {
        self.outbox.lock().push(a);
        self.wake();
    }

    /// `MpiPool::shutdown_with`'s body.
    pub(crate) fn shutdown(&self, how: ShutdownOptions) {
        let cancelled = self.book.lock().close(how.cancels_futures());
        for t in cancelled {
            t.cancel();
        }
        self.wake();
        if how.waits() {
            self.join_manager();
            self.callbacks.wait_idle();
        }
    }

    pub(crate) fn join_manager(&self) {
        let mut slot = self.manager.lock();
        if slot.as_ref().is_some_and(thread::is_current) {
            return;
        }
        if let Some(h) = slot.take() {
            let _ = h.join();
        }
    }
}

impl fmt::Debug for PoolShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolShared").finish_non_exhaustive()
    }
}
