//! The shared state behind every future, its handle [`Future`] and its
//! completing side [`Promise`].
//!
//! # Invariants
//!
//! * Every state transition happens with `waiters` locked, so a waiter that
//!   checks the state under the lock and then registers can never miss the
//!   completion (the completer takes the waiter list under that same lock).
//! * `value` is written once, under the lock, before `state` is stored as
//!   terminal with `Release`; readers load `state` with `Acquire` and only
//!   then read `value`, and never write it.
//! * `value` is only moved out by [`Future::into_result`] /
//!   [`Future::try_into_result`], which require that the consuming handle is
//!   the only [`Future`] handle (`handles` is 1 apart from `CONSUMED`, read
//!   with `Acquire` after the state is terminal), or by the delivery to
//!   consumers, which requires that none is left (below). Only `Future`
//!   handles can read `value`; new ones are only made by cloning one.
//! * The completer lends done-callbacks a handle: it adds [`LENT`] to
//!   `handles` (and records its thread in `Waiters::lending`) before it
//!   publishes the terminal state, and removes it, under the lock, once the
//!   last callback returned, waking everyone who registered meanwhile. A
//!   blocking or async `into_result` on the last real handle waits for that
//!   instead of failing: running callbacks never make it lose the value. On
//!   the lending thread itself (a callback consuming a clone) it fails with
//!   `InvalidState` rather than deadlock.
//! * Callbacks run in registration order: while the loan lasts,
//!   `add_done_callback` queues (even though the state is terminal) and the
//!   completer drains the queue before it returns the loan, under the lock.
//! * Consumers ([`Future::on_done`]) take the value by move once nothing
//!   else can read it. Registering one sets [`CONSUMED`] in `handles`
//!   (under the lock, while the registering handle still counts) and then
//!   gives the handle up. The delivery condition — terminal state,
//!   `handles == CONSUMED` exactly (no `Future` handle, no loan), read with
//!   `Acquire` — is checked under the lock by each event that can make it
//!   true: completion without callbacks, the return of the loan, and the
//!   drop that takes the count to zero. The one that sees it true takes the
//!   consumer list (so delivery happens exactly once) and the value, and
//!   runs the consumers after unlocking. `Future::drop` stays one
//!   `fetch_sub` unless the count reaches zero with `CONSUMED` set and no
//!   loan (with a loan, its return does the check).
//! * Wakers, callbacks and consumers are user code: each runs behind
//!   `catch_unwind`, and a panic is reported through `tracing`; it never
//!   stops the other wake-ups or callbacks nor reaches the completing side.

use crate::error::Error;
use crate::notify::Notify;
use crate::primitive::{self, Arc, AtomicU8, AtomicUsize, Mutex, Ordering, ThreadId, UnsafeCell};
use crate::state::{self, CANCELLED, FAILED, FINISHED, PENDING, RUNNING, State};
use crate::watch::WatchShared;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

type Callback<T> = Box<dyn FnOnce(&Future<T>) + Send + 'static>;
type Consumer<T> = Box<dyn FnOnce(Result<T, Error>) + Send + 'static>;

/// The registered consumers, in registration order (boxed in `Waiters`).
struct Consumers<T>(Vec<Consumer<T>>);

/// One registration on a future's waiter list.
enum Entry {
    /// A blocked thread or a polling task waiting on this future alone.
    Single { id: usize, notify: Notify },
    /// A many-future [`Watcher`](crate::Watcher): `token` is pushed to its
    /// ready queue.
    Watch {
        shared: Arc<WatchShared>,
        token: usize,
    },
}

impl Entry {
    fn notify(self) {
        match self {
            Self::Single { notify, .. } => notify.wake(),
            Self::Watch { shared, token } => shared.push_ready(token),
        }
    }
}

struct Waiters<T> {
    entries: Vec<Entry>,
    /// Boxed (one word, not three): most futures never have a done-callback,
    /// and every byte of the shared state is paid per future.
    #[allow(clippy::box_collection)] // one word instead of three, on purpose
    callbacks: Option<Box<Vec<Callback<T>>>>,
    /// Registered by [`Future::on_done`]; taken once, by the delivery.
    /// Boxed: most futures never have one, and the shared state stays
    /// within 128 bytes.
    consumers: Option<Box<Consumers<T>>>,
    next_id: usize,
    /// The thread running the done-callbacks while it lends them a handle.
    lending: Option<ThreadId>,
}

impl<T> Waiters<T> {
    /// The queued done-callbacks, in registration order, leaving none.
    fn take_callbacks(&mut self) -> Vec<Callback<T>> {
        self.callbacks.take().map_or_else(Vec::new, |b| *b)
    }

    /// Registers (or refreshes) an async task's waker; `slot` keeps its id.
    fn register_task(&mut self, cx: &Context<'_>, slot: &mut Option<usize>) {
        if let Some(id) = *slot {
            for e in &mut self.entries {
                if let Entry::Single { id: other, notify } = e {
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
        *slot = Some(id);
    }

    fn register(&mut self, notify: Notify) -> usize {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.entries.push(Entry::Single { id, notify });
        id
    }
}

/// Added to `Inner::handles` while the done-callbacks borrow the value
/// through a lent handle (see the module docs).
const LENT: usize = 1 << (usize::BITS - 1);

/// Set in `Inner::handles` once a consumer ([`Future::on_done`]) is
/// registered: the drop that takes the count to zero then checks for
/// delivery (see the module docs).
const CONSUMED: usize = 1 << (usize::BITS - 2);

pub(crate) struct Inner<T> {
    state: AtomicU8,
    /// Number of live [`Future`] handles (not the promise, not erased handles).
    handles: AtomicUsize,
    waiters: Mutex<Waiters<T>>,
    value: UnsafeCell<Option<Result<T, Error>>>,
}

// SAFETY: `value` is written once by whichever thread completes the future
// (so `T: Send`) and then read by shared reference from any thread holding a
// handle (so `T: Sync`). Everything else is atomics or behind the mutex.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    fn new(handles: usize) -> Self {
        Self {
            state: AtomicU8::new(PENDING),
            handles: AtomicUsize::new(handles),
            waiters: Mutex::new(Waiters {
                entries: Vec::new(),
                callbacks: None,
                consumers: None,
                next_id: 0,
                lending: None,
            }),
            value: UnsafeCell::new(None),
        }
    }

    fn state_u8(&self) -> u8 {
        // ORDERING: pairs with the `Release` store in `complete_locked`, so a
        // caller that sees a terminal state may read `value`.
        self.state.load(Ordering::Acquire)
    }

    fn is_done(&self) -> bool {
        state::is_terminal(self.state_u8())
    }

    /// The state read by a holder of the `waiters` lock (`_locked` proves it).
    fn state_locked(&self, _locked: &Waiters<T>) -> u8 {
        // ORDERING: every store to `state` happens under the `waiters` lock,
        // which the caller holds: the lock orders it, `Relaxed` suffices.
        self.state.load(Ordering::Relaxed)
    }

    /// Cancels if pending. `true` if the future is (now or already) cancelled.
    /// (An associated function, not a method: loom's `Arc` cannot be a
    /// `self` type.)
    pub(crate) fn cancel(this: &Arc<Self>) -> bool
    where
        T: Send + 'static,
    {
        let guard = primitive::lock(&this.waiters);
        match this.state_locked(&guard) {
            PENDING => {
                complete_locked(this, guard, Err(Error::cancelled()), CANCELLED);
                true
            }
            CANCELLED => true,
            _ => false,
        }
    }

    /// Blocks until done or until `deadline`. `true` if done.
    ///
    /// A deadline that has already passed is a non-blocking check: no spin,
    /// no park (`wait_timeout(Duration::ZERO)` polls once). It still takes
    /// the registering path below, so that a completion racing the timeout
    /// is handled by one piece of code (and the loom model covers it).
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        if self.is_done() {
            return true;
        }
        // A short bounded spin: waking a parked thread costs ~20 µs here.
        if deadline.is_none_or(|d| primitive::now() < d) {
            let mut step = 0;
            while primitive::spin_step(step) {
                if self.is_done() {
                    return true;
                }
                step += 1;
            }
        }
        let id = {
            let mut w = primitive::lock(&self.waiters);
            if state::is_terminal(self.state_locked(&w)) {
                return true;
            }
            w.register(Notify::current_thread())
        };
        loop {
            match deadline {
                None => primitive::park(),
                Some(d) => {
                    let now = primitive::now();
                    if now >= d {
                        break;
                    }
                    primitive::park_timeout(d - now);
                }
            }
            if self.is_done() {
                // The completer removed our entry when it took the list.
                return true;
            }
        }
        // Timed out: remove our entry unless the completer already took it.
        let mut w = primitive::lock(&self.waiters);
        if state::is_terminal(self.state_locked(&w)) {
            return true;
        }
        w.entries
            .retain(|e| !matches!(e, Entry::Single { id: other, .. } if *other == id));
        false
    }

    /// Async readiness: registers (or refreshes) the task's waker in `slot`.
    fn poll_done(&self, cx: &mut Context<'_>, slot: &mut Option<usize>) -> Poll<()> {
        if self.is_done() {
            *slot = None;
            return Poll::Ready(());
        }
        let mut w = primitive::lock(&self.waiters);
        if state::is_terminal(self.state_locked(&w)) {
            *slot = None;
            return Poll::Ready(());
        }
        w.register_task(cx, slot);
        Poll::Pending
    }

    /// Whether done-callbacks still borrow the value through a lent handle.
    fn lent(&self) -> bool {
        // ORDERING: pairs with the `Release` removal in `LentHandle::drop`:
        // once clear, every callback's read of `value` happened before.
        self.handles.load(Ordering::Acquire) & LENT != 0
    }

    /// Blocks (on a done future) until no done-callback borrows the value.
    /// `false`, at once, if called on the thread running those callbacks.
    fn wait_unlent(&self) -> bool {
        if !self.lent() {
            return true;
        }
        {
            let mut w = primitive::lock(&self.waiters);
            if !self.lent() {
                return true;
            }
            if w.lending == Some(primitive::current_thread().id()) {
                return false;
            }
            // `LentHandle::drop` takes the whole list when it clears `LENT`.
            w.register(Notify::current_thread());
        }
        while self.lent() {
            primitive::park();
        }
        true
    }

    /// Async form of [`wait_unlent`](Self::wait_unlent).
    fn poll_unlent(&self, cx: &mut Context<'_>, slot: &mut Option<usize>) -> Poll<bool> {
        if !self.lent() {
            *slot = None;
            return Poll::Ready(true);
        }
        let mut w = primitive::lock(&self.waiters);
        if !self.lent() {
            *slot = None;
            return Poll::Ready(true);
        }
        if w.lending == Some(primitive::current_thread().id()) {
            return Poll::Ready(false);
        }
        w.register_task(cx, slot);
        Poll::Pending
    }

    fn forget_waker(&self, slot: &mut Option<usize>) {
        if let Some(id) = slot.take() {
            let mut w = primitive::lock(&self.waiters);
            w.entries
                .retain(|e| !matches!(e, Entry::Single { id: other, .. } if *other == id));
        }
    }

    /// Registers a watcher token; `false` if the future is already done (the
    /// token is then not registered).
    pub(crate) fn add_watch(&self, shared: &Arc<WatchShared>, token: usize) -> bool {
        let mut w = primitive::lock(&self.waiters);
        if state::is_terminal(self.state_locked(&w)) {
            return false;
        }
        w.entries.push(Entry::Watch {
            shared: shared.clone(),
            token,
        });
        true
    }

    pub(crate) fn remove_watch(&self, shared: &Arc<WatchShared>, token: usize) {
        let mut w = primitive::lock(&self.waiters);
        w.entries.retain(|e| match e {
            Entry::Watch {
                shared: s,
                token: t,
            } => !(Arc::ptr_eq(s, shared) && *t == token),
            Entry::Single { .. } => true,
        });
    }

    /// Reads the stored outcome.
    ///
    /// # Safety
    ///
    /// The state must have been observed terminal (with `Acquire`) and the
    /// caller must hold a [`Future`] handle for as long as the reference lives.
    unsafe fn outcome(&self) -> &Option<Result<T, Error>> {
        // SAFETY: per the caller's contract the value was published before the
        // terminal state and is not written while a handle borrows it.
        self.value.with(|p| unsafe { &*p })
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

    /// The drop of the last `Future` handle of a future with consumers.
    fn last_handle_dropped(&self) {
        let delivery = {
            let mut w = primitive::lock(&self.waiters);
            self.take_delivery_locked(&mut w)
        };
        if let Some(d) = delivery {
            d.run();
        }
    }
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
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| consumer(this))) {
                let err = Error::panicked(payload);
                tracing::error!(
                    target: "concur_core",
                    error = %err,
                    "an on_done consumer panicked; later consumers still run"
                );
            }
        }
    }
}

/// Stores the outcome, publishes the terminal state, then (unlocked) wakes
/// every waiter and runs the callbacks in registration order.
fn complete_locked<T: Send + 'static>(
    inner: &Arc<Inner<T>>,
    guard: primitive::MutexGuard<'_, Waiters<T>>,
    outcome: Result<T, Error>,
    new_state: u8,
) {
    if let Some(deferred) = complete_deferring(inner, guard, outcome, new_state) {
        deferred.run_here();
    }
}

/// As [`complete_locked`], but the callbacks (if any) are handed back to be
/// run later, on any thread; the loan lasts until they ran.
fn complete_deferring<T: Send + 'static>(
    inner: &Arc<Inner<T>>,
    mut guard: primitive::MutexGuard<'_, Waiters<T>>,
    outcome: Result<T, Error>,
    new_state: u8,
) -> Option<Callbacks<T>> {
    // SAFETY: the state is not terminal and we hold the lock, so no reader
    // reads `value` and no other writer exists.
    inner.value.with_mut(|p| unsafe { *p = Some(outcome) });
    let entries = std::mem::take(&mut guard.entries);
    let callbacks = guard.take_callbacks();
    if !callbacks.is_empty() {
        guard.lending = Some(primitive::current_thread().id());
        // ORDERING: published by the `Release` store below (see module docs),
        // so whoever sees the terminal state also sees the lent handle.
        inner.handles.fetch_add(LENT, Ordering::Relaxed);
    }
    // ORDERING: `Release` publishes `value`; pairs with `Inner::state_u8`.
    inner.state.store(new_state, Ordering::Release);
    if callbacks.is_empty() {
        let delivery = inner.take_delivery_locked(&mut guard);
        drop(guard);
        wake_all(entries);
        if let Some(d) = delivery {
            d.run();
        }
        return None;
    }
    drop(guard);
    // Built before waking, so the loan is returned even if something
    // unwinds past the `catch_unwind` guards.
    let lent = LentHandle {
        fut: std::mem::ManuallyDrop::new(Future {
            inner: inner.clone(),
        }),
        returned: false,
    };
    wake_all(entries);
    Some(Callbacks {
        lent,
        batch: callbacks,
    })
}

/// A completed future's done-callbacks, not run yet, with the loan of a
/// handle they borrow the value through.
struct Callbacks<T> {
    lent: LentHandle<T>,
    batch: Vec<Callback<T>>,
}

impl<T> Callbacks<T> {
    /// Runs the callbacks on this thread (recorded as the lending thread),
    /// then the ones added meanwhile, then returns the loan.
    fn run_here(self) {
        let Self { mut lent, batch } = self;
        let inner = lent.fut.inner.clone();
        {
            let mut w = primitive::lock(&inner.waiters);
            w.lending = Some(primitive::current_thread().id());
        }
        let mut batch = batch;
        loop {
            for cb in batch {
                run_callback(&lent.fut, cb);
            }
            // Callbacks added while these ran were queued behind them (see
            // `add_done_callback`): run them too, in order, before returning
            // the loan under the same lock that showed the queue empty.
            let mut w = primitive::lock(&inner.waiters);
            batch = w.take_callbacks();
            if batch.is_empty() {
                let (entries, delivery) = lent.return_locked(&mut w);
                drop(w);
                wake_all(entries);
                if let Some(d) = delivery {
                    d.run();
                }
                return;
            }
        }
    }
}

/// Done-callbacks of a completed future, left to run on another thread by
/// [`Promise::set_outcome_deferring_callbacks`].
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

/// The handle the completer lends to done-callbacks; returning it (or
/// dropping it, on unwinding) wakes whoever waits to move the value out.
struct LentHandle<T> {
    fut: std::mem::ManuallyDrop<Future<T>>,
    returned: bool,
}

impl<T> LentHandle<T> {
    /// Ends the loan; the caller wakes the returned entries and runs the
    /// delivery (if the consumers were only waiting for the loan) after
    /// unlocking.
    fn return_locked(&mut self, w: &mut Waiters<T>) -> (Vec<Entry>, Option<Delivery<T>>) {
        self.returned = true;
        w.lending = None;
        // ORDERING: `Release`: the callbacks' reads of `value` happen before
        // a move by whoever sees `LENT` clear (`Inner::lent`).
        self.fut.inner.handles.fetch_sub(LENT, Ordering::Release);
        let delivery = self.fut.inner.take_delivery_locked(w);
        (std::mem::take(&mut w.entries), delivery)
    }
}

impl<T> Drop for LentHandle<T> {
    fn drop(&mut self) {
        if !self.returned {
            let inner = self.fut.inner.clone();
            let (entries, delivery, dropped) = {
                let mut w = primitive::lock(&inner.waiters);
                let (entries, delivery) = self.return_locked(&mut w);
                (entries, delivery, w.take_callbacks())
            };
            drop(dropped);
            wake_all(entries);
            if let Some(d) = delivery {
                d.run();
            }
        }
        // SAFETY: `fut` is `ManuallyDrop` and never used again, so its `Arc`
        // is moved out exactly once; `Future::drop` (which would take one
        // from `handles`) never runs for it: the loan was `LENT`, not 1.
        drop(unsafe { std::ptr::read(&self.fut.inner) });
    }
}

/// Wakes every entry; a panicking waker is reported, never propagated.
fn wake_all(entries: Vec<Entry>) {
    for e in entries {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| e.notify())) {
            let err = Error::panicked(payload);
            tracing::error!(
                target: "concur_core",
                error = %err,
                "a waker panicked while a future completed; other waiters are still woken"
            );
        }
    }
}

fn run_callback<T>(fut: &Future<T>, cb: Callback<T>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| cb(fut))) {
        let err = Error::panicked(payload);
        tracing::error!(
            target: "concur_core",
            error = %err,
            "a done-callback panicked; later callbacks still run"
        );
    }
}

/// A handle to a result that may not exist yet.
///
/// Cheap to clone (one reference count) and `Send + Sync`: any number of
/// threads may wait on and read the same future. It is filled in by its
/// [`Promise`], usually held by an executor.
///
/// # Reading the value without `T: Clone`
///
/// [`result`](Self::result) blocks and *borrows* the value
/// (`Result<&T, Error>`), so every handle can read it. To *own* it, consume
/// the handle with [`into_result`](Self::into_result) (or `.await` it): that
/// moves the value out when this is the last handle. Errors are shared
/// (`Error` is a cheap clone), so every reader sees the same error.
///
/// # Identity
///
/// Futures compare equal, and hash alike, when they are clones of one
/// another ([`id`](Self::id)); the value plays no part, so `T` needs no
/// `Eq` or `Hash`. A map from futures to what they are for is Python's
/// `{executor.submit(load, url): url}`:
///
/// ```
/// use concur_core::{Future, Promise};
/// use std::collections::HashMap;
///
/// let (p1, f1) = Promise::<usize>::new();
/// let (p2, f2) = Promise::<usize>::new();
/// let urls: HashMap<Future<usize>, &str> =
///     HashMap::from([(f1.clone(), "a.example"), (f2.clone(), "b.example")]);
/// p2.set_result(42).unwrap();
/// assert_eq!(urls[&f2], "b.example");
/// assert_eq!(urls.get(&f1), Some(&"a.example"));
/// drop(p1);
/// ```
///
/// Clippy's `mutable_key_type` lint flags such maps because the shared
/// state holds atomics; the hash is the identity, which never changes, so
/// allow the lint there (or list `concur_core::Future` and
/// `concur_core::AnyFuture` under `ignore-interior-mutability` in
/// `clippy.toml`).
///
/// # Examples
///
/// ```
/// use concur_core::Promise;
/// use std::thread;
///
/// let (promise, fut) = Promise::new();
/// let reader = fut.clone();
/// let t = thread::spawn(move || *reader.result().unwrap() + 1);
/// promise.set_result(41).unwrap();
/// assert_eq!(t.join().unwrap(), 42);
/// assert_eq!(fut.into_result().unwrap(), 41);
/// ```
#[must_use = "a future does nothing unless its result is read or it is cancelled"]
pub struct Future<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Future<T> {
    /// The current state.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(3);
    /// assert_eq!(fut.state(), concur_core::State::Finished);
    /// ```
    #[must_use]
    pub fn state(&self) -> State {
        State::from_u8(self.inner.state_u8())
    }

    /// Whether the future is finished, failed or cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!fut.done());
    /// ```
    #[must_use]
    pub fn done(&self) -> bool {
        self.inner.is_done()
    }

    /// Whether an executor is running the task now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// promise.set_running_or_notify_cancel().unwrap();
    /// assert!(fut.running());
    /// ```
    #[must_use]
    pub fn running(&self) -> bool {
        self.inner.state_u8() == RUNNING
    }

    /// Whether the future was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(fut.cancel());
    /// assert!(fut.cancelled());
    /// ```
    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.inner.state_u8() == CANCELLED
    }

    /// Whether the future is done with an error (not counting
    /// cancellation), as [`AnyFuture::failed`](crate::AnyFuture::failed).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future};
    /// assert!(Future::<u8>::from_error(Error::task("x")).failed());
    /// assert!(!Future::ready(1).failed());
    /// ```
    #[must_use]
    pub fn failed(&self) -> bool {
        self.inner.state_u8() == FAILED
    }

    /// Blocks until the future is done (without reading it).
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(());
    /// fut.wait();
    /// assert!(fut.done());
    /// ```
    pub fn wait(&self) {
        self.inner.wait_until(None);
    }

    /// Blocks until the future is done or `timeout` passes; `true` if done.
    ///
    /// `Duration::ZERO` polls once without blocking; a timeout too long to
    /// add to the current [`Instant`] (such as `Duration::MAX`) means no
    /// limit, as [`wait`](Self::wait).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!fut.wait_timeout(Duration::from_millis(1)));
    /// ```
    #[must_use]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner.wait_until(primitive::now().checked_add(timeout))
    }

    /// Blocks until done or until `deadline`; `true` if done.
    ///
    /// A deadline already passed (such as `Instant::now()`) polls once
    /// without blocking; a far-future one simply waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(1);
    /// assert!(fut.wait_deadline(std::time::Instant::now()));
    /// ```
    #[must_use]
    pub fn wait_deadline(&self, deadline: Instant) -> bool {
        self.inner.wait_until(Some(deadline))
    }

    /// Borrows the outcome if the future is done, without blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// assert!(fut.try_result().is_none());
    /// promise.set_result(5).unwrap();
    /// assert_eq!(fut.try_result().unwrap().unwrap(), &5);
    /// ```
    pub fn try_result(&self) -> Option<Result<&T, Error>>
    where
        T: Sync,
    {
        if !self.inner.is_done() {
            return None;
        }
        Some(self.read())
    }

    fn read(&self) -> Result<&T, Error> {
        // SAFETY: callers observed a terminal state; `self` is a handle.
        match unsafe { self.inner.outcome() } {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(e.clone()),
            None => Err(Error::invalid_state("the value was moved out")),
        }
    }

    /// Blocks until done and borrows the value, or returns the error the
    /// task failed with ([`ErrorKind::Cancelled`](crate::ErrorKind) if it was
    /// cancelled).
    ///
    /// # Errors
    ///
    /// The stored error: the task's own error, its panic, a cancellation, a
    /// broken or shut-down executor.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(String::from("hi"));
    /// assert_eq!(fut.result().unwrap(), "hi");
    /// ```
    pub fn result(&self) -> Result<&T, Error>
    where
        T: Sync,
    {
        self.wait();
        self.read()
    }

    /// Like [`result`](Self::result), giving up after `timeout`.
    ///
    /// `Duration::ZERO` polls once without blocking (a pending future
    /// gives the `Timeout` error); `Duration::MAX` means no limit, as
    /// [`result`](Self::result).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`](crate::ErrorKind) if the future is not done in
    /// time (the future is unaffected), else as [`result`](Self::result).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_promise, fut) = concur_core::Promise::<u8>::new();
    /// let err = fut.result_timeout(Duration::from_millis(5)).unwrap_err();
    /// assert!(err.is_timeout());
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<&T, Error>
    where
        T: Sync,
    {
        if !self.wait_timeout(timeout) {
            return Err(Error::timeout("1 (of 1) futures unfinished"));
        }
        self.read()
    }

    /// Blocks until done and returns the error the future ended with, or
    /// `None` if it produced a value. A cancelled future gives its
    /// [`Cancelled`](crate::ErrorKind::Cancelled) error
    /// ([`Error::is_cancelled`]).
    ///
    /// CPython's `exception()` *raises* `CancelledError` instead. Here a
    /// cancellation is an [`Error`] like any other outcome (as
    /// [`result`](Self::result) returns it), so there is nothing to raise:
    /// this never fails, and [`exception_timeout`](Self::exception_timeout)
    /// fails only on its timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future, Promise};
    /// let fut = Future::<u8>::from_error(Error::task("bad"));
    /// assert_eq!(fut.exception().unwrap().to_string(), "task failed: bad");
    /// assert!(Future::ready(1).exception().is_none());
    /// let (_p, pending) = Promise::<u8>::new();
    /// pending.cancel();
    /// assert!(pending.exception().unwrap().is_cancelled());
    /// ```
    pub fn exception(&self) -> Option<Error> {
        self.wait();
        self.read().err()
    }

    /// Like [`exception`](Self::exception), giving up after `timeout`.
    ///
    /// `Duration::ZERO` polls once without blocking; `Duration::MAX` means
    /// no limit, as [`exception`](Self::exception).
    ///
    /// # Errors
    ///
    /// Only [`ErrorKind::Timeout`](crate::ErrorKind), if the future is not
    /// done in time. A cancelled future is `Ok(Some(error))`, as in
    /// [`exception`](Self::exception).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let fut = concur_core::Future::ready(1);
    /// assert!(fut.exception_timeout(Duration::ZERO).unwrap().is_none());
    /// let (_p, pending) = concur_core::Promise::<u8>::new();
    /// assert!(pending.exception_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// ```
    pub fn exception_timeout(&self, timeout: Duration) -> Result<Option<Error>, Error> {
        if !self.wait_timeout(timeout) {
            return Err(Error::timeout("1 (of 1) futures unfinished"));
        }
        Ok(self.read().err())
    }

    /// Blocks until done and moves the value out of the last handle.
    ///
    /// Done-callbacks borrow the value while they run; if they are still
    /// running on the completing thread, this also waits for them (so a
    /// registered callback never makes it fail). A done-callback must
    /// therefore not block on another thread's `into_result` of its own
    /// future.
    ///
    /// # Errors
    ///
    /// The stored error if the task failed or was cancelled. If other
    /// handles to a *successful* future still exist, the value cannot be
    /// moved: [`ErrorKind::InvalidState`](crate::ErrorKind) (use
    /// [`result`](Self::result) to borrow it instead). Also `InvalidState`
    /// if called from a done-callback of this same future (on a clone):
    /// the value is borrowed by that callback.
    ///
    /// # Examples
    ///
    /// ```
    /// let fut = concur_core::Future::ready(vec![1, 2]);
    /// let v: Vec<i32> = fut.into_result().unwrap();
    /// assert_eq!(v, [1, 2]);
    /// ```
    pub fn into_result(self) -> Result<T, Error> {
        self.wait();
        let unlent = self.inner.wait_unlent();
        self.finish_into_result(unlent)
    }

    /// The move (or the error) once the future is done and, if `unlent`,
    /// no done-callback borrows the value any more.
    fn finish_into_result(self, unlent: bool) -> Result<T, Error> {
        match self.try_into_result() {
            Ok(outcome) => outcome,
            Err(shared) => match shared.read() {
                Err(e) => Err(e),
                Ok(_) if !unlent => Err(Error::invalid_state(
                    "into_result inside a done-callback of the same future: the callback borrows the value",
                )),
                Ok(_) => Err(Error::invalid_state(
                    "into_result needs the only handle: other clones of this future still exist",
                )),
            },
        }
    }

    /// Without blocking: moves the outcome out if the future is done and
    /// this is its only handle, else gives the handle back.
    ///
    /// # Errors
    ///
    /// `Err(self)` if the future is not done, other handles exist, or its
    /// done-callbacks are still running (they borrow the value).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// let fut = fut.try_into_result().unwrap_err(); // not done yet
    /// promise.set_result('x').unwrap();
    /// assert_eq!(fut.try_into_result().unwrap().unwrap(), 'x');
    /// ```
    pub fn try_into_result(self) -> Result<Result<T, Error>, Self> {
        if !self.inner.is_done() {
            return Err(self);
        }
        // ORDERING: pairs with the `Release` decrement in `Drop`, so every
        // read through another (now dropped) handle happened before we move.
        if self.inner.handles.load(Ordering::Acquire) & !CONSUMED != 1 {
            return Err(self);
        }
        // SAFETY: done, and ours is the only handle that can read `value`.
        let taken = self.inner.value.with_mut(|p| unsafe { (*p).take() });
        Ok(taken.unwrap_or_else(|| Err(Error::invalid_state("the value was moved out"))))
    }

    /// A stable identity for this future while any handle lives (the
    /// address of its shared state): equal for clones of one future.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_core::Future::ready(1);
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), concur_core::Future::ready(1).id());
    /// ```
    #[must_use]
    pub fn id(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }
}

impl<T: Send + 'static> Future<T> {
    /// A future already finished with `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(*concur_core::Future::ready(7).result().unwrap(), 7);
    /// ```
    pub fn ready(value: T) -> Self {
        let (promise, fut) = Promise::new();
        let _ = promise.set_result(value);
        fut
    }

    /// A future already failed with `error` (the twin of
    /// [`ready`](Self::ready); [`failed`](Self::failed) is the predicate).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, Future, State};
    /// let fut = Future::<()>::from_error(Error::shutdown());
    /// assert_eq!(fut.state(), State::Failed);
    /// ```
    pub fn from_error(error: Error) -> Self {
        let (promise, fut) = Promise::new();
        let _ = promise.set_exception(error);
        fut
    }

    /// Cancels the future if it has not started. Returns `true` if it is
    /// cancelled now (also if it already was), `false` if it is running or
    /// done.
    ///
    /// Waiters and callbacks are notified at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(fut.cancel());
    /// assert!(!promise.set_running_or_notify_cancel().unwrap()); // the executor skips it
    /// assert!(fut.result().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        Inner::cancel(&self.inner)
    }

    /// Runs `callback` once the future is done (value, error or
    /// cancellation): on the completing thread, or at once on this thread if
    /// the future is already done. A panicking callback is reported through
    /// `tracing` and does not stop the others.
    ///
    /// Callbacks run in registration order, strictly: one added while the
    /// completing thread is still running earlier callbacks (including one
    /// added by such a callback) is queued behind them and runs on that
    /// thread, rather than at once on this one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let (promise, fut) = concur_core::Promise::new();
    /// fut.add_done_callback(move |f| tx.send(*f.result().unwrap()).unwrap());
    /// promise.set_result(9).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 9);
    /// ```
    pub fn add_done_callback<F>(&self, callback: F)
    where
        F: FnOnce(&Future<T>) + Send + 'static,
    {
        let mut w = primitive::lock(&self.inner.waiters);
        // While the completer lends callbacks a handle, it also drains this
        // queue before returning the loan, under this lock.
        if !state::is_terminal(self.inner.state_locked(&w)) || w.lending.is_some() {
            w.callbacks.get_or_insert_default().push(Box::new(callback));
            return;
        }
        drop(w);
        run_callback(self, Box::new(callback));
    }

    /// Gives up this handle and hands the outcome **by move** to `callback`
    /// once nothing else can read it: the future is done, no other
    /// [`Future`] handle remains (erased [`AnyFuture`](crate::AnyFuture)s
    /// and the [`Promise`] do not count) and no done-callback still borrows
    /// the value. Like [`Arc::into_inner`](std::sync::Arc::into_inner),
    /// the value goes to the last owner; neither `T: Clone` nor `T: Sync`
    /// is needed.
    ///
    /// `callback` runs exactly once, on the thread of whichever of those
    /// events comes last: the completion, the drop of the last other
    /// handle, the end of the done-callbacks, or this call itself (then at
    /// once, here).
    ///
    /// If several handles register consumers, the first registered gets the
    /// value and later ones get
    /// [`InvalidState`](crate::ErrorKind::InvalidState) ("moved to an
    /// earlier consumer"); an error (including a cancellation, or
    /// [`Abandoned`](crate::ErrorKind::Abandoned) when the promise is
    /// dropped) is cloned to every consumer. If another handle moves the
    /// value out with [`into_result`](Self::into_result) first, consumers
    /// get `InvalidState`. A panicking consumer is reported through
    /// `tracing` and never reaches the thread that ran it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::sync::mpsc;
    ///
    /// // `Cell` is neither `Clone` (here, with a `String`) nor `Sync`.
    /// let (promise, fut) = concur_core::Promise::new();
    /// let watcher = fut.clone();
    /// let (tx, rx) = mpsc::channel();
    /// fut.on_done(move |r: Result<Cell<String>, _>| tx.send(r.unwrap().into_inner()).unwrap());
    /// promise.set_result(Cell::new("moved".to_string())).unwrap();
    /// assert!(rx.try_recv().is_err()); // `watcher` could still read it
    /// drop(watcher);
    /// assert_eq!(rx.recv().unwrap(), "moved");
    /// ```
    pub fn on_done<F>(self, callback: F)
    where
        F: FnOnce(Result<T, Error>) + Send + 'static,
    {
        {
            let mut w = primitive::lock(&self.inner.waiters);
            w.consumers
                .get_or_insert_with(|| Box::new(Consumers(Vec::new())))
                .0
                .push(Box::new(callback));
            // ORDERING: sequenced before this handle's own `Release`
            // decrement, so the drop reaching zero always sees the flag.
            self.inner.handles.fetch_or(CONSUMED, Ordering::Relaxed);
        }
        drop(self);
    }

    /// A type-erased handle (state, cancel, waiting; not the value), for
    /// collections of futures with different output types.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_core::Future::ready(1u8);
    /// let b = concur_core::Future::ready("two");
    /// let all = [a.erase(), b.erase()];
    /// assert!(all.iter().all(|f| f.done()));
    /// ```
    pub fn erase(&self) -> crate::AnyFuture {
        crate::AnyFuture::new(ErasedInner(self.inner.clone()))
    }
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Self {
        // ORDERING: like `Arc::clone`; the new handle is reachable only
        // through one that already exists.
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Drop for Future<T> {
    fn drop(&mut self) {
        // ORDERING: pairs with the `Acquire` loads in `try_into_result` and
        // `take_delivery_locked`.
        let before = self.inner.handles.fetch_sub(1, Ordering::Release);
        // The last handle of a future with consumers, and no loan (whose
        // return would check instead): the consumers may be due now.
        if before == CONSUMED | 1 {
            self.inner.last_handle_dropped();
        }
    }
}

/// Identity, not value: two handles are equal when they are handles to the
/// same future (clones of one another), whatever `T` and the state. So a
/// future can key a map, as in Python's `{executor.submit(f, url): url}`.
///
/// # Examples
///
/// ```
/// let a = concur_core::Future::ready(1);
/// assert_eq!(a, a.clone());
/// assert_ne!(a, concur_core::Future::ready(1));
/// ```
impl<T> PartialEq for Future<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl<T> Eq for Future<T> {}

/// Hashes the identity ([`Future::id`]), consistently with `Eq`.
impl<T> std::hash::Hash for Future<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<T> fmt::Debug for Future<T> {
    /// Like CPython's repr: `<Future at 0x… state=finished returned u64>`,
    /// `<Future at 0x… state=failed raised ParseIntError>` for a task's
    /// error (its [`Error::type_name`]), the kind otherwise (`raised
    /// cancelled`, `raised panicked`, …).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state();
        write!(f, "<Future at {:#x} state={}", self.id(), s.as_str())?;
        match s {
            State::Finished => write!(f, " returned {}>", std::any::type_name::<T>()),
            State::Failed => match self.read() {
                Err(e) => match e.type_name() {
                    Some(t) => write!(f, " raised {t}>"),
                    None => write!(f, " raised {}>", e.kind()),
                },
                Ok(_) => f.write_str(">"),
            },
            _ => f.write_str(">"),
        }
    }
}

/// The completing side of a [`Future`]: what an executor holds to report the
/// task's progress and outcome.
///
/// Dropping a promise that has not completed its future fails the future
/// with [`ErrorKind::Abandoned`](crate::ErrorKind), so no waiter hangs.
///
/// # Examples
///
/// ```
/// use concur_core::{ErrorKind, Promise};
///
/// let (promise, fut) = Promise::<u32>::new();
/// drop(promise);
/// assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::Abandoned);
/// ```
#[must_use = "dropping a promise fails its future as abandoned"]
pub struct Promise<T: Send + 'static> {
    inner: Arc<Inner<T>>,
}

impl<T: Send + 'static> Promise<T> {
    /// A pending future and the promise that completes it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_result("done").unwrap();
    /// assert_eq!(*fut.result().unwrap(), "done");
    /// ```
    pub fn new() -> (Self, Future<T>) {
        let inner = Arc::new(Inner::new(1));
        (
            Self {
                inner: inner.clone(),
            },
            Future { inner },
        )
    }

    /// Marks the future running, unless it was cancelled.
    ///
    /// Returns `Ok(true)` if the task should run now, `Ok(false)` if it was
    /// cancelled (waiters were already told; skip the task).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if the future is already
    /// running or done (a bug in the executor).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, _fut) = concur_core::Promise::<()>::new();
    /// assert!(promise.set_running_or_notify_cancel().unwrap());
    /// assert!(promise.set_running_or_notify_cancel().is_err());
    /// ```
    pub fn set_running_or_notify_cancel(&self) -> Result<bool, Error> {
        let guard = primitive::lock(&self.inner.waiters);
        match self.inner.state_locked(&guard) {
            PENDING => {
                // ORDERING: all transitions happen under the lock; Release so a
                // lock-free `running()` sees a state at least this new.
                self.inner.state.store(RUNNING, Ordering::Release);
                Ok(true)
            }
            CANCELLED => Ok(false),
            s => Err(Error::invalid_state(format!(
                "set_running_or_notify_cancel on a {} future",
                State::from_u8(s)
            ))),
        }
    }

    fn complete(&self, outcome: Result<T, Error>, new_state: u8) -> Result<(), Error> {
        let guard = primitive::lock(&self.inner.waiters);
        let s = self.inner.state_locked(&guard);
        if state::is_terminal(s) {
            return Err(Error::invalid_state(format!(
                "the future is already {}",
                State::from_u8(s)
            )));
        }
        complete_locked(&self.inner, guard, outcome, new_state);
        Ok(())
    }

    /// Completes the future with `value`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if the future is already
    /// done (finished, failed or cancelled); the first outcome stays.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_result(1).unwrap();
    /// assert!(promise.set_result(2).is_err());
    /// assert_eq!(*fut.result().unwrap(), 1);
    /// ```
    pub fn set_result(&self, value: T) -> Result<(), Error> {
        self.complete(Ok(value), FINISHED)
    }

    /// Fails the future with `error`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<u8>::new();
    /// promise.set_exception(concur_core::Error::task("no")).unwrap();
    /// assert!(fut.result().is_err());
    /// ```
    pub fn set_exception(&self, error: Error) -> Result<(), Error> {
        self.complete(Err(error), FAILED)
    }

    /// Completes with a value or fails with an error.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// promise.set_outcome(Ok(3)).unwrap();
    /// assert_eq!(fut.into_result().unwrap(), 3);
    /// ```
    pub fn set_outcome(&self, outcome: Result<T, Error>) -> Result<(), Error> {
        match outcome {
            Ok(v) => self.set_result(v),
            Err(e) => self.set_exception(e),
        }
    }

    /// Completes the future like [`set_outcome`](Self::set_outcome) (waiters
    /// wake at once), but leaves its done-callbacks to the caller: `Some`
    /// if there are any, to [`run`](DeferredCallbacks::run) on another
    /// thread. An executor's I/O thread uses this so that a slow callback
    /// never delays the results of other futures.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidState`](crate::ErrorKind) if already done.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::new();
    /// // No callbacks: nothing to run later.
    /// assert!(promise.set_outcome_deferring_callbacks(Ok(5)).unwrap().is_none());
    /// assert_eq!(fut.into_result().unwrap(), 5);
    /// ```
    pub fn set_outcome_deferring_callbacks(
        &self,
        outcome: Result<T, Error>,
    ) -> Result<Option<DeferredCallbacks>, Error> {
        let guard = primitive::lock(&self.inner.waiters);
        let s = self.inner.state_locked(&guard);
        if state::is_terminal(s) {
            return Err(Error::invalid_state(format!(
                "the future is already {}",
                State::from_u8(s)
            )));
        }
        let new_state = if outcome.is_ok() { FINISHED } else { FAILED };
        Ok(
            complete_deferring(&self.inner, guard, outcome, new_state).map(|cbs| {
                DeferredCallbacks {
                    run: Box::new(move || cbs.run_here()),
                }
            }),
        )
    }

    /// The future's current state.
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// fut.cancel();
    /// assert_eq!(promise.state(), concur_core::State::Cancelled);
    /// ```
    pub fn state(&self) -> State {
        State::from_u8(self.inner.state_u8())
    }

    /// Cancels the future if it is still pending (for executors that drop
    /// queued work, e.g. `shutdown(cancel_futures = true)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(promise.cancel());
    /// assert!(fut.cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        Inner::cancel(&self.inner)
    }

    /// A type-erased handle to the future (as [`Future::erase`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (promise, fut) = concur_core::Promise::<()>::new();
    /// assert!(!promise.erase().done());
    /// assert_eq!(promise.erase(), fut.erase());
    /// ```
    pub fn erase(&self) -> crate::AnyFuture {
        crate::AnyFuture::new(ErasedInner(self.inner.clone()))
    }
}

impl<T: Send + 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        if !self.inner.is_done() {
            let _ = self.complete(Err(Error::abandoned()), FAILED);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("state", &self.state())
            .finish()
    }
}

/// The `std::future::Future` behind `fut.await` on an owned [`Future`]:
/// resolves to [`Future::into_result`]'s outcome.
///
/// Dropping it before completion only removes its waker; it does not
/// cancel the task (the async adapter crate offers cancel-on-drop).
///
/// # Examples
///
/// ```
/// let fut = concur_core::Future::ready(5);
/// let v = futures::executor::block_on(async { fut.await }).unwrap();
/// assert_eq!(v, 5);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct FutureOutput<T> {
    fut: Option<Future<T>>,
    slot: Option<usize>,
}

impl<T> std::future::Future for FutureOutput<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(fut) = this.fut.as_ref() else {
            return Poll::Ready(Err(Error::invalid_state("polled after completion")));
        };
        // Once done, `poll_done` is skipped so `slot` keeps the id of the
        // waker `poll_unlent` registered, if any.
        if !fut.done() && fut.inner.poll_done(cx, &mut this.slot).is_pending() {
            return Poll::Pending;
        }
        match fut.inner.poll_unlent(cx, &mut this.slot) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(unlent) => {
                let fut = this.fut.take().expect("checked above");
                Poll::Ready(fut.finish_into_result(unlent))
            }
        }
    }
}

impl<T> FutureOutput<T> {
    /// The awaited future, or `None` once this awaitable resolved (its
    /// outcome was moved out).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::IntoFuture;
    /// let out = concur_core::Future::ready(1).into_future();
    /// assert!(out.get_ref().unwrap().done());
    /// ```
    #[must_use]
    pub fn get_ref(&self) -> Option<&Future<T>> {
        self.fut.as_ref()
    }

    /// Gives the future back, removing this awaitable's waker; `None` if it
    /// already resolved. (Added for the async adapter's `detach`.)
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::IntoFuture;
    /// let (promise, fut) = concur_core::Promise::<u8>::new();
    /// let mut out = fut.into_future();
    /// let waker = std::task::Waker::noop();
    /// let mut cx = std::task::Context::from_waker(&waker);
    /// assert!(std::pin::Pin::new(&mut out).poll(&mut cx).is_pending());
    /// let fut = out.into_inner().unwrap();
    /// promise.set_result(3).unwrap();
    /// assert_eq!(fut.into_result().unwrap(), 3);
    /// ```
    #[must_use]
    pub fn into_inner(mut self) -> Option<Future<T>> {
        if let Some(fut) = &self.fut {
            fut.inner.forget_waker(&mut self.slot);
        }
        self.fut.take()
    }
}

impl<T> Drop for FutureOutput<T> {
    fn drop(&mut self) {
        if let Some(fut) = &self.fut {
            fut.inner.forget_waker(&mut self.slot);
        }
    }
}

impl<T> fmt::Debug for FutureOutput<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureOutput")
            .field("fut", &self.fut)
            .finish()
    }
}

impl<T> std::future::IntoFuture for Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = FutureOutput<T>;

    fn into_future(self) -> Self::IntoFuture {
        FutureOutput {
            fut: Some(self),
            slot: None,
        }
    }
}

/// The `std::future::Future` behind `(&fut).await`: borrows the value, like
/// [`Future::result`], without blocking the thread.
///
/// # Examples
///
/// ```
/// let fut = concur_core::Future::ready(String::from("a"));
/// let s: &String = futures::executor::block_on(async { (&fut).await }).unwrap();
/// assert_eq!(s, "a");
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct FutureOutputRef<'a, T> {
    fut: &'a Future<T>,
    slot: Option<usize>,
}

impl<'a, T: Sync> std::future::Future for FutureOutputRef<'a, T> {
    type Output = Result<&'a T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.fut.inner.poll_done(cx, &mut this.slot) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(this.fut.read()),
        }
    }
}

impl<T> Drop for FutureOutputRef<'_, T> {
    fn drop(&mut self) {
        self.fut.inner.forget_waker(&mut self.slot);
    }
}

impl<T> fmt::Debug for FutureOutputRef<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FutureOutputRef")
            .field("fut", self.fut)
            .finish()
    }
}

impl<'a, T: Sync> std::future::IntoFuture for &'a Future<T> {
    type Output = Result<&'a T, Error>;
    type IntoFuture = FutureOutputRef<'a, T>;

    fn into_future(self) -> Self::IntoFuture {
        FutureOutputRef {
            fut: self,
            slot: None,
        }
    }
}

/// Type-erased operations on a future's shared state, for [`AnyFuture`](crate::AnyFuture).
pub(crate) trait Erased: Send + Sync {
    fn id(&self) -> usize;
    fn state_u8(&self) -> u8;
    fn cancel(&self) -> bool;
    fn wait_until(&self, deadline: Option<Instant>) -> bool;
    fn poll_done(&self, cx: &mut Context<'_>, slot: &mut Option<usize>) -> Poll<()>;
    fn forget_waker(&self, slot: &mut Option<usize>);
    fn add_watch(&self, shared: &Arc<WatchShared>, token: usize) -> bool;
    fn remove_watch(&self, shared: &Arc<WatchShared>, token: usize);
}

/// Holds a future's shared state behind the [`Erased`] trait (loom's `Arc`
/// cannot be unsized, so the erased handle boxes this instead).
pub(crate) struct ErasedInner<T>(pub(crate) Arc<Inner<T>>);

impl<T: Send + 'static> Erased for ErasedInner<T> {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as *const () as usize
    }
    fn state_u8(&self) -> u8 {
        self.0.state_u8()
    }
    fn cancel(&self) -> bool {
        Inner::cancel(&self.0)
    }
    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        self.0.wait_until(deadline)
    }
    fn poll_done(&self, cx: &mut Context<'_>, slot: &mut Option<usize>) -> Poll<()> {
        self.0.poll_done(cx, slot)
    }
    fn forget_waker(&self, slot: &mut Option<usize>) {
        self.0.forget_waker(slot);
    }
    fn add_watch(&self, shared: &Arc<WatchShared>, token: usize) -> bool {
        self.0.add_watch(shared, token)
    }
    fn remove_watch(&self, shared: &Arc<WatchShared>, token: usize) {
        self.0.remove_watch(shared, token);
    }
}

#[cfg(test)]
pub(crate) type InnerForSize<T> = Inner<T>;
