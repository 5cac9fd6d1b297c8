//! The cost of the `tracing` feature on the thread pool's hot path: submit
//! 1M no-ops, then collect every result (the same work as
//! `thread/submit_1m_collect/concur`), built with `--features tracing`:
//!
//! * `no_subscriber`: the feature on, no subscriber installed;
//! * `subscriber_filtering_all`: a global `fmt` subscriber at `info`
//!   (writing to a sink), which filters out every event this work emits
//!   (all `trace`): the realistic production setting.
//!
//! Compare with the feature-off row of the same group name in
//! `thread_submit_many` (`cargo bench -p concur-benches --bench
//! thread_submit_many -- concur$`): the difference is what the feature
//! costs when its events are filtered out.
//!
//! ```text
//! cargo bench -p concur-benches --features tracing --bench thread_submit_traced
//! ```

#![allow(missing_docs)]

mod thread_common;

use concur_core::Executor;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use thread_common::*;
use tracing_subscriber::filter::LevelFilter;

const GROUP: &str = "thread/submit_1m_collect_traced";
const N: u64 = 1_000_000;

fn concur_many(pool: &concur_thread::ThreadPool, n: u64) {
    let futs: Vec<_> = (0..n)
        .map(|_| pool.submit(|| black_box(())).unwrap())
        .collect();
    for f in futs {
        f.into_result().unwrap();
    }
}

fn submit_traced(c: &mut Criterion) {
    let pool = concur_pool();
    let mut g = c.benchmark_group(GROUP);
    few_long_samples(&mut g);
    g.throughput(Throughput::Elements(N));
    // No subscriber yet: the global default is the no-op dispatcher.
    g.bench_function("no_subscriber", |b| b.iter(|| concur_many(&pool, N)));
    let ns_none = median_ns(3, N, || concur_many(&pool, N));
    // A global subscriber (the pool's workers are other threads) at
    // `info`, writing to a sink: every event this work emits (`trace`)
    // is filtered out, but each callsite is now asked.
    tracing_subscriber::fmt()
        .with_max_level(LevelFilter::INFO)
        .with_writer(std::io::sink)
        .init();
    g.bench_function("subscriber_filtering_all", |b| {
        b.iter(|| concur_many(&pool, N))
    });
    let ns_filtered = median_ns(3, N, || concur_many(&pool, N));
    g.finish();
    println!("tracing on, no subscriber: {ns_none:.0} ns/task");
    println!("tracing on, subscriber filtering every task event: {ns_filtered:.0} ns/task");
    println!("(compare: thread/submit_1m_collect/concur, built without the feature)");
}

criterion_group!(benches, submit_traced);
criterion_main!(benches);
