//! Must compile: the two pools are made the same way — `Pool::new(n)`,
//! `Pool::builder()`, `Builder::new()`, `Builder::default()` — and `?`
//! works on their build errors. Both pools' functions run (the process
//! pool's workers are copies of this test binary, diverted before libtest's
//! `main` by the automatic worker guard: no `init()` anywhere).

#![cfg(all(feature = "thread", feature = "process"))]

use concur::Executor;
use concur::TaskExecutor;
use concur::process::ProcessPool;
use concur::thread::ThreadPool;
use std::error::Error as StdError;

type BoxResult<T> = Result<T, Box<dyn StdError + Send + Sync>>;

concur::ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn connect(url: String, retries: u32) -> Result<(), String> {
        if url.is_empty() { Err(format!("no url after {retries} retries")) } else { Ok(()) }
    }
    fn warm_up() {}
}

fn sum_squares_threads() -> BoxResult<u64> {
    let pool = ThreadPool::new(2)?;
    let futs: Vec<_> = (1..=3u64)
        .map(|i| pool.submit(move || i * i))
        .collect::<Result<_, _>>()?;
    Ok(futs.into_iter().map(|f| f.into_result().unwrap()).sum())
}

#[test]
fn thread_pool_constructors() -> BoxResult<()> {
    assert_eq!(sum_squares_threads()?, 14);

    // CPython's ThreadPoolExecutor(): infallible here.
    let pool = ThreadPool::default();
    assert_eq!(pool.max_workers(), concur::thread::default_max_workers());
    let same = ThreadPool::with_default_workers()?;
    assert_eq!(same.max_workers(), pool.max_workers());

    // One builder, built twice.
    let builder = concur::thread::Builder::new()
        .max_workers(3)
        .thread_name_prefix("api");
    let a = builder.clone().build()?;
    let b = builder.build()?;
    assert_eq!((a.max_workers(), b.max_workers()), (3, 3));
    let _ = concur::thread::Builder::default();

    let err = ThreadPool::new(0).unwrap_err();
    assert_eq!(err.to_string(), "max_workers must be at least 1");
    Ok(())
}

// ------------------------------------------------------------- process pool

fn process_pool_of_two() -> BoxResult<u64> {
    let pool = ProcessPool::new(2)?;
    Ok(pool.submit_task(square, 12)?.into_result()?)
}

fn process_pool_like_cpython_default() -> BoxResult<usize> {
    let pool = ProcessPool::with_default_workers()?;
    Ok(pool.max_workers())
}

fn process_pool_from_one_builder() -> BoxResult<(ProcessPool, ProcessPool)> {
    let builder = concur::process::Builder::new()
        .max_workers(2)
        .initializer(warm_up)
        .max_tasks_per_child(100);
    let first = builder.clone().build()?;
    let second = builder.build()?;
    let _also = concur::process::Builder::default();
    let _and = ProcessPool::builder();
    Ok((first, second))
}

/// CPython's `initializer` + `initargs`.
fn process_pool_with_initargs(url: &str) -> BoxResult<ProcessPool> {
    let pool = ProcessPool::builder()
        .max_workers(4)
        .initializer_with(connect, (url.to_string(), 3))
        .build()?;
    Ok(pool)
}

/// The same generic code drives either pool, made the same way.
fn sum_on<E: TaskExecutor>(exec: &E) -> BoxResult<u64> {
    let futs = exec.submit_batch(square, vec![1, 2, 3])?;
    let mut total = 0;
    for f in futs {
        total += f.into_result()?;
    }
    Ok(total)
}

fn switch_by_one_line() -> BoxResult<u64> {
    let threads = ThreadPool::new(2)?;
    let processes = ProcessPool::new(2)?;
    Ok(sum_on(&threads)? + sum_on(&processes)?)
}

#[test]
fn generic_code_runs_on_the_thread_pool() -> BoxResult<()> {
    assert_eq!(sum_on(&ThreadPool::new(2)?)?, 14);
    // `connect` is declared for the process tests below; it runs here too.
    let pool = ThreadPool::new(1)?;
    let ok = pool.submit_task(connect, ("db://x".to_string(), 3))?;
    assert!(ok.into_result().is_ok());
    Ok(())
}

#[test]
fn process_pool_constructors() -> BoxResult<()> {
    assert_eq!(process_pool_of_two()?, 144);
    assert_eq!(
        process_pool_like_cpython_default()?,
        concur::process::default_max_workers()
    );
    let (first, second) = process_pool_from_one_builder()?;
    assert_eq!((first.max_workers(), second.max_workers()), (2, 2));
    drop((first, second));
    let pool = process_pool_with_initargs("db://x")?;
    assert_eq!(pool.submit_task(square, 3)?.into_result()?, 9);
    drop(pool);
    // An initializer whose arguments make it fail breaks the build.
    assert!(process_pool_with_initargs("").is_err());
    Ok(())
}

#[test]
fn generic_code_runs_on_both_pools() -> BoxResult<()> {
    assert_eq!(switch_by_one_line()?, 28);
    Ok(())
}
