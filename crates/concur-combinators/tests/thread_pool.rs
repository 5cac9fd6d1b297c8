//! The combinators on concur-thread's real `ThreadPool`.

use concur_combinators::{ExecutorExt, FutureExt, ReturnWhen, as_completed, join_all, wait};
use concur_core::Executor;
use concur_thread::ThreadPool;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

fn pool() -> ThreadPool {
    ThreadPool::builder().max_workers(3).build().unwrap()
}

#[test]
fn as_completed_and_wait_on_a_thread_pool() {
    let pool = pool();
    let fs: Vec<_> = (0..200u64)
        .map(|i| pool.submit(move || i * 2).unwrap())
        .collect();
    let mut got: Vec<u64> = as_completed(&fs)
        .timeout(LONG)
        .map(|f| *f.unwrap().result().unwrap())
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..200).map(|i| i * 2).collect::<Vec<_>>());
    let (done, not_done) = wait(&fs, Some(LONG), ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (200, 0));
}

#[test]
fn map_on_a_thread_pool() {
    let pool = pool();
    for (cs, bs) in [(1, None), (16, Some(2)), (1000, None)] {
        let mut b = pool.map(|x: u64| x + 1, 0..5000).chunksize(cs);
        if let Some(bs) = bs {
            b = b.buffersize(bs);
        }
        let out: Vec<u64> = b.run().unwrap().map(Result::unwrap).collect();
        assert_eq!(out, (1..=5000).collect::<Vec<_>>());
    }
}

#[test]
fn chaining_on_a_thread_pool() {
    let pool = pool();
    let f = pool.submit(|| 20).unwrap().then(|x| x + 1);
    let all = join_all([f, pool.submit(|| 21).unwrap()]);
    assert_eq!(*all.result_timeout(LONG).unwrap(), [21, 21]);
}
