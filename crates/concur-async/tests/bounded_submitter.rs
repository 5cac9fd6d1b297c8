//! `BoundedSubmitter` under every runtime: the limit holds, slots come back
//! however a task ends.

mod helpers;

use concur_async::BoundedSubmitter;
use concur_core::ErrorKind;
use concur_core::Shutdown;
use concur_testkit::TestPool;
use helpers::{Gate, on_each_runtime};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[test]
fn never_more_than_the_limit_in_flight() {
    let pool = TestPool::shared(4);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let bounded = BoundedSubmitter::new(pool, NonZeroUsize::new(2).unwrap());
            let now = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let mut handles = Vec::new();
            for i in 0..40u64 {
                let (now, peak) = (now.clone(), peak.clone());
                handles.push(
                    bounded
                        .submit(move || {
                            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                            peak.fetch_max(n, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_micros(200));
                            now.fetch_sub(1, Ordering::SeqCst);
                            i
                        })
                        .await,
                );
            }
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            assert_eq!(sum, 39 * 40 / 2);
            let peak = peak.load(Ordering::SeqCst);
            assert!((1..=2).contains(&peak), "peak {peak} in flight");
        }
    });
}

#[test]
fn run_waits_for_the_outcome_and_concurrent_runs_respect_the_limit() {
    let pool = TestPool::shared(3);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let bounded = BoundedSubmitter::new(&*pool, NonZeroUsize::MIN);
            let now = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let runs = (0..10u32).map(|i| {
                let (now, peak) = (now.clone(), peak.clone());
                bounded.run(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_micros(100));
                    now.fetch_sub(1, Ordering::SeqCst);
                    i
                })
            });
            let outs = futures::future::join_all(runs).await;
            let outs: Vec<u32> = outs.into_iter().map(Result::unwrap).collect();
            assert_eq!(outs, (0..10).collect::<Vec<_>>());
            assert_eq!(peak.load(Ordering::SeqCst), 1);
        }
    });
}

#[test]
fn a_cancelled_task_gives_its_slot_back() {
    on_each_runtime(|| async {
        let pool = TestPool::shared(1);
        let gate = Gate::new();
        let g = gate.clone();
        let _blocker = concur_async::run_in_executor(&*pool, move || g.hold()).detach();
        gate.wait_started();

        let bounded = BoundedSubmitter::new(&*pool, NonZeroUsize::MIN);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = bounded
            .submit(move || r.store(true, Ordering::SeqCst))
            .await;
        let handle = queued.future().unwrap().clone();
        assert!(bounded.try_submit(|| ()).is_err(), "the only slot is taken");
        drop(queued); // not started: cancelled, slot released
        assert!(handle.cancelled());
        let again = bounded
            .try_submit(|| 5)
            .ok()
            .expect("slot released on cancel");
        gate.release();
        assert_eq!(again.await.unwrap(), 5);
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn failures_and_refusals_give_slots_back() {
    on_each_runtime(|| async {
        let pool = TestPool::shared(1);
        let bounded = BoundedSubmitter::new(&*pool, NonZeroUsize::MIN);
        let err = bounded.run(|| -> u8 { panic!("p") }).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        assert_eq!(bounded.run(|| 1).await.unwrap(), 1);
        pool.shutdown();
        for _ in 0..3 {
            let err = bounded.run(|| 1).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Shutdown);
        }
        assert_eq!(bounded.max_in_flight(), 1);
        let _ = bounded.executor();
    });
}

#[test]
fn waiting_for_a_slot_does_not_block_the_event_loop() {
    // With the only slot held by a task that waits for a message from this
    // same loop, a second submission must wait asynchronously.
    let pool = TestPool::shared(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let bounded = BoundedSubmitter::new(&*pool, NonZeroUsize::MIN);
            let (tx, rx) = std::sync::mpsc::channel::<u8>();
            let first = bounded.submit(move || rx.recv().unwrap()).await;
            let second = bounded.run(|| 2u8);
            let (a, b, ()) = futures::join!(first, second, async move {
                tx.send(1).unwrap();
            });
            assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
            // The slot is free again as soon as the outcome is seen.
            let third = bounded.try_submit(|| 3u8).ok().expect("slot released");
            assert_eq!(third.await.unwrap(), 3);
        }
    });
}
