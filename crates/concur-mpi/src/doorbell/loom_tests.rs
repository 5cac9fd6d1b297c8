//! Loom models of the [`Doorbell`]: the manager's blocking probe is a
//! queue of zero-byte "messages" (a counter and a condition variable),
//! which a ring's `send` adds to. Run with `cargo xtask loom -p concur-mpi`.

use super::Doorbell;
use concur_sync::sync::atomic::{AtomicBool, Ordering};
use concur_sync::sync::{Arc, Condvar, Mutex};
use concur_sync::thread;

/// The manager's message queue: self-sends not yet probed.
#[derive(Default)]
struct Queue {
    count: Mutex<usize>,
    cond: Condvar,
}

impl Queue {
    fn send(&self) {
        *self.count.lock() += 1;
        self.cond.notify_one();
    }

    /// The blocking probe: waits for one message and receives it.
    fn probe(&self) {
        let mut n = self.count.lock();
        while *n == 0 {
            n = self.cond.wait(n);
        }
        *n -= 1;
    }
}

/// Two submitters post while the manager takes and probes: every item
/// reaches the manager, and it never blocks in the probe with work in
/// the outbox (a lost wake-up would leave it blocked: loom reports the
/// deadlock).
#[test]
fn no_lost_wake_up() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::<u32>::new(false));
        let queue = Arc::new(Queue::default());
        let submitters: Vec<_> = (0..2)
            .map(|i| {
                let (bell, queue) = (Arc::clone(&bell), Arc::clone(&queue));
                thread::spawn(move || bell.post(i, || queue.send()))
            })
            .collect();
        let mut got = Vec::new();
        loop {
            got.extend(bell.take());
            if got.len() == 2 {
                break;
            }
            queue.probe();
        }
        for s in submitters {
            s.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
    });
}

/// The polling manager (`MPI_THREAD_SERIALIZED`): a ring nudges instead
/// of sending, and the manager's wait (bounded only by a long limit here)
/// returns for it.
#[test]
fn polling_no_lost_wake_up() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::<u32>::new(true));
        let submitter = {
            let bell = Arc::clone(&bell);
            thread::spawn(move || bell.post(7, || panic!("a polling ring never sends")))
        };
        let mut got = Vec::new();
        loop {
            got.extend(bell.take());
            if !got.is_empty() {
                break;
            }
            bell.wait(std::time::Duration::from_secs(3600));
        }
        submitter.join().unwrap();
        assert_eq!(got, [7]);
    });
}

/// A ring racing the manager's close: no send runs after `close`
/// returned (when the communicator is freed).
#[test]
fn no_send_after_close() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::<u32>::new(false));
        let freed = Arc::new(AtomicBool::new(false));
        let ringer = {
            let (bell, freed) = (Arc::clone(&bell), Arc::clone(&freed));
            thread::spawn(move || {
                bell.ring(|| assert!(!freed.load(Ordering::SeqCst), "sent on a freed comm"));
            })
        };
        bell.close();
        freed.store(true, Ordering::SeqCst);
        ringer.join().unwrap();
    });
}
