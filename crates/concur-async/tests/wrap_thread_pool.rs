//! The adapter over the real `concur_thread::ThreadPool`, under every
//! runtime: round trips, and cancel-on-drop observed on a one-worker pool
//! whose worker is held on a barrier.

mod helpers;

use concur_async::{BoundedSubmitter, ReturnWhen, as_completed, run_in_executor, wait};
use concur_core::Shutdown as _;
use concur_core::State;
use concur_thread::ThreadPool;
use futures::StreamExt;
use helpers::{Gate, on_each_runtime};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn pool(workers: usize) -> Arc<ThreadPool> {
    Arc::new(ThreadPool::builder().max_workers(workers).build().unwrap())
}

#[test]
fn dropping_the_awaitable_cancels_a_queued_task_on_a_thread_pool() {
    on_each_runtime(|| async {
        let pool = pool(1);
        let gate = Gate::new();
        let g = gate.clone();
        let _blocker = run_in_executor(&*pool, move || g.hold()).detach();
        gate.wait_started();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let mut queued = run_in_executor(&*pool, move || r.store(true, Ordering::SeqCst));
        assert!(futures::poll!(&mut queued).is_pending());
        let handle = queued.future().unwrap().clone();
        drop(queued);
        gate.release();
        pool.shutdown();
        assert!(!ran.load(Ordering::SeqCst), "the cancelled closure ran");
        assert_eq!(handle.state(), State::Cancelled);
    });
}

#[test]
fn combinators_and_bounded_submission_over_a_thread_pool() {
    let pool = pool(2);
    on_each_runtime(|| {
        let pool = pool.clone();
        async move {
            let fs: Vec<_> = (0..40u64)
                .map(|i| run_in_executor(&*pool, move || i * 2).detach())
                .collect();
            let (done, not_done) = wait(fs.iter().cloned(), None, ReturnWhen::AllCompleted).await;
            assert_eq!((done.len(), not_done.len()), (40, 0));
            drop((done, not_done));
            let sum: u64 = as_completed(fs)
                .map(|f| f.into_result().unwrap())
                .fold(0, |a, b| async move { a + b })
                .await;
            assert_eq!(sum, 2 * 39 * 40 / 2);

            let bounded = BoundedSubmitter::new(&*pool, NonZeroUsize::new(3).unwrap());
            let outs =
                futures::future::join_all((0..20u32).map(|i| bounded.run(move || i + 1))).await;
            let total: u32 = outs.into_iter().map(Result::unwrap).sum();
            assert_eq!(total, 210);
        }
    });
}
