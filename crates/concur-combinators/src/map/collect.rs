//! [`MapBuilder::collect_vec`](super::MapBuilder::collect_vec)'s parallel
//! path: the workers write each output straight into its place in the
//! result `Vec`, instead of handing it to the one consumer thread that
//! would move it there (which capped a 10M-item collect at one thread's
//! speed, page faults included).
//!
//! The consumer pulls inputs into chunks and submits each one with its
//! place (`Dest`: the shared output buffer and an offset). A job writes
//! its outputs in order and, at the first failure (a panic, or `map_fallible`'s
//! `Err`), drops what it wrote and reports the failing index. It returns
//! its emptied input buffer, which the consumer reuses for a later chunk
//! (no allocation, and no free on another thread, in the steady state).
//! At most `window` chunks are in flight.
//!
//! Memory safety: the buffer is an `Arc<OutBuf>` held by every job, so it
//! lives until the last job is gone, however the map ends (an input
//! iterator that panics, a refused submission): its `Drop` frees the
//! allocation and leaks (never drops twice) what it may hold. The consumer
//! takes it over only when it holds the last reference, after every chunk
//! finished; outputs are dropped or kept by chunk, and each chunk's region
//! is written by its own job only.

use super::sizer::Chunking;
use concur_core::{Error, Future};
use concur_sync::sync::Arc;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Chunks in flight when `buffersize` is not given: enough to keep
/// several workers fed while the consumer fills the next chunk.
pub(super) const DEFAULT_WINDOW: usize = 32;

/// The output allocation, shared by the jobs writing into it.
pub(super) struct OutBuf<R> {
    ptr: *mut R,
    cap: usize,
}

// SAFETY: the jobs write disjoint regions (one per chunk) of the buffer,
// and `R: Send` values written on a worker are read on the consumer, so
// the buffer may be shared and sent as `Vec<R>` could be.
unsafe impl<R: Send> Send for OutBuf<R> {}
// SAFETY: as above: no two holders touch the same element.
unsafe impl<R: Send> Sync for OutBuf<R> {}

impl<R> OutBuf<R> {
    fn new(cap: usize) -> Self {
        let mut v = Vec::<R>::with_capacity(cap);
        // The workers writing the outputs take one fault per 2 MiB: most of
        // the time of a large collect was page faults.
        concur_sync::mem::huge_pages(&mut v);
        let mut v = std::mem::ManuallyDrop::new(v);
        Self {
            ptr: v.as_mut_ptr(),
            cap: v.capacity(),
        }
    }

    /// Drops the `R`s in `[start, start + len)`.
    ///
    /// # Safety
    ///
    /// Those elements are initialised, and no one else touches them.
    unsafe fn drop_range(&self, start: usize, len: usize) {
        // SAFETY: per the contract.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.ptr.add(start), len));
        }
    }
}

impl<R> Drop for OutBuf<R> {
    fn drop(&mut self) {
        // Frees the allocation; elements still in it are leaked, which is
        // safe (they are dropped by the consumer before it lets go, on
        // every path but an unwinding one).
        // SAFETY: `ptr` and `cap` came from a `Vec<R>` (or were taken by
        // `into_vec`, leaving capacity 0: a dangling, unallocated pointer).
        unsafe { drop(Vec::from_raw_parts(self.ptr, 0, self.cap)) };
    }
}

/// Where a chunk's outputs go.
pub(super) struct Dest<R> {
    buf: Arc<OutBuf<R>>,
    offset: usize,
}

/// What a chunk's job hands back: its input buffer (emptied, for reuse)
/// and, if an item failed, its index in the whole map and its error (the
/// chunk's outputs were dropped then).
pub(super) struct Scattered<A> {
    pub(super) inputs: Vec<A>,
    pub(super) failed: Option<(usize, Error)>,
    /// How long the job took (for adaptive sizing).
    pub(super) service: std::time::Duration,
}

/// Submits one chunk and its place.
pub(super) type SubmitScatter<'e, A, R> =
    Box<dyn FnMut(Vec<A>, Dest<R>) -> Result<Future<Scattered<A>>, Error> + Send + 'e>;

/// Runs one chunk into its place on the calling thread.
pub(super) type RunScatter<'e, A, R> = Box<dyn Fn(Vec<A>, Dest<R>) -> Scattered<A> + Send + 'e>;

/// `collect_vec`'s two ways to fill a chunk's place: submit it, or run it
/// here while the workers are busy.
pub(super) struct ScatterFn<'e, A, R> {
    pub(super) submit: SubmitScatter<'e, A, R>,
    pub(super) here: RunScatter<'e, A, R>,
}

/// Runs `f` over `chunk` on the worker, writing output `k` to place
/// `dest.offset + k`; at the first failure drops the outputs written and
/// the inputs left.
pub(super) fn scatter<A, R>(
    f: &(impl Fn(A) -> Result<R, Error> + ?Sized),
    mut chunk: Vec<A>,
    dest: Dest<R>,
) -> Scattered<A> {
    // SAFETY: `[offset, offset + chunk.len())` is this chunk's region of
    // the buffer, inside its capacity (the consumer cut the chunk so), and
    // written by this job only (also for the writes below).
    let base = unsafe { dest.buf.ptr.add(dest.offset) };
    let start = std::time::Instant::now();
    let mut written = 0usize;
    let mut failure = None;
    let run = catch_unwind(AssertUnwindSafe(|| {
        for a in chunk.drain(..) {
            match f(a) {
                Ok(v) => {
                    // SAFETY: see above; slot `written` is uninitialised.
                    unsafe { base.add(written).write(v) };
                    written += 1;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
    }));
    // A panic unwound the `Drain` too: the inputs left were dropped, and
    // `chunk` is empty either way.
    chunk.clear();
    let failed = match run {
        Err(p) => Some(Error::panicked(p)),
        Ok(()) => failure,
    };
    let failed = failed.map(|e| {
        // SAFETY: `[offset, offset + written)` was initialised above.
        unsafe { dest.buf.drop_range(dest.offset, written) };
        (dest.offset + written, e)
    });
    Scattered {
        inputs: chunk,
        failed,
        service: start.elapsed(),
    }
}

/// A chunk submitted (or run here) and the region it fills.
struct Submitted<A> {
    work: Work<A>,
    offset: usize,
    len: usize,
}

enum Work<A> {
    Submitted(Future<Scattered<A>>),
    /// Run by the consumer while the workers were busy.
    Done(Scattered<A>),
}

/// `collect_vec` for `len` inputs (their exact `size_hint`): the outputs
/// in input order, or the first failure in input order.
pub(super) fn collect_in_place<A, R, It>(
    mut inputs: It,
    len: usize,
    scatter: &mut ScatterFn<'_, A, R>,
    mut chunking: Chunking,
    window: usize,
) -> Result<Vec<R>, Error>
where
    It: Iterator<Item = A>,
    A: Send + 'static,
    R: Send + 'static,
{
    let buf = Arc::new(OutBuf::<R>::new(len));
    let mut in_flight: VecDeque<Submitted<A>> = VecDeque::with_capacity(window);
    let mut spare: Vec<Vec<A>> = Vec::new();
    // The regions filled so far, in order (all of them until a failure).
    let mut filled = 0usize;
    let mut offset = 0usize;
    let mut failure: Option<(usize, Error)> = None;
    let mut feeding = true;
    loop {
        while feeding && failure.is_none() {
            // With the window full, fill the next place here while the
            // oldest chunk is not done, rather than wait (spinning next to
            // the workers) for it.
            let full = in_flight.len() >= window;
            let oldest_busy = || {
                in_flight
                    .front()
                    .is_some_and(|s| matches!(&s.work, Work::Submitted(f) if !f.done()))
            };
            if full && !oldest_busy() {
                break;
            }
            let size = chunking.next_size(Some(len - offset));
            let Some(chunk) = cut(&mut inputs, &mut spare, size, len, offset) else {
                feeding = false;
                if offset == len && inputs.next().is_some() {
                    note(&mut failure, (offset, too_long(len)));
                }
                break;
            };
            let n = chunk.len();
            let dest = Dest {
                buf: Arc::clone(&buf),
                offset,
            };
            let work = if full {
                Work::Done((scatter.here)(chunk, dest))
            } else {
                match (scatter.submit)(chunk, dest) {
                    Ok(fut) => Work::Submitted(fut),
                    Err(e) => {
                        note(&mut failure, (offset, e));
                        break;
                    }
                }
            };
            in_flight.push_back(Submitted {
                work,
                offset,
                len: n,
            });
            offset += n;
        }
        let Some(s) = in_flight.pop_front() else {
            break;
        };
        // After a failure, what has not started is cancelled: its
        // `Cancelled` is ours, not a failure of its own.
        let cancelled = failure.is_some();
        let result = match s.work {
            Work::Done(done) => Ok(done),
            Work::Submitted(fut) => {
                if cancelled {
                    fut.cancel();
                }
                fut.into_result()
            }
        };
        match result {
            Ok(done) => {
                chunking.observe(s.len, Some(done.service));
                spare.push(done.inputs);
                match done.failed {
                    None if failure.is_none() => filled = s.offset + s.len,
                    // After the first failure, finished chunks are dropped.
                    // SAFETY: this chunk's job finished, writing its whole
                    // region.
                    None => unsafe { buf.drop_range(s.offset, s.len) },
                    Some(f) => note(&mut failure, f),
                }
            }
            Err(e) if cancelled && e.kind() == concur_core::ErrorKind::Cancelled => {}
            Err(e) => note(&mut failure, (s.offset, e)),
        }
    }
    // Every job has finished or was dropped; wait until the last of them
    // let go of the buffer (an executor may drop a job's closure just
    // after completing its future).
    let mut buf = buf;
    let mut spins = 0u32;
    let owned = loop {
        match Arc::get_mut(&mut buf) {
            Some(b) => break b,
            None => {
                spins += 1;
                if spins < 64 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
            }
        }
    };
    if let Some((_, e)) = failure {
        // SAFETY: `[0, filled)` are the regions of the chunks that
        // finished before the first failure, all written, none dropped.
        unsafe { owned.drop_range(0, filled) };
        return Err(e);
    }
    let (ptr, cap) = (owned.ptr, owned.cap);
    owned.cap = 0;
    owned.ptr = std::ptr::NonNull::dangling().as_ptr();
    debug_assert_eq!(filled, offset);
    // SAFETY: every chunk finished without failure: `[0, offset)` is
    // initialised (`filled == offset`), and the allocation (taken out of
    // the buffer, whose drop now frees nothing) is `cap` `R`s from a Vec.
    Ok(unsafe { Vec::from_raw_parts(ptr, offset, cap) })
}

/// The next chunk of at most `chunksize` inputs (in a spare buffer if
/// there is one), never past `len`; `None` when none is left.
fn cut<A>(
    inputs: &mut impl Iterator<Item = A>,
    spare: &mut Vec<Vec<A>>,
    chunksize: usize,
    len: usize,
    offset: usize,
) -> Option<Vec<A>> {
    let room = chunksize.min(len - offset);
    let mut chunk = spare
        .pop()
        .unwrap_or_else(|| Vec::with_capacity(room.max(1)));
    chunk.extend(inputs.by_ref().take(room));
    if chunk.is_empty() {
        spare.push(chunk);
        None
    } else {
        Some(chunk)
    }
}

/// Keeps the failure first in input order.
fn note(failure: &mut Option<(usize, Error)>, new: (usize, Error)) {
    if failure.as_ref().is_none_or(|(at, _)| new.0 < *at) {
        *failure = Some(new);
    }
}

fn too_long(len: usize) -> Error {
    Error::invalid_state(format!(
        "the map's inputs yielded more items than their size_hint ({len}) promised"
    ))
}
