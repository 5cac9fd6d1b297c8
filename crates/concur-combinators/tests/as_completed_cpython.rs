//! Ports of CPython's `test_as_completed.py`, plus concur's additions.

mod helpers;

use concur_combinators::as_completed;
use concur_core::{AnyFuture, ErrorKind, Executor, Future, Promise};
use concur_testkit::{Event, TestPool};
use helpers::*;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn ids<'a>(fs: impl IntoIterator<Item = &'a AnyFuture>) -> HashSet<usize> {
    fs.into_iter().map(AnyFuture::id).collect()
}

#[test]
fn no_timeout() {
    let pool = TestPool::new(2);
    let f1 = pool.submit(|| 2 * 21).unwrap();
    let f2 = pool.submit(|| 7 * 6).unwrap();
    let all = [
        cancelled::<i32>().erase(),
        exception::<i32>().erase(),
        successful().erase(),
        f1.erase(),
        f2.erase(),
    ];
    let got: Vec<AnyFuture> = as_completed(&all).collect();
    assert_eq!(got.len(), 5);
    assert_eq!(ids(&got), ids(&all));
    assert!(got.iter().all(AnyFuture::done));
}

#[test]
fn a_max_timeout_is_no_limit() {
    // `Instant::now() + Duration::MAX` overflows: it waits like `None`.
    let (p, f) = Promise::<u8>::new();
    let done = Future::ready(1);
    let setter = set_later(p, 2);
    let got: Vec<u8> = as_completed([&done, &f])
        .timeout(Duration::MAX)
        .map(|r| *r.unwrap().result().unwrap())
        .collect();
    assert_eq!(got, [1, 2]);
    setter.join().unwrap();
}

#[test]
fn future_times_out() {
    let pool = TestPool::new(1);
    for timeout in [Duration::ZERO, Duration::from_millis(100)] {
        let already = [
            cancelled::<()>().erase(),
            exception::<()>().erase(),
            successful().erase(),
        ];
        let ev = Event::new();
        let e2 = ev.clone();
        let slow = pool.submit(move || e2.wait()).unwrap();
        let mut completed = Vec::new();
        let mut timed_out = None;
        for r in as_completed(already.iter().cloned().chain([slow.erase()])).timeout(timeout) {
            match r {
                Ok(f) => completed.push(f),
                Err(e) => timed_out = Some(e),
            }
        }
        assert_eq!(ids(&completed), ids(&already));
        let e = timed_out.expect("a timeout error");
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(e.message(), "1 (of 4) futures unfinished");
        ev.set();
        slow.result().unwrap();
    }
}

#[test]
fn duplicate_futures_are_yielded_once() {
    let pool = TestPool::new(1);
    let f = pool
        .submit(|| std::thread::sleep(Duration::from_millis(20)))
        .unwrap();
    let got: Vec<_> = as_completed(std::iter::repeat_n(&f, 3)).collect();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id(), f.id());
}

/// A value whose drop is observable: CPython checks a weakref is dead.
struct Tracked(#[allow(dead_code)] Arc<()>);

#[test]
fn free_reference_yielded_future() {
    let token = Arc::new(());
    let mut promises = Vec::new();
    let mut futs = Vec::new();
    for _ in 0..8 {
        let (p, f) = Promise::<Tracked>::new();
        promises.push(p);
        futs.push(f);
    }
    futs.push(cancelled());
    let (p, f) = Promise::new();
    p.set_result(Tracked(Arc::clone(&token))).unwrap();
    drop(p);
    futs.push(f);

    // timeout 0: the two done ones come out, then a timeout.
    let mut it = as_completed(std::mem::take(&mut futs)).timeout(Duration::ZERO);
    let mut yielded = 0;
    let mut last = None;
    for r in it.by_ref() {
        match r {
            Ok(f) => {
                yielded += 1;
                drop(f);
                // The iterator kept no reference: the value is gone.
                if yielded == 2 {
                    assert_eq!(Arc::strong_count(&token), 1);
                }
            }
            Err(e) => last = Some(e),
        }
    }
    assert_eq!(yielded, 2);
    assert!(last.unwrap().is_timeout());

    // Now with completions while iterating.
    let mut futs: Vec<Future<Tracked>> = Vec::new();
    let mut promises2 = Vec::new();
    for _ in 0..8 {
        let (p, f) = Promise::<Tracked>::new();
        promises2.push(p);
        futs.push(f);
    }
    promises2
        .remove(0)
        .set_result(Tracked(Arc::clone(&token)))
        .unwrap();
    let mut n = 0;
    for f in as_completed(futs) {
        assert!(f.result().is_ok());
        drop(f);
        n += 1;
        assert_eq!(
            Arc::strong_count(&token),
            1,
            "yielded future still referenced"
        );
        if !promises2.is_empty() {
            promises2
                .remove(0)
                .set_result(Tracked(Arc::clone(&token)))
                .unwrap();
        }
    }
    assert_eq!(n, 8);
    drop(promises);
}

#[test]
fn correct_timeout_exception_msg() {
    let (_p1, pending) = pending::<i32>();
    let (_p2, running) = running::<i32>();
    let fs = [cancelled(), pending, running, successful()];
    let out: Vec<_> = as_completed(&fs).timeout(Duration::ZERO).collect();
    assert_eq!(out.len(), 3);
    let err = out[2].as_ref().unwrap_err();
    assert_eq!(err.message(), "2 (of 4) futures unfinished");
    assert_eq!(err.to_string(), "timed out: 2 (of 4) futures unfinished");
}

#[test]
fn already_done_first_then_completion_order() {
    let (p1, f1) = Promise::new();
    let (p2, f2) = Promise::new();
    let done = Future::ready(0);
    let mut it = as_completed([&f1, &f2, &done]);
    assert_eq!(it.next().unwrap().id(), done.id());
    p2.set_result(2).unwrap();
    assert_eq!(it.next().unwrap().id(), f2.id());
    p1.set_result(1).unwrap();
    assert_eq!(it.next().unwrap().id(), f1.id());
    assert!(it.next().is_none());
}

#[test]
fn mixed_output_types_and_executors() {
    let a = TestPool::new(1);
    let b = TestPool::new(1);
    let fs = [
        a.submit(|| 1u8).unwrap().erase(),
        b.submit(|| "two".to_string()).unwrap().erase(),
        b.submit(|| -> u8 { panic!("three") }).unwrap().erase(),
    ];
    let got: Vec<_> = as_completed(fs.clone())
        .timeout(LONG)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids(&got), ids(&fs));
    assert_eq!(got.iter().filter(|f| f.failed()).count(), 1);
}

#[test]
fn dropping_the_iterator_deregisters() {
    let (p, f) = Promise::<u8>::new();
    {
        let mut it = as_completed([&f]).timeout(Duration::ZERO);
        assert!(it.next().unwrap().is_err());
    }
    // Completing after the iterator is gone must not touch it.
    p.set_result(1).unwrap();
    assert_eq!(*f.result().unwrap(), 1);
}

#[test]
fn empty_input_ends_at_once() {
    let it = as_completed(Vec::<Future<u8>>::new()).timeout(Duration::ZERO);
    assert_eq!(it.count(), 0);
}

#[test]
fn many_futures_under_heavy_switching() {
    let pool = TestPool::new(4);
    let ev = Event::new();
    let fs: Vec<_> = (0..100)
        .map(|i| {
            let ev = ev.clone();
            pool.submit(move || {
                ev.wait();
                std::thread::yield_now();
                i
            })
            .unwrap()
        })
        .collect();
    ev.set();
    let mut seen: Vec<i32> = as_completed(&fs)
        .timeout(LONG)
        .map(|f| *f.unwrap().result().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn without_a_timeout_items_are_handles_and_the_length_is_exact() {
    let (p, pending) = Promise::new();
    let done = Future::ready(1);
    let mut it = as_completed([&pending, &done]);
    assert_eq!(it.len(), 2);
    let first: Future<i32> = it.next().unwrap(); // a handle, no `Result`
    assert_eq!(first.id(), done.id());
    assert_eq!(it.len(), 1);
    p.set_result(2).unwrap();
    assert_eq!(*it.next().unwrap().result().unwrap(), 2);
    assert_eq!((it.len(), it.next().map(|f| f.id())), (0, None));
}

#[test]
fn timeout_max_is_no_limit_and_zero_never_blocks() {
    let (p, pending) = Promise::new();
    let mut it = as_completed([&pending]).timeout(Duration::MAX);
    assert_eq!(it.size_hint(), (1, Some(1)));
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        p.set_result(3).unwrap();
    });
    assert_eq!(*it.next().unwrap().unwrap().result().unwrap(), 3);
    assert!(it.next().is_none());
    t.join().unwrap();

    let (_p, never) = Promise::<u8>::new();
    let start = std::time::Instant::now();
    let got: Vec<_> = as_completed([&never]).timeout(Duration::ZERO).collect();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(got.len(), 1);
    assert!(got[0].as_ref().unwrap_err().is_timeout());
}
