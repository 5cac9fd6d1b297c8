//! [`Proc`]: the dispatcher's record of one worker process, and the
//! [`Phase`] of its life.

use crate::shared::{Conn, KillReason};
use crate::shm::Shm;
use crate::sys;
use concur_ipc::FrameReader;
use concur_sync::sync::Arc;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Where a worker is in its life (see the phase table in `dispatcher.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Launched; its `Hello` has not arrived.
    Hello,
    /// `Init` sent; waiting for `Ready` (the initializer runs here).
    Init,
    /// Serving: idle or running a task (the book knows which).
    Ready,
    /// Told to exit (retired after `max_tasks_per_child`, or shut down).
    Exiting,
    /// Broke the protocol while serving: killed, nothing more is read.
    Retired,
}

/// When a worker's last `Done` arrived, and the time since the one before
/// (a task's length plus the round trip, for back-to-back tasks): the
/// dispatcher polls before it blocks, and a waiter helps for longer, while
/// this is short.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timing {
    last_done: Option<Instant>,
    done_interval: Option<Duration>,
}

impl Timing {
    /// A `Done` arrived `now`.
    pub(crate) fn record(&mut self, now: Instant) {
        self.done_interval = self.last_done.map(|t| now.saturating_duration_since(t));
        self.last_done = Some(now);
    }

    /// Its last two replies came less than [`sys::SPIN`] apart.
    pub(crate) fn short(&self) -> bool {
        self.done_interval.is_some_and(|i| i < sys::SPIN)
    }

    /// Its last reply came less than [`sys::SPIN`] before `now`.
    pub(crate) fn recent(&self, now: Instant) -> bool {
        self.last_done
            .is_some_and(|t| now.saturating_duration_since(t) < sys::SPIN)
    }
}

/// One worker process.
#[derive(Debug)]
pub(crate) struct Proc {
    pub(crate) pid: i32,
    /// The epoch of the fork server that forked it (`None`: spawned, our
    /// own child).
    pub(crate) forked: Option<u64>,
    pub(crate) pidfd: OwnedFd,
    pub(crate) conn: Arc<Conn>,
    pub(crate) reader: FrameReader,
    /// Descriptors that came over its socket for the reply being read
    /// (the shared slices among its outputs).
    pub(crate) fds: Vec<std::os::fd::OwnedFd>,
    pub(crate) phase: Phase,
    /// When it was launched, or became ready.
    pub(crate) since: Instant,
    /// Its socket reached end of stream (or reading it stopped).
    pub(crate) eof: bool,
    pub(crate) kill_reason: Option<KillReason>,
    pub(crate) exit_deadline: Option<Instant>,
    /// The task generation whose deadline is armed, and the deadline
    /// (`None`: the timeout does not fit in an `Instant`, no limit).
    pub(crate) task_deadline: Option<(u64, Option<Instant>)>,
    /// What it sent that broke the protocol.
    pub(crate) violation: Option<String>,
    /// When its last replies arrived (while it serves over shared memory,
    /// its desk keeps this instead: see `desk.rs`).
    pub(crate) timing: Timing,
    /// Its shared-memory rings (see `shm.rs`).
    pub(crate) shm: Shm,
}

impl Proc {
    /// A worker just launched, connected through `parent`, awaiting its
    /// hello.
    pub(crate) fn new(pid: i32, forked: Option<u64>, pidfd: OwnedFd, parent: OwnedFd) -> Self {
        Self {
            pid,
            forked,
            pidfd,
            conn: Arc::new(Conn::new(parent)),
            shm: Shm::Off,
            // Until `Init`, only handshake frames are expected: small.
            reader: FrameReader::new(concur_ipc::DEFAULT_MAX_FRAME),
            fds: Vec::new(),
            phase: Phase::Hello,
            since: Instant::now(),
            eof: false,
            kill_reason: None,
            exit_deadline: None,
            task_deadline: None,
            violation: None,
            timing: Timing::default(),
        }
    }

    /// Its socket reached end of stream: nothing more is read from it, and
    /// unless it was told to exit it is killed (a worker only closes its
    /// socket by exiting; make sure).
    pub(crate) fn socket_closed(&mut self) {
        self.eof = true;
        if self.phase != Phase::Exiting {
            sys::pidfd_kill(&self.pidfd, libc::SIGKILL);
        }
    }

    /// Kills it with `SIGKILL`; the first reason given is kept.
    pub(crate) fn kill(&mut self, reason: KillReason) {
        if self.kill_reason.is_none() {
            self.kill_reason = Some(reason);
        }
        sys::pidfd_kill(&self.pidfd, libc::SIGKILL);
    }
}
