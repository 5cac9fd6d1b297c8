//! Shared test helpers: a runner that executes one async test body under
//! every supported runtime, and a gate that holds a worker (the thread-pool
//! executor comes from `concur-testkit`).

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

/// The runtimes every async test runs under.
pub const RUNTIMES: [&str; 4] = [
    "tokio-current-thread",
    "tokio-multi-thread",
    "async-executor",
    "futures-block-on",
];

/// Runs the body `make()` builds under each runtime in [`RUNTIMES`]. Under
/// tokio multi-thread and async-executor the body runs as a spawned task on
/// a worker thread, not on the test thread.
pub fn on_each_runtime<F, Fut>(make: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    for name in RUNTIMES {
        eprintln!("--- runtime: {name}");
        run_on(name, make());
    }
}

/// Runs `body` on the named runtime.
pub fn run_on<Fut>(name: &str, body: Fut)
where
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    match name {
        "tokio-current-thread" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(body),
        "tokio-multi-thread" => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let handle = rt.spawn(body);
            if let Err(e) = rt.block_on(handle) {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        "async-executor" => {
            let ex = Arc::new(async_executor::Executor::new());
            let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
            let driver = {
                let ex = ex.clone();
                std::thread::spawn(move || {
                    futures_lite::future::block_on(ex.run(stop_rx.recv())).ok();
                })
            };
            let task = ex.spawn(body);
            smol::block_on(ex.run(task));
            drop(stop_tx);
            driver.join().unwrap();
        }
        "futures-block-on" => futures::executor::block_on(body),
        other => panic!("unknown runtime {other}"),
    }
}

/// A task that blocks a worker until released, so later tasks stay queued.
pub struct Gate {
    started: std::sync::Barrier,
    release: std::sync::Barrier,
}

impl Gate {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: std::sync::Barrier::new(2),
            release: std::sync::Barrier::new(2),
        })
    }

    /// Run on the worker: signals it started, then waits for `release`.
    pub fn hold(&self) {
        self.started.wait();
        self.release.wait();
    }

    /// Waits until the worker is inside `hold`.
    pub fn wait_started(&self) {
        self.started.wait();
    }

    pub fn release(&self) {
        self.release.wait();
    }
}
