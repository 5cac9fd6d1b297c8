// A process pool cannot run closures: `submit_task` with a `remote!`
// function.
use concur::prelude::*;

fn main() {
    let pool = ProcessPool::new(2).unwrap();
    let fut = pool.submit(|| 6 * 7).unwrap();
    let _ = fut.into_result();
}
