//! The error model: kinds, messages, downcasting a task's own error type,
//! panics with their message and payload type, and `SubmitError`.

mod helpers;

use concur_core::{BoxError, Error, ErrorKind, Executor, SubmitError};
use concur_testkit::TestError;
use helpers::*;
use std::error::Error as _;
use std::panic::{catch_unwind, panic_any, resume_unwind};

#[test]
fn every_kind_has_a_constructor_a_lowercase_message_and_no_trailing_period() {
    let cases = [
        (
            Error::cancelled(),
            ErrorKind::Cancelled,
            "future was cancelled",
        ),
        (
            Error::timeout("2 (of 4) futures unfinished"),
            ErrorKind::Timeout,
            "timed out: 2 (of 4) futures unfinished",
        ),
        (
            Error::task(TestError(3)),
            ErrorKind::Task,
            "task failed: test error 3",
        ),
        (
            Error::broken("initializer failed", None),
            ErrorKind::Broken,
            "executor is broken: initializer failed",
        ),
        (
            Error::shutdown(),
            ErrorKind::Shutdown,
            "executor has been shut down",
        ),
        (
            Error::invalid_state("the future is already finished"),
            ErrorKind::InvalidState,
            "invalid state: the future is already finished",
        ),
        (
            Error::abandoned(),
            ErrorKind::Abandoned,
            "the completing side was dropped without completing the future",
        ),
    ];
    for (err, kind, text) in cases {
        assert_eq!(err.kind(), kind);
        assert_eq!(err.to_string(), text);
        assert!(!text.ends_with('.'));
        assert_eq!(err.is_cancelled(), kind == ErrorKind::Cancelled);
        assert_eq!(err.is_timeout(), kind == ErrorKind::Timeout);
        assert!(err.panic_message().is_none() && err.panic_payload_type().is_none());
        assert!(!format!("{err:?}").is_empty());
    }
    assert_eq!(ErrorKind::Task.to_string(), "task error");
    assert_eq!(ErrorKind::Broken.as_str(), "broken executor");
}

#[test]
fn infrastructure_kinds_are_distinct_from_task_and_keep_their_source() {
    for kind in [
        ErrorKind::WorkerDied,
        ErrorKind::Protocol,
        ErrorKind::FrameTooLarge,
        ErrorKind::Codec,
    ] {
        let err = Error::infrastructure(kind, TestError(7));
        assert_eq!(err.kind(), kind);
        assert_ne!(err.kind(), ErrorKind::Task);
        // The message is the source's own text, said once.
        assert_eq!(err.to_string(), "test error 7");
        assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(7)));
        assert!(std::error::Error::source(&err).is_some());
        assert!(!kind.as_str().is_empty());
    }
    // Kinds that are not infrastructure failures are not made up.
    let err = Error::infrastructure(ErrorKind::Cancelled, TestError(1));
    assert_eq!(err.kind(), ErrorKind::Task);
}

#[test]
fn error_is_a_std_error_send_sync_static_and_a_shared_clone() {
    fn assert_std<E: std::error::Error + Send + Sync + 'static>() {}
    assert_std::<Error>();
    let e = Error::task(TestError(1));
    let c = e.clone();
    assert!(e.same_as(&c));
    assert!(!e.same_as(&Error::task(TestError(1))));
    // Convertible into the usual boxed error.
    let boxed: BoxError = Box::new(c);
    assert_eq!(boxed.to_string(), "task failed: test error 1");
}

#[test]
fn a_tasks_own_error_is_downcastable_from_the_future() {
    let ex = Inline::default();
    let fut = ex
        .submit_fallible(|| -> Result<u8, TestError> { Err(TestError(7)) })
        .unwrap();
    let err = fut.result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(7)));
    assert!(err.downcast_ref::<std::io::Error>().is_none());
    // `source()` is the task's error itself.
    let src = err.source().unwrap();
    assert_eq!(src.downcast_ref::<TestError>(), Some(&TestError(7)));
    assert_eq!(err.message(), "test error 7");
    // Once the future gave its error away, the error can be unwrapped whole.
    drop(err);
    let err = fut.into_result().unwrap_err();
    let boxed = err.into_task_error().unwrap();
    assert_eq!(*boxed.downcast::<TestError>().unwrap(), TestError(7));
}

#[test]
fn into_task_error_gives_self_back_when_shared_or_sourceless() {
    let e = Error::task(TestError(1));
    let keep = e.clone();
    let e = e.into_task_error().unwrap_err();
    assert!(e.same_as(&keep));
    assert!(Error::shutdown().into_task_error().is_err());
    // A broken executor's cause is downcastable too.
    let cause: BoxError = Box::new(TestError(9));
    let b = Error::broken("initializer failed", Some(cause));
    assert_eq!(b.downcast_ref::<TestError>(), Some(&TestError(9)));
    assert_eq!(
        b.to_string(),
        "executor is broken: initializer failed: test error 9"
    );
    assert!(b.source().is_some());
}

#[test]
fn io_and_string_errors_are_stored_as_themselves() {
    let e = Error::task(std::io::Error::new(std::io::ErrorKind::NotFound, "nope"));
    assert_eq!(
        e.downcast_ref::<std::io::Error>().unwrap().kind(),
        std::io::ErrorKind::NotFound
    );
    let e = Error::task("plain text");
    assert_eq!(e.to_string(), "task failed: plain text");
    let e = Error::task(String::from("owned text"));
    assert_eq!(e.message(), "owned text");
}

#[test]
fn a_panicked_error_keeps_the_message_and_payload_type() {
    let p = catch_unwind(|| panic!("static message")).unwrap_err();
    let e = Error::panicked(p);
    assert_eq!(e.kind(), ErrorKind::Panicked);
    assert_eq!(e.panic_message(), Some("static message"));
    assert_eq!(e.panic_payload_type(), Some("&str"));
    assert_eq!(e.to_string(), "task panicked: static message");

    let p = catch_unwind(|| panic!("formatted {}", std::hint::black_box(42))).unwrap_err();
    let e = Error::panicked(p);
    assert_eq!(e.panic_message(), Some("formatted 42"));
    assert_eq!(e.panic_payload_type(), Some("String"));
    let payload = e.take_panic_payload().unwrap();
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "formatted 42");

    let p = catch_unwind(|| panic_any(TestError(4))).unwrap_err();
    let e = Error::panicked(p);
    assert_eq!(e.panic_message(), Some("non-string panic payload"));
    assert_eq!(e.panic_payload_type(), Some("Box<dyn Any + Send>"));
    // The original payload can be re-raised, once, from any clone.
    let clone = e.clone();
    let payload = clone.take_panic_payload().unwrap();
    assert!(e.take_panic_payload().is_none());
    let again = catch_unwind(std::panic::AssertUnwindSafe(|| resume_unwind(payload))).unwrap_err();
    assert_eq!(again.downcast_ref::<TestError>(), Some(&TestError(4)));
    assert!(format!("{e:?}").contains("payload_type"));
}

#[test]
fn a_task_panic_is_stored_in_its_future_with_message_and_payload() {
    let ex = Inline::default();
    let fut = ex
        .submit(|| -> u8 { panic!("boom {}", std::hint::black_box(1)) })
        .unwrap();
    let e = fut.result().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panicked);
    assert_eq!(e.panic_message(), Some("boom 1"));
    assert_eq!(e.panic_payload_type(), Some("String"));

    let fut = ex.submit(|| -> u8 { panic_any(17u32) }).unwrap();
    let e = fut.result().unwrap_err();
    let payload = e.take_panic_payload().unwrap();
    assert_eq!(payload.downcast_ref::<u32>(), Some(&17));
}

#[test]
fn submit_error_gives_the_task_back_with_the_reason() {
    let refused = SubmitError::new(NotClone(3), Error::shutdown());
    assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
    assert_eq!(
        refused.to_string(),
        "task refused: executor has been shut down"
    );
    assert!(refused.source().unwrap().to_string().contains("shut down"));
    assert!(format!("{refused:?}").contains("SubmitError"));
    let mapped = refused.map_task(|NotClone(n)| n * 2);
    let (task, err) = mapped.into_parts();
    assert_eq!(task, 6);
    assert_eq!(err.kind(), ErrorKind::Shutdown);

    let refused = SubmitError::new(NotClone(1), Error::broken("down", None));
    let as_error: Error = SubmitError::new((), Error::broken("down", None)).into();
    assert_eq!(as_error.kind(), ErrorKind::Broken);
    assert_eq!(refused.into_task(), NotClone(1));
}
