//! The manager's side of deaths and overruns: what the watcher noticed
//! (a rank's liveness link closed, a task ran past `task_timeout`, a rank
//! never linked), turned into failed tasks and a shrinking pool; and, at
//! the end under `--enable-recovery`, the wait for the workers' exits.

use super::{Manager, Phase};
use crate::shared::rank_of;
use crate::tags;
use crate::watch::Event;
use concur_core::Error;

impl Manager {
    /// Waits (at most `limit` in all) until every worker with a liveness
    /// link has exited: its link reads EOF. Under `--enable-recovery` no
    /// rank finalizes (see `recovery`), so this is how rank 0 knows its
    /// workers received their `Exit` before it ends.
    pub(super) fn await_exits(&self, limit: std::time::Duration) {
        let streams: Vec<(i32, std::net::TcpStream)> = {
            let links = self.inner.links.lock();
            links
                .iter()
                .enumerate()
                .filter_map(|(slot, l)| Some((rank_of(slot), l.as_ref()?.stream.try_clone().ok()?)))
                .collect()
        };
        let deadline = std::time::Instant::now() + limit;
        let mut buf = [0u8; 64];
        for (rank, mut stream) in streams {
            loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
                    eprintln!(
                        "concur-mpi: worker rank {rank} had not exited {limit:?} after the pool shut down"
                    );
                    break;
                }
                match std::io::Read::read(&mut stream, &mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    // A reset: the process is gone.
                    Err(_) => break,
                }
            }
        }
    }

    /// Handles what the watcher noticed: dead ranks, overrun tasks.
    pub(super) fn reap(&mut self) -> Result<(), crate::MpiError> {
        let events = std::mem::take(&mut *self.inner.events.lock());
        for event in events {
            match event {
                Event::Died { slot } => self.died(slot)?,
                Event::Overran { slot, generation } => self.overran(slot, generation),
                Event::Unlinked { slot } => self.unlinked(slot)?,
            }
        }
        Ok(())
    }

    /// The worker of `slot` died: its task (if any) fails with
    /// [`RankDied`](crate::RankDied); the rank is never used again.
    fn died(&mut self, slot: usize) -> Result<(), crate::MpiError> {
        if self.phases[slot] == Phase::Gone {
            // It had been told to exit, was retired, or refused: its end
            // is expected.
            return Ok(());
        }
        // A reply it sent before it died is still answered.
        let rank = rank_of(slot);
        while let Some(probed) = self.inner.comm.improbe(rank, tags::REPLY)? {
            if let Some(len) = self.take(probed)? {
                self.oversized(slot, len);
                return Ok(());
            }
            self.received(slot)?;
            if self.phases[slot] == Phase::Gone {
                return Ok(());
            }
        }
        let starting = matches!(self.phases[slot], Phase::Hello | Phase::Init);
        self.phases[slot] = Phase::Gone;
        self.inner.started.lock()[slot] = None;
        let death = self.died_error(slot);
        let task = self.inner.book.lock().died(slot).task;
        let when = if starting {
            "while starting"
        } else if task.is_some() {
            "while running a task"
        } else {
            "while idle"
        };
        if let Some(task) = task {
            let cbs = task.fail(Error::from(death.clone()));
            self.defer(cbs);
        }
        if starting {
            self.inner.status.lock().lost += 1;
            self.inner.cond.notify_all();
        }
        let what = format!("{} died {when}", death.who());
        eprintln!("concur-mpi: {what}; the pool goes on with the other ranks");
        self.check_remaining(&what);
        Ok(())
    }

    /// The worker of `slot` opened no liveness link in time. If it said
    /// `Hello` over MPI it is alive and serves on, unwatched; otherwise it
    /// died while starting (a `Hello` it sends later is answered with
    /// `Exit`).
    fn unlinked(&mut self, slot: usize) -> Result<(), crate::MpiError> {
        if self.phases[slot] == Phase::Hello {
            return self.died(slot);
        }
        if self.phases[slot] != Phase::Gone {
            eprintln!(
                "concur-mpi: worker rank {} opened no liveness link within {:?}: its death would not be noticed",
                rank_of(slot),
                crate::watch::LINK_DEADLINE
            );
        }
        Ok(())
    }

    fn died_error(&self, slot: usize) -> crate::RankDied {
        let links = self.inner.links.lock();
        let link = links[slot].as_ref();
        crate::RankDied {
            rank: rank_of(slot),
            pid: link.map(|l| l.pid),
            host: link.map(|l| l.host.clone()),
        }
    }

    /// Breaks the pool once no worker rank is left to serve it (a rank
    /// cannot be replaced in world mode). `last` says what ended the last
    /// one.
    pub(super) fn check_remaining(&self, last: &str) {
        if self.phases.iter().any(|p| *p != Phase::Gone) {
            return;
        }
        let (closed, idle) = {
            let book = self.inner.book.lock();
            (book.is_closed(), book.is_idle())
        };
        if closed && idle {
            return;
        }
        self.break_pool(Error::broken(
            format!("no worker rank is left (the last one: {last})"),
            None,
        ));
    }

    /// The task of `generation` ran past `task_timeout`: it fails with a
    /// timeout error, and its rank is retired and told to kill itself.
    fn overran(&mut self, slot: usize, generation: u64) {
        if self.inner.book.lock().running(slot) != Some(generation) {
            return;
        }
        let limit = self.inner.task_timeout.unwrap_or_default();
        let rank = rank_of(slot);
        let killed = {
            let mut links = self.inner.links.lock();
            links[slot].as_mut().is_some_and(|l| {
                std::io::Write::write_all(&mut l.stream, &[crate::liveness::KILL]).is_ok()
            })
        };
        let what = if killed {
            format!("its worker rank {rank} was killed")
        } else {
            format!("its worker rank {rank} could not be killed (no liveness link) and was retired")
        };
        if let Some(task) = self.inner.book.lock().retire(slot) {
            let error = Error::timeout(format!(
                "the task ran longer than the pool's task_timeout of {limit:?}; {what}"
            ));
            let cbs = task.fail(error);
            self.defer(cbs);
        }
        self.phases[slot] = Phase::Gone;
        self.check_remaining(&format!("rank {rank}, retired after a task_timeout"));
    }
}
