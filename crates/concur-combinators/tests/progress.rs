//! The `progress` feature: an indicatif bar over as_completed and map.

#![cfg(feature = "progress")]

mod helpers;

use concur_combinators::{ExecutorExt, as_completed};
use concur_core::Executor;
use concur_testkit::TestPool;
use helpers::*;
use indicatif::{ProgressBar, ProgressDrawTarget};

fn hidden() -> ProgressBar {
    ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden())
}

#[test]
fn as_completed_ticks_once_per_future_and_finishes() {
    let pool = TestPool::new(2);
    let fs: Vec<_> = (0..25).map(|i| pool.submit(move || i).unwrap()).collect();
    let bar = hidden();
    let mut it = as_completed(&fs).timeout(LONG).with_progress(bar.clone());
    assert_eq!(bar.length(), Some(25));
    for _ in 0..10 {
        let _ = it.next().unwrap().unwrap();
    }
    assert_eq!(bar.position(), 10);
    assert!(!bar.is_finished());
    assert_eq!(it.count(), 15);
    assert_eq!(bar.position(), 25);
    assert!(bar.is_finished());
}

#[test]
fn map_ticks_per_result_including_failures() {
    let pool = TestPool::new(2);
    let bar = hidden();
    let mut it = pool
        .map(|x: u32| 10 / x, 0..40)
        .chunksize(7)
        .with_progress(bar.clone())
        .run()
        .unwrap();
    // Mid-chunk, in the failing first chunk and in clean ones.
    for (take, at) in [(3, 3), (7, 10), (2, 12)] {
        assert_eq!(it.by_ref().take(take).count(), take);
        assert_eq!(bar.position(), at);
    }
    let out: Vec<_> = it.collect();
    assert_eq!(out.len(), 28);
    assert_eq!(bar.length(), Some(40));
    assert_eq!(bar.position(), 40);
    assert!(bar.is_finished());
}

#[test]
fn map_over_unknown_length_leaves_the_length_unset() {
    let pool = TestPool::new(1);
    let bar = hidden();
    let n = pool
        .map_unordered(|x: u32| x, (0..).take_while(|x| *x < 12))
        .with_progress(bar.clone())
        .run()
        .unwrap()
        .count();
    assert_eq!(n, 12);
    assert_eq!(bar.length(), None);
    assert_eq!(bar.position(), 12);
}
