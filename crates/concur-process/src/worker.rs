//! The loop a worker process runs after [`init`](crate::init) diverted it.

use crate::ring::Ring;
use crate::shm::{FdSocket, RingIn, write_ring};
use concur_ipc::attach::{self, Attachments};
use concur_ipc::{
    FrameError, FrameReader, Hello, Registry, RemoteError, RemoteErrorKind, Reply, RequestRef,
    encode_frame,
};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// Exit code of a worker that received a frame it could not decode.
pub(crate) const EXIT_PROTOCOL: i32 = 70;

/// Serves the pool on the socket `fd` until told to exit or the pool goes
/// away. Returns the process exit code.
pub(crate) fn run(fd: RawFd) -> i32 {
    if crate::sys::set_cloexec(fd).is_err() {
        eprintln!("concur-process worker: descriptor {fd} from the pool is not open");
        return EXIT_PROTOCOL;
    }
    // SAFETY: the pool passed us this descriptor (one end of a socketpair)
    // for our exclusive use; it is open (checked above).
    let stream = UnixStream::from(unsafe { OwnedFd::from_raw_fd(fd) });
    serve(stream)
}

pub(crate) fn serve(stream: UnixStream) -> i32 {
    // Reads go through one buffer (prefix and payload, often several
    // frames, in one syscall), bounded by the frame limit.
    let mut reader = FrameReader::new(concur_ipc::DEFAULT_MAX_FRAME);
    let sock = stream.as_raw_fd();
    // Keeps the descriptors that come with `Init` (the rings, `shm.rs`).
    let mut socket = FdSocket::new(sock);
    concur_ipc::install_panic_capture();
    let registry = Registry::global();
    let mut max_frame = concur_ipc::DEFAULT_MAX_FRAME;
    let mut out = Vec::new();
    // The request and reply rings, once taken at `Init`.
    let mut rings: Option<(Ring, Ring)> = None;
    let hello = Reply::Hello(Hello::current(std::process::id()));
    if send(&rings, &stream, &hello, max_frame, &mut out).is_err() {
        return 0;
    }
    // Frames that come over the socket while the rings are the transport:
    // those with descriptors (shared slices, see `Conn::send_attached`).
    let mut side = FrameReader::new(concur_ipc::DEFAULT_MAX_FRAME);
    loop {
        let payload = match &rings {
            // The ring spins, then sleeps on its futex.
            Some((requests, _)) => match reader.read_frame_blocking(&mut RingIn {
                ring: requests,
                sock,
            }) {
                Err(FrameError::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    side.read_frame_blocking(&mut socket)
                }
                other => other,
            },
            None => {
                // Keep looking for the next request for a moment before
                // blocking in `read` (see `sys::SPIN`): back-to-back tasks
                // then skip the wake-up.
                if reader.buffered() == 0 {
                    crate::sys::spin_until_readable(sock);
                }
                reader.read_frame_blocking(&mut socket)
            }
        };
        let payload = match payload {
            Ok(p) => p,
            Err(FrameError::Closed) => return 0,
            Err(_) => return EXIT_PROTOCOL,
        };
        // The call's arguments stay where they lie in the frame buffer.
        let request = match concur_ipc::decode::<RequestRef<'_>>(payload) {
            Ok(r) => r,
            Err(_) => return EXIT_PROTOCOL,
        };
        let reply = match request {
            RequestRef::Exit => return 0,
            RequestRef::Init {
                initializer,
                max_frame: m,
            } => {
                // Capped: the pool's word is not trusted to size buffers.
                max_frame = concur_ipc::clamp_limit(m);
                reader.set_limit(max_frame);
                side.set_limit(max_frame);
                // Rings mapped now answer this `Init` already; without
                // them (none sent, or unmappable) the socket stays.
                if rings.is_none() {
                    rings = socket.take_rings();
                }
                match initializer.map(|(f, args)| run_initializer(registry, f, &args)) {
                    Some(Err(e)) => {
                        let _ = send(&rings, &stream, &Reply::InitFailed(e), max_frame, &mut out);
                        return 0;
                    }
                    _ => Reply::Ready,
                }
            }
            RequestRef::Call(call) => {
                // Shared slices among the arguments take the descriptors
                // that came with the frame; those among the results go
                // back as descriptors too.
                let incoming = Attachments::from_fds(socket.take_fds());
                let (results, outgoing) =
                    attach::provide(incoming, || attach::collect(|| registry.execute_ref(&call)));
                let reply = Reply::Done {
                    generation: call.generation,
                    results,
                };
                if !outgoing.is_empty() {
                    if send_attached(&stream, &reply, &outgoing, max_frame, &mut out).is_err() {
                        return 0;
                    }
                    continue;
                }
                reply
            }
        };
        if send(&rings, &stream, &reply, max_frame, &mut out).is_err() {
            return 0;
        }
    }
}

/// Runs the initializer `f` on its encoded arguments (from the pool's
/// `Init` request).
fn run_initializer(
    registry: &Registry,
    f: concur_ipc::FnRef,
    args: &[u8],
) -> Result<(), RemoteError> {
    let reg = registry.resolve(f)?;
    reg.invoke(args).map(drop).map_err(|e| {
        let mut r = RemoteError::new(RemoteErrorKind::Initializer, e.type_name(), e.message());
        if let Some(bt) = e.backtrace() {
            r = r.with_backtrace(bt);
        }
        r
    })
}

/// Encodes `reply` (shrinking a result frame over the limit) and sends it
/// over the reply ring, or over `stream` without rings.
fn send(
    rings: &Option<(Ring, Ring)>,
    stream: &UnixStream,
    reply: &Reply,
    max_frame: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    out.clear();
    if let Err(e) = encode_frame(reply, max_frame, out) {
        // Only a result can be too large: fail each item instead.
        let Reply::Done {
            generation,
            results,
        } = reply
        else {
            return Err(std::io::Error::other(e));
        };
        let err = RemoteError::from_error(RemoteErrorKind::FrameTooLarge, "concur_ipc::Reply", &e);
        // Smaller and smaller replies: errors without their backtraces (a
        // panic's backtrace alone can pass a small limit), then outputs
        // replaced by the size error too, then every item failed.
        let lean = |r: Result<&[u8], &RemoteError>, keep_ok: bool| -> concur_ipc::ItemResult {
            match r {
                Ok(bytes) if keep_ok => Ok(bytes.to_vec()),
                Ok(_) => Err(err.clone()),
                Err(remote) => Err(RemoteError::new(
                    remote.kind(),
                    remote.type_name(),
                    truncated(remote.message(), 512),
                )),
            }
        };
        let attempts = [
            results.iter().map(|r| lean(r, true)).collect(),
            results.iter().map(|r| lean(r, false)).collect(),
            results.iter().map(|_| Err(err.clone())).collect(),
        ];
        let mut last = Ok(());
        for results in attempts {
            let smaller = Reply::Done {
                generation: *generation,
                results,
            };
            out.clear();
            last = encode_frame(&smaller, max_frame, out);
            if last.is_ok() {
                break;
            }
        }
        last.map_err(std::io::Error::other)?;
    }
    match rings {
        Some((_, replies)) => write_ring(replies, stream.as_raw_fd(), out),
        // Never `SIGPIPE`: before `main` (the pre-`main` hook) it is not
        // ignored yet.
        None => crate::sys::send_all(stream, out),
    }
}

/// Sends a `Done` whose outputs hold shared slices over the socket with
/// their descriptors, whatever the transport (descriptors only travel
/// there; the pool reads such a frame from the socket). Should it not fit
/// `max_frame`, it goes the usual way, shrunk (its descriptors dropped).
fn send_attached(
    stream: &UnixStream,
    reply: &Reply,
    attachments: &Attachments,
    max_frame: usize,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    out.clear();
    if encode_frame(reply, max_frame, out).is_err() {
        return send(&None, stream, reply, max_frame, out);
    }
    crate::shm::send_attached(stream.as_raw_fd(), out, &attachments.raw_fds())
}

/// `text` cut to at most `max` bytes (at a character boundary), marked.
fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... (truncated to fit max_frame)", &text[..end])
}
