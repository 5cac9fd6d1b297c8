//! Done-callbacks: value, error, cancel, already-done, registration order,
//! exactly-once, and panicking callbacks reported through `tracing`.
//! Ported from CPython's `test_future.py` (`test_done_callback_with_result`,
//! `…_with_exception`, `…_with_cancel`, `…_raises`, `…_already_successful`,
//! `…_already_failed`, `…_already_cancelled`,
//! `…_raises_already_succeeded`).

mod helpers;

use concur_core::{Error, ErrorKind, Future, Promise};
use concur_testkit::TestError;
use helpers::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;

/// Registers a callback that sends what it saw through a channel.
fn on_done<T: Send + 'static, R: Send + 'static>(
    fut: &Future<T>,
    see: impl FnOnce(&Future<T>) -> R + Send + 'static,
) -> mpsc::Receiver<R> {
    let (tx, rx) = mpsc::channel();
    fut.add_done_callback(move |f| tx.send(see(f)).unwrap());
    rx
}

#[test]
fn done_callback_with_result() {
    let (promise, fut) = Promise::<u64>::new();
    let rx = on_done(&fut, |f| *f.result().unwrap());
    assert!(rx.try_recv().is_err(), "not before completion");
    promise.set_result(5).unwrap();
    assert_eq!(rx.try_recv().unwrap(), 5, "ran during set_result");
}

#[test]
fn done_callback_with_exception() {
    let (promise, fut) = Promise::<u64>::new();
    let rx = on_done(&fut, |f| f.exception().unwrap());
    promise.set_exception(Error::task(TestError(1))).unwrap();
    let e = rx.try_recv().unwrap();
    assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(1)));
}

#[test]
fn done_callback_with_cancel() {
    let (_promise, fut) = Promise::<u64>::new();
    let rx = on_done(&fut, |f| f.cancelled());
    assert!(fut.cancel());
    assert!(rx.try_recv().unwrap());
}

#[test]
fn done_callback_on_abandon() {
    let (promise, fut) = Promise::<u64>::new();
    let rx = on_done(&fut, |f| f.result().unwrap_err().kind());
    drop(promise);
    assert_eq!(rx.try_recv().unwrap(), ErrorKind::Abandoned);
}

#[test]
fn done_callback_already_successful_runs_at_once_on_the_caller() {
    let fut = Future::ready(5u64);
    let me = thread::current().id();
    let rx = on_done(&fut, move |f| {
        (*f.result().unwrap(), thread::current().id() == me)
    });
    assert_eq!(rx.try_recv().unwrap(), (5, true));
}

#[test]
fn done_callback_already_failed() {
    let fut = Future::<u64>::from_error(Error::task(TestError(2)));
    let rx = on_done(&fut, |f| f.exception().unwrap());
    let e = rx.try_recv().unwrap();
    assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(2)));
}

#[test]
fn done_callback_already_cancelled() {
    let c = cancelled_future::<u64>();
    let rx = on_done(&c.fut, |f| f.cancelled());
    assert!(rx.try_recv().unwrap());
}

#[test]
fn callbacks_registered_before_completion_run_on_the_completing_thread() {
    let (promise, fut) = Promise::<u8>::new();
    let rx = on_done(&fut, |_| thread::current().id());
    let completer = thread::spawn(move || {
        promise.set_result(1).unwrap();
        thread::current().id()
    });
    let completer_id = completer.join().unwrap();
    assert_eq!(rx.recv_timeout(LONG).unwrap(), completer_id);
}

#[test]
fn callbacks_run_in_registration_order_exactly_once() {
    let (promise, fut) = Promise::<u8>::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..20 {
        let order = order.clone();
        // Register from clones too: the list belongs to the future.
        fut.clone()
            .add_done_callback(move |_| order.lock().unwrap().push(i));
    }
    promise.set_result(0).unwrap();
    assert!(promise.set_result(1).is_err());
    assert!(!fut.cancel());
    assert_eq!(*order.lock().unwrap(), (0..20).collect::<Vec<_>>());
    // A callback added afterwards runs once, at once; earlier ones do not rerun.
    let o = order.clone();
    fut.add_done_callback(move |_| o.lock().unwrap().push(99));
    assert_eq!(order.lock().unwrap().len(), 21);
    assert_eq!(order.lock().unwrap()[20], 99);
}

#[test]
fn a_callback_fires_exactly_once_whichever_way_the_future_ends() {
    for ending in 0..4 {
        let hits = Arc::new(AtomicUsize::new(0));
        let (promise, fut) = Promise::<u8>::new();
        let h = hits.clone();
        fut.add_done_callback(move |_| {
            h.fetch_add(1, Ordering::SeqCst);
        });
        match ending {
            0 => promise.set_result(1).unwrap(),
            1 => promise.set_exception(Error::shutdown()).unwrap(),
            2 => assert!(fut.cancel()),
            _ => drop(promise),
        }
        // Later attempts change nothing.
        let _ = fut.cancel();
        assert_eq!(hits.load(Ordering::SeqCst), 1, "ending {ending}");
    }
}

#[test]
fn a_callback_can_register_another_callback_which_runs_after_the_earlier_ones() {
    let (promise, fut) = Promise::<u8>::new();
    let (tx, rx) = mpsc::channel();
    let tx_last = tx.clone();
    fut.add_done_callback(move |f| {
        let tx2 = tx.clone();
        // Registered last: queued behind `second`, no deadlock.
        f.add_done_callback(move |g| tx2.send(("inner", *g.result().unwrap())).unwrap());
        tx.send(("outer", *f.result().unwrap())).unwrap();
    });
    fut.add_done_callback(move |f| tx_last.send(("second", *f.result().unwrap())).unwrap());
    promise.set_result(6).unwrap();
    let got: Vec<_> = rx.try_iter().collect();
    assert_eq!(got, [("outer", 6), ("second", 6), ("inner", 6)]);
}

#[test]
fn a_callback_added_while_earlier_ones_still_run_waits_its_turn() {
    // `first` is registered before completion and is still running on the
    // completing thread when `second` is registered on this (already done)
    // future: `second` must not overtake it.
    let (promise, fut) = Promise::<u8>::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let o = order.clone();
    fut.add_done_callback(move |_| {
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        o.lock().unwrap().push("first");
    });
    let completer = thread::spawn(move || promise.set_result(1).unwrap());
    started_rx.recv().unwrap();
    assert!(fut.done());
    let o = order.clone();
    let (done_tx, done_rx) = mpsc::channel();
    fut.add_done_callback(move |_| {
        o.lock().unwrap().push("second");
        done_tx.send(()).unwrap();
    });
    go_tx.send(()).unwrap();
    done_rx.recv_timeout(LONG).unwrap();
    completer.join().unwrap();
    assert_eq!(*order.lock().unwrap(), ["first", "second"]);
    // Once the completer is through, new callbacks run at once again.
    let me = thread::current().id();
    let rx = on_done(&fut, move |_| thread::current().id() == me);
    assert!(rx.try_recv().unwrap());
}

#[test]
fn a_panicking_callback_is_reported_and_later_callbacks_still_run() {
    let raising_called = Arc::new(AtomicBool::new(false));
    let fn_called = Arc::new(AtomicBool::new(false));
    let (result, events) = capture_tracing(|| {
        let (promise, fut) = Promise::<u64>::new();
        let r = raising_called.clone();
        fut.add_done_callback(move |_| {
            r.store(true, Ordering::SeqCst);
            panic!("doh!");
        });
        let f = fn_called.clone();
        fut.add_done_callback(move |_| f.store(true, Ordering::SeqCst));
        // The panic never reaches the completing side.
        let result = promise.set_result(5);
        (result, fut)
    });
    let (set, fut) = result;
    assert!(set.is_ok());
    assert!(raising_called.load(Ordering::SeqCst));
    assert!(fn_called.load(Ordering::SeqCst));
    assert_eq!(*fut.result().unwrap(), 5, "the value is untouched");

    let reports: Vec<_> = events
        .iter()
        .filter(|e| e.target == "concur_core")
        .collect();
    if !cfg!(feature = "tracing") {
        assert!(
            reports.is_empty(),
            "no events without the feature: {events:?}"
        );
        return;
    }
    assert_eq!(reports.len(), 1, "{events:?}");
    let report = reports[0];
    assert_eq!(report.level, Level::ERROR);
    assert!(
        report
            .field("message")
            .unwrap()
            .contains("done-callback panicked"),
        "{report:?}"
    );
    assert_eq!(report.field("error"), Some("task panicked: doh!"));
}

#[test]
fn a_panicking_callback_on_a_done_future_is_reported_to_the_registering_caller() {
    let (_, events) = capture_tracing(|| {
        let fut = Future::ready(5u64);
        fut.add_done_callback(|_| panic!("{}", String::from("doh again")));
        // Still usable afterwards.
        assert_eq!(*fut.result().unwrap(), 5);
    });
    let report = events.iter().find(|e| e.target == "concur_core");
    if !cfg!(feature = "tracing") {
        assert!(
            report.is_none(),
            "no events without the feature: {events:?}"
        );
        return;
    }
    let report = report.expect("a report");
    assert_eq!(report.level, Level::ERROR);
    assert_eq!(report.field("error"), Some("task panicked: doh again"));
}

#[test]
fn a_panicking_callback_does_not_kill_an_executor_worker() {
    use concur_core::Executor;
    let ex = OneWorker::new();
    let (promise, fut) = Promise::<u8>::new();
    fut.add_done_callback(|_| panic!("in callback"));
    // The worker completes the future, so it runs the panicking callback.
    let done = ex
        .submit(move || {
            promise.set_result(1).unwrap();
            thread::current().id()
        })
        .unwrap();
    assert_eq!(*done.result_timeout(LONG).unwrap(), ex.worker_id);
    let again = ex.submit(|| thread::current().id()).unwrap();
    assert_eq!(*again.result_timeout(LONG).unwrap(), ex.worker_id);
    assert_eq!(*fut.result().unwrap(), 1);
}

#[test]
fn callbacks_may_drop_the_last_handle_and_capture_clones() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (promise, fut) = Promise::new();
    let inner = fut.clone();
    fut.add_done_callback(move |f| {
        // Capturing a clone of the same future in its own callback makes no
        // reference cycle that outlives completion.
        assert_eq!(inner.id(), f.id());
    });
    drop(fut);
    promise.set_result(DropProbe(drops.clone())).unwrap();
    drop(promise);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "value freed with the last handle"
    );
}

// ------------------------------------------------ deferred callbacks

#[test]
fn deferred_callbacks_run_on_the_thread_that_runs_them() {
    let (promise, fut) = Promise::<u64>::new();
    let rx = on_done(&fut, |f| (*f.result().unwrap(), thread::current().id()));
    let deferred = promise
        .set_outcome_deferring_callbacks(Ok(5))
        .unwrap()
        .expect("a callback is registered");
    // Completed at once (waiters see it), the callback not run yet.
    assert_eq!(*fut.result().unwrap(), 5);
    assert!(rx.try_recv().is_err());
    let runner = thread::spawn(move || {
        deferred.run();
        thread::current().id()
    })
    .join()
    .unwrap();
    assert_eq!(rx.recv().unwrap(), (5, runner));
    assert_eq!(fut.into_result().unwrap(), 5);
}

#[test]
fn into_result_waits_for_deferred_callbacks() {
    let (promise, fut) = Promise::<String>::new();
    let saw = Arc::new(Mutex::new(None));
    let s = saw.clone();
    fut.add_done_callback(move |f| *s.lock().unwrap() = Some(f.result().unwrap().clone()));
    let deferred = promise
        .set_outcome_deferring_callbacks(Ok("v".to_string()))
        .unwrap()
        .unwrap();
    let consumer = thread::spawn(move || fut.into_result().unwrap());
    thread::sleep(std::time::Duration::from_millis(50));
    assert!(
        !consumer.is_finished(),
        "the value is still lent to the callback"
    );
    deferred.run();
    assert_eq!(consumer.join().unwrap(), "v");
    assert_eq!(saw.lock().unwrap().as_deref(), Some("v"));
}

#[test]
fn callbacks_added_while_deferred_run_after_them_in_order() {
    let (promise, fut) = Promise::<u8>::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    fut.add_done_callback(move |_| o.lock().unwrap().push(1));
    let deferred = promise
        .set_outcome_deferring_callbacks(Ok(1))
        .unwrap()
        .unwrap();
    let o = order.clone();
    // Registered after completion but before the deferred ones ran: queued.
    fut.add_done_callback(move |_| o.lock().unwrap().push(2));
    assert!(order.lock().unwrap().is_empty());
    deferred.run();
    assert_eq!(*order.lock().unwrap(), [1, 2]);
}

#[test]
fn dropping_deferred_callbacks_skips_them_and_ends_the_loan() {
    let (promise, fut) = Promise::<u8>::new();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    fut.add_done_callback(move |_| r.store(true, Ordering::SeqCst));
    drop(
        promise
            .set_outcome_deferring_callbacks(Err(Error::task(TestError(2))))
            .unwrap(),
    );
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Task);
    // The loan ended: the last handle can move the outcome out.
    assert!(fut.into_result().is_err());
}

#[test]
fn deferring_on_a_done_future_is_an_invalid_state() {
    let (promise, fut) = Promise::<u8>::new();
    assert!(fut.cancel());
    let err = promise.set_outcome_deferring_callbacks(Ok(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
}
