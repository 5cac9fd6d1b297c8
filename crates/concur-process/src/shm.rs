//! The shared-memory channel between the pool and one worker (issue 17):
//! two [`Ring`]s in memfds, one per direction, carrying the same frames
//! the socket would.
//!
//! * The pool creates them when a worker's `Hello` arrives and sends them
//!   with the `Init` request (`SCM_RIGHTS`: both segments and the pool's
//!   wake eventfd), then closes its copies of the segments' descriptors
//!   (the mappings stay): a pool holds no descriptor per ring.
//! * A worker that receives the three descriptors and can map both
//!   segments answers `Init` (`Ready` or `InitFailed`) over the reply
//!   ring, and everything after travels over the rings; one that cannot
//!   (short of descriptors, or given none) answers over the socket, and
//!   the socket stays its whole transport. Which channel the answer comes
//!   on tells the pool which mode the worker chose: no protocol change.
//! * The socket stays open either way: each side learns of the other's
//!   death from it (end of stream), as before. In ring mode the only
//!   frames on it are those with descriptors (a call or reply carrying
//!   [`SharedSlice`](concur_ipc::SharedSlice)s, sent with their memfds by
//!   `SCM_RIGHTS`); a worker has one task at a time, so such a frame never
//!   overtakes one on the ring. Bytes on it before the worker serves are a
//!   protocol violation.
//! * Doorbells: the worker sleeps on the request ring's futex after a
//!   yielding spin ([`sys::SPIN`]); the dispatcher sleeps in `poll`, so
//!   before it blocks it arms each reply ring and the worker rings it by
//!   making the pool's wake eventfd readable.
//!
//! The segments are untrusted like frames (see `ring.rs`); a dead worker's
//! segments are unmapped with its records, so nothing accumulates.

use crate::passfd;
use crate::ring::{Ring, RingError};
use crate::shared::Conn;
use crate::sys;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Data bytes per ring (each direction).
pub(crate) const RING_BYTES: usize = 1 << 20;

/// The segments' memfd names (as `/proc/<pid>/maps` shows them).
pub(crate) const REQUESTS: &std::ffi::CStr = c"concur-requests";
pub(crate) const REPLIES: &std::ffi::CStr = c"concur-replies";

/// Descriptors passed with `Init`: requests, replies, the wake eventfd.
const PASSED: usize = 3;

/// A worker's shared-memory state, as the dispatcher sees it.
#[derive(Debug, Default)]
pub(crate) enum Shm {
    /// The socket is the transport.
    #[default]
    Off,
    /// Rings made at launch, to be sent with `Init` (made while the
    /// worker starts, they cost its start-up nothing).
    Made(Offer),
    /// Rings were sent with `Init`; the worker's answer says whether it
    /// took them.
    Offered(Offer),
    /// The worker answered over the rings: this is the reply ring (the
    /// request ring is in its [`Conn`]).
    On(Ring),
    /// It serves over the rings, and its reply ring is at its desk (see
    /// `desk.rs`), from its `Ready` until it is reaped.
    Desk,
}

impl Shm {
    /// Whether the worker talks over shared memory (it answered over its
    /// reply ring).
    pub(crate) fn on(&self) -> bool {
        matches!(self, Self::On(_) | Self::Desk)
    }

    /// Whether the reply ring (offered or in use) holds bytes; a corrupt
    /// one counts: reading it reports the violation.
    pub(crate) fn has_replies(&self) -> bool {
        self.replies()
            .is_some_and(|r| !matches!(r.readable(), Ok(false)))
    }

    /// The reply ring to look at, offered or in use (not one at a desk).
    pub(crate) fn replies(&self) -> Option<&Ring> {
        match self {
            Self::Off | Self::Made(_) | Self::Desk => None,
            Self::Offered(o) => Some(&o.replies),
            Self::On(r) => Some(r),
        }
    }
}

/// The pool's ends of a new worker's rings.
#[derive(Debug)]
pub(crate) struct Offer {
    requests: Ring,
    replies: Ring,
}

impl Offer {
    /// Creates both segments.
    pub(crate) fn create() -> Result<Self, RingError> {
        Ok(Self {
            requests: Ring::create_named(RING_BYTES, REQUESTS)?,
            replies: Ring::create_named(RING_BYTES, REPLIES)?,
        })
    }

    /// Sends `init_frame` over `conn`'s socket with both segments and
    /// `wake` attached, then closes the pool's copies of the segments.
    pub(crate) fn send(
        &mut self,
        conn: &Conn,
        init_frame: &[u8],
        wake: &OwnedFd,
    ) -> io::Result<()> {
        let (Some(req), Some(rep)) = (self.requests.fd(), self.replies.fd()) else {
            return Err(io::Error::other("ring segments already sent"));
        };
        let fds = [req.as_raw_fd(), rep.as_raw_fd(), wake.as_raw_fd()];
        let sent = passfd::send_with_fds(conn.fd.as_raw_fd(), init_frame, &fds);
        self.requests.release_fd();
        self.replies.release_fd();
        let n = sent?;
        conn.send(&init_frame[n..])
    }

    /// The worker took the rings: its request ring goes to `conn`, the
    /// reply ring is returned for the dispatcher.
    pub(crate) fn accept(self, conn: &Conn) -> Ring {
        conn.use_ring(self.requests);
        self.replies
    }
}

/// A worker's socket as a [`Read`] that keeps the descriptors passed with
/// the data (the rings, with `Init`; a call's attachments); at most
/// [`passfd::MAX_FDS`] wait at a time, any more are closed.
#[derive(Debug)]
pub(crate) struct FdSocket {
    fd: RawFd,
    fds: Vec<OwnedFd>,
}

impl FdSocket {
    pub(crate) fn new(fd: RawFd) -> Self {
        Self {
            fd,
            fds: Vec::new(),
        }
    }

    /// The descriptors passed since the last call to this: a call's
    /// attachments.
    pub(crate) fn take_fds(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.fds)
    }

    /// The rings passed so far, mapped, if there are exactly the three
    /// descriptors and both segments map; `None` otherwise (the socket
    /// stays the transport). The descriptors are closed either way.
    pub(crate) fn take_rings(&mut self) -> Option<(Ring, Ring)> {
        let fds = std::mem::take(&mut self.fds);
        let [req, rep, wake]: [OwnedFd; PASSED] = fds.try_into().ok()?;
        let mut requests = Ring::open_segment(req).ok()?;
        let mut replies = Ring::open_segment(rep).ok()?;
        requests.release_fd();
        replies.release_fd();
        replies.ring_reader_through(wake);
        Some((requests, replies))
    }
}

impl Read for FdSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = passfd::MAX_FDS - self.fds.len();
        let (n, fds) = passfd::recv_with_fds(self.fd, buf, room)?;
        self.fds.extend(fds);
        Ok(n)
    }
}

/// A worker's request ring as a blocking [`Read`]: spins, then sleeps on
/// the ring's futex; end of stream once the pool's end of `sock` is gone,
/// `WouldBlock` when a frame waits on `sock` instead.
pub(crate) struct RingIn<'a> {
    pub(crate) ring: &'a Ring,
    pub(crate) sock: RawFd,
}

impl Read for RingIn<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.ring.read_available(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            match self
                .ring
                .wait_readable(Duration::MAX, &|| sys::quiet(self.sock))
            {
                Ok(()) => {}
                // Bytes on the socket: a frame with descriptors (see
                // `Conn::send_attached`), to be read from there.
                Err(RingError::PeerGone) if sys::has_bytes(self.sock) => {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Err(RingError::PeerGone) => return Ok(0),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The dispatcher's non-blocking [`Read`] of a reply ring: `WouldBlock`
/// when it is empty.
pub(crate) struct RingNow<'a>(pub(crate) &'a Ring);

impl Read for RingNow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0.read_available(buf)? {
            0 if !buf.is_empty() => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }
}

/// Writes `bytes` to a ring, for as long as the reader behind `sock`
/// lives.
pub(crate) fn write_ring(ring: &Ring, sock: RawFd, bytes: &[u8]) -> io::Result<()> {
    ring.write_all(bytes, Duration::MAX, &|| sys::quiet(sock))
        .map_err(io::Error::from)
}

/// A socket as a non-blocking [`Read`] that keeps the descriptors passed
/// with the data in `fds`, at most [`passfd::MAX_FDS`] waiting at a time
/// (any more are closed: a worker cannot make the pool hoard them).
pub(crate) struct DontWaitFds<'a> {
    pub(crate) fd: &'a OwnedFd,
    pub(crate) fds: &'a mut Vec<OwnedFd>,
}

impl Read for DontWaitFds<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = passfd::MAX_FDS.saturating_sub(self.fds.len());
        let (n, fds) = passfd::recv_with_fds_now(self.fd.as_raw_fd(), buf, room)?;
        self.fds.extend(fds);
        Ok(n)
    }
}

/// Sends `frame` over `sock` with `fds` attached (to the first bytes; the
/// rest follows plainly), never raising `SIGPIPE`.
pub(crate) fn send_attached(sock: RawFd, frame: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let n = passfd::send_with_fds(sock, frame, fds)?;
    sys::send_all(&sock, &frame[n..])
}
