//! Loom models of the combinators' waiting paths (run with
//! `cargo xtask loom -p concur-combinators`).

#![cfg(concur_loom)]

use concur_combinators::{ReturnWhen, as_completed, wait};
use concur_core::{Error, Future, Promise, State};
use loom::thread;

/// Two futures complete on two threads while the caller iterates (one more
/// was done before): each is yielded exactly once, none is lost.
#[test]
fn as_completed_waiter_under_concurrent_completions() {
    loom::model(|| {
        let (p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let f0 = Future::ready(0u8);
        let t1 = thread::spawn(move || p1.set_result(1).unwrap());
        let t2 = thread::spawn(move || p2.set_result(2).unwrap());
        let mut seen: Vec<u8> = as_completed([&f0, &f1, &f2, &f1])
            .map(|f| *f.result().unwrap())
            .collect();
        assert_eq!(seen[0], 0, "the already-done future comes first");
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2]);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// A success and a failure race: `wait(FirstException)` returns once the
/// failure is in, with the failed future in `done`, and the success in
/// `done` or `not_done` according to its state, never lost or duplicated.
#[test]
fn wait_first_exception_races_success_and_failure() {
    loom::model(|| {
        let (ps, ok) = Promise::<u8>::new();
        let (pf, bad) = Promise::<u8>::new();
        let t1 = thread::spawn(move || ps.set_result(1).unwrap());
        let t2 = thread::spawn(move || pf.set_exception(Error::task("boom")).unwrap());
        let (done, not_done) = wait([&ok, &bad], None, ReturnWhen::FirstException);
        assert_eq!(bad.state(), State::Failed);
        assert!(done.iter().any(|f| f.id() == bad.id()));
        assert_eq!(done.len() + not_done.len(), 2);
        for f in &not_done {
            assert_eq!(f.id(), ok.id());
        }
        for f in &done {
            assert!(f.done());
        }
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// Two completions race into `select` and `join_all` (the crate's own
/// shared state): `select` reports exactly one winner and `join_all` all
/// values in input order, whatever the interleaving. Each consumes its
/// futures, so each gets its own pair, completed by the same threads.
#[test]
fn select_and_join_all_under_concurrent_completions() {
    use concur_combinators::{join_all, select};
    loom::model(|| {
        let (p1, f1) = Promise::<u8>::new();
        let (p2, f2) = Promise::<u8>::new();
        let (q1, g1) = Promise::<u8>::new();
        let (q2, g2) = Promise::<u8>::new();
        let first = select([f1, f2]);
        let all = join_all([g1, g2]);
        let t1 = thread::spawn(move || {
            p1.set_result(1).unwrap();
            q1.set_result(1).unwrap();
        });
        let t2 = thread::spawn(move || {
            q2.set_result(2).unwrap();
            p2.set_result(2).unwrap();
        });
        let (i, r) = first.into_result().unwrap();
        assert_eq!(r.unwrap() as usize, i + 1);
        assert_eq!(all.into_result().unwrap(), [1, 2]);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}
