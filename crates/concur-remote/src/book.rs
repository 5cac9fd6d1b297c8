//! The pool's bookkeeping as a plain state machine without I/O, codec or
//! clock: the queue, each worker slot's state, the supervision policy. A
//! transport keeps it under one mutex; submitting threads and the I/O
//! thread call it, then do the I/O it asks for (send a frame, start or
//! kill a worker) outside the lock. Model-checked under loom
//! (`tests/loom.rs`).
//!
//! Invariants:
//! * a task is in exactly one place: the queue, one `Busy` slot, or handed
//!   back to the caller to be completed, failed or cancelled;
//! * a slot is assigned work only when `Idle`; a reply is accepted only
//!   from a `Busy` slot whose generation matches;
//! * a `Retiring` slot is never handed work and its replies are ignored;
//! * once `closed`, nothing new is queued; once `broken`, the queue is
//!   empty.

use crate::policy::{MAX_START_ATTEMPTS, Verdict, backoff};
use crate::remote_call::RemoteCall;
use concur_core::Error;
use std::collections::VecDeque;

/// A running task in a slot.
#[derive(Debug)]
pub struct Running {
    generation: u64,
    task: RemoteCall,
}

/// What a worker slot is doing.
#[derive(Debug)]
pub enum WorkerSlot<C> {
    /// No worker (before the first start, or between death and restart).
    Vacant,
    /// A worker was launched; its handshake or initializer is not done.
    Starting,
    /// Ready for a task, reachable through the connection.
    Idle(C),
    /// Running a task.
    Busy(C, Running),
    /// Told to exit, or retired for breaking the protocol: never given
    /// work again, its replies ignored.
    Retiring,
}

/// Work for the caller: send `frame` to the worker of `slot` over `conn`.
#[derive(Debug)]
pub struct Assignment<C> {
    /// The slot.
    pub slot: usize,
    /// The worker's connection.
    pub conn: C,
    /// The task's generation.
    pub generation: u64,
    /// The encoded request frame (length prefix included).
    pub frame: Vec<u8>,
    /// Descriptors to send with it (see [`RemoteCall::attach`]).
    pub attachments: concur_ipc::attach::Attachments,
}

/// What a reply did.
#[derive(Debug)]
#[must_use]
pub struct Done<C> {
    /// The finished task, to complete with the results (`None`: a stale
    /// reply, ignored).
    pub task: Option<RemoteCall>,
    /// The next assignment for the same worker, if work was queued.
    pub next: Option<Assignment<C>>,
    /// The worker reached `max_tasks_per_child`: tell it to exit.
    pub retire: bool,
}

/// What a worker's death means.
#[derive(Debug)]
#[must_use]
pub struct Death {
    /// The task it was running, to fail.
    pub task: Option<RemoteCall>,
    /// Whether (and when) to start a new worker in its slot.
    pub verdict: Verdict,
}

/// The bookkeeping.
#[derive(Debug)]
pub struct Book<C> {
    queue: VecDeque<RemoteCall>,
    slots: Vec<WorkerSlot<C>>,
    done_per_slot: Vec<u64>,
    /// Consecutive failed starts per slot (for the backoff).
    failures: Vec<u32>,
    /// Consecutive failed starts in the whole pool while no worker was
    /// ever ready.
    failed_starts: u32,
    ever_ready: bool,
    max_tasks_per_child: Option<u64>,
    closed: bool,
    broken: Option<Error>,
    /// Queued tasks skipped because every future was cancelled.
    skipped: u64,
    /// When each slot last turned idle (a counter, not a clock): work goes
    /// to the most recently freed worker, whose caches and scheduler slot
    /// are warm, not to the one idle longest (an MPI worker idle for long
    /// sleeps in its back-off: 161–344 µs round trips with FIFO dispatch).
    freed_at: Vec<u64>,
    freed: u64,
}

impl<C: Clone> Book<C> {
    /// `workers` vacant slots.
    ///
    /// # Examples
    ///
    /// ```
    /// let book = concur_remote::Book::<u8>::new(2, Some(10));
    /// assert_eq!(book.slots(), 2);
    /// ```
    #[must_use]
    pub fn new(workers: usize, max_tasks_per_child: Option<u64>) -> Self {
        Self {
            queue: VecDeque::new(),
            slots: (0..workers).map(|_| WorkerSlot::Vacant).collect(),
            done_per_slot: vec![0; workers],
            failures: vec![0; workers],
            failed_starts: 0,
            ever_ready: false,
            max_tasks_per_child,
            closed: false,
            broken: None,
            skipped: 0,
            freed_at: vec![0; workers],
            freed: 0,
        }
    }

    /// Number of slots.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_remote::Book::<u8>::new(3, None).slots(), 3);
    /// ```
    #[must_use]
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The state of `slot`.
    ///
    /// # Examples
    ///
    /// ```
    /// let book = concur_remote::Book::<u8>::new(1, None);
    /// assert!(matches!(book.slot(0), concur_remote::WorkerSlot::Vacant));
    /// ```
    #[must_use]
    pub fn slot(&self, slot: usize) -> &WorkerSlot<C> {
        &self.slots[slot]
    }

    /// Why new work is refused, if it is.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// assert!(book.refusal().is_none());
    /// let _ = book.close(false);
    /// assert!(book.refusal().is_some());
    /// ```
    #[must_use]
    pub fn refusal(&self) -> Option<Error> {
        if let Some(e) = &self.broken {
            return Some(e.clone());
        }
        self.closed.then(Error::shutdown)
    }

    /// Why the pool is broken, if it is.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_remote::Book::<u8>::new(1, None).broken().is_none());
    /// ```
    #[must_use]
    pub fn broken(&self) -> Option<&Error> {
        self.broken.as_ref()
    }

    /// Whether shutdown was requested.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_remote::Book::<u8>::new(1, None).is_closed());
    /// ```
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether some worker ever completed its start (handshake and
    /// initializer).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// book.starting(0);
    /// let _ = book.ready(0, 1);
    /// assert!(book.ever_ready());
    /// ```
    #[must_use]
    pub fn ever_ready(&self) -> bool {
        self.ever_ready
    }

    /// Tasks waiting for a worker.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_remote::Book::<u8>::new(1, None).queued(), 0);
    /// ```
    #[must_use]
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Tasks running on a worker (busy slots).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_remote::Book::<u8>::new(2, None).busy(), 0);
    /// ```
    #[must_use]
    pub fn busy(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s, WorkerSlot::Busy(..)))
            .count()
    }

    /// How many queued tasks were dropped without running because all
    /// their futures had been cancelled (a statistic: a worker skips them
    /// when it takes the next task).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Promise;
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// let (p, fut) = Promise::new();
    /// let task = concur_remote::RemoteCall::from_frame(1, vec![],
    ///     Box::new(concur_remote::Promises::<one>::new(vec![p])));
    /// assert!(book.submit(task).unwrap().is_none());
    /// assert!(fut.cancel());
    /// book.starting(0);
    /// assert!(book.ready(0, 9).is_none(), "the cancelled task is skipped");
    /// assert_eq!(book.skipped_cancelled(), 1);
    /// ```
    #[must_use]
    pub fn skipped_cancelled(&self) -> u64 {
        self.skipped
    }

    /// Whether every accepted task has finished (queue empty, none busy).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_remote::Book::<u8>::new(1, None).is_idle());
    /// ```
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.slots.iter().any(|s| matches!(s, WorkerSlot::Busy(..)))
    }

    /// Queues `task`, or assigns it at once to an idle worker.
    ///
    /// # Errors
    ///
    /// The task back with the reason, if the pool is closed or broken.
    ///
    /// # Examples
    ///
    /// See the [crate docs](crate).
    #[allow(clippy::result_large_err)]
    pub fn submit(
        &mut self,
        task: RemoteCall,
    ) -> Result<Option<Assignment<C>>, (RemoteCall, Error)> {
        if let Some(e) = self.refusal() {
            return Err((task, e));
        }
        self.queue.push_back(task);
        let idle = (0..self.slots.len())
            .filter(|i| matches!(self.slots[*i], WorkerSlot::Idle(_)))
            .max_by_key(|i| self.freed_at[*i]);
        Ok(idle.and_then(|i| self.assign(i)))
    }

    /// Notes that `slot` turned idle now (see `freed_at`).
    fn stamp_freed(&mut self, slot: usize) {
        self.freed += 1;
        self.freed_at[slot] = self.freed;
    }

    /// Gives the next queued, not cancelled task to idle `slot`.
    fn assign(&mut self, slot: usize) -> Option<Assignment<C>> {
        let WorkerSlot::Idle(conn) = &self.slots[slot] else {
            return None;
        };
        let conn = conn.clone();
        while let Some(mut task) = self.queue.pop_front() {
            if !task.start() {
                self.skipped += 1;
                continue;
            }
            let generation = task.generation();
            let (frame, attachments) = task.take_frame();
            self.slots[slot] = WorkerSlot::Busy(conn.clone(), Running { generation, task });
            return Some(Assignment {
                slot,
                conn,
                generation,
                frame,
                attachments,
            });
        }
        None
    }

    /// A new worker was launched in `slot` (handshake pending).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// book.starting(0);
    /// assert!(matches!(book.slot(0), concur_remote::WorkerSlot::Starting));
    /// ```
    pub fn starting(&mut self, slot: usize) {
        self.slots[slot] = WorkerSlot::Starting;
        self.done_per_slot[slot] = 0;
    }

    /// The worker in `slot` finished its handshake and initializer; returns
    /// its first assignment if work is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// book.starting(0);
    /// assert!(book.ready(0, 5).is_none());
    /// assert!(matches!(book.slot(0), concur_remote::WorkerSlot::Idle(5)));
    /// ```
    pub fn ready(&mut self, slot: usize, conn: C) -> Option<Assignment<C>> {
        if !matches!(self.slots[slot], WorkerSlot::Starting) {
            return None;
        }
        self.ever_ready = true;
        self.failed_starts = 0;
        self.failures[slot] = 0;
        self.slots[slot] = WorkerSlot::Idle(conn);
        self.stamp_freed(slot);
        self.assign(slot)
    }

    /// The generation `slot` is running, if it is busy.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_remote::Book::<u8>::new(1, None).running(0), None);
    /// ```
    #[must_use]
    pub fn running(&self, slot: usize) -> Option<u64> {
        match &self.slots[slot] {
            WorkerSlot::Busy(_, r) => Some(r.generation),
            _ => None,
        }
    }

    /// The worker in `slot` answered the task of `generation`.
    ///
    /// # Examples
    ///
    /// See the [crate docs](crate).
    pub fn done(&mut self, slot: usize, generation: u64) -> Done<C> {
        let stale = Done {
            task: None,
            next: None,
            retire: false,
        };
        let conn = match &self.slots[slot] {
            WorkerSlot::Busy(c, r) if r.generation == generation => c.clone(),
            _ => return stale,
        };
        let WorkerSlot::Busy(_, running) =
            std::mem::replace(&mut self.slots[slot], WorkerSlot::Idle(conn))
        else {
            unreachable!("checked above")
        };
        self.done_per_slot[slot] += 1;
        let retire = self
            .max_tasks_per_child
            .is_some_and(|max| self.done_per_slot[slot] >= max);
        let next = if retire {
            self.slots[slot] = WorkerSlot::Retiring;
            None
        } else {
            self.stamp_freed(slot);
            self.assign(slot)
        };
        Done {
            task: Some(running.task),
            next,
            retire,
        }
    }

    /// The worker in `slot` is being told to exit (shutdown).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// book.starting(0);
    /// let _ = book.ready(0, 1);
    /// book.exiting(0);
    /// assert!(matches!(book.slot(0), concur_remote::WorkerSlot::Retiring));
    /// ```
    pub fn exiting(&mut self, slot: usize) {
        if matches!(self.slots[slot], WorkerSlot::Idle(_) | WorkerSlot::Starting) {
            self.slots[slot] = WorkerSlot::Retiring;
        }
    }

    /// The worker in `slot` broke the protocol: it is retired at once
    /// (never given work again, its replies ignored); returns the task it
    /// was running, to fail.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// book.starting(0);
    /// assert!(book.retire(0).is_none());
    /// assert!(matches!(book.slot(0), concur_remote::WorkerSlot::Retiring));
    /// ```
    pub fn retire(&mut self, slot: usize) -> Option<RemoteCall> {
        match std::mem::replace(&mut self.slots[slot], WorkerSlot::Retiring) {
            WorkerSlot::Busy(_, r) => Some(r.task),
            _ => None,
        }
    }

    /// Whether a gone worker's slot should be filled again, with no wait.
    fn replace_now(&self) -> Verdict {
        if self.broken.is_some() || (self.closed && self.queue.is_empty()) {
            Verdict::Stop
        } else {
            Verdict::Replace {
                after: std::time::Duration::ZERO,
            }
        }
    }

    fn start_failure(&mut self, slot: usize) -> Verdict {
        if matches!(self.replace_now(), Verdict::Stop) {
            return Verdict::Stop;
        }
        self.failures[slot] = self.failures[slot].saturating_add(1);
        if !self.ever_ready {
            self.failed_starts = self.failed_starts.saturating_add(1);
            if self.failed_starts >= MAX_START_ATTEMPTS {
                return Verdict::Break;
            }
        }
        Verdict::Replace {
            after: backoff(self.failures[slot]),
        }
    }

    /// A worker could not be launched in `slot` (spawn or fork failed,
    /// `EMFILE`, `EAGAIN`...): the slot stays vacant.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_remote::{Book, Verdict, MAX_START_ATTEMPTS};
    /// let mut book = Book::<u8>::new(1, None);
    /// for _ in 1..MAX_START_ATTEMPTS {
    ///     assert!(matches!(book.launch_failed(0), Verdict::Replace { .. }));
    /// }
    /// assert_eq!(book.launch_failed(0), Verdict::Break);
    /// ```
    pub fn launch_failed(&mut self, slot: usize) -> Verdict {
        self.slots[slot] = WorkerSlot::Vacant;
        self.start_failure(slot)
    }

    /// The worker of `slot` is gone (died, or exited); returns the task it
    /// was running and whether to replace it.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_remote::{Book, Verdict};
    /// let mut book = Book::<u8>::new(1, None);
    /// book.starting(0);
    /// let _ = book.ready(0, 1);
    /// // Once a worker was ready, deaths in any phase mean "replace".
    /// book.starting(0);
    /// let death = book.died(0);
    /// assert!(death.task.is_none());
    /// assert_eq!(death.verdict, Verdict::Replace { after: std::time::Duration::ZERO });
    /// ```
    pub fn died(&mut self, slot: usize) -> Death {
        match std::mem::replace(&mut self.slots[slot], WorkerSlot::Vacant) {
            WorkerSlot::Busy(_, r) => Death {
                task: Some(r.task),
                verdict: self.replace_now(),
            },
            WorkerSlot::Starting => Death {
                task: None,
                verdict: self.start_failure(slot),
            },
            WorkerSlot::Idle(_) | WorkerSlot::Retiring | WorkerSlot::Vacant => Death {
                task: None,
                verdict: self.replace_now(),
            },
        }
    }

    /// The slot running the future with `id`, and its generation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_remote::Book::<u8>::new(1, None).find_future(3).is_none());
    /// ```
    #[must_use]
    pub fn find_future(&self, id: usize) -> Option<(usize, u64)> {
        self.slots.iter().enumerate().find_map(|(i, s)| match s {
            WorkerSlot::Busy(_, r) if r.task.has_future(id) => Some((i, r.generation)),
            _ => None,
        })
    }

    /// Stops accepting work; with `cancel_futures`, returns the queued tasks
    /// to cancel.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// assert!(book.close(true).is_empty());
    /// assert!(book.is_closed());
    /// ```
    #[must_use]
    pub fn close(&mut self, cancel_futures: bool) -> Vec<RemoteCall> {
        self.closed = true;
        if cancel_futures {
            self.queue.drain(..).collect()
        } else {
            Vec::new()
        }
    }

    /// Breaks the pool: refuses new work and returns the queued tasks to
    /// fail with `error`.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut book = concur_remote::Book::<u8>::new(1, None);
    /// assert!(book.break_pool(concur_core::Error::broken("x", None)).is_empty());
    /// assert!(book.broken().is_some());
    /// ```
    #[must_use]
    pub fn break_pool(&mut self, error: Error) -> Vec<RemoteCall> {
        self.closed = true;
        if self.broken.is_none() {
            self.broken = Some(error);
        }
        self.queue.drain(..).collect()
    }
}
