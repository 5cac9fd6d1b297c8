//! [`Desk`]: where a shared-memory worker's replies are read, by the
//! dispatcher or by a thread waiting on one of the pool's futures (see
//! `driver.rs`), whichever comes first.
//!
//! A worker's reply ring and the frame reader over it live behind the
//! desk's lock from the worker's `Ready` until it is reaped, so both
//! kinds of reader take the same byte stream in turn. A waiter handles
//! only the common case, the `Done` of the task its worker runs: it takes
//! the book's verdict under the desk's lock (so no later frame can
//! overtake it) and completes the task after unlocking. Anything else it
//! reads (another reply, a frame that breaks the protocol, a `Done` the
//! book does not expect) it leaves, in order, for the dispatcher, and rings
//! the dispatcher's wake eventfd; once something is left, waiters read no
//! further. The dispatcher, when it takes such a reply (left, or read
//! itself), closes the desk to waiters before it unlocks: the reply breaks
//! the protocol, and a waiter must not complete a later frame of that
//! worker's (its task's `Done`) before the dispatcher retires it.
//!
//! Lock order: a desk, then the book. The dispatcher never holds the book
//! while it takes a desk.

use crate::proc::Timing;
use crate::ring::Ring;
use crate::shm::RingNow;
use concur_ipc::{Fill, FrameReader, Reply};
use concur_sync::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;

/// What a desk holds while its worker serves over shared memory.
#[derive(Debug)]
pub(crate) struct Served {
    /// The worker's process id (for events).
    pub(crate) pid: i32,
    ring: Ring,
    reader: FrameReader,
    /// Waiters may handle its replies: it is `Ready` and has broken no
    /// rule. Cleared ([`close`](Self::close)) by the dispatcher when the
    /// worker leaves `Ready` or a reply breaks the protocol, and by a
    /// waiter that reads a frame the pool cannot accept or takes the worker
    /// to its last task.
    open: bool,
    /// Replies a waiter read and left for the dispatcher, in arrival
    /// order; `Err` is a frame that broke the protocol, described.
    left: VecDeque<Result<Reply, String>>,
    /// When its last replies arrived (the polling policies read this).
    pub(crate) timing: Timing,
}

impl Served {
    /// The next reply: one left by a waiter first, else one read from the
    /// ring now. `Ok(None)` when nothing complete is there.
    pub(crate) fn next(&mut self) -> Result<Option<Reply>, String> {
        match self.left.pop_front() {
            Some(left) => left.map(Some),
            None => self.read(),
        }
    }

    /// The next reply on the ring (none is left: see [`Desk::help`]).
    fn read(&mut self) -> Result<Option<Reply>, String> {
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    return concur_ipc::decode::<Reply>(frame)
                        .map(Some)
                        .map_err(|e| format!("a frame that is not a reply ({e})"));
                }
                Ok(None) => {}
                Err(e) => return Err(format!("a frame the pool cannot accept ({e})")),
            }
            match self.reader.fill_from(&mut RingNow(&self.ring)) {
                Ok(Fill::Read(_)) => {}
                // Full with no complete frame cannot happen (the buffer
                // grows to the limit); stop rather than spin.
                Ok(Fill::Full | Fill::WouldBlock | Fill::Eof) => return Ok(None),
                Err(e) => return Err(format!("a frame the pool cannot accept ({e})")),
            }
        }
    }

    /// Whether a reply may be waiting: one was left, or the ring holds
    /// bytes (a corrupt ring counts: reading it reports the violation).
    pub(crate) fn has_work(&self) -> bool {
        !self.left.is_empty() || !matches!(self.ring.readable(), Ok(false))
    }

    /// Leaves `reply` for the dispatcher.
    pub(crate) fn leave(&mut self, reply: Result<Reply, String>) {
        if reply.is_err() {
            self.close();
        }
        self.left.push_back(reply);
    }

    /// Waiters read no more here; the dispatcher still does.
    pub(crate) fn close(&mut self) {
        self.open = false;
    }

    /// Whether waiters may read on: open, and nothing left unhandled.
    pub(crate) fn helpable(&self) -> bool {
        self.open && self.left.is_empty()
    }

    /// Arms (`true`) or disarms the reply ring's doorbell.
    pub(crate) fn arm(&self, armed: bool) {
        if armed {
            self.ring.arm_reader();
        } else {
            self.ring.disarm_reader();
        }
    }
}

/// One worker slot's desk (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Desk {
    served: Mutex<Option<Served>>,
}

impl Desk {
    /// The worker of this slot now serves over `ring`, read by `reader`.
    pub(crate) fn open(&self, pid: i32, ring: Ring, reader: FrameReader, timing: Timing) {
        *self.served.lock() = Some(Served {
            pid,
            ring,
            reader,
            open: true,
            left: VecDeque::new(),
            timing,
        });
    }

    /// Waiters stop reading here: its worker left `Ready` (the dispatcher
    /// still reads it).
    pub(crate) fn close(&self) {
        if let Some(s) = self.served.lock().as_mut() {
            s.close();
        }
    }

    /// Takes everything back (the worker is reaped).
    pub(crate) fn take(&self) -> Option<Served> {
        self.served.lock().take()
    }

    /// The desk, locked (the dispatcher).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Option<Served>> {
        self.served.lock()
    }

    /// The desk, if no one else holds it (a waiter).
    pub(crate) fn try_lock(&self) -> Option<MutexGuard<'_, Option<Served>>> {
        self.served.try_lock()
    }
}
