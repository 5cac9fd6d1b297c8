//! The state the pool handle and its dispatcher thread share: the book
//! (under one mutex), the command queue, the start status, the wake-up
//! eventfd, the callback runner and the dispatcher's handle; shutting the
//! pool down (from its handle, or from the exit hook for a pool that is
//! never dropped).

use crate::config::Config;
use crate::desk::Desk;
use crate::handover::Handover;
use crate::ring::Ring;
use crate::shm;
use crate::stats::Counters;
use crate::sys;
use concur_core::ShutdownOptions;
use concur_ipc::Outcomes;
use concur_remote::{Assignment, Book, CallbackRunner, RemoteCall};
use concur_sync::sync::atomic::AtomicU64;
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread::{self, JoinHandle};
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::OnceLock;

/// A worker's connection: the pool's end of its socket pair and, once the
/// worker took them (see `shm.rs`), the ring its requests travel on.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) fd: OwnedFd,
    /// Set once; the lock keeps frames whole if two threads ever send.
    requests: OnceLock<Mutex<Ring>>,
}

impl Conn {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            requests: OnceLock::new(),
        }
    }

    /// Sends a whole frame, over the request ring if the worker uses one.
    pub(crate) fn send(&self, frame: &[u8]) -> std::io::Result<()> {
        match self.requests.get() {
            Some(ring) => shm::write_ring(&ring.lock(), self.fd.as_raw_fd(), frame),
            None => sys::send_all(&self.fd, frame),
        }
    }

    /// Sends a whole frame with the descriptors its shared slices were
    /// encoded as (see [`concur_ipc::attach`]), over the socket whatever
    /// the transport: descriptors only travel there. A worker on its rings
    /// is woken to look at its socket; the frame cannot pass one sent
    /// before it, since a worker has one task at a time.
    pub(crate) fn send_attached(
        &self,
        frame: &[u8],
        attachments: &concur_ipc::attach::Attachments,
    ) -> std::io::Result<()> {
        shm::send_attached(self.fd.as_raw_fd(), frame, &attachments.raw_fds())?;
        if let Some(ring) = self.requests.get() {
            ring.lock().wake_reader();
        }
        Ok(())
    }

    /// Requests travel over `ring` from now on.
    pub(crate) fn use_ring(&self, ring: Ring) {
        // Set once: `Offer::accept` consumes the only offer.
        let _ = self.requests.set(Mutex::new(ring));
    }

    /// Whether requests travel over shared memory.
    pub(crate) fn on_ring(&self) -> bool {
        self.requests.get().is_some()
    }
}

/// What a thread asks of the dispatcher.
#[derive(Debug)]
pub(crate) enum Command {
    /// Kill the worker of `slot` if it still runs `generation`.
    Kill {
        slot: usize,
        generation: u64,
        reason: KillReason,
    },
    /// Send `signal` to every worker (terminate_workers / kill_workers).
    SignalAll(libc::c_int),
    /// A waiter handled the `Done` that took the worker of `slot` to
    /// `max_tasks_per_child` (the book retired it): tell it to exit.
    Retire { slot: usize },
}

/// Why the dispatcher killed a worker (decides its task's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillReason {
    /// The task overran `task_timeout`.
    Timeout,
    /// [`ProcessPool::kill`](crate::ProcessPool::kill) on its future.
    Cancelled,
    /// The handshake or initializer did not finish in time.
    StartTimeout,
    /// It broke the protocol (or a write to it failed).
    Protocol,
    /// terminate_workers / kill_workers, shutdown, or the pool broke.
    Stop,
}

/// Start-up progress, for `build` to wait on.
#[derive(Debug)]
pub(crate) struct Status {
    /// Slots whose worker completed its start at least once.
    pub(crate) started: Vec<bool>,
    /// The dispatcher has exited.
    pub(crate) finished: bool,
    /// The current worker of each slot.
    pub(crate) pids: Vec<Option<u32>>,
    /// Whether the current worker of each slot took its shared-memory
    /// rings.
    pub(crate) on_rings: Vec<bool>,
}

pub(crate) struct PoolShared {
    pub(crate) book: Mutex<Book<Arc<Conn>>>,
    pub(crate) commands: Mutex<Vec<Command>>,
    pub(crate) status: Mutex<Status>,
    pub(crate) cond: Condvar,
    pub(crate) wake: OwnedFd,
    pub(crate) config: Config,
    pub(crate) exe: std::path::PathBuf,
    pub(crate) callbacks: CallbackRunner,
    /// The next task's generation (unique per task; a task runs at most
    /// once, so it is unique per assignment too).
    pub(crate) next_generation: AtomicU64,
    /// The dispatcher thread, until it is joined.
    pub(crate) dispatcher: Mutex<Option<JoinHandle<()>>>,
    /// What `stats` reports.
    pub(crate) stats: Counters,
    /// Each slot's desk, where its shared-memory replies are read (see
    /// `desk.rs`).
    pub(crate) desks: Vec<Desk>,
    /// Who arms the desks' doorbells: the dispatcher, or the threads
    /// helping it (see `handover.rs`).
    pub(crate) handover: Handover,
}

impl PoolShared {
    pub(crate) fn command(&self, c: Command) {
        self.commands.lock().push(c);
        sys::eventfd_signal(&self.wake);
    }

    /// Sends an assignment the book made (on whichever thread made it).
    pub(crate) fn send_assignment(&self, a: Assignment<Arc<Conn>>) {
        concur_core::__event!(
            trace,
            pool = %self.config.name,
            slot = a.slot,
            task = a.generation,
            "task started (sent to its worker)"
        );
        let sent = if a.attachments.is_empty() {
            a.conn.send(&a.frame)
        } else {
            a.conn.send_attached(&a.frame, &a.attachments)
        };
        if sent.is_err() {
            // The worker is gone or going: its death fails the task.
            self.command(Command::Kill {
                slot: a.slot,
                generation: a.generation,
                reason: KillReason::Stop,
            });
        } else if self.config.task_timeout.is_some() {
            // The dispatcher arms the deadline.
            sys::eventfd_signal(&self.wake);
        }
    }
}

impl PoolShared {
    /// Completes `task` (the worker of `slot`, `pid`, answered its
    /// `generation` with `results`), on whichever thread read the reply;
    /// the done-callbacks go to the callback runner.
    pub(crate) fn complete(
        &self,
        slot: usize,
        pid: i32,
        generation: u64,
        task: RemoteCall,
        results: Outcomes,
        attachments: concur_ipc::attach::Attachments,
    ) {
        // Shared slices among the outputs take their descriptors here.
        let done = concur_ipc::attach::provide(attachments, || task.complete(results));
        self.stats.task_done(done.failed);
        if done.failed {
            concur_core::__event!(
                debug,
                pool = %self.config.name,
                slot,
                pid,
                task = generation,
                "task failed"
            );
        } else {
            concur_core::__event!(
                trace,
                pool = %self.config.name,
                slot,
                pid,
                task = generation,
                "task finished"
            );
        }
        let _ = (slot, pid, generation);
        self.callbacks.run(done.callbacks);
    }

    /// `ProcessPool::shutdown_with`'s body. Uses no thread-local state:
    /// the exit hook calls it after the exiting thread's thread-locals are
    /// gone.
    pub(crate) fn shutdown(&self, how: ShutdownOptions) {
        let cancelled = self.book.lock().close(how.cancels_futures());
        self.stats.tasks_cancelled(cancelled.len());
        for t in cancelled {
            t.cancel();
        }
        sys::eventfd_signal(&self.wake);
        if how.waits() {
            self.join_dispatcher();
            self.callbacks.wait_idle();
        }
    }

    /// Joins the dispatcher (which reaps every worker before it exits).
    pub(crate) fn join_dispatcher(&self) {
        let mut slot = self.dispatcher.lock();
        if slot.as_ref().is_some_and(thread::is_current) {
            // Called from a done-callback on the dispatcher thread: it
            // finishes on its own once this callback returns.
            return;
        }
        if let Some(h) = slot.take() {
            let _ = h.join();
        }
    }
}

/// A pool still alive at exit (one in a `static`) finishes its accepted
/// work and reaps its workers first, as CPython's exit hook does.
impl concur_core::JoinAtExit for PoolShared {
    fn join_at_exit(&self) {
        self.shutdown(ShutdownOptions::new());
    }
}

impl fmt::Debug for PoolShared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolShared").finish_non_exhaustive()
    }
}
