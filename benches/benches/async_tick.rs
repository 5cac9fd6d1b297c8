//! Event-loop tick latency while blocking work runs: a tokio
//! current-thread loop schedules a tick task, then starts 200 µs of
//! blocking work either inline (on the loop thread) or offloaded through
//! `concur_async::run_in_executor` to a concur `ThreadPool`. The measured
//! time per iteration is how long the tick waited to run.

#![allow(missing_docs)]

use concur_async::run_in_executor;
use concur_thread::ThreadPool;
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const WORK: Duration = Duration::from_micros(200);

/// Blocking work: spins for `WORK`.
fn blocking_work() {
    let t = Instant::now();
    while t.elapsed() < WORK {
        std::hint::spin_loop();
    }
}

fn tick_latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let mut g = c.benchmark_group("async/tick_latency");
    g.bench_function("inline", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut waited = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let tick = tokio::spawn(async move { t0.elapsed() });
                    blocking_work();
                    waited += tick.await.unwrap();
                }
                waited
            })
        })
    });
    g.bench_function("concur_offloaded", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut waited = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let tick = tokio::spawn(async move { t0.elapsed() });
                    let work = run_in_executor(&pool, blocking_work);
                    waited += tick.await.unwrap();
                    work.await.unwrap();
                }
                waited
            })
        })
    });
    g.finish();
}

criterion_group!(benches, tick_latency);
criterion_main!(benches);
