//! Smoke-tests every module the facade re-exports, under whatever features
//! this build has (CI checks: default, none, `tracing`, and all).

#[test]
fn core_items_are_at_the_top() {
    let (promise, fut) = concur::Promise::new();
    promise.set_result(1u8).unwrap();
    assert_eq!(fut.state(), concur::State::Finished);
    assert_eq!(
        concur::Error::cancelled().kind(),
        concur::ErrorKind::Cancelled
    );
    let mut w = concur::Watcher::new();
    w.watch(fut.erase());
    assert_eq!(w.next().map(|(t, _)| t), Some(0));
    assert_eq!(concur::core_api::Future::ready(3).into_result().unwrap(), 3);
    let chunk = concur::ChunkOutcome::from_values(vec![4u8]);
    assert_eq!(chunk.into_results().len(), 1);
}

#[cfg(feature = "thread")]
#[test]
fn thread_module() {
    use concur::Executor;
    let pool = concur::thread::ThreadPool::new(1).unwrap();
    assert_eq!(pool.submit(|| 2).unwrap().into_result().unwrap(), 2);
    assert!(concur::thread::default_max_workers() >= 5);
}

#[cfg(feature = "rayon")]
#[test]
fn rayon_executor() {
    use concur::Executor;
    let rayon = rayon_pool();
    let exec = concur::thread::RayonExecutor::new(rayon);
    assert_eq!(exec.submit(|| 3).unwrap().into_result().unwrap(), 3);
}

#[cfg(feature = "rayon")]
fn rayon_pool() -> rayon_core::ThreadPool {
    rayon_core::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
}

#[cfg(feature = "combinators")]
#[test]
fn combinators_module() {
    use concur::combinators::{ReturnWhen, as_completed, wait};
    let fs = [concur::Future::ready(1), concur::Future::ready(2)];
    assert_eq!(as_completed(&fs).count(), 2);
    let (done, not_done) = wait(&fs, None, ReturnWhen::AllCompleted);
    assert_eq!((done.len(), not_done.len()), (2, 0));
}

#[cfg(all(feature = "thread", feature = "combinators"))]
#[test]
fn prelude_brings_what_programs_need() {
    use concur::prelude::*;
    let pool = ThreadPool::new(2).unwrap();
    let out: Vec<i32> = pool
        .map(|x: i32| x + 1, [1, 2])
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, [2, 3]);
    let f = pool.submit(|| 5).unwrap();
    assert_eq!(as_completed([&f]).count(), 1);
}

#[cfg(feature = "process")]
#[test]
fn process_and_ipc_modules() {
    use concur::TaskExecutor;
    concur::ipc::remote! {
        fn double(x: u32) -> u32 { 2 * x }
    }
    // A pool through the facade, in a libtest test with no `init()`: the
    // automatic worker guard diverts the workers before the harness.
    assert!(!concur::process::is_worker_process());
    let pool = concur::process::ProcessPool::new(1).unwrap();
    assert_eq!(
        pool.submit_task(double, 21).unwrap().into_result().unwrap(),
        42
    );
    let _method = concur::process::StartMethod::Spawn;
    assert_ne!(concur::ipc::fingerprint("a"), concur::ipc::fingerprint("b"));
    let bytes = concur::ipc::encode(&(7u32, "seven")).unwrap();
    assert_eq!(
        concur::ipc::decode::<(u32, String)>(&bytes).unwrap(),
        (7, "seven".to_string())
    );
}

#[cfg(feature = "async")]
#[test]
fn async_module() {
    let fut = concur::Future::ready(7);
    let v = futures::executor::block_on(concur::asyncio::wrap_future(fut)).unwrap();
    assert_eq!(v, 7);
}

#[cfg(feature = "thread")]
#[test]
fn pool_stats_are_at_the_top() {
    use concur::Executor;
    let pool = concur::thread::ThreadPool::builder()
        .name("facade")
        .build()
        .unwrap();
    pool.submit(|| ()).unwrap().wait();
    let stats: concur::PoolStats = pool.stats();
    assert_eq!(stats.completed, 1);
    assert_eq!(stats.replaced, concur::Replacements::default());
}

/// With the facade's `tracing` feature the pools emit events (here the
/// submit event, which fires on the submitting thread).
#[cfg(all(feature = "tracing", feature = "thread"))]
#[test]
fn the_tracing_feature_reaches_the_pools() {
    use concur::Executor;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::util::SubscriberInitExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let out = buf.clone();
    let guard = tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::TRACE)
        .with_ansi(false)
        .with_writer(move || out.clone())
        .finish()
        .set_default();
    let pool = concur::thread::ThreadPool::builder()
        .name("facade-traced")
        .build()
        .unwrap();
    pool.submit(|| ()).unwrap().wait();
    drop(guard);
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("task submitted") && text.contains("pool=facade-traced"),
        "{text}"
    );
}

#[cfg(feature = "mpi")]
#[test]
fn mpi_module() {
    // Without `concur::mpi::init()` there is no MPI world: a typed error.
    let err = concur::mpi::MpiPool::builder().build().unwrap_err();
    assert!(err.to_string().contains("concur_mpi::init()"), "{err}");
}
