//! Async `as_completed`, `gather` and `wait` under every runtime. Ports the
//! applicable cases of CPython's `test_concurrent_futures/test_as_completed.py`
//! and `test_wait.py`, and of `test_asyncio/test_tasks.py` (`gather`).

mod helpers;

use concur_async::{
    CollectAll, RaiseFirst, ReturnWhen, as_completed, gather, run_in_executor, wait,
};
use concur_core::Shutdown;
use concur_core::{Error, ErrorKind, Future, Promise, State};
use concur_testkit::TestPool;
use futures::StreamExt;
use futures_core::{FusedStream, Stream};
use helpers::{Gate, on_each_runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn as_completed_yields_in_completion_order() {
    on_each_runtime(|| async {
        let (p1, f1) = Promise::new();
        let (p2, f2) = Promise::new();
        let (p3, f3) = Promise::new();
        let mut s = as_completed(vec![f1, f2, f3]);
        assert_eq!(s.size_hint(), (3, Some(3)));
        p2.set_result(2).unwrap();
        assert_eq!(s.next().await.unwrap().into_result().unwrap(), 2);
        p3.set_exception(Error::task("three")).unwrap();
        let third = s.next().await.unwrap();
        assert_eq!(third.state(), State::Failed);
        assert!(p1.cancel());
        assert!(s.next().await.unwrap().cancelled());
        assert!(s.next().await.is_none());
        assert!(s.is_terminated());
    });
}

#[test]
fn as_completed_yields_already_done_first_in_given_order() {
    on_each_runtime(|| async {
        // CPython test_zero_timeout / test_future_times_out: done futures
        // come out first, pending ones after.
        let (p, pending) = Promise::new();
        let s = as_completed(vec![
            Future::ready(1),
            pending,
            Future::from_error(Error::task("x")),
            Future::ready(3),
        ]);
        p.set_result(4).unwrap();
        let states: Vec<State> = s.map(|f| f.state()).collect().await;
        assert_eq!(
            states,
            [
                State::Finished,
                State::Failed,
                State::Finished,
                State::Finished
            ]
        );
    });
}

#[test]
fn as_completed_yields_duplicates_once() {
    on_each_runtime(|| async {
        // CPython test_duplicate_futures.
        let f = Future::ready(1);
        let s = as_completed(vec![f.clone(), f.clone(), f]);
        assert_eq!(s.remaining(), 1);
        assert_eq!(s.count().await, 1);
    });
}

#[test]
fn as_completed_of_nothing_ends_at_once() {
    on_each_runtime(|| async {
        let mut s = as_completed(Vec::<Future<u8>>::new());
        assert!(s.next().await.is_none());
    });
}

#[test]
fn as_completed_over_pool_tasks() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let fs: Vec<_> = (0..50u64)
                .map(|i| run_in_executor(&*pool, move || i).detach())
                .collect();
            let mut got: Vec<u64> = as_completed(fs)
                .map(|f| f.into_result().unwrap())
                .collect()
                .await;
            got.sort_unstable();
            assert_eq!(got, (0..50).collect::<Vec<_>>());
        }
    });
}

#[test]
fn gather_keeps_input_order() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let fs: Vec<_> = (0..20u64)
                .rev()
                .map(|i| {
                    run_in_executor(&*pool, move || {
                        std::thread::sleep(std::time::Duration::from_micros(i * 50));
                        i
                    })
                    .detach()
                })
                .collect();
            let out = gather(fs, RaiseFirst).await.unwrap();
            assert_eq!(out, (0..20).rev().collect::<Vec<_>>());
        }
    });
}

#[test]
fn gather_raise_first_fails_early_and_cancels_nothing() {
    on_each_runtime(|| async {
        let (_p1, slow) = Promise::<u8>::new();
        let (p2, bad) = Promise::<u8>::new();
        let keep = slow.clone();
        let g = gather(vec![slow, bad], RaiseFirst);
        p2.set_exception(Error::task("bad")).unwrap();
        let err = g.await.unwrap_err();
        assert_eq!(err.to_string(), "task failed: bad");
        // asyncio: with return_exceptions=False the others keep running.
        assert_eq!(keep.state(), State::Pending);
    });
}

#[test]
fn gather_collect_all_returns_every_outcome() {
    on_each_runtime(|| async {
        let (p, cancelled) = Promise::<u8>::new();
        p.cancel();
        let out = gather(
            vec![
                Future::ready(1u8),
                Future::from_error(Error::task("two")),
                cancelled,
            ],
            CollectAll,
        )
        .await;
        assert_eq!(out.len(), 3);
        assert_eq!(*out[0].as_ref().unwrap(), 1);
        assert_eq!(out[1].as_ref().unwrap_err().kind(), ErrorKind::Task);
        assert!(out[2].as_ref().unwrap_err().is_cancelled());
    });
}

#[test]
fn gather_of_nothing_is_empty() {
    on_each_runtime(|| async {
        assert!(
            gather(Vec::<Future<u8>>::new(), RaiseFirst)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            gather(Vec::<Future<u8>>::new(), CollectAll)
                .await
                .is_empty()
        );
    });
}

#[test]
fn dropping_an_unresolved_gather_cancels_unstarted_children() {
    on_each_runtime(|| async {
        // asyncio: cancelling gather() cancels the awaitables not done yet.
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let running = run_in_executor(&*pool, move || {
            g.hold();
            1u8
        })
        .detach();
        gate.wait_started();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = run_in_executor(&*pool, move || {
            r.store(true, Ordering::SeqCst);
            2u8
        })
        .detach();
        let (keep_running, keep_queued) = (running.clone(), queued.clone());
        drop((running, queued));
        let mut g = gather(vec![keep_running.clone(), keep_queued.clone()], RaiseFirst);
        assert!(futures::poll!(&mut g).is_pending());
        drop(g);
        assert!(keep_queued.cancelled());
        assert!(!keep_running.cancelled());
        gate.release();
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(*keep_running.result().unwrap(), 1);
    });
}

#[test]
fn dropping_a_resolved_gather_changes_nothing() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let keep = pending.clone();
        let mut g = gather(
            vec![pending, Future::from_error(Error::task("x"))],
            RaiseFirst,
        );
        assert!(!futures::future::FusedFuture::is_terminated(&g));
        assert!((&mut g).await.is_err());
        assert!(futures::future::FusedFuture::is_terminated(&g));
        drop(g);
        assert_eq!(keep.state(), State::Pending);
    });
}

#[test]
fn wait_first_completed() {
    on_each_runtime(|| async {
        let (_p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let w = wait(vec![f1, f2], None, ReturnWhen::FirstCompleted);
        let t = std::thread::spawn(move || p2.set_result(2).unwrap());
        let (done, not_done) = w.await;
        t.join().unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(*done[0].result().unwrap(), 2);
        assert_eq!(not_done.len(), 1);
        assert_eq!(not_done[0].state(), State::Pending);
    });
}

#[test]
fn wait_first_completed_with_some_already_done() {
    on_each_runtime(|| async {
        // CPython test_first_completed_some_already_completed.
        let (_p, pending) = Promise::<u8>::new();
        let (done, not_done) = wait(
            vec![Future::ready(1), Future::ready(2), pending],
            None,
            ReturnWhen::FirstCompleted,
        )
        .await;
        assert_eq!(done.len(), 2);
        assert_eq!(not_done.len(), 1);
    });
}

#[test]
fn wait_first_exception_stops_at_a_failure_not_a_cancellation() {
    on_each_runtime(|| async {
        // CPython test_first_exception: cancellation does not count.
        let (pc, cancelled) = Promise::<u8>::new();
        pc.cancel();
        let (_p, pending) = Promise::<u8>::new();
        let (pf, failing) = Promise::<u8>::new();
        let w = wait(
            vec![cancelled, Future::ready(1), pending, failing],
            None,
            ReturnWhen::FirstException,
        );
        let t = std::thread::spawn(move || pf.set_exception(Error::task("boom")).unwrap());
        let (done, not_done) = w.await;
        t.join().unwrap();
        // Input order: cancelled, ready, failing.
        let states: Vec<State> = done.iter().map(|f| f.state()).collect();
        assert_eq!(states, [State::Cancelled, State::Finished, State::Failed]);
        assert_eq!(not_done.len(), 1);
    });
}

#[test]
fn wait_first_exception_without_failures_waits_for_all() {
    on_each_runtime(|| async {
        // CPython test_first_exception_one_already_failed / no-exception case.
        let (p, f) = Promise::<u8>::new();
        let w = wait(vec![Future::ready(1), f], None, ReturnWhen::FirstException);
        let t = std::thread::spawn(move || p.set_result(2).unwrap());
        let (done, not_done) = w.await;
        t.join().unwrap();
        assert_eq!((done.len(), not_done.len()), (2, 0));

        let already = wait(
            vec![Future::<u8>::from_error(Error::task("e")), Promise::new().1],
            None,
            ReturnWhen::FirstException,
        )
        .await;
        assert_eq!((already.0.len(), already.1.len()), (1, 1));
    });
}

#[test]
fn wait_all_completed_over_pool_tasks() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let fs: Vec<_> = (0..30u32)
                .map(|i| run_in_executor(&*pool, move || i).detach())
                .collect();
            let (done, not_done) = wait(fs.iter().cloned(), None, ReturnWhen::AllCompleted).await;
            assert_eq!((done.len(), not_done.len()), (30, 0));
            // Input order, whatever the completion order.
            let ids: Vec<usize> = done.iter().map(Future::id).collect();
            assert_eq!(ids, fs.iter().map(Future::id).collect::<Vec<_>>());
            assert!(fs.iter().all(Future::done));
        }
    });
}

#[test]
fn wait_of_nothing_returns_at_once_and_dedups() {
    on_each_runtime(|| async {
        for rw in [
            ReturnWhen::FirstCompleted,
            ReturnWhen::FirstException,
            ReturnWhen::AllCompleted,
        ] {
            let (done, not_done) = wait(Vec::<Future<u8>>::new(), None, rw).await;
            assert!(done.is_empty() && not_done.is_empty());
        }
        let f = Future::ready(0);
        let mut w = wait(vec![f.clone(), f], None, ReturnWhen::AllCompleted);
        let (done, _) = (&mut w).await;
        assert_eq!(done.len(), 1);
        assert!(futures::future::FusedFuture::is_terminated(&w));
        // Polling again is harmless: empty sets.
        let (again, rest) = (&mut w).await;
        assert!(again.is_empty() && rest.is_empty());
    });
}

#[test]
fn an_abandoned_next_loses_no_item() {
    on_each_runtime(|| async {
        // A `next()` dropped before it resolved (as a timeout would drop
        // it) must not swallow the future that completes afterwards.
        let (p, f) = Promise::new();
        let mut s = as_completed(vec![f]);
        assert!(futures::poll!(s.next()).is_pending());
        p.set_result(1).unwrap();
        assert_eq!(s.next().await.unwrap().into_result().unwrap(), 1);
    });
}

#[test]
fn gather_does_not_block_the_loop_while_done_callbacks_run() {
    on_each_runtime(|| async {
        // The callback returns only once this loop sends it a message: a
        // gather that parked the loop thread to take the value would hang.
        let (promise, fut) = Promise::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        fut.add_done_callback(move |_| {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        let completer = std::thread::spawn(move || promise.set_result(4).unwrap());
        started_rx.recv().unwrap();
        let (out, ()) = futures::future::join(
            gather(vec![fut, Future::ready(5)], RaiseFirst),
            async move { go_tx.send(()).unwrap() },
        )
        .await;
        assert_eq!(out.unwrap(), [4, 5]);
        completer.join().unwrap();
    });
}
