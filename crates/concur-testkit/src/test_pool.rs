//! [`TestPool`]: a fixed pool of std threads over one channel, for the
//! tests of crates that may not depend on `concur-thread`.

use concur_core::{Error, Executor, Job, Shutdown, ShutdownOptions, SubmitError};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// `n` std threads taking jobs from one channel, in submission order.
///
/// [`shutdown_with`](Shutdown::shutdown_with) closes the channel (a later
/// submission fails with [`Error::shutdown`]), cancels the queued jobs if
/// asked and joins the workers if asked. Dropping the pool closes the
/// channel and joins the workers (all but the dropping thread, when the
/// last reference goes away inside a job).
///
/// # Examples
///
/// ```
/// use concur_core::{Executor, Job, Shutdown};
/// let pool = concur_testkit::TestPool::new(2);
/// let (job, fut) = Job::new(|| 6 * 7);
/// pool.execute(job).unwrap();
/// assert_eq!(fut.into_result().unwrap(), 42);
/// pool.shutdown();
/// assert!(pool.is_shutdown());
/// ```
#[derive(Debug)]
pub struct TestPool {
    tx: Mutex<Option<Sender<Job>>>,
    rx: Arc<Mutex<Receiver<Job>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl TestPool {
    /// A pool of `n` threads.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Shutdown;
    /// assert!(!concur_testkit::TestPool::new(1).is_shutdown());
    /// ```
    #[must_use]
    pub fn new(n: usize) -> Self {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..n)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            Ok(job) => job.run(),
                            Err(_) => return,
                        }
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

    /// [`new`](Self::new) in an `Arc`, for tests that hand the pool to
    /// other threads or tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_testkit::TestPool::shared(2);
    /// let other = pool.clone();
    /// std::thread::spawn(move || drop(other)).join().unwrap();
    /// ```
    #[must_use]
    pub fn shared(n: usize) -> Arc<Self> {
        Arc::new(Self::new(n))
    }

    fn join_workers(&self) {
        let me = std::thread::current().id();
        let workers =
            std::mem::take(&mut *self.workers.lock().unwrap_or_else(PoisonError::into_inner));
        for w in workers {
            if w.thread().id() != me {
                w.join().expect("a test pool worker panicked");
            }
        }
    }
}

impl Executor for TestPool {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        match &*self.tx.lock().unwrap_or_else(PoisonError::into_inner) {
            Some(tx) => tx
                .send(job)
                .map_err(|e| SubmitError::new(e.0, Error::shutdown())),
            None => Err(SubmitError::new(job, Error::shutdown())),
        }
    }
}

impl Shutdown for TestPool {
    fn shutdown_with(&self, how: ShutdownOptions) {
        drop(
            self.tx
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        if how.cancels_futures() {
            let rx = self.rx.lock().unwrap_or_else(PoisonError::into_inner);
            while let Ok(job) = rx.try_recv() {
                job.cancel();
            }
        }
        if how.waits() {
            self.join_workers();
        }
    }

    fn is_shutdown(&self) -> bool {
        self.tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}
