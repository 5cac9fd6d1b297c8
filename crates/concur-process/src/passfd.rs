//! Passing descriptors over a Unix socket (`SCM_RIGHTS`): the fork
//! server's records, the shared-memory rings sent with `Init`, and the
//! memfds of the shared slices a call or its results carry
//! ([`concur_ipc::attach`]).

use nix::sys::socket::{ControlMessage, MsgFlags, sendmsg};
use std::io::{self, IoSlice};
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
    // closed here. By hand, not nix's `recvmsg`: with a truncated control
    // message (more descriptors than room, or a receiver at its descriptor
    // limit, `EMFILE`) nix refuses to list the descriptors that did
    // arrive, which would lose them open and the bytes with them; the
    // kernel's `msg_controllen` covers exactly what it wrote.
    const ROOM: usize = 2 * MAX_FDS * size_of::<RawFd>();
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(ROOM as u32) } as usize;
    // u64 words: the alignment cmsghdr needs.
    let mut control = vec![0u64; space.div_ceil(8)];
    loop {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: an all-zero msghdr is valid; the fields set below point
        // at live buffers of the lengths given.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: recvmsg into the buffers described by `msg`.
        let n = unsafe { libc::recvmsg(sock, &raw mut msg, libc::MSG_CMSG_CLOEXEC | flags.bits()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut kept = Vec::new();
        // SAFETY: the kernel filled `msg` and `msg_controllen` covers the
        // control messages it wrote; the CMSG macros walk within it.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                    let data = libc::CMSG_DATA(c).cast::<RawFd>();
                    let header = libc::CMSG_LEN(0) as usize;
                    let count =
                        ((*c).cmsg_len as usize).saturating_sub(header) / size_of::<RawFd>();
                    for i in 0..count {
                        // The kernel installed this descriptor for us; we
                        // own it now (dropped, so closed, if not kept).
                        let owned = OwnedFd::from_raw_fd(data.add(i).read_unaligned());
                        if kept.len() < keep.min(MAX_FDS) {
                            kept.push(owned);
                        }
                    }
                }
                c = libc::CMSG_NXTHDR(&raw const msg, c);
            }
        }
        return Ok((n as usize, kept));
    }
}
