//! `run_coroutine_threadsafe` through every spawner: the built-in
//! background runtime, tokio's `Handle` (current-thread and multi-thread),
//! async-executor (smol) and a `futures::executor::block_on` thread.
//! (The tokio cases need `--features tokio`; the workspace build enables
//! it through the benches crate.) Ports CPython's
//! `test_asyncio/test_tasks.py` `RunCoroutineThreadsafeTests`.

#![cfg(feature = "background-runtime")]

mod helpers;

use concur_async::{
    BackgroundRuntime, BoxedCoroutine, SpawnError, Spawner, run_coroutine_threadsafe,
};
use concur_core::{ErrorKind, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Sets its flag when dropped: shows that an aborted coroutine was dropped.
struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs each task on a new thread with `futures::executor::block_on`.
struct BlockOnThread;
impl Spawner for BlockOnThread {
    fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
        std::thread::spawn(move || futures::executor::block_on(task));
        Ok(())
    }
}

/// Every spawner under test, each with the runtime that keeps it alive.
fn each_spawner(mut body: impl FnMut(&str, &dyn Spawner)) {
    {
        let rt = BackgroundRuntime::new().unwrap();
        body("background", &rt);
    }
    #[cfg(feature = "tokio")]
    {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        body("tokio-multi-thread", rt.handle());
    }
    #[cfg(feature = "tokio")]
    {
        // A current-thread runtime driven by its own thread, as an
        // application's event loop would be.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let driver = std::thread::spawn(move || {
            rt.block_on(async move {
                let _ = stop_rx.await;
            });
        });
        body("tokio-current-thread", &handle);
        stop_tx.send(()).unwrap();
        driver.join().unwrap();
    }
    {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let driver = {
            let ex = ex.clone();
            std::thread::spawn(move || {
                futures_lite::future::block_on(ex.run(stop_rx.recv())).ok();
            })
        };
        body("async-executor", &ex);
        drop(stop_tx);
        driver.join().unwrap();
    }
    body("futures-block-on", &BlockOnThread);
}

#[test]
fn the_coroutine_output_reaches_a_plain_thread() {
    each_spawner(|name, spawner| {
        eprintln!("--- spawner: {name}");
        let fut = run_coroutine_threadsafe(
            async {
                futures_lite::future::yield_now().await;
                String::from("done")
            },
            spawner,
        );
        assert_eq!(fut.result_timeout(Duration::from_secs(10)).unwrap(), "done");
        assert_eq!(fut.state(), State::Finished);
    });
}

#[test]
fn many_coroutines_from_many_threads() {
    each_spawner(|name, spawner| {
        eprintln!("--- spawner: {name}");
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|t| {
                    s.spawn(move || {
                        let futs: Vec<_> = (0..25u64)
                            .map(|i| run_coroutine_threadsafe(async move { t * 100 + i }, spawner))
                            .collect();
                        futs.into_iter()
                            .map(|f| f.into_result().unwrap())
                            .sum::<u64>()
                    })
                })
                .collect();
            let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
            let expect: u64 = (0..4u64)
                .map(|t| (0..25u64).map(|i| t * 100 + i).sum::<u64>())
                .sum();
            assert_eq!(total, expect);
        });
    });
}

#[test]
fn a_panicking_coroutine_fails_the_future() {
    each_spawner(|name, spawner| {
        eprintln!("--- spawner: {name}");
        let fut = run_coroutine_threadsafe(
            async {
                futures_lite::future::yield_now().await;
                if true {
                    panic!("coroutine exploded");
                }
                1u8
            },
            spawner,
        );
        let err = fut.result_timeout(Duration::from_secs(10)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        assert_eq!(err.panic_message(), Some("coroutine exploded"));
        // The runtime still works.
        let ok = run_coroutine_threadsafe(async { 2u8 }, spawner);
        assert_eq!(*ok.result_timeout(Duration::from_secs(10)).unwrap(), 2);
    });
}

#[test]
fn cancelling_the_future_aborts_an_unfinished_coroutine() {
    each_spawner(|name, spawner| {
        eprintln!("--- spawner: {name}");
        let dropped = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let guard = DropFlag(dropped.clone());
        let fut = run_coroutine_threadsafe(
            async move {
                let _guard = guard;
                started_tx.send(()).unwrap();
                std::future::pending::<u8>().await
            },
            spawner,
        );
        started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        // Pending while the coroutine runs, as in asyncio: cancel succeeds.
        assert_eq!(fut.state(), State::Pending);
        assert!(fut.cancel());
        assert!(fut.result().unwrap_err().is_cancelled());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !dropped.load(Ordering::SeqCst) {
            assert!(
                std::time::Instant::now() < deadline,
                "coroutine not aborted"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

#[test]
fn cancelling_a_finished_coroutine_changes_nothing() {
    each_spawner(|name, spawner| {
        eprintln!("--- spawner: {name}");
        let fut = run_coroutine_threadsafe(async { 5 }, spawner);
        assert_eq!(*fut.result_timeout(Duration::from_secs(10)).unwrap(), 5);
        assert!(!fut.cancel());
        assert_eq!(*fut.result().unwrap(), 5);
    });
}

#[test]
fn the_returned_future_can_be_awaited_on_another_runtime() {
    let rt = BackgroundRuntime::new().unwrap();
    helpers::on_each_runtime(|| {
        let spawner = rt.spawner();
        async move {
            let fut = run_coroutine_threadsafe(async { 9 }, &spawner);
            assert_eq!(fut.await.unwrap(), 9);
        }
    });
}

#[test]
fn shutting_down_the_background_runtime_fails_unfinished_and_later_coroutines() {
    let rt = BackgroundRuntime::new().unwrap();
    let spawner = rt.spawner();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let stuck = run_coroutine_threadsafe(
        async move {
            let _guard = guard;
            std::future::pending::<()>().await
        },
        &spawner,
    );
    rt.shutdown();
    assert_eq!(stuck.result().unwrap_err().kind(), ErrorKind::Shutdown);
    assert!(dropped.load(Ordering::SeqCst));
    let late = run_coroutine_threadsafe(async { 1 }, &spawner);
    assert_eq!(late.result().unwrap_err().kind(), ErrorKind::Shutdown);
    assert!(format!("{spawner:?}").contains("open: false"));
}

#[cfg(feature = "tokio")]
#[test]
fn shutting_down_a_tokio_runtime_fails_unfinished_coroutines() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let stuck = run_coroutine_threadsafe(
        async move {
            started_tx.send(()).unwrap();
            std::future::pending::<()>().await
        },
        &handle,
    );
    started_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    rt.shutdown_timeout(Duration::from_secs(5));
    assert_eq!(stuck.result().unwrap_err().kind(), ErrorKind::Shutdown);
    let late = run_coroutine_threadsafe(async { 1 }, &handle);
    assert_eq!(late.result().unwrap_err().kind(), ErrorKind::Shutdown);
}

#[test]
fn a_refusing_spawner_fails_the_future_with_shutdown() {
    struct Closed;
    impl Spawner for Closed {
        fn spawn(&self, task: BoxedCoroutine) -> Result<(), SpawnError> {
            Err(SpawnError::new(task))
        }
    }
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let fut = run_coroutine_threadsafe(async move { r.store(true, Ordering::SeqCst) }, &Closed);
    assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Shutdown);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn dropping_the_runtime_from_inside_one_of_its_tasks_does_not_deadlock() {
    let rt = BackgroundRuntime::new().unwrap();
    let spawner = rt.spawner();
    let holder = Arc::new(std::sync::Mutex::new(Some(rt)));
    let h = holder.clone();
    let fut = run_coroutine_threadsafe(
        async move {
            let rt = h.lock().unwrap().take();
            drop(rt);
            3
        },
        &spawner,
    );
    assert_eq!(*fut.result_timeout(Duration::from_secs(10)).unwrap(), 3);
}

#[cfg(feature = "tokio")]
#[test]
fn a_tokio_runtime_is_a_spawner_too() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fut = run_coroutine_threadsafe(
        async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            "slept on tokio"
        },
        &rt,
    );
    assert_eq!(
        *fut.result_timeout(Duration::from_secs(10)).unwrap(),
        "slept on tokio"
    );
}
