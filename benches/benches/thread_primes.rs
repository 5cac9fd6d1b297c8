//! (c) CPU-bound prime counting, 4 equal jobs on 2 workers: speed-up over
//! running the 4 jobs one after another on the calling thread, for concur
//! `ThreadPool`, rayon `spawn` + oneshot, `threadpool` + oneshot, tokio
//! `spawn_blocking`, `std::thread::spawn`, concur on rayon, and CPython's
//! `ThreadPoolExecutor` (its own sequential/pool ratio: the GIL keeps it
//! near 1×). Target: concur ≥ 1.9×.

#![allow(missing_docs)]

mod thread_common;

use concur_core::Executor;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use thread_common::*;

const GROUP: &str = "thread/primes_4_jobs_2_workers";
const LIMIT: u64 = 400_000;
const JOBS: u64 = 4;

/// Counts the primes `k < LIMIT` with `k % (2 * JOBS) == 2 * job + 1` by
/// trial division (plus 2 for job 0): each job gets one residue class of
/// odd numbers, so the four jobs do the same amount of work.
fn count_primes(job: u64) -> u64 {
    let mut count = u64::from(job == 0); // 2, the only even prime
    let mut k = 2 * job + 1;
    while k < LIMIT {
        if k >= 3 {
            let mut d = 3;
            let mut prime = true;
            while d * d <= k {
                if k % d == 0 {
                    prime = false;
                    break;
                }
                d += 2;
            }
            count += u64::from(prime);
        }
        k += 2 * JOBS;
    }
    count
}

fn sequential() -> u64 {
    (0..JOBS).map(|j| count_primes(black_box(j))).sum()
}

fn primes(c: &mut Criterion) {
    let concur = concur_pool();
    let on_rayon = concur_on_rayon();
    let rayon = rayon_pool();
    let tp = threadpool_pool();
    let rt = tokio_rt();
    let expected = sequential();

    let concur_run = || -> u64 {
        let futs: Vec<_> = (0..JOBS)
            .map(|j| concur.submit(move || count_primes(j)).unwrap())
            .collect();
        futs.into_iter().map(|f| f.into_result().unwrap()).sum()
    };
    let on_rayon_run = || -> u64 {
        let futs: Vec<_> = (0..JOBS)
            .map(|j| on_rayon.submit(move || count_primes(j)).unwrap())
            .collect();
        futs.into_iter().map(|f| f.into_result().unwrap()).sum()
    };
    let rayon_run = || -> u64 {
        let rxs: Vec<_> = (0..JOBS)
            .map(|j| {
                let (tx, rx) = oneshot::channel();
                rayon.spawn(move || {
                    let _ = tx.send(count_primes(j));
                });
                rx
            })
            .collect();
        rxs.into_iter().map(|rx| rx.recv().unwrap()).sum()
    };
    let tp_run = || -> u64 {
        let rxs: Vec<_> = (0..JOBS)
            .map(|j| {
                let (tx, rx) = oneshot::channel();
                tp.execute(move || {
                    let _ = tx.send(count_primes(j));
                });
                rx
            })
            .collect();
        rxs.into_iter().map(|rx| rx.recv().unwrap()).sum()
    };
    let tokio_run = || -> u64 {
        let hs: Vec<_> = (0..JOBS)
            .map(|j| rt.spawn_blocking(move || count_primes(j)))
            .collect();
        rt.block_on(async {
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        })
    };
    // Two threads, two jobs each: the same 2-way parallelism.
    let std_run = || -> u64 {
        let hs: Vec<_> = (0..2u64)
            .map(|t| std::thread::spawn(move || count_primes(t) + count_primes(t + 2)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    };
    for run in [
        &concur_run as &dyn Fn() -> u64,
        &on_rayon_run,
        &rayon_run,
        &tp_run,
        &tokio_run,
        &std_run,
    ] {
        assert_eq!(run(), expected);
    }

    let mut g = c.benchmark_group(GROUP);
    few_long_samples(&mut g);
    g.bench_function("sequential", |b| b.iter(sequential));
    g.bench_function("concur", |b| b.iter(concur_run));
    g.bench_function("rayon_spawn_oneshot", |b| b.iter(rayon_run));
    g.bench_function("concur_on_rayon", |b| b.iter(on_rayon_run));
    g.bench_function("threadpool_oneshot", |b| b.iter(tp_run));
    g.bench_function("tokio_spawn_blocking", |b| b.iter(tokio_run));
    g.bench_function("std_thread_spawn", |b| b.iter(std_run));
    g.finish();

    // Speed-ups from interleaved runs (sequential, then each contender).
    let mut seq = Vec::new();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..7 {
        seq.push(median_ns(1, 1, || {
            black_box(sequential());
        }));
        ours.push(median_ns(1, 1, || {
            black_box(concur_run());
        }));
        theirs.push(median_ns(1, 1, || {
            black_box(rayon_run());
        }));
    }
    for v in [&mut seq, &mut ours, &mut theirs] {
        v.sort_by(f64::total_cmp);
    }
    let (seq, ours, theirs) = (seq[3], ours[3], theirs[3]);
    println!(
        "ratio concur speed-up over sequential: {:.2}x (sequential {:.1} ms, concur {:.1} ms; target >= 1.9x)",
        seq / ours,
        seq / 1e6,
        ours / 1e6
    );
    println!(
        "ratio rayon speed-up over sequential: {:.2}x (rayon {:.1} ms)",
        seq / theirs,
        theirs / 1e6
    );
    if let Some(json) = cpython(&["primes"]) {
        if let (Some(py), Some(speedup)) = (
            json_number(&json, "median_ns"),
            json_number(&json, "speedup"),
        ) {
            concur_benches::record_external(GROUP, "cpython_thread_pool_executor", py);
            println!(
                "ratio cpython speed-up over its own sequential: {speedup:.2}x (smaller limit; the GIL serialises it)"
            );
        }
    }
}

criterion_group!(benches, primes);
criterion_main!(benches);
