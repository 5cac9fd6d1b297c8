//! The process pool's counters behind [`ProcessPool::stats`](crate::ProcessPool::stats),
//! and [`Cause`]: why a worker went, as its replacement is counted and
//! traced.
//!
//! The dispatcher counts worker starts, replacements and the tasks it
//! completes or fails; the handle counts the tasks `shutdown` cancels. The
//! gauges (workers alive, tasks queued and running) are read from the
//! status and the book at snapshot time. Relaxed `std` atomics: they take
//! part in no protocol (as in the thread pool's `stats.rs`).

use crate::proc::Phase;
use crate::shared::KillReason;
use concur_core::PoolStats;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a worker process went (see [`concur_core::Replacements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    Crashed,
    TimedOut,
    Killed,
    Recycled,
    FailedStart,
    Protocol,
}

impl Cause {
    /// Why a worker that was in `phase`, killed for `kill` (if it was),
    /// is gone.
    pub(crate) fn of(kill: Option<KillReason>, phase: Phase) -> Self {
        match (kill, phase) {
            (Some(KillReason::Timeout), _) => Self::TimedOut,
            (Some(KillReason::Protocol), _) => Self::Protocol,
            (Some(KillReason::StartTimeout), _) | (None, Phase::Hello | Phase::Init) => {
                Self::FailedStart
            }
            (Some(KillReason::Cancelled | KillReason::Stop), _) => Self::Killed,
            // Told to exit: after `max_tasks_per_child` (a shutdown that
            // tells workers to exit replaces none).
            (None, Phase::Exiting) => Self::Recycled,
            (None, Phase::Ready | Phase::Retired) => Self::Crashed,
        }
    }

    /// The cause's name in events (the `Replacements` field it counts in).
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Crashed => "crashed",
            Self::TimedOut => "timed_out",
            Self::Killed => "killed",
            Self::Recycled => "recycled",
            Self::FailedStart => "failed_start",
            Self::Protocol => "protocol",
        }
    }

    /// Whether a worker going so is a fault worth a warning (a recycled or
    /// deliberately killed worker is not).
    pub(crate) fn is_fault(self) -> bool {
        !matches!(self, Self::Recycled | Self::Killed)
    }
}

/// The pool's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    started: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    crashed: AtomicU64,
    timed_out: AtomicU64,
    killed: AtomicU64,
    recycled: AtomicU64,
    failed_start: AtomicU64,
    protocol: AtomicU64,
}

fn add(c: &AtomicU64, n: u64) {
    // ORDERING: statistics; nothing is published through them.
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    // ORDERING: as in `add`.
    c.load(Ordering::Relaxed)
}

impl Counters {
    /// A worker process was launched.
    pub(crate) fn worker_started(&self) {
        add(&self.started, 1);
    }

    /// A task ended with a reply: completed, or `failed`.
    pub(crate) fn task_done(&self, failed: bool) {
        add(
            if failed {
                &self.failed
            } else {
                &self.completed
            },
            1,
        );
    }

    /// A task failed without a reply (its worker died, broke the protocol,
    /// or the pool broke).
    pub(crate) fn tasks_failed(&self, n: usize) {
        add(&self.failed, n as u64);
    }

    /// Tasks were cancelled (by `shutdown`, or killed by `kill`).
    pub(crate) fn tasks_cancelled(&self, n: usize) {
        add(&self.cancelled, n as u64);
    }

    /// A gone worker's slot gets a new one.
    pub(crate) fn replaced(&self, cause: Cause) {
        add(
            match cause {
                Cause::Crashed => &self.crashed,
                Cause::TimedOut => &self.timed_out,
                Cause::Killed => &self.killed,
                Cause::Recycled => &self.recycled,
                Cause::FailedStart => &self.failed_start,
                Cause::Protocol => &self.protocol,
            },
            1,
        );
    }

    /// The snapshot, with the gauges the caller read: workers alive, tasks
    /// queued and running, and the queued tasks the book skipped as
    /// cancelled.
    pub(crate) fn snapshot(
        &self,
        alive: usize,
        queued: usize,
        running: usize,
        skipped: u64,
    ) -> PoolStats {
        let mut s = PoolStats::default();
        s.workers_alive = alive;
        s.workers_started = get(&self.started);
        s.replaced.crashed = get(&self.crashed);
        s.replaced.timed_out = get(&self.timed_out);
        s.replaced.killed = get(&self.killed);
        s.replaced.recycled = get(&self.recycled);
        s.replaced.failed_start = get(&self.failed_start);
        s.replaced.protocol = get(&self.protocol);
        s.queued = queued;
        s.running = running;
        s.completed = get(&self.completed);
        s.failed = get(&self.failed);
        s.cancelled = get(&self.cancelled) + skipped;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_by_phase_and_kill_reason() {
        assert_eq!(Cause::of(None, Phase::Ready), Cause::Crashed);
        assert_eq!(Cause::of(None, Phase::Hello), Cause::FailedStart);
        assert_eq!(Cause::of(None, Phase::Init), Cause::FailedStart);
        assert_eq!(Cause::of(None, Phase::Exiting), Cause::Recycled);
        let killed = |r| Cause::of(Some(r), Phase::Ready);
        assert_eq!(killed(KillReason::Timeout), Cause::TimedOut);
        assert_eq!(killed(KillReason::Cancelled), Cause::Killed);
        assert_eq!(killed(KillReason::Stop), Cause::Killed);
        assert_eq!(killed(KillReason::Protocol), Cause::Protocol);
        assert_eq!(
            Cause::of(Some(KillReason::StartTimeout), Phase::Hello),
            Cause::FailedStart
        );
        assert!(Cause::Crashed.is_fault() && !Cause::Recycled.is_fault());
    }

    #[test]
    fn every_replacement_lands_in_its_own_field() {
        let c = Counters::default();
        for cause in [
            Cause::Crashed,
            Cause::TimedOut,
            Cause::TimedOut,
            Cause::Recycled,
        ] {
            c.replaced(cause);
        }
        c.task_done(false);
        c.task_done(true);
        c.tasks_failed(2);
        c.tasks_cancelled(1);
        let s = c.snapshot(2, 3, 1, 4);
        assert_eq!(
            (
                s.replaced.crashed,
                s.replaced.timed_out,
                s.replaced.recycled
            ),
            (1, 2, 1)
        );
        assert_eq!(s.replaced.total(), 4);
        assert_eq!((s.completed, s.failed, s.cancelled), (1, 3, 5));
        assert_eq!((s.workers_alive, s.queued, s.running), (2, 3, 1));
    }
}
