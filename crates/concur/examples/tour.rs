//! A walk through concur, printing what happens at each step.
//!
//! Run with `cargo run --release --example tour`.

use concur::{Error, ErrorKind, Executor, Job, Promise, State, SubmitError, Watcher};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A deliberately tiny executor: one new thread per job. The real ones live
/// in `concur::thread` and `concur::process`.
struct ThreadPerTask;

impl Executor for ThreadPerTask {
    fn execute(&self, job: Job) -> Result<(), SubmitError<Job>> {
        thread::spawn(move || job.run());
        Ok(())
    }
    fn shutdown(&self, _wait: bool, _cancel_futures: bool) {}
}

fn section(title: &str) {
    println!("\n== {title}");
}

fn main() -> Result<(), Error> {
    let tour_start = Instant::now();

    section("1. a future is a handle to a result that does not exist yet");
    let (promise, fut) = Promise::new();
    println!("created:        {fut:?}");
    promise.set_running_or_notify_cancel()?;
    println!("running:        {fut:?}");
    let worker = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        promise.set_result(6u64 * 7)
    });
    let t = Instant::now();
    let value = *fut.result()?;
    println!("result() blocked {:?} and got {value}", t.elapsed());
    println!("finished:       {fut:?}");
    worker.join().expect("worker thread")?;
    assert_eq!(fut.state(), State::Finished);

    section("2. done-callbacks run once, in registration order");
    let (promise, fut) = Promise::<&str>::new();
    let (tx, rx) = mpsc::channel();
    for i in 1..=3 {
        let tx = tx.clone();
        fut.add_done_callback(move |f| {
            let _ = tx.send(format!("callback {i} saw {:?}", f.result()));
        });
    }
    promise.set_result("hello")?;
    drop(tx);
    for line in rx {
        println!("{line}");
    }

    section("3. errors propagate: a panic and a returned error land in the future");
    let panicking = ThreadPerTask
        .submit(|| -> u32 { panic!("division by zero") })
        .map_err(Error::from)?;
    let err = panicking.result().unwrap_err();
    println!(
        "panic:  {err} (kind {:?}, payload {:?})",
        err.kind(),
        err.panic_payload_type()
    );
    let parsing = ThreadPerTask
        .submit_fallible(|| "forty-two".parse::<u32>())
        .map_err(Error::from)?;
    let err = parsing.result().unwrap_err();
    let original: &std::num::ParseIntError = err.downcast_ref().expect("original error type");
    println!("error:  {err} (downcast back to ParseIntError: {original:?})");

    section("4. timeouts are errors, never panics");
    let (promise, fut) = Promise::<u8>::new();
    let err = fut.result_timeout(Duration::from_millis(20)).unwrap_err();
    println!(
        "result_timeout(20 ms): {err} (is_timeout = {})",
        err.is_timeout()
    );
    drop(promise);
    println!("promise dropped uncompleted: {}", fut.result().unwrap_err());

    section("5. cancel works only before the task starts");
    let (promise, fut) = Promise::<u8>::new();
    println!("cancel pending future: {}", fut.cancel());
    println!(
        "executor then asks to start it: {:?}",
        promise.set_running_or_notify_cancel()
    );
    println!("result: {}", fut.result().unwrap_err());
    let (promise, fut) = Promise::<u8>::new();
    promise.set_running_or_notify_cancel()?;
    println!(
        "cancel running future: {} (state {})",
        fut.cancel(),
        fut.state()
    );
    promise.set_result(1)?;

    section("6. as_completed order: waiting on many futures at once");
    let futs: Vec<_> = [300u64, 100, 200]
        .into_iter()
        .map(|ms| {
            ThreadPerTask
                .submit(move || {
                    thread::sleep(Duration::from_millis(ms));
                    ms
                })
                .map_err(Error::from)
        })
        .collect::<Result<_, _>>()?;
    let mut watcher = Watcher::new();
    for f in &futs {
        watcher.watch(f.erase());
    }
    let t = Instant::now();
    while let Some((i, _)) = watcher.next_until(None)? {
        println!(
            "  +{:>4} ms  task {i} ({} ms) done",
            t.elapsed().as_millis(),
            futs[i].result()?
        );
    }
    println!(
        "in submission order (map order): {:?}",
        futs.iter()
            .map(|f| *f.result().unwrap())
            .collect::<Vec<_>>()
    );

    section("7. futures are awaitable under any async runtime");
    let fut = ThreadPerTask
        .submit(|| "from a thread")
        .map_err(Error::from)?;
    let got = futures::executor::block_on(async { fut.await })?;
    println!("awaited: {got}");

    section("8. a second completion is refused; the first outcome stays");
    let (promise, fut) = Promise::new();
    promise.set_result(1)?;
    let err = promise.set_result(2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    println!("{err}; result is still {}", fut.result()?);

    println!("\ntour finished in {:?}", tour_start.elapsed());
    Ok(())
}
