//! Blocking reads (`result`, `exception`, their timeouts, `into_result`),
//! completion rules and the cross-thread cases. Ported from CPython's
//! `test_future.py` (`test_result_with_timeout`, `test_result_with_success`,
//! `test_result_with_cancel`, `test_exception_with_timeout`,
//! `test_exception_with_success`, `test_multiple_set_result`,
//! `test_multiple_set_exception`) plus the Rust ownership cases.

mod helpers;

use concur_core::{Error, ErrorKind, Future, Promise, State};
use concur_testkit::TestError;
use helpers::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn result_with_zero_timeout_in_every_state() {
    let timeout = Duration::ZERO;
    let err = pending_future::<u64>()
        .fut
        .result_timeout(timeout)
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.to_string(), "timed out: 1 (of 1) futures unfinished");
    assert!(
        running_future::<u64>()
            .fut
            .result_timeout(timeout)
            .unwrap_err()
            .is_timeout()
    );
    assert!(
        cancelled_future::<u64>()
            .fut
            .result_timeout(timeout)
            .unwrap_err()
            .is_cancelled()
    );
    let err = exception_future::<u64>()
        .fut
        .result_timeout(timeout)
        .unwrap_err();
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(5)));
    assert_eq!(
        *successful_future().fut.result_timeout(timeout).unwrap(),
        42
    );
}

#[test]
fn a_timed_out_wait_leaves_the_future_usable() {
    let (promise, fut) = Promise::<u64>::new();
    assert!(fut.result_timeout(Duration::from_millis(10)).is_err());
    assert!(!fut.wait_timeout(Duration::from_millis(1)));
    assert!(!fut.wait_deadline(Instant::now()));
    assert_eq!(fut.state(), State::Pending);
    promise.set_result(9).unwrap();
    assert_eq!(*fut.result_timeout(Duration::ZERO).unwrap(), 9);
    assert!(fut.wait_deadline(Instant::now()));
}

#[test]
fn huge_timeouts_never_panic() {
    let (promise, fut) = Promise::<u64>::new();
    let t = set_later(promise, 7);
    // `Instant + Duration::MAX` would overflow: it means "no limit".
    assert_eq!(*fut.result_timeout(Duration::MAX).unwrap(), 7);
    assert!(fut.wait_timeout(Duration::MAX));
    assert!(fut.exception_timeout(Duration::MAX).unwrap().is_none());
    t.join().unwrap();

    // The same through the erased handle, and far-future deadlines.
    let (promise, fut) = Promise::<u64>::new();
    let erased = fut.erase();
    let t = set_later(promise, 8);
    assert!(erased.wait_timeout(Duration::MAX));
    assert!(erased.wait_deadline(far_future()));
    assert!(fut.wait_deadline(far_future()));
    t.join().unwrap();
    let (promise, fut) = Promise::<u64>::new();
    let t = set_later(promise, 9);
    assert!(fut.wait_deadline(far_future()));
    t.join().unwrap();
}

#[test]
fn a_zero_timeout_polls_once() {
    let (promise, fut) = Promise::<u64>::new();
    let erased = fut.erase();
    assert!(!fut.wait_timeout(Duration::ZERO));
    assert!(!erased.wait_timeout(Duration::ZERO));
    assert!(!fut.wait_deadline(Instant::now() - Duration::from_millis(1)));
    assert!(
        fut.exception_timeout(Duration::ZERO)
            .unwrap_err()
            .is_timeout()
    );
    assert_eq!(fut.state(), State::Pending, "a poll changes nothing");
    promise.set_result(1).unwrap();
    assert!(fut.wait_timeout(Duration::ZERO));
    assert!(erased.wait_timeout(Duration::ZERO));
    assert_eq!(*fut.result_timeout(Duration::ZERO).unwrap(), 1);
}

#[test]
fn a_waiter_blocked_with_a_5s_timeout_receives_a_value_set_100ms_later() {
    let (promise, fut) = Promise::<NotClone>::new();
    let t = set_later(promise, NotClone(42));
    let start = Instant::now();
    assert_eq!(fut.result_timeout(LONG).unwrap(), &NotClone(42));
    assert!(
        start.elapsed() < LONG,
        "woken by the value, not the timeout"
    );
    t.join().unwrap();
}

#[test]
fn a_cancel_from_another_thread_wakes_a_blocked_waiter_with_cancelled() {
    let (promise, fut) = Promise::<u64>::new();
    let canceller = fut.clone();
    let t = thread::spawn(move || {
        thread::sleep(SHORT);
        assert!(canceller.cancel());
    });
    let err = fut.result_timeout(LONG).unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    t.join().unwrap();
    assert!(!promise.set_running_or_notify_cancel().unwrap());

    // The same with a waiter that has no timeout at all.
    let (_promise, fut) = Promise::<u64>::new();
    let canceller = fut.clone();
    let t = thread::spawn(move || {
        thread::sleep(SHORT);
        canceller.cancel()
    });
    assert!(fut.result().unwrap_err().is_cancelled());
    assert!(t.join().unwrap());
}

#[test]
fn exception_with_zero_timeout_in_every_state() {
    let timeout = Duration::ZERO;
    assert!(
        pending_future::<u64>()
            .fut
            .exception_timeout(timeout)
            .unwrap_err()
            .is_timeout()
    );
    assert!(
        running_future::<u64>()
            .fut
            .exception_timeout(timeout)
            .unwrap_err()
            .is_timeout()
    );
    // Cancellation is an outcome, not a failure to get one (unlike
    // CPython, which raises `CancelledError`): the timeout is the only Err.
    assert!(
        cancelled_future::<u64>()
            .fut
            .exception_timeout(timeout)
            .unwrap()
            .unwrap()
            .is_cancelled()
    );
    let e = exception_future::<u64>()
        .fut
        .exception_timeout(timeout)
        .unwrap()
        .unwrap();
    assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(5)));
    assert!(
        successful_future()
            .fut
            .exception_timeout(timeout)
            .unwrap()
            .is_none()
    );
}

#[test]
fn exception_set_from_another_thread_wakes_the_waiter() {
    let (promise, fut) = Promise::<u64>::new();
    let t = thread::spawn(move || {
        thread::sleep(SHORT);
        promise.set_exception(Error::task(TestError(3))).unwrap();
    });
    let e = fut.exception_timeout(LONG).unwrap().unwrap();
    assert_eq!(e.kind(), ErrorKind::Task);
    assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(3)));
    t.join().unwrap();
    // Blocking `exception()` and `result()` agree on the same stored error.
    assert!(fut.exception().unwrap().same_as(&e));
    assert!(fut.result().unwrap_err().same_as(&e));
}

#[test]
fn exception_of_a_cancelled_future_is_a_cancelled_error() {
    let f = cancelled_future::<u64>();
    assert!(f.fut.exception().unwrap().is_cancelled());
    assert!(f.fut.result().unwrap_err().is_cancelled(), "the same error");
}

#[test]
fn a_second_set_result_is_invalid_state_and_the_first_stays() {
    let (promise, fut) = Promise::<u64>::new();
    promise.set_result(1).unwrap();
    let err = promise.set_result(2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("finished"), "{err}");
    assert!(fut.done());
    assert_eq!(*fut.result().unwrap(), 1);
    // Nor can it fail afterwards.
    assert!(promise.set_exception(Error::shutdown()).is_err());
    assert_eq!(fut.state(), State::Finished);
}

#[test]
fn a_second_set_exception_is_invalid_state_and_the_first_error_stays() {
    let (promise, fut) = Promise::<u64>::new();
    let first = Error::task(TestError(1));
    promise.set_exception(first.clone()).unwrap();
    let err = promise
        .set_exception(Error::task(TestError(2)))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(fut.exception().unwrap().same_as(&first));
    assert!(promise.set_result(3).is_err());
    assert!(promise.set_outcome(Ok(3)).is_err());
    assert_eq!(fut.state(), State::Failed);
}

#[test]
fn racing_completions_have_exactly_one_winner() {
    for _ in 0..50 {
        let (promise, fut) = Promise::<usize>::new();
        let promise = Arc::new(promise);
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (p, b) = (promise.clone(), barrier.clone());
                thread::spawn(move || {
                    b.wait();
                    if i % 2 == 0 {
                        p.set_result(i).is_ok()
                    } else {
                        p.set_exception(Error::task(TestError(i as u32))).is_ok()
                    }
                })
            })
            .collect();
        let winners: Vec<usize> = threads
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.join().unwrap().then_some(i))
            .collect();
        assert_eq!(winners.len(), 1);
        let w = winners[0];
        match fut.result() {
            Ok(v) => assert_eq!(*v, w),
            Err(e) => assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(w as u32))),
        }
    }
}

#[test]
fn many_threads_waiting_on_one_future_all_get_the_value() {
    const N: usize = 8;
    let (promise, fut) = Promise::<NotClone>::new();
    let ready = Arc::new(Barrier::new(N + 1));
    let waiters: Vec<_> = (0..N)
        .map(|i| {
            let (fut, ready) = (fut.clone(), ready.clone());
            thread::spawn(move || {
                ready.wait();
                let v = if i % 2 == 0 {
                    fut.result().unwrap()
                } else {
                    fut.result_timeout(LONG).unwrap()
                };
                v.0
            })
        })
        .collect();
    ready.wait();
    thread::sleep(SHORT);
    promise.set_result(NotClone(77)).unwrap();
    for w in waiters {
        assert_eq!(w.join().unwrap(), 77);
    }
    // Every waiter dropped its handle: ours is the last and owns the value.
    assert_eq!(fut.into_result().unwrap(), NotClone(77));
}

#[test]
fn a_promise_dropped_uncompleted_fails_the_future_as_abandoned() {
    // A blocked waiter is woken, not left hanging.
    let (promise, fut) = Promise::<u64>::new();
    let t = thread::spawn(move || {
        thread::sleep(SHORT);
        drop(promise);
    });
    let err = fut.result_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Abandoned);
    assert!(
        err.to_string().contains("dropped without completing"),
        "{err}"
    );
    assert_eq!(fut.state(), State::Failed);
    t.join().unwrap();

    // Also once running (a worker that died mid-task).
    let running = running_future::<u64>();
    drop(running.promise);
    assert_eq!(
        running.fut.result().unwrap_err().kind(),
        ErrorKind::Abandoned
    );
    // A completed or cancelled future keeps its outcome.
    let (promise, fut) = Promise::new();
    promise.set_result(1u8).unwrap();
    drop(promise);
    assert_eq!(*fut.result().unwrap(), 1);
    let cancelled = cancelled_future::<u8>();
    drop(cancelled.promise);
    assert!(cancelled.fut.cancelled());
}

#[test]
fn into_result_moves_the_value_out_without_clone() {
    let (promise, fut) = Promise::new();
    let t = set_later(promise, NotClone(5));
    let v: NotClone = fut.into_result().unwrap();
    assert_eq!(v, NotClone(5));
    t.join().unwrap();
}

#[test]
fn into_result_drops_nothing_and_leaks_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let fut = Future::ready(DropProbe(drops.clone()));
    let probe = fut.into_result().unwrap();
    assert_eq!(drops.load(Ordering::SeqCst), 0, "moved, not dropped");
    drop(probe);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // A value never taken out is dropped with the last handle.
    let fut = Future::ready(DropProbe(drops.clone()));
    let other = fut.clone();
    drop(fut);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(other);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

#[test]
fn into_result_errors_while_clones_exist() {
    let fut = Future::ready(NotClone(1));
    let clone = fut.clone();
    let err = fut.into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("other clones"), "{err}");
    // The clone still reads the value, and is now the last handle.
    assert_eq!(clone.result().unwrap(), &NotClone(1));
    assert_eq!(clone.into_result().unwrap(), NotClone(1));

    // Erased handles do not count: they cannot read the value.
    let fut = Future::ready(NotClone(2));
    let erased = fut.erase();
    assert_eq!(fut.into_result().unwrap(), NotClone(2));
    assert!(erased.done());
}

#[test]
fn into_result_gives_the_stored_error_even_with_clones() {
    let fut = Future::<NotClone>::from_error(Error::task(TestError(8)));
    let clone = fut.clone();
    let e = fut.into_result().unwrap_err();
    assert_eq!(e.downcast_ref::<TestError>(), Some(&TestError(8)));
    assert!(clone.into_result().unwrap_err().same_as(&e));
}

#[test]
fn try_into_result_gives_the_handle_back_until_it_can_move() {
    let (promise, fut) = Promise::<NotClone>::new();
    let fut = fut.try_into_result().unwrap_err();
    promise.set_result(NotClone(3)).unwrap();
    let clone = fut.clone();
    let fut = fut.try_into_result().unwrap_err();
    drop(clone);
    assert_eq!(fut.try_into_result().unwrap().unwrap(), NotClone(3));
}

#[test]
fn into_result_waits_for_running_done_callbacks_instead_of_failing() {
    // A callback borrows the value through a handle lent by the completer.
    // `into_result` on the only user handle must wait for it, not fail.
    let (promise, fut) = Promise::<NotClone>::new();
    let (started_tx, started_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    fut.add_done_callback(move |f| {
        let v = f.result().unwrap();
        started_tx.send(()).unwrap();
        go_rx.recv().unwrap();
        seen2.store(v.0 as usize, Ordering::SeqCst);
    });
    let completer = thread::spawn(move || promise.set_result(NotClone(11)).unwrap());
    started_rx.recv().unwrap();
    // The callback is running now; release it a little later.
    let releaser = thread::spawn(move || {
        thread::sleep(SHORT);
        go_tx.send(()).unwrap();
    });
    assert_eq!(fut.into_result().unwrap(), NotClone(11));
    assert_eq!(seen.load(Ordering::SeqCst), 11, "the callback had finished");
    completer.join().unwrap();
    releaser.join().unwrap();
}

#[test]
fn into_result_inside_a_callback_of_the_same_future_fails_instead_of_deadlocking() {
    let (promise, fut) = Promise::<NotClone>::new();
    let (tx, rx) = mpsc::channel();
    let holder = std::sync::Mutex::new(Some(fut.clone()));
    fut.add_done_callback(move |_| {
        // The callback consumes the last user handle while it itself
        // borrows the value through the handle the completer lent it.
        let last = holder.lock().unwrap().take().unwrap();
        tx.send(last.into_result().map(|v| v.0)).unwrap();
    });
    drop(fut);
    promise.set_result(NotClone(4)).unwrap();
    let err = rx.recv_timeout(LONG).unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("done-callback"), "{err}");
}

#[test]
fn ready_failed_and_set_outcome_build_done_futures() {
    assert_eq!(*Future::ready(1u8).result().unwrap(), 1);
    let f = Future::<u8>::from_error(Error::broken("gone", None));
    assert_eq!(f.result().unwrap_err().kind(), ErrorKind::Broken);
    let (p, f) = Promise::<u8>::new();
    p.set_outcome(Err(Error::shutdown())).unwrap();
    assert_eq!(f.state(), State::Failed);
    let (p, f) = Promise::<u8>::new();
    p.set_outcome(Ok(2)).unwrap();
    assert_eq!(f.try_result().unwrap().unwrap(), &2);
    let (_p, f) = Promise::<u8>::new();
    assert!(f.try_result().is_none());
}

#[test]
fn wait_blocks_until_done_from_another_thread() {
    let (promise, fut) = Promise::<u8>::new();
    let t = set_later(promise, 1);
    fut.wait();
    assert!(fut.done());
    let erased = fut.erase();
    erased.wait();
    assert!(erased.wait_timeout(Duration::ZERO));
    assert!(erased.wait_deadline(Instant::now()));
    t.join().unwrap();

    let (promise, fut) = Promise::<u8>::new();
    let erased = fut.erase();
    assert!(!erased.wait_timeout(Duration::from_millis(1)));
    assert!(!erased.wait_deadline(Instant::now()));
    let t = set_later(promise, 2);
    assert!(erased.wait_deadline(Instant::now() + LONG));
    assert!(fut.wait_timeout(LONG));
    t.join().unwrap();
}

#[test]
fn concurrent_non_blocking_reads_of_a_done_future_agree() {
    // CPython's test_get_snapshot: many threads reading a finished future
    // all see the same (done, cancelled, value) snapshot.
    let fut = Future::ready(NotClone(100));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let fut = fut.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    let snapshot = (
                        fut.done(),
                        fut.cancelled(),
                        fut.try_result().map(|r| r.map(|v| v.0).ok()),
                    );
                    assert_eq!(snapshot, (true, false, Some(Some(100))));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Pending, failed and cancelled snapshots.
    let p = pending_future::<u8>();
    assert!(!p.fut.done() && p.fut.try_result().is_none());
    let c = cancelled_future::<u8>();
    assert!(c.fut.done() && c.fut.cancelled());
    assert!(c.fut.try_result().unwrap().unwrap_err().is_cancelled());
    let e = exception_future::<u8>();
    assert!(!e.fut.cancelled());
    assert_eq!(
        e.fut
            .try_result()
            .unwrap()
            .unwrap_err()
            .downcast_ref::<TestError>(),
        Some(&TestError(5))
    );
}
