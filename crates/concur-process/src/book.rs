//! The dispatcher's bookkeeping as a plain state machine without I/O: the
//! queue, each worker slot's state, generation numbers. The pool keeps it
//! under one mutex; submitting threads and the dispatcher thread call it,
//! then do the I/O it asks for (send a frame, kill a worker) outside the
//! lock. Being free of syscalls, it is model-checked under loom
//! (`tests/loom.rs`).
//!
//! Invariants:
//! * a task is in exactly one place: the queue, one `Busy` slot, or handed
//!   back to the caller to be completed, failed or cancelled;
//! * a slot is assignable only when `Idle`; a reply is accepted only from a
//!   `Busy` slot whose generation matches;
//! * once `closed`, nothing is queued; once `broken`, the queue is empty.

// The items are `pub` only so the loom model (cfg `concur_loom`) can reach
// them through `concur_process::__loom`; the module itself is private.
#![allow(unreachable_pub)]

use concur_core::{Error, Promise, RemoteFn};
use concur_ipc::{Call, FnRef, Outcomes, Packed, RemoteError, RemoteErrorKind, Request, decode};
use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The completing side of one task: one promise per item.
pub trait Completer: Send {
    /// Marks the futures running; `false` if every one was cancelled (skip).
    fn start(&mut self) -> bool;
    /// Completes from the worker's results (decoding each output).
    fn complete(self: Box<Self>, results: Outcomes);
    /// Fails every unfinished future with `error`.
    fn fail(self: Box<Self>, error: Error);
    /// Cancels every future still pending.
    fn cancel(self: Box<Self>);
    /// Whether one of the futures has this id.
    fn has_future(&self, id: usize) -> bool;
}

/// Completes the promises of a [`RemoteFn`]'s items.
pub struct Promises<F: RemoteFn> {
    promises: Vec<Promise<F::Output>>,
}

impl<F: RemoteFn> Promises<F> {
    /// Wraps the promises of a task's items.
    pub fn new(promises: Vec<Promise<F::Output>>) -> Self {
        Self { promises }
    }
}

/// A panic payload's message.
pub(crate) fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".into())
}

fn decode_output<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let ty = std::any::type_name::<T>();
    match catch_unwind(AssertUnwindSafe(|| decode::<T>(bytes))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Error::task(RemoteError::from_error(
            RemoteErrorKind::DecodeResult,
            ty,
            &e,
        ))),
        Err(p) => Err(Error::task(RemoteError::new(
            RemoteErrorKind::DecodeResult,
            ty,
            format!("panicked: {}", panic_text(&*p)),
        ))),
    }
}

impl<F: RemoteFn> Completer for Promises<F> {
    fn start(&mut self) -> bool {
        let mut any = false;
        for p in &self.promises {
            any |= matches!(p.set_running_or_notify_cancel(), Ok(true));
        }
        any
    }

    fn complete(self: Box<Self>, results: Outcomes) {
        if results.len() != self.promises.len() {
            let e = Error::broken(
                format!(
                    "protocol error: {} results for {} items",
                    results.len(),
                    self.promises.len()
                ),
                None,
            );
            return self.fail(e);
        }
        for (p, r) in self.promises.into_iter().zip(results.iter()) {
            if p.state().is_done() {
                continue;
            }
            let outcome = match r {
                Ok(bytes) => decode_output::<F::Output>(bytes),
                Err(remote) => Err(Error::task(remote.clone())),
            };
            let _ = p.set_outcome(outcome);
        }
    }

    fn fail(self: Box<Self>, error: Error) {
        for p in self.promises {
            if !p.state().is_done() {
                let _ = p.set_exception(error.clone());
            }
        }
    }

    fn cancel(self: Box<Self>) {
        for p in self.promises {
            if !p.cancel() && !p.state().is_done() {
                let _ = p.set_exception(Error::cancelled());
            }
        }
    }

    fn has_future(&self, id: usize) -> bool {
        self.promises.iter().any(|p| p.erased_future().id() == id)
    }
}

/// Completes the one promise of a chunk (see `TaskExecutor::submit_chunk`)
/// with every item's outcome, in input order.
pub struct ChunkPromise<F: RemoteFn> {
    promise: Promise<Vec<Result<F::Output, Error>>>,
    /// Items whose arguments failed to encode (never sent), by position.
    unsent: Vec<(usize, Error)>,
    /// Items in all, sent or not.
    len: usize,
}

impl<F: RemoteFn> ChunkPromise<F> {
    /// Wraps a chunk's promise; `unsent` (ascending positions) are merged
    /// among the worker's results.
    pub fn new(
        promise: Promise<Vec<Result<F::Output, Error>>>,
        unsent: Vec<(usize, Error)>,
        len: usize,
    ) -> Self {
        Self {
            promise,
            unsent,
            len,
        }
    }
}

impl<F: RemoteFn> Completer for ChunkPromise<F> {
    fn start(&mut self) -> bool {
        matches!(self.promise.set_running_or_notify_cancel(), Ok(true))
    }

    fn complete(self: Box<Self>, results: Outcomes) {
        if results.len() + self.unsent.len() != self.len {
            let e = Error::broken(
                format!(
                    "protocol error: {} results for {} items",
                    results.len(),
                    self.len - self.unsent.len()
                ),
                None,
            );
            return self.fail(e);
        }
        let this = *self;
        let mut out = Vec::with_capacity(this.len);
        let mut unsent = this.unsent.into_iter().peekable();
        for r in results.iter() {
            while let Some((_, e)) = unsent.next_if(|(at, _)| *at == out.len()) {
                out.push(Err(e));
            }
            out.push(match r {
                Ok(bytes) => decode_output::<F::Output>(bytes),
                Err(remote) => Err(Error::task(remote.clone())),
            });
        }
        out.extend(unsent.map(|(_, e)| Err(e)));
        let _ = this.promise.set_result(out);
    }

    fn fail(self: Box<Self>, error: Error) {
        if !self.promise.state().is_done() {
            let _ = self.promise.set_exception(error);
        }
    }

    fn cancel(self: Box<Self>) {
        if !self.promise.cancel() && !self.promise.state().is_done() {
            let _ = self.promise.set_exception(Error::cancelled());
        }
    }

    fn has_future(&self, id: usize) -> bool {
        self.promise.erased_future().id() == id
    }
}

/// A call waiting for, or running on, a worker.
pub struct Task {
    func: FnRef,
    items: Packed,
    completer: Box<dyn Completer>,
}

impl Task {
    /// A task calling `func` on the encoded `items`.
    pub fn new(func: FnRef, items: Packed, completer: Box<dyn Completer>) -> Self {
        Self {
            func,
            items,
            completer,
        }
    }

    /// Completes from the worker's results.
    pub fn complete(self, results: Outcomes) {
        self.completer.complete(results);
    }

    /// Fails every unfinished future.
    pub fn fail(self, error: Error) {
        self.completer.fail(error);
    }

    /// Cancels the pending futures (fails running ones as cancelled).
    pub fn cancel(self) {
        self.completer.cancel();
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("func", &self.func)
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// A running task in a slot.
#[derive(Debug)]
pub struct Running {
    /// The assignment's generation.
    pub generation: u64,
    /// Its completing side (taken when the reply arrives).
    pub task: Task,
}

/// What a worker slot is doing.
#[derive(Debug)]
pub enum Slot<C> {
    /// No process (before the first spawn, or between death and respawn).
    Vacant,
    /// Spawned; handshake or initializer not done yet.
    Starting,
    /// Ready for a task.
    Idle(C),
    /// Running a task.
    Busy(C, Running),
    /// Told to exit (retired after `max_tasks_per_child`, or shut down).
    Exiting,
}

/// Work for the caller: send `frame` to the worker of `slot` over `conn`.
#[derive(Debug)]
pub struct Assignment<C> {
    /// The slot.
    pub slot: usize,
    /// The worker's connection.
    pub conn: C,
    /// The generation of this assignment.
    pub generation: u64,
    /// The encoded [`Request::Call`] frame (length prefix included).
    pub frame: Vec<u8>,
}

/// What happened to a reply.
#[derive(Debug)]
pub struct Reply<C> {
    /// The finished task, to complete with the results (None: a stale
    /// reply, ignored).
    pub task: Option<Task>,
    /// The next assignment for the same worker, if work was queued.
    pub next: Option<Assignment<C>>,
    /// The worker reached `max_tasks_per_child`: tell it to exit.
    pub retire: bool,
}

/// The bookkeeping.
#[derive(Debug)]
pub struct Book<C> {
    queue: VecDeque<Task>,
    slots: Vec<Slot<C>>,
    done_per_slot: Vec<u64>,
    max_tasks_per_child: Option<u64>,
    max_frame: usize,
    next_generation: u64,
    closed: bool,
    broken: Option<Error>,
}

impl<C: Clone> Book<C> {
    /// `workers` vacant slots.
    pub fn new(workers: usize, max_tasks_per_child: Option<u64>, max_frame: usize) -> Self {
        Self {
            queue: VecDeque::new(),
            slots: (0..workers).map(|_| Slot::Vacant).collect(),
            done_per_slot: vec![0; workers],
            max_tasks_per_child,
            max_frame,
            next_generation: 1,
            closed: false,
            broken: None,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The state of `slot`.
    #[cfg_attr(not(concur_loom), allow(dead_code))]
    pub fn slot(&self, slot: usize) -> &Slot<C> {
        &self.slots[slot]
    }

    /// Why new work is refused, if it is.
    pub fn refusal(&self) -> Option<Error> {
        if let Some(e) = &self.broken {
            return Some(e.clone());
        }
        self.closed.then(Error::shutdown)
    }

    /// Whether the pool is broken.
    pub fn broken(&self) -> Option<&Error> {
        self.broken.as_ref()
    }

    /// Whether shutdown was requested.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Tasks waiting for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether every accepted task has finished (queue empty, none busy).
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty() && !self.slots.iter().any(|s| matches!(s, Slot::Busy(..)))
    }

    /// Queues `task`, or assigns it at once to an idle worker.
    ///
    /// # Errors
    ///
    /// The task back with the reason, if the pool is closed or broken.
    pub fn submit(&mut self, task: Task) -> Result<Option<Assignment<C>>, (Task, Error)> {
        if let Some(e) = self.refusal() {
            return Err((task, e));
        }
        self.queue.push_back(task);
        let idle = self.slots.iter().position(|s| matches!(s, Slot::Idle(_)));
        Ok(idle.and_then(|i| self.assign(i)))
    }

    /// Gives the next queued, not cancelled task to idle `slot`.
    fn assign(&mut self, slot: usize) -> Option<Assignment<C>> {
        let Slot::Idle(conn) = &self.slots[slot] else {
            return None;
        };
        let conn = conn.clone();
        while let Some(mut task) = self.queue.pop_front() {
            if !task.completer.start() {
                continue;
            }
            let generation = self.next_generation;
            self.next_generation += 1;
            let request = Request::Call(Call {
                generation,
                func: task.func,
                items: std::mem::take(&mut task.items),
            });
            let mut frame = Vec::new();
            if let Err(e) = concur_ipc::encode_frame(&request, self.max_frame, &mut frame) {
                // Checked at submit; only a bug gets here. Fail this task only.
                task.fail(Error::task(RemoteError::from_error(
                    RemoteErrorKind::FrameTooLarge,
                    "concur_ipc::Request",
                    &e,
                )));
                continue;
            }
            self.slots[slot] = Slot::Busy(conn.clone(), Running { generation, task });
            return Some(Assignment {
                slot,
                conn,
                generation,
                frame,
            });
        }
        None
    }

    /// A new worker process exists in `slot` (handshake pending).
    pub fn starting(&mut self, slot: usize) {
        self.slots[slot] = Slot::Starting;
        self.done_per_slot[slot] = 0;
    }

    /// The worker in `slot` finished its handshake and initializer.
    pub fn ready(&mut self, slot: usize, conn: C) -> Option<Assignment<C>> {
        if !matches!(self.slots[slot], Slot::Starting) {
            return None;
        }
        self.slots[slot] = Slot::Idle(conn);
        self.assign(slot)
    }

    /// The generation `slot` is running, if it is busy.
    pub fn running(&self, slot: usize) -> Option<u64> {
        match &self.slots[slot] {
            Slot::Busy(_, r) => Some(r.generation),
            _ => None,
        }
    }

    /// The worker in `slot` answered generation `generation`.
    pub fn done(&mut self, slot: usize, generation: u64) -> Reply<C> {
        let stale = Reply {
            task: None,
            next: None,
            retire: false,
        };
        let conn = match &self.slots[slot] {
            Slot::Busy(c, r) if r.generation == generation => c.clone(),
            _ => return stale,
        };
        let Slot::Busy(_, running) = std::mem::replace(&mut self.slots[slot], Slot::Idle(conn))
        else {
            unreachable!("checked above")
        };
        self.done_per_slot[slot] += 1;
        let retire = self
            .max_tasks_per_child
            .is_some_and(|max| self.done_per_slot[slot] >= max);
        let next = if retire {
            self.slots[slot] = Slot::Exiting;
            None
        } else {
            self.assign(slot)
        };
        Reply {
            task: Some(running.task),
            next,
            retire,
        }
    }

    /// The worker in `slot` is being told to exit (shutdown).
    pub fn exiting(&mut self, slot: usize) {
        if matches!(self.slots[slot], Slot::Idle(_) | Slot::Starting) {
            self.slots[slot] = Slot::Exiting;
        }
    }

    /// The process of `slot` is gone; returns the task it was running.
    pub fn died(&mut self, slot: usize) -> Option<Task> {
        match std::mem::replace(&mut self.slots[slot], Slot::Vacant) {
            Slot::Busy(_, r) => Some(r.task),
            _ => None,
        }
    }

    /// The slot running the future with `id`, and its generation.
    pub fn find_future(&self, id: usize) -> Option<(usize, u64)> {
        self.slots.iter().enumerate().find_map(|(i, s)| match s {
            Slot::Busy(_, r) if r.task.completer.has_future(id) => Some((i, r.generation)),
            _ => None,
        })
    }

    /// Stops accepting work; with `cancel_futures`, returns the queued tasks
    /// to cancel.
    pub fn close(&mut self, cancel_futures: bool) -> Vec<Task> {
        self.closed = true;
        if cancel_futures {
            self.queue.drain(..).collect()
        } else {
            Vec::new()
        }
    }

    /// Breaks the pool: refuses new work and returns the queued tasks to
    /// fail with `error`.
    pub fn break_pool(&mut self, error: Error) -> Vec<Task> {
        self.closed = true;
        if self.broken.is_none() {
            self.broken = Some(error);
        }
        self.queue.drain(..).collect()
    }
}

#[cfg(all(test, not(concur_loom)))]
mod tests {
    use super::*;
    use concur_core::{BoxError, Future, State};

    #[derive(Clone, Copy)]
    struct Double;
    impl RemoteFn for Double {
        type Args = u32;
        type Output = u32;
        const NAME: &'static str = "book::double";
        const FINGERPRINT: u64 = 2;
        fn call(x: u32) -> Result<u32, BoxError> {
            Ok(2 * x)
        }
    }

    fn task() -> (Task, Future<u32>) {
        let (p, f) = Promise::new();
        let t = Task::new(
            FnRef::of::<Double>(),
            vec![concur_ipc::encode(&1u32).unwrap()].into(),
            Box::new(Promises::<Double>::new(vec![p])),
        );
        (t, f)
    }

    fn ok(v: u32) -> concur_ipc::Outcomes {
        vec![Ok(concur_ipc::encode(&v).unwrap())].into()
    }

    #[test]
    fn stale_reply_is_ignored() {
        let mut book = Book::<u8>::new(1, None, 1 << 20);
        book.starting(0);
        assert!(book.ready(0, 7).is_none());
        let (t, f) = task();
        let a = book.submit(t).unwrap().unwrap();
        assert_eq!(f.state(), State::Running);
        let stale = book.done(0, a.generation + 1);
        assert!(stale.task.is_none());
        let r = book.done(0, a.generation);
        r.task.unwrap().complete(ok(2));
        assert_eq!(*f.result().unwrap(), 2);
        // A second reply with the same generation is stale too.
        assert!(book.done(0, a.generation).task.is_none());
    }

    #[test]
    fn death_returns_the_running_task_only() {
        let mut book = Book::<u8>::new(1, None, 1 << 20);
        book.starting(0);
        book.ready(0, 1);
        let (t1, f1) = task();
        let (t2, f2) = task();
        let a = book.submit(t1).unwrap().unwrap();
        assert!(book.submit(t2).unwrap().is_none());
        let running = book.died(0).unwrap();
        running.fail(Error::broken("died", None));
        assert!(f1.result().is_err());
        assert_eq!(f2.state(), State::Pending);
        // A late reply from the dead worker's generation is ignored.
        assert!(book.done(0, a.generation).task.is_none());
        book.starting(0);
        let b = book.ready(0, 2).unwrap();
        assert_ne!(a.generation, b.generation);
        book.done(0, b.generation).task.unwrap().complete(ok(4));
        assert_eq!(*f2.result().unwrap(), 4);
    }

    #[test]
    fn cancelled_tasks_are_skipped_and_retirement_counts() {
        let mut book = Book::<u8>::new(1, Some(2), 1 << 20);
        let (t1, f1) = task();
        let (t2, f2) = task();
        let (t3, _f3) = task();
        book.submit(t1).unwrap();
        book.submit(t2).unwrap();
        book.submit(t3).unwrap();
        assert!(f1.cancel());
        book.starting(0);
        let a = book.ready(0, 0).unwrap();
        assert_eq!(f2.state(), State::Running);
        let r = book.done(0, a.generation);
        assert!(!r.retire && r.next.is_some());
        let r = book.done(0, r.next.unwrap().generation);
        assert!(r.retire && r.next.is_none());
        assert!(matches!(book.slot(0), Slot::Exiting));
        assert_eq!(book.queued(), 0);
    }

    #[test]
    fn close_and_break() {
        let mut book = Book::<u8>::new(1, None, 1 << 20);
        let (t1, _f1) = task();
        book.submit(t1).unwrap();
        assert_eq!(book.close(true).len(), 1);
        let (t2, _f2) = task();
        let (_, e) = book.submit(t2).unwrap_err();
        assert_eq!(e.kind(), concur_core::ErrorKind::Shutdown);
        let mut book = Book::<u8>::new(1, None, 1 << 20);
        let (t3, _f3) = task();
        book.submit(t3).unwrap();
        assert_eq!(book.break_pool(Error::broken("x", None)).len(), 1);
        let (t4, _f4) = task();
        assert_eq!(
            book.submit(t4).unwrap_err().1.kind(),
            concur_core::ErrorKind::Broken
        );
    }
}
