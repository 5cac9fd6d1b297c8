//! Loom models of the crate's waker handling (run with
//! `cargo xtask loom -p concur-async`).
//!
//! * The abort state behind `run_coroutine_threadsafe` (this crate's own
//!   shared state): cancelling the concur future from another thread races
//!   the runtime polling the coroutine task.
//! * `WrappedFuture` over concur-core's future (whose primitives loom swaps
//!   in too): the promise completing on another thread races the poll.
//!
//! Each model checks that when the last poll returned `Pending`, the waker
//! given to that poll is woken, so the task is polled again and completes.

#![cfg(concur_loom)]

use concur_async::{BoxedCoroutine, SpawnError, Spawner, run_coroutine_threadsafe, wrap_future};
use concur_core::Promise;
use loom::sync::atomic::{AtomicUsize, Ordering};
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};

/// Counts its wake-ups.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, Waker) {
    let c = std::sync::Arc::new(CountingWaker(AtomicUsize::new(0)));
    let w = Waker::from(c.clone());
    (c, w)
}

fn woken(c: &CountingWaker) -> usize {
    c.0.load(Ordering::SeqCst)
}

/// A spawner that hands the task back to the model, which polls it by hand.
#[derive(Default)]
struct Capture(std::sync::Mutex<Option<BoxedCoroutine>>);

impl Spawner for Capture {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        *self.0.lock().unwrap() = Some(task);
        Ok(())
    }
}

impl Capture {
    fn take(&self) -> BoxedCoroutine {
        self.0.lock().unwrap().take().expect("a task was spawned")
    }
}

fn poll_with<F: std::future::Future + Unpin + ?Sized>(f: &mut F, w: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(w))
}

#[test]
fn waker_registration_races_completion() {
    loom::model(|| {
        let cap = Capture::default();
        let fut = run_coroutine_threadsafe(std::future::pending::<u8>(), &cap);
        let mut task = cap.take();
        let remote = fut.clone();
        let canceller = loom::thread::spawn(move || {
            assert!(remote.cancel());
        });
        let (count, waker) = counting_waker();
        let first = poll_with(&mut task, &waker);
        canceller.join().unwrap();
        if first.is_pending() {
            assert_eq!(woken(&count), 1, "the abort's wake-up was lost");
            assert!(poll_with(&mut task, &waker).is_ready());
        }
        assert!(fut.cancelled());
    });
}

#[test]
fn waker_replaced_between_polls_races_completion() {
    loom::model(|| {
        let cap = Capture::default();
        let fut = run_coroutine_threadsafe(std::future::pending::<u8>(), &cap);
        let mut task = cap.take();
        let (_old_count, old) = counting_waker();
        assert!(poll_with(&mut task, &old).is_pending());
        let remote = fut.clone();
        let canceller = loom::thread::spawn(move || {
            assert!(remote.cancel());
        });
        let (count, new) = counting_waker();
        let second = poll_with(&mut task, &new);
        canceller.join().unwrap();
        if second.is_pending() {
            assert_eq!(woken(&count), 1, "the replacing waker was not woken");
            assert!(poll_with(&mut task, &new).is_ready());
        }
    });
}

#[test]
fn wrap_future_waker_registration_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::new();
        let mut w = wrap_future(fut);
        let completer = loom::thread::spawn(move || {
            promise.set_result(7u8).unwrap();
        });
        let (count, waker) = counting_waker();
        let first = poll_with(&mut w, &waker);
        completer.join().unwrap();
        let out = match first {
            Poll::Ready(out) => out,
            Poll::Pending => {
                assert_eq!(woken(&count), 1, "the completion's wake-up was lost");
                match poll_with(&mut w, &waker) {
                    Poll::Ready(out) => out,
                    Poll::Pending => panic!("woken but not ready"),
                }
            }
        };
        assert_eq!(out.unwrap(), 7);
    });
}

#[test]
fn wrap_future_waker_replaced_between_polls_races_completion() {
    loom::model(|| {
        let (promise, fut) = Promise::new();
        let mut w = wrap_future(fut);
        let (_old_count, old) = counting_waker();
        assert!(poll_with(&mut w, &old).is_pending());
        let completer = loom::thread::spawn(move || {
            promise.set_result(7u8).unwrap();
        });
        let (count, new) = counting_waker();
        let second = poll_with(&mut w, &new);
        completer.join().unwrap();
        if second.is_pending() {
            assert_eq!(woken(&count), 1, "the replacing waker was not woken");
            assert!(matches!(poll_with(&mut w, &new), Poll::Ready(Ok(7))));
        }
    });
}

#[test]
fn wrap_future_completion_with_running_callback_races_poll() {
    // The value is lent to the done-callback while it runs on the
    // completer's thread: the awaitable must then wait with its waker (not
    // park), and that waker must be woken once the callback returns.
    loom::model(|| {
        let (promise, fut) = Promise::new();
        fut.add_done_callback(|f| assert_eq!(*f.result().unwrap(), 7u8));
        let mut w = wrap_future(fut);
        let completer = loom::thread::spawn(move || {
            promise.set_result(7u8).unwrap();
        });
        let (count, waker) = counting_waker();
        let first = poll_with(&mut w, &waker);
        completer.join().unwrap();
        let out = match first {
            Poll::Ready(out) => out,
            Poll::Pending => {
                assert!(woken(&count) >= 1, "the wake-up was lost");
                match poll_with(&mut w, &waker) {
                    Poll::Ready(out) => out,
                    Poll::Pending => panic!("woken but not ready"),
                }
            }
        };
        assert_eq!(out.unwrap(), 7);
    });
}
