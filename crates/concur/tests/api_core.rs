//! Natural user code from the API issue that must compile and behave:
//! values that are `Send` but not `Sync`, and one lifecycle for generic
//! code over either executor trait.

use concur::prelude::*;
use concur::thread::ThreadPool;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

#[test]
fn a_result_that_is_send_but_not_sync_is_moved_out() {
    let pool = ThreadPool::new(2).unwrap();
    let fut = pool.submit(|| Cell::new(5)).unwrap();
    // A future of a !Sync value is still Send: hand it to another thread.
    let got = std::thread::spawn(move || fut.into_result().unwrap())
        .join()
        .unwrap();
    assert_eq!(got.get(), 5);

    let fut = pool.submit(|| RefCell::new(vec![1, 2])).unwrap();
    assert_eq!(fut.into_result().unwrap().into_inner(), [1, 2]);
}

#[test]
fn a_not_sync_result_can_be_awaited() {
    let pool = ThreadPool::new(1).unwrap();
    let fut = pool.submit(|| Cell::new("async")).unwrap();
    let v = futures::executor::block_on(async move { fut.await.unwrap() });
    assert_eq!(v.get(), "async");
}

#[test]
fn a_task_may_use_not_send_values_inside_and_return_a_send_one() {
    // `Rc` is neither Send nor Sync: it may be *created* inside the task
    // (the closure itself is Send) but not returned, since a result must be
    // Send. Returning its contents is fine.
    let pool = ThreadPool::new(1).unwrap();
    let fut = pool
        .submit(|| {
            let shared = Rc::new(41);
            *shared + 1
        })
        .unwrap();
    assert_eq!(fut.into_result().unwrap(), 42);
}

/// Code generic over `TaskExecutor` can run work and stop its executor: the
/// "switch executors by changing one line" promise.
fn run_and_stop<E: TaskExecutor>(ex: &E) -> bool {
    let was = ex.is_shutdown();
    ex.shutdown();
    !was && ex.is_shutdown()
}

/// The same through `Executor`.
fn submit_and_stop<E: Executor>(ex: &E) -> u32 {
    let v = ex.submit(|| 6 * 7).unwrap().into_result().unwrap();
    ex.shutdown_with(ShutdownOptions::new().cancel_futures(true));
    v
}

#[test]
fn generic_code_reaches_the_lifecycle_through_either_trait() {
    let pool = ThreadPool::new(2).unwrap();
    assert!(run_and_stop(&pool));
    assert!(pool.submit(|| ()).is_err());

    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(submit_and_stop(&pool), 42);
    assert!(pool.is_shutdown());

    // Through Arc and Box too.
    let shared = std::sync::Arc::new(ThreadPool::new(1).unwrap());
    assert!(run_and_stop(&shared));
    let boxed: Box<ThreadPool> = Box::new(ThreadPool::new(1).unwrap());
    assert_eq!(submit_and_stop(&boxed), 42);
}

/// Type-checked only (a process pool cannot be built in a facade test: its
/// workers re-run this binary): the process pool offers the same lifecycle.
#[allow(dead_code)]
fn process_pool_generic_lifecycle() {
    let pool = concur::process::ProcessPool::builder()
        .max_workers(2)
        .build()
        .unwrap();
    assert!(run_and_stop(&pool));
    pool.shutdown_with(ShutdownOptions::new().wait(false));
}

#[test]
fn shutdown_options_read_at_the_call_site() {
    let pool = ThreadPool::new(1).unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let (started_tx, started) = std::sync::mpsc::channel();
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            gate.recv().is_err()
        })
        .unwrap();
    started.recv().unwrap();
    let queued = pool.submit(|| 1).unwrap();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_futures(true));
    assert!(queued.cancelled());
    drop(release);
    assert!(running.into_result().unwrap());
    pool.shutdown(); // idempotent, now waits
}
