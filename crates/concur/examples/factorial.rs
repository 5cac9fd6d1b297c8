//! Factorials on the process pool: each worker multiplies one slice of the
//! range (modulo a prime, so the numbers stay machine-sized), the parent
//! combines the partial products as they complete — and small factorials
//! exactly, one task each.
//!
//! ```text
//! cargo run --release --example factorial [N]
//! ```

use concur::TaskExecutor;
use concur::combinators::as_completed;
use concur::process::ProcessPool;

const MODULUS: u64 = 1_000_000_007;

concur::remote! {
    /// `n!` exactly; fails beyond what `u128` holds.
    fn factorial(n: u32) -> Result<u128, String> {
        (1..=u128::from(n))
            .try_fold(1u128, |acc, k| acc.checked_mul(k))
            .ok_or_else(|| format!("{n}! does not fit in 128 bits"))
    }

    /// The product of `lo..hi` modulo `MODULUS`.
    fn partial_product(lo: u64, hi: u64) -> u64 {
        (lo..hi).fold(1u64, |acc, k| acc * (k % MODULUS) % MODULUS)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(200_000_000);
    let pool = ProcessPool::with_default_workers()?;

    for (k, f) in [5u32, 20, 34, 35]
        .into_iter()
        .zip([5u32, 20, 34, 35].map(|k| pool.submit_task(factorial, k)))
    {
        match f?.into_result() {
            Ok(v) => println!("{k}! = {v}"),
            Err(e) => println!("{k}!: {e}"),
        }
    }

    let chunks = 4 * pool.max_workers() as u64;
    let step = n.div_ceil(chunks).max(1);
    let futs: Vec<_> = (0..chunks)
        .map(|i| (1 + i * step, (1 + (i + 1) * step).min(n + 1)))
        .filter(|(lo, hi)| lo < hi)
        .map(|range| pool.submit_task(partial_product, range))
        .collect::<Result<_, _>>()?;
    let mut product = 1u64;
    for f in as_completed(&futs) {
        product = product * f.result()? % MODULUS;
    }
    println!("{n}! mod {MODULUS} = {product}");
    Ok(())
}
