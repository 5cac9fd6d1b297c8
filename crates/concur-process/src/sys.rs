//! Thin, safe wrappers over the Linux syscalls the pool needs. Every
//! descriptor is created close-on-exec.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// A connected `AF_UNIX` stream pair, both ends close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: the kernel just returned two fresh descriptors that we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes all of `bytes`, retrying on `EINTR`; never raises `SIGPIPE`.
pub(crate) fn send_all(fd: &impl AsRawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: the pointer/length pair comes from a live slice.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// A pidfd for our (unreaped) child `pid`: readable once it exits.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor (close-on-exec by default) that we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Sends `sig` to `pid` (only ever one of our unreaped children).
pub(crate) fn kill(pid: i32, sig: libc::c_int) {
    // SAFETY: plain syscall; the pid is our child and not yet reaped, so it
    // cannot have been reused.
    unsafe { libc::kill(pid, sig) };
}

/// Sends `sig` through a pidfd: never hits a reused pid.
pub(crate) fn pidfd_kill(pidfd: &impl AsRawFd, sig: libc::c_int) {
    // SAFETY: plain syscall with a live descriptor and a null siginfo.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
}

/// How a process ended.
///
/// # Examples
///
/// ```
/// use concur_process::ExitCause;
/// assert_eq!(ExitCause::Code(99).to_string(), "exited with code 99");
/// assert_eq!(ExitCause::Signal(11).to_string(), "killed by signal 11 (SIGSEGV)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitCause {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
    /// A worker forked by a fork server that died first: the only process
    /// that could read its exit status is gone (it is usually `SIGKILL`,
    /// sent when the server died).
    ForkServerLost,
    /// The status could not be read (someone else reaped the process).
    Unknown,
}

impl ExitCause {
    /// The signal's name, for a signal death.
    pub(crate) fn signal_name(sig: i32) -> &'static str {
        match sig {
            libc::SIGKILL => "SIGKILL",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGABRT => "SIGABRT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGBUS => "SIGBUS",
            libc::SIGILL => "SIGILL",
            libc::SIGFPE => "SIGFPE",
            libc::SIGINT => "SIGINT",
            libc::SIGPIPE => "SIGPIPE",
            _ => "signal",
        }
    }
}

impl std::fmt::Display for ExitCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Self::Code(c) => write!(f, "exited with code {c}"),
            Self::Signal(s) => write!(f, "killed by signal {s} ({})", Self::signal_name(s)),
            Self::ForkServerLost => f.write_str(
                "ended after its fork server died (its exit status was lost with the server)",
            ),
            Self::Unknown => f.write_str("ended with an exit status that could not be read"),
        }
    }
}

/// Reaps our child `pid`, which has exited (its pidfd is readable).
pub(crate) fn reap(pid: i32) -> io::Result<ExitCause> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out-pointer; `pid` is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        break;
    }
    Ok(ExitCause::from_wait_status(status))
}

impl ExitCause {
    /// Decodes a raw `waitpid` status.
    pub(crate) fn from_wait_status(status: libc::c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            Self::Signal(libc::WTERMSIG(status))
        } else {
            Self::Code(libc::WEXITSTATUS(status))
        }
    }
}

/// A connected `AF_UNIX` sequenced-packet pair (message boundaries kept),
/// both ends close-on-exec.
pub(crate) fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: the kernel just returned two fresh descriptors that we own.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Polls `fds` for up to `timeout_ms` (-1: forever). Retries on `EINTR`
/// by returning 0 ready descriptors.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: the pointer/length pair comes from a live slice of pollfds.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(r as usize)
}

/// How long a worker keeps looking for its next request after sending a
/// reply, before it blocks in `read`. Waking a blocked process on another
/// core costs ~25 µs on the 2-core VMs this was tuned on (a raw pipe
/// ping-pong across cores: ~58 µs), so a round trip that finds the worker
/// still looking pays no wake-up for it. Looking is `poll(0)` then
/// `sched_yield`, so a looking worker hands its core to whoever needs it
/// (pure spinning starved the caller and the dispatcher: 170 µs round
/// trips).
pub(crate) const SPIN: std::time::Duration = std::time::Duration::from_micros(150);

/// Polls `fd` for input without blocking, yielding the CPU between tries,
/// until it is readable or [`SPIN`] has passed; the caller then blocks in
/// `read` as usual.
pub(crate) fn spin_until_readable(fd: RawFd) {
    let mut fds = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    let now = std::time::Instant::now();
    let until = now.checked_add(SPIN).unwrap_or(now);
    // Stops early when readable, or on an error (which the `read` reports).
    while matches!(poll(&mut fds, 0), Ok(0)) && std::time::Instant::now() < until {
        std::thread::yield_now();
    }
}

/// Whether the socket `fd` is quiet: nothing to read and the peer still
/// there (in shared-memory mode nothing travels on a worker's socket, so
/// anything readable is the peer's end of stream, or a protocol breach).
pub(crate) fn quiet(fd: RawFd) -> bool {
    let mut fds = [libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }];
    matches!(poll(&mut fds, 0), Ok(0))
}

/// Whether bytes wait on socket `fd` (not its end of stream, not an
/// error), without taking them.
pub(crate) fn has_bytes(fd: RawFd) -> bool {
    let mut b = 0u8;
    // SAFETY: a one-byte peek into a live byte.
    let n = unsafe {
        libc::recv(
            fd,
            (&raw mut b).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    n > 0
}

/// A non-blocking, close-on-exec eventfd.
pub(crate) fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with flag arguments.
    let fd = cvt(unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) })?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `fd` readable.
pub(crate) fn eventfd_signal(fd: &impl AsRawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64. A full counter (EAGAIN) is
    // already readable, which is all we need.
    unsafe { libc::write(fd.as_raw_fd(), (&raw const one).cast(), 8) };
}

/// Resets `fd` to not readable.
pub(crate) fn eventfd_drain(fd: &impl AsRawFd) {
    let mut v: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64; EAGAIN when already drained.
    unsafe { libc::read(fd.as_raw_fd(), (&raw mut v).cast(), 8) };
}

/// Clears close-on-exec on `fd` (in a freshly forked child, before exec).
pub(crate) fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor number; async-signal-safe.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) }).map(drop)
}

/// Sets close-on-exec on `fd`.
pub(crate) fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor number.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

/// A [`Read`](std::io::Read) of whatever a socket has available, never
/// blocking (`MSG_DONTWAIT`): `WouldBlock` when it has nothing.
pub(crate) struct DontWait<'a>(pub(crate) &'a OwnedFd);

impl std::io::Read for DontWait<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: the pointer/length pair comes from a live, writable slice.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}
