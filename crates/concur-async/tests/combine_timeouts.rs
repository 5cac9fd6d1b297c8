//! The async `as_completed`, `wait` and `gather` take what the blocking
//! twins take (`Future`, `&Future`, `AnyFuture`, and `WrappedFuture` without
//! `.detach()`) and their timeouts, under every runtime; pending wrapped
//! futures keep cancel-on-drop when a waiter gives them up.

mod helpers;

use concur_async::{
    CollectAll, RaiseFirst, ReturnWhen, as_completed, gather, run_in_executor, wait,
};
use concur_core::{AnyFuture, Error, ErrorKind, Future, Promise, Shutdown, State};
use concur_testkit::TestPool;
use futures::StreamExt;
use futures_core::Stream;
use helpers::{Gate, on_each_runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(30);

/// A one-worker pool whose worker is held by a gate, and a task queued
/// behind it that records whether it ever ran.
struct Blocked {
    pool: Arc<TestPool>,
    gate: Arc<Gate>,
    ran: Arc<AtomicBool>,
}

impl Blocked {
    fn new() -> (Self, concur_async::WrappedFuture<u8>) {
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let _holder = run_in_executor(&*pool, move || g.hold()).detach();
        gate.wait_started();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = run_in_executor(&*pool, move || {
            r.store(true, Ordering::SeqCst);
            2u8
        });
        (Self { pool, gate, ran }, queued)
    }

    /// Releases the worker and reports whether the queued task ran.
    fn finish(self) -> bool {
        self.gate.release();
        self.pool.shutdown();
        self.ran.load(Ordering::SeqCst)
    }
}

#[test]
fn as_completed_over_wrapped_futures_without_detach() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let tasks: Vec<_> = (0..20u64)
                .map(|i| run_in_executor(&*pool, move || i))
                .collect();
            let mut got = Vec::new();
            let mut s = as_completed(tasks);
            while let Some(done) = s.next().await {
                assert!(done.done());
                got.push(done.await.unwrap());
            }
            got.sort_unstable();
            assert_eq!(got, (0..20).collect::<Vec<_>>());
        }
    });
}

#[test]
fn as_completed_takes_borrowed_and_erased_futures() {
    on_each_runtime(|| async {
        let a = Future::ready(1u8);
        let b = Future::ready("two");
        let n = as_completed([&a, &a]).count().await;
        assert_eq!(n, 1);
        let mixed: Vec<AnyFuture> = vec![a.erase(), b.erase()];
        let ids: Vec<usize> = as_completed(&mixed).map(|f| f.id()).collect().await;
        assert_eq!(ids, [a.id(), b.id()]);
    });
}

#[test]
fn as_completed_timeout_ends_with_one_timeout_error() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let start = Instant::now();
        let mut s = as_completed(vec![Future::ready(1), pending.clone()])
            .timeout(Duration::from_millis(30));
        assert_eq!(s.size_hint(), (0, Some(3)));
        assert_eq!(s.next().await.unwrap().unwrap().into_result().unwrap(), 1);
        let err = s.next().await.unwrap().unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.message(), "1 (of 2) futures unfinished");
        assert!(s.next().await.is_none());
        assert!(futures::stream::FusedStream::is_terminated(&s));
        assert_eq!(s.remaining(), 0);
        assert_eq!(pending.state(), State::Pending, "plain futures run on");
    });
}

#[test]
fn as_completed_timeout_zero_yields_what_is_done_then_the_error() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let start = Instant::now();
        let items: Vec<_> = as_completed(vec![pending, Future::ready(2), Future::ready(3)])
            .timeout(Duration::ZERO)
            .collect()
            .await;
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_ok());
        assert!(items[2].as_ref().unwrap_err().is_timeout());
    });
}

#[test]
fn as_completed_timeout_max_is_no_limit() {
    on_each_runtime(|| async {
        let (p, f) = Promise::new();
        let mut s = as_completed(vec![f]).timeout(Duration::MAX);
        assert_eq!(s.size_hint(), (1, Some(1)));
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            p.set_result(5).unwrap();
        });
        assert_eq!(s.next().await.unwrap().unwrap().into_result().unwrap(), 5);
        assert!(s.next().await.is_none());
        t.join().unwrap();
    });
}

#[test]
fn as_completed_timeout_cancels_pending_wrapped_futures_it_drops() {
    on_each_runtime(|| async {
        let (blocked, queued) = Blocked::new();
        let keep = queued.future().unwrap().clone();
        let items: Vec<_> = as_completed(vec![queued])
            .timeout(Duration::from_millis(10))
            .collect()
            .await;
        assert!(items[0].as_ref().unwrap_err().is_timeout());
        assert!(keep.cancelled());
        assert!(!blocked.finish(), "the cancelled task never ran");
    });
}

#[test]
fn dropping_the_stream_cancels_pending_wrapped_futures() {
    on_each_runtime(|| async {
        let (blocked, queued) = Blocked::new();
        let keep = queued.future().unwrap().clone();
        let mut s = as_completed(vec![queued]);
        assert!(futures::poll!(s.next()).is_pending());
        drop(s);
        assert!(keep.cancelled());
        assert!(!blocked.finish());
    });
}

#[test]
fn wait_with_a_timeout_returns_at_the_deadline() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let start = Instant::now();
        let (done, not_done) = wait(
            [&Future::ready(1), &pending],
            Some(Duration::from_millis(30)),
            ReturnWhen::AllCompleted,
        )
        .await;
        assert!(start.elapsed() >= Duration::from_millis(30));
        assert_eq!((done.len(), not_done.len()), (1, 1));
        assert_eq!(not_done[0].id(), pending.id());
    });
}

#[test]
fn wait_timeout_zero_is_a_snapshot_and_max_no_limit() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let start = Instant::now();
        let (done, not_done) = wait(
            vec![pending.clone(), Future::ready(1)],
            Some(Duration::ZERO),
            ReturnWhen::FirstException,
        )
        .await;
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!((done.len(), not_done.len()), (1, 1));

        let (p, f) = Promise::new();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            p.set_result(2u8).unwrap();
        });
        let (done, not_done) = wait(vec![f], Some(Duration::MAX), ReturnWhen::AllCompleted).await;
        assert_eq!((done.len(), not_done.len()), (1, 0));
        t.join().unwrap();
    });
}

#[test]
fn wait_hands_wrapped_futures_back_pending_or_done() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let (_p, never) = Promise::<u8>::new();
            let quick = run_in_executor(&*pool, || 3u8);
            let slow = concur_async::wrap_future(never.clone());
            let (done, not_done) =
                wait(vec![quick, slow], Some(LONG), ReturnWhen::FirstCompleted).await;
            assert_eq!((done.len(), not_done.len()), (1, 1));
            let mut done = done;
            assert_eq!(done.pop().unwrap().await.unwrap(), 3);
            // The pending wrapper kept cancel-on-drop.
            drop(not_done);
            assert!(never.cancelled());
        }
    });
}

#[test]
fn wait_mixes_output_types_through_any_future() {
    on_each_runtime(|| async {
        let (p, s) = Promise::<String>::new();
        let fs = [Future::ready(1u8).erase(), s.erase()];
        let t = std::thread::spawn(move || p.set_exception(Error::task("x")).unwrap());
        let (done, not_done) = wait(&fs, Some(LONG), ReturnWhen::AllCompleted).await;
        t.join().unwrap();
        assert_eq!((done.len(), not_done.len()), (2, 0));
        assert!(done[1].failed());
    });
}

#[test]
fn gather_takes_wrapped_futures_without_detach() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let tasks = (0..10u64).map(|i| run_in_executor(&*pool, move || i * i));
            let out = gather(tasks, RaiseFirst).await.unwrap();
            assert_eq!(out, (0..10).map(|i| i * i).collect::<Vec<_>>());
        }
    });
}

#[test]
fn gather_timeout_raise_first_fails_and_cancels_what_has_not_started() {
    on_each_runtime(|| async {
        let (blocked, queued) = Blocked::new();
        let keep_wrapped = queued.future().unwrap().clone();
        let (_p, plain) = Promise::<u8>::new();
        let keep_plain = plain.clone();
        let start = Instant::now();
        let g = gather(vec![concur_async::wrap_future(plain), queued], RaiseFirst)
            .timeout(Duration::from_millis(20));
        let err = g.await.unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.message(), "2 (of 2) futures unfinished");
        assert!(keep_wrapped.cancelled());
        assert!(keep_plain.cancelled());
        assert!(!blocked.finish());
    });
}

#[test]
fn gather_timeout_collect_all_keeps_what_is_done() {
    on_each_runtime(|| async {
        let (_p, pending) = Promise::<u8>::new();
        let keep = pending.clone();
        let out = gather(
            vec![
                Future::ready(1),
                pending,
                Future::from_error(Error::task("x")),
            ],
            CollectAll,
        )
        .timeout(Duration::from_millis(10))
        .await;
        assert_eq!(*out[0].as_ref().unwrap(), 1);
        assert!(out[1].as_ref().unwrap_err().is_timeout());
        assert_eq!(out[2].as_ref().unwrap_err().kind(), ErrorKind::Task);
        assert!(keep.cancelled(), "a timeout cancels as dropping would");
    });
}

#[test]
fn gather_timeout_zero_and_max() {
    on_each_runtime(|| async {
        let all_done = gather(vec![Future::ready(1), Future::ready(2)], RaiseFirst)
            .timeout(Duration::ZERO)
            .await;
        assert_eq!(all_done.unwrap(), [1, 2], "done by now counts");

        let (_p, pending) = Promise::<u8>::new();
        let start = Instant::now();
        let err = gather(vec![pending], RaiseFirst)
            .timeout(Duration::ZERO)
            .await
            .unwrap_err();
        assert!(err.is_timeout());
        assert!(start.elapsed() < Duration::from_secs(5));

        let (p, f) = Promise::new();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            p.set_result(7u8).unwrap();
        });
        let out = gather(vec![f], RaiseFirst).timeout(Duration::MAX).await;
        assert_eq!(out.unwrap(), [7]);
        t.join().unwrap();
    });
}

#[test]
fn a_failed_gather_drops_pending_wrapped_futures_which_cancel() {
    on_each_runtime(|| async {
        let (blocked, queued) = Blocked::new();
        let keep_wrapped = queued.future().unwrap().clone();
        let (_p, plain) = Promise::<u8>::new();
        let keep_plain = plain.clone();
        let (pb, bad) = Promise::<u8>::new();
        let bad = concur_async::wrap_future(bad);
        let mut g = gather(vec![queued, bad], RaiseFirst);
        assert!(futures::poll!(&mut g).is_pending());
        pb.set_exception(Error::task("bad")).unwrap();
        assert_eq!(g.await.unwrap_err().to_string(), "task failed: bad");
        assert!(keep_wrapped.cancelled(), "the wrapper's cancel-on-drop");
        assert!(!blocked.finish());

        // Plain futures are not cancelled by an early error (asyncio).
        let g = gather(
            vec![plain, Future::from_error(Error::task("x"))],
            RaiseFirst,
        );
        assert!(g.await.is_err());
        assert_eq!(keep_plain.state(), State::Pending);
    });
}

#[test]
fn gather_of_an_already_resolved_wrapper_is_a_typed_error() {
    on_each_runtime(|| async {
        let mut w = concur_async::wrap_future(Future::ready(1u8));
        assert_eq!((&mut w).await.unwrap(), 1);
        let err = gather(vec![w], RaiseFirst).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
    });
}
