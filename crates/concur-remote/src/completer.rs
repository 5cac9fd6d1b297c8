//! The completing side of a task: decodes a worker's results into the
//! futures ([`Promises`], one per item; [`ChunkPromise`], one per chunk).
//!
//! Decoding (the user's `Deserialize`) runs on the thread that calls
//! [`Completer::complete`], the transport's I/O thread; done-callbacks are
//! handed back ([`DeferredCallbacks`]) to run elsewhere.

use concur_core::{ChunkOutcome, DeferredCallbacks, Error, ErrorKind, Promise, RemoteFn};
use concur_ipc::{Outcomes, RemoteError, RemoteErrorKind, decode};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

/// The completing side of one task.
pub trait Completer: Send {
    /// Marks the futures running; `false` if every one was cancelled (skip).
    fn start(&mut self) -> bool;
    /// Completes from the worker's results (decoding each output), with the
    /// time since the call was sent (a chunk's outcome carries it: see
    /// [`ChunkOutcome::service_time`]); returns the done-callbacks to run,
    /// and whether a future failed.
    fn complete(self: Box<Self>, results: Outcomes, service: Option<Duration>) -> Completion;
    /// Fails every unfinished future with `error`; returns the callbacks.
    fn fail(self: Box<Self>, error: Error) -> Vec<DeferredCallbacks>;
    /// Cancels every future still pending (callbacks run on this thread).
    fn cancel(self: Box<Self>);
    /// Whether one of the futures has this id.
    fn has_future(&self, id: usize) -> bool;
}

/// The future's error for a failed remote call: the user's own error or
/// panic stays [`ErrorKind::Task`]; encoding and decoding failures are
/// [`ErrorKind::Codec`], an oversized frame [`ErrorKind::FrameTooLarge`], a
/// function the worker does not know (or knows with another signature)
/// [`ErrorKind::Protocol`]. The [`RemoteError`] is the downcastable source.
///
/// # Examples
///
/// ```
/// use concur_core::ErrorKind;
/// use concur_ipc::{RemoteError, RemoteErrorKind};
/// let e = concur_remote::remote_failure(RemoteError::new(RemoteErrorKind::DecodeResult, "u8", "bad"));
/// assert_eq!(e.kind(), ErrorKind::Codec);
/// assert!(e.downcast_ref::<RemoteError>().is_some());
/// ```
#[must_use]
pub fn remote_failure(remote: RemoteError) -> Error {
    // One mapping from remote error kinds to error kinds: ipc's conversion.
    Error::from(remote)
}

/// What completing a task from a worker's results did.
///
/// # Examples
///
/// ```
/// use concur_core::Promise;
/// use concur_remote::{Completer, Promises};
/// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
///
/// let (p, fut) = Promise::new();
/// let mut c = Box::new(Promises::<one>::new(vec![p]));
/// assert!(c.start());
/// let done = c.complete(vec![Ok(concur_ipc::encode(&7u8).unwrap())].into(), None);
/// assert!(!done.failed && done.callbacks.is_empty());
/// assert_eq!(fut.into_result().unwrap(), 7);
/// ```
#[derive(Debug)]
#[must_use = "the callbacks must be run"]
pub struct Completion {
    /// The futures' done-callbacks, to run off the I/O thread.
    pub callbacks: Vec<DeferredCallbacks>,
    /// Whether one of the task's futures now holds an error (its item
    /// failed in the worker, or its output did not decode). A chunk's item
    /// errors stay in its `ChunkOutcome`: its future holds a value.
    pub failed: bool,
}

fn decode_output<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let ty = std::any::type_name::<T>();
    match catch_unwind(AssertUnwindSafe(|| decode::<T>(bytes))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(remote_failure(RemoteError::from_decode_error::<T>(
            RemoteErrorKind::DecodeResult,
            bytes,
            &e,
        ))),
        Err(payload) => {
            let panic = Error::panicked(payload);
            Err(remote_failure(RemoteError::new(
                RemoteErrorKind::DecodeResult,
                ty,
                format!("panicked: {}", panic.panic_message().unwrap_or_default()),
            )))
        }
    }
}

fn outcome<T: serde::de::DeserializeOwned>(r: Result<&[u8], &RemoteError>) -> Result<T, Error> {
    match r {
        Ok(bytes) => decode_output::<T>(bytes),
        Err(remote) => Err(remote_failure(remote.clone())),
    }
}

fn mismatch(got: usize, want: usize) -> Error {
    Error::infrastructure(
        ErrorKind::Protocol,
        format!("protocol violation: the worker sent {got} results for {want} items"),
    )
}

/// Sets `outcome` unless the future is done (cancelled meanwhile), keeping
/// its callbacks.
fn settle<T: Send + 'static>(
    p: &Promise<T>,
    outcome: Result<T, Error>,
    out: &mut Vec<DeferredCallbacks>,
) {
    if let Ok(Some(d)) = p.set_outcome_deferring_callbacks(outcome) {
        out.push(d);
    }
}

/// Completes the promises of a [`RemoteFn`]'s items, one per item.
pub struct Promises<F: RemoteFn> {
    promises: Vec<Promise<F::Output>>,
}

impl<F: RemoteFn> Promises<F> {
    /// Wraps the promises of a task's items.
    ///
    /// # Examples
    ///
    /// ```
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let (p, _f) = concur_core::Promise::new();
    /// let c = concur_remote::Promises::<one>::new(vec![p]);
    /// # drop(c);
    /// ```
    #[must_use]
    pub fn new(promises: Vec<Promise<F::Output>>) -> Self {
        Self { promises }
    }
}

impl<F: RemoteFn> std::fmt::Debug for Promises<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Promises")
            .field("function", &F::NAME)
            .field("items", &self.promises.len())
            .finish()
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

    fn complete(self: Box<Self>, results: Outcomes, _service: Option<Duration>) -> Completion {
        if results.len() != self.promises.len() {
            let e = mismatch(results.len(), self.promises.len());
            return Completion {
                callbacks: self.fail(e),
                failed: true,
            };
        }
        let mut out = Vec::new();
        let mut failed = false;
        for (p, r) in self.promises.iter().zip(results.iter()) {
            if !p.state().is_done() {
                let o = outcome::<F::Output>(r);
                failed |= o.is_err();
                settle(p, o, &mut out);
            }
        }
        Completion {
            callbacks: out,
            failed,
        }
    }

    fn fail(self: Box<Self>, error: Error) -> Vec<DeferredCallbacks> {
        let mut out = Vec::new();
        for p in &self.promises {
            if !p.state().is_done() {
                settle(p, Err(error.clone()), &mut out);
            }
        }
        out
    }

    fn cancel(self: Box<Self>) {
        for p in self.promises {
            if !p.cancel() && !p.state().is_done() {
                let _ = p.set_exception(Error::cancelled());
            }
        }
    }

    fn has_future(&self, id: usize) -> bool {
        self.promises.iter().any(|p| p.erase().id() == id)
    }
}

/// Completes the one promise of a chunk (see `TaskExecutor::submit_chunk`)
/// with a [`ChunkOutcome`]: each decoded output among its values, each
/// item error (the worker's, or an argument that never got sent) among its
/// failures at the item's position.
pub struct ChunkPromise<F: RemoteFn> {
    promise: Promise<ChunkOutcome<F::Output>>,
    /// Items whose arguments failed to encode (never sent), by position.
    unsent: Vec<(usize, Error)>,
    /// Items in all, sent or not.
    len: usize,
}

impl<F: RemoteFn> ChunkPromise<F> {
    /// Wraps a chunk's promise; `unsent` (ascending positions among the
    /// `len` items) are the chunk's failures between the worker's results.
    ///
    /// # Examples
    ///
    /// ```
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let (p, _f) = concur_core::Promise::new();
    /// let c = concur_remote::ChunkPromise::<one>::new(p, vec![], 3);
    /// # drop(c);
    /// ```
    #[must_use]
    pub fn new(
        promise: Promise<ChunkOutcome<F::Output>>,
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

impl<F: RemoteFn> std::fmt::Debug for ChunkPromise<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkPromise")
            .field("function", &F::NAME)
            .field("items", &self.len)
            .finish_non_exhaustive()
    }
}

impl<F: RemoteFn> Completer for ChunkPromise<F> {
    fn start(&mut self) -> bool {
        matches!(self.promise.set_running_or_notify_cancel(), Ok(true))
    }

    fn complete(self: Box<Self>, results: Outcomes, service: Option<Duration>) -> Completion {
        if results.len() + self.unsent.len() != self.len {
            let e = mismatch(results.len(), self.len - self.unsent.len());
            return Completion {
                callbacks: self.fail(e),
                failed: true,
            };
        }
        let this = *self;
        let mut out = ChunkOutcome::with_capacity(results.len());
        let mut unsent = this.unsent.into_iter().peekable();
        for r in results.iter() {
            while let Some((_, e)) = unsent.next_if(|(at, _)| *at == out.len()) {
                out.push_err(e);
            }
            // A decoded output joins the values, an error the failures.
            out.push(outcome::<F::Output>(r));
        }
        for (_, e) in unsent {
            out.push_err(e);
        }
        if let Some(d) = service {
            out.set_service_time(d);
        }
        let mut deferred = Vec::new();
        settle(&this.promise, Ok(out), &mut deferred);
        Completion {
            callbacks: deferred,
            failed: false,
        }
    }

    fn fail(self: Box<Self>, error: Error) -> Vec<DeferredCallbacks> {
        let mut deferred = Vec::new();
        if !self.promise.state().is_done() {
            settle(&self.promise, Err(error), &mut deferred);
        }
        deferred
    }

    fn cancel(self: Box<Self>) {
        if !self.promise.cancel() && !self.promise.state().is_done() {
            let _ = self.promise.set_exception(Error::cancelled());
        }
    }

    fn has_future(&self, id: usize) -> bool {
        self.promise.erase().id() == id
    }
}
