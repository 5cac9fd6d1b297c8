//! `ThreadPool::stats`: the counters after normal work, panicking and
//! failing tasks, cancellations (by the future, by `shutdown`), a broken
//! pool, and while tasks are queued and running.

mod helpers;

use concur_core::{Executor, ShutdownOptions, TaskExecutor};
use concur_testkit::{Event, Halve};
use concur_thread::ThreadPool;
use helpers::eventually;

#[test]
fn counts_completed_work_and_workers() {
    let pool = ThreadPool::new(3).unwrap();
    let start = pool.stats();
    assert_eq!(start.workers_alive, 0);
    assert_eq!(start.workers_started, 0);
    assert_eq!(start.finished(), 0);
    let futs: Vec<_> = (0..200u64)
        .map(|i| pool.submit(move || i).unwrap())
        .collect();
    let sum: u64 = futs.into_iter().map(|f| f.into_result().unwrap()).sum();
    assert_eq!(sum, 199 * 200 / 2);
    // A batch is one task, whatever its length.
    let batch = pool.submit_batch(Halve, vec![2, 4, 6]).unwrap();
    assert!(batch.iter().all(|f| f.result().is_ok()));
    let s = pool.stats();
    assert_eq!(s.completed, 201);
    assert_eq!((s.failed, s.cancelled, s.queued, s.running), (0, 0, 0, 0));
    assert_eq!(s.replaced.total(), 0);
    // A thread is counted once it runs (a slot is taken a moment before).
    eventually("every started thread is counted", || {
        pool.stats().workers_started == pool.num_threads() as u64
    });
    let s = pool.stats();
    assert!((1..=3).contains(&s.workers_alive), "{s:?}");
    assert_eq!(s.workers_started, s.workers_alive as u64);
    pool.shutdown();
    let s = pool.stats();
    assert_eq!(s.workers_alive, 0, "every worker joined: {s:?}");
    assert_eq!(s.completed, 201, "the totals outlive the workers");
}

#[test]
fn panics_and_errors_count_as_failed() {
    let pool = ThreadPool::new(2).unwrap();
    let panics: Vec<_> = (0..5)
        .map(|_| pool.submit(|| -> u8 { panic!("boom") }).unwrap())
        .collect();
    let errors: Vec<_> = (0..3)
        .map(|_| pool.submit_fallible(|| "x".parse::<u8>()).unwrap())
        .collect();
    let ok = pool.submit(|| 1).unwrap();
    // A batch with one failing item (3 is odd) is one failed task.
    let batch = pool.submit_batch(Halve, vec![2, 3]).unwrap();
    for f in panics.iter().chain(&errors) {
        assert!(f.result().is_err());
    }
    assert!(batch[1].result().is_err());
    ok.wait();
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.cancelled), (1, 9, 0), "{s:?}");
    // The workers survived their tasks' panics.
    assert!(s.workers_alive >= 1);
    assert_eq!(s.replaced.total(), 0);
}

#[test]
fn queued_running_and_cancelled_tasks() {
    let pool = ThreadPool::new(1).unwrap();
    let (entered, gate) = (Event::new(), Event::new());
    let blocker = {
        let (entered, gate) = (entered.clone(), gate.clone());
        pool.submit(move || {
            entered.set();
            gate.wait();
        })
        .unwrap()
    };
    entered.wait();
    let queued: Vec<_> = (0..4u32).map(|i| pool.submit(move || i).unwrap()).collect();
    let s = pool.stats();
    assert_eq!((s.running, s.queued), (1, 4), "{s:?}");
    // Two cancelled by their futures: a worker skips them later.
    assert!(queued[0].cancel());
    assert!(queued[1].cancel());
    gate.set();
    blocker.wait();
    for f in &queued[2..] {
        f.wait();
    }
    eventually("every task is counted", || pool.stats().finished() == 5);
    let s = pool.stats();
    assert_eq!((s.completed, s.cancelled, s.failed), (3, 2, 0), "{s:?}");
    assert_eq!((s.running, s.queued), (0, 0));
}

#[test]
fn shutdown_with_cancel_futures_counts_the_queued_tasks_it_cancels() {
    let pool = ThreadPool::new(1).unwrap();
    let (entered, gate) = (Event::new(), Event::new());
    let blocker = {
        let (entered, gate) = (entered.clone(), gate.clone());
        pool.submit(move || {
            entered.set();
            gate.wait();
        })
        .unwrap()
    };
    entered.wait();
    let queued: Vec<_> = (0..3).map(|_| pool.submit(|| ()).unwrap()).collect();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_futures(true));
    assert!(queued.iter().all(concur_core::Future::cancelled));
    gate.set();
    blocker.wait();
    pool.shutdown();
    let s = pool.stats();
    assert_eq!(
        (s.completed, s.cancelled, s.queued, s.running),
        (1, 3, 0, 0),
        "{s:?}"
    );
    assert_eq!(s.workers_alive, 0);
}

#[test]
fn a_broken_pool_counts_its_failed_tasks_and_has_no_live_worker() {
    // The initializer fails only once the three tasks are queued.
    let queued = Event::new();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .initializer({
            let queued = queued.clone();
            move || {
                queued.wait();
                Err::<(), _>("no database")
            }
        })
        .build()
        .unwrap();
    let futs: Vec<_> = (0..3).map(|_| pool.submit(|| ()).unwrap()).collect();
    queued.set();
    for f in &futs {
        assert!(f.result().is_err());
    }
    assert!(pool.is_broken());
    eventually("the worker is gone", || pool.stats().workers_alive == 0);
    let s = pool.stats();
    assert_eq!((s.completed, s.failed, s.queued), (0, 3, 0), "{s:?}");
    assert_eq!(s.workers_started, 1);
}
