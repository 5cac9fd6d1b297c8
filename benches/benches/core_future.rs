//! The core's costs: create+complete+read a future, callback fire,
//! cross-thread wake latency (against a crossbeam channel ping-pong).

#![allow(missing_docs)]

use concur_core::Promise;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

fn create_complete_read(c: &mut Criterion) {
    c.bench_function("core/create_complete_read", |b| {
        b.iter(|| {
            let (p, f) = Promise::new();
            p.set_result(black_box(7u64)).unwrap();
            black_box(*f.result().unwrap())
        })
    });
    c.bench_function("core/create_complete_into_result", |b| {
        b.iter(|| {
            let (p, f) = Promise::new();
            p.set_result(black_box(7u64)).unwrap();
            drop(p);
            black_box(f.into_result().unwrap())
        })
    });
}

fn callback_fire(c: &mut Criterion) {
    let hits = Arc::new(AtomicUsize::new(0));
    c.bench_function("core/callback_fire", |b| {
        b.iter(|| {
            let (p, f) = Promise::new();
            let h = hits.clone();
            f.add_done_callback(move |_| {
                h.fetch_add(1, Ordering::Relaxed);
            });
            p.set_result(black_box(1u8)).unwrap();
        })
    });
}

fn cross_thread_wake(c: &mut Criterion) {
    // A helper thread completes each future sent to it; we time the round trip.
    let (tx, rx) = crossbeam_channel::unbounded::<Promise<u64>>();
    let helper = thread::spawn(move || {
        for p in rx {
            let _ = p.set_result(1);
        }
    });
    let mut g = c.benchmark_group("core/cross_thread_wake");
    g.bench_function("concur", |b| {
        b.iter(|| {
            let (p, f) = Promise::new();
            tx.send(p).unwrap();
            black_box(*f.result().unwrap())
        })
    });
    drop(tx);
    helper.join().unwrap();

    // The reference: a crossbeam channel ping-pong between two threads.
    let (to, from_main) = crossbeam_channel::bounded::<u64>(1);
    let (back, from_helper) = crossbeam_channel::bounded::<u64>(1);
    let helper = thread::spawn(move || {
        for v in from_main {
            back.send(v).unwrap();
        }
    });
    g.bench_function("crossbeam_ping_pong", |b| {
        b.iter(|| {
            to.send(1).unwrap();
            black_box(from_helper.recv().unwrap())
        })
    });
    g.finish();
    drop(to);
    helper.join().unwrap();
}

criterion_group!(
    benches,
    create_complete_read,
    callback_fire,
    cross_thread_wake
);
criterion_main!(benches);
