//! The thread pool's `tracing` events (feature `tracing`): a task's
//! submit, start and end with the pool's name and the task's id, workers
//! starting and exiting, an initializer failure and the broken pool.
//! Without the feature, the pool emits nothing.

use concur_core::Executor;
#[cfg(feature = "tracing")]
use concur_testkit::tracing_capture::Level;
use concur_testkit::tracing_capture::{CapturedEvent, install, recorded};
use concur_thread::ThreadPool;

fn events_of(pool: &str) -> Vec<CapturedEvent> {
    recorded(|e| e.field("pool") == Some(pool))
}

#[cfg(feature = "tracing")]
#[test]
fn tasks_are_traced_from_submit_to_their_end_with_the_pool_and_task_id() {
    install();
    let pool = ThreadPool::builder()
        .name("traced-tasks")
        .max_workers(1)
        .build()
        .unwrap();
    pool.submit(|| 1).unwrap().wait();
    pool.submit(|| -> u8 { panic!("boom") }).unwrap().wait();
    pool.shutdown();
    let events = events_of("traced-tasks");
    let of_task = |id: &str, what: &str| {
        events
            .iter()
            .find(|e| e.field("task") == Some(id) && e.says(what))
            .unwrap_or_else(|| panic!("task {id}: no '{what}' event in {events:#?}"))
    };
    assert_eq!(of_task("1", "submitted").level, Level::TRACE);
    let started = of_task("1", "started");
    assert_eq!(started.level, Level::TRACE);
    assert_eq!(started.field("worker"), Some("0"));
    assert_eq!(of_task("1", "finished").level, Level::TRACE);
    assert_eq!(of_task("2", "submitted").level, Level::TRACE);
    assert_eq!(of_task("2", "failed").level, Level::DEBUG);
    assert!(
        events
            .iter()
            .any(|e| e.says("worker thread started") && e.field("worker") == Some("0"))
    );
    assert!(events.iter().any(|e| e.says("worker thread exited")));
}

#[cfg(feature = "tracing")]
#[test]
fn an_initializer_failure_and_the_broken_pool_are_errors() {
    install();
    let pool = ThreadPool::builder()
        .name("traced-broken")
        .max_workers(1)
        .initializer(|| Err::<(), _>("no database"))
        .build()
        .unwrap();
    pool.submit(|| ()).unwrap().wait();
    assert!(pool.is_broken());
    pool.shutdown();
    let events = events_of("traced-broken");
    let init = events
        .iter()
        .find(|e| e.says("initializer failed"))
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(init.level, Level::ERROR);
    assert_eq!(init.field("error"), Some("no database"));
    assert_eq!(init.field("worker"), Some("0"));
    let broken = events
        .iter()
        .find(|e| e.says("broken"))
        .unwrap_or_else(|| panic!("{events:#?}"));
    assert_eq!(broken.level, Level::ERROR);
    assert!(
        broken
            .field("error")
            .unwrap()
            .contains("initializer failed")
    );
}

#[cfg(not(feature = "tracing"))]
#[test]
fn without_the_feature_the_pool_emits_nothing() {
    install();
    let pool = ThreadPool::builder().name("untraced").build().unwrap();
    pool.submit(|| -> u8 { panic!("boom") }).unwrap().wait();
    pool.shutdown();
    assert!(events_of("untraced").is_empty());
}
