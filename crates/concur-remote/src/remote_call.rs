//! [`RemoteCall`]: one call, encoded once, waiting for or running on a worker.

use crate::completer::{Completer, Completion, remote_failure};
use concur_core::{DeferredCallbacks, Error, RemoteFn};
use concur_ipc::attach::Attachments;
use concur_ipc::{Call, FnRef, Outcomes, Packed, RemoteError, RemoteErrorKind, Request};
use std::fmt;

/// A call waiting for, or running on, a worker: the whole request frame,
/// encoded on the submitting thread (outside any lock) with its
/// generation, and the side that completes its futures.
pub struct RemoteCall {
    generation: u64,
    frame: Vec<u8>,
    /// Descriptors sent with the frame (see [`concur_ipc::attach`]).
    attachments: Attachments,
    completer: Box<dyn Completer>,
    /// When it was given to a worker (its service time runs from there).
    sent: Option<std::time::Instant>,
}

impl RemoteCall {
    /// Encodes a call of `F` on `items` as a complete frame (length prefix
    /// included) of at most `max_frame` payload bytes. `generation` must be
    /// unique among the pool's tasks: the worker echoes it, so a reply is
    /// matched to its assignment.
    ///
    /// # Errors
    ///
    /// If the frame cannot be encoded (over `max_frame`); the completer's
    /// futures are then failed with that error, which is also returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{ErrorKind, Promise};
    /// concur_ipc::remote! {
    ///     fn noop(x: u8) -> u8 { x }
    /// }
    /// let items: concur_ipc::Packed = vec![vec![0u8; 100]].into();
    /// let (p, fut) = Promise::new();
    /// let err = concur_remote::RemoteCall::call::<noop>(1, items, 64,
    ///     Box::new(concur_remote::Promises::<noop>::new(vec![p]))).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::FrameTooLarge);
    /// assert_eq!(fut.result().unwrap_err().kind(), ErrorKind::FrameTooLarge);
    /// ```
    pub fn call<F: RemoteFn>(
        generation: u64,
        items: Packed,
        max_frame: usize,
        completer: Box<dyn Completer>,
    ) -> Result<Self, Error> {
        let request = Request::Call(Call {
            generation,
            func: FnRef::of::<F>(),
            items,
        });
        let mut frame = Vec::new();
        match concur_ipc::encode_frame(&request, max_frame, &mut frame) {
            Ok(()) => Ok(Self {
                generation,
                frame,
                attachments: Attachments::new(),
                completer,
                sent: None,
            }),
            Err(e) => {
                let error = remote_failure(RemoteError::from_error(
                    RemoteErrorKind::FrameTooLarge,
                    std::any::type_name::<F::Args>(),
                    &e,
                ));
                for d in completer.fail(error.clone()) {
                    d.run();
                }
                Err(error)
            }
        }
    }

    /// A task from an already encoded frame (for tests and other
    /// transports).
    ///
    /// # Examples
    ///
    /// ```
    /// let (p, _fut) = concur_core::Promise::<concur_core::ChunkOutcome<u8>>::new();
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let t = concur_remote::RemoteCall::from_frame(3, vec![0; 8],
    ///     Box::new(concur_remote::ChunkPromise::<one>::new(p, vec![], 1)));
    /// assert_eq!(t.generation(), 3);
    /// ```
    pub fn from_frame(generation: u64, frame: Vec<u8>, completer: Box<dyn Completer>) -> Self {
        Self {
            generation,
            frame,
            attachments: Attachments::new(),
            completer,
            sent: None,
        }
    }

    /// Sends `attachments` with the frame: the descriptors its
    /// [`SharedSlice`](concur_ipc::SharedSlice)s were encoded as (the
    /// encoding ran inside [`concur_ipc::attach::collect`]). Only for a
    /// transport that passes descriptors.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (p, _fut) = concur_core::Promise::<concur_core::ChunkOutcome<u8>>::new();
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let mut t = concur_remote::RemoteCall::from_frame(3, vec![0; 8],
    ///     Box::new(concur_remote::ChunkPromise::<one>::new(p, vec![], 1)));
    /// t.attach(concur_ipc::attach::Attachments::new());
    /// assert_eq!(t.attachments(), 0);
    /// ```
    pub fn attach(&mut self, attachments: Attachments) {
        self.attachments = attachments;
    }

    /// How many descriptors go with the frame.
    ///
    /// # Examples
    ///
    /// See [`attach`](Self::attach).
    #[must_use]
    pub fn attachments(&self) -> usize {
        self.attachments.len()
    }

    /// The generation the worker will echo.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (p, _f) = concur_core::Promise::<concur_core::ChunkOutcome<u8>>::new();
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let t = concur_remote::RemoteCall::from_frame(9, vec![], Box::new(concur_remote::ChunkPromise::<one>::new(p, vec![], 0)));
    /// assert_eq!(t.generation(), 9);
    /// ```
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Marks the futures running; `false` if every one was cancelled.
    pub(crate) fn start(&mut self) -> bool {
        self.completer.start()
    }

    /// Takes the frame to send, and notes when (see `complete`).
    pub(crate) fn take_frame(&mut self) -> (Vec<u8>, Attachments) {
        self.sent = Some(std::time::Instant::now());
        (
            std::mem::take(&mut self.frame),
            std::mem::take(&mut self.attachments),
        )
    }

    /// Whether one of the task's futures has this id.
    pub(crate) fn has_future(&self, id: usize) -> bool {
        self.completer.has_future(id)
    }

    /// Completes from the worker's results; returns the futures'
    /// done-callbacks, to run off the I/O thread, and whether a future
    /// failed ([`Completion`]).
    ///
    /// # Examples
    ///
    /// See the [crate docs](crate).
    pub fn complete(self, results: Outcomes) -> Completion {
        let service = self.sent.map(|t| t.elapsed());
        self.completer.complete(results, service)
    }

    /// Fails every unfinished future; returns their done-callbacks.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (p, fut) = concur_core::Promise::<concur_core::ChunkOutcome<u8>>::new();
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let t = concur_remote::RemoteCall::from_frame(1, vec![], Box::new(concur_remote::ChunkPromise::<one>::new(p, vec![], 1)));
    /// assert!(t.fail(concur_core::Error::shutdown()).is_empty());
    /// assert!(fut.result().is_err());
    /// ```
    #[must_use = "the returned callbacks must be run"]
    pub fn fail(self, error: Error) -> Vec<DeferredCallbacks> {
        self.completer.fail(error)
    }

    /// Cancels the pending futures (fails running ones as cancelled). Runs
    /// their callbacks on this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # let (p, fut) = concur_core::Promise::<concur_core::ChunkOutcome<u8>>::new();
    /// # concur_ipc::remote! { fn one(x: u8) -> u8 { x } }
    /// let t = concur_remote::RemoteCall::from_frame(1, vec![], Box::new(concur_remote::ChunkPromise::<one>::new(p, vec![], 1)));
    /// t.cancel();
    /// assert!(fut.cancelled());
    /// ```
    pub fn cancel(self) {
        self.completer.cancel();
    }
}

impl fmt::Debug for RemoteCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCall")
            .field("generation", &self.generation)
            .field("frame_len", &self.frame.len())
            .finish_non_exhaustive()
    }
}
