//! (a) submit → result round trip of a no-op, one at a time:
//! concur `ThreadPool` vs rayon `spawn` + oneshot, `threadpool` + oneshot,
//! tokio `spawn_blocking`, `std::thread::spawn` + join, concur on rayon,
//! and CPython's `ThreadPoolExecutor` (external). Target: concur ≤ 1.0×
//! rayon, ≥ 30× faster than CPython.

#![allow(missing_docs)]

mod thread_common;

use concur_core::Executor;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use thread_common::*;

const GROUP: &str = "thread/roundtrip";

fn roundtrip(c: &mut Criterion) {
    let concur = concur_pool();
    let on_rayon = concur_on_rayon();
    let rayon = rayon_pool();
    let tp = threadpool_pool();
    let rt = tokio_rt();

    let concur_rt = || {
        concur
            .submit(|| black_box(()))
            .unwrap()
            .into_result()
            .unwrap()
    };
    let on_rayon_rt = || {
        on_rayon
            .submit(|| black_box(()))
            .unwrap()
            .into_result()
            .unwrap()
    };
    let rayon_rt = || {
        let (tx, rx) = oneshot::channel();
        rayon.spawn(move || {
            black_box(());
            let _ = tx.send(());
        });
        rx.recv().unwrap()
    };
    let tp_rt = || {
        let (tx, rx) = oneshot::channel();
        tp.execute(move || {
            black_box(());
            let _ = tx.send(());
        });
        rx.recv().unwrap()
    };
    let tokio_rt = || rt.block_on(rt.spawn_blocking(|| black_box(()))).unwrap();
    let std_rt = || std::thread::spawn(|| black_box(())).join().unwrap();

    let mut g = c.benchmark_group(GROUP);
    g.bench_function("concur", |b| b.iter(concur_rt));
    g.bench_function("rayon_spawn_oneshot", |b| b.iter(rayon_rt));
    g.bench_function("concur_on_rayon", |b| b.iter(on_rayon_rt));
    g.bench_function("threadpool_oneshot", |b| b.iter(tp_rt));
    g.bench_function("tokio_spawn_blocking", |b| b.iter(tokio_rt));
    g.bench_function("std_thread_spawn", |b| b.iter(std_rt));
    g.finish();

    // Ratios from one interleaved run (criterion keeps the detailed rows).
    let (samples, n) = (21, 2000u64);
    fn rounds(f: &dyn Fn(), n: u64) -> impl FnMut() + '_ {
        move || {
            for _ in 0..n {
                f();
            }
        }
    }
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..3 {
        ours.push(median_ns(samples, n, rounds(&concur_rt, n)));
        theirs.push(median_ns(samples, n, rounds(&rayon_rt, n)));
    }
    ours.sort_by(f64::total_cmp);
    theirs.sort_by(f64::total_cmp);
    let (ours, theirs) = (ours[1], theirs[1]);
    ratio_line("concur / rayon round trip", ours, theirs, "<= 1.0");
    let tp_ns = median_ns(7, 500, rounds(&tp_rt, 500));
    let tokio_ns = median_ns(7, 500, rounds(&tokio_rt, 500));
    let std_ns = median_ns(7, 200, rounds(&std_rt, 200));
    ratio_line("concur / threadpool round trip", ours, tp_ns, "report");
    ratio_line(
        "concur / tokio spawn_blocking round trip",
        ours,
        tokio_ns,
        "report",
    );
    ratio_line(
        "concur / std::thread::spawn round trip",
        ours,
        std_ns,
        "report",
    );
    if let Some(py) = cpython(&["roundtrip"]).and_then(|j| json_number(&j, "median_ns")) {
        concur_benches::record_external(GROUP, "cpython_thread_pool_executor", py);
        println!(
            "ratio cpython / concur round trip: {:.1}x faster (target >= 30x)",
            py / ours
        );
    }
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
