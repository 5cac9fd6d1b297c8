//! `shutdown` with `cancel_futures`, CPython's
//! `executor.shutdown(wait=False, cancel_futures=True)`: finished futures
//! keep their results, running ones finish, queued ones are cancelled, and
//! the pool refuses new work. Each future's state is printed before the
//! shutdown, right after it, and once the pool has stopped.
//!
//! Two workers: tasks 0 and 1 finish at once, tasks 2 and 3 wait for a lock
//! this program holds (so they are running), tasks 4 to 7 are queued.
//!
//! Run with `cargo run --example shutdown_cancel`.

use concur::thread::ThreadPool;
use concur::{Executor, Future, ShutdownOptions, State};
use std::sync::{Arc, RwLock, mpsc};

fn states(futs: &[Future<u32>]) -> Vec<State> {
    futs.iter().map(Future::state).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(2)?;
    let gate = Arc::new(RwLock::new(()));
    let held = gate.write().expect("a fresh lock");
    let (started, starts) = mpsc::channel();

    let mut futs = Vec::new();
    for i in 0..8u32 {
        let (gate, started) = (gate.clone(), started.clone());
        futs.push(pool.submit(move || {
            if i == 2 || i == 3 {
                started.send(i).unwrap();
                drop(gate.read().unwrap()); // held back until `held` is dropped
            }
            i * 10
        })?);
        if i == 1 {
            // 0 and 1 are done before the held-back tasks take the workers.
            futs[0].wait();
            futs[1].wait();
        }
    }
    // Both workers are now inside tasks 2 and 3.
    starts.recv()?;
    starts.recv()?;
    println!("before shutdown:  {:?}", states(&futs));

    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_futures(true));
    println!("after shutdown:   {:?}", states(&futs));
    match pool.submit(|| 0) {
        Ok(_) => println!("a new task was accepted"),
        Err(refused) => println!("a new task is refused: {}", refused.error()),
    }

    // Let 2 and 3 finish; `shutdown()` (wait = true) joins the workers.
    drop(held);
    pool.shutdown();
    println!("after the workers stopped: {:?}", states(&futs));
    for (i, f) in futs.iter().enumerate() {
        match f.result() {
            Ok(v) => println!("task {i}: {:?}, result {v}", f.state()),
            Err(e) => println!("task {i}: {:?}, {e}", f.state()),
        }
    }
    Ok(())
}
