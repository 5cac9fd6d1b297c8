// Forgetting `.run()` on a map: nothing is submitted, and the warning (an
// error here) says what to call.
#![deny(unused_must_use)]

use concur::prelude::*;

fn main() {
    let pool = ThreadPool::new(2).unwrap();
    pool.map(|x: u64| x * 2, 0..10).chunksize(4);
}
