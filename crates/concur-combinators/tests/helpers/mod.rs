//! A small fixed-size thread pool for the tests (concur-thread is built in
//! parallel), plus CPython's canned futures and an event.

#![allow(dead_code, unreachable_pub)]

use concur_core::Shutdown;
use concur_core::{Error, Executor, Future, Job, Promise, SubmitError};
use crossbeam_channel::{Receiver, Sender, unbounded};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// `n` std threads taking jobs from one crossbeam channel.
pub struct TestPool {
    tx: Mutex<Option<Sender<Job>>>,
    rx: Receiver<Job>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl TestPool {
    pub fn new(n: usize) -> Self {
        let (tx, rx) = unbounded::<Job>();
        let workers = (0..n)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    for job in rx {
                        job.run();
                    }
                })
            })
            .collect();
        Self {
            tx: Mutex::new(Some(tx)),
            rx,
            workers: Mutex::new(workers),
        }
    }
}

impl Executor for TestPool {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        match self.tx.lock().unwrap().as_ref() {
            Some(tx) => tx
                .send(job)
                .map_err(|e| SubmitError::new(e.0, Error::shutdown())),
            None => Err(SubmitError::new(job, Error::shutdown())),
        }
    }
}
impl concur_core::Shutdown for TestPool {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        let (wait, cancel_futures) = (how.waits(), how.cancels_futures());
        drop(self.tx.lock().unwrap().take());
        if cancel_futures {
            while let Ok(job) = self.rx.try_recv() {
                job.cancel();
            }
        }
        if wait {
            let workers = std::mem::take(&mut *self.workers.lock().unwrap());
            for w in workers {
                w.join().unwrap();
            }
        }
    }
    fn is_shutdown(&self) -> bool {
        self.tx.lock().unwrap().is_none()
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A one-shot event (CPython's `threading.Event`).
#[derive(Clone, Default)]
pub struct Event(Arc<(Mutex<bool>, Condvar)>);

impl Event {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn set(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }
    /// Waits up to a generous limit; panics if never set (no hang).
    pub fn wait(&self) {
        let g = self.0.0.lock().unwrap();
        let (g, _) = self
            .0
            .1
            .wait_timeout_while(g, Duration::from_secs(60), |set| !*set)
            .unwrap();
        assert!(*g, "event never set");
    }
}

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
