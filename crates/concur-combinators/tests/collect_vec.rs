//! `MapBuilder::collect_vec`: the parallel path (workers write outputs in
//! place) must give exactly what `run()?.collect::<Result<Vec<_>, _>>()`
//! gives, on every path: every length and chunk size, failures (first in
//! input order; every output written is dropped exactly once), inputs that
//! lie about their length, a refused submission, zero-sized outputs, and
//! the fallbacks (remote functions, unknown lengths, a timeout).

use concur_combinators::{ExecutorExt, TaskExecutorExt};
use concur_core::ErrorKind;
use concur_testkit::{Square, TestPool, Tracked};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Waits until no `Tracked` is alive (jobs may drop theirs just after the
/// map returns).
fn all_dropped(live: &AtomicUsize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while live.load(Ordering::SeqCst) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} alive",
            live.load(Ordering::SeqCst)
        );
        std::thread::yield_now();
    }
}

#[test]
fn same_as_sequential_for_every_length_and_chunksize() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    for len in [0usize, 1, 2, 7, 64, 1000, 4099] {
        let expected: Vec<String> = (0..len).map(|x| format!("<{x}>")).collect();
        for cs in [1, 3, 64, 1000, 5000] {
            for window in [None, Some(1), Some(3)] {
                let mut b = pool.map(|x: usize| format!("<{x}>"), 0..len).chunksize(cs);
                if let Some(w) = window {
                    b = b.buffersize(w);
                }
                assert_eq!(
                    b.collect_vec().unwrap(),
                    expected,
                    "len {len}, chunksize {cs}, window {window:?}"
                );
            }
        }
    }
}

#[test]
fn unordered_map_collects_in_input_order() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let got = pool
        .map_unordered(|x: u64| x * 3, 0..10_000)
        .chunksize(100)
        .collect_vec()
        .unwrap();
    assert_eq!(got, (0..10_000).map(|x| x * 3).collect::<Vec<_>>());
}

#[test]
fn large_output_is_correct() {
    // Large enough for the huge-page advice (over 8 MiB of output).
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let n = 3_000_000u64;
    let got = pool
        .map(|x: u64| x.wrapping_mul(3) ^ 5, 0..n)
        .chunksize(1024)
        .collect_vec()
        .unwrap();
    assert_eq!(got.len(), n as usize);
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, &v)| v == (i as u64).wrapping_mul(3) ^ 5)
    );
}

#[test]
fn first_panic_in_input_order_wins_and_nothing_leaks() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    for (cs, window) in [(1, 4), (7, 2), (100, 32), (5000, 1)] {
        let l = Arc::clone(&live);
        let err = pool
            .map(
                move |x: u64| {
                    if x == 3_333 || x == 777 {
                        panic!("item {x} panicked");
                    }
                    Tracked::new(x, &l)
                },
                0..10_000,
            )
            .chunksize(cs)
            .buffersize(window)
            .collect_vec()
            .map(|v| v.len())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked, "{err}");
        assert!(err.to_string().contains("item 777 panicked"), "{err}");
        all_dropped(&live);
    }
}

#[test]
fn fallible_map_returns_the_first_err() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let err = pool
        .map_fallible(
            |s: String| s.parse::<u32>(),
            ["1", "2", "x", "4", "y"].map(String::from),
        )
        .chunksize(2)
        .collect_vec()
        .unwrap_err();
    assert!(
        err.downcast_ref::<std::num::ParseIntError>().is_some(),
        "{err:?}"
    );
    let ok = pool
        .map_fallible(|s: &str| s.parse::<u32>(), ["1", "2", "3"])
        .collect_vec()
        .unwrap();
    assert_eq!(ok, [1, 2, 3]);
}

#[test]
fn successful_outputs_are_owned_by_the_vec() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&live);
    let v = pool
        .map(move |x: u64| Tracked::new(x, &l), 0..5000)
        .chunksize(64)
        .collect_vec()
        .unwrap();
    assert_eq!(live.load(Ordering::SeqCst), 5000);
    assert!(v.iter().enumerate().all(|(i, c)| c.value == i as u64));
    drop(v);
    all_dropped(&live);
}

/// Says it holds `claimed` items, yields `real`.
struct Liar {
    next: u64,
    real: u64,
    claimed: usize,
}

impl Iterator for Liar {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        (self.next < self.real).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.claimed, Some(self.claimed))
    }
}

#[test]
fn inputs_that_lie_about_their_length_are_safe() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    // Fewer than promised: what they gave.
    let l = Arc::clone(&live);
    let v = pool
        .map(
            move |x| Tracked::new(x, &l),
            Liar {
                next: 0,
                real: 90,
                claimed: 1000,
            },
        )
        .chunksize(16)
        .collect_vec()
        .unwrap();
    assert_eq!(v.len(), 90);
    assert!(v.iter().enumerate().all(|(i, c)| c.value == i as u64));
    drop(v);
    // More than promised: an error, never a write past the buffer.
    let l = Arc::clone(&live);
    let err = pool
        .map(
            move |x| Tracked::new(x, &l),
            Liar {
                next: 0,
                real: 5000,
                claimed: 100,
            },
        )
        .chunksize(16)
        .collect_vec()
        .map(|v| v.len())
        .unwrap_err();
    assert!(err.to_string().contains("size_hint (100)"), "{err}");
    all_dropped(&live);
}

#[test]
fn refused_submission_is_the_error() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    pool.shutdown();
    let err = pool.map(|x: u8| x, 0..100).collect_vec().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Shutdown, "{err}");
}

#[test]
fn zero_sized_outputs() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let v = pool
        .map(|_: u32| (), 0..10_000)
        .chunksize(100)
        .collect_vec()
        .unwrap();
    assert_eq!(v.len(), 10_000);
}

#[test]
fn refused_options() {
    let pool = concur_thread::ThreadPool::new(2).unwrap();
    let err = pool
        .map(|x: u8| x, [1])
        .chunksize(0)
        .collect_vec()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
    let err = pool
        .map(|x: u8| x, [1])
        .buffersize(0)
        .collect_vec()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfig);
}

#[test]
fn fallbacks_give_the_same_results() {
    let pool = TestPool::new(2);
    // A remote function.
    let v = pool
        .map_task(Square, 0..100)
        .chunksize(7)
        .collect_vec()
        .unwrap();
    assert_eq!(v, (0..100i64).map(|x| x * x).collect::<Vec<_>>());
    // Inputs of unknown length.
    let v = pool
        .map(|x: u64| x + 1, (0..100).filter(|x| x % 2 == 0))
        .collect_vec()
        .unwrap();
    assert_eq!(
        v,
        (0..100)
            .filter(|x| x % 2 == 0)
            .map(|x| x + 1)
            .collect::<Vec<_>>()
    );
    // A timeout.
    let v = pool
        .map(|x: u64| x * 2, 0..50)
        .timeout(Duration::from_secs(60))
        .collect_vec()
        .unwrap();
    assert_eq!(v, (0..50).map(|x| x * 2).collect::<Vec<_>>());
    // A failing remote item.
    let err = pool
        .map_task(concur_testkit::Inverse, [1, 0, 2])
        .collect_vec()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
}
