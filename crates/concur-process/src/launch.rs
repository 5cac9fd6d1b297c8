//! Starting worker processes, by either start method, and reading how they
//! ended. For [`StartMethod::ForkServer`] it owns the pool's fork server
//! (forked by the process-wide zygote) and gets a new one when the last
//! one died (as CPython does on next use).

use crate::forkserver;
use crate::proc::Proc;
use crate::reexec::reexec;
use crate::start_method::StartMethod;
use crate::sys::{self, ExitCause};
use crate::token::Token;
use crate::zygote;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

/// Why a worker could not be launched.
#[derive(Debug)]
pub(crate) enum LaunchError {
    /// A transient failure (`EMFILE`, `EAGAIN`, a failed fork...): retried
    /// with backoff.
    Io(io::Error),
    /// The fork server could not be started.
    Server(forkserver::StartError),
}

impl LaunchError {
    /// The binary's copies do not divert into the worker loop (the copy
    /// said so, or stayed silent past the start timeout): retrying cannot
    /// help.
    pub(crate) fn is_final(&self) -> bool {
        matches!(
            self,
            Self::Server(
                forkserver::StartError::MissingInit { .. } | forkserver::StartError::Silent { .. }
            )
        )
    }
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "could not start a worker process: {e}"),
            Self::Server(e) => e.fmt(f),
        }
    }
}

/// Starts workers; owns the fork server.
#[derive(Debug)]
pub(crate) struct Launcher {
    exe: std::path::PathBuf,
    method: StartMethod,
    start_timeout: Option<Duration>,
    server: Option<forkserver::ForkServer>,
    /// Bumped each time a fork server is started: a worker records the
    /// epoch of the server that forked it.
    epoch: u64,
    /// Exit statuses a dead server reported before it died.
    orphans: HashMap<i32, ExitCause>,
}

impl Launcher {
    pub(crate) fn new(
        exe: std::path::PathBuf,
        method: StartMethod,
        start_timeout: Option<Duration>,
    ) -> Self {
        Self {
            exe,
            method,
            start_timeout,
            server: None,
            epoch: 0,
            orphans: HashMap::new(),
        }
    }

    /// Starts one worker.
    pub(crate) fn launch(&mut self) -> Result<Proc, LaunchError> {
        match self.method {
            StartMethod::ForkServer => self.fork(),
            _ => spawn(&self.exe).map_err(LaunchError::Io),
        }
    }

    fn fork(&mut self) -> Result<Proc, LaunchError> {
        if self.server.is_none() {
            let server =
                zygote::fork_server(&self.exe, self.start_timeout).map_err(LaunchError::Server)?;
            self.server = Some(server);
            self.epoch += 1;
        }
        let server = self.server.as_mut().expect("started above");
        let (parent, child) = sys::socketpair().map_err(LaunchError::Io)?;
        match server.fork_worker(child) {
            Ok((pid, pidfd)) => Ok(Proc::new(pid, Some(self.epoch), pidfd, parent)),
            // The server is fine; the fork failed (EAGAIN, ENOMEM).
            Err(None) => Err(LaunchError::Io(io::Error::other(
                "the fork server could not fork a worker",
            ))),
            Err(Some(e)) => {
                // The server is stuck or gone: start a new one next time.
                self.server_died();
                Err(LaunchError::Io(e))
            }
        }
    }

    /// The fork server's pidfd, to watch for its death.
    pub(crate) fn server_pidfd(&self) -> Option<RawFd> {
        self.server.as_ref().map(|s| s.pidfd.as_raw_fd())
    }

    /// The fork server died (or is stuck): reap it, keep what it reported,
    /// and start a new one on the next launch.
    pub(crate) fn server_died(&mut self) {
        if let Some(mut server) = self.server.take() {
            self.orphans.extend(server.take_statuses());
            sys::pidfd_kill(&server.pidfd, libc::SIGKILL);
            server.stop();
        }
    }

    /// How `p`, whose pidfd became readable, ended (reaping it if it is our
    /// child).
    pub(crate) fn exit_cause(&mut self, p: &Proc) -> ExitCause {
        match p.forked {
            None => sys::reap(p.pid).unwrap_or(ExitCause::Unknown),
            Some(epoch) => {
                if let Some(c) = self.orphans.remove(&p.pid) {
                    return c;
                }
                match &mut self.server {
                    Some(server) if epoch == self.epoch => match server.status_of(p.pid) {
                        Some(c) => c,
                        None => ExitCause::ForkServerLost,
                    },
                    _ => ExitCause::ForkServerLost,
                }
            }
        }
    }

    /// Stops the fork server, if any, and asks the zygote for the next
    /// pool's (see `zygote.rs`).
    pub(crate) fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
            zygote::ask_ahead();
        }
    }
}

/// Starts a worker by re-executing `exe` with the token of its socket end.
fn spawn(exe: &std::path::Path) -> io::Result<Proc> {
    let (parent, child) = sys::socketpair()?;
    let (pid, pidfd) = reexec(exe, Token::Spawn, child, true)?;
    Ok(Proc::new(pid, None, pidfd, parent))
}
