//! What `map(..).timeout(..)` gives when its deadline passes: the results
//! that were ready in time, then one `Err` of kind `Timeout`, then the end
//! of the iterator; inputs still queued are cancelled and never run, and
//! tasks already running finish in the background (a thread cannot be
//! stopped; a process pool's `task_timeout` can stop one).
//!
//! Two workers; inputs 2 and 3 wait for a lock this program holds, so
//! both workers are busy with them and inputs 4 to 7 stay queued when the
//! 1 s deadline passes.
//!
//! Run with `cargo run --example map_timeout`.

use concur::ErrorKind;
use concur::combinators::ExecutorExt;
use concur::thread::ThreadPool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(2)?;
    let gate = Arc::new(RwLock::new(()));
    let held = gate.write().expect("a fresh lock");
    let ran = Arc::new(Mutex::new(Vec::new()));

    let task = {
        let (gate, ran) = (gate.clone(), ran.clone());
        move |x: u32| {
            ran.lock().unwrap().push(x);
            if x == 2 || x == 3 {
                drop(gate.read().unwrap()); // held back until `held` is dropped
            }
            x * 10
        }
    };
    let results = pool.map(task, 0..8).timeout(Duration::from_secs(1)).run()?;

    let mut yielded = 0;
    for r in results {
        yielded += 1;
        match r {
            Ok(v) => println!("result: {v}"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Timeout);
                println!("error: {e} (kind {:?})", e.kind());
            }
        }
    }
    println!("the iterator ended after {yielded} items (of 8 inputs)");

    // Let the two running tasks finish, then wait for the pool.
    drop(held);
    pool.shutdown();
    let mut ran = ran.lock().unwrap().clone();
    ran.sort_unstable();
    let never: Vec<u32> = (0..8).filter(|x| !ran.contains(x)).collect();
    println!("inputs that ran: {ran:?}");
    println!("inputs cancelled, never run: {never:?}");
    Ok(())
}
