//! What the pool handle, its submitters and its manager thread share: the
//! book (one mutex), the outbox of assignments made on submitting threads,
//! the start status, the callback runner, and the wake-up.

use crate::doorbell::Doorbell;
use crate::raw::Comm;
use crate::tags;
use crate::watch::{Event, Link};
use concur_core::{Error, ShutdownOptions};
use concur_remote::{Assignment, Book, CallbackRunner};
use concur_sync::sync::atomic::AtomicU64;
use concur_sync::sync::{Condvar, Mutex};
use concur_sync::thread::{self, JoinHandle};
use std::fmt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A worker's connection in the book: its rank.
pub(crate) type Rank = i32;

/// The rank serving `slot` (rank 0 is the pool's own).
pub(crate) fn rank_of(slot: usize) -> Rank {
    Rank::try_from(slot + 1).unwrap_or(Rank::MAX)
}

/// The slot `rank` serves, if it is one of the `slots` workers.
pub(crate) fn slot_of(rank: Rank, slots: usize) -> Option<usize> {
    usize::try_from(rank)
        .ok()
        .and_then(|r| r.checked_sub(1))
        .filter(|s| *s < slots)
}

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
    /// (the one thread that sends) to send, and its wake-up.
    pub(crate) doorbell: Doorbell<Assignment<Rank>>,
    pub(crate) status: Mutex<Status>,
    pub(crate) cond: Condvar,
    /// The communicator the workers are on: the world's, or the one
    /// merged with a spawned group.
    pub(crate) comm: Comm,
    /// A spawned group's inter-communicator (spawn mode), which the
    /// manager disconnects as it exits.
    pub(crate) spawned: Option<Comm>,
    pub(crate) max_frame: usize,
    /// Whether the handshake checks the build identity.
    pub(crate) check_build: bool,
    /// The initializer (function, name, encoded arguments), if any.
    pub(crate) initializer: Option<(concur_ipc::FnRef, &'static str, Vec<u8>)>,
    pub(crate) callbacks: CallbackRunner,
    pub(crate) next_generation: AtomicU64,
    pub(crate) manager: Mutex<Option<JoinHandle<()>>>,
    /// What the watcher noticed, for the manager.
    pub(crate) events: Mutex<Vec<Event>>,
    /// Each slot's liveness link, once its worker connected.
    pub(crate) links: Mutex<Vec<Option<Link>>>,
    /// Each slot's running task (generation, when it was sent), kept
    /// only with a `task_timeout`, for the watcher's deadlines.
    pub(crate) started: Mutex<Vec<Option<(u64, Instant)>>>,
    pub(crate) task_timeout: Option<Duration>,
    /// Dropped to stop the watcher (its end of the pair reads EOF).
    pub(crate) watcher_stop: Mutex<Option<UnixStream>>,
    pub(crate) watcher: Mutex<Option<JoinHandle<()>>>,
}

impl PoolShared {
    /// Wakes the manager from its probe: a zero-byte send to this rank
    /// (see [`Doorbell`]).
    pub(crate) fn wake(&self) {
        self.doorbell.ring(|| self.send_wake());
    }

    fn send_wake(&self) {
        if let Err(e) = self.comm.send(&[], 0, tags::WAKE) {
            // Nothing else can reach the manager; report.
            eprintln!("concur-mpi: could not wake the manager: {e}");
        }
    }

    /// Hands an assignment made on this thread to the manager.
    pub(crate) fn post(&self, a: Assignment<Rank>) {
        self.doorbell.post(a, || self.send_wake());
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
        for handle in [&self.manager, &self.watcher] {
            let mut slot = handle.lock();
            if slot.as_ref().is_some_and(thread::is_current) {
                return;
            }
            if let Some(h) = slot.take() {
                let _ = h.join();
            }
        }
    }

    /// Ends the watcher thread (called by the manager as it exits).
    pub(crate) fn stop_watcher(&self) {
        drop(self.watcher_stop.lock().take());
    }
}

impl fmt::Debug for PoolShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolShared").finish_non_exhaustive()
    }
}
