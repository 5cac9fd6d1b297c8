//! Ports of CPython's `test_wait.py`.

mod helpers;

use concur_combinators::{ReturnWhen, wait};
use concur_core::{AnyFuture, Executor, Future};
use concur_testkit::{Event, TestPool};
use helpers::*;
use std::collections::HashSet;
use std::time::Duration;

fn ids<H: concur_combinators::FutureHandle>(fs: &[H]) -> HashSet<usize> {
    fs.iter().map(|f| f.handle_id()).collect()
}

fn set(fs: &[&AnyFuture]) -> HashSet<usize> {
    fs.iter().map(|f| f.id()).collect()
}

#[test]
fn issue_20369_duplicates() {
    let pool = TestPool::new(1);
    let f = pool.submit(|| 2).unwrap();
    let (done, not_done) = wait([&f, &f], None, ReturnWhen::AllCompleted);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].id(), f.id());
    assert!(not_done.is_empty());
}

#[test]
fn first_completed() {
    let pool = TestPool::new(2);
    let ev = Event::new();
    let (_p, not_started) = pending::<()>(); // stands in for CANCELLED_FUTURE (not notified)
    let f1 = pool.submit(|| ()).unwrap();
    let e2 = ev.clone();
    let f2 = pool.submit(move || e2.wait()).unwrap();
    let all = [not_started.erase(), f1.erase(), f2.erase()];
    let (done, not_done) = wait(&all, Some(LONG), ReturnWhen::FirstCompleted);
    assert_eq!(ids(&done), set(&[&all[1]]));
    assert_eq!(ids(&not_done), set(&[&all[0], &all[2]]));
    ev.set();
    f2.result().unwrap();
}

#[test]
fn first_completed_some_already_completed() {
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let f1 = pool.submit(move || e.wait()).unwrap();
    let all = [cancelled::<()>().erase(), successful().erase(), f1.erase()];
    let (finished, pending) = wait(&all, Some(LONG), ReturnWhen::FirstCompleted);
    assert_eq!(ids(&finished), set(&[&all[0], &all[1]]));
    assert_eq!(ids(&pending), set(&[&all[2]]));
    ev.set();
    f1.result().unwrap();
}

#[test]
fn first_exception() {
    let pool = TestPool::new(3);
    let ev1 = Event::new();
    let ev2 = Event::new();
    let f1 = pool.submit(|| 2 * 21).unwrap();
    let e1 = ev1.clone();
    let f2 = pool
        .submit_fallible(move || -> Result<(), std::io::Error> {
            e1.wait();
            Err(std::io::Error::other("this is an exception"))
        })
        .unwrap();
    let e2 = ev2.clone();
    let f3 = pool.submit(move || e2.wait()).unwrap();
    // Make sure f1 completes before f2 fails.
    let g1 = f1.clone();
    let t = std::thread::spawn(move || {
        g1.result().unwrap();
        ev1.set();
    });
    let all = [f1.erase(), f2.erase(), f3.erase()];
    let (finished, pending) = wait(&all, Some(LONG), ReturnWhen::FirstException);
    assert_eq!(ids(&finished), set(&[&all[0], &all[1]]));
    assert_eq!(ids(&pending), set(&[&all[2]]));
    t.join().unwrap();
    ev2.set();
    f3.result().unwrap();
}

#[test]
fn first_exception_some_already_complete() {
    let pool = TestPool::new(2);
    let ev = Event::new();
    let f1 = pool.submit_fallible(|| "21/0".parse::<u8>()).unwrap();
    let e = ev.clone();
    let f2 = pool.submit(move || e.wait()).unwrap();
    let (_p, not_started) = pending::<()>();
    let all = [
        successful().erase(),
        not_started.erase(),
        cancelled::<()>().erase(),
        f1.erase(),
        f2.erase(),
    ];
    let (finished, pending) = wait(&all, Some(LONG), ReturnWhen::FirstException);
    assert_eq!(ids(&finished), set(&[&all[0], &all[2], &all[3]]));
    assert_eq!(ids(&pending), set(&[&all[1], &all[4]]));
    ev.set();
    f2.result().unwrap();
}

#[test]
fn first_exception_one_already_failed() {
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let f1 = pool.submit(move || e.wait()).unwrap();
    let all = [exception::<()>().erase(), f1.erase()];
    // No timeout: it must return at once since the condition already holds.
    let (finished, pending) = wait(&all, None, ReturnWhen::FirstException);
    assert_eq!(ids(&finished), set(&[&all[0]]));
    assert_eq!(ids(&pending), set(&[&all[1]]));
    ev.set();
    f1.result().unwrap();
}

#[test]
fn first_exception_ignores_cancellation_and_waits_for_all() {
    let pool = TestPool::new(1);
    let f = pool
        .submit(|| std::thread::sleep(Duration::from_millis(10)))
        .unwrap();
    let all = [cancelled::<()>().erase(), f.erase()];
    let (finished, pending) = wait(&all, Some(LONG), ReturnWhen::FirstException);
    assert_eq!(finished.len(), 2);
    assert!(pending.is_empty());
}

#[test]
fn all_completed() {
    let pool = TestPool::new(2);
    let f1 = pool.submit_fallible(|| "x".parse::<i32>()).unwrap();
    let f2 = pool.submit(|| 2 * 21).unwrap();
    let all = [
        successful().erase(),
        cancelled::<()>().erase(),
        exception::<()>().erase(),
        f1.erase(),
        f2.erase(),
    ];
    let (finished, pending) = wait(&all, Some(LONG), ReturnWhen::AllCompleted);
    assert_eq!(ids(&finished), ids(&all));
    assert!(pending.is_empty());
    // Input order is kept.
    let order: Vec<usize> = finished.iter().map(AnyFuture::id).collect();
    assert_eq!(order, all.iter().map(AnyFuture::id).collect::<Vec<_>>());
}

#[test]
fn timeout_returns_what_is_done() {
    let pool = TestPool::new(1);
    let ev = Event::new();
    let e = ev.clone();
    let f = pool.submit(move || e.wait()).unwrap();
    let all = [
        cancelled::<()>().erase(),
        exception::<()>().erase(),
        successful().erase(),
        f.erase(),
    ];
    let (finished, pending) = wait(
        &all,
        Some(Duration::from_millis(50)),
        ReturnWhen::AllCompleted,
    );
    assert_eq!(ids(&finished), set(&[&all[0], &all[1], &all[2]]));
    assert_eq!(ids(&pending), set(&[&all[3]]));
    ev.set();
    f.result().unwrap();
}

#[test]
fn a_zero_timeout_is_a_snapshot_and_max_is_no_limit() {
    let (p, f) = pending::<u8>();
    let done = Future::ready(1);
    for rw in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (d, n) = wait([&done, &f], Some(Duration::ZERO), rw);
        assert_eq!((d.len(), n.len()), (1, 1), "{rw:?}");
        let (d, n) = wait([&f], Some(Duration::ZERO), rw);
        assert_eq!((d.len(), n.len()), (0, 1), "{rw:?}");
    }
    // `Instant::now() + Duration::MAX` overflows: it waits like `None`.
    let setter = set_later(p, 2);
    let (d, n) = wait([&done, &f], Some(Duration::MAX), ReturnWhen::AllCompleted);
    assert_eq!((d.len(), n.len()), (2, 0));
    setter.join().unwrap();
}

#[test]
fn typed_futures_come_back_typed() {
    let fs = [Future::ready(1), Future::ready(2)];
    let (done, not_done) = wait(fs, None, ReturnWhen::AllCompleted);
    let values: Vec<i32> = done.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(values, [1, 2]);
    assert!(not_done.is_empty());
}

#[test]
fn empty_input_returns_at_once() {
    for rw in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let (d, n) = wait(Vec::<Future<u8>>::new(), None, rw);
        assert!(d.is_empty() && n.is_empty());
    }
}

#[test]
fn pending_calls_race() {
    // 100 futures released at once under heavy switching (issue #14406).
    let pool = TestPool::new(8);
    let ev = Event::new();
    let fs: Vec<_> = (0..100)
        .map(|_| {
            let ev = ev.clone();
            pool.submit(move || {
                ev.wait();
                for _ in 0..10 {
                    std::thread::yield_now();
                }
            })
            .unwrap()
        })
        .collect();
    ev.set();
    let (done, not_done) = wait(&fs, Some(LONG), ReturnWhen::AllCompleted);
    assert_eq!(done.len(), 100);
    assert!(not_done.is_empty());
}
