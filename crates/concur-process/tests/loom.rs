//! Loom models of the dispatcher's bookkeeping (`Book`), with the futures'
//! promises from concur-core (also model-checked): an assignment racing a
//! worker crash, a cancel and a shutdown. Run with `cargo xtask loom -p
//! concur-process`.
#![cfg(concur_loom)]

use concur_core::{BoxError, Error, Future, Promise, RemoteFn, State};
use concur_ipc::FnRef;
use concur_process::__loom::{Book, Promises, Task};
use loom::sync::{Arc, Mutex};
use loom::thread;

#[derive(Clone, Copy)]
struct Double;
impl RemoteFn for Double {
    type Args = u32;
    type Output = u32;
    const NAME: &'static str = "loom::double";
    const FINGERPRINT: u64 = 2;
    fn call(x: u32) -> Result<u32, BoxError> {
        Ok(2 * x)
    }
}

fn task() -> (Task, Future<u32>) {
    let (p, f) = Promise::new();
    let t = Task::new(
        FnRef::of::<Double>(),
        vec![concur_ipc::encode(&1u32).unwrap()].into(),
        Box::new(Promises::<Double>::new(vec![p])),
    );
    (t, f)
}

fn ok() -> concur_ipc::Outcomes {
    vec![Ok(concur_ipc::encode(&2u32).unwrap())].into()
}

/// What the dispatcher does after the races: answer whatever is running
/// (generation taken from the book), so every accepted task ends.
fn drain(book: &Mutex<Book<u8>>) {
    loop {
        let mut b = book.lock().unwrap();
        let Some(generation) = b.running(0) else {
            return;
        };
        let r = b.done(0, generation);
        drop(b);
        if let Some(t) = r.task {
            t.complete(ok());
        }
    }
}

#[test]
fn assignment_races_a_crash() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None, 1 << 20)));
        {
            let mut b = book.lock().unwrap();
            b.starting(0);
            assert!(b.ready(0, 1).is_none());
        }
        let (t, f) = task();
        let b1 = book.clone();
        let submitter = thread::spawn(move || {
            let a = b1.lock().unwrap().submit(t).unwrap();
            a.map(|a| a.generation)
        });
        let b2 = book.clone();
        let crasher = thread::spawn(move || {
            // The worker dies; the dispatcher fails what it ran and
            // replaces it.
            let running = b2.lock().unwrap().died(0);
            if let Some(t) = running {
                t.fail(Error::broken("worker died", None));
            }
            let mut b = b2.lock().unwrap();
            b.starting(0);
            b.ready(0, 2).map(|a| a.generation)
        });
        let g1 = submitter.join().unwrap();
        let g2 = crasher.join().unwrap();
        if let (Some(a), Some(b)) = (g1, g2) {
            assert_ne!(a, b, "one task, two assignments");
        }
        // A late reply for the first assignment after the crash is stale.
        if let (Some(a), Some(_)) = (g1, g2) {
            assert!(book.lock().unwrap().done(0, a).task.is_none());
        }
        drain(&book);
        // Exactly one outcome: the value, or the crash error.
        assert!(f.done());
        match f.result() {
            Ok(v) => assert_eq!(*v, 2),
            Err(e) => assert_eq!(e.message(), "worker died"),
        }
    });
}

#[test]
fn assignment_races_a_cancel() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None, 1 << 20)));
        let (t, f) = task();
        book.lock().unwrap().submit(t).unwrap();
        book.lock().unwrap().starting(0);
        let f2 = f.clone();
        let canceller = thread::spawn(move || f2.cancel());
        let b = book.clone();
        let dispatcher = thread::spawn(move || b.lock().unwrap().ready(0, 1).is_some());
        let cancelled = canceller.join().unwrap();
        let assigned = dispatcher.join().unwrap();
        assert_ne!(
            cancelled, assigned,
            "a cancelled task must not run, a running one not cancel"
        );
        drain(&book);
        assert_eq!(
            f.state(),
            if cancelled {
                State::Cancelled
            } else {
                State::Finished
            }
        );
    });
}

#[test]
fn submit_races_shutdown() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None, 1 << 20)));
        book.lock().unwrap().starting(0);
        let (t, f) = task();
        let b1 = book.clone();
        let submitter = thread::spawn(move || match b1.lock().unwrap().submit(t) {
            Ok(_) => true,
            Err((t, _)) => {
                drop(t);
                false
            }
        });
        let b2 = book.clone();
        let closer = thread::spawn(move || {
            let cancelled = b2.lock().unwrap().close(true);
            for t in cancelled {
                t.cancel();
            }
            // The worker becomes ready after shutdown: nothing to run.
            b2.lock().unwrap().ready(0, 1).is_some()
        });
        let accepted = submitter.join().unwrap();
        let ran = closer.join().unwrap();
        drain(&book);
        assert!(f.done());
        match (accepted, ran) {
            (false, _) => assert_eq!(
                f.result().unwrap_err().kind(),
                concur_core::ErrorKind::Abandoned
            ),
            (true, false) => assert!(f.cancelled()),
            (true, true) => unreachable!("close(cancel_futures) drains the queue first"),
        }
        assert!(book.lock().unwrap().is_idle());
    });
}
