// A closure has no name a worker process could look up: `submit_task`
// needs a function declared with `concur::remote!`.
use concur::TaskExecutor;
use concur::thread::ThreadPool;

fn main() {
    let pool = ThreadPool::new(2).unwrap();
    let _ = pool.submit_task(|x: u64| x * 2, 21);
}
