//! The lecture's prime check on MPI ranks: the `primes` example's
//! `remote!` function and `map_task` call, unchanged, on an `MpiPool`
//! (feature `mpi`). Every rank runs this binary; rank 0 builds the pool over
//! the others.
//!
//! ```text
//! cargo build --release --features mpi --example mpi_primes
//! mpirun -n 3 target/release/examples/mpi_primes
//! # as root: mpirun --allow-run-as-root ...; more ranks than cores: --oversubscribe
//! # to survive a rank's death: mpirun --enable-recovery ...
//! ```

use concur::combinators::TaskExecutorExt;
use concur::mpi::MpiPool;
use std::time::Instant;

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

    /// Which worker process (and host) ran task `task`.
    fn whoami(task: u32) -> String {
        let _ = task;
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("pid {} on {}", std::process::id(), host.trim())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First statement: ranks other than 0 serve the pool and never return.
    let world = concur::mpi::init()?;
    let pool = MpiPool::builder().build()?;
    println!(
        "rank 0 of {}: {} worker ranks",
        world.size(),
        pool.max_workers()
    );
    let mut workers: Vec<String> = pool
        .map_task(whoami, 0..4 * pool.max_workers() as u32)
        .run()?
        .collect::<Result<_, _>>()?;
    workers.sort();
    workers.dedup();
    println!("tasks ran on {} worker processes", workers.len());

    let start = Instant::now();
    let results = pool.map_task(is_prime, PRIMES).run()?;
    for (number, prime) in PRIMES.iter().zip(results) {
        println!("{number} is prime: {}", prime?);
    }
    println!("checked {} numbers in {:?}", PRIMES.len(), start.elapsed());
    drop(pool); // the workers leave their loop and exit
    drop(world); // then rank 0 ends MPI
    Ok(())
}
