//! concur's one timer thread, shared by every crate that needs a deadline
//! without an async runtime: `with_timeout` and `retry` back-off in
//! `concur-combinators`, the timeouts of the async `as_completed`, `wait`
//! and `gather` in `concur-async`.
//!
//! Started lazily on first use, the thread sleeps on a condition variable
//! until the earliest entry is due, then runs it. Callbacks run on the
//! timer thread, so they must be short: complete a promise, wake a task,
//! hand work to an executor. A panicking callback is caught and does not
//! stop the thread. An entry can be [cancelled](TimerEntry::cancel) before
//! it fires, so a far-off deadline that is no longer needed holds no memory.
//!
//! The thread sleeps in real time and is never part of a loom model: it
//! uses `std` directly.

use crate::error::Error;
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Entries by (due time, sequence number), plus the next sequence number.
type Entries = (BTreeMap<(Instant, u64), Callback>, u64);

struct Timer {
    state: Mutex<Entries>,
    cv: Condvar,
}

static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();

impl Timer {
    /// Locks the entries, ignoring poisoning: no code panics while holding
    /// the lock (callbacks run after it is released). `std`'s mutex, not
    /// `concur_sync`'s, which is loom's under `--cfg concur_loom`.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn timer() -> Option<&'static Timer> {
    *TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            state: Mutex::new((BTreeMap::new(), 0)),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("concur-timer".into())
            .spawn(move || run(t))
            .ok()
            .map(|_| t)
    })
}

fn run(t: &'static Timer) {
    let mut g = t.lock();
    loop {
        let now = Instant::now();
        let next = g.0.first_key_value().map(|(k, _)| *k);
        match next {
            None => {
                g = match t.cv.wait(g) {
                    Ok(g) => g,
                    Err(p) => p.into_inner(),
                };
            }
            Some((at, _)) if at > now => {
                g = match t.cv.wait_timeout(g, at - now) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
            }
            Some(key) => {
                let run = g.0.remove(&key).expect("just peeked");
                drop(g);
                // A panicking callback must not kill the timer thread.
                let _ = catch_unwind(AssertUnwindSafe(run));
                g = t.lock();
            }
        }
    }
}

/// Runs `f` on concur's timer thread at `at` (at once if `at` has passed).
/// Entries due at the same instant run in the order they were scheduled.
///
/// # Errors
///
/// [`Broken`](crate::ErrorKind::Broken) if the timer thread could not be
/// started (`f` is then dropped without running).
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let (tx, rx) = std::sync::mpsc::channel();
/// concur_core::timer::call_at(Instant::now() + Duration::from_millis(5), move || {
///     tx.send("fired").unwrap();
/// })
/// .unwrap();
/// assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), "fired");
/// ```
pub fn call_at<F>(at: Instant, f: F) -> Result<TimerEntry, Error>
where
    F: FnOnce() + Send + 'static,
{
    let Some(t) = timer() else {
        return Err(Error::broken("the timer thread could not start", None));
    };
    let key = {
        let mut g = t.lock();
        let seq = g.1;
        g.1 += 1;
        g.0.insert((at, seq), Box::new(f));
        (at, seq)
    };
    t.cv.notify_one();
    Ok(TimerEntry { key })
}

/// A callback scheduled with [`call_at`]. Dropping it leaves the callback
/// scheduled; [`cancel`](Self::cancel) removes it.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// let entry = concur_core::timer::call_at(Instant::now() + Duration::from_secs(3600), || {
///     unreachable!("cancelled first")
/// })
/// .unwrap();
/// assert!(entry.cancel());
/// ```
pub struct TimerEntry {
    key: (Instant, u64),
}

impl TimerEntry {
    /// When the callback is (or was) due.
    ///
    /// # Examples
    ///
    /// ```
    /// let at = std::time::Instant::now();
    /// let entry = concur_core::timer::call_at(at, || {}).unwrap();
    /// assert_eq!(entry.at(), at);
    /// ```
    #[must_use]
    pub fn at(&self) -> Instant {
        self.key.0
    }

    /// Removes the callback if it has not started running: `true` if it was
    /// removed (it will never run), `false` if it already ran or is running.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let entry = concur_core::timer::call_at(Instant::now(), move || tx.send(()).unwrap()).unwrap();
    /// rx.recv_timeout(Duration::from_secs(10)).unwrap();
    /// assert!(!entry.cancel()); // already ran
    /// ```
    pub fn cancel(&self) -> bool {
        let Some(t) = TIMER.get().copied().flatten() else {
            return false;
        };
        // Dropping the callback outside the lock: it may own anything.
        let removed = t.lock().0.remove(&self.key);
        removed.is_some()
    }
}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("at", &self.key.0)
            .finish_non_exhaustive()
    }
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
            call_at(now + Duration::from_millis(ms), move || tx.send(i).unwrap()).unwrap();
        }
        let got: Vec<i32> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 0]);
    }

    #[test]
    fn same_instant_runs_in_schedule_order() {
        let (tx, rx) = mpsc::channel();
        let at = Instant::now() + Duration::from_millis(5);
        for i in 0..5 {
            let tx = tx.clone();
            call_at(at, move || tx.send(i).unwrap()).unwrap();
        }
        let got: Vec<i32> = (0..5)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_panicking_callback_does_not_stop_the_timer() {
        let (tx, rx) = mpsc::channel();
        let now = Instant::now();
        call_at(now, || panic!("boom")).unwrap();
        call_at(now + Duration::from_millis(5), move || tx.send(()).unwrap()).unwrap();
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn a_cancelled_entry_never_runs_and_drops_its_callback() {
        let (tx, rx) = mpsc::channel::<()>();
        let entry = call_at(Instant::now() + Duration::from_millis(20), move || {
            tx.send(()).unwrap();
        })
        .unwrap();
        assert!(entry.cancel());
        assert!(!entry.cancel());
        // The sender was dropped with the callback: the channel is closed.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(10)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
