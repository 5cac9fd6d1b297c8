//! CPython's `concurrent.futures.wait` in concur: `wait(futures, timeout,
//! ReturnWhen::…)` returns `(done, not_done)`. Three tasks (one quick, two
//! held back by channels until this program lets them go) are waited for
//! four ways, and each call prints its two sets, named through the
//! future-to-input map (`fut.id()` keys a `HashMap`).
//!
//! Run with `cargo run --example wait_sets`.

use concur::combinators::{ReturnWhen, wait};
use concur::thread::ThreadPool;
use concur::{Executor, Future};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The names of `futs`, in the order `wait` returned them.
fn names<'a>(futs: &[Future<String>], name_of: &HashMap<usize, &'a str>) -> Vec<&'a str> {
    futs.iter().map(|f| name_of[&f.id()]).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(3)?;
    let (release_a, gate_a) = mpsc::channel::<()>();
    let (release_b, gate_b) = mpsc::channel::<bool>();

    let quick = pool.submit_fallible(|| Ok::<_, String>("quick result".to_string()))?;
    let slow_a = pool.submit_fallible(move || {
        gate_a.recv().map_err(|e| e.to_string())?;
        Ok::<_, String>("a's result".to_string())
    })?;
    let slow_b = pool.submit_fallible(move || {
        let fail = gate_b.recv().map_err(|e| e.to_string())?;
        if fail {
            return Err("b failed on purpose".to_string());
        }
        Ok("b's result".to_string())
    })?;

    // The futures, and each one's name by identity (`Future::id` is stable
    // while a handle lives; `all` keeps them alive).
    let all = [quick, slow_a, slow_b];
    let name_of: HashMap<usize, &str> = all
        .iter()
        .map(Future::id)
        .zip(["quick", "a", "b"])
        .collect();
    let show = |call: &str, (done, not_done): (Vec<Future<String>>, Vec<Future<String>>)| {
        println!("{call}");
        println!("  done:     {:?}", names(&done, &name_of));
        println!("  not done: {:?}", names(&not_done, &name_of));
    };

    // FIRST_COMPLETED: returns as soon as one is done (the quick one).
    show(
        "wait(FIRST_COMPLETED, timeout 10 s)",
        wait(
            &all,
            Some(Duration::from_secs(10)),
            ReturnWhen::FirstCompleted,
        ),
    );

    // ALL_COMPLETED with a short timeout: a and b are still held back, so
    // it returns when the timeout passes. A timeout is not an error.
    let start = Instant::now();
    let pair = wait(
        &all,
        Some(Duration::from_millis(200)),
        ReturnWhen::AllCompleted,
    );
    let waited = start.elapsed();
    show("wait(ALL_COMPLETED, timeout 200 ms)", pair);
    println!(
        "  returned after the timeout: {}",
        waited >= Duration::from_millis(200)
    );

    // FIRST_EXCEPTION: b is let go and fails; a is still held back.
    release_b.send(true)?;
    show(
        "wait(FIRST_EXCEPTION, timeout 10 s), b let go to fail",
        wait(
            &all,
            Some(Duration::from_secs(10)),
            ReturnWhen::FirstException,
        ),
    );

    // ALL_COMPLETED, no timeout: a is let go, everything ends.
    release_a.send(())?;
    show(
        "wait(ALL_COMPLETED, no timeout), a let go",
        wait(&all, None, ReturnWhen::AllCompleted),
    );

    for f in &all {
        match f.result() {
            Ok(v) => println!("{}: {v}", name_of[&f.id()]),
            Err(e) => println!("{}: error: {e}", name_of[&f.id()]),
        }
    }
    Ok(())
}
