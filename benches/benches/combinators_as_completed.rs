//! `as_completed` over 100k futures completed out of order by another
//! thread (target: ≤ 1.5× a crossbeam channel collecting the same results).
//!
//! Two baselines:
//! * `channel_via_callbacks`: the same futures, completed in the same
//!   order, each with a done-callback sending its index into a crossbeam
//!   channel that the caller drains, reading each result: the usual
//!   hand-rolled way to collect futures as they complete.
//! * `raw_channel`: no futures at all, just the values sent through a
//!   channel in the same order (the floor: no allocation, no future state).

#![allow(missing_docs)]

use concur_combinators::as_completed;
use concur_core::{Future, Promise};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::thread;

const N: usize = 100_000;

/// A fixed pseudo-random permutation of `0..n` (Fisher–Yates over an LCG).
fn permutation(n: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let j = (s >> 33) as usize % (i + 1);
        v.swap(i, j);
    }
    v
}

fn bench(c: &mut Criterion) {
    let order = permutation(N);
    let mut g = c.benchmark_group("combinators/as_completed_100k");
    g.sample_size(10);
    g.bench_function("concur", |b| {
        b.iter_batched(
            || {
                let (ps, fs): (Vec<Promise<u64>>, Vec<Future<u64>>) =
                    (0..N).map(|_| Promise::new()).unzip();
                let mut ps: Vec<Option<Promise<u64>>> = ps.into_iter().map(Some).collect();
                let ordered: Vec<Promise<u64>> =
                    order.iter().map(|&i| ps[i].take().unwrap()).collect();
                (ordered, fs)
            },
            |(ordered, fs)| {
                let it = as_completed(fs);
                let completer = thread::spawn(move || {
                    for (k, p) in ordered.into_iter().enumerate() {
                        p.set_result(k as u64).unwrap();
                    }
                });
                let mut sum = 0u64;
                for f in it {
                    sum += *f.result().unwrap();
                }
                completer.join().unwrap();
                black_box(sum)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("channel_via_callbacks", |b| {
        b.iter_batched(
            || {
                let (ps, fs): (Vec<Promise<u64>>, Vec<Future<u64>>) =
                    (0..N).map(|_| Promise::new()).unzip();
                let mut ps: Vec<Option<Promise<u64>>> = ps.into_iter().map(Some).collect();
                let ordered: Vec<Promise<u64>> =
                    order.iter().map(|&i| ps[i].take().unwrap()).collect();
                (ordered, fs)
            },
            |(ordered, fs)| {
                let (tx, rx) = crossbeam_channel::unbounded::<usize>();
                let mut slots: Vec<Option<Future<u64>>> = Vec::with_capacity(N);
                for (i, f) in fs.into_iter().enumerate() {
                    let tx = tx.clone();
                    f.add_done_callback(move |_| {
                        let _ = tx.send(i);
                    });
                    slots.push(Some(f));
                }
                drop(tx);
                let completer = thread::spawn(move || {
                    for (k, p) in ordered.into_iter().enumerate() {
                        p.set_result(k as u64).unwrap();
                    }
                });
                let mut sum = 0u64;
                for i in rx.iter().take(N) {
                    let f = slots[i].take().unwrap();
                    sum += *f.result().unwrap();
                }
                completer.join().unwrap();
                black_box(sum)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("raw_channel", |b| {
        b.iter_batched(
            || order.clone(),
            |ordered| {
                let (tx, rx) = crossbeam_channel::unbounded::<(usize, u64)>();
                let completer = thread::spawn(move || {
                    for (k, i) in ordered.into_iter().enumerate() {
                        tx.send((i, k as u64)).unwrap();
                    }
                });
                let mut sum = 0u64;
                for (_, v) in rx.iter().take(N) {
                    sum += v;
                }
                completer.join().unwrap();
                black_box(sum)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
