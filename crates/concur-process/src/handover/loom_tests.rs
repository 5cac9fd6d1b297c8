//! Loom model of the [`Handover`]: a worker writes a reply and rings its
//! doorbell if it is armed; a waiter helps (disarms, maybe reads, leaves
//! and re-arms if told to, ringing for bytes it left); the dispatcher
//! parks (arming if told to), reads what is there, or else sleeps until
//! the doorbell rings. No interleaving may leave the reply unread with the
//! dispatcher asleep and the doorbell silent.
//!
//! The ring's own store-then-load pairs (`ring.rs`: all `SeqCst`, which
//! the C++ model totally orders) get a `SeqCst` fence here, since loom
//! models `SeqCst` accesses as acquire/release (loom issue 180); the
//! `Handover` is checked as it is. Run with
//! `cargo xtask loom -p concur-process`.

use super::Handover;
use concur_sync::sync::Arc;
use concur_sync::sync::atomic::{AtomicBool, Ordering, fence};
use concur_sync::thread;

/// One reply ring's doorbell word, its contents, and the eventfd.
#[derive(Default)]
struct Ring {
    armed: AtomicBool,
    /// A reply is in the ring, unread.
    reply: AtomicBool,
    /// The dispatcher's eventfd is readable.
    rung: AtomicBool,
}

impl Ring {
    /// Reads the reply, if there is one (whoever reads it, it is read).
    fn read(&self) -> bool {
        self.reply.swap(false, Ordering::SeqCst)
    }
}

fn model(waiter_reads: bool) {
    loom::model(move || {
        let h = Arc::new(Handover::default());
        let ring = Arc::new(Ring::default());

        let worker = {
            let ring = ring.clone();
            thread::spawn(move || {
                // `Ring::write_all`, then `ring(READER_BELL)`.
                ring.reply.store(true, Ordering::SeqCst);
                fence(Ordering::SeqCst);
                if ring.armed.swap(false, Ordering::SeqCst) {
                    ring.rung.store(true, Ordering::SeqCst);
                }
            })
        };
        let waiter = {
            let (h, ring) = (h.clone(), ring.clone());
            thread::spawn(move || {
                // `Helping::start`, one look, `Helping::drop`.
                h.enter();
                ring.armed.store(false, Ordering::SeqCst);
                if waiter_reads {
                    ring.read();
                }
                if h.leave() {
                    ring.armed.store(true, Ordering::SeqCst);
                    fence(Ordering::SeqCst);
                    if ring.reply.load(Ordering::SeqCst) {
                        ring.rung.store(true, Ordering::SeqCst);
                    }
                }
            })
        };
        // The dispatcher: `poll_once`'s park, a look, then `poll`.
        let arm = h.park();
        if arm {
            ring.armed.store(true, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        let asleep = !ring.read();
        worker.join().unwrap();
        waiter.join().unwrap();
        if asleep {
            // It sleeps in `poll` until the eventfd is readable: a reply
            // still unread must have rung it.
            let unread = ring.reply.load(Ordering::SeqCst);
            assert!(
                !unread || ring.rung.load(Ordering::SeqCst),
                "a reply is unread, the dispatcher asleep and no doorbell rung"
            );
        }
        h.unpark();
        assert!(!h.helped());
    });
}

/// The waiter only disarms and leaves (its future is done elsewhere).
#[test]
fn no_reply_unannounced_when_the_waiter_reads_nothing() {
    model(false);
}

/// The waiter also reads the ring once, racing the dispatcher for it.
#[test]
fn no_reply_unannounced_when_the_waiter_reads() {
    model(true);
}
