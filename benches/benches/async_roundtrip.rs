//! Awaiting `concur_async::run_in_executor` of a no-op on a concur
//! `ThreadPool` against tokio's `spawn_blocking` round trip, from a
//! current-thread and a multi-thread tokio runtime (target: concur ≤ 1.0×).
//!
//! Each sample awaits the round trips one after another inside one
//! `block_on` (`iter_custom`), so runtime entry is not measured.

#![allow(missing_docs)]

use concur_async::run_in_executor;
use concur_thread::ThreadPool;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Instant;

fn roundtrip(c: &mut Criterion, label: &str, rt: &tokio::runtime::Runtime) {
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let mut g = c.benchmark_group(format!("async/roundtrip_{label}"));
    g.bench_function("concur_run_in_executor", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    run_in_executor(&pool, || black_box(1u64)).await.unwrap();
                }
                t.elapsed()
            })
        })
    });
    g.bench_function("tokio_spawn_blocking", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for _ in 0..iters {
                    tokio::task::spawn_blocking(|| black_box(1u64))
                        .await
                        .unwrap();
                }
                t.elapsed()
            })
        })
    });
    g.finish();
}

fn current_thread(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    roundtrip(c, "current_thread", &rt);
}

fn multi_thread(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    roundtrip(c, "multi_thread", &rt);
}

/// CPython's `await loop.run_in_executor(pool, noop)`, recorded next to
/// the current-thread group, with the ratio to our own quick timing.
fn cpython_comparison(_c: &mut Criterion) {
    let Some(out) = concur_benches::run_python("async_roundtrip.py", &[]) else {
        return;
    };
    let Some(py) = concur_benches::parse_key(&out, "median_ns") else {
        eprintln!("note: async_roundtrip.py printed no median_ns; comparison skipped");
        return;
    };
    concur_benches::record_external(
        "async/roundtrip_current_thread",
        "cpython_asyncio_run_in_executor",
        py,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = ThreadPool::builder().max_workers(1).build().unwrap();
    let iters: u32 = if std::env::var_os("CONCUR_BENCH_QUICK").is_some() {
        2_000
    } else {
        20_000
    };
    let ours = rt.block_on(async {
        for _ in 0..200 {
            run_in_executor(&pool, || ()).await.unwrap();
        }
        let t = Instant::now();
        for _ in 0..iters {
            run_in_executor(&pool, || black_box(1u64)).await.unwrap();
        }
        t.elapsed().as_nanos() as f64 / f64::from(iters)
    });
    println!(
        "ratio cpython asyncio run_in_executor / concur_async run_in_executor: {:.1}x ({py:.0} ns vs {ours:.0} ns)",
        py / ours
    );
}

criterion_group!(benches, current_thread, multi_thread, cpython_comparison);
criterion_main!(benches);
