//! One lazily started timer thread for deadlines and back-off delays.
//!
//! Entries sit in a min-heap until due; the thread sleeps on a condition
//! variable until the earliest one. Callbacks run on the timer thread, so
//! they only complete promises or hand work to an executor.

use crate::primitive::{lock_real, real};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

type Callback = Box<dyn FnOnce() + Send + 'static>;

struct Entry {
    at: Instant,
    seq: u64,
    run: Callback,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so the std max-heap pops the earliest entry first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

struct Timer {
    heap: real::Mutex<(BinaryHeap<Entry>, u64)>,
    cv: real::Condvar,
}

static TIMER: real::OnceLock<Option<&'static Timer>> = real::OnceLock::new();

fn timer() -> Option<&'static Timer> {
    *TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            heap: real::Mutex::new((BinaryHeap::new(), 0)),
            cv: real::Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("concur-timer".into())
            .spawn(move || run(t))
            .ok()
            .map(|_| t)
    })
}

fn run(t: &'static Timer) {
    let mut g = lock_real(&t.heap);
    loop {
        let now = Instant::now();
        let due = match g.0.peek() {
            None => None,
            Some(e) if e.at <= now => Some(true),
            Some(e) => {
                let wait = e.at - now;
                g = match t.cv.wait_timeout(g, wait) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
                continue;
            }
        };
        if due.is_none() {
            g = match t.cv.wait(g) {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            continue;
        }
        let entry = g.0.pop().expect("peeked");
        drop(g);
        // A panicking callback must not kill the timer thread.
        let _ = catch_unwind(AssertUnwindSafe(entry.run));
        g = lock_real(&t.heap);
    }
}

/// Runs `f` on the timer thread at `at` (at once if `at` has passed).
/// Gives `f` back if the timer thread could not be started.
pub(crate) fn schedule(at: Instant, f: Callback) -> Result<(), Callback> {
    let Some(t) = timer() else {
        return Err(f);
    };
    {
        let mut g = lock_real(&t.heap);
        let seq = g.1;
        g.1 += 1;
        g.0.push(Entry { at, seq, run: f });
    }
    t.cv.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn entries_fire_in_deadline_order() {
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        for (i, ms) in [(0, 40u64), (1, 10), (2, 25)] {
            let tx = tx.clone();
            schedule(
                now + Duration::from_millis(ms),
                Box::new(move || tx.send(i).unwrap()),
            )
            .map_err(|_| "no timer")
            .unwrap();
        }
        let got: Vec<i32> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 0]);
    }

    #[test]
    fn a_panicking_callback_does_not_stop_the_timer() {
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        schedule(now, Box::new(|| panic!("boom")))
            .map_err(|_| "no timer")
            .unwrap();
        schedule(
            now + Duration::from_millis(5),
            Box::new(move || tx.send(()).unwrap()),
        )
        .map_err(|_| "no timer")
        .unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }
}
