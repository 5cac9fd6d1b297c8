//! Counts primes below a limit on a thread pool, three ways: one future per
//! chunk, scoped tasks writing into a borrowed slice, and a pool whose
//! initializer fails (every task then fails with the initializer's error).
//!
//! Run with `cargo run --release --example thread_primes [limit]`.

use concur::thread::ThreadPool;
use concur::{ErrorKind, Executor};

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

fn count(lo: u64, hi: u64) -> usize {
    (lo..hi).filter(|&n| is_prime(n)).count()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let limit: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(200_000);
    let pool = ThreadPool::builder()
        .max_workers(4)
        .thread_name_prefix("primes")
        .build()?;

    // One future per chunk, collected in submission order.
    let chunk = limit.div_ceil(8);
    let futures: Vec<_> = (0..8)
        .map(|i| {
            let (lo, hi) = (i * chunk, ((i + 1) * chunk).min(limit));
            pool.submit(move || count(lo, hi))
                .map_err(|refused| refused.error().clone())
        })
        .collect::<Result<_, _>>()?;
    let total: usize = futures
        .into_iter()
        .map(concur::Future::into_result)
        .sum::<Result<_, _>>()?;
    println!(
        "{total} primes below {limit} ({} worker threads)",
        pool.num_threads()
    );

    // Scoped tasks borrow `counts` mutably, one slot each.
    let mut counts = vec![0usize; 8];
    pool.scope(|s| {
        for (i, slot) in counts.iter_mut().enumerate() {
            let i = i as u64;
            s.spawn(move || *slot = count(i * chunk, ((i + 1) * chunk).min(limit)));
        }
    });
    assert_eq!(counts.iter().sum::<usize>(), total);
    println!("per chunk: {counts:?}");

    // A broken pool reports its initializer's error.
    let broken = ThreadPool::builder()
        .initializer(|| Err::<(), _>("no license for the prime-counting service"))
        .build()?;
    let err = match broken.submit(|| count(0, 10)) {
        Ok(fut) => fut.into_result().unwrap_err(),
        Err(refused) => refused.error().clone(),
    };
    assert_eq!(err.kind(), ErrorKind::Broken);
    println!("broken pool: {err}");
    Ok(())
}
