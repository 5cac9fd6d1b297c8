//! A process pool in a `static` is never dropped: its accepted work must
//! still finish, and its workers be reaped, when the process exits (as
//! CPython's exit hook does). `harness = false`: `main` re-runs this binary
//! as a child that fills a static pool and returns from `main` at once,
//! then checks what the child's workers did before it exited.

use concur_core::TaskExecutor;
use concur_process::{ProcessPool, StartMethod};
use concur_testkit::procfs::assert_no_children;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

concur_ipc::remote! {
    /// Waits for `<out>.go`, then appends "task <i> by <pid>" to `out`.
    fn record_when_told(out: String, i: u32) {
        let go = format!("{out}.go");
        let deadline = Instant::now() + LIMIT;
        while !Path::new(&go).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100));
        append(Path::new(&out), &format!("task {i} by {}", std::process::id()));
    }
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

fn method_from_env() -> StartMethod {
    match std::env::var("CONCUR_EXIT_METHOD").as_deref() {
        Ok("spawn") => StartMethod::Spawn,
        _ => StartMethod::ForkServer,
    }
}

static POOL: LazyLock<ProcessPool> = LazyLock::new(|| {
    ProcessPool::builder()
        .max_workers(2)
        .start_method(method_from_env())
        .build()
        .unwrap()
});

/// The child: two tasks running and four queued when `main` returns.
fn child(out: &str) {
    for i in 0..6 {
        let _ = POOL.submit_task(record_when_told, (out.to_owned(), i));
    }
    append(Path::new(out), "returned");
    std::fs::write(format!("{out}.go"), b"").unwrap();
}

fn case(method: &str) {
    let out = std::env::temp_dir().join(format!(
        "concur-process-exit-{method}-{}",
        std::process::id()
    ));
    let go = PathBuf::from(format!("{}.go", out.display()));
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&go);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("CONCUR_EXIT_CHILD", &out)
        .env("CONCUR_EXIT_METHOD", method)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "{method}: the child did not exit"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{method}: {status:?}");
    assert_no_children();
    let got: Vec<String> = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&go);
    assert_eq!(
        got.first().map(String::as_str),
        Some("returned"),
        "{method}: {got:?}"
    );
    let mut tasks: Vec<u32> = got[1..]
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    tasks.sort_unstable();
    assert_eq!(tasks, [0, 1, 2, 3, 4, 5], "{method}: {got:?}");
    // The child reaped its workers before it exited: none is left behind
    // (an orphan would be re-parented and outlive it).
    let pids: Vec<u32> = got[1..]
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty(),
            "{method}: worker {pid} outlived its pool: {stat}"
        );
    }
}

fn main() {
    concur_process::init();
    if let Some(out) = std::env::var_os("CONCUR_EXIT_CHILD") {
        child(out.to_str().unwrap());
        return;
    }
    println!("\nrunning 2 tests");
    for method in ["spawn", "forkserver"] {
        case(method);
        println!("test static_process_pool_finishes_at_exit ({method}) ... ok");
    }
    println!("\ntest result: ok. 2 passed; 0 failed");
}
