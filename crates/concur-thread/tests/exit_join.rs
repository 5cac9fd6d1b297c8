//! A pool in a `static` is never dropped: its work must still finish when
//! the process exits, as CPython's exit hook makes it (concur_core's
//! `join_at_exit`). Each case runs an `#[ignore]`d child test in a fresh
//! process and checks what that process did before it exited.

use concur_core::Executor;
use concur_testkit::run_child;
use concur_thread::ThreadPool;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

static POOL: LazyLock<ThreadPool> = LazyLock::new(|| ThreadPool::new(2).unwrap());

const LIMIT: Duration = Duration::from_secs(60);

fn out_file(case: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("concur-exit-{case}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn append(path: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    // One write per line: O_APPEND makes each one atomic, so lines from
    // concurrent tasks never interleave (writeln! may issue two writes).
    f.write_all(format!("{line}\n").as_bytes()).unwrap();
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn out_env() -> PathBuf {
    PathBuf::from(std::env::var_os("CONCUR_EXIT_OUT").expect("run by its parent test"))
}

#[test]
#[ignore = "run in a child process by queued_and_running_work_of_a_static_pool_finishes_at_exit"]
fn child_static_pool_returns_with_work_queued() {
    let out = out_env();
    let gate = std::sync::Arc::new(concur_testkit::Event::new());
    for i in 0..6 {
        let (out, gate) = (out.clone(), gate.clone());
        // Two run at once, four wait in the queue when the test returns.
        let _ = POOL.submit(move || {
            gate.wait();
            std::thread::sleep(Duration::from_millis(100));
            append(&out, &format!("task {i}"));
        });
    }
    append(&out, "returned");
    gate.set();
}

#[test]
fn queued_and_running_work_of_a_static_pool_finishes_at_exit() {
    let out = out_file("static");
    let run = run_child(
        "child_static_pool_returns_with_work_queued",
        &[("CONCUR_EXIT_OUT", out.as_os_str())],
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let got = lines(&out);
    let _ = std::fs::remove_file(&out);
    // The test returned before any task finished, and every task finished
    // before the process exited.
    assert_eq!(got.first().map(String::as_str), Some("returned"), "{got:?}");
    let mut tasks: Vec<_> = got[1..].to_vec();
    tasks.sort();
    let want: Vec<_> = (0..6).map(|i| format!("task {i}")).collect();
    assert_eq!(tasks, want);
}

#[test]
#[ignore = "run in a child process by a task_calling_exit_does_not_deadlock_the_exit_hook"]
fn child_task_calls_exit() {
    let started = POOL.submit(|| std::process::exit(7)).unwrap();
    // Keep the other worker busy too, so exit joins a running task.
    let _ = POOL
        .submit(|| std::thread::sleep(Duration::from_millis(200)))
        .unwrap();
    let _ = started.result();
    // Not reached: the task exits the process meanwhile.
    std::thread::sleep(LIMIT);
}

#[test]
fn a_task_calling_exit_does_not_deadlock_the_exit_hook() {
    // The exiting worker is one of the pool's own: the hook joins the
    // others and skips it instead of waiting for itself.
    let run = run_child("child_task_calls_exit", &[], LIMIT);
    assert_eq!(run.status.code(), Some(7), "{run:?}");
}
