//! CPython's canned futures for the tests, a wait bound and a delayed
//! completion (the thread pool and the event come from `concur-testkit`).

#![allow(dead_code, unreachable_pub)]

use concur_core::{Error, Future, Promise};
use std::thread::JoinHandle;
use std::time::Duration;

/// CPython's `PENDING_FUTURE` (the promise must be kept alive).
pub fn pending<T: Send + 'static>() -> (Promise<T>, Future<T>) {
    Promise::new()
}

/// CPython's `RUNNING_FUTURE`.
pub fn running<T: Send + 'static>() -> (Promise<T>, Future<T>) {
    let (p, f) = Promise::new();
    assert!(p.set_running_or_notify_cancel().unwrap());
    (p, f)
}

/// CPython's `CANCELLED_AND_NOTIFIED_FUTURE`.
pub fn cancelled<T: Send + 'static>() -> Future<T> {
    let (_p, f) = Promise::new();
    assert!(f.cancel());
    f
}

/// CPython's `EXCEPTION_FUTURE`.
pub fn exception<T: Send + 'static>() -> Future<T> {
    Future::from_error(Error::task(std::io::Error::other("wrong")))
}

/// CPython's `SUCCESSFUL_FUTURE`.
pub fn successful() -> Future<i32> {
    Future::ready(42)
}

/// A generous limit for waits in tests that must not hang.
pub const LONG: Duration = Duration::from_secs(60);

/// Completes `p` with `v` from another thread after 20 ms, so that a waiter
/// is (very likely) blocked by then. Correctness never depends on it.
pub fn set_later<T: Send + 'static>(p: Promise<T>, v: T) -> JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        p.set_result(v).unwrap();
    })
}
