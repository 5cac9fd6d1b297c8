//! Futures with a driver (`Promise::with_driver`): a blocked waiter runs
//! the driver once per wait, before it parks; a driver that completes the
//! future ends the wait on the waiting thread; one that gives up leaves
//! the waiter to park and be woken by the completer as usual; timed waits
//! keep their meaning (zero looks once and never drives, a deadline is
//! passed to the driver and kept); done futures never reach the driver.
//! A `Watcher` runs its futures' driver the same way.

use concur_core::{Drive, Promise};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counts its calls; completes the promise it holds, if any, on the
/// calling thread; otherwise spins until `done` or the deadline, then
/// gives up.
#[derive(Default)]
struct Probe {
    calls: AtomicUsize,
    deadlines: Mutex<Vec<Option<Instant>>>,
    promise: Mutex<Option<Promise<u32>>>,
    completed_on: Mutex<Option<std::thread::ThreadId>>,
}

impl Drive for Probe {
    fn drive(&self, done: &dyn Fn() -> bool, deadline: Option<Instant>) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.deadlines.lock().unwrap().push(deadline);
        if let Some(p) = self.promise.lock().unwrap().take() {
            p.set_result(5).unwrap();
            *self.completed_on.lock().unwrap() = Some(std::thread::current().id());
            return done();
        }
        while !done() && deadline.is_some_and(|d| Instant::now() < d) {
            std::hint::spin_loop();
        }
        done()
    }
}

fn driven() -> (Arc<Probe>, Promise<u32>, concur_core::Future<u32>) {
    let probe = Arc::new(Probe::default());
    // Leaked: the registration outlives the test's futures.
    let driver = Box::leak(Box::new(concur_core::Driver::new(probe.clone())));
    let (p, f) = Promise::with_driver(driver);
    (probe, p, f)
}

#[test]
fn a_driver_that_completes_the_future_ends_the_wait_on_the_waiting_thread() {
    let (probe, p, f) = driven();
    *probe.promise.lock().unwrap() = Some(p);
    assert_eq!(*f.result().unwrap(), 5);
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *probe.completed_on.lock().unwrap(),
        Some(std::thread::current().id())
    );
    assert_eq!(probe.deadlines.lock().unwrap()[0], None);
}

#[test]
fn a_driver_that_gives_up_leaves_the_waiter_to_park_and_be_woken() {
    let (probe, p, f) = driven();
    let completer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        p.set_result(9).unwrap();
    });
    // No deadline: the probe gives up at once; the wait parks and the
    // completer wakes it.
    assert_eq!(f.into_result().unwrap(), 9);
    completer.join().unwrap();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn timed_waits_pass_their_deadline_and_keep_it() {
    let (probe, p, f) = driven();
    // Zero: a look, no drive.
    assert!(!f.wait_timeout(Duration::ZERO));
    assert_eq!(probe.calls.load(Ordering::SeqCst), 0);
    // A short timeout: the driver gets the deadline, and the wait ends
    // at it (the probe spins until then, then the wait checks once more).
    let started = Instant::now();
    assert!(!f.wait_timeout(Duration::from_millis(20)));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(20), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let deadlines = probe.deadlines.lock().unwrap().clone();
    assert_eq!(deadlines.len(), 1);
    assert!(deadlines[0].is_some());
    // `Duration::MAX` does not overflow: no deadline at all.
    let completer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        p.set_result(1).unwrap();
    });
    assert!(f.wait_timeout(Duration::MAX));
    completer.join().unwrap();
    assert_eq!(probe.deadlines.lock().unwrap()[1], None);
    // Done: the driver is never called again.
    let before = probe.calls.load(Ordering::SeqCst);
    assert_eq!(*f.result().unwrap(), 1);
    assert!(f.wait_timeout(Duration::from_secs(1)));
    assert_eq!(probe.calls.load(Ordering::SeqCst), before);
}

#[test]
fn clones_and_many_waiters_share_the_driver() {
    let (probe, p, f) = driven();
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || *f.result().unwrap())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    p.set_result(3).unwrap();
    for w in waiters {
        assert_eq!(w.join().unwrap(), 3);
    }
    // Each waiter that blocked ran it once, at most.
    assert!(probe.calls.load(Ordering::SeqCst) <= 4);
}

/// A watcher (under `as_completed` and `wait`) runs the driver of the
/// futures it watches once per blocking wait, before it parks: a driver
/// that completes one yields it on the waiting thread; one that gives up
/// leaves the watcher to park and be woken; futures already done or a
/// passed deadline never reach it.
#[test]
fn a_watcher_runs_its_futures_driver_before_it_parks() {
    use concur_core::Watcher;
    let (probe, p, f) = driven();
    let (_q, plain) = Promise::<u32>::new();
    *probe.promise.lock().unwrap() = Some(p);
    let mut w = Watcher::new();
    w.watch(plain.erase());
    let token = w.watch(f.clone().erase());
    let (got, _) = w.next_until(None).unwrap().unwrap();
    assert_eq!(got, token);
    assert_eq!(*f.result().unwrap(), 5);
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        *probe.completed_on.lock().unwrap(),
        Some(std::thread::current().id())
    );
    // A passed deadline looks once: no driving.
    assert!(w.next_until(Some(Instant::now())).is_err());
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);

    // A driver that gives up: the watcher parks and the completer wakes it.
    let (probe, p, f) = driven();
    let mut w = Watcher::new();
    w.watch(f.erase());
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        p.set_result(9).unwrap();
    });
    // (With no deadline the probe gives up at once.)
    assert!(w.next_until(None).unwrap().is_some());
    t.join().unwrap();
    assert_eq!(probe.calls.load(Ordering::SeqCst), 1);
    assert_eq!(probe.deadlines.lock().unwrap()[0], None);
    // A deadline reaches the driver (which spins until it or done).
    let (probe, _p, f) = driven();
    let mut w = Watcher::new();
    w.watch(f.erase());
    let deadline = Instant::now() + Duration::from_millis(20);
    assert!(w.next_until(Some(deadline)).is_err());
    assert!(Instant::now() >= deadline);
    assert_eq!(probe.deadlines.lock().unwrap()[0], Some(deadline));

    // Done when watched: yielded without the driver.
    let (probe, p, f) = driven();
    p.set_result(1).unwrap();
    let mut w = Watcher::new();
    w.watch(f.erase());
    assert!(w.next_until(None).unwrap().is_some());
    assert_eq!(probe.calls.load(Ordering::SeqCst), 0);
}
