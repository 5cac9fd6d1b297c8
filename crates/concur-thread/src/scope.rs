//! [`Scope`]: submissions that borrow from the caller's stack.

use crate::pool::ThreadPool;
use concur_core::{AnyFuture, ErrorKind, Executor, Future, Job};
use concur_sync::sync::{Arc, Condvar, Mutex};
use std::fmt;
use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

/// Counts the scoped closures not yet consumed (run or dropped).
struct Pending {
    count: Mutex<usize>,
    zero: Condvar,
}

impl Pending {
    fn add(&self) {
        *self.count.lock() += 1;
    }

    fn done(&self) {
        let mut n = self.count.lock();
        *n -= 1;
        if *n == 0 {
            self.zero.notify_all();
        }
    }

    fn wait_zero(&self) {
        let mut n = self.count.lock();
        while *n > 0 {
            n = self.zero.wait(n);
        }
    }
}

/// A scoped closure that signals `pending` only after the closure (and
/// everything it captured) is gone, whether it ran, panicked or was dropped.
struct Guarded<F> {
    f: Option<F>,
    pending: Arc<Pending>,
}

impl<F: FnOnce() -> R, R> Guarded<F> {
    fn call(mut self) -> R {
        let f = self.f.take().expect("a guarded closure is called once");
        f()
        // `self` drops here (also when `f` panics), after `f`'s captures.
    }
}

impl<F> Drop for Guarded<F> {
    fn drop(&mut self) {
        drop(self.f.take());
        self.pending.done();
    }
}

/// Submits closures that may borrow anything outliving the
/// [`ThreadPool::scope`] call; given to the closure passed to it.
///
/// # Examples
///
/// ```
/// let pool = concur_thread::ThreadPool::new(2).unwrap();
/// let mut counts = [0usize; 3];
/// pool.scope(|s| {
///     for (i, slot) in counts.iter_mut().enumerate() {
///         s.spawn(move || *slot = i * 10);
///     }
/// });
/// assert_eq!(counts, [0, 10, 20]);
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'scope ThreadPool,
    pending: Arc<Pending>,
    futures: Mutex<Vec<AnyFuture>>,
    spawned: Mutex<Vec<Future<()>>>,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("pool", &self.pool)
            .field("submitted", &self.futures.lock().len())
            .finish()
    }
}

impl<'scope> Scope<'scope, '_> {
    /// Schedules `f`, which may borrow from the enclosing stack, on the pool
    /// and returns its future. The scope does not return before `f` has run
    /// (or was cancelled) and the future is done.
    ///
    /// If the pool is shut down or broken, `f` is dropped and the future
    /// fails at once with [`ErrorKind::Shutdown`](concur_core::ErrorKind) or
    /// [`ErrorKind::Broken`](concur_core::ErrorKind).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Executor, ErrorKind};
    /// let pool = concur_thread::ThreadPool::new(1).unwrap();
    /// let data = [1, 2, 3];
    /// let sum = pool.scope(|s| s.submit(|| data.iter().sum::<i32>()).into_result().unwrap());
    /// assert_eq!(sum, 6);
    ///
    /// pool.shutdown();
    /// pool.scope(|s| {
    ///     let fut = s.submit(|| data.len());
    ///     assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Shutdown);
    /// });
    /// ```
    pub fn submit<F, R>(&'scope self, f: F) -> Future<R>
    where
        F: FnOnce() -> R + Send + 'scope,
        R: Send + 'static,
    {
        self.pending.add();
        let guarded = Guarded {
            f: Some(f),
            pending: Arc::clone(&self.pending),
        };
        // SAFETY: the closure (and with it everything borrowed for 'scope)
        // is consumed before `pending` is decremented (`Guarded`), and
        // `run` does not return — not even by unwinding — before `pending`
        // is back to zero; so the job is run or dropped within 'scope.
        let (job, fut) = unsafe { Job::new_scoped(move || guarded.call()) };
        self.futures.lock().push(fut.erase());
        if let Err(refused) = self.pool.execute(job) {
            let (job, error) = refused.into_parts();
            job.fail(error);
        }
        fut
    }

    /// Like [`submit`](Self::submit), for a task whose future nobody
    /// needs (like [`std::thread::Scope::spawn`]): if it panics, the panic
    /// is raised again by [`ThreadPool::scope`] once every task is done.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let hits = AtomicUsize::new(0);
    /// pool.scope(|s| {
    ///     for _ in 0..8 {
    ///         s.spawn(|| { hits.fetch_add(1, Ordering::Relaxed); });
    ///     }
    /// });
    /// assert_eq!(hits.into_inner(), 8);
    ///
    /// let caught = std::panic::catch_unwind(|| pool.scope(|s| s.spawn(|| panic!("lost?"))));
    /// assert!(caught.is_err());
    /// ```
    pub fn spawn<F>(&'scope self, f: F)
    where
        F: FnOnce() + Send + 'scope,
    {
        let fut = self.submit(f);
        self.spawned.lock().push(fut);
    }

    /// Waits for every job; returns the first panic of a spawned task.
    fn wait_all(&self) -> Option<String> {
        self.pending.wait_zero();
        let futures = std::mem::take(&mut *self.futures.lock());
        for f in futures {
            f.wait();
        }
        let spawned = std::mem::take(&mut *self.spawned.lock());
        spawned.iter().find_map(|f| match f.result() {
            Err(e) if e.kind() == ErrorKind::Panicked => Some(e.to_string()),
            _ => None,
        })
    }
}

impl ThreadPool {
    /// Runs `f` with a [`Scope`](crate::Scope) whose submissions may borrow
    /// from the caller's stack; returns once every job submitted through the
    /// scope has run (or was cancelled) and its future is done — also when
    /// `f` panics, in which case the panic is then resumed.
    ///
    /// Calling it from a worker of the same pool can deadlock if every other
    /// worker is busy, as waiting on any future from inside the pool can.
    ///
    /// # Panics
    ///
    /// Resumes a panic of `f`; panics if a task started with
    /// [`Scope::spawn`](crate::Scope::spawn) panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = concur_thread::ThreadPool::new(2).unwrap();
    /// let words = vec!["a".to_string(), "bb".to_string(), "ccc".to_string()];
    /// let total = pool.scope(|s| {
    ///     let futs: Vec<_> = words.iter().map(|w| s.submit(|| w.len())).collect();
    ///     futs.iter().map(|f| *f.result().unwrap()).sum::<usize>()
    /// });
    /// assert_eq!(total, 6);
    /// ```
    pub fn scope<'env, F, T>(&self, f: F) -> T
    where
        F: for<'scope> FnOnce(&'scope crate::Scope<'scope, 'env>) -> T,
    {
        run(self, f)
    }
}

fn run<'env, F, T>(pool: &ThreadPool, f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        pool,
        pending: Arc::new(Pending {
            count: Mutex::new(0),
            zero: Condvar::new(),
        }),
        futures: Mutex::new(Vec::new()),
        spawned: Mutex::new(Vec::new()),
        _scope: PhantomData,
        _env: PhantomData,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    let spawned_panic = scope.wait_all();
    match outcome {
        Err(panic) => resume_unwind(panic),
        Ok(_) if spawned_panic.is_some() => {
            panic!(
                "a task spawned in a scope panicked: {}",
                spawned_panic.unwrap_or_default()
            )
        }
        Ok(value) => value,
    }
}
