//! Loom models of the pool's in-memory bookkeeping: the in-flight counter
//! against shutdown, the spinning/sleeping counters and wake-up tokens,
//! and the queue drained by `cancel_futures`. Workers are loom threads,
//! and the queue is the real one (the lock-free injector, with blocks of 2
//! slots under loom); the injector's own models are in
//! `src/injector/loom_tests.rs`.
//!
//! Run with `cargo xtask loom -p concur-thread`.
#![cfg(concur_loom)]

use concur_core::{ErrorKind, Executor};
use concur_thread::ThreadPool;
use loom::sync::Arc;
use loom::thread;

/// A submission racing `shutdown(wait = true)` is either refused (task
/// given back) or accepted and then finished before `shutdown` returns:
/// never queued behind workers that already exited.
#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        let p = Arc::clone(&pool);
        let submitter = thread::spawn(move || match p.submit(|| 7) {
            Ok(fut) => Some(fut),
            Err(refused) => {
                assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
                assert_eq!((refused.into_task())(), 7);
                None
            }
        });
        pool.shutdown();
        let accepted = submitter.join().unwrap();
        // Both are over: if the submission was accepted, shutdown saw it
        // in flight, so the worker ran it before being joined.
        if let Some(fut) = accepted {
            assert!(fut.done(), "accepted task not run by shutdown(wait)");
            assert_eq!(fut.into_result().unwrap(), 7);
        }
        assert!(pool.submit(|| 0).is_err());
    });
}

/// A worker going idle (spinning → sleeping) races two new submissions:
/// both must be picked up, by the one worker, with no lost wake-up
/// (CPython gh-133485: an idle-count check racing a submit left a task
/// with no worker).
#[test]
fn idle_worker_handoff_races_new_submit() {
    loom::model(|| {
        let pool = Arc::new(ThreadPool::new(1).unwrap());
        assert_eq!(pool.submit(|| 1).unwrap().into_result().unwrap(), 1);
        // The worker is now somewhere between "job done" and "asleep".
        let p = Arc::clone(&pool);
        let other = thread::spawn(move || p.submit(|| 2).unwrap().into_result().unwrap());
        let mine = pool.submit(|| 3).unwrap();
        assert_eq!(mine.into_result().unwrap(), 3);
        assert_eq!(other.join().unwrap(), 2);
        assert_eq!(pool.num_threads(), 1);
    });
}

/// `shutdown(cancel_futures = true)` races the worker taking the queued
/// tasks: each task is either cancelled or runs to completion, exactly
/// once, and every future is done when `shutdown(wait = true)` returns.
#[test]
fn cancel_futures_races_worker_taking_task() {
    loom::model(|| {
        let pool = ThreadPool::new(1).unwrap();
        let runs = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
        let futs: Vec<_> = (0..2)
            .map(|i| {
                let r = Arc::clone(&runs);
                pool.submit(move || {
                    r.fetch_add(1, loom::sync::atomic::Ordering::SeqCst);
                    i
                })
                .unwrap()
            })
            .collect();
        pool.shutdown_with(concur_core::ShutdownOptions::new().cancel_futures(true));
        let mut ran = 0;
        for (i, f) in futs.into_iter().enumerate() {
            assert!(f.done());
            match f.into_result() {
                Ok(v) => {
                    assert_eq!(v, i);
                    ran += 1;
                }
                Err(e) => assert!(e.is_cancelled(), "{e}"),
            }
        }
        assert_eq!(runs.load(loom::sync::atomic::Ordering::SeqCst), ran);
    });
}

/// A failing initializer breaks the pool while a second submission is in
/// flight: that submission is either refused as broken or its future fails
/// as broken; nothing hangs.
#[test]
fn initializer_failure_races_submit() {
    loom::model(|| {
        let pool = Arc::new(
            ThreadPool::builder()
                .max_workers(1)
                .initializer(|| Err::<(), _>("init failed"))
                .build()
                .unwrap(),
        );
        let first = pool.submit(|| 1).unwrap();
        let p = Arc::clone(&pool);
        let second = thread::spawn(move || match p.submit(|| 2) {
            Ok(fut) => fut.into_result().unwrap_err().kind(),
            Err(refused) => refused.error().kind(),
        });
        assert_eq!(first.into_result().unwrap_err().kind(), ErrorKind::Broken);
        assert_eq!(second.join().unwrap(), ErrorKind::Broken);
    });
}

/// Two workers: a job that waits for a later job must not leave that later
/// job queued while the second worker sleeps. The worker that took the
/// first job still looked like a spinner to the second submission, so on
/// leaving the spinning state it wakes a sleeper if work is queued.
#[test]
fn spinner_taking_a_job_wakes_a_sleeper_for_the_next() {
    use concur_sync::sync::{Condvar, Mutex};
    type Gate = Arc<(Mutex<bool>, Condvar)>;
    loom::model(|| {
        let pool = ThreadPool::new(2).unwrap();
        // Start both workers: the first job blocks until the second ran.
        // It blocks on a condition variable, not in a yield loop: with the
        // real queue's atomics on every path, a spinning job takes a path
        // past loom's branch limit.
        let wait_for = |g: Gate| {
            move || {
                let mut open = g.0.lock();
                while !*open {
                    open = g.1.wait(open);
                }
            }
        };
        let set = |g: Gate| {
            move || {
                *g.0.lock() = true;
                g.1.notify_all();
            }
        };
        let gate: Gate = Arc::new((Mutex::new(false), Condvar::new()));
        let a = pool.submit(wait_for(Arc::clone(&gate))).unwrap();
        let b = pool.submit(set(Arc::clone(&gate))).unwrap();
        a.into_result().unwrap();
        b.into_result().unwrap();
        // Both workers are idle (spinning or asleep); same pattern again.
        let gate: Gate = Arc::new((Mutex::new(false), Condvar::new()));
        let c = pool.submit(wait_for(Arc::clone(&gate))).unwrap();
        let d = pool.submit(set(Arc::clone(&gate))).unwrap();
        c.into_result().unwrap();
        d.into_result().unwrap();
    });
}

/// The worker puts its idle token out before its task's future completes,
/// so a submission made as soon as `result()` returns always reuses it:
/// in every interleaving, sequential round trips start one thread.
#[test]
fn sequential_round_trips_reuse_the_idle_worker() {
    loom::model(|| {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.submit(|| 1).unwrap().into_result().unwrap(), 1);
        assert_eq!(pool.submit(|| 2).unwrap().into_result().unwrap(), 2);
        assert_eq!(pool.num_threads(), 1);
    });
}
