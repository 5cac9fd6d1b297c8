//! `ThreadPool::scope`: borrowing submissions, and the guarantee that every
//! scoped job is finished (run or dropped) before `scope` returns.

mod helpers;

use concur_core::ErrorKind;
use concur_testkit::Event;
use concur_thread::ThreadPool;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[test]
fn scoped_tasks_borrow_and_mutate_the_callers_data() {
    let pool = ThreadPool::new(3).unwrap();
    let input: Vec<u64> = (1..=100).collect();
    let mut sums = [0u64; 4];
    pool.scope(|s| {
        for (chunk, out) in input.chunks(25).zip(sums.iter_mut()) {
            s.spawn(move || *out = chunk.iter().sum());
        }
    });
    assert_eq!(sums, [325, 950, 1575, 2200]);
}

#[test]
fn every_scoped_future_is_done_when_scope_returns() {
    let pool = ThreadPool::new(2).unwrap();
    let hits = AtomicUsize::new(0);
    let futs = pool.scope(|s| {
        (0..20)
            .map(|_| {
                s.submit(|| {
                    std::thread::sleep(Duration::from_millis(1));
                    hits.fetch_add(1, Ordering::SeqCst)
                })
            })
            .collect::<Vec<_>>()
    });
    assert_eq!(hits.load(Ordering::SeqCst), 20);
    assert!(futs.iter().all(concur_core::Future::done));
}

#[test]
fn a_panic_in_the_scope_closure_still_waits_for_the_jobs() {
    let pool = ThreadPool::new(1).unwrap();
    let finished = AtomicUsize::new(0);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(30));
                finished.fetch_add(1, Ordering::SeqCst);
            });
            panic!("scope body failed");
        })
    }));
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"scope body failed"));
}

#[test]
fn a_panicking_scoped_task_fails_only_its_future() {
    let pool = ThreadPool::new(2).unwrap();
    let value = 5;
    let (bad, good) = pool.scope(|s| {
        let bad = s.submit(|| -> i32 { panic!("scoped boom") });
        let good = s.submit(|| value * 2);
        (bad, good)
    });
    assert_eq!(
        bad.result().unwrap_err().panic_message(),
        Some("scoped boom")
    );
    assert_eq!(*good.result().unwrap(), 10);
}

#[test]
fn scoped_tasks_may_submit_more_scoped_tasks() {
    let pool = ThreadPool::new(2).unwrap();
    let count = AtomicUsize::new(0);
    pool.scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                count.fetch_add(1, Ordering::SeqCst);
                s.spawn(|| {
                    count.fetch_add(10, Ordering::SeqCst);
                });
            });
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), 44);
}

/// Counts drops of the closure's captures.
struct DropCounter<'a>(&'a AtomicUsize);

impl Drop for DropCounter<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn cancelled_scoped_jobs_are_dropped_before_scope_returns() {
    let pool = ThreadPool::new(1).unwrap();
    let dropped = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let gate = Event::new();
    pool.scope(|s| {
        let g = gate.clone();
        s.spawn(move || g.wait());
        let futs: Vec<_> = (0..5)
            .map(|_| {
                let guard = DropCounter(&dropped);
                s.submit(|| {
                    let _keep = guard;
                    ran.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for f in &futs {
            assert!(f.cancel());
        }
        gate.set();
    });
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(dropped.load(Ordering::SeqCst), 5);
}

#[test]
fn cancel_futures_during_a_scope_drops_the_queued_closures() {
    let pool = ThreadPool::new(1).unwrap();
    let dropped = AtomicUsize::new(0);
    let gate = Event::new();
    pool.scope(|s| {
        let g = gate.clone();
        s.spawn(move || g.wait());
        let futs: Vec<_> = (0..3)
            .map(|_| {
                let guard = DropCounter(&dropped);
                s.submit(move || drop(guard))
            })
            .collect();
        pool.shutdown_with(
            concur_core::ShutdownOptions::new()
                .wait(false)
                .cancel_futures(true),
        );
        assert!(futs.iter().all(concur_core::Future::cancelled));
        gate.set();
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 3);
}

#[test]
fn scoped_submit_on_a_closed_pool_fails_the_future() {
    let pool = ThreadPool::new(1).unwrap();
    pool.shutdown();
    let dropped = AtomicUsize::new(0);
    pool.scope(|s| {
        let guard = DropCounter(&dropped);
        let fut = s.submit(move || drop(guard));
        assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Shutdown);
    });
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_spawned_task_panics_the_scope_after_all_jobs() {
    let pool = ThreadPool::new(2).unwrap();
    let finished = AtomicUsize::new(0);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|| panic!("spawned boom"));
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                finished.fetch_add(1, Ordering::SeqCst);
            });
        })
    }));
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    let payload = outcome.unwrap_err();
    let msg = payload.downcast_ref::<String>().unwrap();
    assert!(msg.contains("spawned boom"), "{msg}");
}
