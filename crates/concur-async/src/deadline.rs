//! A deadline an async waiter can poll, woken by concur-core's timer thread
//! ([`concur_core::timer`]): no runtime needed, so the timeouts of
//! `as_completed`, `wait` and `gather` work under tokio, smol and
//! `futures::executor` alike.
//!
//! The timer entry is made on the first poll that finds the deadline not
//! yet passed (a deadline never polled costs nothing) and cancelled on drop
//! (a far-off deadline no longer needed holds no memory). The waker is
//! stored under a lock together with a `fired` flag the timer sets, so a
//! timer firing between the time check and the waker store is not lost.
//! Real time only: never part of a loom model, so it uses `std` directly.

use concur_core::Error;
use concur_core::timer::{self, TimerEntry};
// Real time, so `std` (a loom primitive outside a model would panic); no
// code panics while holding the lock (wakers are called after release),
// so poisoning is ignored, as concur-sync's `Mutex::lock` does.
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Alarm {
    fired: bool,
    waker: Option<Waker>,
}

pub(crate) struct Deadline {
    /// `None`: no limit.
    at: Option<Instant>,
    alarm: Option<Arc<Mutex<Alarm>>>,
    entry: Option<TimerEntry>,
}

impl Deadline {
    /// No limit: never passes.
    pub(crate) fn never() -> Self {
        Self {
            at: None,
            alarm: None,
            entry: None,
        }
    }

    /// `timeout` after now; no limit if that is too far to represent
    /// (such as `Duration::MAX`).
    pub(crate) fn after(timeout: Duration) -> Self {
        Self {
            at: Instant::now().checked_add(timeout),
            alarm: None,
            entry: None,
        }
    }

    pub(crate) fn after_opt(timeout: Option<Duration>) -> Self {
        timeout.map_or_else(Self::never, Self::after)
    }

    pub(crate) fn is_limited(&self) -> bool {
        self.at.is_some()
    }

    /// `Ready(Ok(()))` once the deadline passed; otherwise arranges for
    /// `cx` to be woken when it does. `Ready(Err(Broken))` if the timer
    /// thread could not be started (the deadline can then not be kept).
    pub(crate) fn poll_passed(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(at) = self.at else {
            return Poll::Pending;
        };
        if Instant::now() >= at {
            return Poll::Ready(Ok(()));
        }
        if let Some(alarm) = &self.alarm {
            let mut a = alarm.lock().unwrap_or_else(PoisonError::into_inner);
            if a.fired {
                return Poll::Ready(Ok(()));
            }
            match &a.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => a.waker = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        }
        let alarm = Arc::new(Mutex::new(Alarm {
            fired: false,
            waker: Some(cx.waker().clone()),
        }));
        let in_timer = Arc::clone(&alarm);
        let fire = move || {
            let waker = {
                let mut a = in_timer.lock().unwrap_or_else(PoisonError::into_inner);
                a.fired = true;
                a.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        };
        match timer::call_at(at, fire) {
            Ok(entry) => {
                self.entry = Some(entry);
                self.alarm = Some(alarm);
                Poll::Pending
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some(entry) = self.entry.take() {
            entry.cancel();
        }
    }
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline").field("at", &self.at).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[test]
    fn passes_after_its_timeout_and_wakes_the_task() {
        let start = Instant::now();
        let mut d = Deadline::after(Duration::from_millis(20));
        futures_lite::future::block_on(poll_fn(|cx| d.poll_passed(cx))).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(20));
    }

    #[test]
    fn zero_passes_at_once_and_max_never() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(matches!(
            Deadline::after(Duration::ZERO).poll_passed(&mut cx),
            Poll::Ready(Ok(()))
        ));
        let mut max = Deadline::after(Duration::MAX);
        assert!(!max.is_limited());
        assert!(max.poll_passed(&mut cx).is_pending());
        assert!(max.entry.is_none(), "no timer entry for no limit");
    }

    #[test]
    fn dropping_it_cancels_the_timer_entry() {
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut d = Deadline::after(Duration::from_secs(3600));
        assert!(d.poll_passed(&mut cx).is_pending());
        let alarm = Arc::clone(d.alarm.as_ref().unwrap());
        assert_eq!(
            Arc::strong_count(&alarm),
            3,
            "ours, the deadline's, the timer's"
        );
        drop(d);
        // The timer entry (and with it the callback's clone) is gone.
        assert_eq!(Arc::strong_count(&alarm), 1);
    }
}
