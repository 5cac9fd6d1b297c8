//! What the pools tell a `tracing` subscriber (feature `tracing`): a thread
//! pool's tasks from submit to their end, a process pool's worker that
//! crashes mid-task, its replacement, and a pool broken by its
//! initializer; then each pool's `stats()`.
//!
//! ```text
//! cargo run --example tracing --features tracing
//! RUST_LOG=concur_process=trace cargo run --example tracing --features tracing
//! ```
//!
//! Events carry structured fields: `pool` (the pool's name), `task` (its
//! id), `worker` or `slot`, `pid`, and for a death the `cause`, `signal`
//! or `exit_code` and `reason` (the `Replacements` field it counts in).

use concur::Executor;
use concur::TaskExecutor;
use concur::process::ProcessPool;
use concur::thread::ThreadPool;
use tracing_subscriber::EnvFilter;

concur::remote! {
    /// Squares `x`, or dies on 13 (as a worker hit by a segfault would).
    fn square_or_die(x: u64) -> u64 {
        if x == 13 {
            std::process::abort();
        }
        x * x
    }
    fn refuse_to_start() -> Result<(), String> {
        Err("the database is down".into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First: worker processes divert here, before any subscriber exists.
    concur::process::init();
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("concur_thread=trace,concur_process=debug,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();

    let threads = ThreadPool::builder().name("cpu").max_workers(2).build()?;
    let ok = threads.submit(|| 2 + 2)?;
    let bad = threads.submit(|| -> u32 { panic!("bad input") })?;
    println!(
        "thread results: {:?}, {:?}",
        ok.result()?,
        bad.result().map_err(|e| e.to_string())
    );
    threads.shutdown();
    println!("thread pool stats: {:?}", threads.stats());

    let procs = ProcessPool::builder()
        .name("squares")
        .max_workers(2)
        .build()?;
    let futs: Vec<_> = [3u64, 13, 4]
        .iter()
        .map(|&x| procs.submit_task(square_or_die, x))
        .collect::<Result<_, _>>()?;
    for (x, f) in [3, 13, 4].iter().zip(&futs) {
        match f.result() {
            Ok(v) => println!("square({x}) = {v}"),
            Err(e) => println!("square({x}) failed: {e}"),
        }
    }
    // The crashed worker's replacement serves the next task.
    println!(
        "square(5) = {}",
        procs.submit_task(square_or_die, 5)?.into_result()?
    );
    let s = procs.stats();
    println!(
        "process pool stats: {} completed, {} failed, {} workers alive, {} crashed and replaced",
        s.completed, s.failed, s.workers_alive, s.replaced.crashed
    );
    drop(procs);

    let broken = ProcessPool::builder()
        .name("needs-db")
        .max_workers(1)
        .initializer(refuse_to_start)
        .build();
    println!("a pool whose initializer fails: {}", broken.unwrap_err());
    Ok(())
}
