//! Passing descriptors over a Unix socket (`SCM_RIGHTS`): the fork
//! server's records, the shared-memory rings sent with `Init`, and the
//! memfds of the shared slices a call or its results carry
//! ([`concur_ipc::attach`]).

use nix::sys::socket::{ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The most descriptors one message may bring that are kept (the
/// attachments of one frame).
pub(crate) const MAX_FDS: usize = concur_ipc::attach::MAX_ATTACHMENTS;

/// Sends `bytes` with `fds` attached (none: a plain send), retrying on
/// `EINTR`, never raising `SIGPIPE`; how many bytes went (on a stream
/// socket, possibly fewer than all: the rest goes without descriptors).
pub(crate) fn send_with_fds(sock: RawFd, bytes: &[u8], fds: &[RawFd]) -> io::Result<usize> {
    let rights = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &rights };
    loop {
        match sendmsg::<()>(
            sock,
            &[IoSlice::new(bytes)],
            cmsgs,
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => return Ok(n),
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Receives into `buf`, keeping at most `keep` (≤ [`MAX_FDS`]) of the
/// descriptors that came with the data and closing any others; the bytes
/// read (0: end of stream) and the descriptors, close-on-exec.
pub(crate) fn recv_with_fds(
    sock: RawFd,
    buf: &mut [u8],
    keep: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    recv_fds(sock, buf, keep, MsgFlags::empty())
}

/// [`recv_with_fds`] without blocking: `WouldBlock` when nothing is there.
pub(crate) fn recv_with_fds_now(
    sock: RawFd,
    buf: &mut [u8],
    keep: usize,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    recv_fds(sock, buf, keep, MsgFlags::MSG_DONTWAIT)
}

fn recv_fds(
    sock: RawFd,
    buf: &mut [u8],
    keep: usize,
    flags: MsgFlags,
) -> io::Result<(usize, Vec<OwnedFd>)> {
    // Room for more than are kept: a message with too many has the rest
    // closed here rather than lost in a truncated control message.
    let mut cmsg = nix::cmsg_space!([RawFd; 2 * MAX_FDS]);
    loop {
        let mut iov = [IoSliceMut::new(buf)];
        match recvmsg::<()>(
            sock,
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC | flags,
        ) {
            Ok(msg) => {
                let mut kept = Vec::new();
                for c in msg.cmsgs()? {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        for f in fds {
                            // SAFETY: the kernel installed this descriptor
                            // for us; we own it now (dropped if not kept).
                            let owned = unsafe { OwnedFd::from_raw_fd(f) };
                            if kept.len() < keep.min(MAX_FDS) {
                                kept.push(owned);
                            }
                        }
                    }
                }
                return Ok((msg.bytes, kept));
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}
