//! `Future::on_done`: the consuming callback that receives the outcome by
//! move once no other handle can read it, exactly once.

mod helpers;

use concur_core::{Error, ErrorKind, Future, Promise};
use helpers::*;
use std::cell::Cell;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A value that is neither `Clone` nor `Sync`.
type Unshared = Cell<String>;

fn unshared(s: &str) -> Unshared {
    Cell::new(s.to_string())
}

fn consume<T: Send + 'static>(fut: Future<T>) -> mpsc::Receiver<Result<T, Error>> {
    let (tx, rx) = mpsc::channel();
    fut.on_done(move |r| tx.send(r).unwrap());
    rx
}

#[test]
fn the_value_moves_to_the_consumer_of_the_only_handle() {
    let (promise, fut) = Promise::<Unshared>::new();
    let rx = consume(fut);
    assert!(rx.try_recv().is_err(), "not done yet");
    promise.set_result(unshared("mine")).unwrap();
    assert_eq!(rx.try_recv().unwrap().unwrap().into_inner(), "mine");
}

#[test]
fn an_already_done_future_delivers_at_registration_on_the_calling_thread() {
    let fut = Future::ready(unshared("now"));
    let me = thread::current().id();
    let (tx, rx) = mpsc::channel();
    fut.on_done(move |r| {
        tx.send((thread::current().id(), r.unwrap().into_inner()))
            .unwrap()
    });
    assert_eq!(rx.try_recv().unwrap(), (me, "now".to_string()));
}

#[test]
fn delivery_waits_for_clones_dropped_later_on_another_thread() {
    let (promise, fut) = Promise::<Unshared>::new();
    let clones: Vec<_> = (0..3).map(|_| fut.clone()).collect();
    let rx = consume(fut);
    promise.set_result(unshared("last")).unwrap();
    assert!(rx.try_recv().is_err(), "clones can still read the value");
    let dropper = thread::spawn(move || {
        for c in clones {
            assert!(c.done());
            drop(c);
        }
        thread::current().id()
    });
    dropper.join().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap()
            .unwrap()
            .into_inner(),
        "last"
    );
}

#[test]
fn the_consumer_runs_on_the_thread_of_the_last_event() {
    // Completion last: the completing thread delivers.
    let (promise, fut) = Promise::<Unshared>::new();
    let (tx, rx) = mpsc::channel();
    fut.on_done(move |r| {
        tx.send((thread::current().id(), r.unwrap().into_inner()))
            .unwrap()
    });
    let t = thread::spawn(move || {
        promise.set_result(unshared("c")).unwrap();
        thread::current().id()
    });
    let completer = t.join().unwrap();
    assert_eq!(rx.recv().unwrap(), (completer, "c".to_string()));

    // The last clone's drop last: the dropping thread delivers.
    let (promise, fut) = Promise::<Unshared>::new();
    let other = fut.clone();
    let (tx, rx) = mpsc::channel();
    fut.on_done(move |r| {
        tx.send((thread::current().id(), r.unwrap().into_inner()))
            .unwrap()
    });
    promise.set_result(unshared("d")).unwrap();
    let t = thread::spawn(move || {
        drop(other);
        thread::current().id()
    });
    let dropper = t.join().unwrap();
    assert_eq!(rx.recv().unwrap(), (dropper, "d".to_string()));
}

#[test]
fn erased_handles_and_the_promise_do_not_hold_back_delivery() {
    let (promise, fut) = Promise::<Unshared>::new();
    let erased = fut.erase();
    let rx = consume(fut);
    promise.set_result(unshared("e")).unwrap();
    assert_eq!(rx.try_recv().unwrap().unwrap().into_inner(), "e");
    assert!(erased.done());
    drop(promise);
}

#[test]
fn two_consumers_the_first_gets_the_value_the_second_an_invalid_state() {
    let (promise, fut) = Promise::<Unshared>::new();
    let second = fut.clone();
    let (tx, rx) = mpsc::channel();
    let tx2 = tx.clone();
    fut.on_done(move |r| tx.send((1, r.map(Cell::into_inner))).unwrap());
    second.on_done(move |r| tx2.send((2, r.map(Cell::into_inner))).unwrap());
    promise.set_result(unshared("one")).unwrap();
    let (a, ra) = rx.try_recv().unwrap();
    let (b, rb) = rx.try_recv().unwrap();
    assert_eq!((a, ra.unwrap()), (1, "one".to_string()));
    assert_eq!(b, 2);
    let err = rb.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("earlier consumer"), "{err}");
    assert!(rx.try_recv().is_err(), "each consumer runs once");
}

#[test]
fn errors_are_cloned_to_every_consumer() {
    let (promise, fut) = Promise::<Unshared>::new();
    let second = fut.clone();
    let r1 = consume(fut);
    let r2 = consume(second);
    promise.set_exception(Error::task("bad")).unwrap();
    assert_eq!(
        r1.try_recv().unwrap().err().unwrap().to_string(),
        "task failed: bad"
    );
    assert_eq!(
        r2.try_recv().unwrap().err().unwrap().to_string(),
        "task failed: bad"
    );
}

#[test]
fn cancellation_reaches_the_consumer() {
    let (promise, fut) = Promise::<Unshared>::new();
    let erased = fut.erase();
    let rx = consume(fut);
    assert!(erased.cancel());
    assert!(rx.try_recv().unwrap().err().unwrap().is_cancelled());
    assert!(!promise.set_running_or_notify_cancel().unwrap());
}

#[test]
fn a_dropped_promise_gives_the_consumer_abandoned() {
    let (promise, fut) = Promise::<Unshared>::new();
    let rx = consume(fut);
    drop(promise);
    assert_eq!(
        rx.try_recv().unwrap().err().unwrap().kind(),
        ErrorKind::Abandoned
    );
}

#[test]
fn delivery_waits_for_running_done_callbacks() {
    let (promise, fut) = Promise::<Unshared>::new();
    let (seen_tx, seen_rx) = mpsc::channel();
    // A done-callback is lent a handle and keeps a clone of it.
    let (kept_tx, kept_rx) = mpsc::channel();
    fut.add_done_callback(move |f| {
        seen_tx.send(f.done()).unwrap();
        kept_tx.send(f.clone()).unwrap();
    });
    let rx = consume(fut);
    promise.set_result(unshared("after callbacks")).unwrap();
    assert!(seen_rx.try_recv().unwrap());
    assert!(rx.try_recv().is_err(), "the callback's clone still exists");
    drop(kept_rx.try_recv().unwrap());
    assert_eq!(
        rx.try_recv().unwrap().unwrap().into_inner(),
        "after callbacks"
    );
}

#[test]
fn deferred_callbacks_hold_delivery_until_they_ran() {
    let (promise, fut) = Promise::<Unshared>::new();
    fut.add_done_callback(|f| assert!(f.done()));
    let rx = consume(fut);
    let deferred = promise
        .set_outcome_deferring_callbacks(Ok(unshared("later")))
        .unwrap()
        .unwrap();
    assert!(rx.try_recv().is_err(), "callbacks not run yet");
    thread::spawn(move || deferred.run()).join().unwrap();
    assert_eq!(rx.try_recv().unwrap().unwrap().into_inner(), "later");
}

#[test]
fn into_result_on_the_other_handle_leaves_the_consumer_an_invalid_state() {
    let (promise, fut) = Promise::<Unshared>::new();
    let other = fut.clone();
    let rx = consume(fut);
    promise.set_result(unshared("taken")).unwrap();
    assert_eq!(other.into_result().unwrap().into_inner(), "taken");
    let err = rx.try_recv().unwrap().err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
}

#[test]
fn a_panicking_consumer_is_reported_and_not_propagated() {
    let (result, events) = capture_tracing(|| {
        let (promise, fut) = Promise::<u8>::new();
        let second = fut.clone();
        fut.on_done(|_| panic!("consumer doh"));
        let rx = consume(second);
        let set = promise.set_result(1);
        (set, rx.try_recv().unwrap())
    });
    let (set, second) = result;
    assert!(set.is_ok(), "the panic never reaches the completer");
    assert_eq!(
        second.unwrap_err().kind(),
        ErrorKind::InvalidState,
        "later consumers still run"
    );
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
    assert_eq!(reports[0].level, Level::ERROR);
    assert!(
        reports[0]
            .field("message")
            .unwrap()
            .contains("on_done consumer panicked"),
        "{:?}",
        reports[0]
    );
    assert_eq!(
        reports[0].field("error"),
        Some("task panicked: consumer doh")
    );
}

#[test]
fn many_threads_race_drops_against_completion_and_deliver_once() {
    for _ in 0..200 {
        let (promise, fut) = Promise::<Unshared>::new();
        let clones: Vec<_> = (0..4).map(|_| fut.clone()).collect();
        let rx = consume(fut);
        let droppers: Vec<_> = clones
            .into_iter()
            .map(|c| thread::spawn(move || drop(c)))
            .collect();
        let completer = thread::spawn(move || promise.set_result(unshared("race")).unwrap());
        for d in droppers {
            d.join().unwrap();
        }
        completer.join().unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5))
                .unwrap()
                .unwrap()
                .into_inner(),
            "race"
        );
        assert!(rx.try_recv().is_err());
    }
}
