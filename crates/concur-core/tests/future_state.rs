//! States, `cancel`, `done`/`running`/`cancelled`, the completing side's
//! state checks and the CPython-like `Debug` output. Ported from CPython's
//! `test_future.py` (`test_cancel`, `test_cancelled`, `test_done`,
//! `test_running`, `test_repr`) plus the Rust-specific handle properties.

mod helpers;

use concur_core::{AnyFuture, Error, ErrorKind, Future, Promise, State};
use concur_testkit::TestError;
use helpers::*;

#[test]
fn cancel_succeeds_only_while_pending_or_already_cancelled() {
    let f1 = pending_future::<u64>();
    let f2 = running_future::<u64>();
    let f3 = cancelled_future::<u64>();
    let f5 = exception_future::<u64>();
    let f6 = successful_future();

    assert!(f1.fut.cancel());
    assert_eq!(f1.fut.state(), State::Cancelled);

    assert!(!f2.fut.cancel());
    assert_eq!(f2.fut.state(), State::Running);

    assert!(f3.fut.cancel());
    assert_eq!(f3.fut.state(), State::Cancelled);

    assert!(!f5.fut.cancel());
    assert_eq!(f5.fut.state(), State::Failed);

    assert!(!f6.fut.cancel());
    assert_eq!(f6.fut.state(), State::Finished);
}

#[test]
fn cancelled_is_true_only_for_cancelled_futures() {
    assert!(!pending_future::<u64>().fut.cancelled());
    assert!(!running_future::<u64>().fut.cancelled());
    assert!(cancelled_future::<u64>().fut.cancelled());
    assert!(!exception_future::<u64>().fut.cancelled());
    assert!(!successful_future().fut.cancelled());
}

#[test]
fn done_is_true_for_finished_failed_and_cancelled() {
    assert!(!pending_future::<u64>().fut.done());
    assert!(!running_future::<u64>().fut.done());
    assert!(cancelled_future::<u64>().fut.done());
    assert!(exception_future::<u64>().fut.done());
    assert!(successful_future().fut.done());
}

#[test]
fn running_is_true_only_while_running() {
    assert!(!pending_future::<u64>().fut.running());
    assert!(running_future::<u64>().fut.running());
    assert!(!cancelled_future::<u64>().fut.running());
    assert!(!exception_future::<u64>().fut.running());
    assert!(!successful_future().fut.running());
}

#[test]
fn state_walks_pending_running_finished_and_is_seen_by_every_handle() {
    let (promise, fut) = Promise::<u8>::new();
    let other = fut.clone();
    let erased = fut.erase();
    assert_eq!(fut.state(), State::Pending);
    assert!(promise.set_running_or_notify_cancel().unwrap());
    assert_eq!(other.state(), State::Running);
    assert_eq!(erased.state(), State::Running);
    assert_eq!(promise.state(), State::Running);
    promise.set_result(1).unwrap();
    for s in [fut.state(), other.state(), erased.state(), promise.state()] {
        assert_eq!(s, State::Finished);
        assert!(s.is_done());
    }
}

#[test]
fn cancel_is_seen_by_the_executor_which_then_skips_the_task() {
    let (promise, fut) = Promise::<u8>::new();
    assert!(fut.cancel());
    assert_eq!(promise.state(), State::Cancelled);
    assert!(!promise.set_running_or_notify_cancel().unwrap());
    // Completing a cancelled future is refused and the cancellation stays.
    let err = promise.set_result(1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(fut.cancelled());
    assert!(fut.result().unwrap_err().is_cancelled());
}

#[test]
fn set_running_twice_or_after_completion_is_invalid_state() {
    let (promise, _fut) = Promise::<u8>::new();
    assert!(promise.set_running_or_notify_cancel().unwrap());
    let err = promise.set_running_or_notify_cancel().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("running"), "{err}");

    let (promise, fut) = Promise::<u8>::new();
    promise.set_result(3).unwrap();
    let err = promise.set_running_or_notify_cancel().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert_eq!(*fut.result().unwrap(), 3);
}

#[test]
fn a_failed_future_cannot_be_cancelled_and_a_pending_one_can_fail() {
    let (promise, fut) = Promise::<u8>::new();
    // CPython allows set_exception on a pending future (no set_running).
    promise.set_exception(Error::shutdown()).unwrap();
    assert_eq!(fut.state(), State::Failed);
    assert!(!fut.cancel());
    assert!(!promise.cancel());
    assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Shutdown);
}

#[test]
fn promise_cancel_cancels_only_pending_futures() {
    let (promise, fut) = Promise::<u8>::new();
    assert!(promise.cancel());
    assert!(fut.cancelled());
    assert!(promise.cancel(), "cancelling again still reports cancelled");

    let running = running_future::<u8>();
    assert!(!running.promise.as_ref().unwrap().cancel());
    assert!(running.fut.running());
}

/// `<Future at 0x… state=…>` with lowercase hex digits, as CPython's regex.
fn assert_repr(fut_debug: &str, tail: &str) {
    let rest = fut_debug
        .strip_prefix("<Future at 0x")
        .unwrap_or_else(|| panic!("bad repr {fut_debug:?}"));
    let hex_len = rest
        .find(|c: char| !c.is_ascii_hexdigit() || c.is_ascii_uppercase())
        .unwrap();
    assert!(hex_len > 0, "no address in {fut_debug:?}");
    assert_eq!(&rest[hex_len..], tail, "repr was {fut_debug:?}");
}

#[test]
fn debug_reads_like_cpythons_repr() {
    assert_repr(
        &format!("{:?}", pending_future::<u64>().fut),
        " state=pending>",
    );
    assert_repr(
        &format!("{:?}", running_future::<u64>().fut),
        " state=running>",
    );
    assert_repr(
        &format!("{:?}", cancelled_future::<u64>().fut),
        " state=cancelled>",
    );
    assert_repr(
        &format!("{:?}", exception_future::<u64>().fut),
        " state=finished raised TestError>",
    );
    // A task error shows its type, as CPython shows the exception's class.
    let parse = Future::<u8>::from_error(Error::task("x".parse::<u8>().unwrap_err()));
    assert_repr(
        &format!("{parse:?}"),
        " state=finished raised ParseIntError>",
    );
    let text = Future::<u8>::from_error(Error::task(String::from("no")));
    assert_repr(&format!("{text:?}"), " state=finished raised String>");
    let generic = Future::<u8>::from_error(Error::task(Wrapped(std::fmt::Error)));
    assert_repr(
        &format!("{generic:?}"),
        " state=finished raised Wrapped<Error>>",
    );
    // Other failures show their kind.
    let p = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    let panicked = Future::<u8>::from_error(Error::panicked(p));
    assert_repr(&format!("{panicked:?}"), " state=finished raised panicked>");
    assert_repr(
        &format!("{:?}", successful_future().fut),
        " state=finished returned u64>",
    );
    assert_repr(
        &format!("{:?}", Future::<()>::from_error(Error::shutdown())),
        " state=finished raised shutdown>",
    );
    // Abandoned futures say so.
    let (promise, fut) = Promise::<String>::new();
    drop(promise);
    assert_repr(&format!("{fut:?}"), " state=finished raised abandoned>");
    // The address is the future's id, shared by its clones.
    let f = Future::ready(1u64);
    assert_eq!(
        format!("{f:?}"),
        format!("<Future at {:#x} state=finished returned u64>", f.id())
    );
    assert_eq!(format!("{f:?}"), format!("{:?}", f.clone()));
}

#[test]
fn debug_of_erased_handles_and_promises_shows_the_state() {
    let (promise, fut) = Promise::<u8>::new();
    let any = fut.erase();
    assert_eq!(
        format!("{any:?}"),
        format!("<AnyFuture at {:#x} state=pending>", fut.id())
    );
    assert_eq!(format!("{promise:?}"), "Promise { state: Pending }");
    promise.set_result(1).unwrap();
    assert_eq!(
        format!("{any:?}"),
        format!("<AnyFuture at {:#x} state=finished>", fut.id())
    );
}

#[test]
fn state_names_match_cpython() {
    let names: Vec<&str> = [
        State::Pending,
        State::Running,
        State::Finished,
        State::Failed,
        State::Cancelled,
    ]
    .iter()
    .map(|s| s.as_str())
    .collect();
    assert_eq!(
        names,
        ["pending", "running", "finished", "finished", "cancelled"]
    );
    assert_eq!(State::Cancelled.to_string(), "cancelled");
    assert!(!State::Pending.is_done() && !State::Running.is_done());
}

#[test]
fn handles_are_cheap_clones_send_sync_with_a_shared_identity() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Future<NotCloneSync>>();
    assert_traits::<AnyFuture>();
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Promise<u8>>();
    assert_send_sync::<Error>();

    let a = Future::ready(NotCloneSync);
    let b = a.clone();
    assert_eq!(a.id(), b.id());
    assert_eq!(a.erase().id(), a.id());
    assert_eq!(AnyFuture::from(&a).id(), a.id());
    assert_ne!(a.id(), Future::ready(NotCloneSync).id());
    // Both handles read the very same value, not a copy.
    assert!(std::ptr::eq(a.result().unwrap(), b.result().unwrap()));
}

/// A value type without `Clone`, `Sync` through its (empty) fields.
#[derive(Debug)]
struct NotCloneSync;

#[test]
fn erased_handles_report_state_and_cancel() {
    let (promise, fut) = Promise::<u8>::new();
    let any: AnyFuture = fut.clone().into();
    assert!(!any.done() && !any.running() && !any.cancelled() && !any.failed());
    assert!(any.cancel());
    assert!(fut.cancelled() && any.cancelled() && any.done());
    assert!(!any.failed());
    drop(promise);

    let failed = Future::<u8>::from_error(Error::task(TestError(1))).erase();
    assert!(failed.failed() && failed.done());
    let (p, _f) = Promise::<u8>::new();
    let from_promise = p.erase();
    assert!(p.set_running_or_notify_cancel().unwrap());
    assert!(from_promise.running());
}

#[allow(clippy::mutable_key_type)] // identity-hashed: see `Future`'s docs
#[test]
fn futures_are_equal_and_hash_alike_by_identity_only() {
    use std::collections::HashSet;
    use std::hash::{BuildHasher, RandomState};
    let (promise, a) = concur_core::Promise::<std::cell::Cell<u8>>::new(); // no Eq, no Hash
    let b = a.clone();
    let other = concur_core::Future::ready(std::cell::Cell::new(0));
    assert!(a == b && a != other);
    let h = RandomState::new();
    assert_eq!(h.hash_one(&a), h.hash_one(&b));
    promise.set_result(std::cell::Cell::new(1)).unwrap();
    assert_eq!(a, b, "completion does not change identity");
    assert_eq!(h.hash_one(&a), h.hash_one(&b));
    assert!(a.erase() == b.erase() && a.erase() != other.erase());
    assert_eq!(h.hash_one(a.erase()), h.hash_one(b.erase()));
    let set: HashSet<_> = [a.clone(), b, other].into_iter().collect();
    assert_eq!(set.len(), 2);
    assert!(set.contains(&a));
}

#[derive(Debug)]
struct Wrapped<E>(E);
impl<E: std::fmt::Display> std::fmt::Display for Wrapped<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wrapped: {}", self.0)
    }
}
impl<E: std::fmt::Debug + std::fmt::Display> std::error::Error for Wrapped<E> {}
