//! Running this test executable again as a child process, for what only a
//! whole process can show (what happens when it exits): [`run_child`].

use std::ffi::OsStr;
use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the `#[ignore]`d test `name` of the current test executable in a
/// child process (`--ignored --exact name --nocapture`), with `env` added
/// to its environment, and returns its output once it exits. The child is
/// killed (and the call panics) if it is still running after `limit`.
///
/// A case meant only to be run this way is `#[ignore]`d, so a plain
/// `cargo test` skips it.
///
/// # Panics
///
/// If the executable cannot be started, or the child outlives `limit`.
///
/// # Examples
///
/// ```no_run
/// # use std::time::Duration;
/// let out = concur_testkit::run_child("child_case", &[("OUT", "/tmp/x".as_ref())], Duration::from_secs(60));
/// assert!(out.status.success());
/// ```
pub fn run_child(name: &str, env: &[(&str, &OsStr)], limit: Duration) -> Output {
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start the test executable again");
    // Drain both pipes meanwhile, so a chatty child never blocks on them.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out.join().expect("the stdout reader");
    let stderr = err.join().expect("the stderr reader");
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{name} still ran after {limit:?}; stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}
