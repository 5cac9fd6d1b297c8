// Code generic over `Executor` (here the async bridge) runs closures, which
// a process pool cannot.
use concur::process::ProcessPool;

fn main() {
    let pool = ProcessPool::new(2).unwrap();
    let _ = concur::asyncio::run_in_executor(&pool, || 6 * 7);
}
