//! The worker's wait between probes: yields for [`YIELD_FOR`] (back-to-back
//! tasks then skip a sleep), then sleeps from [`FIRST_SLEEP`] doubling up to
//! [`MAX_SLEEP`], as mpi4py's doubling back-off (capped at 1 ms). Never a
//! busy spin: ranks often share cores.

use std::time::{Duration, Instant};

/// How long a worker yields between probes before it starts sleeping.
pub(crate) const YIELD_FOR: Duration = Duration::from_micros(200);
/// The first sleep.
pub(crate) const FIRST_SLEEP: Duration = Duration::from_micros(20);
/// The longest sleep: the worst added latency of an idle worker.
pub(crate) const MAX_SLEEP: Duration = Duration::from_millis(1);

/// One wait's state.
#[derive(Debug)]
pub(crate) struct Backoff {
    since: Instant,
    sleep: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self {
            since: Instant::now(),
            sleep: FIRST_SLEEP,
        }
    }

    /// Waits once; returns what it slept (zero for a yield).
    pub(crate) fn wait(&mut self) -> Duration {
        let d = self.step();
        if d.is_zero() {
            std::thread::yield_now();
        } else {
            std::thread::sleep(d);
        }
        d
    }

    /// The next wait's length, for a caller that waits its own way (zero:
    /// yield).
    pub(crate) fn step(&mut self) -> Duration {
        if self.since.elapsed() < YIELD_FOR {
            return Duration::ZERO;
        }
        let d = self.sleep;
        self.sleep = (self.sleep * 2).min(MAX_SLEEP);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_then_doubles_up_to_the_cap() {
        let mut b = Backoff::new();
        while b.wait() == Duration::ZERO {}
        let mut last = FIRST_SLEEP;
        for _ in 0..10 {
            let s = b.wait();
            assert!(s >= last && s <= MAX_SLEEP);
            last = s;
        }
        assert_eq!(last, MAX_SLEEP);
    }
}
