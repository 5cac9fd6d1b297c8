//! A binary whose `main` has no `concur_process::init()` and does
//! something with a side effect (appends its pid to a file) before it
//! builds process pools: the pre-`main` hook diverts the workers, so the
//! side effect happens once, and the pools work. `harness = false`: this
//! is an ordinary `main`, as a user's program.
//!
//! Were the workers not diverted, each would run `main`, append its own
//! pid, and reach a pool's `build` (refused in a worker, which makes the
//! parent's `build` fail).

use concur_core::TaskExecutor;
use concur_process::{ProcessPool, StartMethod};
use concur_testkit::procfs::{assert_no_children, open_fds};
use std::io::Write;
use std::time::{Duration, SystemTime};

/// The side-effect file (set by the first run of `main`, inherited by the
/// workers).
const LOG: &str = "CONCUR_GUARD_NO_INIT_LOG";

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn worker_pid() -> u32 { std::process::id() }
}

fn main() {
    let path = match std::env::var_os(LOG) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            let p = std::env::temp_dir().join(format!(
                "concur-guard-no-init-{}-{nanos}.log",
                std::process::id()
            ));
            // SAFETY: no other thread exists yet.
            unsafe { std::env::set_var(LOG, &p) };
            p
        }
    };
    // The side effect before any pool.
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .unwrap()
        .write_all(format!("{}\n", std::process::id()).as_bytes())
        .unwrap();
    println!("\nrunning 2 tests");
    // The zygote's two descriptors are the program's, kept for its life.
    concur_process::start_fork_server().unwrap();
    let fds = open_fds();
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let pool = ProcessPool::builder()
            .start_method(method)
            .max_workers(2)
            .build()
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        let squares: Vec<u64> = pool
            .submit_batch(square, (0..10).collect())
            .unwrap()
            .into_iter()
            .map(|f| f.result_timeout(Duration::from_secs(60)).copied().unwrap())
            .collect();
        assert_eq!(squares, (0..10u64).map(|x| x * x).collect::<Vec<_>>());
        let pid = pool
            .submit_task(worker_pid, ())
            .unwrap()
            .into_result()
            .unwrap();
        assert_ne!(pid, std::process::id());
        drop(pool);
        assert_no_children();
        assert_eq!(open_fds(), fds, "descriptors leaked");
        let name = format!("{method:?}").to_lowercase();
        println!("test {name}::pool_without_init ... ok");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(
        text,
        format!("{}\n", std::process::id()),
        "the side effect before the pools ran more than once"
    );
    println!("\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n");
}
