//! What a process pool reports about itself: `ProcessPool::stats` after
//! normal work, failing tasks, cancellations, a `SIGKILL`ed worker, a task
//! timeout and recycling by `max_tasks_per_child`; and (feature `tracing`)
//! the events of a worker's death and replacement and of a broken pool,
//! captured by a test subscriber with their structured fields. Each case
//! also checks that no child (zombie or not) and no descriptor is left.
//!
//! Plain libtest, as `tests/pool.rs`: the pre-`main` hook diverts this
//! binary's workers; `helpers::run_case` runs the cases one at a time.

#[macro_use]
mod helpers;

use concur_core::{ErrorKind, ShutdownOptions, TaskExecutor};
use concur_testkit::leak_checked;
use concur_testkit::tracing_capture::{CapturedEvent, install, recorded};
use helpers::{LONG, builder, died, new_worker, sigkill};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    fn halve(x: u32) -> Result<u32, String> {
        if x % 2 == 0 { Ok(x / 2) } else { Err(format!("{x} is odd")) }
    }
    fn boom(x: u32) -> u32 { panic!("boom {x}") }
    fn sleepy(ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }
    fn no_database() -> Result<(), String> { Err("no database".into()) }
}

/// Polls `cond` until it holds (the dispatcher updates its counts right
/// after it completes a future, so a test that saw the future may read
/// the stats a moment early).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LONG;
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `fut` runs on a worker.
fn running<T: Send + 'static>(fut: &concur_core::Future<T>) {
    eventually("the task runs", || fut.running());
}

fn normal_work_failures_and_cancellations() {
    leak_checked(|| {
        let pool = builder().max_workers(2).build().unwrap();
        let s = pool.stats();
        assert_eq!((s.workers_alive, s.workers_started), (2, 2), "{s:?}");
        let futs: Vec<_> = (1..=6)
            .map(|x| pool.submit_task(halve, x).unwrap())
            .collect();
        let panics = pool.submit_task(boom, 1).unwrap();
        futs.iter().for_each(concur_core::Future::wait);
        assert_eq!(panics.result().unwrap_err().kind(), ErrorKind::Task);
        // 3 even (completed), 3 odd and the panic (failed).
        eventually("every task is counted", || pool.stats().finished() == 7);
        let s = pool.stats();
        assert_eq!((s.completed, s.failed, s.cancelled), (3, 4, 0), "{s:?}");
        assert_eq!((s.queued, s.running), (0, 0));

        // Both workers busy; two queued tasks: one cancelled by its future,
        // one by `shutdown(cancel_futures)`.
        let busy: Vec<_> = (0..2)
            .map(|_| pool.submit_task(sleepy, 1000).unwrap())
            .collect();
        busy.iter().for_each(running);
        let queued: Vec<_> = (0..2)
            .map(|_| pool.submit_task(sleepy, 0).unwrap())
            .collect();
        let s = pool.stats();
        assert_eq!((s.running, s.queued), (2, 2), "{s:?}");
        assert!(queued[0].cancel());
        pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
        assert!(queued.iter().all(concur_core::Future::cancelled));
        assert!(busy.iter().all(|f| f.result().is_ok()));
        let s = pool.stats();
        assert_eq!((s.completed, s.failed, s.cancelled), (5, 4, 2), "{s:?}");
        assert_eq!(s.workers_alive, 0, "every worker reaped: {s:?}");
        assert_eq!(s.replaced.total(), 0, "a shutdown replaces nobody: {s:?}");
    });
}

fn a_crash_is_counted_and_the_worker_replaced() {
    leak_checked(|| {
        let pool = builder().max_workers(2).build().unwrap();
        let fut = pool.submit_task(sleepy, 60_000).unwrap();
        running(&fut);
        let old = pool.worker_pids();
        // The busy worker: the one the other (idle) worker is not.
        let victim = pool.submit_task(sleepy, 0).unwrap().into_result().unwrap();
        let busy = *old.iter().find(|p| **p != victim).expect("two workers");
        assert!(sigkill(busy));
        let err = fut.result().unwrap_err();
        assert_eq!(died(&err).pid, busy);
        new_worker(&pool, &old);
        eventually("the replacement is counted and running", || {
            let s = pool.stats();
            s.replaced.crashed == 1 && s.workers_alive == 2 && s.workers_started == 3
        });
        let s = pool.stats();
        assert_eq!(s.replaced.total(), 1, "{s:?}");
        assert_eq!(s.workers_alive, 2, "alive count restored: {s:?}");
        assert_eq!(s.workers_started, 3, "{s:?}");
        assert_eq!((s.completed, s.failed), (1, 1), "{s:?}");
        // The pool still serves.
        assert_eq!(
            pool.submit_task(halve, 8).unwrap().into_result().unwrap(),
            4
        );
        drop(pool);
    });
}

fn timeouts_kills_and_recycling_are_replacements_by_cause() {
    leak_checked(|| {
        let pool = builder()
            .max_workers(1)
            .task_timeout(Duration::from_millis(300))
            .max_tasks_per_child(2)
            .build()
            .unwrap();
        let late = pool.submit_task(sleepy, 60_000).unwrap();
        assert!(late.result().unwrap_err().is_timeout());
        eventually("the timeout's replacement", || {
            pool.stats().replaced.timed_out == 1
        });
        let killed = pool.submit_task(sleepy, 60_000).unwrap();
        running(&killed);
        assert!(pool.kill(&killed));
        assert!(killed.result().unwrap_err().is_cancelled());
        eventually("the kill's replacement", || {
            pool.stats().replaced.killed == 1
        });
        // Two tasks: the worker reaches max_tasks_per_child and is recycled.
        for _ in 0..2 {
            pool.submit_task(sleepy, 0).unwrap().into_result().unwrap();
        }
        eventually("the recycled worker's replacement", || {
            pool.stats().replaced.recycled == 1
        });
        // The replacement is counted when the dead worker is reaped; the
        // new one is launched a moment later.
        eventually("the fourth worker runs", || {
            let s = pool.stats();
            s.workers_started == 4 && s.workers_alive == 1
        });
        let s = pool.stats();
        assert_eq!(s.replaced.total(), 3, "{s:?}");
        assert_eq!((s.completed, s.failed, s.cancelled), (2, 1, 1), "{s:?}");
        drop(pool);
    });
}

fn events_of(pool: &str) -> Vec<CapturedEvent> {
    recorded(|e| e.field("pool") == Some(pool))
}

#[cfg(feature = "tracing")]
fn find<'a>(events: &'a [CapturedEvent], what: &str) -> &'a CapturedEvent {
    events
        .iter()
        .find(|e| e.says(what))
        .unwrap_or_else(|| panic!("no '{what}' event in {events:#?}"))
}

#[cfg(feature = "tracing")]
fn a_death_and_its_replacement_are_traced() {
    use concur_testkit::tracing_capture::Level;
    leak_checked(|| {
        let name = format!(
            "observe-death-{}",
            helpers::METHOD.load(std::sync::atomic::Ordering::SeqCst)
        );
        let pool = builder().name(name.clone()).max_workers(1).build().unwrap();
        let fut = pool.submit_task(sleepy, 60_000).unwrap();
        running(&fut);
        let old = pool.worker_pids();
        assert!(sigkill(old[0]));
        assert_eq!(died(&fut.result().unwrap_err()).pid, old[0]);
        let new = new_worker(&pool, &old);
        let pid = old[0].to_string();
        eventually("the new worker's start is traced", || {
            events_of(&name).iter().any(|e| {
                e.says("worker process started") && e.field("pid") == Some(&new.to_string())
            })
        });
        let events = events_of(&name);
        let death = find(&events, "worker process died");
        assert_eq!(death.level, Level::WARN);
        assert_eq!(death.field("pid"), Some(pid.as_str()));
        assert_eq!(death.field("signal"), Some("9"));
        assert_eq!(death.field("reason"), Some("crashed"));
        assert_eq!(death.field("slot"), Some("0"));
        assert!(
            death.field("cause").unwrap().contains("SIGKILL"),
            "{death:?}"
        );
        let replaced = find(&events, "will be replaced");
        assert_eq!(replaced.level, Level::WARN);
        assert_eq!(replaced.field("old_pid"), Some(pid.as_str()));
        assert_eq!(replaced.field("reason"), Some("crashed"));
        let failed = find(&events, "task failed: its worker is gone");
        assert_eq!(failed.field("pid"), Some(pid.as_str()));
        let task = failed.field("task").expect("a task id").to_owned();
        let submitted = find(&events, "task submitted");
        assert_eq!(submitted.level, Level::TRACE);
        assert_eq!(submitted.field("task"), Some(task.as_str()));
        drop(pool);
    });
}

#[cfg(feature = "tracing")]
fn an_initializer_failure_and_the_broken_pool_are_traced() {
    use concur_testkit::tracing_capture::Level;
    leak_checked(|| {
        let err = builder()
            .name("observe-broken")
            .max_workers(1)
            .initializer(no_database)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("initializer"), "{err}");
        let events = events_of("observe-broken");
        let init = find(&events, "initializer failed");
        assert_eq!(init.level, Level::ERROR);
        assert!(
            init.field("error").unwrap().contains("no database"),
            "{init:?}"
        );
        assert!(
            init.field("initializer").unwrap().contains("no_database"),
            "{init:?}"
        );
        assert!(init.field("pid").is_some());
        let broken = find(&events, "pool is broken");
        assert_eq!(broken.level, Level::ERROR);
        assert!(
            broken.field("error").unwrap().contains("initializer"),
            "{broken:?}"
        );
    });
}

#[cfg(not(feature = "tracing"))]
fn without_the_feature_nothing_is_traced() {
    leak_checked(|| {
        let pool = builder()
            .name("observe-silent")
            .max_workers(1)
            .build()
            .unwrap();
        let fut = pool.submit_task(sleepy, 60_000).unwrap();
        running(&fut);
        let old = pool.worker_pids();
        assert!(sigkill(old[0]));
        assert!(fut.result().is_err());
        new_worker(&pool, &old);
        drop(pool);
        assert!(events_of("observe-silent").is_empty());
    });
}

/// Once per binary: the capturing subscriber every case reads.
fn setup() {
    install();
}

process_tests! {
    setup: setup;
    both: [a_crash_is_counted_and_the_worker_replaced];
    spawn_only: [
        normal_work_failures_and_cancellations,
        timeouts_kills_and_recycling_are_replacements_by_cause,
    ];
    fork_server_only: [];
}

/// The cases that depend on the `tracing` feature (the macro above takes
/// no `cfg`s).
mod traced {
    #[cfg(feature = "tracing")]
    #[test]
    fn spawn_a_death_and_its_replacement_are_traced() {
        crate::helpers::run_case(
            0,
            super::a_death_and_its_replacement_are_traced,
            super::setup,
        );
    }

    #[cfg(feature = "tracing")]
    #[test]
    fn forkserver_a_death_and_its_replacement_are_traced() {
        crate::helpers::run_case(
            1,
            super::a_death_and_its_replacement_are_traced,
            super::setup,
        );
    }

    #[cfg(feature = "tracing")]
    #[test]
    fn spawn_an_initializer_failure_and_the_broken_pool_are_traced() {
        crate::helpers::run_case(
            0,
            super::an_initializer_failure_and_the_broken_pool_are_traced,
            super::setup,
        );
    }

    #[cfg(not(feature = "tracing"))]
    #[test]
    fn spawn_without_the_feature_nothing_is_traced() {
        crate::helpers::run_case(
            0,
            super::without_the_feature_nothing_is_traced,
            super::setup,
        );
    }
}
