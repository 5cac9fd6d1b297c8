//! `RayonExecutor`: the executor contract on a rayon pool.
#![cfg(feature = "rayon")]

mod helpers;

use concur_core::{ErrorKind, Executor, State, TaskExecutor};
use concur_testkit::{Event, Negate};
use concur_thread::RayonExecutor;
use helpers::{Counter, PATIENCE};

fn exec(threads: usize) -> RayonExecutor {
    RayonExecutor::new(
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap(),
    )
}

#[test]
fn submit_panics_and_errors() {
    let e = exec(2);
    assert_eq!(e.submit(|| 2 + 2).unwrap().into_result().unwrap(), 4);
    let p = e.submit(|| -> u8 { panic!("rayon boom") }).unwrap();
    assert_eq!(p.result().unwrap_err().panic_message(), Some("rayon boom"));
    let f = e.submit_fallible(|| "z".parse::<u8>()).unwrap();
    assert_eq!(f.result().unwrap_err().kind(), ErrorKind::Task);
    assert_eq!(e.submit(|| 1).unwrap().into_result().unwrap(), 1);
}

#[test]
fn shutdown_waits_and_refuses() {
    let e = exec(2);
    let futs: Vec<_> = (0..50u32)
        .map(|i| {
            e.submit(move || {
                std::thread::sleep(std::time::Duration::from_millis(1));
                i
            })
            .unwrap()
        })
        .collect();
    e.shutdown();
    assert!(futs.iter().all(|f| f.state() == State::Finished));
    let refused = e.submit(|| 3).unwrap_err();
    assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
    assert_eq!((refused.into_task())(), 3);
}

#[test]
fn cancel_futures_cancels_queued_jobs_at_once() {
    let e = exec(1);
    let gate = Event::new();
    let started = Counter::new();
    let (g, s) = (gate.clone(), started.clone());
    let first = e
        .submit(move || {
            s.hit();
            g.wait();
        })
        .unwrap();
    let rest: Vec<_> = (0..10).map(|_| e.submit(|| ()).unwrap()).collect();
    started.wait_for(1);
    e.shutdown_with(
        concur_core::ShutdownOptions::new()
            .wait(false)
            .cancel_futures(true),
    );
    assert!(rest.iter().all(concur_core::Future::cancelled));
    gate.set();
    first.result_timeout(PATIENCE).unwrap();
    e.shutdown();
}

#[test]
fn task_executor_comes_for_free() {
    let e = exec(2);
    let futs = e.submit_batch(Negate, vec![1, 2, 3]).unwrap();
    let out: Vec<i32> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(out, [-1, -2, -3]);
    assert_eq!(e.submit_task(Negate, 4).unwrap().into_result().unwrap(), -4);
}
