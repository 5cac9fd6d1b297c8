//! Ports of CPython's thread-pool tests (`test_thread_pool.py`,
//! `executor.py`, `test_shutdown.py`, `test_init.py`) plus the checks of
//! issue 3. Timing only ever bounds a wait (generously), never a result.

mod helpers;

use concur_core::{ErrorKind, Executor, State, TaskExecutor};
use concur_testkit::{Event, Square};
use concur_thread::{ThreadPool, default_max_workers};
use helpers::{Counter, PATIENCE};
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn mul(x: i64, y: i64) -> i64 {
    x * y
}

// executor.py: test_submit
#[test]
fn submit_returns_value() {
    let pool = ThreadPool::new(5).unwrap();
    let fut = pool.submit(|| pow_int(2, 8)).unwrap();
    assert_eq!(*fut.result_timeout(PATIENCE).unwrap(), 256);
    let fut = pool.submit(|| mul(2, 8)).unwrap();
    assert_eq!(fut.into_result().unwrap(), 16);
}

fn pow_int(b: u32, e: u32) -> u32 {
    b.pow(e)
}

// test_thread_pool.py: test_default_workers
#[test]
fn default_max_workers_is_cpython_formula() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    assert_eq!(default_max_workers(), 32.min(cpus + 4));
    let pool = ThreadPool::builder().build().unwrap();
    assert_eq!(pool.max_workers(), 32.min(cpus + 4));
}

// executor.py: test_max_workers_negative (0 is the only invalid usize)
#[test]
fn bad_configuration_is_a_typed_build_error() {
    let e = ThreadPool::builder().max_workers(0).build().unwrap_err();
    assert_eq!(e.to_string(), "max_workers must be at least 1");
    assert!(ThreadPool::new(0).is_err());
    assert!(ThreadPool::builder().stack_size(0).build().is_err());
    assert!(
        ThreadPool::builder()
            .thread_name_prefix("")
            .build()
            .is_err()
    );
    assert!(
        ThreadPool::builder()
            .thread_name_prefix("a\0b")
            .build()
            .is_err()
    );
    let _: &dyn std::error::Error = &e;
}

// test_thread_pool.py: test_saturation
#[test]
fn saturation_starts_exactly_max_workers_threads() {
    let pool = ThreadPool::new(4).unwrap();
    let gate = Event::new();
    let futs: Vec<_> = (0..15 * pool.max_workers())
        .map(|_| {
            let g = gate.clone();
            pool.submit(move || g.wait()).unwrap()
        })
        .collect();
    assert_eq!(pool.num_threads(), pool.max_workers());
    gate.set();
    pool.shutdown();
    assert!(futs.iter().all(|f| f.state() == State::Finished));
    assert_eq!(pool.num_threads(), 4);
}

// test_thread_pool.py: test_idle_thread_reuse (repeated to make a race show)
#[test]
fn sequential_submit_then_result_reuses_one_thread() {
    let pool = ThreadPool::builder().build().unwrap();
    assert_eq!(*pool.submit(|| mul(21, 2)).unwrap().result().unwrap(), 42);
    assert_eq!(*pool.submit(|| mul(6, 7)).unwrap().result().unwrap(), 42);
    assert_eq!(*pool.submit(|| mul(3, 14)).unwrap().result().unwrap(), 42);
    for i in 0..500 {
        assert_eq!(pool.submit(move || i).unwrap().into_result().unwrap(), i);
    }
    assert_eq!(pool.num_threads(), 1);
}

// Idle tokens stay exact around a busy worker: one worker blocked, then
// sequential round trips all reuse one more worker.
#[test]
fn a_blocked_worker_and_sequential_work_use_two_threads() {
    let pool = ThreadPool::new(4).unwrap();
    let gate = Event::new();
    let started = Counter::new();
    let (g, st) = (gate.clone(), started.clone());
    let blocked = pool
        .submit(move || {
            st.hit();
            g.wait();
        })
        .unwrap();
    started.wait_for(1);
    for i in 0..200 {
        assert_eq!(pool.submit(move || i).unwrap().into_result().unwrap(), i);
    }
    assert_eq!(pool.num_threads(), 2);
    gate.set();
    blocked.result_timeout(PATIENCE).unwrap();
    for i in 0..100 {
        assert_eq!(pool.submit(move || i).unwrap().into_result().unwrap(), i);
    }
    assert_eq!(pool.num_threads(), 2);
}

// After a saturating burst, the idle workers serve the next burst.
#[test]
fn idle_workers_are_reused_by_a_second_burst() {
    let pool = ThreadPool::new(3).unwrap();
    for _ in 0..3 {
        let gate = Event::new();
        let futs: Vec<_> = (0..9)
            .map(|_| {
                let g = gate.clone();
                pool.submit(move || g.wait()).unwrap()
            })
            .collect();
        gate.set();
        for f in futs {
            f.result_timeout(PATIENCE).unwrap();
        }
        assert_eq!(pool.num_threads(), 3);
    }
}

// test_shutdown.py: test_threads_terminate
#[test]
fn three_blocked_tasks_start_three_threads() {
    let pool = ThreadPool::new(5).unwrap();
    let gate = Event::new();
    for _ in 0..3 {
        let g = gate.clone();
        let _ = pool.submit(move || g.wait()).unwrap();
    }
    assert_eq!(pool.num_threads(), 3);
    gate.set();
    pool.shutdown();
}

fn names_of(pool: &ThreadPool) -> HashSet<String> {
    // Block `max_workers` tasks so every worker starts, then read names.
    let gate = Event::new();
    let started = Counter::new();
    let futs: Vec<_> = (0..pool.max_workers())
        .map(|_| {
            let (g, s) = (gate.clone(), started.clone());
            pool.submit(move || {
                s.hit();
                g.wait();
                std::thread::current().name().unwrap().to_owned()
            })
            .unwrap()
        })
        .collect();
    started.wait_for(pool.max_workers());
    gate.set();
    futs.into_iter().map(|f| f.into_result().unwrap()).collect()
}

// test_shutdown.py: test_thread_names_assigned
#[test]
fn thread_names_use_the_prefix() {
    let pool = ThreadPool::builder()
        .max_workers(5)
        .thread_name_prefix("SpecialPool")
        .build()
        .unwrap();
    let names = names_of(&pool);
    let expected: HashSet<String> = (0..5).map(|i| format!("SpecialPool_{i}")).collect();
    assert_eq!(names, expected);
}

// test_shutdown.py: test_thread_names_default
#[test]
fn default_thread_names_are_unique_per_pool() {
    let a = ThreadPool::new(2).unwrap();
    let b = ThreadPool::new(2).unwrap();
    assert_ne!(a.thread_name_prefix(), b.thread_name_prefix());
    for pool in [&a, &b] {
        let prefix = pool.thread_name_prefix().to_owned();
        let number = prefix.strip_prefix("concur-pool-").expect("default prefix");
        assert!(number.parse::<usize>().is_ok(), "{prefix}");
        let expected: HashSet<String> = (0..2).map(|i| format!("{prefix}_{i}")).collect();
        assert_eq!(names_of(pool), expected);
    }
}

thread_local!(static INIT_STATUS: Cell<&'static str> = const { Cell::new("uninitialized") });

// test_init.py: InitializerMixin.test_initializer
#[test]
fn initializer_runs_once_per_worker_before_tasks() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&calls);
    let pool = ThreadPool::builder()
        .max_workers(5)
        .initializer(move || -> Result<(), std::io::Error> {
            c.fetch_add(1, Ordering::SeqCst);
            INIT_STATUS.with(|s| s.set("initialized"));
            Ok(())
        })
        .build()
        .unwrap();
    let futs: Vec<_> = (0..20)
        .map(|_| pool.submit(|| INIT_STATUS.with(Cell::get)).unwrap())
        .collect();
    for f in futs {
        assert_eq!(f.into_result().unwrap(), "initialized");
    }
    let threads = pool.num_threads();
    pool.shutdown();
    assert_eq!(calls.load(Ordering::SeqCst), threads);
}

#[derive(Debug)]
struct InitFailed(u32);

impl std::fmt::Display for InitFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "init failed {}", self.0)
    }
}

impl std::error::Error for InitFailed {}

// test_init.py: FailingInitializerMixin.test_initializer
#[test]
fn failing_initializer_breaks_the_pool() {
    let pool = ThreadPool::builder()
        .max_workers(5)
        .initializer(|| Err(InitFailed(7)))
        .build()
        .unwrap();
    // Each submission is either refused (the pool already broke) or its
    // future fails; either way with the initializer's error as the cause.
    for _ in 0..5 {
        let err = match pool.submit(|| INIT_STATUS.with(Cell::get)) {
            Ok(f) => f.result_timeout(PATIENCE).unwrap_err(),
            Err(refused) => refused.error().clone(),
        };
        assert_eq!(err.kind(), ErrorKind::Broken, "{err}");
        assert_eq!(err.downcast_ref::<InitFailed>().unwrap().0, 7);
        assert_eq!(
            err.to_string(),
            "executor is broken: a thread initializer failed, the thread pool is not usable anymore: init failed 7"
        );
    }
    assert!(pool.is_broken());
    // From now on submissions are refused, with the task given back.
    let refused = pool.submit(|| 99).unwrap_err();
    assert_eq!(refused.error().kind(), ErrorKind::Broken);
    assert!(refused.error().downcast_ref::<InitFailed>().is_some());
    assert_eq!((refused.into_task())(), 99);
    pool.shutdown();
}

#[test]
fn panicking_initializer_breaks_the_pool() {
    let pool = ThreadPool::builder()
        .max_workers(2)
        .initializer(|| -> Result<(), InitFailed> { panic!("no config") })
        .build()
        .unwrap();
    let err = pool.submit(|| 1).unwrap().into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Broken);
    let source = std::error::Error::source(&err).unwrap();
    let cause = source.downcast_ref::<concur_core::Error>().unwrap();
    assert_eq!(cause.panic_message(), Some("no config"));
}

// test_shutdown.py: test_hang_issue12364 / issue: "50 queued then shutdown: all 50 results"
#[test]
fn fifty_queued_then_shutdown_gives_all_fifty_results() {
    let pool = ThreadPool::new(2).unwrap();
    let futs: Vec<_> = (0..50u64)
        .map(|i| {
            pool.submit(move || {
                std::thread::sleep(Duration::from_millis(1));
                i * 2
            })
            .unwrap()
        })
        .collect();
    pool.shutdown();
    for (i, f) in futs.iter().enumerate() {
        assert_eq!(
            f.state(),
            State::Finished,
            "future {i} after shutdown(wait)"
        );
        assert_eq!(*f.result().unwrap(), i as u64 * 2);
    }
}

// test_shutdown.py: test_shutdown_no_wait
#[test]
fn shutdown_without_wait_still_runs_queued_work() {
    let pool = ThreadPool::new(5).unwrap();
    let futs: Vec<_> = (-5i64..5)
        .map(|v| pool.submit(move || v.abs()).unwrap())
        .collect();
    pool.shutdown_with(concur_core::ShutdownOptions::new().wait(false));
    let out: Vec<i64> = futs
        .iter()
        .map(|f| *f.result_timeout(PATIENCE).unwrap())
        .collect();
    assert_eq!(out, [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]);
}

// test_shutdown.py: test_cancel_futures (made deterministic with a gate)
#[test]
fn cancel_futures_cancels_exactly_what_had_not_started() {
    let pool = ThreadPool::new(2).unwrap();
    let gate = Event::new();
    let started = Counter::new();
    let futs: Vec<_> = (0..50)
        .map(|_| {
            let (g, s) = (gate.clone(), started.clone());
            pool.submit(move || {
                s.hit();
                g.wait();
            })
            .unwrap()
        })
        .collect();
    started.wait_for(2);
    pool.shutdown_with(
        concur_core::ShutdownOptions::new()
            .wait(false)
            .cancel_futures(true),
    );
    let cancelled = futs.iter().filter(|f| f.cancelled()).count();
    assert_eq!(cancelled, 48);
    gate.set();
    pool.shutdown();
    for f in futs.iter().filter(|f| !f.cancelled()) {
        assert_eq!(f.state(), State::Finished);
        assert!(f.exception().is_none());
    }
    assert_eq!(started.get(), 2);
}

// test_shutdown.py: test_run_after_shutdown (+ every submission form gives its task back)
#[test]
fn submit_after_shutdown_is_refused_with_the_task_back() {
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    pool.shutdown(); // idempotent
    assert!(pool.is_shutdown());
    let err = pool.submit(|| pow_int(2, 5)).unwrap_err();
    assert_eq!(err.error().kind(), ErrorKind::Shutdown);
    assert_eq!((err.into_task())(), 32);
    let err = pool.submit_fallible(|| "7".parse::<u8>()).unwrap_err();
    assert_eq!((err.into_task())().unwrap(), 7);
    assert_eq!(pool.submit_task(Square, 9).unwrap_err().into_task(), 9);
    assert_eq!(
        pool.submit_batch(Square, vec![1, 2])
            .unwrap_err()
            .into_task(),
        [1, 2]
    );
    assert_eq!(pool.num_threads(), 0);
}

#[test]
fn remote_tasks_and_batches_run_in_process() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(
        pool.submit_task(Square, 12).unwrap().into_result().unwrap(),
        144
    );
    let err = pool
        .submit_task(Square, i64::MAX)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    let futs = pool.submit_batch(Square, (1..=4).collect()).unwrap();
    let out: Vec<i64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(out, [1, 4, 9, 16]);
}

// test_shutdown.py: test_hang_gh94440
#[test]
fn shutdown_after_cancelling_a_queued_future_does_not_hang() {
    let pool = ThreadPool::new(1).unwrap();
    pool.submit(|| 0).unwrap().result().unwrap();
    let _ = pool.submit(|| 0).unwrap().cancel();
    pool.shutdown();
}

// test_future.py / test_wait.py: many threads waiting on one future
#[test]
fn many_waiters_all_see_the_result() {
    let pool = ThreadPool::new(2).unwrap();
    let gate = Event::new();
    let g = gate.clone();
    let fut = pool
        .submit(move || {
            g.wait();
            String::from("done")
        })
        .unwrap();
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let f = fut.clone();
            std::thread::spawn(move || f.result_timeout(PATIENCE).unwrap().clone())
        })
        .collect();
    gate.set();
    for w in waiters {
        assert_eq!(w.join().unwrap(), "done");
    }
}

// executor.py: exceptions land in the future; the worker survives
#[test]
fn panics_and_errors_land_in_the_future_and_the_worker_survives() {
    let pool = ThreadPool::new(1).unwrap();
    let p = pool.submit(|| -> u8 { panic!("task exploded") }).unwrap();
    let err = p.result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked);
    assert_eq!(err.panic_message(), Some("task exploded"));
    let e = pool.submit_fallible(|| "x".parse::<u8>()).unwrap();
    let err = e.result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
    for i in 0..10 {
        assert_eq!(
            pool.submit(move || i + 1).unwrap().into_result().unwrap(),
            i + 1
        );
    }
    assert_eq!(pool.num_threads(), 1);
}

// executor.py: test_no_stale_references
#[test]
fn no_stale_references_after_completion() {
    let pool = ThreadPool::new(1).unwrap();
    let obj = Arc::new(());
    let held = Arc::clone(&obj);
    let fut = pool.submit(move || drop(held)).unwrap();
    fut.result().unwrap();
    assert_eq!(Arc::strong_count(&obj), 1);
}

// test_shutdown.py: test_del_shutdown / test_context_manager_shutdown
#[test]
fn drop_waits_for_queued_work() {
    let done = Arc::new(AtomicUsize::new(0));
    let futs;
    {
        let pool = ThreadPool::new(3).unwrap();
        futs = (0..10)
            .map(|_| {
                let d = Arc::clone(&done);
                pool.submit(move || {
                    std::thread::sleep(Duration::from_millis(2));
                    d.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect::<Vec<_>>();
    }
    assert_eq!(done.load(Ordering::SeqCst), 10);
    assert!(futs.iter().all(|f| f.state() == State::Finished));
}

#[test]
fn shutdown_from_inside_a_worker_does_not_deadlock() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let p = Arc::clone(&pool);
    let fut = pool.submit(move || p.shutdown()).unwrap();
    fut.result_timeout(PATIENCE).unwrap();
    assert!(pool.submit(|| ()).is_err());
    pool.shutdown();
}

#[test]
fn concurrent_shutdowns_all_wait() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..6 {
        let d = Arc::clone(&done);
        let _ = pool
            .submit(move || {
                std::thread::sleep(Duration::from_millis(5));
                d.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
    }
    let closers: Vec<_> = (0..3)
        .map(|_| {
            let (p, d) = (Arc::clone(&pool), Arc::clone(&done));
            std::thread::spawn(move || {
                p.shutdown();
                d.load(Ordering::SeqCst)
            })
        })
        .collect();
    for c in closers {
        assert_eq!(c.join().unwrap(), 6);
    }
}

// No task is ever lost when many threads submit at once (and workers
// sleep and wake between bursts).
#[test]
fn concurrent_submitters_lose_nothing() {
    let pool = Arc::new(ThreadPool::new(3).unwrap());
    let submitters: Vec<_> = (0..4)
        .map(|t| {
            let p = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut sum = 0u64;
                for burst in 0..20u64 {
                    let futs: Vec<_> = (0..50u64)
                        .map(|i| p.submit(move || t * 100_000 + burst * 100 + i).unwrap())
                        .collect();
                    for f in futs {
                        sum += *f.result_timeout(PATIENCE).unwrap();
                    }
                    if burst % 5 == 0 {
                        std::thread::sleep(Duration::from_millis(3));
                    }
                }
                sum
            })
        })
        .collect();
    let total: u64 = submitters.into_iter().map(|s| s.join().unwrap()).sum();
    let expected: u64 = (0..4u64)
        .flat_map(|t| {
            (0..20u64).flat_map(move |b| (0..50u64).map(move |i| t * 100_000 + b * 100 + i))
        })
        .sum();
    assert_eq!(total, expected);
    assert!(pool.num_threads() <= 3);
}

// Tasks submitting tasks to the same pool (a blocked first task must not
// stop the second from starting on another worker).
#[test]
fn a_task_may_wait_for_another_task_of_the_same_pool() {
    let pool = Arc::new(ThreadPool::new(2).unwrap());
    for _ in 0..200 {
        let p = Arc::clone(&pool);
        let outer = pool
            .submit(move || *p.submit(|| 5).unwrap().result_timeout(PATIENCE).unwrap() + 1)
            .unwrap();
        assert_eq!(outer.into_result().unwrap(), 6);
    }
}

// Real-thread counterpart of the loom model `submit_races_shutdown`: every
// submission racing `shutdown(wait = true)` is refused with its task back,
// or accepted and finished by the time `shutdown` returns.
#[test]
fn submissions_racing_shutdown_are_refused_or_finished() {
    for round in 0..20 {
        let pool = Arc::new(ThreadPool::new(2).unwrap());
        let submitters: Vec<_> = (0..3)
            .map(|t| {
                let p = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let mut accepted = Vec::new();
                    let mut refused = 0;
                    for i in 0..200u64 {
                        match p.submit(move || t * 1000 + i) {
                            Ok(f) => accepted.push((i, f)),
                            Err(e) => {
                                assert_eq!(e.error().kind(), ErrorKind::Shutdown);
                                assert_eq!((e.into_task())(), t * 1000 + i);
                                refused += 1;
                            }
                        }
                    }
                    (accepted, refused)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_micros(50 * round));
        pool.shutdown();
        // Every accepted submission got in before the shutdown flag (or
        // was in flight, which shutdown waits for), so it ran before the
        // workers were joined.
        for (t, s) in submitters.into_iter().enumerate() {
            let (accepted, refused) = s.join().unwrap();
            assert_eq!(accepted.len() + refused, 200);
            for (i, f) in accepted {
                assert_eq!(f.state(), State::Finished);
                assert_eq!(*f.result().unwrap(), t as u64 * 1000 + i);
            }
        }
    }
}
