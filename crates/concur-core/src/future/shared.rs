//! The state every handle of one future shares: its [`State`] byte, the
//! count of [`Future`](crate::Future) handles, the outcome, and — behind one
//! lock — the waiter list, the done-callbacks and the consumers. Completion
//! lives here too: storing the outcome, waking the waiters, lending the
//! done-callbacks a handle, and delivering the outcome to consumers.
//!
//! [`Future`](crate::Future), [`Promise`](crate::Promise) and
//! [`AnyFuture`](crate::AnyFuture) are views of a [`SharedState`]; this file
//! is the only one that touches its atomics, its lock or its value cell.
//!
//! # Invariants
//!
//! * Every state transition happens with `waiters` locked, so a waiter that
//!   checks the state under the lock and then registers can never miss the
//!   completion (the completer takes the waiter list under that same lock).
//! * `value` is written once, under the lock, before `state` is stored as
//!   terminal with `Release`; readers load `state` with `Acquire` and only
//!   then read `value`, and never write it.
//! * `value` is only moved out by `into_result` / `try_into_result`
//!   ([`SharedState::take_if_sole_handle`]), which require that the
//!   consuming handle is the only `Future` handle (`handles` is 1 apart from
//!   [`CONSUMED`], read with `Acquire` after the state is terminal), or by
//!   the delivery to consumers, which requires that none is left (below).
//!   Only `Future` handles can read `value`; new ones are only made by
//!   cloning one.
//! * Wakers, callbacks and consumers are user code: each runs behind
//!   `catch_unwind`, and a panic is reported through `tracing`; it never
//!   stops the other wake-ups or callbacks nor reaches the completing side.
//!
//! # The callback loan
//!
//! A done-callback receives `&Future<T>`: it may read the value, clone the
//! handle, even call `into_result` on a clone. But the completer runs the
//! callbacks after it unlocked, while the last *real* handle may be about to
//! move the value out. So the completer **lends** the callbacks a handle
//! that counts like one without being one:
//!
//! * Before it publishes the terminal state (so whoever sees the state also
//!   sees the loan) it adds [`LENT`] to `handles` and records its thread in
//!   `Waiters::lending`. The loan is a [`Loan`]: the completer's own
//!   `Arc<SharedState<T>>`. A done-callback is stored as taking that `Arc`
//!   ([`DoneCallback`]) and sees it as `&Future<T>` through `Future::lent`,
//!   a view that is never dropped and so never touches `handles` (cloning
//!   it makes a real, counted handle).
//! * Callbacks run in registration order: while the loan lasts,
//!   `add_done_callback` queues (even though the state is terminal) and the
//!   completer drains the queue before it returns the loan, under the lock
//!   that showed the queue empty.
//! * Returning the loan ([`Loan::return_locked`], also on unwinding, from
//!   `Loan::drop`) removes `LENT` with `Release` under the lock and wakes
//!   everyone who registered meanwhile.
//! * A blocking or async `into_result` on the last real handle that finds
//!   `LENT` set waits for the return ([`SharedState::wait_unlent`],
//!   [`poll_unlent`](SharedState::poll_unlent)) instead of failing: running
//!   callbacks never make it lose the value. On the lending thread itself (a
//!   callback consuming a clone) it fails with `InvalidState` at once rather
//!   than deadlock.
//! * [`Promise::set_outcome_deferring_callbacks`](crate::Promise::set_outcome_deferring_callbacks) hands the
//!   loan and the callbacks to the caller as [`DeferredCallbacks`], to run on
//!   another thread; the loan lasts until they ran (or were dropped).
//!
//! # Consumers and the loan
//!
//! Consumers (`Future::on_done`) take the value by move once nothing else
//! can read it: no `Future` handle and no loan. Registering one sets
//! [`CONSUMED`] in `handles` (under the lock, while the registering handle
//! still counts) and then gives the handle up. The delivery condition —
//! terminal state, `handles == CONSUMED` exactly, read with `Acquire` — is
//! checked under the lock by each event that can make it true: completion
//! without callbacks, the return of the loan, and the drop that takes the
//! count to zero. The one that sees it true takes the consumer list (so
//! delivery happens exactly once) and the value, and runs the consumers
//! after unlocking. Dropping a handle stays one `fetch_sub` unless the count
//! reaches zero with `CONSUMED` set and no loan (with a loan, its return
//! does the check).

use crate::drive::Drive;
use crate::error::Error;
use crate::notify::Notify;
use crate::ready_queue::ReadyQueue;
use crate::state::{self, CANCELLED, FAILED, FINISHED, PENDING, RUNNING, State};
use concur_sync::backoff;
use concur_sync::cell::UnsafeCell;
use concur_sync::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use concur_sync::sync::{Arc, Mutex, MutexGuard};
use concur_sync::thread::{self, ThreadId};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::task::{Context, Poll};
use std::time::Instant;

/// A done-callback as stored: it is called with the `Arc` it borrows the
/// value through, which the closure `Future::add_done_callback` wraps
/// around the user's turns into the `&Future<T>` that one takes
/// (`Future::lent`). So this file never names the handle type.
pub(crate) type DoneCallback<T> = Box<dyn FnOnce(&Arc<SharedState<T>>) + Send + 'static>;

/// A consumer registered by `Future::on_done`: it takes the outcome by move.
pub(crate) type Consumer<T> = Box<dyn FnOnce(Result<T, Error>) + Send + 'static>;

/// The registered consumers, in registration order (boxed in `Waiters`).
struct Consumers<T>(Vec<Consumer<T>>);

/// One entry of a future's waiter list.
enum Waiter {
    /// A blocked thread or a polling task waiting on this future alone.
    Single { id: usize, notify: Notify },
    /// A many-future [`Watcher`](crate::Watcher): `token` is pushed to its
    /// ready queue.
    Watch {
        queue: Arc<ReadyQueue>,
        token: usize,
    },
}

impl Waiter {
    fn notify(self) {
        match self {
            Self::Single { notify, .. } => notify.wake(),
            Self::Watch { queue, token } => queue.push_ready(token),
        }
    }
}

/// Everything behind the shared state's lock.
struct Waiters<T> {
    list: Vec<Waiter>,
    /// Boxed (one word, not three): most futures never have a done-callback,
    /// and every byte of the shared state is paid per future.
    #[allow(clippy::box_collection)] // one word instead of three, on purpose
    callbacks: Option<Box<Vec<DoneCallback<T>>>>,
    /// Registered by `Future::on_done`; taken once, by the delivery.
    /// Boxed: most futures never have one, and the shared state stays
    /// within 128 bytes.
    consumers: Option<Box<Consumers<T>>>,
    next_id: usize,
    /// The thread running the done-callbacks while it lends them a handle.
    lending: Option<ThreadId>,
}

impl<T> Waiters<T> {
    /// The queued done-callbacks, in registration order, leaving none.
    fn take_callbacks(&mut self) -> Vec<DoneCallback<T>> {
        self.callbacks.take().map_or_else(Vec::new, |b| *b)
    }

    /// Registers (or refreshes) an async task's waker; `waiter_id` keeps
    /// its id between polls.
    fn register_task(&mut self, cx: &Context<'_>, waiter_id: &mut Option<usize>) {
        if let Some(id) = *waiter_id {
            for w in &mut self.list {
                if let Waiter::Single { id: other, notify } = w {
                    if *other == id {
                        if !notify.will_wake(cx) {
                            *notify = Notify::Task(cx.waker().clone());
                        }
                        return;
                    }
                }
            }
        }
        let id = self.register(Notify::Task(cx.waker().clone()));
        *waiter_id = Some(id);
    }

    fn register(&mut self, notify: Notify) -> usize {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.list.push(Waiter::Single { id, notify });
        id
    }

    fn forget(&mut self, id: usize) {
        self.list
            .retain(|w| !matches!(w, Waiter::Single { id: other, .. } if *other == id));
    }
}

/// Added to `SharedState::handles` while the done-callbacks borrow the
/// value through a lent handle (see [the loan](self#the-callback-loan)).
const LENT: usize = 1 << (usize::BITS - 1);

/// Set in `SharedState::handles` once a consumer (`Future::on_done`) is
/// registered: the drop that takes the count to zero then checks for
/// delivery (see [consumers](self#consumers-and-the-loan)).
const CONSUMED: usize = 1 << (usize::BITS - 2);

/// The state every handle of one future shares (see the module docs).
pub(crate) struct SharedState<T> {
    state: AtomicU8,
    /// Number of live `Future` handles (not the promise, not erased
    /// handles), plus [`LENT`] and [`CONSUMED`].
    handles: AtomicUsize,
    waiters: Mutex<Waiters<T>>,
    value: UnsafeCell<Option<Result<T, Error>>>,
    /// What a blocked waiter runs before it parks (see [`Drive`]), by its
    /// registration's id (see [`Driver`](crate::Driver): 4 bytes beside
    /// `state`, not an `Arc`'s 16); set at creation, never changed.
    driver: Option<std::num::NonZeroU32>,
}

// SAFETY: `value` is written once by whichever thread completes the future
// (so `T: Send`) and then read by shared reference from any thread holding a
// handle (so `T: Sync`). Everything else is atomics or behind the mutex.
unsafe impl<T: Send> Sync for SharedState<T> {}

impl<T> SharedState<T> {
    /// A pending future's state with `handles` `Future` handles.
    #[inline]
    pub(crate) fn new(handles: usize) -> Self {
        Self::with_driver(handles, None)
    }

    /// As [`new`](Self::new), with the driver blocked waiters run.
    #[inline]
    pub(crate) fn with_driver(handles: usize, driver: Option<std::num::NonZeroU32>) -> Self {
        Self {
            driver,
            state: AtomicU8::new(PENDING),
            handles: AtomicUsize::new(handles),
            waiters: Mutex::new(Waiters {
                list: Vec::new(),
                callbacks: None,
                consumers: None,
                next_id: 0,
                lending: None,
            }),
            value: UnsafeCell::new(None),
        }
    }

    /// The driver its blocked waiters run, if any and still registered
    /// (see [`Drive`]).
    pub(crate) fn driver(&self) -> Option<std::sync::Arc<dyn Drive>> {
        self.driver.and_then(crate::drive::lookup)
    }

    pub(crate) fn state_u8(&self) -> u8 {
        // ORDERING: pairs with the `Release` store in `complete_deferring`,
        // so a caller that sees a terminal state may read `value`.
        self.state.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        state::is_terminal(self.state_u8())
    }

    /// The state read by a holder of the `waiters` lock (`_locked` proves it).
    fn state_locked(&self, _locked: &Waiters<T>) -> u8 {
        // ORDERING: every store to `state` happens under the `waiters` lock,
        // which the caller holds: the lock orders it, `Relaxed` suffices.
        self.state.load(Ordering::Relaxed)
    }

    /// Counts one more `Future` handle (a clone of an existing one).
    #[inline]
    pub(crate) fn add_handle(&self) {
        // ORDERING: like `Arc::clone`; the new handle is reachable only
        // through one that already exists.
        self.handles.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one `Future` handle less; the last one of a future with
    /// consumers may deliver to them.
    #[inline]
    pub(crate) fn drop_handle(&self) {
        // ORDERING: pairs with the `Acquire` loads in `take_if_sole_handle`
        // and `take_delivery_locked`.
        let before = self.handles.fetch_sub(1, Ordering::Release);
        // The last handle of a future with consumers, and no loan (whose
        // return would check instead): the consumers may be due now.
        if before == CONSUMED | 1 {
            self.last_handle_dropped();
        }
    }

    /// The rare end of [`drop_handle`](Self::drop_handle), out of line so
    /// that dropping a handle stays one `fetch_sub` wherever it inlines.
    #[cold]
    fn last_handle_dropped(&self) {
        let delivery = {
            let mut w = self.waiters.lock();
            self.take_delivery_locked(&mut w)
        };
        if let Some(d) = delivery {
            d.run();
        }
    }

    /// Blocks until done or until `deadline`. `true` if done.
    ///
    /// A deadline that has already passed is a non-blocking check: no spin,
    /// no park (`wait_timeout(Duration::ZERO)` polls once). It still takes
    /// the registering path below, so that a completion racing the timeout
    /// is handled by one piece of code (and the loom model covers it).
    #[inline]
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        // The done case inline (it is the common one when collecting
        // results); the waiting out of line.
        self.is_done() || self.wait_until_slow(deadline)
    }

    /// [`wait_until`](Self::wait_until) on a future not yet seen done.
    #[inline(never)]
    fn wait_until_slow(&self, deadline: Option<Instant>) -> bool {
        let live = deadline.is_none_or(|d| Instant::now() < d);
        // The executor's driver first: it may complete the future on this
        // thread (and spins as it sees fit).
        if live
            && let Some(driver) = self.driver()
            && driver.drive(&|| self.is_done(), deadline)
        {
            return true;
        }
        // A short bounded spin: waking a parked thread costs ~20 µs here.
        if live {
            let mut step = 0;
            while backoff::result_wait(step) {
                if self.is_done() {
                    return true;
                }
                step += 1;
            }
        }
        let id = {
            let mut w = self.waiters.lock();
            if state::is_terminal(self.state_locked(&w)) {
                return true;
            }
            w.register(Notify::current_thread())
        };
        loop {
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    thread::park_timeout(d - now);
                }
            }
            if self.is_done() {
                // The completer removed our entry when it took the list.
                return true;
            }
        }
        // Timed out: remove our entry unless the completer already took it.
        let mut w = self.waiters.lock();
        if state::is_terminal(self.state_locked(&w)) {
            return true;
        }
        w.forget(id);
        false
    }

    /// Async readiness: registers (or refreshes) the task's waker, whose id
    /// `waiter_id` keeps.
    pub(crate) fn poll_done(
        &self,
        cx: &mut Context<'_>,
        waiter_id: &mut Option<usize>,
    ) -> Poll<()> {
        if self.is_done() {
            *waiter_id = None;
            return Poll::Ready(());
        }
        let mut w = self.waiters.lock();
        if state::is_terminal(self.state_locked(&w)) {
            *waiter_id = None;
            return Poll::Ready(());
        }
        w.register_task(cx, waiter_id);
        Poll::Pending
    }

    /// Removes the task waker `waiter_id` names, if any.
    pub(crate) fn forget_waker(&self, waiter_id: &mut Option<usize>) {
        if let Some(id) = waiter_id.take() {
            self.waiters.lock().forget(id);
        }
    }

    /// Whether done-callbacks still borrow the value through a lent handle.
    #[inline]
    fn lent(&self) -> bool {
        // ORDERING: pairs with the `Release` removal in `Loan::return_locked`:
        // once clear, every callback's read of `value` happened before.
        self.handles.load(Ordering::Acquire) & LENT != 0
    }

    /// Blocks (on a done future) until no done-callback borrows the value.
    /// `false`, at once, if called on the thread running those callbacks.
    #[inline]
    pub(crate) fn wait_unlent(&self) -> bool {
        !self.lent() || self.wait_unlent_slow()
    }

    /// [`wait_unlent`](Self::wait_unlent) while a loan is out.
    #[cold]
    #[inline(never)]
    fn wait_unlent_slow(&self) -> bool {
        {
            let mut w = self.waiters.lock();
            if !self.lent() {
                return true;
            }
            if w.lending == Some(thread::current().id()) {
                return false;
            }
            // `Loan::return_locked` takes the whole list when it clears `LENT`.
            w.register(Notify::current_thread());
        }
        while self.lent() {
            thread::park();
        }
        true
    }

    /// Async form of [`wait_unlent`](Self::wait_unlent).
    pub(crate) fn poll_unlent(
        &self,
        cx: &mut Context<'_>,
        waiter_id: &mut Option<usize>,
    ) -> Poll<bool> {
        if !self.lent() {
            *waiter_id = None;
            return Poll::Ready(true);
        }
        let mut w = self.waiters.lock();
        if !self.lent() {
            *waiter_id = None;
            return Poll::Ready(true);
        }
        if w.lending == Some(thread::current().id()) {
            return Poll::Ready(false);
        }
        w.register_task(cx, waiter_id);
        Poll::Pending
    }

    /// Registers a watcher token; `false` if the future is already done (the
    /// token is then not registered).
    pub(crate) fn add_watch(&self, queue: &Arc<ReadyQueue>, token: usize) -> bool {
        let mut w = self.waiters.lock();
        if state::is_terminal(self.state_locked(&w)) {
            return false;
        }
        w.list.push(Waiter::Watch {
            queue: queue.clone(),
            token,
        });
        true
    }

    /// Removes a watcher token registered by [`add_watch`](Self::add_watch).
    pub(crate) fn remove_watch(&self, queue: &Arc<ReadyQueue>, token: usize) {
        let mut w = self.waiters.lock();
        w.list.retain(|w| match w {
            Waiter::Watch { queue: q, token: t } => !(Arc::ptr_eq(q, queue) && *t == token),
            Waiter::Single { .. } => true,
        });
    }

    /// Reads the stored outcome.
    ///
    /// # Safety
    ///
    /// The state must have been observed terminal (with `Acquire`) and the
    /// caller must hold a `Future` handle (or the loan) for as long as the
    /// reference lives.
    pub(crate) unsafe fn outcome(&self) -> &Option<Result<T, Error>> {
        // SAFETY: per the caller's contract the value was published before the
        // terminal state and is not written while a handle borrows it.
        self.value.with(|p| unsafe { &*p })
    }

    /// Moves the outcome out for `try_into_result`: `None` unless the
    /// future is done and the caller's handle is the only one (no other
    /// `Future` handle, no loan).
    #[inline]
    pub(crate) fn take_if_sole_handle(&self) -> Option<Result<T, Error>> {
        if !self.is_done() {
            return None;
        }
        // ORDERING: pairs with the `Release` decrement in `drop_handle`, so
        // every read through another (now dropped) handle happened before
        // we move.
        if self.handles.load(Ordering::Acquire) & !CONSUMED != 1 {
            return None;
        }
        // SAFETY: done, and the caller's is the only handle that can read
        // `value`.
        let taken = self.value.with_mut(|p| unsafe { (*p).take() });
        Some(taken.unwrap_or_else(|| Err(Error::invalid_state("the value was moved out"))))
    }

    /// Registers `consumer` (for `Future::on_done`); the caller then drops
    /// its handle, which may deliver.
    pub(crate) fn add_consumer(&self, consumer: Consumer<T>) {
        let mut w = self.waiters.lock();
        w.consumers
            .get_or_insert_with(|| Box::new(Consumers(Vec::new())))
            .0
            .push(consumer);
        // ORDERING: sequenced before the caller's own `Release` decrement
        // (in `drop_handle`), so the drop reaching zero always sees the flag.
        self.handles.fetch_or(CONSUMED, Ordering::Relaxed);
    }

    /// If the consumers can be given the value now (see the module docs),
    /// takes them and the value; the caller runs the delivery unlocked.
    fn take_delivery_locked(&self, w: &mut Waiters<T>) -> Option<Delivery<T>> {
        if w.consumers.is_none() || !state::is_terminal(self.state_locked(w)) {
            return None;
        }
        // ORDERING: `Acquire` pairs with the `Release` decrements of every
        // dropped handle and the loan's return: their reads of `value`
        // happened before the move below.
        if self.handles.load(Ordering::Acquire) != CONSUMED {
            return None;
        }
        // SAFETY: terminal, no `Future` handle and no loan: nothing can read
        // `value`, and the lock makes us the only one taking it.
        let outcome = self.value.with_mut(|p| unsafe { (*p).take() });
        Some(Delivery {
            consumers: w.consumers.take()?.0,
            outcome,
        })
    }

    /// Marks the future running, unless it was cancelled (for
    /// `Promise::set_running_or_notify_cancel`).
    #[inline]
    pub(crate) fn start_running(&self) -> Result<bool, Error> {
        let guard = self.waiters.lock();
        match self.state_locked(&guard) {
            PENDING => {
                // ORDERING: all transitions happen under the lock; Release so a
                // lock-free `running()` sees a state at least this new.
                self.state.store(RUNNING, Ordering::Release);
                Ok(true)
            }
            CANCELLED => Ok(false),
            s => Err(Error::invalid_state(format!(
                "set_running_or_notify_cancel on a {} future",
                State::from_u8(s)
            ))),
        }
    }
}

impl<T: Send + 'static> SharedState<T> {
    /// Cancels if pending. `true` if the future is (now or already) cancelled.
    /// (An associated function, not a method: loom's `Arc` cannot be a
    /// `self` type.)
    pub(crate) fn cancel(this: &Arc<Self>) -> bool {
        let guard = this.waiters.lock();
        match this.state_locked(&guard) {
            PENDING => {
                complete_locked(this, guard, Err(Error::cancelled()), CANCELLED);
                true
            }
            CANCELLED => true,
            _ => false,
        }
    }

    /// Completes with `outcome` (as `new_state`), running the callbacks
    /// here.
    ///
    /// # Errors
    ///
    /// `InvalidState` if the future is already done; the first outcome stays.
    pub(crate) fn complete(
        this: &Arc<Self>,
        outcome: Result<T, Error>,
        new_state: u8,
    ) -> Result<(), Error> {
        let guard = this.waiters.lock();
        let s = this.state_locked(&guard);
        if state::is_terminal(s) {
            return Err(already_done(s));
        }
        complete_locked(this, guard, outcome, new_state);
        Ok(())
    }

    /// Completes with `outcome` like [`complete`](Self::complete), but
    /// hands the done-callbacks (if any) back, to run on any thread.
    ///
    /// # Errors
    ///
    /// `InvalidState` if the future is already done.
    pub(crate) fn complete_deferring_callbacks(
        this: &Arc<Self>,
        outcome: Result<T, Error>,
    ) -> Result<Option<DeferredCallbacks>, Error> {
        let guard = this.waiters.lock();
        let s = this.state_locked(&guard);
        if state::is_terminal(s) {
            return Err(already_done(s));
        }
        let new_state = if outcome.is_ok() { FINISHED } else { FAILED };
        Ok(
            complete_deferring(this, guard, outcome, new_state).map(|cbs| DeferredCallbacks {
                run: Box::new(move || cbs.run_here()),
            }),
        )
    }

    /// Runs `callback` once the future is done: queued behind the others
    /// while it is pending or its callbacks are still running (the loan),
    /// else at once, here.
    pub(crate) fn add_done_callback(this: &Arc<Self>, callback: DoneCallback<T>) {
        let mut w = this.waiters.lock();
        // While the completer lends callbacks a handle, it also drains this
        // queue before returning the loan, under this lock.
        if !state::is_terminal(this.state_locked(&w)) || w.lending.is_some() {
            w.callbacks.get_or_insert_default().push(callback);
            return;
        }
        drop(w);
        run_callback(this, callback);
    }
}

/// The error a second completion fails with.
fn already_done(s: u8) -> Error {
    Error::invalid_state(format!("the future is already {}", State::from_u8(s)))
}

/// The consumers of a future and its outcome, taken together, exactly once.
struct Delivery<T> {
    consumers: Vec<Consumer<T>>,
    /// `None` if `into_result` moved the value out before.
    outcome: Option<Result<T, Error>>,
}

impl<T> Delivery<T> {
    /// The first consumer gets the value; errors are cloned to every one.
    fn run(self) {
        let mut outcome = Some(self.outcome.unwrap_or_else(|| {
            Err(Error::invalid_state(
                "the value was moved out by into_result",
            ))
        }));
        for consumer in self.consumers {
            let this = match outcome.take() {
                Some(Ok(v)) => Ok(v),
                Some(Err(e)) => {
                    outcome = Some(Err(e.clone()));
                    Err(e)
                }
                None => Err(Error::invalid_state(
                    "the value moved to an earlier consumer of the same future",
                )),
            };
            if let Err(_payload) = catch_unwind(AssertUnwindSafe(|| consumer(this))) {
                crate::__event!(
                    error,
                    target: "concur_core",
                    error = %Error::panicked(_payload),
                    "an on_done consumer panicked; later consumers still run"
                );
            }
        }
    }
}

/// Stores the outcome, publishes the terminal state, then (unlocked) wakes
/// every waiter and runs the callbacks in registration order.
fn complete_locked<T: Send + 'static>(
    shared: &Arc<SharedState<T>>,
    guard: MutexGuard<'_, Waiters<T>>,
    outcome: Result<T, Error>,
    new_state: u8,
) {
    if let Some(deferred) = complete_deferring(shared, guard, outcome, new_state) {
        deferred.run_here();
    }
}

/// As [`complete_locked`], but the callbacks (if any) are handed back to be
/// run later, on any thread; the loan lasts until they ran.
fn complete_deferring<T: Send + 'static>(
    shared: &Arc<SharedState<T>>,
    mut guard: MutexGuard<'_, Waiters<T>>,
    outcome: Result<T, Error>,
    new_state: u8,
) -> Option<LoanedCallbacks<T>> {
    // SAFETY: the state is not terminal and we hold the lock, so no reader
    // reads `value` and no other writer exists.
    shared.value.with_mut(|p| unsafe { *p = Some(outcome) });
    let waiters = std::mem::take(&mut guard.list);
    let callbacks = guard.take_callbacks();
    if !callbacks.is_empty() {
        guard.lending = Some(thread::current().id());
        // ORDERING: published by the `Release` store below (see module docs),
        // so whoever sees the terminal state also sees the loan.
        shared.handles.fetch_add(LENT, Ordering::Relaxed);
    }
    // ORDERING: `Release` publishes `value`; pairs with `state_u8`.
    shared.state.store(new_state, Ordering::Release);
    if callbacks.is_empty() {
        let delivery = shared.take_delivery_locked(&mut guard);
        drop(guard);
        wake_all(waiters);
        if let Some(d) = delivery {
            d.run();
        }
        return None;
    }
    drop(guard);
    // Built before waking, so the loan is returned even if something
    // unwinds past the `catch_unwind` guards.
    let loan = Loan {
        shared: shared.clone(),
        returned: false,
    };
    wake_all(waiters);
    Some(LoanedCallbacks {
        loan,
        batch: callbacks,
    })
}

/// A completed future's done-callbacks, not run yet, with the loan they
/// borrow the value through.
struct LoanedCallbacks<T> {
    loan: Loan<T>,
    batch: Vec<DoneCallback<T>>,
}

impl<T> LoanedCallbacks<T> {
    /// Runs the callbacks on this thread (recorded as the lending thread),
    /// then the ones added meanwhile, then returns the loan.
    fn run_here(self) {
        let Self { mut loan, batch } = self;
        let shared = loan.shared.clone();
        shared.waiters.lock().lending = Some(thread::current().id());
        let mut batch = batch;
        loop {
            for cb in batch {
                run_callback(&shared, cb);
            }
            // Callbacks added while these ran were queued behind them (see
            // `add_done_callback`): run them too, in order, before returning
            // the loan under the same lock that showed the queue empty.
            let mut w = shared.waiters.lock();
            batch = w.take_callbacks();
            if batch.is_empty() {
                let (waiters, delivery) = loan.return_locked(&mut w);
                drop(w);
                wake_all(waiters);
                if let Some(d) = delivery {
                    d.run();
                }
                return;
            }
        }
    }
}

/// Done-callbacks of a completed future, left to run on another thread by
/// [`Promise::set_outcome_deferring_callbacks`](crate::Promise::set_outcome_deferring_callbacks).
///
/// Until [`run`](Self::run) returns, the value counts as borrowed:
/// `into_result` on the last handle waits for the callbacks (as it does
/// while a completing thread runs them). Dropping it without running it
/// skips the callbacks and ends the loan.
///
/// # Examples
///
/// ```
/// let (promise, fut) = concur_core::Promise::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// fut.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
/// let deferred = promise.set_outcome_deferring_callbacks(Ok(7)).unwrap().unwrap();
/// assert!(rx.try_recv().is_err()); // completed, callbacks not run yet
/// assert_eq!(*fut.result().unwrap(), 7);
/// std::thread::spawn(move || deferred.run()).join().unwrap();
/// assert_eq!(rx.recv().unwrap(), 7);
/// ```
#[must_use = "dropping the callbacks skips them"]
pub struct DeferredCallbacks {
    run: Box<dyn FnOnce() + Send>,
}

impl DeferredCallbacks {
    /// Runs the callbacks on the current thread, in registration order (a
    /// panicking callback is reported through `tracing`, the others still
    /// run).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// fut.add_done_callback(|f| assert_eq!(*f.result().unwrap(), 1));
    /// promise.set_outcome_deferring_callbacks(Ok(1)).unwrap().unwrap().run();
    /// assert_eq!(fut.into_result().unwrap(), 1);
    /// ```
    pub fn run(self) {
        (self.run)();
    }
}

impl fmt::Debug for DeferredCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeferredCallbacks").finish_non_exhaustive()
    }
}

/// The handle the completer lends to done-callbacks (the `Arc` they see as
/// `&Future<T>`); it counts as [`LENT`] in `handles`, not as a handle.
/// Returning it (or dropping it, on unwinding) wakes whoever waits to move
/// the value out.
struct Loan<T> {
    shared: Arc<SharedState<T>>,
    returned: bool,
}

impl<T> Loan<T> {
    /// Ends the loan; the caller wakes the returned waiters and runs the
    /// delivery (if the consumers were only waiting for the loan) after
    /// unlocking.
    fn return_locked(&mut self, w: &mut Waiters<T>) -> (Vec<Waiter>, Option<Delivery<T>>) {
        self.returned = true;
        w.lending = None;
        // ORDERING: `Release`: the callbacks' reads of `value` happen before
        // a move by whoever sees `LENT` clear (`SharedState::lent`).
        self.shared.handles.fetch_sub(LENT, Ordering::Release);
        let delivery = self.shared.take_delivery_locked(w);
        (std::mem::take(&mut w.list), delivery)
    }
}

impl<T> Drop for Loan<T> {
    fn drop(&mut self) {
        if self.returned {
            return;
        }
        let shared = self.shared.clone();
        let (waiters, delivery, dropped) = {
            let mut w = shared.waiters.lock();
            let (waiters, delivery) = self.return_locked(&mut w);
            (waiters, delivery, w.take_callbacks())
        };
        drop(dropped);
        wake_all(waiters);
        if let Some(d) = delivery {
            d.run();
        }
    }
}

/// Wakes every waiter; a panicking waker is reported, never propagated.
fn wake_all(waiters: Vec<Waiter>) {
    for w in waiters {
        if let Err(_payload) = catch_unwind(AssertUnwindSafe(|| w.notify())) {
            crate::__event!(
                error,
                target: "concur_core",
                error = %Error::panicked(_payload),
                "a waker panicked while a future completed; other waiters are still woken"
            );
        }
    }
}

/// Runs one done-callback on the value `shared` lends it; a panic is
/// reported, never propagated.
fn run_callback<T>(shared: &Arc<SharedState<T>>, cb: DoneCallback<T>) {
    if let Err(_payload) = catch_unwind(AssertUnwindSafe(|| cb(shared))) {
        crate::__event!(
            error,
            target: "concur_core",
            error = %Error::panicked(_payload),
            "a done-callback panicked; later callbacks still run"
        );
    }
}

#[cfg(test)]
mod tests {
    /// The shared state of a `Future<()>`, with the `Arc`'s two counters,
    /// stays within 112 bytes (as before drivers: the driver is a 4-byte
    /// id beside the state byte; an `Arc` there, 16 bytes more, cost
    /// `as_completed` over 100k futures 1.5-2x).
    #[test]
    fn shared_state_of_unit_future_is_at_most_112_bytes() {
        let size = std::mem::size_of::<super::SharedState<()>>() + 2 * std::mem::size_of::<usize>();
        println!("shared state of Future<()>: {size} bytes");
        assert!(size <= 112, "shared state is {size} bytes");
    }
}
