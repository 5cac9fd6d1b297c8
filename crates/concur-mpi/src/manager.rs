//! The manager thread: after `init`, the only thread of rank 0 that
//! receives or sends tasks (submitters only ring its doorbell). It blocks
//! in a matched probe (`MPI_Mprobe` on any source and tag; it polls under
//! `MPI_THREAD_SERIALIZED`, see `serial`), and handles what arrives: a
//! wake-up (send what the doorbell's outbox holds, see whether shutdown
//! can progress), or a worker's reply (handshake, ready, results).
//! Results are decoded here; done-callbacks run on the pool's
//! [`CallbackRunner`](concur_remote::CallbackRunner). Deaths and overruns
//! are `deaths.rs`.

mod deaths;

use crate::shared::{PoolShared, Rank, rank_of, slot_of};
use crate::tags;
use crate::watch::Event;
use concur_core::{DeferredCallbacks, Error, ErrorKind};
use concur_ipc::{Reply, Request};
use concur_remote::Assignment;
use concur_sync::sync::Arc;

/// How long a pool's shutdown waits for its workers to exit under
/// `--enable-recovery` (see `recovery`).
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where each worker is in its life, as the manager sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Its `Hello` has not arrived.
    Hello,
    /// `Init` was sent; waiting for `Ready`.
    Init,
    /// Serving.
    Ready,
    /// Sent `Exit`, or refused: nothing more is exchanged.
    Gone,
}

pub(crate) struct Manager {
    inner: Arc<PoolShared>,
    phases: Vec<Phase>,
    buf: Vec<u8>,
}

impl Manager {
    pub(crate) fn new(inner: Arc<PoolShared>) -> Self {
        let n = inner.book.lock().slots();
        {
            let mut book = inner.book.lock();
            for slot in 0..n {
                book.starting(slot);
            }
        }
        Self {
            inner,
            phases: vec![Phase::Hello; n],
            buf: Vec::new(),
        }
    }

    pub(crate) fn run(mut self) {
        let served = self.serve();
        let served_ok = served.is_ok();
        let _serial = crate::serial::lock();
        if served_ok && self.inner.spawned.is_none() && !crate::recovery::finalizes() {
            self.await_exits(EXIT_WAIT);
        }
        if let Err(e) = served {
            // An MPI call failed: nothing more can be exchanged. Fail the
            // queued and the running tasks (no future may wait forever),
            // and tell the workers to exit, best effort, so the job ends.
            let error = Error::from(e);
            self.break_pool(error.clone());
            for slot in 0..self.phases.len() {
                let death = self.inner.book.lock().died(slot);
                if let Some(task) = death.task {
                    let cbs = task.fail(error.clone());
                    self.defer(cbs);
                }
                if self.phases[slot] != Phase::Gone {
                    self.phases[slot] = Phase::Gone;
                    let _ = self.request(slot, &Request::Exit);
                }
            }
            self.inner.status.lock().mpi_failure = Some(error);
        }
        self.inner.doorbell.close();
        if let Some(inter) = self.inner.spawned {
            if served_ok {
                if let Err(e) = self.release_spawned(inter) {
                    eprintln!("concur-mpi: could not disconnect the spawned workers: {e}");
                }
            }
        }
        self.inner.stop_watcher();
        self.inner.status.lock().finished = true;
        self.inner.cond.notify_all();
    }

    /// Spawn mode, after every worker was told to exit: receives the
    /// wake-ups still queued (no submitter sends another: the doorbell is
    /// closed), frees the merged communicator and disconnects from the
    /// spawned group, which disconnects as it leaves its loop. Both sides
    /// must disconnect before either may finalize.
    fn release_spawned(&mut self, inter: crate::raw::Comm) -> Result<(), crate::MpiError> {
        let comm = self.inner.comm;
        while let Some(p) = comm.improbe(0, tags::WAKE)? {
            p.recv(&mut self.buf)?;
        }
        comm.free()?;
        inter.disconnect()
    }

    fn serve(&mut self) -> Result<(), crate::MpiError> {
        let mut idle = crate::backoff::Backoff::new();
        loop {
            // Under MPI_THREAD_SERIALIZED each turn holds the process's
            // MPI calls (see `serial`); otherwise this takes nothing.
            let serial = crate::serial::lock();
            self.flush()?;
            self.reap()?;
            self.progress_shutdown()?;
            if self.phases.iter().all(|p| *p == Phase::Gone) {
                return Ok(());
            }
            let probed = if self.inner.doorbell.polling() {
                let Some(p) = self.inner.comm.improbe_any()? else {
                    drop(serial);
                    match idle.step() {
                        d if d.is_zero() => std::thread::yield_now(),
                        d => self.inner.doorbell.wait(d),
                    }
                    continue;
                };
                idle = crate::backoff::Backoff::new();
                p
            } else {
                self.inner.comm.mprobe_any()?
            };
            let (source, tag) = (probed.source, probed.tag);
            let slot = slot_of(source, self.phases.len());
            if let Some(len) = self.take(probed)? {
                if let (Some(slot), tags::REPLY) = (slot, tag) {
                    self.oversized(slot, len);
                }
                continue;
            }
            if tag == tags::WAKE && source == 0 {
                continue;
            }
            // A message on another tag (none is sent on this private
            // communicator) or from no worker's rank is ignored.
            if let (Some(slot), tags::REPLY) = (slot, tag) {
                self.received(slot)?;
            }
        }
    }

    /// Receives `probed` into `buf` if it fits the frame limit; else takes
    /// it off the queue and drops it undecoded (see `Probed::discard`:
    /// its bytes are held only for that moment, never in `buf`, which
    /// stays at most `max_frame` long). The refused message's length, if
    /// it was refused.
    fn take(&mut self, probed: crate::raw::Probed) -> Result<Option<usize>, crate::MpiError> {
        let limit = self.inner.max_frame.saturating_add(concur_ipc::PREFIX_LEN);
        if probed.len > limit {
            let len = probed.len;
            self.buf.clear();
            probed.discard()?;
            return Ok(Some(len));
        }
        probed.recv(&mut self.buf)?;
        Ok(None)
    }

    /// `slot`'s worker sent a reply over the frame limit (its own check
    /// would have failed the items instead): it is not to be trusted.
    fn oversized(&mut self, slot: usize, len: usize) {
        let what = format!(
            "a reply of {len} bytes, over max_frame ({} bytes)",
            self.inner.max_frame
        );
        self.violation(slot, what);
    }

    /// Handles the reply of `slot`'s worker now in `buf`.
    fn received(&mut self, slot: usize) -> Result<(), crate::MpiError> {
        match crate::frame::decode::<Reply>(&self.buf) {
            Some(reply) => self.handle(slot, reply),
            None => {
                self.violation(slot, "a frame that is not a reply".into());
                Ok(())
            }
        }
    }

    /// Sends the assignments submitters left in the outbox.
    fn flush(&mut self) -> Result<(), crate::MpiError> {
        for a in self.inner.doorbell.take() {
            self.send(a)?;
        }
        Ok(())
    }

    fn send(&self, a: Assignment<Rank>) -> Result<(), crate::MpiError> {
        if self.inner.task_timeout.is_some() {
            self.inner.started.lock()[a.slot] = Some((a.generation, std::time::Instant::now()));
        }
        self.send_to(a.slot, a.frame)
    }

    fn request(&self, slot: usize, request: &Request) -> Result<(), crate::MpiError> {
        let mut frame = Vec::new();
        concur_ipc::encode_frame(request, self.inner.max_frame, &mut frame)
            .map_err(|e| crate::MpiError::new("encode", -1, e.to_string()))?;
        self.send_to(slot, frame)
    }

    /// Sends `frame` to `slot`'s worker, watching for its death meanwhile:
    /// a send to a dead rank never completes in Open MPI (a frame over the
    /// eager limit waits for the receiver forever), and a blocking send
    /// would stop the manager, and with it the pool. The send is abandoned
    /// once the watcher reports the rank dead; `reap` then fails its task.
    fn send_to(&self, slot: usize, frame: Vec<u8>) -> Result<(), crate::MpiError> {
        let mut sending = self.inner.comm.isend(frame, rank_of(slot), tags::REQUEST)?;
        let mut backoff = crate::backoff::Backoff::new();
        loop {
            if sending.test()? {
                return Ok(());
            }
            let dead = self
                .inner
                .events
                .lock()
                .iter()
                .any(|e| matches!(e, Event::Died { slot: s } if *s == slot));
            if dead {
                sending.abandon();
                return Ok(());
            }
            backoff.wait();
        }
    }

    /// Once shut down with nothing left to run, tells every ready worker
    /// to exit (workers still starting are told once they are ready).
    fn progress_shutdown(&mut self) -> Result<(), crate::MpiError> {
        let (closed, idle) = {
            let book = self.inner.book.lock();
            (book.is_closed(), book.is_idle() || book.broken().is_some())
        };
        if !(closed && idle) {
            return Ok(());
        }
        for slot in 0..self.phases.len() {
            if self.phases[slot] == Phase::Ready {
                self.inner.book.lock().exiting(slot);
                self.phases[slot] = Phase::Gone;
                self.request(slot, &Request::Exit)?;
            }
        }
        Ok(())
    }

    fn defer(&self, callbacks: Vec<DeferredCallbacks>) {
        self.inner.callbacks.run(callbacks);
    }

    fn break_pool(&self, error: Error) {
        let tasks = self.inner.book.lock().break_pool(error.clone());
        for t in tasks {
            let cbs = t.fail(error.clone());
            self.defer(cbs);
        }
        self.inner.cond.notify_all();
    }

    /// The worker of `slot` broke the protocol: retired (never given work
    /// again), its task failed with a `Protocol` error.
    fn violation(&mut self, slot: usize, what: String) {
        let rank = rank_of(slot);
        if let Some(task) = self.inner.book.lock().retire(slot) {
            let error = Error::infrastructure(
                ErrorKind::Protocol,
                format!(
                    "protocol violation by worker rank {rank}: it sent {what}; the rank was retired"
                ),
            );
            let cbs = task.fail(error);
            self.defer(cbs);
        }
        if matches!(self.phases[slot], Phase::Hello | Phase::Init) {
            let lost = {
                let mut status = self.inner.status.lock();
                status.lost += 1;
                status.lost
            };
            if lost == self.phases.len() {
                self.break_pool(Error::broken("no worker rank could start", None));
            }
            self.inner.cond.notify_all();
        }
        // It may still wait for requests: tell it to go, best effort.
        if self.phases[slot] != Phase::Gone {
            self.phases[slot] = Phase::Gone;
            let _ = self.request(slot, &Request::Exit);
        }
        // Work queued behind it must not wait for a rank that never comes.
        self.check_remaining(&format!("rank {rank}, retired for a protocol violation"));
    }

    fn handle(&mut self, slot: usize, reply: Reply) -> Result<(), crate::MpiError> {
        match (self.phases[slot], reply) {
            (Phase::Hello, Reply::Hello(hello)) => {
                let checked = if self.inner.check_build {
                    hello.check()
                } else {
                    hello.check_except_build()
                };
                if let Err(why) = checked {
                    self.phases[slot] = Phase::Gone;
                    self.request(slot, &Request::Exit)?;
                    let rank = rank_of(slot);
                    self.break_pool(Error::broken(
                        format!("worker rank {rank} refused at handshake: {why}"),
                        None,
                    ));
                    return Ok(());
                }
                self.phases[slot] = Phase::Init;
                self.request(
                    slot,
                    &Request::Init {
                        initializer: self
                            .inner
                            .initializer
                            .as_ref()
                            .map(|(f, _, args)| (*f, args.clone())),
                        max_frame: self.inner.max_frame as u64,
                    },
                )
            }
            (Phase::Init, Reply::Ready) => {
                self.phases[slot] = Phase::Ready;
                self.inner.status.lock().ready += 1;
                self.inner.cond.notify_all();
                let next = self.inner.book.lock().ready(slot, rank_of(slot));
                match next {
                    Some(a) => self.send(a),
                    None => Ok(()),
                }
            }
            (Phase::Init, Reply::InitFailed(e)) => {
                // The worker exits on its own after InitFailed.
                self.phases[slot] = Phase::Gone;
                let name = self.inner.initializer.as_ref().map_or("?", |i| i.1);
                let rank = rank_of(slot);
                self.break_pool(Error::broken(
                    format!("the initializer `{name}` failed in worker rank {rank}"),
                    Some(Box::new(e)),
                ));
                Ok(())
            }
            (
                Phase::Ready,
                Reply::Done {
                    generation,
                    results,
                },
            ) => {
                let done = self.inner.book.lock().done(slot, generation);
                if self.inner.task_timeout.is_some() && done.task.is_some() {
                    self.inner.started.lock()[slot] = None;
                }
                if let Some(a) = done.next {
                    self.send(a)?;
                }
                match done.task {
                    Some(task) => {
                        let cbs = task.complete(results).callbacks;
                        self.defer(cbs);
                    }
                    None => self.violation(
                        slot,
                        format!("a reply to task {generation}, which it was not running"),
                    ),
                }
                Ok(())
            }
            (phase, other) => {
                let what = format!("{} while in phase {phase:?}", describe(&other));
                self.violation(slot, what);
                Ok(())
            }
        }
    }
}

fn describe(reply: &Reply) -> String {
    match reply {
        Reply::Hello(h) => format!("a Hello frame (pid {})", h.pid),
        Reply::Ready => "a Ready frame".into(),
        Reply::InitFailed(_) => "an InitFailed frame".into(),
        Reply::Done { generation, .. } => format!("a Done frame for task {generation}"),
        Reply::MissingInit { pid } => format!("a MissingInit frame (pid {pid})"),
    }
}
