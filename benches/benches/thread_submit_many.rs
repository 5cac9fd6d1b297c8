//! (b) submit 1M no-ops, then collect every result: concur `ThreadPool` vs
//! rayon `spawn` + oneshot, `threadpool` + oneshot, tokio `spawn_blocking`,
//! concur on rayon, `std::thread::spawn` (10k, it is that slow) and CPython
//! (100k, external). Throughput is per task. Target: concur ≥ 2× rayon.

#![allow(missing_docs)]

mod thread_common;

use concur_core::Executor;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use thread_common::*;

const GROUP: &str = "thread/submit_1m_collect";
const N: u64 = 1_000_000;
const N_STD: u64 = 10_000;
const N_PY: &str = "100000";

fn concur_many(pool: &concur_thread::ThreadPool, n: u64) {
    let futs: Vec<_> = (0..n)
        .map(|_| pool.submit(|| black_box(())).unwrap())
        .collect();
    for f in futs {
        f.into_result().unwrap();
    }
}

fn on_rayon_many(exec: &concur_thread::RayonExecutor, n: u64) {
    let futs: Vec<_> = (0..n)
        .map(|_| exec.submit(|| black_box(())).unwrap())
        .collect();
    for f in futs {
        f.into_result().unwrap();
    }
}

fn rayon_many(pool: &rayon::ThreadPool, n: u64) {
    let rxs: Vec<_> = (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel();
            pool.spawn(move || {
                black_box(());
                let _ = tx.send(());
            });
            rx
        })
        .collect();
    for rx in rxs {
        rx.recv().unwrap();
    }
}

fn threadpool_many(pool: &threadpool::ThreadPool, n: u64) {
    let rxs: Vec<_> = (0..n)
        .map(|_| {
            let (tx, rx) = oneshot::channel();
            pool.execute(move || {
                black_box(());
                let _ = tx.send(());
            });
            rx
        })
        .collect();
    for rx in rxs {
        rx.recv().unwrap();
    }
}

fn tokio_many(rt: &tokio::runtime::Runtime, n: u64) {
    let handles: Vec<_> = (0..n)
        .map(|_| rt.spawn_blocking(|| black_box(())))
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
}

fn std_many(n: u64) {
    let handles: Vec<_> = (0..n)
        .map(|_| std::thread::spawn(|| black_box(())))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn submit_many(c: &mut Criterion) {
    let concur = concur_pool();
    let on_rayon = concur_on_rayon();
    let rayon = rayon_pool();
    let tp = threadpool_pool();
    let rt = tokio_rt();

    let mut g = c.benchmark_group(GROUP);
    few_long_samples(&mut g);
    g.throughput(Throughput::Elements(N));
    g.bench_function("concur", |b| b.iter(|| concur_many(&concur, N)));
    g.bench_function("rayon_spawn_oneshot", |b| b.iter(|| rayon_many(&rayon, N)));
    g.bench_function("concur_on_rayon", |b| {
        b.iter(|| on_rayon_many(&on_rayon, N))
    });
    g.bench_function("threadpool_oneshot", |b| b.iter(|| threadpool_many(&tp, N)));
    g.bench_function("tokio_spawn_blocking", |b| b.iter(|| tokio_many(&rt, N)));
    g.throughput(Throughput::Elements(N_STD));
    g.bench_function("std_thread_spawn_10k", |b| b.iter(|| std_many(N_STD)));
    g.finish();

    // Ratios from interleaved runs in this process.
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..5 {
        ours.push(median_ns(1, N, || concur_many(&concur, N)));
        theirs.push(median_ns(1, N, || rayon_many(&rayon, N)));
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let (ours, theirs) = (ours[2], theirs[2]);
    println!(
        "ratio concur / rayon throughput (1M submit + collect): {:.2}x (concur {ours:.0} ns/task vs rayon {theirs:.0} ns/task; target >= 2x)",
        theirs / ours
    );
    let tp_ns = median_ns(3, N, || threadpool_many(&tp, N));
    let tokio_ns = median_ns(3, N, || tokio_many(&rt, N));
    let on_rayon_ns = median_ns(3, N, || on_rayon_many(&on_rayon, N));
    let std_ns = median_ns(3, N_STD, || std_many(N_STD));
    for (name, ns) in [
        ("threadpool + oneshot", tp_ns),
        ("tokio spawn_blocking", tokio_ns),
        ("concur on rayon", on_rayon_ns),
        ("std::thread::spawn", std_ns),
    ] {
        println!(
            "ratio concur / {name} throughput: {:.2}x (concur {ours:.0} ns/task vs {ns:.0} ns/task)",
            ns / ours
        );
    }
    if let Some(py) = cpython(&["submit_many", N_PY]).and_then(|j| json_number(&j, "median_ns")) {
        concur_benches::record_external_per_item(GROUP, "cpython_thread_pool_executor_100k", py);
        println!(
            "ratio concur / cpython throughput: {:.1}x (cpython {py:.0} ns/task)",
            py / ours
        );
    }
}

criterion_group!(benches, submit_many);
criterion_main!(benches);
