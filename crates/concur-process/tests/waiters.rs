//! A thread blocked on a shared-memory pool's future reads the reply ring
//! itself and completes what it finds there (`driver.rs`, `desk.rs`):
//! it completes its own future; many waiters on many workers, with
//! workers recycled by `max_tasks_per_child` while waiters handle the
//! replies, lose and duplicate nothing; a waiter that stops helping (long
//! tasks, timeouts, extreme timeouts) still gets its result from the
//! dispatcher; what a waiter reads and cannot handle (a stray or
//! oversized frame, a corrupt ring) the dispatcher reports as a protocol
//! violation; a worker killed while a waiter reads its ring, even mid-
//! reply, fails only its task. Each case checks for leftover children and descriptors.
//!
//! Plain libtest, as `tests/pool.rs` (`helpers::run_case` runs the cases
//! one at a time, under both start methods).

#[macro_use]
mod helpers;

use concur_core::{ErrorKind, TaskExecutor};
use concur_testkit::leak_checked;
use helpers::{LONG, builder, die_mid_reply, died, pool, sigkill, stray_frame};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn worker_pid() -> u32 { std::process::id() }
    /// Busy for `us` microseconds: a task short enough that waiters help
    /// for its whole length, long enough that the waiter is there first.
    fn spin_us(us: u64) -> u64 {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_micros(us) {
            std::hint::spin_loop();
        }
        us
    }
    fn sleep_ms(ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }
}

fn setup() {}

/// With `tracing` on, the event "task finished" is emitted on the thread
/// that completed the task: a waiter completes its own future of a short
/// task (nearly every time: the dispatcher blocks while a waiter helps),
/// and never one of a pool without shared memory.
#[cfg(feature = "tracing")]
mod traced {
    use super::{builder, pool, spin_us};
    use concur_core::TaskExecutor;
    use concur_testkit::leak_checked;
    use concur_testkit::tracing_capture::{capture_tracing, install};

    fn setup() {
        install();
    }

    fn the_waiting_thread_completes_its_own_future() {
        leak_checked(|| {
            let finished_here = |pool: &concur_process::ProcessPool| {
                let ((), events) = capture_tracing(|| {
                    for _ in 0..200 {
                        let f = pool.submit_task(spin_us, 30).unwrap();
                        assert_eq!(f.into_result().unwrap(), 30);
                    }
                });
                events
                    .iter()
                    .filter(|e| e.field("message") == Some("task finished"))
                    .count()
            };
            let rings = pool(1);
            assert_eq!(rings.workers_on_shared_memory(), 1);
            let here = finished_here(&rings);
            println!("    {here} of 200 tasks completed by the waiting thread");
            assert!(here >= 50, "waiters completed {here} of 200 futures");
            let socket = builder()
                .max_workers(1)
                .shared_memory(false)
                .build()
                .unwrap();
            assert_eq!(finished_here(&socket), 0);
        });
    }

    /// The same through `as_completed`: the thread blocked in the
    /// watcher completes the futures it watches.
    fn a_thread_in_as_completed_completes_what_it_watches() {
        leak_checked(|| {
            let pool = pool(1);
            let ((), events) = capture_tracing(|| {
                for _ in 0..200 {
                    let f = pool.submit_task(spin_us, 30).unwrap();
                    for done in concur_combinators::as_completed([f]) {
                        assert_eq!(*done.result().unwrap(), 30);
                    }
                }
            });
            let here = events
                .iter()
                .filter(|e| e.field("message") == Some("task finished"))
                .count();
            println!("    {here} of 200 tasks completed by the thread in as_completed");
            assert!(
                here >= 50,
                "the watching thread completed {here} of 200 futures"
            );
        });
    }

    process_tests! {
        setup: setup;
        both: [
            the_waiting_thread_completes_its_own_future,
            a_thread_in_as_completed_completes_what_it_watches,
        ];
        spawn_only: [];
        fork_server_only: [];
    }
}

/// Four threads submit and wait on two workers that are recycled every 5
/// tasks, while a fifth maps at chunksize 1: every result is right, every
/// recycling happened (waiters that take a worker to its limit ask the
/// dispatcher to retire it), and the pool still serves.
fn many_waiters_and_recycled_workers() {
    leak_checked(|| {
        let pool = builder()
            .max_workers(2)
            .max_tasks_per_child(5)
            .build()
            .unwrap();
        let per_thread = 150u64;
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let pool = &pool;
                s.spawn(move || {
                    for i in 0..per_thread {
                        let x = t * 1000 + i;
                        let f = pool.submit_task(square, x).unwrap();
                        assert_eq!(f.result_timeout(LONG).unwrap(), &(x * x));
                    }
                });
            }
            let pool = &pool;
            s.spawn(move || {
                use concur_combinators::TaskExecutorExt;
                let got: Vec<u64> = pool
                    .map_task(square, 0..100u64)
                    .chunksize(1)
                    .run()
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                assert_eq!(got, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
            });
        });
        let stats = pool.stats();
        assert_eq!(stats.completed, 4 * per_thread + 100, "{stats:?}");
        assert_eq!(stats.failed, 0, "{stats:?}");
        // Each worker exits after 5 tasks; the last one of each slot may
        // still be counting down.
        assert!(
            stats.replaced.recycled >= (4 * per_thread + 100) / 5 - 2,
            "{stats:?}"
        );
        assert_eq!(
            pool.submit_task(square, 9).unwrap().into_result().unwrap(),
            81
        );
    });
}

/// A waiter on a long task stops helping and parks; the dispatcher then
/// completes the future. Timed waits keep their meaning: zero is a
/// non-blocking look, a short one times out with the task still running,
/// `Duration::MAX` waits for the result.
fn a_waiter_that_stops_helping_still_gets_its_result() {
    leak_checked(|| {
        let pool = pool(1);
        for _ in 0..3 {
            let f = pool.submit_task(sleep_ms, 30).unwrap();
            assert!(f.result_timeout(LONG).is_ok());
        }
        let f = pool.submit_task(sleep_ms, 200).unwrap();
        let started = Instant::now();
        assert!(!f.wait_timeout(Duration::ZERO));
        let timed_out = f.result_timeout(Duration::from_millis(5)).unwrap_err();
        assert_eq!(timed_out.kind(), ErrorKind::Timeout);
        assert!(
            started.elapsed() < Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
        assert!(!f.done());
        assert!(f.wait_timeout(Duration::MAX));
        assert!(f.result().is_ok());
        // Round trips right after, on the same worker.
        for x in 0..50u64 {
            assert_eq!(
                pool.submit_task(square, x).unwrap().into_result().unwrap(),
                x * x
            );
        }
    });
}

/// The worker is killed while the test waits on its task (the waiter is
/// reading its ring): that task fails with `WorkerDied`, the replacement
/// serves, and waiters read its new ring.
fn killed_while_a_waiter_reads_its_ring() {
    leak_checked(|| {
        let pool = pool(1);
        let pid = pool
            .submit_task(worker_pid, ())
            .unwrap()
            .into_result()
            .unwrap();
        let f = pool.submit_task(sleep_ms, 10_000).unwrap();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            assert!(sigkill(pid));
        });
        let err = f.result_timeout(LONG).unwrap_err();
        killer.join().unwrap();
        assert_eq!(
            died(&err).cause,
            concur_process::ExitCause::Signal(libc::SIGKILL)
        );
        let next = pool
            .submit_task(worker_pid, ())
            .unwrap()
            .into_result()
            .unwrap();
        assert_ne!(next, pid);
        assert_eq!(pool.workers_on_shared_memory(), 1);
        for x in 0..50u64 {
            assert_eq!(
                pool.submit_task(square, x).unwrap().into_result().unwrap(),
                x * x
            );
        }
    });
}

/// Quick round trips, so that the pool's tasks count as short and the
/// next waiter helps (reads the ring) for the whole of its wait.
fn warm(pool: &concur_process::ProcessPool) {
    for x in 0..20u64 {
        assert_eq!(
            pool.submit_task(square, x).unwrap().into_result().unwrap(),
            x * x
        );
    }
}

/// What a helping waiter reads and cannot handle — a reply out of place,
/// a `Done` for a task the worker does not run, a frame past the limit, a
/// corrupt ring — it leaves for the dispatcher, which retires the worker
/// for it: the task fails with a `ProtocolViolation` naming what was sent,
/// a task queued behind it is served by the replacement.
fn what_a_waiter_cannot_handle_goes_to_the_dispatcher() {
    leak_checked(|| {
        let pool = pool(1);
        for (kind, what) in [
            (0u8, "a Ready frame while running a task"),
            (
                2,
                "a reply to task 18446744073709551615, which it was not running",
            ),
            (3, "exceeds the maximum"),
            (4, "shared-memory ring corrupt"),
        ] {
            warm(&pool);
            let violator = pool.submit_task(stray_frame, (kind, true)).unwrap();
            let innocent = pool.submit_task(square, 7).unwrap();
            let err = violator.result_timeout(LONG).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Protocol, "kind {kind}: {err:?}");
            let text = err.to_string();
            assert!(text.contains(what), "kind {kind}: {text}");
            assert_eq!(innocent.into_result().unwrap(), 49, "kind {kind}");
        }
        warm(&pool);
        assert_eq!(pool.workers_on_shared_memory(), 1);
    });
}

/// A worker that dies with half a reply in its ring while a waiter helps:
/// the waiter keeps the torn bytes at the desk, the dispatcher reaps the
/// worker, the task fails with `WorkerDied` by `SIGKILL`, and waiters
/// read the replacement's new ring.
fn killed_mid_reply_while_a_waiter_helps() {
    leak_checked(|| {
        let pool = pool(1);
        for _ in 0..3 {
            warm(&pool);
            let err = pool
                .submit_task(die_mid_reply, ())
                .unwrap()
                .result_timeout(LONG)
                .unwrap_err();
            assert_eq!(
                died(&err).cause,
                concur_process::ExitCause::Signal(libc::SIGKILL)
            );
        }
        warm(&pool);
        assert_eq!(helpers::ring_mappings(), 2);
    });
}

/// A future read after its pool is gone (shut down without waiting, then
/// dropped) still gets its result: the pool finishes its accepted work,
/// and a waiter whose pool is gone waits as on any future.
fn a_future_outlives_its_pool() {
    leak_checked(|| {
        let pool = pool(1);
        let futs: Vec<_> = (0..20u64)
            .map(|x| pool.submit_task(square, x).unwrap())
            .collect();
        pool.shutdown_with(concur_core::ShutdownOptions::new().wait(false));
        drop(pool);
        for (x, f) in futs.into_iter().enumerate() {
            let x = x as u64;
            assert_eq!(f.into_result().unwrap(), x * x);
        }
    });
}

process_tests! {
    setup: setup;
    both: [
        many_waiters_and_recycled_workers,
        a_waiter_that_stops_helping_still_gets_its_result,
        killed_while_a_waiter_reads_its_ring,
        a_future_outlives_its_pool,
        what_a_waiter_cannot_handle_goes_to_the_dispatcher,
        killed_mid_reply_while_a_waiter_helps,
    ];
    spawn_only: [];
    fork_server_only: [];
}
