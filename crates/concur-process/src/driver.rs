//! [`PoolDriver`]: a thread blocked on one of the pool's futures reads
//! the shared-memory reply rings itself and completes what it finds (see
//! `desk.rs`), instead of waiting for the dispatcher to do it and wake it.
//!
//! Why: on a machine with fewer CPUs than busy threads the caller and the
//! dispatcher share a CPU, and handing a result from one to the other
//! costs two context switches (a no-op round trip was 5.1-5.5 us, 80% of
//! it in the kernel). A waiter that reads the ring needs none.
//!
//! # Doorbells while a waiter helps
//!
//! The dispatcher skips its polling while any thread helps and blocks in
//! `poll`; a waiter disarms the reply rings when it starts, so a worker's
//! reply rings no doorbell. The last waiter to leave re-arms them if the
//! dispatcher is parked and rings the eventfd itself if a ring then holds
//! bytes: who arms is the `Handover` (`handover.rs`, loom-checked).

use crate::shared::{Command, Conn, PoolShared};
use crate::sys;
use concur_core::Drive;
use concur_ipc::Reply;
use concur_remote::Done;
use concur_sync::sync::Arc;
use concur_sync::sync::atomic::{AtomicU32, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How long a helping waiter pause-spins between looks before it yields
/// between them instead: a reply a round trip away (under 2 us) is seen
/// without a system call, and a waiter on a CPU a worker needs gives it up
/// after that (pause-spinning through 100 us tasks on two busy workers made
/// a chunksize-10 map of 10 us items 50% slower).
const PAUSE: Duration = Duration::from_micros(4);

/// The driver of a shared-memory pool's futures (see the module docs).
/// Holds the pool weakly: a future kept after its pool is gone waits as a
/// plain one.
#[derive(Debug)]
pub(crate) struct PoolDriver {
    pool: Weak<PoolShared>,
    /// Helped waits in a row whose result came only after the pause (0:
    /// pausing pays). While it does not, waiters yield at once, and try
    /// pausing again every [`REPROBE`]th wait.
    unpaid: AtomicU32,
}

/// How often a waiter pauses again while pausing does not pay.
const REPROBE: u32 = 32;

impl PoolDriver {
    pub(crate) fn new(pool: Weak<PoolShared>) -> Self {
        Self {
            pool,
            unpaid: AtomicU32::new(0),
        }
    }

    /// How long this wait pause-spins before it yields. A result that
    /// comes within the pause says the worker runs on another CPU; one
    /// that comes only after yielding, that it shares the waiter's, where
    /// the pause only keeps it off (a 2-worker pool's sequential round
    /// trips sat at 8.7-8.9 us in that placement, against 1.7 us).
    fn pause(&self) -> Duration {
        // ORDERING: a heuristic; no other memory depends on it.
        let unpaid = self.unpaid.load(Ordering::Relaxed);
        if unpaid % REPROBE == 0 {
            PAUSE
        } else {
            Duration::ZERO
        }
    }

    /// A helped wait ended with its result after `waited`.
    fn paid(&self, waited: Duration) {
        // ORDERING: as in `pause`.
        if waited < PAUSE {
            self.unpaid.store(0, Ordering::Relaxed);
        } else {
            self.unpaid.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Drive for PoolDriver {
    fn drive(&self, done: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        let Some(pool) = self.pool.upgrade() else {
            return done();
        };
        let short = pool
            .desks
            .iter()
            .any(|d| d.lock().as_ref().is_some_and(|s| s.timing.short()));
        if !short {
            // Long tasks: one look, then the future's own spin and park
            // (the dispatcher completes it). Helping through a long wait
            // only kept the dispatcher from its own policy: an adaptive
            // map of 10 us items (1 ms chunks) lost 8-10% with a 20 us
            // helping spin.
            help(&pool);
            return done();
        }
        let _helping = Helping::start(&pool);
        let start = Instant::now();
        let until = deadline.map_or(sys::SPIN, |d| {
            d.saturating_duration_since(start).min(sys::SPIN)
        });
        let pause = self.pause();
        loop {
            if done() {
                self.paid(start.elapsed());
                break true;
            }
            if help(&pool) {
                continue;
            }
            let waited = start.elapsed();
            if waited >= until {
                break done();
            }
            if waited < pause {
                for _ in 0..32 {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A thread helping (counted by the pool's `Handover`): the doorbell
/// hand-over of the module docs, its end also on unwinding (a dispatcher
/// that believed someone still helped would never poll or arm again).
struct Helping<'a>(&'a PoolShared);

impl<'a> Helping<'a> {
    fn start(pool: &'a PoolShared) -> Self {
        pool.handover.enter();
        for desk in &pool.desks {
            if let Some(s) = desk.lock().as_ref() {
                s.arm(false);
            }
        }
        Self(pool)
    }
}

impl Drop for Helping<'_> {
    fn drop(&mut self) {
        let pool = self.0;
        if pool.handover.leave() {
            let mut unread = false;
            for desk in &pool.desks {
                if let Some(s) = desk.lock().as_ref() {
                    s.arm(true);
                    unread |= s.has_work();
                }
            }
            if unread {
                sys::eventfd_signal(&pool.wake);
            }
        }
    }
}

/// One look at every desk no one else holds; whether a reply was read.
fn help(pool: &PoolShared) -> bool {
    let mut read = false;
    for (slot, desk) in pool.desks.iter().enumerate() {
        let Some(mut guard) = desk.try_lock() else {
            continue;
        };
        let Some(s) = guard.as_mut().filter(|s| s.helpable()) else {
            continue;
        };
        let handled = match s.next() {
            Ok(None) => continue,
            Ok(Some(Reply::Done {
                generation,
                results,
            })) => match judge(pool, slot, generation) {
                Some(done) => {
                    s.timing.record(Instant::now());
                    if done.retire {
                        s.close();
                    }
                    Some((done, generation, results))
                }
                None => {
                    // Not the task it runs: the dispatcher reports it.
                    s.leave(Ok(Reply::Done {
                        generation,
                        results,
                    }));
                    None
                }
            },
            Ok(Some(other)) => {
                s.leave(Ok(other));
                None
            }
            Err(what) => {
                s.leave(Err(what));
                None
            }
        };
        read = true;
        let pid = s.pid;
        drop(guard);
        let Some((done, generation, results)) = handled else {
            // Left for the dispatcher: wake it.
            sys::eventfd_signal(&pool.wake);
            continue;
        };
        if done.retire {
            pool.command(Command::Retire { slot });
        }
        if let Some(a) = done.next {
            pool.send_assignment(a);
        }
        if let Some(task) = done.task {
            pool.complete(slot, pid, generation, task, results, Default::default());
        }
    }
    read
}

/// The book's verdict on a `Done` for `generation` from the worker of
/// `slot` (taken under its desk's lock, so no later frame overtakes it);
/// `None` unless that worker runs that task.
fn judge(pool: &PoolShared, slot: usize, generation: u64) -> Option<Done<Arc<Conn>>> {
    let mut book = pool.book.lock();
    (book.running(slot) == Some(generation)).then(|| book.done(slot, generation))
}
