//! Liveness links: one TCP connection from each worker rank to rank 0,
//! so that a rank's death is noticed (EOF) even though MPI says nothing.
//!
//! Open MPI 4 run with `mpirun --enable-recovery` keeps the job alive when
//! a rank dies, but reports nothing through MPI: sends to the dead rank
//! "succeed", synchronous sends never complete, probes wait forever. The
//! kernel closes a dead process's sockets, so rank 0 sees EOF on that
//! rank's link within milliseconds (2–4 ms measured here), on any host.
//! The same link carries rank 0's one command to a worker, "kill
//! yourself" (a task overran `task_timeout`), and tells a worker that rank
//! 0 is gone (EOF its way), so an orphaned worker exits instead of waiting
//! forever.
//!
//! At [`init`](crate::init), rank 0 listens on an ephemeral port and
//! broadcasts an [`Offer`] (port, host, and a random token) to every rank
//! over MPI; each worker connects and introduces itself with a
//! [`Header`] carrying the token, so a stray connection from elsewhere is
//! refused. Workers on rank 0's host connect to `127.0.0.1`. Environment:
//! `CONCUR_MPI_LIVENESS_BIND` (rank 0's bind address, default
//! `0.0.0.0:0`), `CONCUR_MPI_LIVENESS_HOST` (the host name or address
//! workers on other hosts connect to, default rank 0's processor name).

use crate::raw::Comm;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The broadcast's fixed length (every rank passes a buffer this long).
const OFFER_LEN: usize = 512;
/// The longest host name carried (longer ones are cut).
const MAX_HOST: usize = 255;
/// The first bytes of a worker's header.
const MAGIC: [u8; 4] = *b"CMPL";
/// Rank 0 → worker: kill yourself now (`SIGKILL`).
pub(crate) const KILL: u8 = b'K';
/// A worker's exit code when rank 0 vanished while it was serving.
pub(crate) const EXIT_ORPHANED: i32 = 71;
/// How long a worker whose link reached EOF waits for rank 0's `Exit`
/// before it concludes that rank 0 died (a normal shutdown closes the
/// links right after the `Exit` messages, which may arrive later).
const ORPHAN_GRACE: Duration = Duration::from_secs(2);

/// What rank 0 tells every rank at `init`: where to connect, and the
/// token that proves a connection comes from a rank of this job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offer {
    pub(crate) token: [u8; 16],
    pub(crate) port: u16,
    /// Rank 0's host (its MPI processor name, or the override).
    pub(crate) host: String,
}

impl Offer {
    /// The broadcast bytes: `[1]`, token, port, host length, host; a
    /// buffer of zeros says "no liveness links" (rank 0 could not listen).
    fn encode(offer: Option<&Self>) -> [u8; OFFER_LEN] {
        let mut buf = [0u8; OFFER_LEN];
        if let Some(o) = offer {
            let host = cut(&o.host);
            buf[0] = 1;
            buf[1..17].copy_from_slice(&o.token);
            buf[17..19].copy_from_slice(&o.port.to_le_bytes());
            buf[19] = u8::try_from(host.len()).unwrap_or(0);
            buf[20..20 + host.len()].copy_from_slice(host.as_bytes());
        }
        buf
    }

    fn decode(buf: &[u8]) -> Option<Self> {
        if buf.len() < 20 || buf[0] != 1 {
            return None;
        }
        let len = usize::from(buf[19]);
        let host = buf.get(20..20 + len)?;
        Some(Self {
            token: buf[1..17].try_into().ok()?,
            port: u16::from_le_bytes([buf[17], buf[18]]),
            host: String::from_utf8_lossy(host).into_owned(),
        })
    }
}

/// A worker's introduction on its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) token: [u8; 16],
    pub(crate) rank: i32,
    pub(crate) pid: u32,
    pub(crate) host: String,
}

/// The header's length before the host name.
const HEADER_FIXED: usize = 4 + 16 + 4 + 4 + 1;

impl Header {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let host = cut(&self.host);
        let mut out = Vec::with_capacity(HEADER_FIXED + host.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.token);
        out.extend_from_slice(&self.rank.to_le_bytes());
        out.extend_from_slice(&self.pid.to_le_bytes());
        out.push(u8::try_from(host.len()).unwrap_or(0));
        out.extend_from_slice(host.as_bytes());
        out
    }

    /// Reads a header from `r`; `None` for anything that is not one
    /// (wrong magic, short, not UTF-8 is replaced, never a panic).
    pub(crate) fn read(r: &mut impl Read) -> Option<Self> {
        let mut fixed = [0u8; HEADER_FIXED];
        r.read_exact(&mut fixed).ok()?;
        if fixed[..4] != MAGIC {
            return None;
        }
        let mut host = vec![0u8; usize::from(fixed[HEADER_FIXED - 1])];
        r.read_exact(&mut host).ok()?;
        Some(Self {
            token: fixed[4..20].try_into().ok()?,
            rank: i32::from_le_bytes(fixed[20..24].try_into().ok()?),
            pid: u32::from_le_bytes(fixed[24..28].try_into().ok()?),
            host: String::from_utf8_lossy(&host).into_owned(),
        })
    }
}

/// `s` cut to at most [`MAX_HOST`] bytes on a character boundary.
fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_HOST);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// 16 random bytes (the kernel's; a hash of time and pid if unreadable).
fn token() -> [u8; 16] {
    let mut t = [0u8; 16];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut t))
        .is_ok()
    {
        return t;
    }
    use std::hash::{BuildHasher, Hasher};
    for half in t.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    t
}

/// Rank 0's listener and the offer it broadcasts.
#[derive(Debug)]
pub(crate) struct Listening {
    pub(crate) listener: TcpListener,
    pub(crate) offer: Offer,
}

/// Rank 0: listens for the links. `None` (with a warning) if it cannot:
/// the pool then works, but cannot notice a rank's death.
pub(crate) fn listen(host: &str) -> Option<Listening> {
    let bind = std::env::var("CONCUR_MPI_LIVENESS_BIND").unwrap_or_else(|_| "0.0.0.0:0".into());
    let listener = match TcpListener::bind(&bind) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "concur-mpi: cannot listen on {bind} for liveness links ({e}); the death of a \
                 worker rank will not be noticed"
            );
            return None;
        }
    };
    let port = listener.local_addr().ok()?.port();
    let host = std::env::var("CONCUR_MPI_LIVENESS_HOST").unwrap_or_else(|_| host.to_owned());
    Some(Listening {
        listener,
        offer: Offer {
            token: token(),
            port,
            host,
        },
    })
}

/// The collective step of `init`: rank 0 broadcasts `offer`, every other
/// rank receives it.
pub(crate) fn exchange(
    comm: Comm,
    offer: Option<&Offer>,
) -> Result<Option<Offer>, crate::MpiError> {
    let mut buf = Offer::encode(offer);
    comm.bcast(&mut buf, 0)?;
    Ok(Offer::decode(&buf))
}

/// A worker rank: connects to rank 0's listener and introduces itself.
/// `None` (with a warning) if no address answers.
pub(crate) fn connect(offer: &Offer, rank: i32, my_host: &str) -> Option<TcpStream> {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    if offer.host == my_host {
        addrs.push(SocketAddr::from(([127, 0, 0, 1], offer.port)));
    }
    if let Ok(resolved) = (offer.host.as_str(), offer.port).to_socket_addrs() {
        addrs.extend(resolved);
    }
    let header = Header {
        token: offer.token,
        rank,
        pid: std::process::id(),
        host: my_host.to_owned(),
    }
    .encode();
    for addr in &addrs {
        if let Ok(mut s) = TcpStream::connect_timeout(addr, Duration::from_secs(5)) {
            if s.write_all(&header).is_ok() {
                return Some(s);
            }
        }
    }
    eprintln!(
        "concur-mpi worker rank {rank}: cannot open a liveness link to rank 0 at {}:{} \
         (tried {addrs:?}); rank 0 will not notice if this rank dies (set \
         CONCUR_MPI_LIVENESS_HOST to an address of rank 0's host that this host can reach)",
        offer.host, offer.port
    );
    None
}

/// Set by a worker once rank 0 told it to exit: EOF on the link is then
/// the normal end, not rank 0's death.
pub(crate) static RELEASED: AtomicBool = AtomicBool::new(false);

/// A worker's watchdog thread: blocks reading the link. [`KILL`] → the
/// process kills itself (its task overran `task_timeout`); EOF or an error
/// while still serving → rank 0 is gone, so exit with [`EXIT_ORPHANED`]
/// rather than wait for work that never comes.
pub(crate) fn watch_rank0(mut link: TcpStream, rank: i32) {
    let mut byte = [0u8; 1];
    loop {
        match link.read(&mut byte) {
            Ok(1) if byte[0] == KILL => {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
            }
            Ok(1) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    std::thread::sleep(ORPHAN_GRACE);
    if !RELEASED.load(Ordering::SeqCst) {
        eprintln!("concur-mpi worker rank {rank}: rank 0 is gone; exiting");
        // Not `exit`: MPI cannot be finalized without rank 0, and the main
        // thread may be inside an MPI call.
        crate::raw::exit_now(EXIT_ORPHANED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_round_trip_and_absent() {
        let o = Offer {
            token: [9; 16],
            port: 4321,
            host: "node-7".into(),
        };
        assert_eq!(Offer::decode(&Offer::encode(Some(&o))), Some(o));
        assert_eq!(Offer::decode(&Offer::encode(None)), None);
        assert_eq!(Offer::decode(&[1, 2]), None);
    }

    #[test]
    fn long_host_names_are_cut_on_a_char_boundary() {
        let host = "é".repeat(200);
        let o = Offer {
            token: [1; 16],
            port: 1,
            host: host.clone(),
        };
        let back = Offer::decode(&Offer::encode(Some(&o))).unwrap();
        assert!(host.starts_with(&back.host) && back.host.len() <= MAX_HOST);
    }

    #[test]
    fn header_round_trip_and_hostile_bytes() {
        let h = Header {
            token: [3; 16],
            rank: 2,
            pid: 77,
            host: "h".into(),
        };
        let bytes = h.encode();
        assert_eq!(Header::read(&mut bytes.as_slice()), Some(h));
        for n in 0..bytes.len() {
            assert_eq!(Header::read(&mut &bytes[..n]), None, "{n} bytes");
        }
        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        assert_eq!(Header::read(&mut wrong.as_slice()), None);
        let junk = [0xffu8; 64];
        assert_eq!(Header::read(&mut junk.as_slice()), None);
    }

    #[test]
    fn tokens_differ() {
        assert_ne!(token(), token());
    }
}
