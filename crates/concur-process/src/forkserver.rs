//! A pool's fork server: a single-threaded process (forked by the
//! [`zygote`](crate::zygote), a fresh exec of this binary diverted by the
//! worker guard) that forks workers on request, so starting or replacing a
//! worker costs a `fork` of a small process instead of an `exec`, and no
//! worker ever inherits a lock held by one of the pool's threads.
//!
//! Protocol on a `SOCK_SEQPACKET` pair (one message per record):
//! * server → pool, first: `Record { kind: b'H', pid }` (its handshake), or
//!   `Record { kind: b'N', pid }` from a copy of the binary that no guard
//!   diverted (see [`init`](crate::init)) and that reached a pool's `build`;
//! * pool → server: `b"F"` with the worker's socket end (`SCM_RIGHTS`);
//! * server → pool: `Record { kind: b'P', pid }` with a pidfd of the new
//!   worker (`SCM_RIGHTS`), and `Record { kind: b'X', pid, status }` when a
//!   worker exits (the server reaps its children and relays the raw
//!   `waitpid` status).
//!
//! The pool watches each worker through its pidfd and takes the exit status
//! from the `X` record. Closing the control socket stops the server.

use crate::error::init_hint;
use crate::passfd;
use crate::sys::{self, ExitCause};
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

pub(crate) const RECORD: usize = 12;

pub(crate) fn record(kind: u8, pid: i32, status: i32) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[0] = kind;
    r[4..8].copy_from_slice(&pid.to_le_bytes());
    r[8..12].copy_from_slice(&status.to_le_bytes());
    r
}

/// Sends one record with `fd` attached, if any (see [`passfd`]).
pub(crate) fn send_with_fd(sock: RawFd, bytes: &[u8], fd: Option<RawFd>) -> io::Result<()> {
    passfd::send_with_fds(sock, bytes, fd.as_slice()).map(drop)
}

/// Receives one message and the first descriptor that came with it;
/// `Ok(None)` at end of stream.
pub(crate) fn recv_with_fd(
    sock: RawFd,
    buf: &mut [u8],
) -> io::Result<Option<(usize, Option<OwnedFd>)>> {
    let (n, fds) = passfd::recv_with_fds(sock, buf, 1)?;
    Ok((n > 0).then(|| (n, fds.into_iter().next())))
}

/// The server's loop (in the fork-server process). Returns its exit code.
/// `name`: the program's name, taken back (from the zygote's spare name,
/// see `zygote.rs`) when a pool first asks for a worker.
pub(crate) fn serve(ctl_fd: RawFd, mut name: Option<[u8; 16]>) -> i32 {
    if sys::set_cloexec(ctl_fd).is_err() {
        eprintln!("concur-process fork server: descriptor {ctl_fd} is not open");
        return crate::worker::EXIT_PROTOCOL;
    }
    // SAFETY: the pool passed us this descriptor for our exclusive use.
    let ctl = unsafe { OwnedFd::from_raw_fd(ctl_fd) };
    let hello = record(b'H', std::process::id() as i32, 0);
    if send_with_fd(ctl.as_raw_fd(), &hello, None).is_err() {
        return 0;
    }
    let mut children: Vec<(i32, OwnedFd)> = Vec::new();
    let mut buf = [0u8; 16];
    loop {
        let mut fds: Vec<libc::pollfd> = std::iter::once(ctl.as_raw_fd())
            .chain(children.iter().map(|(_, p)| p.as_raw_fd()))
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if sys::poll(&mut fds, -1).is_err() {
            return crate::worker::EXIT_PROTOCOL;
        }
        // Reap exited workers and report them.
        let mut i = 0;
        let mut k = 1;
        while i < children.len() {
            if fds[k].revents != 0 {
                let (pid, _pidfd) = children.swap_remove(i);
                let mut status = 0;
                // SAFETY: waits for our own exited child.
                unsafe { libc::waitpid(pid, &mut status, 0) };
                if send_with_fd(ctl.as_raw_fd(), &record(b'X', pid, status), None).is_err() {
                    return 0;
                }
                // swap_remove moved the last child to `i`: its pollfd is the
                // last one, not checked yet. Re-poll handles it next round.
                break;
            }
            i += 1;
            k += 1;
        }
        if fds[0].revents == 0 {
            continue;
        }
        let (_, fd) = match recv_with_fd(ctl.as_raw_fd(), &mut buf) {
            Ok(Some(m)) => m,
            // The pool closed the control socket: stop. Remaining workers
            // see their own sockets close and exit; init reaps them.
            Ok(None) | Err(_) => return 0,
        };
        let Some(worker_fd) = fd else {
            return crate::worker::EXIT_PROTOCOL;
        };
        if let Some(name) = name.take() {
            // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most
            // 16 bytes.
            unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
        }
        // SAFETY: this process is single-threaded (a fresh exec diverted by
        // `init` at the top of `main`), so the child can run normally.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                // Die with the fork server (which dies with the pool).
                // SAFETY: plain prctl with integer arguments.
                unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
                drop(ctl);
                drop(children);
                let stream = std::os::unix::net::UnixStream::from(worker_fd);
                std::process::exit(crate::worker::serve(stream));
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                drop(worker_fd);
                let pid = child.as_raw();
                let pidfd = match sys::pidfd_open(pid) {
                    Ok(p) => p,
                    Err(_) => return crate::worker::EXIT_PROTOCOL,
                };
                let sent = send_with_fd(
                    ctl.as_raw_fd(),
                    &record(b'P', pid, 0),
                    Some(pidfd.as_raw_fd()),
                );
                children.push((pid, pidfd));
                if sent.is_err() {
                    return 0;
                }
            }
            Err(_) => {
                // Tell the pool: pid 0 means the fork failed.
                if send_with_fd(ctl.as_raw_fd(), &record(b'P', 0, 0), None).is_err() {
                    return 0;
                }
            }
        }
    }
}

/// Sent by a copy of the binary started as the zygote that no guard
/// diverted (see `guard::report_missing_init`).
pub(crate) fn report_missing_init(ctl_fd: RawFd) {
    let _ = send_with_fd(ctl_fd, &record(b'N', std::process::id() as i32, 0), None);
}

/// Why a fork server could not be started.
#[derive(Debug)]
pub(crate) enum StartError {
    /// Starting the process failed (`EMFILE`, `EAGAIN`, exec...).
    Io(io::Error),
    /// The copy said no worker guard diverted it (no pre-`main` hook, no
    /// `init()` in its `main`).
    MissingInit { pid: i32 },
    /// It ended before its handshake.
    Exited { pid: i32, cause: ExitCause },
    /// No handshake within the start timeout.
    Silent { pid: i32, waited: Duration },
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "could not start the fork server: {e}"),
            Self::MissingInit { pid } => write!(
                f,
                "the fork server process {pid} is a copy of this program whose `main` does not \
                 call the worker guard: {}",
                init_hint()
            ),
            Self::Exited { pid, cause } => write!(
                f,
                "the fork server process {pid} {cause} before completing its handshake: {}",
                init_hint()
            ),
            Self::Silent { pid, waited } => write!(
                f,
                "the fork server process {pid} did not complete its handshake within \
                 {waited:?}: {}",
                init_hint()
            ),
        }
    }
}

/// How long the pool waits for the fork server to answer a fork request
/// (it forks at once; no answer means it is stuck or dead).
const FORK_ANSWER: Duration = Duration::from_secs(5);

/// The pool's handle on its fork server (owned by the dispatcher).
#[derive(Debug)]
pub(crate) struct ForkServer {
    pub(crate) pid: i32,
    pub(crate) pidfd: OwnedFd,
    pub(crate) ctl: OwnedFd,
    statuses: HashMap<i32, ExitCause>,
}

impl ForkServer {
    /// A server the zygote forked (so the zygote reaps it, not us), once
    /// its handshake arrived (up to `timeout`).
    pub(crate) fn forked(
        pid: i32,
        pidfd: OwnedFd,
        ctl: OwnedFd,
        timeout: Option<Duration>,
    ) -> Result<Self, StartError> {
        Self {
            pid,
            pidfd,
            ctl,
            statuses: HashMap::new(),
        }
        .greeted(timeout)
    }

    /// Waits for the handshake; on any failure the server is stopped (a
    /// `SIGKILL` to one that already ended is harmless: the pidfd names it).
    fn greeted(self, timeout: Option<Duration>) -> Result<Self, StartError> {
        match handshake(&self.ctl, &self.pidfd, self.pid, timeout, false) {
            Ok(()) => Ok(self),
            Err(e) => {
                self.stop();
                Err(e)
            }
        }
    }

    fn handle(&mut self, buf: &[u8]) -> Option<i32> {
        let pid = i32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
        let status = i32::from_le_bytes(buf[8..12].try_into().expect("4 bytes"));
        match buf[0] {
            b'X' => {
                self.statuses
                    .insert(pid, ExitCause::from_wait_status(status));
                None
            }
            _ => Some(pid),
        }
    }

    /// Waits (until `deadline`) for one record; `Ok(None)` on timeout,
    /// `Ok(Some(None))` for an exit record (stored in `statuses`).
    #[allow(clippy::type_complexity)]
    fn next(&mut self, deadline: Instant) -> io::Result<Option<Option<(i32, Option<OwnedFd>)>>> {
        let mut buf = [0u8; 16];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut fds = [libc::pollfd {
                fd: self.ctl.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            if sys::poll(&mut fds, ms)? == 0 {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                continue;
            }
            let Some((n, fd)) = recv_with_fd(self.ctl.as_raw_fd(), &mut buf)? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the fork server exited",
                ));
            };
            if n < RECORD {
                return Err(io::Error::other("short record from the fork server"));
            }
            return Ok(Some(self.handle(&buf).map(|pid| (pid, fd))));
        }
    }

    /// Forks a worker serving on `worker_end`; returns its pid and pidfd.
    /// `Err(None)`: the server answered that `fork` failed (it is fine);
    /// `Err(Some(e))`: the server is unreachable, stuck or dead.
    pub(crate) fn fork_worker(
        &mut self,
        worker_end: OwnedFd,
    ) -> Result<(i32, OwnedFd), Option<io::Error>> {
        send_with_fd(self.ctl.as_raw_fd(), b"F", Some(worker_end.as_raw_fd())).map_err(Some)?;
        drop(worker_end);
        let now = Instant::now();
        let deadline = now.checked_add(FORK_ANSWER).unwrap_or(now);
        loop {
            return match self.next(deadline).map_err(Some)? {
                Some(None) => continue,
                Some(Some((pid, Some(pidfd)))) if pid > 0 => Ok((pid, pidfd)),
                Some(Some(_)) => Err(None),
                None => Err(Some(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the fork server did not answer a fork request within {FORK_ANSWER:?}"),
                ))),
            };
        }
    }

    /// The exit status of worker `pid` (whose pidfd became readable),
    /// waiting up to a second for the server's report; `None` if the
    /// server did not report it (it is dying or dead).
    pub(crate) fn status_of(&mut self, pid: i32) -> Option<ExitCause> {
        let now = Instant::now();
        let deadline = now.checked_add(Duration::from_secs(1)).unwrap_or(now);
        loop {
            if let Some(s) = self.statuses.remove(&pid) {
                return Some(s);
            }
            match self.next(deadline) {
                Ok(Some(_)) => {}
                _ => return None,
            }
        }
    }

    /// Exit statuses reported but not asked for yet (when the server died).
    pub(crate) fn take_statuses(&mut self) -> HashMap<i32, ExitCause> {
        std::mem::take(&mut self.statuses)
    }

    /// Stops the server at once: `SIGKILL` (it holds nothing: it is
    /// stopped when its workers are gone, or stuck), then closes the
    /// control socket. The zygote reaps it; nothing waits for that (it took
    /// a fifth of a pool's start-up time).
    pub(crate) fn stop(self) {
        sys::pidfd_kill(&self.pidfd, libc::SIGKILL);
    }
}

/// Waits (up to `timeout`, `None` for no limit) for the handshake record
/// a fork server or the zygote sends first on `ctl`, watching `pidfd` for
/// its death (reaped here when `ours`).
pub(crate) fn handshake(
    ctl: &OwnedFd,
    pidfd: &OwnedFd,
    pid: i32,
    timeout: Option<Duration>,
    ours: bool,
) -> Result<(), StartError> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut buf = [0u8; 16];
    loop {
        let mut fds = [
            libc::pollfd {
                fd: ctl.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = deadline.map_or(-1, |d| {
            let left = d.saturating_duration_since(Instant::now());
            i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
        });
        match sys::poll(&mut fds, ms) {
            Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => {
                return Err(StartError::Silent {
                    pid,
                    waited: timeout.unwrap_or_default(),
                });
            }
            Ok(0) => continue,
            Ok(_) => {}
            Err(e) => return Err(StartError::Io(e)),
        }
        if fds[0].revents != 0 {
            match recv_with_fd(ctl.as_raw_fd(), &mut buf) {
                Ok(Some((n, _))) if n >= RECORD && buf[0] == b'H' => return Ok(()),
                Ok(Some((n, _))) if n >= RECORD && buf[0] == b'N' => {
                    return Err(StartError::MissingInit { pid });
                }
                Ok(Some(_)) => {
                    return Err(StartError::Io(io::Error::other(
                        "the fork server sent a malformed handshake",
                    )));
                }
                // Closed: it is exiting; the pidfd tells how.
                Ok(None) | Err(_) => {}
            }
        }
        if fds[1].revents != 0 {
            let cause = if ours {
                sys::reap(pid).unwrap_or(ExitCause::Unknown)
            } else {
                ExitCause::Unknown
            };
            return Err(StartError::Exited { pid, cause });
        }
    }
}
