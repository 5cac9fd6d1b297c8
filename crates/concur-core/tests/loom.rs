//! Loom models of the future's state machine, named after the interleaving
//! each one checks. Run with `cargo xtask loom -p concur-core`
//! (`--cfg concur_loom`, release, `LOOM_MAX_PREEMPTIONS=2`).
//!
//! Every model uses at most three threads, no syscalls and no real time:
//! timed waits use a deadline already past, since under loom a timed park
//! is a yield.

#![cfg(concur_loom)]

use concur_core::{ErrorKind, Promise, State, Watcher};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use std::future::{Future as _, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

/// A waker that counts its wake-ups on a loom atomic (the `std` `Arc` the
/// `Wake` trait needs is not part of what is modelled).
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<Counter>, Waker) {
    let c = std::sync::Arc::new(Counter(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

impl Counter {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// `cancel()` from one thread against the executor's
/// `set_running_or_notify_cancel()` + `set_result()`: exactly one wins and
/// the outcome matches.
#[test]
fn cancel_races_start() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let canceller = fut.clone();
        let t = thread::spawn(move || canceller.cancel());
        let started = promise.set_running_or_notify_cancel().unwrap();
        if started {
            promise.set_result(1).unwrap();
        }
        let cancelled = t.join().unwrap();
        assert_ne!(started, cancelled, "exactly one side wins");
        if cancelled {
            assert_eq!(fut.state(), State::Cancelled);
            assert!(fut.result().unwrap_err().is_cancelled());
        } else {
            assert_eq!(*fut.result().unwrap(), 1);
        }
    });
}

/// Two callbacks registered while another thread completes: each runs
/// exactly once, sees the value, and they run in registration order
/// (whether on the completing thread, inline, or queued behind the first).
#[test]
fn completion_races_callback_registration() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let t = thread::spawn(move || promise.set_result(7).unwrap());
        let order = Arc::new(Mutex::new(Vec::new()));
        for i in 0..2u8 {
            let order = order.clone();
            fut.add_done_callback(move |f| {
                order.lock().unwrap().push((i, *f.result().unwrap()));
            });
        }
        t.join().unwrap();
        assert_eq!(*order.lock().unwrap(), [(0, 7), (1, 7)]);
    });
}

/// A waiter with an already-past deadline races the completion: it either
/// sees the value or times out, never hangs, and leaves no stale
/// registration behind (a later blocking read still gets the value).
#[test]
fn completion_races_timed_out_waiter() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let waiter = fut.clone();
        let t = thread::spawn(
            move || match waiter.result_timeout(std::time::Duration::ZERO) {
                Ok(v) => Some(*v),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::Timeout);
                    assert!(!waiter.wait_deadline(Instant::now()) || waiter.done());
                    None
                }
            },
        );
        promise.set_result(3).unwrap();
        if let Some(v) = t.join().unwrap() {
            assert_eq!(v, 3);
        }
        assert_eq!(*fut.result().unwrap(), 3);
    });
}

/// A blocked waiter (no deadline) is woken by a cancel from another thread.
#[test]
fn cancel_races_blocked_waiter() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let canceller = fut.clone();
        let t = thread::spawn(move || canceller.cancel());
        let err = fut.result().unwrap_err();
        assert!(err.is_cancelled());
        assert!(t.join().unwrap());
        assert!(!promise.set_running_or_notify_cancel().unwrap());
    });
}

/// The promise dropped on another thread while a waiter blocks: the waiter
/// wakes with `Abandoned`, it never hangs.
#[test]
fn promise_drop_races_blocked_waiter() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let t = thread::spawn(move || drop(promise));
        assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Abandoned);
        t.join().unwrap();
    });
}

/// A watcher polled once, then two futures completed concurrently on two
/// threads: its waker is woken exactly once, and both futures are yielded
/// exactly once afterwards.
#[test]
fn watcher_woken_exactly_once_under_concurrent_completions() {
    loom::model(|| {
        let (p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let mut w = Watcher::new();
        w.watch(f1.erase());
        w.watch(f2.erase());
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(w.poll_next(&mut cx).is_pending());
        let t1 = thread::spawn(move || p1.set_result(1).unwrap());
        let t2 = thread::spawn(move || p2.set_result(2).unwrap());
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(counter.count(), 1);
        let mut tokens = Vec::new();
        while let Poll::Ready(Some((t, f))) = w.poll_next(&mut cx) {
            assert!(f.done());
            tokens.push(t);
        }
        tokens.sort_unstable();
        assert_eq!(tokens, [0, 1]);
        assert_eq!(counter.count(), 1);
    });
}

/// A blocking watcher (no deadline) while two threads complete its two
/// futures: no lost wake-up, each future yielded once.
#[test]
fn blocked_watcher_races_concurrent_completions() {
    loom::model(|| {
        let (p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let mut w = Watcher::new();
        w.watch(f1.erase());
        w.watch(f2.erase());
        let t1 = thread::spawn(move || p1.set_result(1).unwrap());
        let t2 = thread::spawn(move || p2.set_result(2).unwrap());
        let a = w.next_until(None).unwrap().unwrap().0;
        let b = w.next_until(None).unwrap().unwrap().0;
        assert_ne!(a, b);
        assert!(w.next_until(None).unwrap().is_none());
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// A task's first poll (registering its waker) races the completion: if
/// the poll saw it pending, the waker is woken exactly once; if it saw it
/// done, never.
#[test]
fn waker_registration_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let t = thread::spawn(move || promise.set_result(4).unwrap());
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut read = pin!((&fut).into_future());
        let first = read.as_mut().poll(&mut cx);
        t.join().unwrap();
        match first {
            Poll::Pending => {
                assert_eq!(counter.count(), 1);
                assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(&4))));
            }
            Poll::Ready(r) => {
                assert_eq!(*r.unwrap(), 4);
                assert_eq!(counter.count(), 0);
            }
        }
    });
}

/// Polled with waker 1 (pending), then re-polled with waker 2 while the
/// completion races: exactly the registered waker of the time is woken,
/// once; never both, never none.
#[test]
fn waker_replaced_between_polls_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let (c1, w1) = counting_waker();
        let (c2, w2) = counting_waker();
        let mut owned = pin!(fut.into_future());
        assert!(
            owned
                .as_mut()
                .poll(&mut Context::from_waker(&w1))
                .is_pending()
        );
        let t = thread::spawn(move || promise.set_result(5).unwrap());
        let second = owned.as_mut().poll(&mut Context::from_waker(&w2));
        t.join().unwrap();
        match second {
            Poll::Pending => {
                assert_eq!((c1.count(), c2.count()), (0, 1));
                assert!(matches!(
                    owned.as_mut().poll(&mut Context::from_waker(&w2)),
                    Poll::Ready(Ok(5))
                ));
            }
            Poll::Ready(r) => {
                assert_eq!(r.unwrap(), 5);
                assert_eq!((c1.count(), c2.count()), (1, 0));
            }
        }
    });
}

/// `into_result` on the last handle races a reader that drops its clone:
/// the move happens only after the reader's borrow ended (loom checks the
/// cell accesses), and otherwise fails cleanly with `InvalidState`.
#[test]
fn into_result_races_clone_drop() {
    loom::model(|| {
        let (promise, fut) = Promise::<String>::new();
        promise.set_result(String::from("v")).unwrap();
        let reader = fut.clone();
        let t = thread::spawn(move || {
            assert_eq!(reader.result().unwrap(), "v");
            drop(reader);
        });
        match fut.into_result() {
            Ok(v) => assert_eq!(v, "v"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidState),
        }
        t.join().unwrap();
    });
}

/// `into_result` on the only user handle while the completing thread runs
/// a done-callback that reads the value: it waits for the callback and
/// always gets the value.
#[test]
fn into_result_races_running_callback() {
    loom::model(|| {
        let (promise, fut) = Promise::<String>::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        fut.add_done_callback(move |f| {
            s.store(f.result().unwrap().len(), Ordering::SeqCst);
        });
        let t = thread::spawn(move || promise.set_result(String::from("abc")).unwrap());
        assert_eq!(fut.into_result().unwrap(), "abc");
        assert_eq!(seen.load(Ordering::SeqCst), 3, "the callback had finished");
        t.join().unwrap();
    });
}

/// Two completers race (`set_result` against `set_exception`): exactly one
/// succeeds and a blocked reader sees that one.
#[test]
fn set_result_races_set_exception() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let promise = Arc::new(promise);
        let p = promise.clone();
        let t = thread::spawn(move || p.set_exception(concur_core::Error::shutdown()).is_ok());
        let ok = promise.set_result(1).is_ok();
        let failed = t.join().unwrap();
        assert_ne!(ok, failed);
        match fut.result() {
            Ok(v) => assert!(ok && *v == 1),
            Err(e) => assert!(failed && e.kind() == ErrorKind::Shutdown),
        }
    });
}

/// `.await` on the only handle (polled by hand) while the completing thread
/// runs a done-callback: the task either gets the value at once or is
/// woken once the callback returned the loan, then gets it; never
/// `InvalidState`, never a lost wake-up.
#[test]
fn awaited_into_result_races_running_callback() {
    loom::model(|| {
        let (promise, fut) = Promise::<String>::new();
        fut.add_done_callback(|f| assert_eq!(f.result().unwrap(), "abc"));
        let (counter, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut owned = pin!(fut.into_future());
        let t = thread::spawn(move || promise.set_result(String::from("abc")).unwrap());
        let mut polls = 0;
        let value = loop {
            let woken_before = counter.count();
            match owned.as_mut().poll(&mut cx) {
                Poll::Ready(r) => break r.unwrap(),
                Poll::Pending => {
                    polls += 1;
                    assert!(polls <= 3, "re-polled only after a wake-up");
                    // Wait (modelled) for the wake-up this Pending promised.
                    while counter.count() == woken_before {
                        thread::yield_now();
                    }
                }
            }
        };
        assert_eq!(value, "abc");
        t.join().unwrap();
    });
}

/// `watch()` races the completion of the future it registers on: the
/// token is queued exactly once, by the completer or by `watch` itself.
#[test]
fn watch_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let t = thread::spawn(move || promise.set_result(1).unwrap());
        let mut w = Watcher::new();
        let token = w.watch(fut.erase());
        let (got, f) = w.next_until(None).unwrap().unwrap();
        assert_eq!(got, token);
        assert!(f.done());
        assert!(w.try_next().is_none());
        assert!(w.next_until(None).unwrap().is_none());
        t.join().unwrap();
    });
}

/// A watcher dropped while another thread completes its future: the
/// deregistration and the completion never trip over each other, and the
/// future's other waiters are still served.
#[test]
fn watcher_drop_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let mut w = Watcher::new();
        w.watch(fut.erase());
        let t = thread::spawn(move || promise.set_result(2).unwrap());
        drop(w);
        assert_eq!(*fut.result().unwrap(), 2);
        t.join().unwrap();
    });
}

/// `on_done` registration on one thread, the drop of the last other handle
/// on a second, completion on a third: the consumer runs exactly once, with
/// the value, whichever event comes last.
#[test]
fn on_done_registration_races_last_drop_and_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let other = fut.clone();
        let got = Arc::new(Mutex::new(Vec::new()));
        let dropper = thread::spawn(move || drop(other));
        let completer = thread::spawn(move || promise.set_result(5).unwrap());
        let sink = got.clone();
        fut.on_done(move |r| sink.lock().unwrap().push(r.unwrap()));
        dropper.join().unwrap();
        completer.join().unwrap();
        assert_eq!(*got.lock().unwrap(), [5], "exactly once, with the value");
    });
}

/// A done-callback that keeps a clone of its lent handle, against the
/// registration of a consumer and the drop of that clone: the consumer
/// waits for the loan and the clone, then runs exactly once.
#[test]
fn on_done_races_a_done_callback_holding_a_clone() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let kept = Arc::new(Mutex::new(None));
        let in_cb = kept.clone();
        fut.add_done_callback(move |f| *in_cb.lock().unwrap() = Some(f.clone()));
        let completer = thread::spawn(move || promise.set_result(9).unwrap());
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        fut.on_done(move |r| sink.lock().unwrap().push(r.unwrap()));
        completer.join().unwrap();
        assert!(
            got.lock().unwrap().is_empty(),
            "the callback's clone can read"
        );
        let clone = kept.lock().unwrap().take().expect("the callback ran");
        let dropper = thread::spawn(move || drop(clone));
        dropper.join().unwrap();
        assert_eq!(*got.lock().unwrap(), [9]);
    });
}

/// Two consumers registered on two threads while a third completes: one
/// gets the value, the other the "earlier consumer" error, each once.
#[test]
fn two_consumers_race_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::<u8>::new();
        let second = fut.clone();
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        let t = thread::spawn(move || {
            second.on_done(move |r| sink.lock().unwrap().push(r.map_err(|e| e.kind())));
        });
        let completer = thread::spawn(move || promise.set_result(3).unwrap());
        let sink = got.clone();
        fut.on_done(move |r| sink.lock().unwrap().push(r.map_err(|e| e.kind())));
        t.join().unwrap();
        completer.join().unwrap();
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.contains(&Ok(3)));
        assert!(got.contains(&Err(ErrorKind::InvalidState)));
    });
}
