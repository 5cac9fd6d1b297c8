//! `Completion::failed`: whether completing a task left one of its futures
//! holding an error (an item's error, an output that does not decode), for
//! the pools' statistics. A chunk's item errors stay in its outcome.

use concur_core::{ErrorKind, Promise};
use concur_ipc::{Outcomes, RemoteError, RemoteErrorKind};
use concur_remote::{ChunkPromise, Completer, Promises};
use concur_testkit::Halve;

#[test]
fn a_failed_item_or_an_undecodable_output_fails_a_task_of_promises() {
    let ok_and_err = || {
        let mut r = Outcomes::new();
        r.push_encoded(&1u32).unwrap();
        r.push_err(RemoteError::new(RemoteErrorKind::Task, "E", "no"));
        r
    };
    let (p1, f1) = Promise::new();
    let (p2, f2) = Promise::new();
    let mut c = Box::new(Promises::<Halve>::new(vec![p1, p2]));
    assert!(c.start());
    assert!(c.complete(ok_and_err(), None).failed);
    assert_eq!(f1.into_result().unwrap(), 1);
    assert_eq!(f2.into_result().unwrap_err().kind(), ErrorKind::Task);

    let (p, f) = Promise::new();
    let mut c = Box::new(Promises::<Halve>::new(vec![p]));
    assert!(c.start());
    let mut r = Outcomes::new();
    r.push_ok(&[]); // not a u32
    assert!(c.complete(r, None).failed);
    assert_eq!(f.into_result().unwrap_err().kind(), ErrorKind::Codec);

    let (p, f) = Promise::new();
    let mut c = Box::new(ChunkPromise::<Halve>::new(p, vec![], 2));
    assert!(c.start());
    assert!(!c.complete(ok_and_err(), None).failed);
    assert_eq!(f.into_result().unwrap().failures().len(), 1);
}
