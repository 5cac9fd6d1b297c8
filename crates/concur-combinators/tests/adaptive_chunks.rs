//! Adaptive chunk sizing (a `map` without a `chunksize`) on a real thread
//! pool: it converges to large chunks for cheap items, never batches long
//! ones, keeps the results and their order, and `chunksize` still fixes
//! the size. The executor here counts the jobs it is given.

use concur_combinators::{ExecutorExt, TaskExecutorExt};
use concur_core::{Executor, Job, Shutdown, ShutdownOptions, SubmitError};
use concur_testkit::Square;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A thread pool that counts the jobs submitted to it.
struct Counting {
    pool: concur_thread::ThreadPool,
    jobs: AtomicUsize,
}

impl Counting {
    fn new(workers: usize) -> Self {
        Self {
            pool: concur_thread::ThreadPool::new(workers).unwrap(),
            jobs: AtomicUsize::new(0),
        }
    }

    fn take_jobs(&self) -> usize {
        self.jobs.swap(0, Ordering::SeqCst)
    }
}

impl Executor for Counting {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        self.jobs.fetch_add(1, Ordering::SeqCst);
        self.pool.execute(job)
    }
}

impl Shutdown for Counting {
    fn shutdown_with(&self, how: ShutdownOptions) {
        self.pool.shutdown_with(how);
    }
    fn is_shutdown(&self) -> bool {
        self.pool.is_shutdown()
    }
}

#[test]
fn cheap_items_go_in_large_chunks() {
    let pool = Counting::new(2);
    let n = 200_000u64;
    let out: Vec<u64> = pool
        .map(|x: u64| x.wrapping_mul(7), 0..n)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..n).map(|x| x.wrapping_mul(7)).collect::<Vec<_>>());
    let jobs = pool.take_jobs();
    // Chunk size 1 would be 200k jobs; 1 ms chunks of ~ns items are huge.
    assert!(jobs < 400, "{jobs} jobs for {n} items");
    // The same through collect_vec's parallel path, and for a remote fn.
    let v = pool.map(|x: u64| x + 1, 0..n).collect_vec().unwrap();
    assert_eq!(v.len(), n as usize);
    assert!(pool.take_jobs() < 400);
    let v: Vec<i64> = pool
        .map_task(Square, 0..100_000)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(v[99_999], 99_999 * 99_999);
    assert!(pool.take_jobs() < 400);
}

#[test]
fn long_items_are_not_batched() {
    let pool = Counting::new(2);
    let out: Vec<u32> = pool
        .map(
            |x: u32| {
                std::thread::sleep(Duration::from_millis(2));
                x
            },
            0..40,
        )
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, (0..40).collect::<Vec<_>>());
    assert_eq!(pool.take_jobs(), 40);
    let v = pool
        .map(
            |x: u32| {
                std::thread::sleep(Duration::from_millis(2));
                x
            },
            0..40,
        )
        .collect_vec()
        .unwrap();
    assert_eq!(v, (0..40).collect::<Vec<_>>());
    // collect_vec's consumer runs some chunks itself: those are no jobs.
    assert!(pool.take_jobs() <= 40);
}

#[test]
fn it_grows_gradually_from_one() {
    // The first chunk is one item, so a map of a few slow-to-start items
    // still spreads them.
    let pool = Counting::new(2);
    let out: Vec<u32> = pool
        .map(|x: u32| x, 0..3)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, [0, 1, 2]);
    assert!(pool.take_jobs() >= 2);
}

#[test]
fn an_explicit_chunksize_is_kept() {
    let pool = Counting::new(2);
    let n = pool
        .map(|x: u32| x, 0..1000)
        .chunksize(10)
        .run()
        .unwrap()
        .count();
    assert_eq!(n, 1000);
    assert_eq!(pool.take_jobs(), 100);
    let n = pool
        .map(|x: u32| x, 0..1000)
        .chunksize(1)
        .run()
        .unwrap()
        .count();
    assert_eq!(n, 1000);
    assert_eq!(pool.take_jobs(), 1000);
}

#[test]
fn unordered_and_unknown_lengths_adapt_too() {
    let pool = Counting::new(2);
    let mut out: Vec<u64> = pool
        .map_unordered(|x: u64| x * 2, (0..100_000u64).filter(|x| x % 3 == 0))
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    out.sort_unstable();
    assert_eq!(
        out,
        (0..100_000u64)
            .filter(|x| x % 3 == 0)
            .map(|x| x * 2)
            .collect::<Vec<_>>()
    );
    assert!(pool.take_jobs() < 400);
}
