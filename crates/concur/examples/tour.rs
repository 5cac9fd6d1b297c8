//! A walk through concur in the lecture's order, printing what happens and
//! the measured times.
//!
//! Run with `cargo run --release --example tour`.

use concur::combinators::{ExecutorExt, TaskExecutorExt, as_completed};
use concur::process::ProcessPool;
use concur::thread::ThreadPool;
use concur::{Error, ErrorKind, Executor, Promise, State, TaskExecutor};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

fn section(title: &str) {
    println!("\n== {title}");
}

/// A simulated download: waits as if on the network.
fn download(ms: u64) -> u64 {
    thread::sleep(Duration::from_millis(ms));
    ms * 1024
}

concur::remote! {
    /// CPU-bound work: counts primes below `n` by trial division. Declared
    /// with `remote!` so a worker process can run it; here it stays a plain
    /// function (`count_primes(n)`, or `*count_primes` as a `fn` value).
    fn count_primes(n: u64) -> u64 {
        (2..n)
            .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
            .count() as u64
    }

    /// Bulk data in shared memory: the sum of a slice the pool passes as a
    /// descriptor, not as its bytes.
    fn sum_floats(xs: concur::SharedSlice<f64>) -> f64 {
        xs.iter().sum()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No `if __name__ == "__main__"` guard to write: the process pool's
    // workers are copies of this program, diverted into the worker loop
    // before `main` runs (`concur::process::init()` exists for platforms
    // without that hook, and is harmless here).
    let tour_start = Instant::now();
    let pool = ThreadPool::builder()
        .max_workers(8)
        .thread_name_prefix("tour")
        .build()?;

    section("1. sequential vs concurrent downloads (simulated I/O)");
    let sizes = [120u64, 80, 100, 60, 140];
    let t = Instant::now();
    let total: u64 = sizes.iter().map(|&ms| download(ms)).sum();
    let sequential = t.elapsed();
    println!("sequential: {total} bytes in {sequential:?}");
    let t = Instant::now();
    let futs = sizes
        .iter()
        .map(|&ms| pool.submit(move || download(ms)))
        .collect::<Result<Vec<_>, _>>()?;
    let total: u64 = futs
        .into_iter()
        .map(|f| f.into_result())
        .sum::<Result<u64, Error>>()?;
    let concurrent = t.elapsed();
    println!(
        "concurrent: {total} bytes in {concurrent:?} ({:.1}x faster)",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );

    section("2. future states");
    let (release, gate) = mpsc::channel::<()>();
    let fut = pool.submit(move || {
        gate.recv().ok();
        6u64 * 7
    })?;
    thread::sleep(Duration::from_millis(20));
    println!("while the task waits: {fut:?}");
    release.send(())?;
    println!("result() = {}", fut.result()?);
    println!("afterwards:           {fut:?}");
    assert_eq!(fut.state(), State::Finished);

    section("3. done-callbacks");
    let (tx, rx) = mpsc::channel();
    let fut = pool.submit(|| "hello")?;
    for i in 1..=2 {
        let tx = tx.clone();
        fut.add_done_callback(move |f| tx.send(format!("callback {i}: {:?}", f.result())).unwrap());
    }
    drop(tx);
    for line in rx {
        println!("{line}");
    }

    section("4. as_completed (finish order) vs map (input order)");
    let delays = [90u64, 30, 60];
    let futs = delays
        .iter()
        .map(|&ms| pool.submit(move || download(ms) / 1024))
        .collect::<Result<Vec<_>, _>>()?;
    let t = Instant::now();
    for f in as_completed(&futs).timeout(Duration::from_secs(5)) {
        println!(
            "  as_completed +{:>3} ms: task of {} ms",
            t.elapsed().as_millis(),
            f?.result()?
        );
    }
    let t = Instant::now();
    for r in pool.map(|ms: u64| download(ms) / 1024, delays).run()? {
        println!(
            "  map          +{:>3} ms: task of {} ms",
            t.elapsed().as_millis(),
            r?
        );
    }

    section("5. errors propagate: panics and returned errors land in the future");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // keep the demo's output tidy
    let boom = pool.submit(|| -> u32 { panic!("division by zero") })?;
    let err = boom.result().unwrap_err();
    std::panic::set_hook(default_hook);
    println!(
        "panic: {err} (kind {:?}, payload type {:?})",
        err.kind(),
        err.panic_payload_type()
    );
    let parse = pool.submit_fallible(|| "forty-two".parse::<u32>())?;
    let err = parse.result().unwrap_err();
    println!(
        "Err:   {err}; downcast: {:?}",
        err.downcast_ref::<std::num::ParseIntError>()
    );
    println!(
        "the worker survived: {}",
        pool.submit(|| "still serving")?.result()?
    );

    section("6. timeouts");
    let slow = pool.submit(|| download(300))?;
    match slow.result_timeout(Duration::from_millis(50)) {
        Err(e) if e.is_timeout() => println!("result_timeout(50 ms): {e}; the task keeps running"),
        other => println!("unexpected: {other:?}"),
    }
    println!("later it finishes: {} bytes", slow.result()?);
    let (_promise, never) = Promise::<u8>::new();
    let err = as_completed([&never])
        .timeout(Duration::from_millis(20))
        .last()
        .unwrap()
        .unwrap_err();
    println!("as_completed timeout: {err}");

    section("7. cancel: only before the task starts");
    let one = ThreadPool::new(1)?;
    let (release, gate) = mpsc::channel::<()>();
    let busy = one.submit(move || gate.recv().ok())?;
    let queued = one.submit(|| "never runs")?;
    println!(
        "cancel queued task: {} -> {:?}",
        queued.cancel(),
        queued.state()
    );
    thread::sleep(Duration::from_millis(10));
    println!(
        "cancel running task: {} -> {:?}",
        busy.cancel(),
        busy.state()
    );
    release.send(())?;
    busy.result()?;
    assert_eq!(queued.result().unwrap_err().kind(), ErrorKind::Cancelled);
    one.shutdown();

    section("8. CPU work: sequential vs thread pool vs process pool");
    let jobs = [300_000u64; 4];
    let t = Instant::now();
    let seq: u64 = jobs.iter().map(|&n| count_primes(n)).sum();
    let seq_time = t.elapsed();
    let cpu = ThreadPool::new(2)?;
    let t = Instant::now();
    let par: u64 = cpu
        .map(*count_primes, jobs)
        .run()?
        .sum::<Result<u64, Error>>()?;
    let par_time = t.elapsed();
    assert_eq!(seq, par);
    println!(
        "{} primes: sequential {seq_time:?}, 2 threads {par_time:?} ({:.2}x speed-up on {} cores)",
        par,
        seq_time.as_secs_f64() / par_time.as_secs_f64(),
        thread::available_parallelism().map_or(1, |n| n.get())
    );
    cpu.shutdown();
    let t = Instant::now();
    let procs = ProcessPool::new(2)?;
    let started = t.elapsed();
    let t = Instant::now();
    let by_processes: u64 = procs
        .map_task(count_primes, jobs)
        .run()?
        .sum::<Result<u64, Error>>()?;
    let proc_time = t.elapsed();
    assert_eq!(seq, by_processes);
    println!(
        "{} primes: 2 processes {proc_time:?} ({:.2}x speed-up; pool start-up took {started:?})",
        by_processes,
        seq_time.as_secs_f64() / proc_time.as_secs_f64()
    );
    println!(
        "  {} of 2 workers take calls through shared-memory rings (the socket is the fallback)",
        procs.workers_on_shared_memory()
    );
    // One call at a time: the thread waiting on the future reads the reply
    // ring itself, so no thread is woken on the way back.
    let t = Instant::now();
    let calls = 2000u32;
    for _ in 0..calls {
        procs.submit_task(count_primes, 10)?.into_result()?;
    }
    println!(
        "  {calls} calls one after another: {:.1?} per round trip",
        t.elapsed() / calls
    );
    // 80 MB of floats in a sealed memfd: each call passes a descriptor.
    let floats = concur::SharedSlice::copy_from(&vec![0.25f64; 10 << 20])?;
    let t = Instant::now();
    let sums = [
        procs.submit_task(sum_floats, floats.clone())?,
        procs.submit_task(sum_floats, floats.clone())?,
    ];
    for s in sums {
        assert_eq!(s.into_result()?, (10 << 20) as f64 / 4.0);
    }
    println!(
        "  an 80 MB SharedSlice<f64> summed by both workers: {:.1?} for the two calls \
         (it crosses as a descriptor)",
        t.elapsed()
    );
    let (proc_name, proc_stats) = (procs.name().to_owned(), procs.stats());
    drop(procs);

    section("9. the async hybrid: an event loop for I/O, a pool for CPU work");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()?;
    let inline = rt.block_on(tick_latency_while(false, &pool));
    let offloaded = rt.block_on(tick_latency_while(true, &pool));
    println!("event-loop worst tick delay with CPU work inline:    {inline:?}");
    println!("event-loop worst tick delay with CPU work offloaded: {offloaded:?}");

    pool.shutdown();

    section("10. pool stats: what each pool did");
    let s = pool.stats();
    println!(
        "thread pool {}: {} completed, {} failed, {} cancelled; {} workers started, {} alive now",
        pool.name(),
        s.completed,
        s.failed,
        s.cancelled,
        s.workers_started,
        s.workers_alive
    );
    let s = proc_stats;
    println!(
        "process pool {proc_name} (section 8, before it was dropped): {} tasks (map chunks) \
         completed, {} failed; {} workers alive, {} replaced",
        s.completed,
        s.failed,
        s.workers_alive,
        s.replaced.total()
    );
    println!("\ntour finished in {:?}", tour_start.elapsed());
    Ok(())
}

/// Runs a 1 ms ticker on the event loop while a CPU-heavy call runs, inline
/// or offloaded to the pool; returns the worst delay of a tick.
async fn tick_latency_while(offload: bool, pool: &ThreadPool) -> Duration {
    let ticker = async {
        let mut worst = Duration::ZERO;
        for _ in 0..50 {
            let t = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await;
            worst = worst.max(t.elapsed().saturating_sub(Duration::from_millis(1)));
        }
        worst
    };
    let work = async {
        if offload {
            concur::asyncio::run_in_executor(pool, || count_primes(1_000_000)).await
        } else {
            tokio::task::yield_now().await;
            Ok(count_primes(1_000_000))
        }
    };
    let (worst, primes) = tokio::join!(ticker, work);
    assert!(primes.is_ok());
    worst
}
