//! Helpers shared by the `thread_*` benches: the contenders, a plain median
//! timer for the ratios printed at the end of a run, and the CPython runner.
#![allow(dead_code, unreachable_pub)]

use criterion::BenchmarkGroup;
use criterion::measurement::WallTime;
use std::time::Duration;

/// 10 samples of a long-running case: 0.5 s of warm-up and 3 s of
/// measurement (0.1 s and 1 s under `cargo xtask bench --quick`).
pub fn few_long_samples(g: &mut BenchmarkGroup<'_, WallTime>) {
    let quick = concur_benches::quick();
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(if quick { 100 } else { 500 }))
        .measurement_time(Duration::from_secs(if quick { 1 } else { 3 }));
}

/// Workers every pool gets, so the comparison is like for like.
pub const WORKERS: usize = 2;

pub fn concur_pool() -> concur_thread::ThreadPool {
    concur_thread::ThreadPool::builder()
        .max_workers(WORKERS)
        .thread_name_prefix("bench")
        .build()
        .unwrap()
}

pub fn rayon_pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .unwrap()
}

pub fn concur_on_rayon() -> concur_thread::RayonExecutor {
    concur_thread::RayonExecutor::new(rayon_pool())
}

pub fn threadpool_pool() -> threadpool::ThreadPool {
    threadpool::ThreadPool::new(WORKERS)
}

pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(WORKERS)
        .build()
        .unwrap()
}

/// Median of `samples` runs of `f`, per operation (one home for all benches).
pub use concur_benches::median_ns;

/// Reads a number from the flat JSON object the CPython script prints.
pub fn json_number(json: &str, key: &str) -> Option<f64> {
    let start = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Runs `benches/python/thread_pool.py <args>` and returns its JSON line,
/// or `None` (a note is printed) when python3 is missing or fails.
pub fn cpython(args: &[&str]) -> Option<String> {
    let out = concur_benches::run_python("thread_pool.py", args)?;
    println!("cpython: {}", out.trim());
    Some(out)
}

pub fn ratio_line(what: &str, ours: f64, theirs: f64, target: &str) {
    println!(
        "ratio {what}: {:.3} (concur {ours:.0} ns vs {theirs:.0} ns; target {target})",
        ours / theirs
    );
}
