//! Chaining: then, then_on, handle, and_then, or_else, with_timeout,
//! join_all, gather, select, retry. Values move from stage to stage: each
//! combinator is also run on a `!Clone + !Sync` value.

mod helpers;

use concur_combinators::{Backoff, FutureExt, gather, join_all, retry, select};
use concur_core::Shutdown;
use concur_core::{Error, ErrorKind, Executor, Future, Promise};
use concur_testkit::TestPool;
use helpers::*;
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Neither `Clone` nor `Sync`.
struct Unshared(Cell<String>);

fn unshared(s: &str) -> Unshared {
    Unshared(Cell::new(s.to_string()))
}

impl Unshared {
    fn text(self) -> String {
        self.0.into_inner()
    }
}

#[test]
fn then_runs_on_the_completing_thread() {
    let (p, f) = Promise::new();
    let g = f.then(|x: u32| (x + 1, std::thread::current().id()));
    let t = std::thread::spawn(move || {
        p.set_result(41).unwrap();
        std::thread::current().id()
    });
    let completer = t.join().unwrap();
    let (v, ran_on) = g.into_result().unwrap();
    assert_eq!(v, 42);
    assert_eq!(ran_on, completer);
    // Already done: runs at once on the caller.
    let h = Future::ready(1).then(|_| std::thread::current().id());
    assert_eq!(
        h.try_into_result().unwrap().unwrap(),
        std::thread::current().id()
    );
}

#[test]
fn then_waits_for_clones_of_the_source_and_runs_where_the_last_drops() {
    let (p, f) = Promise::new();
    let kept = f.clone();
    let g = f.then(|v: Unshared| (v.text(), std::thread::current().id()));
    p.set_result(unshared("held")).unwrap();
    assert!(!g.done(), "the clone can still read the value");
    let t = std::thread::spawn(move || {
        drop(kept);
        std::thread::current().id()
    });
    let dropper = t.join().unwrap();
    assert_eq!(g.into_result().unwrap(), ("held".to_string(), dropper));
}

#[test]
fn then_passes_errors_and_cancellation_on() {
    let failed = Future::<u8>::from_error(Error::task("bad")).then(|x| x);
    assert_eq!(failed.into_result().unwrap_err().kind(), ErrorKind::Task);
    let (_p, f) = Promise::<u8>::new();
    f.cancel();
    assert!(f.then(|x| x).into_result().unwrap_err().is_cancelled());
    let panicked = Future::ready(1).then(|_| -> u8 { panic!("in then") });
    assert_eq!(
        panicked.into_result().unwrap_err().panic_message(),
        Some("in then")
    );
}

#[test]
fn cancelling_the_chained_future_skips_the_closure() {
    let (p, f) = Promise::<u8>::new();
    let source = f.erase();
    let ran = Arc::new(AtomicU32::new(0));
    let r = Arc::clone(&ran);
    let g = f.then(move |_| r.fetch_add(1, Ordering::SeqCst));
    assert!(g.cancel());
    p.set_result(1).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert!(!source.cancelled(), "the source is not cancelled");
}

#[test]
fn then_on_runs_on_the_named_executor() {
    let pool = TestPool::new(1);
    let worker = pool.submit(|| std::thread::current().id()).unwrap();
    let worker = worker.into_result().unwrap();
    let g = Future::ready(6).then_on(Arc::new(pool), |x| (x * 7, std::thread::current().id()));
    assert_eq!(g.result_timeout(LONG).unwrap(), &(42, worker));

    let closed = TestPool::new(1);
    closed.shutdown();
    let refused = Future::ready(1).then_on(closed, |x| x);
    assert_eq!(
        refused.into_result().unwrap_err().kind(),
        ErrorKind::Shutdown
    );
}

#[test]
fn and_then_flattens() {
    let pool = Arc::new(TestPool::new(2));
    let p2 = Arc::clone(&pool);
    let f = pool
        .submit(|| 20)
        .unwrap()
        .and_then(move |x| p2.submit(move || x + 1).unwrap())
        .and_then(|x| Future::ready(x * 2));
    assert_eq!(*f.result_timeout(LONG).unwrap(), 42);
    let inner_fails = Future::ready(1).and_then(|_| Future::<u8>::from_error(Error::task("inner")));
    assert_eq!(
        inner_fails.into_result().unwrap_err().to_string(),
        "task failed: inner"
    );
    let outer_fails =
        Future::<u8>::from_error(Error::task("outer")).and_then(|_| Future::ready(1u8));
    assert_eq!(
        outer_fails.into_result().unwrap_err().to_string(),
        "task failed: outer"
    );
    let panics = Future::ready(1).and_then(|_| -> Future<u8> { panic!("in and_then") });
    assert_eq!(
        panics.into_result().unwrap_err().panic_message(),
        Some("in and_then")
    );
}

#[test]
fn or_else_recovers_and_handle_sees_both() {
    let ok = Future::ready(5).or_else(|_| Ok(0));
    assert_eq!(ok.into_result().unwrap(), 5);
    let rec = Future::<i32>::from_error(Error::task("x")).or_else(|e| {
        assert_eq!(e.kind(), ErrorKind::Task);
        Ok(-1)
    });
    assert_eq!(rec.into_result().unwrap(), -1);
    let still = Future::<i32>::from_error(Error::task("x")).or_else(Err);
    assert!(still.into_result().is_err());
    let h = Future::<u8>::from_error(Error::shutdown()).handle(|r| Ok(r.unwrap_err().kind()));
    assert_eq!(h.into_result().unwrap(), ErrorKind::Shutdown);
}

#[test]
fn with_timeout_fails_or_passes_through() {
    let (p, f) = Promise::<u8>::new();
    let source = f.erase();
    let t = f.with_timeout(Duration::from_millis(20));
    let err = t.result_timeout(LONG).unwrap_err();
    assert!(err.is_timeout());
    assert!(!source.done(), "the source keeps running");
    p.set_result(1).unwrap();

    let (p, f) = Promise::<u8>::new();
    let t = f.with_timeout(LONG);
    p.set_result(3).unwrap();
    assert_eq!(t.into_result().unwrap(), 3);
    assert_eq!(
        Future::ready(4)
            .with_timeout(Duration::ZERO)
            .into_result()
            .unwrap(),
        4
    );

    let (_p, f) = Promise::<u8>::new();
    let source = f.erase();
    let t = f.with_timeout_cancelling(Duration::from_millis(5));
    assert!(t.result_timeout(LONG).unwrap_err().is_timeout());
    assert!(source.wait_timeout(LONG));
    assert!(source.cancelled());

    // A running source cannot be cancelled: the timeout still fires.
    let (p, f) = running::<u8>();
    let source = f.erase();
    let t = f.with_timeout_cancelling(Duration::from_millis(5));
    assert!(t.result_timeout(LONG).unwrap_err().is_timeout());
    assert!(!source.cancelled());
    drop(p);
}

#[test]
fn a_source_done_in_time_does_not_time_out_while_a_clone_holds_its_value() {
    let (p, f) = Promise::new();
    let kept = f.clone();
    let t = f.with_timeout(Duration::from_millis(10));
    p.set_result(unshared("in time")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(!t.done(), "the timer saw the source done and stood down");
    drop(kept);
    assert_eq!(t.into_result().ok().unwrap().text(), "in time");
}

#[test]
fn join_all_fail_fast_and_gather_collect_all() {
    let pool = TestPool::new(2);
    let fs: Vec<_> = (0..10).map(|i| pool.submit(move || i).unwrap()).collect();
    assert_eq!(
        join_all(fs).result_timeout(LONG).unwrap(),
        &(0..10).collect::<Vec<_>>()
    );

    let (_p, never) = Promise::<i32>::new();
    let fast = join_all([never, Future::from_error(Error::task("bad"))]);
    assert_eq!(
        fast.result_timeout(LONG).unwrap_err().to_string(),
        "task failed: bad"
    );

    let (p, later) = Promise::<i32>::new();
    let all = gather([
        Future::ready(1),
        Future::from_error(Error::task("bad")),
        later,
    ]);
    assert!(!all.done(), "collect-all waits for every input");
    p.set_result(3).unwrap();
    let out = all.into_result().unwrap();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(out[1].is_err());
    assert_eq!(*out[2].as_ref().unwrap(), 3);

    assert!(
        join_all(Vec::<Future<u8>>::new())
            .into_result()
            .unwrap()
            .is_empty()
    );
    assert!(
        gather(Vec::<Future<u8>>::new())
            .into_result()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn select_gives_the_first_with_its_index() {
    let (_p0, slow) = Promise::<u8>::new();
    let (p1, fast) = Promise::<u8>::new();
    let s = select([slow, fast]);
    assert!(!s.done());
    p1.set_exception(Error::task("first")).unwrap();
    let (i, r) = s.into_result().unwrap();
    assert_eq!(i, 1);
    assert_eq!(r.unwrap_err().to_string(), "task failed: first");

    let (_p0, slow) = Promise::<u8>::new();
    let s = select([slow, Future::ready(1), Future::ready(2)]);
    assert_eq!(
        s.into_result().unwrap().0,
        1,
        "first already-done in input order"
    );

    let empty = select(Vec::<Future<u8>>::new());
    assert_eq!(
        empty.into_result().unwrap_err().kind(),
        ErrorKind::InvalidState
    );
}

#[test]
fn with_timeout_zero_expires_at_once_and_max_is_no_limit() {
    let (_p, f) = Promise::<u8>::new();
    let source = f.erase();
    let t = f.with_timeout(Duration::ZERO);
    assert!(t.result_timeout(LONG).unwrap_err().is_timeout());
    assert!(!source.done(), "the source keeps running");

    let (_p, f) = Promise::<u8>::new();
    let source = f.erase();
    let t = f.with_timeout_cancelling(Duration::ZERO);
    assert!(t.result_timeout(LONG).unwrap_err().is_timeout());
    assert!(source.wait_timeout(LONG));
    assert!(source.cancelled());

    // `Instant::now() + Duration::MAX` overflows: no timer, no limit.
    for cancelling in [false, true] {
        let (p, f) = Promise::<u8>::new();
        let source = f.erase();
        let t = if cancelling {
            f.with_timeout_cancelling(Duration::MAX)
        } else {
            f.with_timeout(Duration::MAX)
        };
        let setter = set_later(p, 5);
        assert_eq!(*t.result_timeout(LONG).unwrap(), 5);
        assert!(!source.cancelled());
        setter.join().unwrap();
    }
}

#[test]
fn every_combinator_moves_a_value_that_is_neither_clone_nor_sync() {
    let pool = Arc::new(TestPool::new(2));
    let text = |f: Future<Unshared>| f.into_result().ok().unwrap().text();

    let (p, f) = Promise::new();
    let g = f.then(|v: Unshared| unshared(&(v.text() + "+then")));
    p.set_result(unshared("a")).unwrap();
    assert_eq!(text(g), "a+then");

    let g = pool
        .submit(|| unshared("b"))
        .unwrap()
        .then_on(Arc::clone(&pool), |v| unshared(&(v.text() + "+then_on")));
    assert_eq!(text(g), "b+then_on");

    let g = Future::ready(unshared("c")).handle(|r| r.map(|v| unshared(&(v.text() + "+handle"))));
    assert_eq!(text(g), "c+handle");

    let p2 = Arc::clone(&pool);
    let g = Future::ready(unshared("d")).and_then(move |v| {
        let s = v.text();
        p2.submit(move || unshared(&(s + "+and_then"))).unwrap()
    });
    assert_eq!(text(g), "d+and_then");

    assert_eq!(
        text(Future::ready(unshared("e")).or_else(|_| Ok(unshared("no")))),
        "e"
    );
    let g = Future::<Unshared>::from_error(Error::task("x")).or_else(|_| Ok(unshared("or_else")));
    assert_eq!(text(g), "or_else");

    let (p, f) = Promise::new();
    let g = f.with_timeout(LONG);
    p.set_result(unshared("f")).unwrap();
    assert_eq!(text(g), "f");
    let (p, f) = Promise::new();
    let g = f.with_timeout_cancelling(LONG);
    p.set_result(unshared("g")).unwrap();
    assert_eq!(text(g), "g");

    let all = join_all((0..3).map(|i| pool.submit(move || unshared(&i.to_string())).unwrap()));
    let all: Vec<String> = all
        .into_result()
        .ok()
        .unwrap()
        .into_iter()
        .map(Unshared::text)
        .collect();
    assert_eq!(all, ["0", "1", "2"]);

    let out = gather([
        Future::ready(unshared("h")),
        Future::from_error(Error::task("bad")),
    ]);
    let mut out = out.into_result().ok().unwrap().into_iter();
    assert_eq!(out.next().unwrap().ok().unwrap().text(), "h");
    assert!(out.next().unwrap().is_err());

    let (_slow_p, slow) = Promise::new();
    let first = select([slow, Future::ready(unshared("i"))]);
    let (i, r) = first.into_result().ok().unwrap();
    assert_eq!((i, r.ok().unwrap().text()), (1, "i".to_string()));
}

#[test]
fn backoff_delays_saturate_and_stay_cheap() {
    // A constant delay is found without looping `retry` times.
    assert_eq!(Backoff::none().delay(u32::MAX), Duration::ZERO);
    assert_eq!(
        Backoff::exponential(Duration::ZERO, Duration::MAX).delay(u32::MAX),
        Duration::ZERO
    );
    assert_eq!(Backoff::fixed(Duration::MAX).delay(u32::MAX), Duration::MAX);
    // Doubling saturates at `Duration::MAX` (no cap), never overflows.
    let uncapped = Backoff::exponential(Duration::from_nanos(1), Duration::MAX);
    assert_eq!(uncapped.delay(u32::MAX), Duration::MAX);
    assert_eq!(
        Backoff::exponential(Duration::from_secs(1), Duration::MAX).delay(200),
        Duration::MAX
    );
    // `max` below `initial` caps every delay.
    let capped = Backoff::exponential(Duration::from_secs(9), Duration::from_secs(2));
    assert_eq!(capped.delay(1), Duration::from_secs(2));
}

#[test]
fn retry_with_an_endless_delay_fails_with_the_last_error_at_once() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let f = retry(
        TestPool::new(1),
        3,
        Backoff::fixed(Duration::MAX),
        move || -> Result<(), std::io::Error> {
            let n = c.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other(format!("try {n}")))
        },
    );
    let err = f.result_timeout(LONG).unwrap_err();
    assert_eq!(err.to_string(), "task failed: try 0");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no retry ever came");
}

#[test]
fn retry_resubmits_until_success() {
    let pool = Arc::new(TestPool::new(2));
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let f = retry(
        Arc::clone(&pool),
        5,
        Backoff::exponential(Duration::from_millis(1), Duration::from_millis(4)),
        move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            if n < 3 {
                Err(std::io::Error::other(format!("try {n}")))
            } else {
                Ok(n)
            }
        },
    );
    assert_eq!(*f.result_timeout(LONG).unwrap(), 3);
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[test]
fn retry_gives_the_last_error_after_n_retries() {
    let pool = TestPool::new(1);
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let f = retry(
        pool,
        2,
        Backoff::none(),
        move || -> Result<(), std::io::Error> {
            let n = c.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other(format!("try {n}")))
        },
    );
    let err = f.result_timeout(LONG).unwrap_err();
    assert_eq!(err.to_string(), "task failed: try 2");
    assert!(err.downcast_ref::<std::io::Error>().is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let panics = retry(
        TestPool::new(1),
        1,
        Backoff::none(),
        || -> Result<u8, std::io::Error> { panic!("always") },
    );
    assert_eq!(
        panics.result_timeout(LONG).unwrap_err().panic_message(),
        Some("always")
    );
}

#[test]
fn retry_on_refusing_executor_fails_with_its_error() {
    let pool = TestPool::new(1);
    pool.shutdown();
    let f = retry(pool, 3, Backoff::none(), || Ok::<_, std::io::Error>(1));
    assert_eq!(
        f.result_timeout(LONG).unwrap_err().kind(),
        ErrorKind::Shutdown
    );
}

#[test]
fn cancelling_a_retry_stops_further_attempts() {
    let pool = TestPool::new(1);
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let f = retry(
        pool,
        1000,
        Backoff::fixed(Duration::from_millis(20)),
        move || -> Result<(), std::io::Error> {
            c.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other("no"))
        },
    );
    assert!(f.cancel());
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        calls.load(Ordering::SeqCst) <= 1,
        "attempts went on after cancel"
    );
    assert!(f.result().unwrap_err().is_cancelled());
}
