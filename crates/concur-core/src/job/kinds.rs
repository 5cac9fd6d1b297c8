//! The kinds of job a [`Job`](crate::Job) can hold: one payload and the
//! function that runs it ([`PayloadJob`], also a chunk of remote calls
//! with [`call_each_item`]), a batch of remote calls with a promise each
//! ([`BatchJob`]), and a scoped closure ([`ScopedJob`]).

use super::RunOutcome;
use super::vtable::RunJob;
use crate::chunk::ChunkOutcome;
use crate::error::Error;
use crate::future::Promise;
use crate::remote_fn::RemoteFn;
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `call(payload)` behind `catch_unwind` into `promise`, unless
/// cancelled; `before_complete` runs just before the promise is completed,
/// with how the run ended.
fn run_into<P, T: Send + 'static>(
    promise: &Promise<T>,
    payload: P,
    call: impl FnOnce(P) -> Result<T, Error>,
    before_complete: &mut dyn FnMut(RunOutcome),
) {
    if !matches!(promise.set_running_or_notify_cancel(), Ok(true)) {
        before_complete(RunOutcome::Cancelled);
        return;
    }
    let outcome = match catch_unwind(AssertUnwindSafe(move || call(payload))) {
        Ok(o) => o,
        Err(panic) => Err(Error::panicked(panic)),
    };
    before_complete(if outcome.is_ok() {
        RunOutcome::Completed
    } else {
        RunOutcome::Failed
    });
    let _ = promise.set_outcome(outcome);
}

/// One payload, one function pointer that runs it, one promise.
pub(crate) struct PayloadJob<P, T: Send + 'static> {
    pub(crate) payload: P,
    pub(crate) call: fn(P) -> Result<T, Error>,
    pub(crate) promise: Promise<T>,
}

impl<P: Send + 'static, T: Send + 'static> RunJob for PayloadJob<P, T> {
    fn run(self, before_complete: &mut dyn FnMut(RunOutcome)) {
        run_into(&self.promise, self.payload, self.call, before_complete);
    }
    fn cancel(self) {
        self.promise.cancel();
    }
    fn fail(self, error: Error) {
        let _ = self.promise.set_exception(error);
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(self))
    }
}

/// Many argument sets of one remote function, one promise each, run in order.
pub(crate) struct BatchJob<F: RemoteFn> {
    pub(crate) items: Vec<(F::Args, Promise<F::Output>)>,
}

impl<F: RemoteFn> RunJob for BatchJob<F> {
    fn run(self, before_complete: &mut dyn FnMut(RunOutcome)) {
        let last = self.items.len().saturating_sub(1);
        if self.items.is_empty() {
            before_complete(RunOutcome::Completed);
        }
        // The batch failed if an item did, was cancelled if every item was.
        let (mut failed, mut all_cancelled) = (false, true);
        for (i, (args, promise)) in self.items.into_iter().enumerate() {
            let call = |a| F::call(a).map_err(Error::task);
            if i == last {
                run_into(&promise, args, call, &mut |o| {
                    before_complete(if failed || o == RunOutcome::Failed {
                        RunOutcome::Failed
                    } else if all_cancelled && o == RunOutcome::Cancelled {
                        RunOutcome::Cancelled
                    } else {
                        RunOutcome::Completed
                    });
                });
            } else {
                run_into(&promise, args, call, &mut |o| {
                    failed |= o == RunOutcome::Failed;
                    all_cancelled &= o == RunOutcome::Cancelled;
                });
            }
        }
    }
    fn cancel(self) {
        for (_, p) in &self.items {
            p.cancel();
        }
    }
    fn fail(self, error: Error) {
        for (_, p) in &self.items {
            let _ = p.set_exception(error.clone());
        }
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        Some(Box::new(self))
    }
}

/// The call of a chunk job (a [`PayloadJob`] over all its items, see
/// `Job::chunk`): runs the items in order, one outcome each, a panic
/// failing only its item.
pub(crate) fn call_each_item<F: RemoteFn>(
    items: Vec<F::Args>,
) -> Result<ChunkOutcome<F::Output>, Error> {
    let start = std::time::Instant::now();
    let mut out = ChunkOutcome::with_capacity(items.len());
    for a in items {
        out.push(match catch_unwind(AssertUnwindSafe(|| F::call(a))) {
            Ok(r) => r.map_err(Error::task),
            Err(panic) => Err(Error::panicked(panic)),
        });
    }
    out.set_service_time(start.elapsed());
    Ok(out)
}

/// A closure that borrows from a scope; see [`Job::new_scoped`](crate::Job::new_scoped).
pub(crate) struct ScopedJob<F, T: Send + 'static> {
    pub(crate) f: F,
    pub(crate) promise: Promise<T>,
}

impl<F: FnOnce() -> T + Send, T: Send + 'static> RunJob for ScopedJob<F, T> {
    fn run(self, before_complete: &mut dyn FnMut(RunOutcome)) {
        run_into(&self.promise, self.f, |f| Ok(f()), before_complete);
    }
    fn cancel(self) {
        self.promise.cancel();
    }
    fn fail(self, error: Error) {
        let _ = self.promise.set_exception(error);
    }
    fn into_any(self) -> Option<Box<dyn Any + Send>> {
        None
    }
}
