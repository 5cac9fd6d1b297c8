//! Compile-pass checks, written as a user would write them, for the async
//! twins taking what the blocking ones take (issue 13): `gather` over
//! `run_in_executor` awaitables without `.detach()`, `as_completed` over
//! wrapped futures, `wait` with a timeout, and the blocking `as_completed`
//! loop without `?`.

use concur::asyncio::{self, RaiseFirst, run_in_executor};
use concur::combinators::{ReturnWhen, as_completed};
use concur::thread::ThreadPool;
use concur::{Executor, Future};
use futures::StreamExt;
use std::time::Duration;

#[test]
fn gather_of_run_in_executor_without_detach() {
    let pool = ThreadPool::new(2).unwrap();
    let out = futures::executor::block_on(asyncio::gather(
        vec![run_in_executor(&pool, || 1), run_in_executor(&pool, || 2)],
        RaiseFirst,
    ));
    assert_eq!(out.unwrap(), [1, 2]);
}

#[test]
fn gather_with_a_timeout_under_tokio() {
    let pool = ThreadPool::new(2).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let tasks = (1..=3u32).map(|i| run_in_executor(&pool, move || i * 10));
        asyncio::gather(tasks, RaiseFirst)
            .timeout(Duration::from_secs(30))
            .await
    });
    assert_eq!(out.unwrap(), [10, 20, 30]);
}

#[test]
fn async_as_completed_over_wrapped_futures() {
    let pool = ThreadPool::new(2).unwrap();
    let total = futures::executor::block_on(async {
        let tasks: Vec<_> = (1..=4u64)
            .map(|i| run_in_executor(&pool, move || i))
            .collect();
        let mut total = 0;
        let mut done = asyncio::as_completed(tasks);
        while let Some(task) = done.next().await {
            total += task.await.unwrap();
        }
        total
    });
    assert_eq!(total, 10);
}

#[test]
fn async_as_completed_with_a_timeout() {
    let pool = ThreadPool::new(2).unwrap();
    let futs: Vec<Future<u8>> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    let n = futures::executor::block_on(async {
        let mut n = 0;
        let mut stream = asyncio::as_completed(&futs).timeout(Duration::from_secs(30));
        while let Some(f) = stream.next().await {
            assert!(f.unwrap().done());
            n += 1;
        }
        n
    });
    assert_eq!(n, 3);
}

#[test]
fn async_wait_with_a_timeout() {
    let pool = ThreadPool::new(2).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (done, not_done) = rt.block_on(async {
        let quick = run_in_executor(&pool, || "quick");
        let slow = run_in_executor(&pool, || {
            std::thread::sleep(Duration::from_millis(500));
            "slow"
        });
        asyncio::wait(
            vec![quick, slow],
            Some(Duration::from_secs(10)),
            ReturnWhen::FirstCompleted,
        )
        .await
    });
    assert_eq!(done.len(), 1);
    assert_eq!(not_done.len(), 1);
}

#[test]
fn blocking_as_completed_loop_without_question_mark() {
    let pool = ThreadPool::new(2).unwrap();
    let futs: Vec<_> = (1..=3u64)
        .map(|i| pool.submit(move || i * i).unwrap())
        .collect();
    let mut sum = 0;
    for f in as_completed(&futs) {
        sum += f.result().unwrap();
    }
    assert_eq!(sum, 14);

    // With a timeout the items are `Result`s, as in CPython.
    for f in as_completed(&futs).timeout(Duration::from_secs(30)) {
        assert!(f.unwrap().done());
    }
}

#[test]
fn blocking_as_completed_in_a_fallible_function() {
    fn sum_all(pool: &ThreadPool) -> Result<u64, concur::Error> {
        let futs: Vec<_> = (1..=3u64)
            .map(|i| pool.submit(move || i).unwrap())
            .collect();
        let mut sum = 0;
        for f in as_completed(&futs) {
            sum += f.result()?;
        }
        Ok(sum)
    }
    assert_eq!(sum_all(&ThreadPool::new(2).unwrap()).unwrap(), 6);
}
