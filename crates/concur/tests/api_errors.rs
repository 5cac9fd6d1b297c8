//! Errors convert with `?` into `concur::Error`, `concur::BoxError` and
//! `anyhow::Error`, as user code writes them.

use concur::prelude::*;
use std::sync::mpsc;

// ---- 1. `?` on a refused submission, whatever the closure holds ----------

/// The closure holds an `mpsc::Receiver`: `Send`, not `Sync`.
fn submit_into_concur_error(pool: &ThreadPool) -> Result<u32, concur::Error> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(7).unwrap();
    let got = fut.into_result()?;
    Ok(got.unwrap_or(0))
}

fn submit_into_box_error(pool: &ThreadPool) -> Result<u32, concur::BoxError> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(8)?;
    Ok(fut.into_result()??)
}

fn submit_into_anyhow(pool: &ThreadPool) -> anyhow::Result<u32> {
    let (tx, rx) = mpsc::channel::<u32>();
    let fut = pool.submit(move || rx.recv())?;
    tx.send(9)?;
    Ok(fut.into_result()??)
}

#[test]
fn question_mark_on_submit_accepts_send_only_closures() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(submit_into_concur_error(&pool).unwrap(), 7);
    assert_eq!(submit_into_box_error(&pool).unwrap(), 8);
    assert_eq!(submit_into_anyhow(&pool).unwrap(), 9);
}

#[test]
fn question_mark_on_a_refused_submit_reports_the_shutdown() {
    let pool = ThreadPool::new(1).unwrap();
    pool.shutdown();
    let e = submit_into_concur_error(&pool).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Shutdown);

    let e = submit_into_box_error(&pool).unwrap_err();
    assert_eq!(e.to_string(), "task refused: executor has been shut down");
    let refused = e.source().and_then(|s| s.downcast_ref::<concur::Error>());
    assert_eq!(refused.unwrap().kind(), ErrorKind::Shutdown);

    let e = submit_into_anyhow(&pool).unwrap_err();
    assert_eq!(e.to_string(), "task refused: executor has been shut down");
    let cause = e
        .source()
        .expect("the SubmitError's source is the concur error");
    assert_eq!(
        cause.downcast_ref::<concur::Error>().unwrap().kind(),
        ErrorKind::Shutdown
    );
}

// ---- 2. every error the crates return converts into `concur::Error` ------

fn run(chunk: usize) -> Result<u64, concur::Error> {
    let p = ThreadPool::new(2)?;
    let mut total = 0;
    for square in p.map(|x: u64| x * x, 1..=4).chunksize(chunk).run()? {
        total += square?;
    }
    Ok(total)
}

fn run_with_workers(n: usize) -> Result<u64, concur::Error> {
    let p = ThreadPool::new(n)?;
    let one = p.submit(|| 1)?;
    one.into_result()
}

concur::ipc::remote! {
    fn cube(x: u64) -> u64 { x * x * x }
}

/// The process-pool twin of `run`: type-checked only (a process pool needs
/// `concur::process::init()` in `main`, which a test binary has not).
#[allow(dead_code)]
fn run_processes() -> Result<u64, concur::Error> {
    let p = concur::process::ProcessPool::new()?;
    let mut total = 0;
    for c in p.map_task(cube, 1..=4).chunksize(2).run()? {
        total += c?;
    }
    Ok(total)
}

#[test]
fn run_returns_concur_error_for_every_failure() {
    assert_eq!(run(2).unwrap(), 30);

    let e = run(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert_eq!(e.to_string(), "map chunksize must be at least 1");

    let e = run_with_workers(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    assert!(e.to_string().contains("max_workers"), "{e}");
}

/// `source()` of the converted error is the original, and it downcasts.
fn check_source<'e, E: std::error::Error + 'static>(e: &'e concur::Error, text: &str) -> &'e E {
    use std::error::Error as _;
    assert_eq!(e.to_string(), text);
    let source = e.source().expect("the original error is the source");
    assert_eq!(source.to_string(), text);
    assert!(source.is::<E>());
    e.downcast_ref::<E>()
        .expect("downcasts to the original type")
}

#[test]
fn thread_build_error_converts_with_its_source() {
    let original = concur::thread::ThreadPool::builder()
        .stack_size(0)
        .build()
        .unwrap_err();
    let text = original.to_string();
    let e = concur::Error::from(original.clone());
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let back: &concur::thread::BuildError = check_source(&e, &text);
    assert_eq!(*back, original);
}

#[test]
fn process_build_error_converts_with_its_source() {
    let original = concur::process::ProcessPool::builder()
        .max_workers(0)
        .build()
        .unwrap_err();
    let text = original.to_string();
    let e = concur::Error::from(original);
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let back: &concur::process::BuildError = check_source(&e, &text);
    assert!(back.is_config());
}

#[test]
fn map_error_converts_with_its_source() {
    let pool = ThreadPool::new(1).unwrap();
    let original = pool.map(|x: u8| x, [1]).buffersize(0).run().unwrap_err();
    let e = concur::Error::from(original);
    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    let back: &concur::combinators::MapError =
        check_source(&e, "map buffersize must be at least 1");
    assert!(matches!(
        back,
        concur::combinators::MapError::ZeroBuffersize
    ));

    pool.shutdown();
    let original = pool.map(|x: u8| x, [1]).run().unwrap_err();
    let e = concur::Error::from(original);
    assert_eq!(e.kind(), ErrorKind::Shutdown);
    let back: &concur::combinators::MapError = check_source(
        &e,
        "the executor refused map work: executor has been shut down",
    );
    assert!(matches!(back, concur::combinators::MapError::Submit(_)));
}

#[test]
fn ipc_errors_convert_with_their_source() {
    // (`CodecError` needs a failing `Serialize`: its doctest in concur-ipc
    // checks the same.)
    use concur::ipc::{FrameError, RemoteError, RemoteErrorKind};

    let original = concur::ipc::decode::<u64>(&[]).unwrap_err();
    let text = original.to_string();
    let e = concur::Error::from(original);
    assert_eq!(e.kind(), ErrorKind::Codec);
    let _: &FrameError = check_source(&e, &text);

    let original = RemoteError::new(RemoteErrorKind::SignatureMismatch, "fn(u8)", "differs");
    let text = original.to_string();
    let e = concur::Error::from(original.clone());
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert_eq!(*check_source::<RemoteError>(&e, &text), original);

    let original = RemoteError::new(RemoteErrorKind::Task, "ParseIntError", "bad digit");
    let e = concur::Error::from(original.clone());
    assert_eq!(e.kind(), ErrorKind::Task);
    assert_eq!(e.to_string(), "task failed: ParseIntError: bad digit");
    assert_eq!(e.downcast_ref::<RemoteError>(), Some(&original));
}

#[test]
fn async_spawn_error_converts_with_its_source() {
    let original = concur::asyncio::SpawnError::new(Box::pin(async {}));
    let e = concur::Error::from(original);
    assert_eq!(e.kind(), ErrorKind::Shutdown);
    let _: &concur::asyncio::SpawnError =
        check_source(&e, "the runtime is shut down and accepts no task");
}

#[test]
fn converted_errors_are_box_errors_and_anyhow_errors_too() {
    fn boxed() -> Result<ThreadPool, concur::BoxError> {
        Ok(ThreadPool::new(0)?)
    }
    fn any() -> anyhow::Result<ThreadPool> {
        Ok(ThreadPool::new(0)?)
    }
    assert!(boxed().unwrap_err().is::<concur::thread::BuildError>());
    assert!(any().unwrap_err().is::<concur::thread::BuildError>());
}
