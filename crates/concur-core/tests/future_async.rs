//! `.await` on `Future`, `&Future`, `AnyFuture::done_signal()` and
//! `Watcher::poll_next`, under tokio's current-thread and multi-thread
//! runtimes and `futures::executor::block_on`; waker registration by hand.

mod helpers;

use concur_core::{Error, ErrorKind, Future, Promise, Watcher};
use concur_testkit::TestError;
use helpers::*;
use std::future::{IntoFuture, poll_fn};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::thread;

/// Runs the test body built by `make` on each runtime in turn.
fn on_every_runtime<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(make());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Spawned, so it runs on (and may move between) worker threads.
    rt.block_on(async { tokio::spawn(make()).await.unwrap() });
    futures::executor::block_on(make());
}

#[test]
fn awaiting_an_owned_future_moves_the_value_out() {
    on_every_runtime(|| async {
        let (promise, fut) = Promise::<NotClone>::new();
        let t = set_later(promise, NotClone(8));
        let v: NotClone = fut.await.unwrap();
        assert_eq!(v, NotClone(8));
        t.join().unwrap();
    });
}

#[test]
fn awaiting_a_borrowed_future_borrows_the_value() {
    on_every_runtime(|| async {
        let (promise, fut) = Promise::<NotClone>::new();
        let other = fut.clone();
        let t = set_later(promise, NotClone(9));
        let v: &NotClone = (&fut).await.unwrap();
        assert_eq!(v, &NotClone(9));
        assert_eq!((&other).await.unwrap(), &NotClone(9));
        t.join().unwrap();
    });
}

#[test]
fn awaiting_failed_and_cancelled_futures_gives_their_errors() {
    on_every_runtime(|| async {
        let (promise, fut) = Promise::<u8>::new();
        let canceller = fut.clone();
        let t = thread::spawn(move || {
            thread::sleep(SHORT);
            canceller.cancel()
        });
        assert!((&fut).await.unwrap_err().is_cancelled());
        assert!(fut.await.unwrap_err().is_cancelled());
        assert!(t.join().unwrap());
        drop(promise);

        let fut = Future::<u8>::from_error(Error::task(TestError(2)));
        let e = fut.await.unwrap_err();
        assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(2)));
    });
}

#[test]
fn done_signal_resolves_when_the_erased_future_is_done() {
    on_every_runtime(|| async {
        let (promise, fut) = Promise::<u8>::new();
        let any = fut.erase();
        let t = set_later(promise, 1);
        any.done_signal().await;
        assert!(any.done() && fut.done());
        t.join().unwrap();
        // Already done: resolves at once.
        Future::ready(()).erase().done_signal().await;
    });
}

#[test]
fn watcher_poll_next_yields_in_completion_order() {
    on_every_runtime(|| async {
        let (p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let mut w = Watcher::new();
        w.watch(f1.erase());
        w.watch(f2.erase());
        let t = thread::spawn(move || {
            thread::sleep(SHORT);
            p2.set_result(2).unwrap();
            thread::sleep(SHORT);
            p1.set_result(1).unwrap();
        });
        let mut order = Vec::new();
        while let Some((token, fut)) = poll_fn(|cx| w.poll_next(cx)).await {
            assert!(fut.done());
            order.push(token);
        }
        assert_eq!(order, [1, 0]);
        t.join().unwrap();
    });
}

#[test]
fn await_with_a_running_done_callback_still_gets_the_value() {
    on_every_runtime(|| async {
        let (promise, fut) = Promise::<NotClone>::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        fut.add_done_callback(move |f| {
            assert_eq!(f.result().unwrap(), &NotClone(3));
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
        });
        let completer = thread::spawn(move || promise.set_result(NotClone(3)).unwrap());
        let releaser = thread::spawn(move || {
            started_rx.recv().unwrap();
            thread::sleep(SHORT);
            go_tx.send(()).unwrap();
        });
        assert_eq!(fut.await.unwrap(), NotClone(3));
        completer.join().unwrap();
        releaser.join().unwrap();
    });
}

#[test]
fn polling_registers_one_waker_which_is_woken_once() {
    let (counter, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let (promise, fut) = Promise::<u8>::new();
    let mut borrowed = pin!((&fut).into_future());
    assert!(borrowed.as_mut().poll(&mut cx).is_pending());
    assert!(
        borrowed.as_mut().poll(&mut cx).is_pending(),
        "re-poll is fine"
    );
    assert_eq!(counter.count(), 0);
    promise.set_result(4).unwrap();
    assert_eq!(counter.count(), 1, "the same waker registered once");
    assert!(matches!(
        borrowed.as_mut().poll(&mut cx),
        Poll::Ready(Ok(&4))
    ));
}

#[test]
fn a_waker_replaced_between_polls_is_the_one_woken() {
    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let (promise, fut) = Promise::<u8>::new();
    let mut owned = pin!(fut.into_future());
    assert!(
        owned
            .as_mut()
            .poll(&mut Context::from_waker(&w1))
            .is_pending()
    );
    assert!(
        owned
            .as_mut()
            .poll(&mut Context::from_waker(&w2))
            .is_pending()
    );
    promise.set_result(5).unwrap();
    assert_eq!((c1.count(), c2.count()), (0, 1));
    assert!(matches!(
        owned.as_mut().poll(&mut Context::from_waker(&w2)),
        Poll::Ready(Ok(5))
    ));
    // Polled after completion: a typed error, not a panic.
    let again = owned.as_mut().poll(&mut Context::from_waker(&w2));
    assert!(matches!(again, Poll::Ready(Err(ref e)) if e.kind() == ErrorKind::InvalidState));
}

#[test]
fn dropping_an_awaiting_future_deregisters_without_cancelling() {
    let (c, w) = counting_waker();
    let (promise, fut) = Promise::<u8>::new();
    let keep = fut.clone();
    {
        let mut owned = pin!(fut.into_future());
        assert!(
            owned
                .as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
        let any = keep.erase();
        let mut signal = pin!(any.done_signal());
        assert!(
            signal
                .as_mut()
                .poll(&mut Context::from_waker(&w))
                .is_pending()
        );
    }
    assert!(!keep.cancelled());
    promise.set_result(1).unwrap();
    assert_eq!(c.count(), 0, "dropped awaiters were deregistered");
    assert_eq!(*keep.result().unwrap(), 1);
}

#[test]
fn watcher_poll_next_is_woken_once_for_several_completions() {
    let (c, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let (p1, f1) = Promise::<u8>::new();
    let (p2, f2) = Promise::<u8>::new();
    let mut w = Watcher::new();
    w.watch(f1.erase());
    w.watch(f2.erase());
    assert!(w.poll_next(&mut cx).is_pending());
    p1.set_result(1).unwrap();
    p2.set_result(2).unwrap();
    assert_eq!(c.count(), 1);
    assert!(matches!(w.poll_next(&mut cx), Poll::Ready(Some((0, _)))));
    assert!(matches!(w.poll_next(&mut cx), Poll::Ready(Some((1, _)))));
    assert!(matches!(w.poll_next(&mut cx), Poll::Ready(None)));
    assert_eq!(c.count(), 1);
}

#[test]
fn a_panicking_waker_neither_stops_other_wake_ups_nor_reaches_the_completer() {
    let (c, good) = counting_waker();
    let bad = Waker::from(Arc::new(PanickingWaker));
    let hits = Arc::new(AtomicUsize::new(0));
    let (outcome, events) = capture_tracing(|| {
        let (promise, fut) = Promise::<u8>::new();
        let mut first = pin!((&fut).into_future());
        let mut second = pin!((&fut).into_future());
        assert!(
            first
                .as_mut()
                .poll(&mut Context::from_waker(&bad))
                .is_pending()
        );
        assert!(
            second
                .as_mut()
                .poll(&mut Context::from_waker(&good))
                .is_pending()
        );
        let h = hits.clone();
        fut.add_done_callback(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        });
        let set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| promise.set_result(1)));
        (set.map(|r| r.is_ok()), *fut.result().unwrap())
    });
    assert_eq!(outcome.0.ok(), Some(true), "set_result returned normally");
    assert_eq!(outcome.1, 1);
    assert_eq!(c.count(), 1, "the other waiter was woken");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "callbacks still ran");
    let report = events.iter().find(|e| e.target == "concur_core");
    if !cfg!(feature = "tracing") {
        assert!(
            report.is_none(),
            "no events without the feature: {events:?}"
        );
        return;
    }
    let report = report.expect("the panic is reported");
    assert_eq!(report.level, Level::ERROR);
    assert_eq!(report.field("error"), Some("task panicked: waker exploded"));
}

#[test]
fn many_tasks_awaiting_one_future_all_complete() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (promise, fut) = Promise::<u64>::new();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let f = fut.clone();
            rt.spawn(async move { *(&f).await.unwrap() })
        })
        .collect();
    let t = set_later(promise, 12);
    rt.block_on(async {
        for task in tasks {
            assert_eq!(task.await.unwrap(), 12);
        }
    });
    t.join().unwrap();
}
