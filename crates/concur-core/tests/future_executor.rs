//! The executor contract: `Executor` (`submit`, `submit_fallible`, panics
//! caught, refused closures given back), `TaskExecutor`/`RemoteFn` through
//! the blanket impl (`submit_task`, `submit_batch`, give-back on refusal)
//! and `Job` (`run`, `cancel`, `fail`, `new_scoped`; the crate-private
//! `batch`/`chunk` jobs are unit-tested in `src/executor.rs`).

mod helpers;

use concur_core::{
    Error, ErrorKind, Executor, Future, Job, RemoteFn, Shutdown, State, TaskExecutor,
};
use concur_testkit::{Halve, TestError};
use helpers::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

#[test]
fn submit_runs_the_closure_and_fills_the_future() {
    let ex = OneWorker::new();
    let fut = ex.submit(|| NotClone(6 * 7)).unwrap();
    assert_eq!(fut.into_result().unwrap(), NotClone(42));
    assert_eq!(
        *Inline::default().submit(|| 1u8).unwrap().result().unwrap(),
        1
    );
}

#[test]
fn a_panicking_task_fails_its_future_and_the_worker_lives_on() {
    let ex = OneWorker::new();
    let fut = ex.submit(|| -> u8 { panic!("task blew up") }).unwrap();
    let err = fut.result_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked);
    assert_eq!(err.panic_message(), Some("task blew up"));
    let next = ex.submit(|| thread::current().id()).unwrap();
    assert_eq!(*next.result_timeout(LONG).unwrap(), ex.worker_id);
}

#[test]
fn submit_fallible_stores_the_tasks_error_as_the_futures_error() {
    let ex = OneWorker::new();
    let ok = ex
        .submit_fallible(|| -> Result<u8, TestError> { Ok(3) })
        .unwrap();
    assert_eq!(*ok.result_timeout(LONG).unwrap(), 3);
    let bad = ex
        .submit_fallible(|| -> Result<u8, TestError> { Err(TestError(11)) })
        .unwrap();
    let err = bad.result_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(11)));
    assert_eq!(bad.state(), State::Failed);
    let parse = ex.submit_fallible(|| "x".parse::<i32>()).unwrap();
    assert!(
        parse
            .result_timeout(LONG)
            .unwrap_err()
            .downcast_ref::<std::num::ParseIntError>()
            .is_some()
    );
}

#[test]
fn a_refused_submit_gives_the_very_closure_back() {
    let ex = Inline::default();
    ex.shutdown();
    let owned = NotClone(5);
    let err = ex.submit(move || owned).unwrap_err();
    assert_eq!(err.error().kind(), ErrorKind::Shutdown);
    let closure = err.into_task();
    assert_eq!(closure(), NotClone(5), "the same closure, with its capture");

    let err = ex
        .submit_fallible(|| -> Result<u8, TestError> { Ok(1) })
        .unwrap_err();
    assert_eq!(err.error().kind(), ErrorKind::Shutdown);
    assert_eq!(err.into_task()().unwrap(), 1);

    // So does a worker-backed executor once shut down.
    let ex = OneWorker::new();
    ex.shutdown();
    assert_eq!(
        ex.submit(|| ()).unwrap_err().error().kind(),
        ErrorKind::Shutdown
    );
}

#[test]
fn submit_task_runs_a_remote_fn_through_any_executor() {
    let ex = OneWorker::new();
    let fut = ex.submit_task(Halve, 84).unwrap();
    assert_eq!(fut.into_result().unwrap(), 42);
    let err = ex.submit_task(Halve, 7).unwrap().into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(7)));
    let err = ex
        .submit_task(Halve, 13)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("unlucky 13"));
    assert_eq!(Halve::NAME, "concur_testkit::halve");
}

/// User code generic over the executor: switching executor is one line.
fn halve_all<E: TaskExecutor>(ex: &E, xs: Vec<u32>) -> Vec<Result<u32, ErrorKind>> {
    ex.submit_batch(Halve, xs)
        .unwrap()
        .into_iter()
        .map(|f| f.into_result().map_err(|e| e.kind()))
        .collect()
}

#[test]
fn submit_batch_gives_one_future_per_item_in_order_and_isolates_failures() {
    let expected = vec![Ok(1), Err(ErrorKind::Task), Err(ErrorKind::Panicked), Ok(4)];
    assert_eq!(halve_all(&Inline::default(), vec![2, 3, 13, 8]), expected);
    assert_eq!(halve_all(&OneWorker::new(), vec![2, 3, 13, 8]), expected);
    assert!(halve_all(&Inline::default(), Vec::new()).is_empty());
}

/// `submit_chunk`: one future for the batch, each item's outcome in order.
fn halve_chunk<E: TaskExecutor>(ex: &E, xs: Vec<u32>) -> Vec<Result<u32, ErrorKind>> {
    ex.submit_chunk(Halve, xs)
        .unwrap()
        .into_result()
        .unwrap()
        .into_iter()
        .map(|r| r.map_err(|e| e.kind()))
        .collect()
}

#[test]
fn submit_chunk_gives_one_future_with_every_outcome_in_order() {
    let expected = vec![Ok(1), Err(ErrorKind::Task), Err(ErrorKind::Panicked), Ok(4)];
    assert_eq!(halve_chunk(&Inline::default(), vec![2, 3, 13, 8]), expected);
    assert_eq!(halve_chunk(&OneWorker::new(), vec![2, 3, 13, 8]), expected);
    assert!(halve_chunk(&Inline::default(), Vec::new()).is_empty());
    // Cancelling, failing and running chunk jobs directly: unit tests in
    // `src/executor.rs` (`Job::chunk` is crate-private).
}

#[test]
fn refused_remote_submissions_give_the_arguments_back() {
    let ex = Inline::default();
    ex.shutdown_with(concur_core::ShutdownOptions::new().wait(false));
    let err = ex.submit_task(Halve, 10).unwrap_err();
    assert_eq!(err.error().kind(), ErrorKind::Shutdown);
    assert_eq!(err.into_task(), 10);
    let err = ex.submit_batch(Halve, vec![1, 2, 3]).unwrap_err();
    assert_eq!(err.into_task(), [1, 2, 3]);
    let err = ex.submit_chunk(Halve, vec![4, 5]).unwrap_err();
    assert_eq!(err.error().kind(), ErrorKind::Shutdown);
    assert_eq!(err.into_task(), [4, 5]);
}

#[test]
fn executors_behind_references_arcs_boxes_and_dyn() {
    fn one_on<E: Executor>(ex: E) -> u8 {
        ex.submit(|| 1).unwrap().into_result().unwrap()
    }
    let inline = Inline::default();
    assert_eq!(one_on(&inline), 1);
    assert_eq!(one_on(Arc::new(Inline::default())), 1);
    assert_eq!(one_on(Box::new(Inline::default())), 1);
    let arc: Arc<dyn Executor> = Arc::new(Inline::default());
    assert_eq!(*arc.submit(|| 2).unwrap().result().unwrap(), 2);
    assert_eq!(arc.submit_task(Halve, 6).unwrap().into_result().unwrap(), 3);
    let boxed: Box<dyn Executor> = Box::new(OneWorker::new());
    assert_eq!(boxed.submit(|| 3).unwrap().into_result().unwrap(), 3);
    boxed.shutdown();
    assert!(boxed.submit(|| 4).is_err());
}

#[test]
fn shutdown_with_cancel_futures_cancels_queued_jobs() {
    let q = Queue::default();
    let ran = Arc::new(AtomicUsize::new(0));
    let futs: Vec<Future<()>> = (0..3)
        .map(|_| {
            let r = ran.clone();
            q.submit(move || {
                r.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    assert!(futs[1].cancel(), "cancel one while queued");
    assert_eq!(q.len(), 3);
    assert_eq!(q.run_all(), 3);
    assert_eq!(
        ran.load(Ordering::SeqCst),
        2,
        "the cancelled task was skipped"
    );
    let queued: Vec<Future<()>> = (0..2).map(|_| q.submit(|| ()).unwrap()).collect();
    q.shutdown_with(
        concur_core::ShutdownOptions::new()
            .wait(false)
            .cancel_futures(true),
    );
    assert!(queued.iter().all(Future::cancelled));
    assert!(q.submit(|| ()).is_err());
}

#[test]
fn job_cancel_and_fail_complete_the_future_without_running() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let (job, fut) = Job::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    job.cancel();
    assert!(fut.cancelled());

    let r = ran.clone();
    let (job, fut) = Job::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    job.fail(Error::broken("worker died", Some(Box::new(TestError(1)))));
    let err = fut.result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Broken);
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError(1)));

    // Running a job whose future was cancelled skips the closure.
    let r = ran.clone();
    let (job, fut) = Job::new(move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(fut.cancel());
    job.run();
    assert_eq!(ran.load(Ordering::SeqCst), 0);

    // A job dropped unrun abandons its future.
    let (job, fut) = Job::new(|| 1u8);
    drop(job);
    assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Abandoned);
}

#[test]
fn new_scoped_jobs_may_borrow_local_data() {
    let data = [1u64, 2, 3, 4];
    let total = AtomicUsize::new(0);
    let (futs, jobs): (Vec<_>, Vec<_>) = data
        .chunks(2)
        .map(|chunk| {
            let total = &total;
            // SAFETY: every job is run (joined) below, before `data` and
            // `total` go out of scope.
            let (job, fut) = unsafe {
                Job::new_scoped(move || {
                    total.fetch_add(chunk.len(), Ordering::SeqCst);
                    chunk.iter().sum::<u64>()
                })
            };
            (fut, job)
        })
        .unzip();
    thread::scope(|s| {
        for job in jobs {
            s.spawn(move || job.run());
        }
    });
    let sums: Vec<u64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(sums, [3, 7]);
    assert_eq!(total.load(Ordering::SeqCst), 4);

    // Scoped jobs catch panics and can be cancelled like any other.
    let local = String::from("x");
    // SAFETY: run right here.
    let (job, fut) = unsafe { Job::new_scoped(|| -> usize { panic!("{}", local) }) };
    job.run();
    assert_eq!(fut.result().unwrap_err().panic_message(), Some("x"));
    // SAFETY: cancelled right here; the closure never runs.
    let (job, fut) = unsafe { Job::new_scoped(|| local.len()) };
    job.cancel();
    assert!(fut.cancelled());
}

#[test]
fn jobs_are_send_and_debug() {
    fn assert_send<T: Send>() {}
    assert_send::<Job>();
    let (job, _fut) = Job::new(|| ());
    assert!(format!("{job:?}").starts_with("Job"));
    let (job, fut) = Job::new_fallible(|| -> Result<(), TestError> { Err(TestError(2)) });
    thread::spawn(move || job.run()).join().unwrap();
    assert_eq!(
        fut.result().unwrap_err().downcast_ref(),
        Some(&TestError(2))
    );
}

/// Refuses every job by handing back a *different* one it kept from
/// before: a broken implementation of the `execute` contract.
#[derive(Debug)]
struct Swapper(std::sync::Mutex<Option<Job>>);

impl Executor for Swapper {
    fn execute(&self, job: Job) -> Result<(), concur_core::SubmitError<Job>> {
        let other = self.0.lock().unwrap().replace(job).unwrap();
        Err(concur_core::SubmitError::new(other, Error::shutdown()))
    }
}
impl concur_core::Shutdown for Swapper {
    fn shutdown_with(&self, _: concur_core::ShutdownOptions) {}
    fn is_shutdown(&self) -> bool {
        false
    }
}

#[test]
#[should_panic(expected = "executors must give back the job they were given")]
fn an_executor_giving_back_another_job_breaks_the_contract_loudly() {
    let (stash, _fut) = Job::new(|| 1u64);
    let ex = Swapper(std::sync::Mutex::new(Some(stash)));
    let _ = ex.submit(|| 2u8);
}
