//! Adaptive chunk sizing (`map_task` without a `chunksize`) on a 2-worker
//! process pool, against hand-picked chunk sizes in the same run, on three
//! workloads: a no-op (`square`), ~10 µs and ~1 ms of CPU per item.
//! Issue 17's goals: the adaptive run reaches ≥ 0.8× the throughput of the
//! best hand-picked size on each, and on the 1 ms workload it is at most 5%
//! slower than chunksize 1.

#![allow(missing_docs)]

mod process_common;

use concur_combinators::{MapBuilder, TaskExecutorExt};
use concur_process::ProcessPool;
use process_common::*;
use std::time::{Duration, Instant};

concur_ipc::remote! {
    /// Spins (no sleep: CPU work) for `micros` microseconds.
    fn spin(micros: u64) -> u64 {
        let until = Instant::now() + Duration::from_micros(micros);
        let mut n = 0u64;
        while Instant::now() < until {
            n = n.wrapping_add(1);
            std::hint::spin_loop();
        }
        n
    }
}

/// `b` with `chunk` as its chunksize (`None`: adaptive).
fn sized<It: Iterator, R: Send + 'static>(
    b: MapBuilder<'_, It, R>,
    chunk: Option<usize>,
) -> MapBuilder<'_, It, R> {
    match chunk {
        Some(c) => b.chunksize(c),
        None => b,
    }
}

/// Runs the map; how many results it yielded (each must succeed).
fn count<It: Iterator, R: Send + 'static>(b: MapBuilder<'_, It, R>) -> usize {
    b.run().unwrap().map(Result::unwrap).count()
}

fn main() {
    concur_process::init();
    let quick = concur_benches::quick();
    let samples = if quick { 1 } else { 3 };
    let pool = ProcessPool::builder().max_workers(2).build().unwrap();
    // (name, items, per-item argument, hand-picked sizes)
    let workloads: [(&str, u64, Option<u64>, &[usize]); 3] = [
        ("noop", 200_000, None, &[1, 10, 100, 1000, 10_000]),
        ("10us", 20_000, Some(10), &[1, 10, 100, 1000]),
        ("1ms", 400, Some(1000), &[1, 2, 10, 50]),
    ];
    for (name, n, micros, sizes) in workloads {
        let group = format!("process/adaptive_{name}");
        let run = |chunk: Option<usize>| {
            let ns = median_ns(samples, n, || {
                let done = match micros {
                    None => count(sized(pool.map_task(square, 0..n), chunk)),
                    Some(us) => count(sized(
                        pool.map_task(spin, std::iter::repeat_n(us, n as usize)),
                        chunk,
                    )),
                };
                assert_eq!(done as u64, n);
            });
            let label = chunk.map_or_else(|| "adaptive".to_string(), |c| format!("chunksize_{c}"));
            concur_benches::record_external_per_item(&group, &label, ns);
            println!("{group}: {label} {ns:.0} ns/item");
            ns
        };
        let adaptive = run(None);
        let picked: Vec<(usize, f64)> = sizes.iter().map(|&c| (c, run(Some(c)))).collect();
        let (best_c, best) = picked
            .iter()
            .copied()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("sizes");
        let ratio = best / adaptive;
        println!(
            "{group}: adaptive {adaptive:.0} ns/item, best hand-picked chunksize {best_c} {best:.0} ns/item: {ratio:.2}x its throughput (goal >= 0.8x: {})",
            if ratio >= 0.8 { "met" } else { "missed" }
        );
        if name == "1ms" {
            let one = picked[0].1;
            let slower = adaptive / one;
            println!(
                "{group}: adaptive / chunksize 1 = {slower:.3} (goal <= 1.05: {})",
                if slower <= 1.05 { "met" } else { "missed" }
            );
        }
    }
}
