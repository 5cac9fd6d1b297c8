//! The watcher thread of rank 0's pool: accepts the workers' liveness
//! links ([`liveness`](crate::liveness)), blocks in `poll` on them, and
//! tells the manager (an [`Event`] and a wake-up) when a link reaches EOF
//! — its rank died — or when a running task overran `task_timeout`. It
//! makes no MPI call: the manager handles the events (fails the task,
//! retires the rank).

use crate::liveness::Header;
use crate::shared::PoolShared;
use concur_sync::sync::Arc;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// What the watcher tells the manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// The link of the worker of `slot` reached EOF: the rank is dead.
    Died { slot: usize },
    /// The task of `generation` in `slot` overran `task_timeout`.
    Overran { slot: usize, generation: u64 },
    /// The worker of `slot` opened no link within [`LINK_DEADLINE`]: if it
    /// has not said `Hello` over MPI either, it died while starting.
    Unlinked { slot: usize },
}

/// A worker's link as rank 0 keeps it: the manager writes
/// [`KILL`](crate::liveness::KILL) on `stream` to end a rank.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) stream: TcpStream,
    pub(crate) pid: u32,
    pub(crate) host: String,
}

/// How long an accepted connection may take to send its header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long after the pool's start a worker may take to open its link
/// (workers connect inside `init`, before rank 0 can build the pool, so
/// their connections wait in the listen backlog: this only catches a rank
/// that died before it connected, which would otherwise stall `build`).
pub(crate) const LINK_DEADLINE: Duration = Duration::from_secs(10);
/// The longest poll when no deadline is nearer.
const IDLE_POLL: Duration = Duration::from_secs(1);

pub(crate) struct Watcher {
    inner: Arc<PoolShared>,
    listener: Option<TcpListener>,
    token: [u8; 16],
    /// The reading side of each slot's link.
    streams: Vec<Option<TcpStream>>,
    /// Readable (EOF) when the pool wants the watcher to stop.
    stop: UnixStream,
    /// When the watcher started, for [`LINK_DEADLINE`].
    since: Instant,
    /// Whether the slots still unlinked at the deadline were reported.
    unlinked_reported: bool,
}

impl Watcher {
    pub(crate) fn new(
        inner: Arc<PoolShared>,
        listening: Option<crate::liveness::Listening>,
        stop: UnixStream,
    ) -> Self {
        let slots = inner.book.lock().slots();
        let (listener, token) = match listening {
            Some(l) => {
                // Accepting must never block the watcher.
                let ok = l.listener.set_nonblocking(true).is_ok();
                (ok.then_some(l.listener), l.offer.token)
            }
            None => (None, [0; 16]),
        };
        Self {
            inner,
            listener,
            token,
            streams: (0..slots).map(|_| None).collect(),
            stop,
            since: Instant::now(),
            unlinked_reported: false,
        }
    }

    pub(crate) fn run(mut self) {
        let mut buf = [0u8; 64];
        loop {
            let timeout = self.check_deadlines().min(self.check_unlinked());
            let all_linked = self.streams.iter().all(Option::is_some);
            let (stop, accept, readable) = {
                let mut fds = vec![PollFd::new(self.stop.as_fd(), PollFlags::POLLIN)];
                let listening = match &self.listener {
                    Some(l) if !all_linked => {
                        fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
                        true
                    }
                    _ => false,
                };
                let mut slots = Vec::new();
                for (slot, s) in self.streams.iter().enumerate() {
                    if let Some(s) = s {
                        fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
                        slots.push(slot);
                    }
                }
                let ms = u16::try_from(timeout.as_millis().saturating_add(1)).unwrap_or(u16::MAX);
                if poll(&mut fds, PollTimeout::from(ms)).is_err() {
                    // EINTR: look again.
                    continue;
                }
                let hit = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
                let stop = hit(&fds[0]);
                let first = 1 + usize::from(listening);
                let accept = listening && hit(&fds[1]);
                let readable: Vec<usize> = slots
                    .iter()
                    .zip(&fds[first..])
                    .filter(|(_, fd)| hit(fd))
                    .map(|(slot, _)| *slot)
                    .collect();
                (stop, accept, readable)
            };
            if stop {
                return;
            }
            if accept {
                self.accept();
            }
            for slot in readable {
                let gone = match self.streams[slot].as_mut().map(|s| s.read(&mut buf)) {
                    // A worker sends nothing after its header: bytes are
                    // ignored, EOF or a reset is death.
                    Some(Ok(n)) => n == 0,
                    Some(Err(e)) => e.kind() != std::io::ErrorKind::Interrupted,
                    None => false,
                };
                if gone {
                    self.streams[slot] = None;
                    self.inner.events.lock().push(Event::Died { slot });
                    self.inner.wake();
                }
            }
        }
    }

    /// Accepts what connected; keeps the links whose header is right.
    fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        while let Ok((mut stream, peer)) = listener.accept() {
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(HEADER_TIMEOUT));
            let header = Header::read(&mut stream);
            let slot = header.as_ref().and_then(|h| {
                (h.token == self.token)
                    .then(|| crate::shared::slot_of(h.rank, self.streams.len()))
                    .flatten()
            });
            let (Some(h), Some(slot)) = (header, slot) else {
                eprintln!(
                    "concur-mpi: refused a liveness connection from {peer}: not a worker of this job"
                );
                continue;
            };
            if self.streams[slot].is_some() {
                eprintln!(
                    "concur-mpi: refused a second liveness connection for rank {} from {peer}",
                    h.rank
                );
                continue;
            }
            let _ = stream.set_read_timeout(None);
            let Ok(writer) = stream.try_clone() else {
                continue;
            };
            self.inner.links.lock()[slot] = Some(Link {
                stream: writer,
                pid: h.pid,
                host: h.host,
            });
            self.streams[slot] = Some(stream);
        }
    }

    /// Once [`LINK_DEADLINE`] has passed, reports the slots with no link
    /// (once); returns how long to poll until then.
    fn check_unlinked(&mut self) -> Duration {
        if self.unlinked_reported || self.listener.is_none() {
            return IDLE_POLL;
        }
        let waited = self.since.elapsed();
        if waited < LINK_DEADLINE {
            return (LINK_DEADLINE - waited).max(Duration::from_millis(1));
        }
        self.unlinked_reported = true;
        let missing: Vec<Event> = (0..self.streams.len())
            .filter(|s| self.streams[*s].is_none())
            .map(|slot| Event::Unlinked { slot })
            .collect();
        if !missing.is_empty() {
            self.inner.events.lock().extend(missing);
            self.inner.wake();
        }
        IDLE_POLL
    }

    /// Reports tasks past their deadline; returns how long to poll.
    fn check_deadlines(&self) -> Duration {
        let Some(limit) = self.inner.task_timeout else {
            return IDLE_POLL;
        };
        let now = Instant::now();
        let mut next = IDLE_POLL;
        let mut overran = Vec::new();
        {
            let mut started = self.inner.started.lock();
            for (slot, s) in started.iter_mut().enumerate() {
                let Some((generation, at)) = *s else {
                    continue;
                };
                let ran = now.saturating_duration_since(at);
                if ran >= limit {
                    *s = None;
                    overran.push(Event::Overran { slot, generation });
                } else {
                    next = next.min(limit - ran);
                }
            }
        }
        if !overran.is_empty() {
            self.inner.events.lock().extend(overran);
            self.inner.wake();
        }
        // A task started after this look is seen within a quarter of the
        // limit (the manager does not wake the watcher per task).
        next.min(limit / 4).max(Duration::from_millis(1))
    }
}
