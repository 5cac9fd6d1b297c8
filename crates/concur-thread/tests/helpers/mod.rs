//! Shared test helpers: a start counter, timeouts (the event tasks block
//! on and the thread count come from `concur-testkit`).
#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Generous bound for anything that should happen "soon" on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Counts events and lets the test wait for a number of them.
#[derive(Clone, Default)]
pub struct Counter(Arc<(Mutex<usize>, Condvar)>);

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn hit(&self) {
        *self.0.0.lock().unwrap() += 1;
        self.0.1.notify_all();
    }

    pub fn get(&self) -> usize {
        *self.0.0.lock().unwrap()
    }

    pub fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        let mut count = self.0.0.lock().unwrap();
        while *count < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "only {} of {n} events happened", *count);
            count = self.0.1.wait_timeout(count, left).unwrap().0;
        }
    }
}

/// Polls `cond` until it holds or [`PATIENCE`] runs out.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}
