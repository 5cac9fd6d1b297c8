//! `join_at_exit` in a whole process: registered executors are joined when
//! the process exits, newest first, and a `fork`ed child that exits joins
//! nothing of its parent's. Each case runs an `#[ignore]`d child test in a
//! fresh process and reads what it recorded.

use concur_core::{JoinAtExit, join_at_exit};
use concur_testkit::run_child;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Records "joined <name> by <pid>" when the exit hook joins it.
struct Recorder {
    name: &'static str,
    out: PathBuf,
}

impl JoinAtExit for Recorder {
    fn join_at_exit(&self) {
        append(
            &self.out,
            &format!("joined {} by {}", self.name, std::process::id()),
        );
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

fn out_file(case: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("concur-core-exit-{case}-{}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn read(path: &Path) -> Vec<String> {
    let got = std::fs::read_to_string(path).unwrap_or_default();
    let _ = std::fs::remove_file(path);
    got.lines().map(str::to_owned).collect()
}

fn register(name: &'static str) -> Arc<Recorder> {
    let out = PathBuf::from(std::env::var_os("CONCUR_EXIT_OUT").expect("run by its parent"));
    let r = Arc::new(Recorder { name, out });
    let weak = Arc::downgrade(&r);
    join_at_exit(weak);
    r
}

#[test]
#[ignore = "run in a child process by live_executors_are_joined_at_exit_newest_first"]
fn child_registers_three_and_drops_one() {
    let older = register("older");
    let dropped = register("dropped");
    let newer = register("newer");
    drop(dropped);
    // Kept alive until exit, as a `static` pool is.
    std::mem::forget((older, newer));
}

#[test]
fn live_executors_are_joined_at_exit_newest_first() {
    let out = out_file("order");
    let run = run_child(
        "child_registers_three_and_drops_one",
        &[("CONCUR_EXIT_OUT", out.as_os_str())],
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let got: Vec<String> = read(&out)
        .into_iter()
        .map(|l| l.split(" by ").next().unwrap().to_owned())
        .collect();
    assert_eq!(got, ["joined newer", "joined older"]);
}

#[test]
#[ignore = "run in a child process by a_forked_child_that_exits_joins_nothing_of_its_parents"]
fn child_forks_and_the_fork_exits() {
    let r = register("parent's");
    // SAFETY: the fork only calls `exit`, whose handlers take only the
    // exit registry's lock, which no thread holds now (this test
    // registered before forking; nothing else registers in this process).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: plain `exit` in the child: runs the atexit handlers.
        unsafe { libc::exit(5) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid out-pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert_eq!(libc::WEXITSTATUS(status), 5);
    std::mem::forget(r);
}

#[test]
fn a_forked_child_that_exits_joins_nothing_of_its_parents() {
    let out = out_file("fork");
    let run = run_child(
        "child_forks_and_the_fork_exits",
        &[("CONCUR_EXIT_OUT", out.as_os_str())],
        LIMIT,
    );
    assert!(run.status.success(), "{run:?}");
    let got = read(&out);
    // Only the process that registered joined, once.
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("joined parent's by "), "{got:?}");
}
