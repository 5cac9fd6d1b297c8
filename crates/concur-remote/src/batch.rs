//! Turning a submitted batch into the [`RemoteCall`] a transport sends and
//! the futures the caller gets: [`batch_call`] (one future per item) and
//! [`chunk_call`] (one future for the whole chunk). Every transport's
//! `submit_batch`/`submit_chunk` does this the same way, on the submitting
//! thread, before it touches its book.

use crate::{ChunkPromise, Promises, RemoteCall, remote_failure};
use concur_core::{ChunkOutcome, Driver, Error, Future, Promise, RemoteFn};
use concur_ipc::{Packed, RemoteError, RemoteErrorKind};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Encodes every argument set of `batch`: the encoded items to send, and
/// the positions (ascending) of those that failed to encode (an error, or
/// a panicking `Serialize`), or whose running size went past `max_frame`.
fn encode_batch<F: RemoteFn>(batch: &[F::Args], max_frame: usize) -> (Packed, Vec<(usize, Error)>) {
    let ty = std::any::type_name::<F::Args>();
    let mut items = Packed::with_capacity(batch.len(), batch.len() * 8);
    let mut unsent = Vec::new();
    for (i, args) in batch.iter().enumerate() {
        let before = items.byte_len();
        let err = match catch_unwind(AssertUnwindSafe(|| items.push_encoded(args))) {
            // Each item also costs a length prefix (up to 10 bytes).
            Ok(Ok(())) if 64 + items.byte_len() + 10 * items.len() <= max_frame => continue,
            Ok(Ok(())) => {
                items.pop();
                RemoteError::new(
                    RemoteErrorKind::FrameTooLarge,
                    ty,
                    format!("the arguments need more than max_frame ({max_frame} bytes)"),
                )
            }
            Ok(Err(e)) => RemoteError::from_error(RemoteErrorKind::EncodeArgs, ty, &e),
            Err(payload) => {
                // A panicking `Serialize` may have left part of its bytes.
                items.truncate_bytes(before);
                let panic = Error::panicked(payload);
                RemoteError::new(
                    RemoteErrorKind::EncodeArgs,
                    ty,
                    format!("panicked: {}", panic.panic_message().unwrap_or_default()),
                )
            }
        };
        unsent.push((i, remote_failure(err)));
    }
    (items, unsent)
}

/// A batch submission, prepared: one future per item of `batch` (in
/// order; an item that could not be encoded has a failed future), and the
/// call to send for the others — `None` when there is nothing to send
/// (every item failed to encode, or the call itself did not, in which
/// case its futures were failed with the error). `generation` is asked
/// only when there is a call. The futures' blocked waiters run `driver`
/// before they park, if one is given (see [`Drive`](concur_core::Drive)).
///
/// # Examples
///
/// ```
/// concur_ipc::remote! { fn double(x: u32) -> u32 { 2 * x } }
///
/// let (call, futs) = concur_remote::batch_call::<double>(&[1, 2], 1 << 20, || 7, None);
/// assert_eq!(futs.len(), 2);
/// assert_eq!(call.unwrap().generation(), 7);
///
/// // Arguments larger than `max_frame` fail their future at once.
/// let (call, futs) = concur_remote::batch_call::<double>(&[1], 8, || 8, None);
/// assert!(call.is_none());
/// assert!(futs[0].result().is_err());
/// ```
pub fn batch_call<F: RemoteFn>(
    batch: &[F::Args],
    max_frame: usize,
    generation: impl FnOnce() -> u64,
    driver: Option<&Driver>,
) -> (Option<RemoteCall>, Vec<Future<F::Output>>) {
    let (items, unsent) = encode_batch::<F>(batch, max_frame);
    let mut futs = Vec::with_capacity(batch.len());
    let mut promises = Vec::with_capacity(items.len());
    let mut unsent = unsent.into_iter().peekable();
    for i in 0..batch.len() {
        if let Some((_, e)) = unsent.next_if(|(at, _)| *at == i) {
            futs.push(Future::from_error(e));
        } else {
            let (p, f) = promise(driver);
            promises.push(p);
            futs.push(f);
        }
    }
    if items.is_empty() {
        return (None, futs);
    }
    let completer = Box::new(Promises::<F>::new(promises));
    // On `Err` the futures were failed with the error.
    let call = RemoteCall::call::<F>(generation(), items, max_frame, completer).ok();
    (call, futs)
}

/// A chunk submission, prepared: the one future of the whole chunk (items
/// that could not be encoded are failures at their positions in its
/// [`ChunkOutcome`]), and the call to send for the others — `None` when
/// there is nothing to send (as [`batch_call`], also for `driver`).
///
/// # Examples
///
/// ```
/// concur_ipc::remote! { fn double(x: u32) -> u32 { 2 * x } }
///
/// let (call, fut) = concur_remote::chunk_call::<double>(&[1, 2, 3], 1 << 20, || 1, None);
/// assert!(call.is_some());
/// assert!(!fut.done());
/// ```
pub fn chunk_call<F: RemoteFn>(
    batch: &[F::Args],
    max_frame: usize,
    generation: impl FnOnce() -> u64,
    driver: Option<&Driver>,
) -> (Option<RemoteCall>, Future<ChunkOutcome<F::Output>>) {
    let (items, unsent) = encode_batch::<F>(batch, max_frame);
    let (promise, fut) = promise(driver);
    if items.is_empty() {
        // Every item failed to encode: a chunk of failures only.
        let _ = promise.set_result(unsent.into_iter().map(|(_, e)| Err(e)).collect());
        return (None, fut);
    }
    let completer = Box::new(ChunkPromise::<F>::new(promise, unsent, batch.len()));
    let call = RemoteCall::call::<F>(generation(), items, max_frame, completer).ok();
    (call, fut)
}

/// A promise whose waiters run `driver`, if any (see [`Drive`](concur_core::Drive)).
fn promise<T: Send + 'static>(driver: Option<&Driver>) -> (Promise<T>, Future<T>) {
    match driver {
        Some(d) => Promise::with_driver(d),
        None => Promise::new(),
    }
}
