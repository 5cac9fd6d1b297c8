//! No thread leaks: after a pool is dropped (or shut down), the process has
//! the thread count it had before. One test function, in its own binary,
//! so no other test's threads come and go meanwhile.

mod helpers;

use concur_core::Executor;
use concur_testkit::{Event, procfs};
use concur_thread::ThreadPool;
use helpers::eventually;

/// The thread count is back to `before`. A joined thread can still be
/// listed in /proc/self/task for a moment (the kernel wakes the joiner
/// when it clears the thread id, before it releases the task), so this
/// polls briefly instead of reading once.
fn back_to(before: usize, what: &str) {
    eventually(what, || procfs::thread_count() == before);
}

#[test]
fn pools_leave_no_threads_behind() {
    let before = procfs::thread_count();

    // Saturated pool, then dropped: drop joins every worker.
    {
        let pool = ThreadPool::new(6).unwrap();
        let gate = Event::new();
        for _ in 0..30 {
            let g = gate.clone();
            let _ = pool.submit(move || g.wait()).unwrap();
        }
        assert_eq!(pool.num_threads(), 6);
        assert_eq!(procfs::thread_count(), before + 6);
        gate.set();
    }
    back_to(before, "after drop");

    // shutdown(wait = false): the workers exit on their own.
    let pool = ThreadPool::new(4).unwrap();
    let futs: Vec<_> = (0..100).map(|i| pool.submit(move || i).unwrap()).collect();
    pool.shutdown_with(concur_core::ShutdownOptions::new().wait(false));
    for f in &futs {
        f.wait();
    }
    eventually("workers exit after shutdown(wait = false)", || {
        procfs::thread_count() == before
    });
    drop(pool);
    back_to(before, "after dropping a shut-down pool");

    // Broken pool: the failing worker and the others are gone after drop.
    {
        let pool = ThreadPool::builder()
            .max_workers(3)
            .initializer(|| Err::<(), _>("no"))
            .build()
            .unwrap();
        for _ in 0..10 {
            let _ = pool.submit(|| ());
        }
    }
    back_to(before, "after a broken pool");

    // Many pools created and dropped in a row.
    for _ in 0..50 {
        let pool = ThreadPool::new(2).unwrap();
        pool.submit(|| ()).unwrap().wait();
    }
    back_to(before, "after 50 pools");
}
