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

/// The process-pool twin of `run` (its workers are copies of this test
/// binary, diverted before `main`: no `init()` needed).
fn run_processes() -> Result<u64, concur::Error> {
    let p = concur::process::ProcessPool::new(2)?;
    let mut total = 0;
    for c in p.map_task(cube, 1..=4).chunksize(2).run()? {
        total += c?;
    }
    Ok(total)
}

#[test]
fn process_pool_errors_are_concur_errors_too() {
    assert_eq!(run_processes().unwrap(), 1 + 8 + 27 + 64);
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

// ---- 3. fallible entry points take any error `?` takes --------------------

use concur::combinators::{Backoff, retry};
use std::io;
use std::num::ParseIntError;

fn parse(s: &str) -> Result<u32, ParseIntError> {
    s.parse()
}

#[test]
fn submit_fallible_accepts_every_common_error_type() {
    let pool = ThreadPool::new(2).unwrap();

    let e = pool
        .submit_fallible(|| -> Result<u32, String> { Err(format!("user {} not found", 7)) })
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Task);
    assert_eq!(e.message(), "user 7 not found");

    let e = pool
        .submit_fallible(|| -> Result<u32, &'static str> { Err("empty input") })
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.message(), "empty input");

    let e = pool
        .submit_fallible(|| -> Result<u32, concur::BoxError> { Ok(parse("x")?) })
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(e.downcast_ref::<ParseIntError>().is_some(), "{e:?}");

    let e = pool
        .submit_fallible(|| -> anyhow::Result<u32> {
            let n = parse("x")?;
            anyhow::ensure!(n > 0, "zero");
            Ok(n)
        })
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.message(), "invalid digit found in string");

    let e = pool
        .submit_fallible(|| -> io::Result<u32> {
            Err(io::Error::new(io::ErrorKind::NotFound, "cfg"))
        })
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(
        e.downcast_ref::<io::Error>().unwrap().kind(),
        io::ErrorKind::NotFound
    );

    let ok = pool.submit_fallible(|| parse("41")).unwrap();
    assert_eq!(ok.into_result().unwrap(), 41);
    let e = pool
        .submit_fallible(|| parse("x"))
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(e.downcast_ref::<ParseIntError>().is_some());
}

#[test]
fn job_new_fallible_accepts_any_error() {
    let (job, fut) = concur::Job::new_fallible(|| -> Result<u32, String> { Err("bad".into()) });
    job.run();
    assert_eq!(fut.into_result().unwrap_err().message(), "bad");

    let (job, fut) = concur::Job::new_fallible(|| -> anyhow::Result<u32> { anyhow::bail!("nope") });
    job.run();
    assert_eq!(
        fut.into_result().unwrap_err().to_string(),
        "task failed: nope"
    );

    let (job, fut) = concur::Job::new_fallible(|| -> io::Result<u32> { Ok(3) });
    job.run();
    assert_eq!(fut.into_result().unwrap(), 3);
}

#[test]
fn run_in_executor_fallible_accepts_any_error() {
    use concur::asyncio::run_in_executor_fallible;
    let pool = ThreadPool::new(2).unwrap();
    futures::executor::block_on(async {
        let e = run_in_executor_fallible(&pool, || -> Result<u32, &'static str> { Err("no") })
            .await
            .unwrap_err();
        assert_eq!(e.message(), "no");
        let e = run_in_executor_fallible(&pool, || -> Result<u32, concur::BoxError> {
            Err("boxed".into())
        })
        .await
        .unwrap_err();
        assert_eq!(e.message(), "boxed");
        let e = run_in_executor_fallible(&pool, || parse("x"))
            .await
            .unwrap_err();
        assert!(e.downcast_ref::<ParseIntError>().is_some());
        let v = run_in_executor_fallible(&pool, || -> anyhow::Result<u32> { Ok(parse("5")?) })
            .await
            .unwrap();
        assert_eq!(v, 5);
    });
}

#[test]
fn retry_accepts_any_error() {
    let pool = std::sync::Arc::new(ThreadPool::new(2).unwrap());
    let calls = std::sync::atomic::AtomicU32::new(0);
    let fut = retry(
        pool.clone(),
        2,
        Backoff::none(),
        move || -> anyhow::Result<u32> {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            anyhow::ensure!(n == 2, "attempt {n} failed");
            Ok(n)
        },
    );
    assert_eq!(fut.into_result().unwrap(), 2);

    let fut = retry(
        pool.clone(),
        1,
        Backoff::none(),
        || -> Result<u32, String> { Err("down".into()) },
    );
    assert_eq!(fut.into_result().unwrap_err().message(), "down");

    let fut = retry(pool, 0, Backoff::none(), || parse("x"));
    let e = fut.into_result().unwrap_err();
    assert!(e.downcast_ref::<ParseIntError>().is_some());
}

#[test]
fn map_fallible_yields_one_plain_result_per_input() {
    let pool = ThreadPool::new(2).unwrap();
    let out: Vec<Result<u32, concur::Error>> = pool
        .map_fallible(parse, ["1", "x", "3"])
        .chunksize(2)
        .run()
        .unwrap()
        .collect();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(
        out[1]
            .as_ref()
            .unwrap_err()
            .downcast_ref::<ParseIntError>()
            .is_some()
    );
    assert_eq!(*out[2].as_ref().unwrap(), 3);

    let strings: Vec<_> = pool
        .map_fallible(
            |x: u32| -> Result<u32, String> {
                if x % 2 == 0 {
                    Ok(x)
                } else {
                    Err(format!("{x} is odd"))
                }
            },
            0..4,
        )
        .run()
        .unwrap()
        .map(|r| r.map_err(|e| e.message().to_owned()))
        .collect();
    assert_eq!(
        strings,
        [Ok(0), Err("1 is odd".into()), Ok(2), Err("3 is odd".into())]
    );

    let total = || -> anyhow::Result<u32> {
        let mut sum = 0;
        for v in pool
            .map_fallible(|x: u32| -> io::Result<u32> { Ok(x) }, 1..=3)
            .run()?
        {
            sum += v?;
        }
        Ok(sum)
    };
    assert_eq!(total().unwrap(), 6);

    let boxed: Vec<_> = pool
        .map_fallible(
            |_: u8| -> Result<u32, concur::BoxError> { Err("b".into()) },
            [0],
        )
        .run()
        .unwrap()
        .collect();
    assert_eq!(boxed[0].as_ref().unwrap_err().message(), "b");
    let staticstr: Vec<_> = pool
        .map_fallible(|_: u8| -> Result<u32, &'static str> { Err("s") }, [0])
        .run()
        .unwrap()
        .collect();
    assert_eq!(staticstr[0].as_ref().unwrap_err().message(), "s");
    let panicked: Vec<_> = pool
        .map_fallible(|_: u8| -> anyhow::Result<u32> { panic!("boom") }, [0, 1])
        .run()
        .unwrap()
        .collect();
    assert_eq!(
        panicked[1].as_ref().unwrap_err().panic_message(),
        Some("boom")
    );
}

// ---- 4. a failed future's Debug names the error's type --------------------

#[test]
fn failed_future_debug_names_the_error_type_like_cpython() {
    let pool = ThreadPool::new(1).unwrap();
    let fut = pool.submit_fallible(|| parse("x")).unwrap();
    fut.wait();
    let repr = format!("{fut:?}");
    assert!(repr.starts_with("<Future at 0x"), "{repr}");
    assert!(repr.ends_with(" raised ParseIntError>"), "{repr}");
    assert_eq!(fut.exception().unwrap().type_name(), Some("ParseIntError"));

    let text = pool
        .submit_fallible(|| -> Result<u32, String> { Err("no".into()) })
        .unwrap();
    text.wait();
    assert!(format!("{text:?}").ends_with(" raised String>"));

    let cancelled = concur::Future::<u32>::from_error(concur::Error::cancelled());
    assert!(format!("{cancelled:?}").ends_with(" raised cancelled>"));
}
