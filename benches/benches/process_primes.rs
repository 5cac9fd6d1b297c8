//! Prime counting below 2,000,000 in 8 equal jobs on a process pool with 1
//! and with 2 workers: the speed-up of the second process (target ≥ 1.9×
//! on 2 cores), plus CPython's `ProcessPoolExecutor` on 2 workers
//! (external, same algorithm).

#![allow(missing_docs)]

mod process_common;

use concur_core::TaskExecutor;
use concur_process::ProcessPool;
use criterion::{Criterion, criterion_group};
use process_common::*;

const GROUP: &str = "process/primes";
const LIMIT: u64 = 2_000_000;
const JOBS: u64 = 8;

fn count(pool: &ProcessPool) -> u64 {
    let futs: Vec<_> = (0..JOBS)
        .map(|j| pool.submit_task(count_primes, (j, LIMIT, JOBS)).unwrap())
        .collect();
    futs.into_iter().map(|f| f.into_result().unwrap()).sum()
}

fn primes(c: &mut Criterion) {
    let one = ProcessPool::builder().max_workers(1).build().unwrap();
    let two = ProcessPool::builder().max_workers(2).build().unwrap();
    assert_eq!(count(&one), 148_933);
    assert_eq!(count(&two), 148_933);

    let mut g = c.benchmark_group(GROUP);
    g.sample_size(10);
    g.bench_function("concur_1_worker", |b| b.iter(|| count(&one)));
    g.bench_function("concur_2_workers", |b| b.iter(|| count(&two)));
    g.finish();

    let mut t1 = Vec::new();
    let mut t2 = Vec::new();
    for _ in 0..3 {
        t1.push(median_ns(3, 1, || {
            count(&one);
        }));
        t2.push(median_ns(3, 1, || {
            count(&two);
        }));
    }
    t1.sort_by(f64::total_cmp);
    t2.sort_by(f64::total_cmp);
    println!(
        "process/primes: 1 worker {:.1} ms, 2 workers {:.1} ms: speed-up {:.2}x (target >= 1.9x)",
        t1[1] / 1e6,
        t2[1] / 1e6,
        t1[1] / t2[1]
    );
    if let Some(py) = cpython(&["primes", "2"]) {
        concur_benches::record_external(GROUP, "cpython_2_workers", py);
        println!(
            "process/primes: CPython 2 workers {:.1} ms: concur is {:.1}x faster",
            py / 1e6,
            py / t2[1]
        );
    }
}

criterion_group!(benches, primes);

fn main() {
    concur_process::init();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
