//! Shared helpers for the concur-core integration tests: futures in each
//! state (like CPython's `test_concurrent_futures/util.py`), drop probes,
//! counting wakers, a `tracing` capture and small test executors. The
//! fixtures other crates' tests share come from `concur-testkit`.

#![allow(dead_code)]

use concur_core::Shutdown as _;
use concur_core::{Error, Executor, Future, Job, Promise, SubmitError};
use concur_testkit::TestError;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Wake, Waker};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

/// A generous bound for anything that should happen "at once" (2 noisy cores).
pub(crate) const LONG: Duration = Duration::from_secs(5);

/// How long a helper thread waits before acting, so that the other side is
/// (very likely) blocked by then. Correctness never depends on it.
pub(crate) const SHORT: Duration = Duration::from_millis(100);

/// A deadline some 35 000 years away: representable, yet never reached, so
/// a wait on it must behave as a wait without limit (no overflow, no panic).
pub(crate) fn far_future() -> std::time::Instant {
    std::time::Instant::now() + Duration::from_secs(1 << 40)
}

/// A future in each CPython test state, with the promise kept alive where
/// dropping it would change the state.
pub(crate) struct Fixture<T: Send + 'static> {
    pub(crate) promise: Option<Promise<T>>,
    pub(crate) fut: Future<T>,
}

pub(crate) fn pending_future<T: Send + 'static>() -> Fixture<T> {
    let (promise, fut) = Promise::new();
    Fixture {
        promise: Some(promise),
        fut,
    }
}

pub(crate) fn running_future<T: Send + 'static>() -> Fixture<T> {
    let (promise, fut) = Promise::new();
    assert!(promise.set_running_or_notify_cancel().unwrap());
    Fixture {
        promise: Some(promise),
        fut,
    }
}

pub(crate) fn cancelled_future<T: Send + 'static>() -> Fixture<T> {
    let (promise, fut) = Promise::new();
    assert!(fut.cancel());
    Fixture {
        promise: Some(promise),
        fut,
    }
}

pub(crate) fn exception_future<T: Send + 'static>() -> Fixture<T> {
    Fixture {
        promise: None,
        fut: Future::from_error(Error::task(TestError(5))),
    }
}

pub(crate) fn successful_future() -> Fixture<u64> {
    Fixture {
        promise: None,
        fut: Future::ready(42),
    }
}

/// A value that is neither `Clone` nor `Copy`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct NotClone(pub(crate) u64);

/// Counts its drops.
#[derive(Debug)]
pub(crate) struct DropProbe(pub(crate) Arc<AtomicUsize>);

impl Drop for DropProbe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A waker that counts how often it was woken.
#[derive(Debug, Default)]
pub(crate) struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub(crate) fn counting_waker() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (c.clone(), Waker::from(c))
}

impl CountingWaker {
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A waker whose `wake` panics.
#[derive(Debug)]
pub(crate) struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker exploded");
    }
}

#[allow(unused_imports)]
pub(crate) use concur_testkit::tracing_capture::{Level, capture_tracing};

/// Runs every job at once on the submitting thread.
#[derive(Debug, Default)]
pub(crate) struct Inline {
    pub(crate) shut: AtomicBool,
}

impl Executor for Inline {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        if self.shut.load(Ordering::SeqCst) {
            return Err(SubmitError::new(job, Error::shutdown()));
        }
        job.run();
        Ok(())
    }
}
impl concur_core::Shutdown for Inline {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        let _ = how;
        self.shut.store(true, Ordering::SeqCst);
    }
    fn is_shutdown(&self) -> bool {
        self.shut.load(Ordering::SeqCst)
    }
}

/// One worker thread fed by a channel: shows a panicking task does not
/// kill the worker.
#[derive(Debug)]
pub(crate) struct OneWorker {
    tx: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    pub(crate) worker_id: ThreadId,
}

impl OneWorker {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let worker = thread::spawn(move || {
            for job in rx {
                job.run();
            }
        });
        let worker_id = worker.thread().id();
        Self {
            tx: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            worker_id,
        }
    }
}

impl Executor for OneWorker {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        let tx = self.tx.lock().unwrap();
        match &*tx {
            Some(tx) => tx
                .send(job)
                .map_err(|e| SubmitError::new(e.0, Error::broken("worker is gone", None))),
            None => Err(SubmitError::new(job, Error::shutdown())),
        }
    }
}
impl concur_core::Shutdown for OneWorker {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        let wait = how.waits();
        self.tx.lock().unwrap().take();
        if wait {
            if let Some(w) = self.worker.lock().unwrap().take() {
                w.join().unwrap();
            }
        }
    }
    fn is_shutdown(&self) -> bool {
        self.tx.lock().unwrap().is_none()
    }
}

impl Drop for OneWorker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Keeps jobs until the test runs or cancels them.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    jobs: Mutex<VecDeque<Job>>,
    shut: AtomicBool,
}

impl Queue {
    pub(crate) fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(job) = self.jobs.lock().unwrap().pop_front() {
            job.run();
            n += 1;
        }
        n
    }
    pub(crate) fn len(&self) -> usize {
        self.jobs.lock().unwrap().len()
    }
}

impl Executor for Queue {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        if self.shut.load(Ordering::SeqCst) {
            return Err(SubmitError::new(job, Error::shutdown()));
        }
        self.jobs.lock().unwrap().push_back(job);
        Ok(())
    }
}
impl concur_core::Shutdown for Queue {
    fn shutdown_with(&self, how: concur_core::ShutdownOptions) {
        let (wait, cancel_futures) = (how.waits(), how.cancels_futures());
        self.shut.store(true, Ordering::SeqCst);
        if cancel_futures {
            let jobs: Vec<Job> = self.jobs.lock().unwrap().drain(..).collect();
            for job in jobs {
                job.cancel();
            }
        }
        if wait {
            self.run_all();
        }
    }
    fn is_shutdown(&self) -> bool {
        self.shut.load(Ordering::SeqCst)
    }
}

/// Completes `promise` with `value` from another thread after [`SHORT`].
pub(crate) fn set_later<T: Send + 'static>(promise: Promise<T>, value: T) -> JoinHandle<()> {
    thread::spawn(move || {
        thread::sleep(SHORT);
        promise.set_result(value).unwrap();
    })
}
