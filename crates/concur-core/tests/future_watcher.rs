//! The many-future `Watcher`: already-done first, completion order,
//! timeouts, cross-thread wake-ups, no references kept to yielded futures
//! and deregistration on drop.

mod helpers;

use concur_core::{AnyFuture, Error, Future, Promise, Watcher};
use helpers::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

fn soon() -> Option<Instant> {
    Some(Instant::now() + Duration::from_millis(20))
}

#[test]
fn already_done_futures_come_out_first_in_watch_order() {
    let (pa, a) = Promise::<u8>::new();
    let b = Future::ready(1u8);
    let (pc, c) = Promise::<u8>::new();
    let d = Future::<u8>::from_error(Error::shutdown());
    let mut w = Watcher::new();
    let ta = w.watch(a.erase());
    let tb = w.watch(b.erase());
    let tc = w.watch(c.erase());
    let td = w.watch(d.erase());
    assert_eq!([ta, tb, tc, td], [0, 1, 2, 3]);
    assert_eq!((w.remaining(), w.total()), (4, 4));
    // Completions after the watch come after the already-done ones.
    pc.set_result(3).unwrap();
    pa.set_result(0).unwrap();
    let order: Vec<usize> = w.by_ref().map(|(t, _)| t).collect();
    assert_eq!(order, [tb, td, tc, ta]);
    assert_eq!(w.remaining(), 0);
    assert!(w.next_until(None).unwrap().is_none());
}

#[test]
fn futures_come_out_in_completion_order_with_their_handles() {
    let mut promises = Vec::new();
    let mut w = Watcher::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (p, f) = Promise::<usize>::new();
        ids.push(f.id());
        w.watch(f.erase());
        promises.push(Some(p));
    }
    for i in [3usize, 0, 4, 1, 2] {
        promises[i].take().unwrap().set_result(i).unwrap();
        let (token, fut) = w.next_until(None).unwrap().unwrap();
        assert_eq!(token, i);
        assert_eq!(fut.id(), ids[i]);
        assert!(fut.done());
    }
}

#[test]
fn cancellation_and_abandon_count_as_completion() {
    let (_p1, f1) = Promise::<u8>::new();
    let (p2, f2) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f1.erase());
    w.watch(f2.erase());
    assert!(f1.cancel());
    drop(p2);
    let got: Vec<(usize, bool)> = w.map(|(t, f)| (t, f.cancelled())).collect();
    assert_eq!(got, [(0, true), (1, false)]);
    assert!(f2.done());
}

#[test]
fn a_timeout_reports_how_many_futures_are_unfinished() {
    let (p1, f1) = Promise::<u8>::new();
    let (_p2, f2) = Promise::<u8>::new();
    let (_p3, f3) = Promise::<u8>::new();
    let mut w = Watcher::new();
    for f in [&f1, &f2, &f3] {
        w.watch(f.erase());
    }
    let err = w.next_until(soon()).unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out: 3 (of 3) futures unfinished");
    assert_eq!(err.message(), w.timeout_error().message());
    p1.set_result(1).unwrap();
    assert_eq!(w.next_until(soon()).unwrap().unwrap().0, 0);
    let err = w.next_until(Some(Instant::now())).unwrap_err();
    assert_eq!(err.message(), "2 (of 3) futures unfinished");
    // A past deadline still yields what is ready.
    let mut w2 = Watcher::new();
    w2.watch(Future::ready(()).erase());
    assert!(
        w2.next_until(Some(Instant::now() - Duration::from_millis(1)))
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_far_future_deadline_waits_without_limit() {
    let (p, f) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f.erase());
    let t = set_later(p, 1);
    assert_eq!(w.next_until(Some(far_future())).unwrap().unwrap().0, 0);
    assert!(w.next_until(Some(far_future())).unwrap().is_none());
    t.join().unwrap();
}

#[test]
fn a_passed_deadline_polls_once() {
    let (p, f) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f.erase());
    assert!(w.next_until(Some(Instant::now())).unwrap_err().is_timeout());
    assert_eq!(
        w.remaining(),
        1,
        "a timed-out poll keeps the future watched"
    );
    p.set_result(1).unwrap();
    assert_eq!(w.next_until(Some(Instant::now())).unwrap().unwrap().0, 0);
}

#[test]
fn try_next_never_blocks() {
    let (p, f) = Promise::<u8>::new();
    let mut w = Watcher::default();
    assert!(w.try_next().is_none(), "empty");
    w.watch(f.erase());
    assert!(w.try_next().is_none());
    p.set_result(1).unwrap();
    assert_eq!(w.try_next().unwrap().0, 0);
    assert!(w.try_next().is_none());
    assert_eq!(w.size_hint(), (0, Some(0)));
    assert_eq!(format!("{w:?}"), "Watcher { remaining: 0, total: 1 }");
}

#[test]
fn a_blocked_watcher_is_woken_by_a_completion_on_another_thread() {
    let (p1, f1) = Promise::<u8>::new();
    let (_p2, f2) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f1.erase());
    w.watch(f2.erase());
    let t = set_later(p1, 1);
    let start = Instant::now();
    let (token, fut) = w.next_until(Some(Instant::now() + LONG)).unwrap().unwrap();
    assert!(start.elapsed() < LONG);
    assert_eq!(token, 0);
    assert!(fut.done());
    t.join().unwrap();
    // And without a deadline, through the iterator.
    let (p3, f3) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f3.erase());
    let t = set_later(p3, 3);
    assert_eq!(w.next().unwrap().0, 0);
    assert!(w.next().is_none());
    t.join().unwrap();
}

#[test]
fn many_completions_from_many_threads_are_each_yielded_once() {
    const THREADS: usize = 4;
    const PER: usize = 50;
    let mut w = Watcher::new();
    let mut batches = Vec::new();
    for _ in 0..THREADS {
        let mut batch = Vec::new();
        for _ in 0..PER {
            let (p, f) = Promise::<usize>::new();
            w.watch(f.erase());
            batch.push(p);
        }
        batches.push(batch);
    }
    let go = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let go = go.clone();
            thread::spawn(move || {
                go.wait();
                for (i, p) in batch.into_iter().enumerate() {
                    p.set_result(i).unwrap();
                }
            })
        })
        .collect();
    let mut seen = [false; THREADS * PER];
    for _ in 0..THREADS * PER {
        let (t, f) = w.next_until(Some(Instant::now() + LONG)).unwrap().unwrap();
        assert!(!seen[t], "token {t} yielded twice");
        seen[t] = true;
        assert!(f.done());
    }
    assert!(w.next_until(None).unwrap().is_none());
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn no_reference_is_kept_to_yielded_futures() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (p1, f1) = Promise::new();
    let (p2, f2) = Promise::new();
    let mut w = Watcher::new();
    w.watch(f1.erase());
    w.watch(f2.erase());
    drop((f1, f2));
    p1.set_result(DropProbe(drops.clone())).unwrap();
    drop(p1);
    assert_eq!(drops.load(Ordering::SeqCst), 0, "watched, not yet yielded");
    let (t, any) = w.next_until(None).unwrap().unwrap();
    assert_eq!(t, 0);
    drop(any);
    // The watcher still lives and watches f2, but f1's value is freed.
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    p2.set_result(DropProbe(drops.clone())).unwrap();
    drop(p2);
    let (_, any) = w.next().unwrap();
    drop(any);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(w.remaining(), 0);
}

#[test]
fn a_dropped_watcher_deregisters_and_later_completions_do_nothing_bad() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (p1, f1) = Promise::new();
    let (p2, f2) = Promise::new();
    let (p3, f3) = Promise::<DropProbe>::new();
    let mut w = Watcher::new();
    w.watch(f1.erase());
    w.watch(f2.erase());
    w.watch(f3.erase());
    p3.set_result(DropProbe(drops.clone())).unwrap();
    // One yielded, one completed but not yielded, two pending.
    let (t, _) = w.try_next().unwrap();
    assert_eq!(t, 2);
    p2.set_result(DropProbe(drops.clone())).unwrap();
    drop(w);
    // Completing after the watcher is gone: no panic, waiters still work.
    let waiter = {
        let f1 = f1.clone();
        thread::spawn(move || f1.result_timeout(LONG).is_ok())
    };
    p1.set_result(DropProbe(drops.clone())).unwrap();
    assert!(waiter.join().unwrap());
    assert!(f1.done() && f2.done());
    // Nothing kept the values alive: dropping the last handles frees them.
    drop((f1, f2, f3, p1, p2, p3));
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    // Dropping a watcher while completions race it, many times.
    for _ in 0..50 {
        let (p, f) = Promise::<u8>::new();
        let mut w = Watcher::new();
        w.watch(f.erase());
        let t = thread::spawn(move || p.set_result(1).unwrap());
        drop(w);
        t.join().unwrap();
        assert!(f.done());
    }
}

#[test]
fn one_future_watched_twice_and_by_two_watchers_wakes_all() {
    let (p, f) = Promise::<u8>::new();
    let mut w1 = Watcher::new();
    let mut w2 = Watcher::new();
    let any: AnyFuture = f.erase();
    w1.watch(any.clone());
    w1.watch(any.clone());
    w2.watch(p.erase());
    p.set_result(1).unwrap();
    let tokens: Vec<usize> = w1.map(|(t, _)| t).collect();
    assert_eq!(tokens, [0, 1]);
    assert_eq!(w2.next().unwrap().1.id(), f.id());
}

#[test]
fn watching_after_yielding_continues_the_token_sequence() {
    let mut w = Watcher::new();
    assert_eq!(w.watch(Future::ready(()).erase()), 0);
    assert_eq!(w.next().unwrap().0, 0);
    assert!(w.next().is_none());
    assert_eq!(w.watch(Future::ready(()).erase()), 1);
    assert_eq!((w.remaining(), w.total()), (1, 2));
    assert_eq!(w.next().unwrap().0, 1);
}
