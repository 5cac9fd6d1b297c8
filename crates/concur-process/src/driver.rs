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
//! The dispatcher skips its polling while any thread helps
//! (`PoolShared::helpers`) and blocks in `poll`; a waiter disarms the
//! reply rings when it starts, so a worker's reply rings no doorbell
//! (the eventfd write, and the dispatcher it wakes, would cost the round
//! trip what this saves). The last waiter to leave re-arms them if the
//! dispatcher is parked and rings the eventfd itself if a ring then holds
//! bytes. The dispatcher stores `parked` before it loads `helpers`, a
//! waiter decrements `helpers` before it loads `parked` (all `SeqCst`), so
//! at least one of them sees the other: either the dispatcher arms the
//! rings itself or the last waiter does, and no reply is left unannounced.

use crate::shared::{Command, Conn, PoolShared};
use crate::sys;
use concur_core::Drive;
use concur_ipc::Reply;
use concur_remote::Done;
use concur_sync::sync::Arc;
use concur_sync::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How long a waiter helps when its pool's recent tasks were long (it
/// then parks, and the dispatcher completes the future): about as long as
/// a plain future's spin before it parks.
const BRIEF: Duration = Duration::from_micros(20);

/// Pause-loop rounds between looks before a helping waiter starts to
/// yield: a reply microseconds away is seen without a system call.
const PAUSE_LOOKS: u32 = 256;

/// The driver of a shared-memory pool's futures (see the module docs).
/// Holds the pool weakly: a future kept after its pool is gone waits as a
/// plain one.
#[derive(Debug)]
pub(crate) struct PoolDriver(pub(crate) Weak<PoolShared>);

impl Drive for PoolDriver {
    fn drive(&self, done: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        let Some(pool) = self.0.upgrade() else {
            return done();
        };
        pool.helpers.fetch_add(1, Ordering::SeqCst);
        let mut short = false;
        for desk in &pool.desks {
            if let Some(s) = desk.lock().as_ref() {
                s.arm(false);
                short |= s.timing.short();
            }
        }
        let start = Instant::now();
        let budget = if short { sys::SPIN } else { BRIEF };
        let until = deadline.map_or(budget, |d| d.saturating_duration_since(start).min(budget));
        let mut looks = 0u32;
        let finished = loop {
            if done() {
                break true;
            }
            if help(&pool) {
                continue;
            }
            if start.elapsed() >= until {
                break done();
            }
            looks = looks.saturating_add(1);
            if looks < PAUSE_LOOKS {
                for _ in 0..32 {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
        };
        if pool.helpers.fetch_sub(1, Ordering::SeqCst) == 1 && pool.parked.load(Ordering::SeqCst) {
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
        finished
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
                        s.open = false;
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
            pool.complete(slot, pid, generation, task, results);
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
