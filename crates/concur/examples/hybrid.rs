//! The hybrid pattern: an event loop for I/O, a pool for CPU work.
//!
//! A single-threaded tokio event loop serves many concurrent simulated
//! requests (each waits on "I/O", some also need a CPU-heavy computation).
//! A ticker task on the same loop measures how late it wakes up: the
//! loop's tick latency. The program runs the same load twice:
//!
//! * inline: the CPU work runs on the event loop thread, so every
//!   computation stalls all other requests and the ticker;
//! * idle (for reference): the ticker alone, showing the timer's own
//!   granularity;
//! * offloaded: the CPU work goes to a concur `ThreadPool` through
//!   `concur::asyncio::run_in_executor`, and the loop stays responsive.
//!
//! Run with `cargo run --release --example hybrid`.

use concur::asyncio::run_in_executor;
use concur::thread::ThreadPool;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Concurrent simulated requests per run.
const REQUESTS: usize = 2_000;
/// One request in `CPU_EVERY` needs the CPU-heavy call.
const CPU_EVERY: usize = 8;
/// Requests arriving per millisecond (roughly).
const ARRIVALS_PER_MS: usize = 10;
/// The ticker's period.
const TICK: Duration = Duration::from_millis(2);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// No requests: the ticker alone (the timer's own granularity).
    Idle,
    Inline,
    Offloaded,
}

/// CPU-heavy work: count the primes below `n` by trial division.
fn count_primes(n: u64) -> u64 {
    (2..n)
        .filter(|&k| (2..).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .count() as u64
}

/// Picks `n` so that one call takes about `target` on this machine (best
/// of five timings per step, so a noisy neighbour does not skew it).
fn calibrate(target: Duration) -> u64 {
    let mut n = 1_000;
    loop {
        let best = (0..5)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(count_primes(n));
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        if best >= target || n > 10_000_000 {
            return n;
        }
        n = n * 5 / 4;
    }
}

/// One request: wait for "I/O", maybe compute, wait for "I/O" again.
async fn handle(i: usize, mode: Mode, pool: Arc<ThreadPool>, n: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1 + (i % 5) as u64)).await;
    let value = if i % CPU_EVERY == 0 {
        match mode {
            Mode::Inline | Mode::Idle => count_primes(n),
            Mode::Offloaded => run_in_executor(&*pool, move || count_primes(n))
                .await
                .expect("the pool computes"),
        }
    } else {
        i as u64
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    value
}

/// Wakes every `TICK` and records how late each wake-up was.
async fn ticker(stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut lateness = Vec::new();
    let mut next = tokio::time::Instant::now() + TICK;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep_until(next).await;
        let now = tokio::time::Instant::now();
        lateness.push(now.saturating_duration_since(next));
        next = now + TICK;
    }
    lateness
}

struct Report {
    mode: Mode,
    elapsed: Duration,
    served: usize,
    mean: Duration,
    p99: Duration,
    max: Duration,
}

fn run(mode: Mode, pool: &Arc<ThreadPool>, n: u64) -> Report {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let stop = Arc::new(AtomicBool::new(false));
        let tick = tokio::spawn(ticker(stop.clone()));
        let start = Instant::now();
        let mut requests = Vec::with_capacity(REQUESTS);
        if mode == Mode::Idle {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        for i in (0..REQUESTS).filter(|_| mode != Mode::Idle) {
            requests.push(tokio::spawn(handle(i, mode, pool.clone(), n)));
            if i % ARRIVALS_PER_MS == ARRIVALS_PER_MS - 1 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        let mut served = 0;
        for r in requests {
            r.await.expect("request task");
            served += 1;
        }
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        let mut lateness = tick.await.expect("ticker task");
        lateness.sort_unstable();
        let len = lateness.len().max(1);
        let mean = lateness.iter().sum::<Duration>() / len as u32;
        let p99 = lateness[(len * 99 / 100).min(lateness.len().saturating_sub(1))];
        let max = lateness.last().copied().unwrap_or_default();
        Report {
            mode,
            elapsed,
            served,
            mean,
            p99,
            max,
        }
    })
}

fn main() {
    // Leave one core to the event loop.
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .saturating_sub(1)
        .max(1);
    let pool = Arc::new(
        ThreadPool::builder()
            .max_workers(workers)
            .thread_name_prefix("cpu")
            .build()
            .expect("a thread pool"),
    );
    let n = calibrate(Duration::from_millis(4));
    println!(
        "{REQUESTS} concurrent requests, 1 in {CPU_EVERY} needs count_primes({n}) (~4 ms of CPU); \
         pool of {workers} worker(s); ticker every {TICK:?}"
    );
    println!(
        "{:<10} {:>10} {:>8} {:>14} {:>14} {:>14}",
        "mode", "elapsed", "served", "tick mean", "tick p99", "tick max"
    );
    let mut reports = Vec::new();
    for mode in [Mode::Idle, Mode::Inline, Mode::Offloaded] {
        let r = run(mode, &pool, n);
        println!(
            "{:<10} {:>10.2?} {:>8} {:>14.2?} {:>14.2?} {:>14.2?}",
            format!("{:?}", r.mode).to_lowercase(),
            r.elapsed,
            r.served,
            r.mean,
            r.p99,
            r.max
        );
        reports.push(r);
    }
    let (inline, off) = (&reports[1], &reports[2]);
    println!(
        "offloading cut the tick latency p99 {:.1}x and max {:.1}x",
        inline.p99.as_secs_f64() / off.p99.as_secs_f64().max(1e-9),
        inline.max.as_secs_f64() / off.max.as_secs_f64().max(1e-9)
    );
    pool.shutdown();
}
