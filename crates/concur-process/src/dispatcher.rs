//! The dispatcher thread: the pool's one I/O thread. It polls every
//! worker's socket and pidfd (and the fork server's), decodes replies,
//! completes futures (decoding results here; done-callbacks go to the
//! pool's [`CallbackRunner`](concur_remote::CallbackRunner)), enforces
//! deadlines, and supervises the workers.
//!
//! # Supervision: what happens in each phase of a worker's life
//!
//! | phase | death, start error, or start timeout | protocol violation |
//! |---|---|---|
//! | launching (spawn / fork) | replaced after backoff (see `concur_remote::backoff`) | — |
//! | `Hello` (handshake) | replaced after backoff; the pool breaks only if no worker was ever ready and starts failed [`MAX_START_ATTEMPTS`](concur_remote::MAX_START_ATTEMPTS) times in a row (or the copy said no worker guard diverted it, or stayed silent past `start_timeout`) | killed; counts as a failed start |
//! | `Init` (initializer) | as `Hello`; an initializer that *returns an error* breaks the pool (CPython) | as `Hello` |
//! | `Ready`, idle | replaced at once | killed, replaced |
//! | `Ready`, running | its task fails with `WorkerDied` (exit code or signal), replaced | retired at once: no more frames read, never given work, its task fails with `ProtocolViolation` |
//! | `Exiting` / `Retired` | replaced if work remains | — |
//!
//! A fork server that dies is started again at the next launch; the
//! workers it had forked die with it and their tasks fail with
//! `ExitCause::ForkServerLost`. Queued tasks wait for the new workers.
//! Once the pool is shut down and nothing is queued, nothing is replaced.

use crate::desk::Desk;
use crate::error::init_hint;
use crate::error::{ProtocolViolation, WorkerDied};
use crate::launch::{LaunchError, Launcher};
use crate::proc::{Phase, Proc, Timing};
use crate::shared::{Command, KillReason, PoolShared};
use crate::shm::{DontWaitFds, Offer, RingNow, Shm};
use crate::stats::Cause;
use crate::sys::{self, DontWait, ExitCause};
use concur_core::{__event, DeferredCallbacks, Error, ErrorKind};
use concur_ipc::FrameReader;
use concur_ipc::attach::Attachments;
use concur_ipc::{Fill, FrameError, Reply, Request};
use concur_remote::{Verdict, WorkerSlot};
use concur_sync::sync::Arc;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// How long a worker told to exit may take before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

pub(crate) struct Dispatcher {
    inner: Arc<PoolShared>,
    procs: Vec<Option<Proc>>,
    /// When each vacant slot is due for a new worker.
    restart: Vec<Option<Instant>>,
    launcher: Launcher,
    pollfds: Vec<libc::pollfd>,
    /// Each slot's reply timing, gathered by `short_tasks_running` before
    /// it takes the book's lock (kept to reuse its allocation).
    timings: Vec<Option<Timing>>,
}

impl Dispatcher {
    pub(crate) fn new(inner: Arc<PoolShared>) -> Self {
        let n = inner.book.lock().slots();
        let launcher = Launcher::new(
            inner.exe.clone(),
            inner.config.start_method,
            inner.config.start_timeout,
        );
        Self {
            inner,
            procs: (0..n).map(|_| None).collect(),
            restart: vec![None; n],
            launcher,
            pollfds: Vec::new(),
            timings: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        for slot in 0..self.procs.len() {
            self.launch(slot);
        }
        loop {
            let timeout = self.tick();
            if self.finished() {
                break;
            }
            self.poll_once(timeout);
        }
        self.launcher.stop();
        let mut status = self.inner.status.lock();
        status.finished = true;
        status.pids.iter_mut().for_each(|p| *p = None);
        drop(status);
        self.inner.cond.notify_all();
    }

    /// Whether to poll before blocking (see `poll_once`): a worker's recent
    /// tasks were short (its last two replies less than `sys::SPIN`
    /// apart), and either it is busy while the pool streams (more than one
    /// task in flight: queued, or two workers busy), or it talks over
    /// shared memory and is busy or replied less than `sys::SPIN` ago.
    /// Looking at a ring costs no syscall, so over shared memory one task
    /// in flight, or a caller that submits as soon as it has a result, is
    /// enough: a one-task round trip went from 9-11 to 5.1-5.4 us. Over a
    /// socket each look is a `poll`, and the same policy made the round
    /// trip slower (12 to 26 us).
    fn short_tasks_running(&mut self) -> bool {
        // Gathered first: a desk is never locked under the book's lock
        // (lock order: desk, then book).
        let mut timing = std::mem::take(&mut self.timings);
        timing.clear();
        timing.extend((0..self.procs.len()).map(|s| self.timing(s)));
        let short = self.short_given(&timing);
        self.timings = timing;
        short
    }

    /// [`short_tasks_running`](Self::short_tasks_running), given each
    /// slot's timing.
    fn short_given(&self, timing: &[Option<Timing>]) -> bool {
        // The book's lock only when some worker's tasks were short.
        if !timing.iter().flatten().any(Timing::short) {
            return false;
        }
        let book = self.inner.book.lock();
        let streaming = book.queued() > 0 || book.busy() >= 2;
        let now = Instant::now();
        self.procs.iter().enumerate().any(|(slot, p)| {
            let (Some(p), Some(t)) = (p, timing[slot].filter(Timing::short)) else {
                return false;
            };
            let busy = matches!(book.slot(slot), WorkerSlot::Busy(..));
            (busy && streaming) || (p.shm.on() && (busy || t.recent(now)))
        })
    }

    /// When the worker of `slot` last replied (kept at its desk while it
    /// has one).
    fn timing(&self, slot: usize) -> Option<Timing> {
        let p = self.procs[slot].as_ref()?;
        if matches!(p.shm, Shm::Desk) {
            return self.inner.desks[slot].lock().as_ref().map(|s| s.timing);
        }
        Some(p.timing)
    }

    /// Notes that the worker of `slot` replied `Done` now.
    fn record_done(&mut self, slot: usize) {
        let now = Instant::now();
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        if matches!(p.shm, Shm::Desk) {
            if let Some(s) = self.inner.desks[slot].lock().as_mut() {
                s.timing.record(now);
            }
        } else {
            p.timing.record(now);
        }
    }

    fn finished(&self) -> bool {
        let book = self.inner.book.lock();
        book.is_closed()
            && (book.is_idle() || book.broken().is_some())
            && self.procs.iter().all(Option::is_none)
    }

    /// Hands callbacks to the runner (off this thread).
    fn defer(&self, callbacks: Vec<DeferredCallbacks>) {
        self.inner.callbacks.run(callbacks);
    }

    fn break_pool(&mut self, error: Error) {
        let (tasks, first) = {
            let mut book = self.inner.book.lock();
            let first = book.broken().is_none();
            (book.break_pool(error.clone()), first)
        };
        if first {
            __event!(
                error,
                pool = %self.inner.config.name,
                error = %error,
                failed_tasks = tasks.len(),
                "the process pool is broken; queued and later tasks fail"
            );
        }
        self.inner.stats.tasks_failed(tasks.len());
        for t in tasks {
            let cbs = t.fail(error.clone());
            self.defer(cbs);
        }
        for p in self.procs.iter_mut().flatten() {
            p.kill(KillReason::Stop);
        }
        self.restart.iter_mut().for_each(|r| *r = None);
        self.inner.cond.notify_all();
    }

    /// Starts a worker in vacant `slot`.
    fn launch(&mut self, slot: usize) {
        if self.inner.book.lock().broken().is_some() {
            return;
        }
        match self.launcher.launch() {
            Ok(p) => {
                self.inner.stats.worker_started();
                __event!(
                    debug,
                    pool = %self.inner.config.name,
                    slot,
                    pid = p.pid,
                    "worker process launched"
                );
                {
                    let mut status = self.inner.status.lock();
                    status.pids[slot] = Some(p.pid as u32);
                    status.on_rings[slot] = false;
                }
                self.inner.book.lock().starting(slot);
                let mut p = p;
                p.shm = self.make_rings(slot);
                self.procs[slot] = Some(p);
            }
            Err(e) => {
                __event!(
                    warn,
                    pool = %self.inner.config.name,
                    slot,
                    error = %e,
                    "could not launch a worker process"
                );
                let (verdict, ever_ready) = {
                    let mut book = self.inner.book.lock();
                    (book.launch_failed(slot), book.ever_ready())
                };
                // A copy that says no guard diverted it, or a fork server
                // that stays silent, before any worker ever started: the
                // binary cannot start workers. Later, it is one more
                // failed start (a slow machine), retried.
                if e.is_final() && !ever_ready && verdict != Verdict::Stop {
                    return self.break_pool(start_broken(e.to_string()));
                }
                self.apply(slot, verdict, || start_broken(give_up(&e)));
            }
        }
    }

    /// The rings for the worker just launched in `slot`, made while it
    /// starts (they go with its `Init`); none if the pool does not use
    /// shared memory or they cannot be made (it then uses its socket).
    fn make_rings(&self, _slot: usize) -> Shm {
        if !self.inner.config.shared_memory {
            return Shm::Off;
        }
        match Offer::create() {
            Ok(offer) => Shm::Made(offer),
            Err(_e) => {
                __event!(
                    debug,
                    pool = %self.inner.config.name,
                    slot = _slot,
                    error = %_e,
                    "no shared-memory rings for a worker; it uses its socket"
                );
                Shm::Off
            }
        }
    }

    fn apply(&mut self, slot: usize, verdict: Verdict, error: impl FnOnce() -> Error) {
        match verdict {
            Verdict::Replace { after } => {
                let now = Instant::now();
                self.restart[slot] = Some(now.checked_add(after).unwrap_or(now));
            }
            Verdict::Stop => {}
            Verdict::Break => self.break_pool(error()),
        }
    }

    /// Handles commands, restarts, deadlines and shutdown progress; returns
    /// the poll timeout.
    fn tick(&mut self) -> Option<Duration> {
        let commands = std::mem::take(&mut *self.inner.commands.lock());
        for c in commands {
            match c {
                Command::Kill {
                    slot,
                    generation,
                    reason,
                } => {
                    let running = self.inner.book.lock().running(slot);
                    if running == Some(generation)
                        && let Some(p) = &mut self.procs[slot]
                    {
                        p.kill(reason);
                    }
                }
                Command::SignalAll(sig) => {
                    for p in self.procs.iter_mut().flatten() {
                        p.kill_reason.get_or_insert(KillReason::Stop);
                        sys::pidfd_kill(&p.pidfd, sig);
                    }
                }
                Command::Retire { slot } => self.retire(slot),
            }
        }
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let mut arm = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        let (closed, idle, broken, queued) = {
            let book = self.inner.book.lock();
            (
                book.is_closed(),
                book.is_idle(),
                book.broken().is_some(),
                book.queued(),
            )
        };
        for slot in 0..self.restart.len() {
            let Some(at) = self.restart[slot] else {
                continue;
            };
            if broken || (closed && queued == 0) || self.procs[slot].is_some() {
                self.restart[slot] = None;
            } else if now >= at {
                self.restart[slot] = None;
                self.launch(slot);
                // A failed launch set the next attempt: wake up for it.
                if let Some(again) = self.restart[slot] {
                    arm(again);
                }
            } else {
                arm(at);
            }
        }
        let config = &self.inner.config;
        for slot in 0..self.procs.len() {
            let running = self.inner.book.lock().running(slot);
            let Some(p) = &mut self.procs[slot] else {
                continue;
            };
            if let (Some(timeout), Some(generation)) = (config.task_timeout, running)
                && p.task_deadline.is_none_or(|(g, _)| g != generation)
            {
                p.task_deadline = Some((generation, now.checked_add(timeout)));
            }
            if p.kill_reason.is_some() {
                continue;
            }
            match p.phase {
                Phase::Hello | Phase::Init => {
                    if closed && idle {
                        p.kill(KillReason::Stop);
                        continue;
                    }
                    let deadline = config.start_timeout.and_then(|t| p.since.checked_add(t));
                    match deadline {
                        Some(d) if now >= d => p.kill(KillReason::StartTimeout),
                        Some(d) => arm(d),
                        None => {}
                    }
                }
                Phase::Ready => {
                    if let Some((generation, Some(deadline))) = p.task_deadline
                        && running == Some(generation)
                    {
                        if now >= deadline {
                            p.kill(KillReason::Timeout);
                            continue;
                        }
                        arm(deadline);
                    }
                    if closed && idle {
                        self.inner.book.lock().exiting(slot);
                        tell_to_exit(p, &self.inner.desks[slot], config.max_frame);
                    }
                }
                Phase::Exiting => match p.exit_deadline {
                    Some(d) if now >= d => p.kill(KillReason::Stop),
                    Some(d) => arm(d),
                    None => {}
                },
                Phase::Retired => {}
            }
        }
        if self.inner.book.lock().broken().is_some() {
            for p in self.procs.iter_mut().flatten() {
                if p.kill_reason.is_none() {
                    p.kill(KillReason::Stop);
                }
            }
        }
        next.map(|t| t.saturating_duration_since(now))
    }

    /// The worker of `slot` reached `max_tasks_per_child` (the book
    /// retired it): it is told to exit.
    fn retire(&mut self, slot: usize) {
        if let Some(p) = self.procs[slot]
            .as_mut()
            .filter(|p| p.phase == Phase::Ready)
        {
            tell_to_exit(p, &self.inner.desks[slot], self.inner.config.max_frame);
        }
    }

    /// Polls the descriptors without blocking and looks at the reply
    /// rings, yielding the CPU between tries, until something is ready or
    /// `budget` has passed; whether something is. Yielding, not spinning:
    /// on a machine with as many CPUs as busy workers, a spinning poller
    /// kept a worker with work off its CPU for up to the whole budget
    /// (service times of 164-item chunks alternated 11 and 162 us;
    /// yielding: 40 us).
    fn poll_spinning(&mut self, budget: Duration) -> std::io::Result<bool> {
        let start = Instant::now();
        for round in 0u32.. {
            if self.inner.handover.helped() {
                // A waiter reads the rings (see `driver.rs`): block.
                return Ok(false);
            }
            if self.rings_readable() {
                // The descriptors too, so their events are not missed.
                return sys::poll(&mut self.pollfds, 0).map(|_| true);
            }
            if round % 8 == 0 && sys::poll(&mut self.pollfds, 0)? > 0 {
                return Ok(true);
            }
            if start.elapsed() >= budget {
                return Ok(false);
            }
            std::thread::yield_now();
        }
        Ok(false)
    }

    fn poll_once(&mut self, timeout: Option<Duration>) {
        self.pollfds.clear();
        self.pollfds.push(libc::pollfd {
            fd: self.inner.wake.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        for p in self.procs.iter().flatten() {
            self.pollfds.push(libc::pollfd {
                fd: p.pidfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            self.pollfds.push(libc::pollfd {
                fd: if p.eof { -1 } else { p.conn.fd.as_raw_fd() },
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let server = self.launcher.server_pidfd();
        if let Some(fd) = server {
            self.pollfds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let ms = timeout.map_or(1000, |t| {
            i32::try_from(t.as_millis().saturating_add(1))
                .unwrap_or(1000)
                .min(1000)
        });
        // Adaptive polling. While short tasks stream (more than one in
        // flight, and a busy worker's last two replies came less than
        // `sys::SPIN` apart), the dispatcher polls without blocking,
        // yielding between tries, for up to `sys::SPIN` before it blocks:
        // the next reply is then read without a wake-up (a map at
        // chunksize 1 went from 10.8 to 3.2-4.3 us/item). With long tasks
        // it blocks at once: a worker's reply wakes it on the worker's own
        // CPU, which is cheap, while a dispatcher yielding in a loop next to
        // a CPU-bound worker loses its turn for milliseconds (EEVDF pushes a
        // yielding task's deadline back a slice per yield): 8
        // prime-counting jobs on 2 workers took 75-80 ms that way instead
        // of 69-73 ms.
        // Reply rings are looked at in the same loop (no syscall); before
        // blocking, each is armed so its worker rings the wake eventfd.
        let helped = self.inner.handover.helped();
        let ready = if !helped && self.short_tasks_running() {
            self.poll_spinning(sys::SPIN)
        } else {
            Ok(false)
        };
        if !matches!(ready, Ok(true)) {
            // While a waiter helps, it keeps the rings disarmed and the
            // last one to leave re-arms them (see `driver.rs`).
            let desks = self.inner.handover.park();
            self.arm_rings(true, desks);
            let ms = if self.rings_readable() { 0 } else { ms };
            let polled = sys::poll(&mut self.pollfds, ms);
            self.inner.handover.unpark();
            self.arm_rings(false, true);
            if polled.is_err() {
                std::thread::sleep(Duration::from_millis(1));
                return;
            }
        }
        self.read_rings();
        if self.pollfds[0].revents != 0 {
            sys::eventfd_drain(&self.inner.wake);
        }
        let ready: Vec<(usize, bool, bool)> = {
            let mut i = 1;
            let mut out = Vec::new();
            for (slot, p) in self.procs.iter().enumerate() {
                if p.is_none() {
                    continue;
                }
                let exited = self.pollfds[i].revents != 0;
                let readable = self.pollfds[i + 1].revents != 0;
                i += 2;
                if exited || readable {
                    out.push((slot, readable, exited));
                }
            }
            out
        };
        if server.is_some() && self.pollfds.last().is_some_and(|p| p.revents != 0) {
            // The fork server died: the next launch starts a new one. The
            // workers it forked die with it (parent-death signal).
            self.launcher.server_died();
        }
        for (slot, readable, exited) in ready {
            if readable {
                self.read_from(slot);
            }
            if exited {
                // Drain what it wrote before dying (a last reply).
                self.read_from(slot);
                self.read_ring(slot);
                self.reap(slot);
            }
        }
    }

    fn read_from(&mut self, slot: usize) {
        loop {
            let Some(p) = &mut self.procs[slot] else {
                return;
            };
            if p.eof {
                return;
            }
            // At its desk, its socket carries frames with descriptors
            // (read here like any); before that, bytes are a violation.
            if matches!(p.shm, Shm::On(_)) {
                return self.socket_after_rings(slot);
            }
            let fill = p.reader.fill_from(&mut DontWaitFds {
                fd: &p.conn.fd,
                fds: &mut p.fds,
            });
            if matches!(fill, Ok(Fill::Read(_))) && matches!(p.shm, Shm::Offered(_)) {
                // It answered `Init` over its socket: no rings for it.
                p.shm = Shm::Off;
            }
            let more = match fill {
                Ok(Fill::Read(_) | Fill::Full) => true,
                Ok(Fill::WouldBlock) => false,
                Ok(Fill::Eof) | Err(FrameError::Io(_)) => {
                    p.socket_closed();
                    false
                }
                Err(e) => {
                    let what = format!("a frame the pool cannot accept ({e})");
                    self.violation(slot, what);
                    return;
                }
            };
            if !self.drain_frames(slot) || !more {
                return;
            }
        }
    }

    /// The socket of a worker that answered over its rings, before it
    /// serves, became readable: its end of stream, or bytes that break the
    /// protocol.
    fn socket_after_rings(&mut self, slot: usize) {
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        let mut buf = [0u8; 64];
        match std::io::Read::read(&mut DontWait(&p.conn.fd), &mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(0) | Err(_) => p.socket_closed(),
            Ok(n) => self.violation(
                slot,
                format!("{n} bytes on its socket after it moved to shared memory"),
            ),
        }
    }

    /// Reads what `slot`'s reply ring holds and handles the frames.
    fn read_ring(&mut self, slot: usize) {
        loop {
            let Some(p) = &mut self.procs[slot] else {
                return;
            };
            if p.violation.is_some() || p.phase == Phase::Retired {
                return;
            }
            if matches!(p.shm, Shm::Offered(_)) {
                // It answered over the rings: they are its transport now.
                if let Shm::Offered(offer) = std::mem::take(&mut p.shm) {
                    p.shm = Shm::On(offer.accept(&p.conn));
                }
            }
            if matches!(p.shm, Shm::Desk) {
                return self.read_desk(slot);
            }
            let Shm::On(ring) = &p.shm else {
                return;
            };
            let more = match p.reader.fill_from(&mut RingNow(ring)) {
                Ok(Fill::Read(_) | Fill::Full) => true,
                Ok(Fill::WouldBlock | Fill::Eof) => false,
                Err(e) => {
                    let what = format!("a frame the pool cannot accept ({e})");
                    return self.violation(slot, what);
                }
            };
            if !self.drain_frames(slot) || !more {
                return;
            }
        }
    }

    /// Handles the replies at `slot`'s desk: those a waiter left, then
    /// what its ring holds.
    fn read_desk(&mut self, slot: usize) {
        let inner = self.inner.clone();
        loop {
            let next = {
                let mut desk = inner.desks[slot].lock();
                let Some(s) = desk.as_mut() else {
                    return;
                };
                let next = s.next();
                // Anything but the `Done` of the task the worker runs breaks
                // the protocol: waiters stop reading at once, before the
                // lock is released, or one could take a later frame (the
                // violator's own `Done`) before the worker is retired.
                let routine = match &next {
                    Ok(None) => true,
                    Ok(Some(Reply::Done { generation, .. })) => {
                        inner.book.lock().running(slot) == Some(*generation)
                    }
                    _ => false,
                };
                if !routine {
                    s.close();
                }
                next
            };
            match next {
                Ok(None) => return,
                Ok(Some(reply)) => self.handle(slot, reply),
                Err(what) => return self.violation(slot, what),
            }
            let Some(p) = &self.procs[slot] else {
                return;
            };
            if p.violation.is_some() || p.phase == Phase::Retired {
                return;
            }
        }
    }

    /// Whether the reply ring of `slot` (or its desk) holds something.
    fn has_replies(&self, slot: usize) -> bool {
        match &self.procs[slot] {
            Some(p) if matches!(p.shm, Shm::Desk) => self.inner.desks[slot]
                .lock()
                .as_ref()
                .is_some_and(|s| s.has_work()),
            Some(p) => p.shm.has_replies(),
            None => false,
        }
    }

    /// Reads every reply ring that holds bytes.
    fn read_rings(&mut self) {
        for slot in 0..self.procs.len() {
            if self.has_replies(slot) {
                self.read_ring(slot);
            }
        }
    }

    /// Whether some reply ring holds bytes.
    fn rings_readable(&self) -> bool {
        (0..self.procs.len()).any(|slot| self.has_replies(slot))
    }

    /// Arms (before `poll` blocks) or disarms every reply ring's doorbell;
    /// those at desks only if `desks` (waiters keep those disarmed while
    /// they help, see `driver.rs`).
    fn arm_rings(&self, armed: bool, desks: bool) {
        for (slot, p) in self.procs.iter().enumerate() {
            let Some(p) = p else { continue };
            if matches!(p.shm, Shm::Desk) {
                if !desks {
                    continue;
                }
                if let Some(s) = self.inner.desks[slot].lock().as_ref() {
                    s.arm(armed);
                }
            } else if let Some(r) = p.shm.replies() {
                if armed {
                    r.arm_reader();
                } else {
                    r.disarm_reader();
                }
            }
        }
    }

    /// Handles every complete frame buffered for `slot`; `false` once the
    /// worker must not be read any more.
    fn drain_frames(&mut self, slot: usize) -> bool {
        loop {
            let Some(p) = &mut self.procs[slot] else {
                return false;
            };
            if p.violation.is_some() || p.phase == Phase::Retired {
                return false;
            }
            let reply = match p.reader.next_frame() {
                Ok(None) => return true,
                Ok(Some(frame)) => concur_ipc::decode::<Reply>(frame),
                Err(e) => {
                    let what = format!("a frame the pool cannot accept ({e})");
                    self.violation(slot, what);
                    return false;
                }
            };
            match reply {
                Ok(r) => self.handle(slot, r),
                Err(e) => {
                    let what = format!("a frame that is not a reply ({e})");
                    self.violation(slot, what);
                    return false;
                }
            }
        }
    }

    /// The worker of `slot` sent `what`, against the protocol: it is
    /// killed, never read again and (if serving) retired at once, its task
    /// failing with a [`ProtocolViolation`].
    fn violation(&mut self, slot: usize, what: String) {
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        p.eof = true;
        p.kill(KillReason::Protocol);
        if p.violation.is_none() {
            p.violation = Some(what.clone());
        }
        if matches!(p.phase, Phase::Ready | Phase::Exiting) {
            p.phase = Phase::Retired;
            self.inner.desks[slot].close();
            let pid = p.pid as u32;
            let task = self.inner.book.lock().retire(slot);
            __event!(
                warn,
                pool = %self.inner.config.name,
                slot,
                pid,
                received = %what,
                "worker process broke the protocol; it is killed and retired"
            );
            if let Some(task) = task {
                self.inner.stats.tasks_failed(1);
                let error = Error::infrastructure(
                    ErrorKind::Protocol,
                    ProtocolViolation {
                        pid,
                        received: what,
                    },
                );
                let cbs = task.fail(error);
                self.defer(cbs);
            }
        }
    }

    fn handle(&mut self, slot: usize, reply: Reply) {
        let Some(p) = &mut self.procs[slot] else {
            return;
        };
        let max_frame = self.inner.config.max_frame;
        let running = || self.inner.book.lock().running(slot).is_some();
        match (p.phase, reply) {
            (Phase::Hello, Reply::Hello(hello)) => {
                if let Err(why) = hello.check() {
                    p.kill(KillReason::Stop);
                    let e = Error::broken(format!("worker refused at handshake: {why}"), None);
                    return self.break_pool(e);
                }
                p.phase = Phase::Init;
                p.reader.set_limit(max_frame);
                // Encoded once by `build` (initializer and its arguments);
                // sent with the worker's rings (made at launch) if it has
                // them.
                let init = &self.inner.config.init_frame;
                let offer = match std::mem::take(&mut p.shm) {
                    Shm::Made(offer) => Some(offer),
                    _ => None,
                };
                let sent = match offer {
                    Some(mut offer) => {
                        let sent = offer.send(&p.conn, init, &self.inner.wake);
                        p.shm = Shm::Offered(offer);
                        sent
                    }
                    None => p.conn.send(init),
                };
                if sent.is_err() {
                    p.kill(KillReason::Protocol);
                }
            }
            (Phase::Hello, Reply::MissingInit { pid }) => {
                p.kill(KillReason::Stop);
                self.break_pool(start_broken(format!(
                    "worker process {pid} is a copy of this program whose `main` does not call \
                     the worker guard (it reached a pool's `build` instead): {}",
                    init_hint()
                )));
            }
            (Phase::Init, Reply::Ready) => {
                __event!(
                    info,
                    pool = %self.inner.config.name,
                    slot,
                    pid = p.pid,
                    "worker process started"
                );
                p.phase = Phase::Ready;
                p.since = Instant::now();
                if matches!(p.shm, Shm::On(_))
                    && let Shm::On(ring) = std::mem::replace(&mut p.shm, Shm::Desk)
                {
                    // Its replies are read at its desk from now on, by the
                    // dispatcher or a waiter (see `desk.rs`).
                    let reader = std::mem::replace(&mut p.reader, FrameReader::new(max_frame));
                    self.inner.desks[slot].open(p.pid, ring, reader, p.timing);
                }
                let conn = p.conn.clone();
                {
                    let mut status = self.inner.status.lock();
                    status.started[slot] = true;
                    status.on_rings[slot] = p.conn.on_ring();
                }
                self.inner.cond.notify_all();
                let next = self.inner.book.lock().ready(slot, conn);
                if let Some(a) = next {
                    self.inner.send_assignment(a);
                }
            }
            (Phase::Init, Reply::InitFailed(e)) => {
                let name = self.inner.config.initializer.unwrap_or("?");
                __event!(
                    error,
                    pool = %self.inner.config.name,
                    slot,
                    pid = p.pid,
                    initializer = name,
                    error = %e,
                    "the initializer failed in a worker process"
                );
                p.phase = Phase::Exiting;
                p.exit_deadline = Instant::now().checked_add(EXIT_GRACE);
                self.break_pool(Error::broken(
                    format!("the initializer `{name}` failed in a worker"),
                    Some(Box::new(e)),
                ));
            }
            (
                Phase::Ready,
                Reply::Done {
                    generation,
                    results,
                },
            ) if running() => {
                let pid = p.pid;
                let attachments = Attachments::from_fds(std::mem::take(&mut p.fds));
                self.record_done(slot);
                let done = self.inner.book.lock().done(slot, generation);
                if done.retire {
                    self.retire(slot);
                }
                if let Some(a) = done.next {
                    self.inner.send_assignment(a);
                }
                match done.task {
                    Some(task) => {
                        self.inner
                            .complete(slot, pid, generation, task, results, attachments);
                    }
                    None => self.violation(
                        slot,
                        format!("a reply to task {generation}, which it was not running"),
                    ),
                }
            }
            (phase, other) => {
                let what = format!(
                    "{} while {}",
                    describe(&other),
                    match phase {
                        Phase::Hello => "the pool awaited its handshake",
                        Phase::Init => "the pool awaited its initializer",
                        Phase::Ready if running() => "running a task",
                        Phase::Ready => "idle",
                        Phase::Exiting => "told to exit",
                        Phase::Retired => "retired",
                    }
                );
                self.violation(slot, what);
            }
        }
    }

    fn reap(&mut self, slot: usize) {
        let Some(p) = self.procs[slot].take() else {
            return;
        };
        // Its ring is unmapped with it; no waiter reads it any more.
        drop(self.inner.desks[slot].take());
        let cause = self.launcher.exit_cause(&p);
        self.inner.status.lock().pids[slot] = None;
        let (death, ever_ready, broken) = {
            let mut book = self.inner.book.lock();
            let ever = book.ever_ready();
            let broken = book.broken().cloned();
            (book.died(slot), ever, broken)
        };
        let pid = p.pid as u32;
        let gone = Cause::of(p.kill_reason, p.phase);
        if p.phase == Phase::Exiting && p.kill_reason.is_none() {
            __event!(debug, pool = %self.inner.config.name, slot, pid, cause = %cause, "worker process exited");
        } else if gone.is_fault() {
            __event!(
                warn,
                pool = %self.inner.config.name,
                slot,
                pid,
                cause = %cause,
                exit_code = exit_code(cause),
                signal = signal(cause),
                reason = gone.as_str(),
                "worker process died"
            );
        } else {
            __event!(
                info,
                pool = %self.inner.config.name,
                slot,
                pid,
                cause = %cause,
                reason = gone.as_str(),
                "worker process killed"
            );
        }
        if let Some(task) = death.task {
            let _generation = task.generation();
            if p.kill_reason == Some(KillReason::Cancelled) {
                self.inner.stats.tasks_cancelled(1);
                __event!(debug, pool = %self.inner.config.name, slot, pid, task = _generation, "task cancelled: its worker was killed");
            } else {
                self.inner.stats.tasks_failed(1);
                __event!(debug, pool = %self.inner.config.name, slot, pid, task = _generation, reason = gone.as_str(), "task failed: its worker is gone");
            }
            let error = match (p.kill_reason, &broken) {
                (Some(KillReason::Timeout), _) => Error::timeout(format!(
                    "the task ran longer than the pool's task_timeout of {:?}; its worker \
                     process {pid} was killed",
                    self.inner.config.task_timeout.unwrap_or_default()
                )),
                (Some(KillReason::Cancelled), _) => Error::cancelled(),
                // Killed because the pool broke: say why it broke.
                (Some(KillReason::Stop), Some(e)) => e.clone(),
                _ => WorkerDied { pid, cause }.into_error(),
            };
            let cbs = task.fail(error);
            self.defer(cbs);
        }
        let mut verdict = death.verdict;
        let starting = matches!(p.phase, Phase::Hello | Phase::Init);
        if starting
            && verdict != Verdict::Stop
            && !ever_ready
            && p.phase == Phase::Hello
            && p.kill_reason == Some(KillReason::StartTimeout)
        {
            // Alive but silent: this binary does not divert its copies.
            verdict = Verdict::Break;
        }
        if let Verdict::Replace { after: _after } = verdict {
            self.inner.stats.replaced(gone);
            if gone.is_fault() {
                __event!(
                    warn,
                    pool = %self.inner.config.name,
                    slot,
                    old_pid = pid,
                    reason = gone.as_str(),
                    after_ms = _after.as_millis() as u64,
                    "worker process will be replaced"
                );
            } else {
                __event!(
                    info,
                    pool = %self.inner.config.name,
                    slot,
                    old_pid = pid,
                    reason = gone.as_str(),
                    after_ms = _after.as_millis() as u64,
                    "worker process will be replaced"
                );
            }
        }
        let config = &self.inner.config;
        let initializer = config.initializer;
        let start_timeout = config.start_timeout.unwrap_or(Duration::MAX);
        self.apply(slot, verdict, || {
            let why = match (p.phase, p.kill_reason, &p.violation) {
                (_, _, Some(v)) => {
                    format!("worker process {pid} broke the protocol while starting: it sent {v}")
                }
                (Phase::Hello, Some(KillReason::StartTimeout), _) => format!(
                    "worker process {pid} did not complete the handshake within \
                     {start_timeout:?}: {}",
                    init_hint()
                ),
                (Phase::Hello, _, _) => format!(
                    "worker process {pid} {cause} before completing the handshake: {}",
                    init_hint()
                ),
                (_, Some(KillReason::StartTimeout), _) => match initializer {
                    Some(name) => format!(
                        "the initializer `{name}` did not finish within {start_timeout:?} in \
                         worker process {pid}"
                    ),
                    None => format!(
                        "worker process {pid} did not finish starting within {start_timeout:?}"
                    ),
                },
                _ => match initializer {
                    Some(name) => {
                        format!(
                            "worker process {pid} {cause} while running the initializer `{name}`"
                        )
                    }
                    None => format!("worker process {pid} {cause} while starting"),
                },
            };
            let tries = concur_remote::MAX_START_ATTEMPTS;
            if starting
                && !ever_ready
                && verdict == Verdict::Break
                && p.kill_reason != Some(KillReason::StartTimeout)
            {
                start_broken(format!(
                    "{why} (the last of {tries} starts in a row that failed)"
                ))
            } else {
                start_broken(why)
            }
        });
    }
}

/// The exit code of a worker that exited (an event field).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
fn exit_code(cause: ExitCause) -> Option<i32> {
    match cause {
        ExitCause::Code(c) => Some(c),
        _ => None,
    }
}

/// The signal that killed a worker (an event field).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
fn signal(cause: ExitCause) -> Option<i32> {
    match cause {
        ExitCause::Signal(s) => Some(s),
        _ => None,
    }
}

/// The pool's error when workers cannot be started.
fn start_broken(why: String) -> Error {
    Error::broken(why, None)
}

fn give_up(e: &LaunchError) -> String {
    format!(
        "{e} (the last of {} starts in a row that failed, with no worker ever started)",
        concur_remote::MAX_START_ATTEMPTS
    )
}

/// A reply, named for a protocol-violation message.
fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Hello(h) => format!("a Hello frame (pid {})", h.pid),
        Reply::Ready => "a Ready frame".into(),
        Reply::InitFailed(_) => "an InitFailed frame".into(),
        Reply::Done { generation, .. } => format!("a Done frame for task {generation}"),
        Reply::MissingInit { pid } => format!("a MissingInit frame (pid {pid})"),
    }
}

/// Tells the worker `p`, serving, to exit: it is `Exiting` (killed after
/// `EXIT_GRACE`, or now if the request cannot be sent) and waiters no
/// longer read its desk.
fn tell_to_exit(p: &mut Proc, desk: &Desk, max_frame: usize) {
    p.phase = Phase::Exiting;
    p.exit_deadline = Instant::now().checked_add(EXIT_GRACE);
    if send_request(p, &Request::Exit, max_frame).is_err() {
        p.kill(KillReason::Stop);
    }
    desk.close();
}

fn send_request(p: &Proc, request: &Request, max_frame: usize) -> std::io::Result<()> {
    let mut out = Vec::new();
    concur_ipc::encode_frame(request, max_frame, &mut out).map_err(std::io::Error::other)?;
    p.conn.send(&out)
}
