//! The lecture's overhead lesson: for tiny tasks, the cost of handing work
//! over dominates. Threads hand over in about a microsecond; processes pay a
//! pipe round trip and serialization per task, unless work is batched.
//!
//! Run with `cargo run --release --example quick_tasks`.

use concur::TaskExecutor;
use concur::combinators::TaskExecutorExt;
use concur::process::ProcessPool;
use concur::thread::ThreadPool;
use std::time::{Duration, Instant};

concur::remote! {
    /// A task far smaller than the cost of shipping it anywhere.
    fn square(x: u64) -> u64 {
        x * x
    }
}

const N: u64 = 4_000;

/// Submits `square` over `0..N` one task at a time; returns (sum, elapsed).
fn one_by_one<E: TaskExecutor>(
    executor: &E,
) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let futs = (0..N)
        .map(|x| executor.submit_task(square, x))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let mut sum = 0;
    for f in futs {
        sum += f.into_result()?;
    }
    Ok((sum, start.elapsed()))
}

/// The same work through `map_task` in chunks of `chunksize` items.
fn batched<E: TaskExecutor>(
    executor: &E,
    chunksize: usize,
) -> Result<(u64, Duration), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut sum = 0;
    for r in executor.map_task(square, 0..N).chunksize(chunksize).run()? {
        sum += r?;
    }
    Ok((sum, start.elapsed()))
}

fn report(pool: &str, mode: &str, (sum, elapsed): (u64, Duration)) {
    let per_task = elapsed.as_secs_f64() * 1e6 / N as f64;
    println!(
        "{pool:<8} {mode:<18} {:>9.2} ms  {per_task:>8.2} µs/task  sum={sum}",
        elapsed.as_secs_f64() * 1e3
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads = ThreadPool::new(2)?;
    let processes = ProcessPool::new(2)?;
    println!("{N} tiny tasks (x * x) on 2 threads vs 2 processes");
    println!(
        "{:<8} {:<18} {:>12}  {:>16}",
        "pool", "mode", "total", "per task"
    );
    report("thread", "one task each", one_by_one(&threads)?);
    report("process", "one task each", one_by_one(&processes)?);
    report("thread", "map, chunks of 500", batched(&threads, 500)?);
    report("process", "map, chunks of 500", batched(&processes, 500)?);
    println!("lesson: tiny tasks belong on threads; on processes, batch them (chunksize)");
    Ok(())
}
