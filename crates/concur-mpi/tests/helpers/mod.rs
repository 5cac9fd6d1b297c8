//! What the `harness = false` MPI test drivers share: running a job under
//! `timeout`, and finding the ranks a job left behind.

#![allow(dead_code)] // each driver uses a subset

pub(crate) mod tasks;

use std::path::Path;
use std::process::Command;

/// A finished job: its exit code and output.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// Both streams, for a failure message.
    pub(crate) fn dump(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to its end.
pub(crate) fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("start the job");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `timeout` ends a hung job (TERM, then KILL 5 s later): a test that
/// hangs fails instead of holding up CI.
pub(crate) fn timed(limit_s: u32) -> Command {
    let mut c = Command::new("timeout");
    c.args(["-k", "5", &limit_s.to_string()]);
    c
}

/// `timed(limit_s)` running `mpirun` as root on a small machine with `n`
/// ranks (the program and its arguments still to add).
pub(crate) fn mpirun(limit_s: u32, n: u32) -> Command {
    let mut c = timed(limit_s);
    c.args(["mpirun", "--allow-run-as-root", "--oversubscribe", "-n"])
        .arg(n.to_string());
    c
}

/// Processes other than this one running `exe` (ranks left behind).
pub(crate) fn strays(exe: &Path) -> Vec<u32> {
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && std::fs::read_link(entry.path().join("exe")).is_ok_and(|p| p == exe) {
            out.push(pid);
        }
    }
    out
}

/// Counts a check: prints `name ... ok` or `... FAILED` (with `detail`).
pub(crate) struct Tally {
    pub(crate) passed: u32,
    pub(crate) failed: u32,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Self {
            passed: 0,
            failed: 0,
        }
    }

    pub(crate) fn check(&mut self, name: &str, ok: bool, detail: impl FnOnce() -> String) {
        if ok {
            println!("{name} ... ok");
            self.passed += 1;
        } else {
            println!("{name} ... FAILED");
            eprintln!("{name}:\n{}", detail());
            self.failed += 1;
        }
    }

    /// Prints the summary; exits 1 if anything failed.
    pub(crate) fn finish(self) {
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed > 0 {
            std::process::exit(1);
        }
    }
}

/// After a job: no process of `exes` is left, and no zombie child of the
/// driver (two checks named after `case`).
pub(crate) fn check_leftovers(tally: &mut Tally, case: &str, exes: &[&Path]) {
    let left: Vec<u32> = exes.iter().flat_map(|exe| strays(exe)).collect();
    tally.check(
        &format!("no stray ranks after {case}"),
        left.is_empty(),
        || format!("{left:?}"),
    );
    let kids = concur_testkit::procfs::children();
    tally.check(&format!("no zombie after {case}"), kids.is_empty(), || {
        format!("{kids:?}")
    });
}

/// The driver's open descriptors when it started, to compare at the end.
pub(crate) struct Descriptors(usize);

impl Descriptors {
    pub(crate) fn now() -> Self {
        Self(concur_testkit::procfs::open_fds())
    }

    /// Checks that as many descriptors are open as at `now`.
    pub(crate) fn check(self, tally: &mut Tally) {
        let (before, now) = (self.0, concur_testkit::procfs::open_fds());
        tally.check("no descriptor leaked by the driver", now == before, || {
            format!("{before} open before, {now} after")
        });
    }
}
