//! `run_in_executor`, `run_task_in_executor`, `wrap_future` and awaiting a
//! concur future directly, under every runtime. Ports the applicable cases
//! of CPython's `test_asyncio/test_futures.py` (`wrap_future`) and
//! `test_base_events.py` (`run_in_executor`).

mod helpers;

use concur_async::{run_in_executor, run_in_executor_fallible, run_task_in_executor, wrap_future};
use concur_core::Shutdown;
use concur_core::{ErrorKind, Executor, Future, Promise, State};
use concur_testkit::{Double, TestPool};
use helpers::{Gate, on_each_runtime};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

#[test]
fn awaiting_a_concur_future_completed_by_another_thread() {
    on_each_runtime(|| async {
        let (promise, fut) = Promise::new();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            promise.set_result(String::from("from a thread")).unwrap();
        });
        assert_eq!(
            fut.clone().await.unwrap_err().kind(),
            ErrorKind::InvalidState
        );
        assert_eq!((&fut).await.unwrap(), "from a thread");
        assert_eq!(fut.await.unwrap(), "from a thread");
        t.join().unwrap();
    });
}

#[test]
fn run_in_executor_returns_the_value() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let v = run_in_executor(&*pool, || (1..=100u64).sum::<u64>()).await;
            assert_eq!(v.unwrap(), 5050);
        }
    });
}

#[test]
fn run_in_executor_accepts_executor_by_reference_arc_and_dyn() {
    let pool = TestPool::shared(1);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            assert_eq!(run_in_executor(&pool, || 1).await.unwrap(), 1);
            let dyn_pool: &dyn Executor = &*pool;
            assert_eq!(run_in_executor(dyn_pool, || 2).await.unwrap(), 2);
        }
    });
}

#[test]
fn a_panicking_task_fails_the_awaitable() {
    let pool = TestPool::shared(1);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let err = run_in_executor(&*pool, || -> u8 { panic!("kaboom") })
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Panicked);
            assert_eq!(err.panic_message(), Some("kaboom"));
            // The worker survived.
            assert_eq!(run_in_executor(&*pool, || 3).await.unwrap(), 3);
        }
    });
}

#[test]
fn the_event_loop_is_not_blocked_while_the_task_runs() {
    // The task waits for a message that only the same event loop sends
    // after the awaitable was first polled: if awaiting blocked the loop
    // thread, this would deadlock.
    let pool = TestPool::shared(1);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let (tx, rx) = std::sync::mpsc::channel::<u32>();
            let work = run_in_executor(&*pool, move || rx.recv().unwrap() * 2);
            let (out, ()) = futures::future::join(work, async move {
                tx.send(21).unwrap();
            })
            .await;
            assert_eq!(out.unwrap(), 42);
        }
    });
}

#[test]
fn dropping_the_awaitable_before_start_cancels_the_task() {
    on_each_runtime(|| async {
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let blocker = run_in_executor(&*pool, move || g.hold()).detach();
        gate.wait_started();

        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = run_in_executor(&*pool, move || r.store(true, Ordering::SeqCst));
        let handle = queued.future().unwrap().clone();
        // Poll once so a waker is registered, then drop it.
        let mut queued = queued;
        assert!(futures::poll!(&mut queued).is_pending());
        drop(queued);
        assert!(handle.cancelled());

        gate.release();
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst), "the cancelled task ran");
        assert!(handle.result().unwrap_err().is_cancelled());
        assert_eq!(blocker.state(), State::Finished);
    });
}

#[test]
fn dropping_the_awaitable_after_start_lets_the_task_finish() {
    on_each_runtime(|| async {
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let running = run_in_executor(&*pool, move || {
            g.hold();
            7
        });
        gate.wait_started();
        let handle = running.future().unwrap().clone();
        drop(running);
        assert!(!handle.cancelled());
        gate.release();
        assert_eq!(*handle.result().unwrap(), 7);
        pool.shutdown();
    });
}

#[test]
fn detach_keeps_a_queued_task_alive() {
    on_each_runtime(|| async {
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let _blocker = run_in_executor(&*pool, move || g.hold()).detach();
        gate.wait_started();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let detached = run_in_executor(&*pool, move || r.store(true, Ordering::SeqCst)).detach();
        let handle = detached.clone();
        drop(detached);
        gate.release();
        pool.shutdown();
        assert!(ran.load(Ordering::SeqCst));
        assert_eq!(handle.state(), State::Finished);
        // The detached handle is itself awaitable.
        handle.await.unwrap();
    });
}

#[test]
fn dropping_a_wrapper_of_a_done_future_changes_nothing() {
    on_each_runtime(|| async {
        let finished = Future::ready(1);
        drop(wrap_future(finished.clone()));
        assert_eq!(finished.state(), State::Finished);
        assert_eq!(*finished.result().unwrap(), 1);

        let failed = Future::<u8>::from_error(concur_core::Error::task("no"));
        drop(wrap_future(failed.clone()));
        assert_eq!(failed.state(), State::Failed);

        // CPython test_wrap_future_cancel2: the source finished, then the
        // wrapper is dropped: the source keeps its result.
        let (p, f) = Promise::new();
        let w = wrap_future(f.clone());
        p.set_result(3).unwrap();
        drop(w);
        assert_eq!(*f.result().unwrap(), 3);
    });
}

#[test]
fn cancelling_the_wrapper_cancels_the_source_and_vice_versa() {
    on_each_runtime(|| async {
        // CPython test_wrap_future_cancel: cancelling the awaitable cancels
        // the concurrent future.
        let (p, f) = Promise::<u8>::new();
        let w = wrap_future(f.clone());
        assert!(w.cancel());
        assert!(f.cancelled());
        assert!(w.await.unwrap_err().is_cancelled());
        assert!(!p.set_running_or_notify_cancel().unwrap());

        // Cancelling the source resolves the awaitable as cancelled.
        let (_p, f) = Promise::<u8>::new();
        let w = wrap_future(f.clone());
        f.cancel();
        drop(f);
        assert!(w.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_shut_down_executor_fails_the_awaitable_with_shutdown() {
    let pool = TestPool::shared(1);
    pool.shutdown();
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let err = run_in_executor(&*pool, move || r.store(true, Ordering::SeqCst))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Shutdown);
            assert!(!ran.load(Ordering::SeqCst));
        }
    });
}

#[test]
fn run_task_in_executor_runs_remote_functions() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            assert_eq!(run_task_in_executor(&*pool, Double, 21).await.unwrap(), 42);
            let err = run_task_in_executor(&*pool, Double, 200).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Task);
            assert_eq!(err.to_string(), "task failed: overflow");
        }
    });
    pool.shutdown();
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let err = run_task_in_executor(&*pool, Double, 1).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Shutdown);
        }
    });
}

#[test]
fn many_concurrent_awaits_all_complete() {
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let ws: Vec<_> = (0..200u64)
                .map(|i| run_in_executor(&*pool, move || i))
                .collect();
            let outs = futures::future::join_all(ws).await;
            let sum: u64 = outs.into_iter().map(Result::unwrap).sum();
            assert_eq!(sum, 199 * 200 / 2);
        }
    });
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);
impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_waker_of_the_latest_poll_is_the_one_woken() {
    let (p, f) = Promise::new();
    let mut w = wrap_future(f);
    let a = Arc::new(CountingWaker::default());
    let b = Arc::new(CountingWaker::default());
    let wa = Waker::from(a.clone());
    let wb = Waker::from(b.clone());
    assert!(
        std::pin::Pin::new(&mut w)
            .poll(&mut Context::from_waker(&wa))
            .is_pending()
    );
    assert!(
        std::pin::Pin::new(&mut w)
            .poll(&mut Context::from_waker(&wb))
            .is_pending()
    );
    p.set_result(5).unwrap();
    assert_eq!(b.0.load(Ordering::SeqCst), 1);
    assert_eq!(a.0.load(Ordering::SeqCst), 0);
    let out = std::pin::Pin::new(&mut w).poll(&mut Context::from_waker(&wb));
    assert!(matches!(out, Poll::Ready(Ok(5))));
    // Polling again is a typed error, not a panic.
    let again = std::pin::Pin::new(&mut w).poll(&mut Context::from_waker(&wb));
    assert!(matches!(again, Poll::Ready(Err(e)) if e.kind() == ErrorKind::InvalidState));
    assert!(w.done());
    assert_eq!(w.state(), State::Finished);
}

#[test]
fn awaiting_while_other_handles_exist_is_an_invalid_state_error() {
    on_each_runtime(|| async {
        let f = Future::ready(vec![1]);
        let keep = f.clone();
        let err = wrap_future(f).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);
        assert_eq!(*keep.result().unwrap(), [1]);
    });
}

#[test]
fn accessors_after_resolution_give_typed_answers() {
    on_each_runtime(|| async {
        let mut w = wrap_future(Future::ready(1u8));
        assert!(!futures::future::FusedFuture::is_terminated(&w));
        assert_eq!((&mut w).await.unwrap(), 1);
        assert!(futures::future::FusedFuture::is_terminated(&w));
        assert!(w.future().is_none());
        assert!(w.done());
        assert!(!w.cancel());
        let detached = w.detach();
        assert_eq!(
            detached.result().unwrap_err().kind(),
            ErrorKind::InvalidState
        );
    });
}

#[test]
fn a_tokio_timeout_cancels_a_queued_task() {
    // asyncio's `wait_for(run_in_executor(...), t)`: the timeout drops the
    // awaitable, which cancels the task if it has not started.
    for name in ["tokio-current-thread", "tokio-multi-thread"] {
        helpers::run_on(name, async {
            let pool = TestPool::shared(1);
            let gate = Gate::new();
            let g = gate.clone();
            let _blocker = run_in_executor(&*pool, move || g.hold()).detach();
            gate.wait_started();
            let ran = Arc::new(AtomicBool::new(false));
            let r = ran.clone();
            let queued = run_in_executor(&*pool, move || r.store(true, Ordering::SeqCst));
            let handle = queued.future().unwrap().clone();
            let out = tokio::time::timeout(std::time::Duration::from_millis(20), queued).await;
            assert!(out.is_err(), "timed out");
            assert!(handle.cancelled());
            gate.release();
            pool.shutdown();
            assert!(!ran.load(Ordering::SeqCst));
        });
    }
}

#[test]
fn a_slow_done_callback_does_not_block_the_event_loop() {
    // The value is lent to done-callbacks while they run; awaiting must
    // wait for them with a waker, not park the loop thread. The callback
    // here only returns once this same loop sends it a message.
    on_each_runtime(|| async {
        let (promise, fut) = Promise::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        fut.add_done_callback(move |f| {
            assert_eq!(*f.result().unwrap(), 11);
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        let completer = std::thread::spawn(move || promise.set_result(11).unwrap());
        started_rx.recv().unwrap();
        let (out, ()) = futures::future::join(wrap_future(fut), async move {
            go_tx.send(()).unwrap();
        })
        .await;
        assert_eq!(out.unwrap(), 11);
        completer.join().unwrap();
    });
}

#[test]
fn run_in_executor_fallible_flattens_the_closures_error() {
    let pool = TestPool::shared(1);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let ok = run_in_executor_fallible(&*pool, || "42".parse::<u8>()).await;
            assert_eq!(ok.unwrap(), 42);
            let err = run_in_executor_fallible(&*pool, || "x".parse::<u8>())
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Task);
            assert!(err.downcast_ref::<std::num::ParseIntError>().is_some());
        }
    });
    pool.shutdown();
    futures::executor::block_on(async {
        let err = run_in_executor_fallible(&*pool, || "1".parse::<u8>())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Shutdown);
    });
}
