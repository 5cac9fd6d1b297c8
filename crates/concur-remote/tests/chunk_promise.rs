//! `ChunkPromise` fills one `ChunkOutcome` straight from the worker's
//! results: decoded outputs among the values, the worker's errors, outputs
//! that fail to decode and arguments that were never sent among the
//! failures, each at its item's position.
#![cfg(not(concur_loom))]

use concur_core::{ChunkOutcome, Error, ErrorKind, Promise};
use concur_ipc::{Outcomes, RemoteError, RemoteErrorKind};
use concur_remote::{ChunkPromise, Completer};
use concur_testkit::Halve;

fn unsent(at: usize) -> (usize, Error) {
    (at, Error::task(format!("unsent {at}")))
}

fn kinds(out: &ChunkOutcome<u32>) -> Vec<Result<u32, ErrorKind>> {
    out.iter()
        .map(|r| r.copied().map_err(Error::kind))
        .collect()
}

#[test]
fn worker_results_and_unsent_items_land_at_their_positions() {
    let (p, fut) = Promise::new();
    // Six items: 0, 3 and 5 never sent; the worker answers for 1, 2, 4.
    let mut c = Box::new(ChunkPromise::<Halve>::new(
        p,
        vec![unsent(0), unsent(3), unsent(5)],
        6,
    ));
    assert!(c.start());
    let mut results = Outcomes::new();
    results.push_encoded(&10u32).unwrap();
    results.push_err(RemoteError::new(RemoteErrorKind::Task, "E", "no"));
    results.push_ok(&[]); // not a u32: fails to decode
    let done = c.complete(results, Some(std::time::Duration::from_micros(3)));
    assert!(done.callbacks.is_empty());
    assert!(!done.failed, "item errors stay in the chunk's outcome");
    let out = fut.into_result().unwrap();
    assert_eq!(
        out.service_time(),
        Some(std::time::Duration::from_micros(3))
    );
    assert_eq!(out.len(), 6);
    assert_eq!(out.values(), [10]);
    assert_eq!(
        kinds(&out),
        [
            Err(ErrorKind::Task),  // unsent
            Ok(10),                // sent
            Err(ErrorKind::Task),  // sent: the worker's error
            Err(ErrorKind::Task),  // unsent
            Err(ErrorKind::Codec), // sent: its output does not decode
            Err(ErrorKind::Task),  // unsent
        ]
    );
    let msg = |i: usize| out.get(i).unwrap().unwrap_err().to_string();
    assert!(
        msg(0).contains("unsent 0") && msg(3).contains("unsent 3"),
        "{}",
        msg(3)
    );
    assert!(
        msg(5).contains("unsent 5") && msg(2).contains("no"),
        "{}",
        msg(2)
    );
}

#[test]
fn all_sent_and_all_ok_is_a_chunk_of_values() {
    let (p, fut) = Promise::new();
    let mut c = Box::new(ChunkPromise::<Halve>::new(p, vec![], 3));
    assert!(c.start());
    let mut results = Outcomes::new();
    for x in [2u32, 4, 6] {
        results.push_encoded(&x).unwrap();
    }
    assert!(!c.complete(results, None).failed);
    let out = fut.into_result().unwrap();
    assert!(out.is_all_ok());
    assert_eq!(out.into_parts().0, [2, 4, 6]);
}

#[test]
fn a_wrong_number_of_results_fails_the_chunk_as_a_protocol_violation() {
    let (p, fut) = Promise::new();
    let mut c = Box::new(ChunkPromise::<Halve>::new(p, vec![unsent(1)], 3));
    assert!(c.start());
    let mut results = Outcomes::new();
    results.push_encoded(&1u32).unwrap();
    assert!(c.complete(results, None).failed);
    assert_eq!(fut.into_result().unwrap_err().kind(), ErrorKind::Protocol);
}
