//! The lecture's first example: "downloading" files sequentially, then
//! concurrently on a thread pool. The downloads are simulated I/O waits
//! (sleeps), which is exactly the work threads are good at overlapping.
//!
//! Run with `cargo run --release --example download`.

use concur::Executor;
use concur::combinators::{ExecutorExt, as_completed};
use concur::thread::ThreadPool;
use std::thread;
use std::time::{Duration, Instant};

/// A fake download: waits `size_kb / 10` ms as if on the network, returns bytes.
fn download(name: &str, size_kb: u64) -> (String, u64) {
    thread::sleep(Duration::from_millis(size_kb / 10));
    (name.to_string(), size_kb * 1024)
}

fn files() -> Vec<(&'static str, u64)> {
    vec![
        ("report.pdf", 800),
        ("photo.jpg", 1_500),
        ("data.csv", 400),
        ("song.mp3", 1_200),
        ("notes.txt", 100),
        ("video.mp4", 2_000),
    ]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("sequential:");
    let start = Instant::now();
    let mut total = 0;
    for (name, kb) in files() {
        let (name, bytes) = download(name, kb);
        total += bytes;
        println!(
            "  {:>6} ms  {name} ({bytes} bytes)",
            start.elapsed().as_millis()
        );
    }
    let sequential = start.elapsed();
    println!("  {total} bytes in {sequential:?}");

    let pool = ThreadPool::builder().max_workers(6).build()?;

    println!("concurrent, as_completed (results as they arrive):");
    let start = Instant::now();
    let futures: Vec<_> = files()
        .into_iter()
        .map(|(name, kb)| pool.submit(move || download(name, kb)))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for fut in as_completed(&futures) {
        let (name, bytes) = fut.result()?;
        println!(
            "  {:>6} ms  {name} ({bytes} bytes)",
            start.elapsed().as_millis()
        );
    }
    let concurrent = start.elapsed();

    println!("concurrent, map (results in input order):");
    let start = Instant::now();
    for result in pool.map(|(name, kb)| download(name, kb), files()).run()? {
        let (name, bytes) = result?;
        println!(
            "  {:>6} ms  {name} ({bytes} bytes)",
            start.elapsed().as_millis()
        );
    }

    println!(
        "sequential {sequential:?}, concurrent {concurrent:?}: {:.1}x faster",
        sequential.as_secs_f64() / concurrent.as_secs_f64()
    );
    pool.shutdown();
    Ok(())
}
