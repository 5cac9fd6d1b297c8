//! Helpers for the process-pool test binaries: the start method of the
//! case being run, killing a worker and waiting for its replacement (the
//! process and descriptor checks come from `concur-testkit`).

// Each test binary uses a part of these.
#![allow(dead_code)]

use concur_process::{ProcessPool, StartMethod, WorkerDied};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest any single wait may take: a bug shows as a failure, not a
/// hang.
pub(crate) const LONG: Duration = Duration::from_secs(60);

/// 0: Spawn, 1: ForkServer — every case runs under both start methods.
pub(crate) static METHOD: AtomicU64 = AtomicU64::new(0);

/// A builder with the start method of the case being run.
pub(crate) fn builder() -> concur_process::Builder {
    let method = match METHOD.load(Ordering::SeqCst) {
        0 => StartMethod::Spawn,
        _ => StartMethod::ForkServer,
    };
    ProcessPool::builder().start_method(method)
}

/// A pool of `workers` with the start method of the case being run.
pub(crate) fn pool(workers: usize) -> ProcessPool {
    builder().max_workers(workers).build().unwrap()
}

/// The `WorkerDied` an error carries (panics if it carries none).
pub(crate) fn died(err: &concur_core::Error) -> WorkerDied {
    *err.downcast_ref::<WorkerDied>()
        .unwrap_or_else(|| panic!("not a WorkerDied: {err:?}"))
}

/// Sends `SIGKILL` to `pid`; whether it was delivered (the process existed).
///
/// The pid comes from `worker_pids()`, which the dispatcher clears right
/// after reaping: a pid reused in that window (microseconds) would be hit.
pub(crate) fn sigkill(pid: u32) -> bool {
    // SAFETY: plain kill(2) with integer arguments.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) == 0 }
}

/// Waits until `pool` has a worker whose pid is not in `old`, polling
/// without sleeping (a forked worker can finish its handshake within
/// 100 µs of its pid being published); returns it.
pub(crate) fn new_worker(pool: &ProcessPool, old: &[u32]) -> u32 {
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(p) = pool.worker_pids().into_iter().find(|p| !old.contains(p)) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no new worker within {LONG:?} (old: {old:?})"
        );
        std::hint::spin_loop();
    }
}

/// Waits until `pid` is no longer one of `pool`'s workers (it was reaped).
pub(crate) fn gone(pool: &ProcessPool, pid: u32) {
    let deadline = Instant::now() + LONG;
    while pool.worker_pids().contains(&pid) {
        assert!(Instant::now() < deadline, "worker {pid} never reaped");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// One case for [`run_cases`]: its name, the case, the start methods it
/// applies to.
pub(crate) type Case = (&'static str, fn(), &'static [u64]);

/// Both start methods (`METHOD` 0 and 1), for [`run_cases`].
pub(crate) const BOTH: &[u64] = &[0, 1];

/// The spawn start method only (the default one), for [`run_cases`].
pub(crate) const SPAWN_ONLY: &[u64] = &[0];

/// The fork-server start method only, for [`run_cases`].
pub(crate) const FORK_SERVER_ONLY: &[u64] = &[1];

/// Runs `cases` (name, case, the start methods it applies to: [`BOTH`] or
/// [`FORK_SERVER_ONLY`]) under each start method, libtest-style: names are `spawn::case` and
/// `forkserver::case`, CLI arguments not starting with `-` filter by
/// substring, a summary line is printed, and the process exits with 101 if
/// a case failed. `after` runs once every case passed (a final leak
/// check); `note` is added to the header and to a failure summary.
pub(crate) fn run_cases(cases: &[Case], note: &str, after: impl FnOnce()) {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let all: Vec<(String, u64, fn())> = ["spawn", "forkserver"]
        .iter()
        .enumerate()
        .flat_map(|(m, prefix)| {
            cases
                .iter()
                .filter(move |(_, _, methods)| methods.contains(&(m as u64)))
                .map(move |(name, f, _)| (format!("{prefix}::{name}"), m as u64, *f))
        })
        .collect();
    let selected: Vec<_> = all
        .iter()
        .filter(|(name, _, _)| {
            filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
        })
        .collect();
    println!("\nrunning {} tests{note}", selected.len());
    let start = Instant::now();
    let mut failed = Vec::new();
    for (name, method, case) in &selected {
        METHOD.store(*method, Ordering::SeqCst);
        let t = Instant::now();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(case)) {
            Ok(()) => println!("test {name} ... ok ({:.2?})", t.elapsed()),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name.as_str());
            }
        }
    }
    if failed.is_empty() {
        after();
    }
    let passed = selected.len() - failed.len();
    let filtered = all.len() - selected.len();
    let secs = start.elapsed().as_secs_f64();
    if failed.is_empty() {
        println!(
            "\ntest result: ok. {passed} passed; 0 failed; 0 ignored; 0 measured; {filtered} \
             filtered out; finished in {secs:.2}s\n"
        );
    } else {
        println!("\nfailures:\n    {}", failed.join("\n    "));
        println!(
            "\ntest result: FAILED. {passed} passed; {} failed; 0 ignored; 0 measured; \
             {filtered} filtered out; finished in {secs:.2}s{note}\n",
            failed.len()
        );
        std::process::exit(101);
    }
}
