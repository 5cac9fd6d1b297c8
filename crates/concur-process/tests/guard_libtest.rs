//! Process pools inside plain libtest `#[test]` functions, with no
//! `concur_process::init()` anywhere: the pre-`main` hook diverts the
//! workers before libtest's `main`, so they never run the harness, this
//! file's other tests or their side effects.
//!
//! The driver (`siblings_run_once_while_pools_run`) runs this test binary
//! again with a filter and a log file: each selected test appends its name
//! and pid to the log. A worker that ran the harness would append lines of
//! its own (and its pool tests would fail, refused as nested pools).

// Named first, so that rustc links the fixture crate after concur-process
// (among crates that do not depend on each other, the link order follows
// the order their names are first resolved);
// `registration_linked_after_the_hook_reaches_the_worker` checks that it
// did.
use concur_late_registry as _;

use concur_core::TaskExecutor;
use concur_process::{ProcessPool, StartMethod};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

/// The log file the selected tests append to (set by the driver only).
const LOG: &str = "CONCUR_GUARD_TEST_LOG";

/// The tests the driver runs again.
const SELECTED: [&str; 3] = [
    "spawn_pool_in_a_test",
    "forkserver_pool_in_a_test",
    "sibling_side_effect",
];

const LONG: Duration = Duration::from_secs(60);

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn worker_pid() -> u32 { std::process::id() }
    /// Writes to a pipe whose read end is closed: what the write returned
    /// (a worker killed by `SIGPIPE` returns nothing).
    fn write_to_a_closed_pipe() -> String {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: closes the read end we just made and own.
        unsafe { libc::close(fds[0]) };
        // SAFETY: writes one byte from a live buffer to our write end.
        let n = unsafe { libc::write(fds[1], b"x".as_ptr().cast(), 1) };
        let err = std::io::Error::last_os_error();
        // SAFETY: closes the write end we own.
        unsafe { libc::close(fds[1]) };
        format!("{n} {:?}", err.kind())
    }
}

/// Appends `<test> <pid>` to the driver's log, when there is one.
fn log(test: &str) {
    let Some(path) = std::env::var_os(LOG) else {
        return;
    };
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    // One `write` per line (O_APPEND): lines from several processes never
    // interleave.
    f.write_all(format!("{test} {}\n", std::process::id()).as_bytes())
        .unwrap();
}

fn pool_in_a_test(method: StartMethod) {
    let pool = ProcessPool::builder()
        .start_method(method)
        .max_workers(2)
        .build()
        .unwrap();
    let squares: Vec<u64> = pool
        .submit_batch(square, (0..20).collect())
        .unwrap()
        .into_iter()
        .map(|f| f.result_timeout(LONG).copied().unwrap())
        .collect();
    assert_eq!(squares, (0..20u64).map(|x| x * x).collect::<Vec<_>>());
    let pid = pool
        .submit_task(worker_pid, ())
        .unwrap()
        .result_timeout(LONG)
        .copied()
        .unwrap();
    assert_ne!(pid, std::process::id(), "the task ran in this process");
}

#[test]
fn spawn_pool_in_a_test() {
    log("spawn_pool_in_a_test");
    pool_in_a_test(StartMethod::Spawn);
}

#[test]
fn forkserver_pool_in_a_test() {
    log("forkserver_pool_in_a_test");
    pool_in_a_test(StartMethod::ForkServer);
}

/// A test with nothing but a side effect: it must happen once per run of
/// the harness, never in a worker.
#[test]
fn sibling_side_effect() {
    log("sibling_side_effect");
}

/// A function registered in a crate linked after concur-process (so its
/// registration's constructor comes after the hook's in the init array)
/// is in a pre-`main`-diverted worker's registry, under both start methods.
#[test]
fn registration_linked_after_the_hook_reaches_the_worker() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let pool = ProcessPool::builder()
            .start_method(method)
            .max_workers(1)
            .build()
            .unwrap();
        let seen = pool
            .submit_task(concur_late_registry::late_registered, ())
            .unwrap()
            .result_timeout(LONG)
            .copied()
            .unwrap();
        // `Some(true)`: the fixture's constructor ran in the worker, called
        // by the hook after it. `Some(false)` would mean the fixture is no
        // longer linked after concur-process, and this test no longer
        // checks the constructor order.
        assert_eq!(seen, Some(true), "{method:?}");
    }
}

/// Before `main`, `SIGPIPE` is not ignored yet; the hook ignores it (as
/// Rust's runtime does for `main`), so a task writing to a closed pipe
/// gets `EPIPE`, in a spawned worker and in a forked one alike.
#[test]
fn a_task_writing_to_a_closed_pipe_gets_epipe() {
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let pool = ProcessPool::builder()
            .start_method(method)
            .max_workers(1)
            .build()
            .unwrap();
        let out = pool
            .submit_task(write_to_a_closed_pipe, ())
            .unwrap()
            .into_result();
        assert_eq!(
            out.as_deref().ok(),
            Some("-1 BrokenPipe"),
            "{method:?}: {out:?}"
        );
    }
}

/// `init()` is optional and harmless where the hook ran: called (twice)
/// in this process, it returns at once, and a pool built after it works.
#[test]
fn explicit_init_is_harmless() {
    concur_process::init();
    concur_process::init();
    assert!(!concur_process::is_worker_process());
    pool_in_a_test(StartMethod::Spawn);
}

#[test]
fn siblings_run_once_while_pools_run() {
    if std::env::var_os(LOG).is_some() {
        // This is the driver's re-run (or a worker that ran the harness,
        // which the log then shows): do not drive again.
        return;
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = std::env::temp_dir().join(format!(
        "concur-guard-libtest-{}-{nanos}.log",
        std::process::id()
    ));
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "--test-threads", "3"])
        .args(SELECTED)
        .env(LOG, &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let harness = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "the re-run failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    // Every selected test ran exactly once, in the harness's process.
    let mut runs: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for line in text.lines() {
        let (test, pid) = line.split_once(' ').expect("`<test> <pid>`");
        runs.entry(test).or_default().push(pid.parse().unwrap());
    }
    let expected: BTreeMap<&str, Vec<u32>> = SELECTED.iter().map(|t| (*t, vec![harness])).collect();
    assert_eq!(runs, expected, "log:\n{text}");
    // The harness itself ran once: workers share its stdout.
    assert_eq!(
        stdout.matches("running 3 tests").count(),
        1,
        "stdout:\n{stdout}"
    );
    assert!(
        stdout.contains("test result: ok. 3 passed"),
        "stdout:\n{stdout}"
    );
}
