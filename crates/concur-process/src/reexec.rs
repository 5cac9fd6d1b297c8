//! Starting a fresh copy of this binary in one of the pool's roles (a
//! spawned worker, or the fork server) with one socket end to talk on:
//! the one re-exec sequence both start methods share (token in the
//! environment, the descriptor kept open across `exec`, death with the
//! parent, a pidfd to watch the copy).

use crate::sys;
use crate::token::{Token, WORKER_ENV};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// Re-executes `exe` as `role` (a `Token` constructor),
/// handing it `theirs` (a close-on-exec socket end, kept open across the
/// `exec` in the child only and closed here once the copy runs). Returns
/// the copy's pid and a pidfd for it; on a pidfd failure the copy is
/// killed and reaped.
pub(crate) fn reexec(
    exe: &Path,
    role: fn(RawFd) -> Token,
    theirs: OwnedFd,
    die_with_parent: bool,
) -> io::Result<(i32, OwnedFd)> {
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(exe);
    cmd.env(WORKER_ENV, role(fd).to_string())
        .stdin(Stdio::null());
    // SAFETY: the closure only calls async-signal-safe functions (fcntl,
    // prctl) in the forked child before exec.
    unsafe {
        cmd.pre_exec(move || {
            sys::clear_cloexec(fd)?;
            // Die with the pool's process rather than linger as an orphan
            // (the signal comes when the *thread* that started it ends: the
            // zygote, started by any thread, watches its socket instead).
            if die_with_parent {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    drop(theirs);
    let pid = child.id() as i32;
    drop(child);
    match sys::pidfd_open(pid) {
        Ok(pidfd) => Ok((pid, pidfd)),
        Err(e) => {
            sys::kill(pid, libc::SIGKILL);
            let _ = sys::reap(pid);
            Err(e)
        }
    }
}
