// `map` is the thread-pool name; a process pool maps `remote!` functions
// with `map_task`.
use concur::prelude::*;

concur::remote! {
    fn is_prime(n: u64) -> bool {
        n > 1 && (2..n).all(|d| n % d != 0)
    }
}

fn main() {
    let pool = ProcessPool::new(2).unwrap();
    let _ = pool.map(is_prime, [2u64, 3, 4]).run();
}
