//! The zygote: one process-wide, pre-started fork server of fork servers.
//!
//! A [`StartMethod::ForkServer`](crate::StartMethod::ForkServer) pool needs
//! its own fork server (whose death touches only its workers, and whose
//! exit records go to it alone). Re-executing the binary for each one cost
//! more than spawning the workers did (2.2 ms against 1.9 ms for 2
//! workers). So one fresh exec of the binary, the zygote, is started once
//! per program (by [`start_fork_server`], or by the first fork-server
//! pool) and kept, as CPython keeps its fork server; each pool asks it to
//! `fork` a server for that pool, which costs a fork instead of an exec.
//!
//! Protocol on a `SOCK_SEQPACKET` pair, in the records of
//! [`forkserver`](crate::forkserver):
//! * zygote → parent, first: `H` (its handshake), or `N` from a copy no
//!   guard diverted;
//! * parent → zygote: `b"S"` with the new server's control socket end
//!   (`SCM_RIGHTS`);
//! * zygote → parent: `P` with the new server's pid and a pidfd of it (pid
//!   0: `fork` failed).
//!
//! The new server then sends its own `H` on its control socket and serves
//! its pool as an exec-started one would.
//!
//! Each pool's server is asked for ahead of time: [`start_fork_server`]
//! sends the first `S` at once, and each fork-server pool sends the next
//! one's when it ends, so the zygote forks (and the server greets) while
//! nothing waits, and a pool only reads two queued records: a pool built
//! 5 ms after the last one ended started in 1.10-1.12 ms instead of
//! 1.20-1.40 (2 workers, A/B in the same minutes; pools built back to back
//! gain nothing: the zygote's fork then competes with the next pool's own
//! for the 2 CPUs). The parent holds one
//! descriptor for the spare (its end of the spare's control socket; the
//! answer with the pidfd waits in the zygote's socket); a spare no pool
//! takes exits with the program, its control socket closed. The zygote ignores `SIGCHLD`, so
//! the kernel reaps the servers it forked.
//!
//! Lifetimes: the zygote has no parent-death signal (Linux sends it when
//! the *thread* that started the child ends, and any thread may start the
//! zygote); it exits when its control socket closes, which happens when
//! this process exits or is killed. A pool's server exits when its pool's
//! control socket closes, and its workers die with it (their parent-death
//! signal). The zygote is named `concur-zygote` (`ps`, `/proc/PID/comm`);
//! the servers it forks are named `concur-spare` until a pool asks one
//! for a worker, when they take the program's name back.
//!
//! What a forked server inherits is the zygote's: the environment and
//! working directory of this process when the zygote started (as with
//! CPython's fork server).

use crate::error::BuildError;
use crate::forkserver::{self, ForkServer, RECORD, StartError, recv_with_fd, send_with_fd};
use crate::reexec::reexec;
use crate::sys;
use crate::token::Token;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The name the zygote gives itself (at most 15 bytes, the kernel's limit).
pub(crate) const NAME: &[u8] = b"concur-zygote";

/// The name of a fork server no pool used yet (the one asked for ahead of
/// time; see [`ask_ahead`]).
pub(crate) const SPARE: &[u8] = b"concur-spare";

/// How long the parent waits for the zygote to answer a request (it forks
/// at once: no answer means it is stuck or dead).
const ANSWER: Duration = Duration::from_secs(5);

/// The zygote, if one was started: a process-wide resource, one per
/// program, so a `static` (which the loom models of the dispatcher never
/// reach: it is used only while launching).
static ZYGOTE: Mutex<Option<Zygote>> = Mutex::new(None);

/// The parent's handle on the zygote.
#[derive(Debug)]
struct Zygote {
    pid: i32,
    pidfd: OwnedFd,
    ctl: OwnedFd,
    exe: PathBuf,
    /// Whether its handshake was read (a zygote started by
    /// [`start_fork_server`] is greeted at first use).
    greeted: bool,
    /// Our end of the control socket of the server asked for ahead of
    /// time (see [`Zygote::take`]); its `P` answer waits on `ctl`.
    spare: Option<OwnedFd>,
}

impl Zygote {
    fn spawn(exe: &Path) -> io::Result<Self> {
        let (ours, theirs) = sys::seqpacket_pair()?;
        let (pid, pidfd) = reexec(exe, Token::Zygote, theirs, false)?;
        Ok(Self {
            pid,
            pidfd,
            ctl: ours,
            exe: exe.to_path_buf(),
            greeted: false,
            spare: None,
        })
    }

    fn alive(&self) -> bool {
        let mut fds = [libc::pollfd {
            fd: self.pidfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        matches!(sys::poll(&mut fds, 0), Ok(0))
    }

    /// Kills (if need be) and reaps it.
    fn end(self) {
        sys::pidfd_kill(&self.pidfd, libc::SIGKILL);
        let _ = sys::reap(self.pid);
    }

    /// Asks for a fork server without waiting for the answer: the next
    /// [`take`](Self::take) reads it. Each pool's server is asked for
    /// ahead of time, so a pool only picks it up (it forked and greeted
    /// meanwhile): the zygote's fork left the path of a pool's start-up.
    /// The parent holds one descriptor for it (the answer, with the
    /// server's pidfd, waits in the socket).
    fn ask(&mut self) -> io::Result<()> {
        let (ours, theirs) = sys::seqpacket_pair()?;
        send_with_fd(self.ctl.as_raw_fd(), b"S", Some(theirs.as_raw_fd()))?;
        self.spare = Some(ours);
        Ok(())
    }

    /// A fork server (the one asked for ahead of time, or a new one): its
    /// pid, pidfd and control socket.
    fn take(&mut self, timeout: Option<Duration>) -> Result<(i32, OwnedFd, OwnedFd), StartError> {
        if !self.greeted {
            // Our child: reaped there if it ended (then it must not be
            // reaped again: see `fork_server`).
            forkserver::handshake(&self.ctl, &self.pidfd, self.pid, timeout, true)?;
            self.greeted = true;
        }
        if self.spare.is_none() {
            self.ask().map_err(StartError::Io)?;
        }
        let ours = self.spare.take().expect("asked above");
        let server = self.answer(ours)?;
        Ok(server)
    }

    /// Reads the zygote's answer to the request for the server whose
    /// control socket is `ours`.
    fn answer(&mut self, ours: OwnedFd) -> Result<(i32, OwnedFd, OwnedFd), StartError> {
        let now = Instant::now();
        let deadline = now.checked_add(ANSWER).unwrap_or(now);
        let mut buf = [0u8; 16];
        loop {
            let mut fds = [libc::pollfd {
                fd: self.ctl.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX);
            if sys::poll(&mut fds, ms).map_err(StartError::Io)? == 0 {
                if Instant::now() >= deadline {
                    return Err(StartError::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("the zygote did not answer within {ANSWER:?}"),
                    )));
                }
                continue;
            }
            let Some((n, fd)) =
                recv_with_fd(self.ctl.as_raw_fd(), &mut buf).map_err(StartError::Io)?
            else {
                return Err(StartError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the zygote exited",
                )));
            };
            let pid = i32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
            return match fd {
                Some(pidfd) if n >= RECORD && buf[0] == b'P' && pid > 0 => Ok((pid, pidfd, ours)),
                _ if n >= RECORD && buf[0] == b'P' => Err(StartError::Io(io::Error::other(
                    "the zygote could not fork a fork server",
                ))),
                _ => Err(StartError::Io(io::Error::other(
                    "the zygote sent a malformed record",
                ))),
            };
        }
    }
}

/// A fork server for one pool, forked by the zygote (started here if there
/// is none, or if the last one died or is stuck; tried twice), once its
/// handshake arrived (up to `timeout`).
pub(crate) fn fork_server(exe: &Path, timeout: Option<Duration>) -> Result<ForkServer, StartError> {
    let mut slot = ZYGOTE.lock().unwrap_or_else(PoisonError::into_inner);
    let mut last = None;
    for _ in 0..2 {
        let z = ensure(&mut slot, exe).map_err(StartError::Io)?;
        match z.take(timeout) {
            Ok((pid, pidfd, ctl)) => return ForkServer::forked(pid, pidfd, ctl, timeout),
            Err(e) => {
                let z = slot.take().expect("the zygote asked is in the slot");
                // One that ended before its handshake was reaped there.
                if !matches!(e, StartError::Exited { .. }) {
                    z.end();
                }
                // A copy that is no worker guard's (or ended at once): a
                // new one would do the same.
                if matches!(
                    e,
                    StartError::Exited { .. }
                        | StartError::MissingInit { .. }
                        | StartError::Silent { .. }
                ) {
                    return Err(e);
                }
                last = Some(e);
            }
        }
    }
    Err(last.expect("the loop ran"))
}

/// The zygote in `slot`, started if there is none, or replaced if it died
/// or runs another executable.
fn ensure<'a>(slot: &'a mut Option<Zygote>, exe: &Path) -> io::Result<&'a mut Zygote> {
    if let Some(z) = slot.take_if(|z| !z.alive() || z.exe != exe) {
        z.end();
    }
    if slot.is_none() {
        *slot = Some(Zygote::spawn(exe)?);
    }
    Ok(slot.as_mut().expect("set above"))
}

/// Starts the process-wide fork server now, in the background, so the
/// first [`StartMethod::ForkServer`](crate::StartMethod::ForkServer) pool
/// only asks it to fork (2 workers ready in well under a millisecond more
/// than their own start, instead of an extra `exec`): CPython's
/// `multiprocessing.forkserver.ensure_running`. Optional: the first
/// fork-server pool starts it otherwise. It is started once per program
/// and kept until the program exits (calling this again does nothing), as
/// a copy of this program named `concur-zygote`, with the environment and
/// working directory this process has now, which the workers of every
/// fork-server pool inherit.
///
/// Returns at once: the copy's handshake is read by the first pool that
/// uses it, which reports a copy that cannot serve (the binary diverts no
/// copies: see [`init`](crate::init)).
///
/// # Errors
///
/// The copy could not be started (`EMFILE`, `EAGAIN`, no executable), or
/// this process is itself a pool worker (see
/// [`BuildError::is_in_worker`]).
///
/// # Examples
///
/// ```
/// use concur_core::TaskExecutor;
/// use concur_process::{ProcessPool, StartMethod};
///
/// concur_ipc::remote! {
///     fn double(x: u64) -> u64 { x * 2 }
/// }
///
/// fn main() {
///     concur_process::start_fork_server().unwrap(); // at the top of main
///     concur_process::start_fork_server().unwrap(); // and again: no-op
///     let pool = ProcessPool::builder()
///         .start_method(StartMethod::ForkServer)
///         .max_workers(2)
///         .build()
///         .unwrap();
///     assert_eq!(pool.submit_task(double, 21).unwrap().into_result().unwrap(), 42);
/// }
/// ```
pub fn start_fork_server() -> Result<(), BuildError> {
    crate::builder::refuse_in_worker()?;
    let exe = std::env::current_exe().map_err(BuildError::io)?;
    let mut slot = ZYGOTE.lock().unwrap_or_else(PoisonError::into_inner);
    let z = ensure(&mut slot, &exe).map_err(BuildError::io)?;
    // The first pool's server, asked for now (answered once the zygote
    // runs).
    if z.spare.is_none() {
        z.ask().map_err(BuildError::io)?;
    }
    Ok(())
}

/// Asks the zygote, if one runs, for the next pool's server now (a pool
/// calls this when it ends: asked as a pool takes its server, the zygote's
/// fork competed with the pool's own worker forks for the 2 CPUs, and a
/// worker's fork took 0.3 ms instead of 0.15). Without one (EMFILE, say),
/// the next pool asks as it starts.
pub(crate) fn ask_ahead() {
    let mut slot = ZYGOTE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(z) = slot.as_mut().filter(|z| z.spare.is_none() && z.alive()) {
        let _ = z.ask();
    }
}

/// The zygote's pid, if one runs (for tests that kill it).
#[doc(hidden)]
pub fn zygote_pid() -> Option<u32> {
    let slot = ZYGOTE.lock().unwrap_or_else(PoisonError::into_inner);
    slot.as_ref().map(|z| z.pid as u32)
}

/// The zygote's loop (in the zygote process). Returns its exit code.
pub(crate) fn serve(ctl_fd: RawFd) -> i32 {
    if sys::set_cloexec(ctl_fd).is_err() {
        eprintln!("concur-process zygote: descriptor {ctl_fd} is not open");
        return crate::worker::EXIT_PROTOCOL;
    }
    // SAFETY: the parent passed us this descriptor for our exclusive use.
    let ctl = unsafe { OwnedFd::from_raw_fd(ctl_fd) };
    let mut name = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes into `name`; PR_SET_NAME
    // reads a NUL-terminated string of at most 16; SIG_IGN for SIGCHLD makes
    // the kernel reap our children (the servers), so none is left a zombie.
    unsafe {
        libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr());
        let mut ours = [0u8; 16];
        ours[..NAME.len()].copy_from_slice(NAME);
        libc::prctl(libc::PR_SET_NAME, ours.as_ptr());
        libc::signal(libc::SIGCHLD, libc::SIG_IGN);
    }
    let hello = forkserver::record(b'H', std::process::id() as i32, 0);
    if send_with_fd(ctl.as_raw_fd(), &hello, None).is_err() {
        return 0;
    }
    let mut buf = [0u8; 16];
    loop {
        let (n, fd) = match recv_with_fd(ctl.as_raw_fd(), &mut buf) {
            Ok(Some(m)) => m,
            // The parent closed the control socket (it exited): stop.
            Ok(None) | Err(_) => return 0,
        };
        let Some(server_fd) = fd.filter(|_| n == 1 && buf[0] == b'S') else {
            return crate::worker::EXIT_PROTOCOL;
        };
        // SAFETY: this process is single-threaded (a fresh exec diverted
        // before `main`), so the child can run normally.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                // SAFETY: as above; the server waits for its own children,
                // and is named a spare until a pool uses it (when it takes
                // the program's name back).
                unsafe {
                    libc::signal(libc::SIGCHLD, libc::SIG_DFL);
                    let mut spare = [0u8; 16];
                    spare[..SPARE.len()].copy_from_slice(SPARE);
                    libc::prctl(libc::PR_SET_NAME, spare.as_ptr());
                }
                drop(ctl);
                std::process::exit(forkserver::serve(server_fd.into_raw_fd(), Some(name)));
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                drop(server_fd);
                let pid = child.as_raw();
                let sent = match sys::pidfd_open(pid) {
                    Ok(pidfd) => send_with_fd(
                        ctl.as_raw_fd(),
                        &forkserver::record(b'P', pid, 0),
                        Some(pidfd.as_raw_fd()),
                    ),
                    // It cannot be watched: end it, and say the fork failed.
                    Err(_) => {
                        sys::kill(pid, libc::SIGKILL);
                        send_with_fd(ctl.as_raw_fd(), &forkserver::record(b'P', 0, 0), None)
                    }
                };
                if sent.is_err() {
                    return 0;
                }
            }
            Err(_) => {
                if send_with_fd(ctl.as_raw_fd(), &forkserver::record(b'P', 0, 0), None).is_err() {
                    return 0;
                }
            }
        }
    }
}
