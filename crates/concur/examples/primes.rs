//! The lecture's prime check on the process pool: CPython's
//! `ProcessPoolExecutor` example, with `map` over named functions.
//!
//! ```text
//! cargo run --release --example primes
//! ```

use concur::combinators::TaskExecutorExt;
use concur::process::ProcessPool;

const PRIMES: [u64; 6] = [
    112_272_535_095_293,
    112_582_705_942_171,
    112_272_535_095_293,
    115_280_095_190_773,
    115_797_848_077_099,
    1_099_726_899_285_419,
];

concur::remote! {
    /// Trial division by odd numbers up to the square root.
    fn is_prime(n: u64) -> bool {
        if n < 2 {
            return false;
        }
        if n % 2 == 0 {
            return n == 2;
        }
        let limit = (n as f64).sqrt() as u64;
        (3..=limit).step_by(2).all(|d| n % d != 0)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ProcessPool::with_default_workers()?;
    let results = pool.map_task(is_prime, PRIMES).run()?;
    for (number, prime) in PRIMES.iter().zip(results) {
        println!("{number} is prime: {}", prime?);
    }
    Ok(())
}
