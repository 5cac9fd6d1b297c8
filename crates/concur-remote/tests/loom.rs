//! Loom models of the remote-pool bookkeeping (`Book`) and its supervision
//! policy, with the futures' promises from concur-core (also
//! model-checked): an assignment racing a worker crash, a cancel, a
//! shutdown, a protocol retirement and a replacement dying while it
//! starts; start failures racing a first ready worker. Run with
//! `cargo xtask loom -p concur-remote`.
#![cfg(concur_loom)]

use concur_core::{Error, Future, Promise, State};
use concur_remote::{Book, MAX_START_ATTEMPTS, Promises, RemoteCall, Verdict, WorkerSlot};
use concur_sync::sync::{Arc, Mutex};
use concur_sync::thread;
use concur_testkit::Halve;

fn task_with(generation: u64) -> (RemoteCall, Future<u32>) {
    let (p, f) = Promise::new();
    let t = RemoteCall::from_frame(
        generation,
        vec![generation as u8],
        Box::new(Promises::<Halve>::new(vec![p])),
    );
    (t, f)
}

fn task() -> (RemoteCall, Future<u32>) {
    task_with(1)
}

/// Fails a task and runs its callbacks (the transport's runner would).
fn fail(t: RemoteCall, e: Error) {
    t.fail(e).into_iter().for_each(|d| d.run());
}

fn ok() -> concur_ipc::Outcomes {
    vec![Ok(concur_ipc::encode(&2u32).unwrap())].into()
}

/// What the dispatcher does after the races: answer whatever is running
/// (generation taken from the book), so every accepted task ends.
fn drain(book: &Mutex<Book<u8>>) {
    loop {
        let mut b = book.lock();
        let Some(generation) = b.running(0) else {
            return;
        };
        let r = b.done(0, generation);
        drop(b);
        if let Some(t) = r.task {
            t.complete(ok()).callbacks.into_iter().for_each(|d| d.run());
        }
    }
}

#[test]
fn assignment_races_a_crash() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None)));
        {
            let mut b = book.lock();
            b.starting(0);
            assert!(b.ready(0, 1).is_none());
        }
        let (t, f) = task();
        let b1 = book.clone();
        let submitter = thread::spawn(move || {
            let a = b1.lock().submit(t).unwrap();
            a.map(|a| a.generation)
        });
        let b2 = book.clone();
        let crasher = thread::spawn(move || {
            // The worker dies; the dispatcher fails what it ran and
            // replaces it.
            let death = b2.lock().died(0);
            assert!(matches!(death.verdict, Verdict::Replace { .. }));
            if let Some(t) = death.task {
                fail(t, Error::broken("worker died", None));
            }
            let mut b = b2.lock();
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
            assert!(book.lock().done(0, a).task.is_none());
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
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None)));
        let (t, f) = task();
        book.lock().submit(t).unwrap();
        book.lock().starting(0);
        let f2 = f.clone();
        let canceller = thread::spawn(move || f2.cancel());
        let b = book.clone();
        let dispatcher = thread::spawn(move || b.lock().ready(0, 1).is_some());
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
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None)));
        book.lock().starting(0);
        let (t, f) = task();
        let b1 = book.clone();
        let submitter = thread::spawn(move || match b1.lock().submit(t) {
            Ok(_) => true,
            Err((t, _)) => {
                drop(t);
                false
            }
        });
        let b2 = book.clone();
        let closer = thread::spawn(move || {
            let cancelled = b2.lock().close(true);
            for t in cancelled {
                t.cancel();
            }
            // The worker becomes ready after shutdown: nothing to run.
            b2.lock().ready(0, 1).is_some()
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
        assert!(book.lock().is_idle());
    });
}

/// A worker retired for a protocol violation while a task is submitted:
/// the new task never goes to the retired worker, the violator's task
/// fails, and the replacement serves the new one.
#[test]
fn protocol_retirement_races_a_submit() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None)));
        let (a, fa) = task_with(1);
        {
            let mut b = book.lock();
            b.starting(0);
            let _ = b.ready(0, 1);
            assert!(b.submit(a).unwrap().is_some());
        }
        let (t, fb) = task_with(2);
        let b1 = book.clone();
        let submitter = thread::spawn(move || b1.lock().submit(t).unwrap().map(|a| a.conn));
        let b2 = book.clone();
        let dispatcher = thread::spawn(move || {
            let violator = b2.lock().retire(0);
            if let Some(t) = violator {
                fail(t, Error::broken("protocol violation", None));
            }
            // Its trailing reply is ignored.
            assert!(b2.lock().done(0, 1).task.is_none());
            let death = b2.lock().died(0);
            assert!(death.task.is_none(), "the retired slot holds no task");
            assert!(matches!(death.verdict, Verdict::Replace { .. }));
            let mut b = b2.lock();
            b.starting(0);
            b.ready(0, 2).map(|a| a.conn)
        });
        let at_submit = submitter.join().unwrap();
        let at_ready = dispatcher.join().unwrap();
        // Whichever came first, the task went to the replacement (conn 2),
        // never to the retired worker (conn 1).
        let conns: Vec<u8> = at_submit.into_iter().chain(at_ready).collect();
        assert_eq!(conns, [2], "assigned once, to the replacement");
        drain(&book);
        assert_eq!(fa.result().unwrap_err().message(), "protocol violation");
        assert_eq!(*fb.result().unwrap(), 2);
    });
}

/// Once a worker was ready, a replacement that dies while starting (any
/// number of times) is replaced again, never breaks the pool, and queued
/// work waits for the next worker.
#[test]
fn replacement_dying_while_starting_never_breaks() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(1, None)));
        {
            let mut b = book.lock();
            b.starting(0);
            let _ = b.ready(0, 1);
            let death = b.died(0);
            assert!(matches!(death.verdict, Verdict::Replace { .. }));
        }
        let (t, f) = task();
        let b1 = book.clone();
        let submitter = thread::spawn(move || {
            let r = b1.lock().submit(t);
            assert!(r.is_ok(), "never refused");
        });
        let b2 = book.clone();
        let supervisor = thread::spawn(move || {
            for _ in 0..=MAX_START_ATTEMPTS {
                let mut b = b2.lock();
                b.starting(0);
                let death = b.died(0);
                assert!(death.task.is_none());
                assert!(matches!(death.verdict, Verdict::Replace { .. }));
            }
            let mut b = b2.lock();
            b.starting(0);
            let _ = b.ready(0, 3);
        });
        submitter.join().unwrap();
        supervisor.join().unwrap();
        let mut b = book.lock();
        assert!(b.broken().is_none());
        // The task is either running on the new worker or still queued
        // (submitted after its ready); in both cases it is served.
        if b.running(0).is_none() {
            assert_eq!(b.queued(), 1);
            assert!(matches!(b.slot(0), WorkerSlot::Idle(_)));
            let (t2, _f2) = task_with(9);
            // A second submission finds the idle worker and takes the queue
            // head first.
            let a = b.submit(t2).unwrap().unwrap();
            assert_eq!(a.generation, 1);
        }
        drop(b);
        drain(&book);
        assert_eq!(*f.result().unwrap(), 2);
    });
}

/// Start failures on one slot race the first ready worker on another: the
/// verdict is `Break` only if no worker was ever ready at that point.
#[test]
fn start_failures_break_only_before_any_worker_was_ready() {
    loom::model(|| {
        let book = Arc::new(Mutex::new(Book::<u8>::new(2, None)));
        let b1 = book.clone();
        let failing = thread::spawn(move || {
            for _ in 0..MAX_START_ATTEMPTS {
                let mut b = b1.lock();
                let v = b.launch_failed(0);
                if v == Verdict::Break {
                    assert!(!b.ever_ready(), "broke after a worker was ready");
                    return true;
                }
            }
            false
        });
        let b2 = book.clone();
        let starting = thread::spawn(move || {
            let mut b = b2.lock();
            b.starting(1);
            let _ = b.ready(1, 1);
        });
        let broke = failing.join().unwrap();
        starting.join().unwrap();
        let b = book.lock();
        assert!(b.ever_ready());
        if !broke {
            assert!(matches!(b.slot(0), WorkerSlot::Vacant));
        }
    });
}
