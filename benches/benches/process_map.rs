//! `map` throughput on a two-worker process pool at chunksize 1 and 1000
//! (`map_task` from concur-combinators: one frame per chunk), vs CPython's
//! `ProcessPoolExecutor.map` (external, same number of inputs).
//! Targets: ≥ 5× CPython at both chunk sizes; ≤ 4 µs/item at chunksize 1.

#![allow(missing_docs)]

mod process_common;

use concur_combinators::TaskExecutorExt;
use concur_process::ProcessPool;
use criterion::{Criterion, Throughput, criterion_group};
use process_common::*;

fn map(c: &mut Criterion) {
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    for (chunksize, n) in [(1usize, 20_000u64), (1000, 200_000)] {
        let group = format!("process/map_chunksize_{chunksize}");
        let run = || {
            let sum: u64 = pool
                .map_task(square, 0..n)
                .chunksize(chunksize)
                .run()
                .unwrap()
                .map(Result::unwrap)
                .fold(0u64, u64::wrapping_add);
            sum
        };
        let expected = (0..n).fold(0u64, |a, x| a.wrapping_add(x.wrapping_mul(x)));
        assert_eq!(run(), expected);
        let mut g = c.benchmark_group(&group);
        g.sample_size(10);
        g.throughput(Throughput::Elements(n));
        g.bench_function("concur", |b| b.iter(run));
        g.finish();

        let ours = median_ns(5, 1, || {
            run();
        });
        if chunksize == 1 {
            // Issue 17's target: 4 us per item at chunksize 1.
            let per_item = ours / n as f64;
            println!(
                "{group}: concur {per_item:.0} ns/item / 4000 ns goal = {:.2} ({})",
                per_item / 4000.0,
                if per_item <= 4000.0 { "met" } else { "missed" }
            );
        }
        if let Some(py_per_item) = cpython(&["map", &chunksize.to_string()]) {
            let py = py_per_item * n as f64;
            concur_benches::record_external(&group, "cpython", py);
            println!(
                "{group}: concur {:.0} ns/item, CPython {py_per_item:.0} ns/item: {:.1}x faster (target >= 5x)",
                ours / n as f64,
                py / ours
            );
        }
    }
}

criterion_group!(benches, map);

fn main() {
    concur_process::init();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
