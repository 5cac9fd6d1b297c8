//! How a [`Job`](crate::Job) holds a job of any kind without knowing it: the
//! hand-made vtable and the inline storage ([`RawJob`]). All of the job's
//! `unsafe` code is here, behind a safe interface: a `RawJob` is built from
//! one [`RunJob`] value and consumed by exactly one of its operations (or
//! dropped).

use super::RunOutcome;
use crate::error::Error;
use std::any::Any;
use std::marker::PhantomData;
use std::mem::{ManuallyDrop, MaybeUninit};

/// A kind of job: what [`RawJob`]'s vtable entries call once they moved the
/// job out of its storage.
pub(crate) trait RunJob: Send + Sized {
    /// Runs the job; calls `before_complete` once, after the task ran (or
    /// was found cancelled) and before the last future is completed, with
    /// how the run ended.
    fn run(self, before_complete: &mut dyn FnMut(RunOutcome));
    fn cancel(self);
    fn fail(self, error: Error);
    /// The job boxed, for an executor's refusal to give its payload back
    /// (`None` for a kind that never gives one back).
    fn into_any(self) -> Option<Box<dyn Any + Send>>;
}

/// Room for a job stored inline in a [`RawJob`] (no allocation): a promise,
/// a function pointer and a closure of up to two words fit.
type InlineStorage = MaybeUninit<[usize; 4]>;

/// A job kind's operations on an [`InlineStorage`] holding it (inline or as
/// a box). Each one consumes the job: it is called at most once per
/// storage, and the storage is never read again afterwards.
struct VTable {
    run: unsafe fn(*mut InlineStorage, &mut dyn FnMut(RunOutcome)),
    cancel: unsafe fn(*mut InlineStorage),
    fail: unsafe fn(*mut InlineStorage, Error),
    into_any: unsafe fn(*mut InlineStorage) -> Option<Box<dyn Any + Send>>,
    drop: unsafe fn(*mut InlineStorage),
}

/// Moves the job out of `storage`: inline if `J` fits, else out of its box.
///
/// # Safety
///
/// `storage` holds a live `J` written by [`RawJob::new`] and is not read
/// again.
unsafe fn take<J: RunJob>(storage: *mut InlineStorage) -> J {
    if fits_inline::<J>() {
        // SAFETY: per the contract `storage` holds a `J` written in place.
        unsafe { storage.cast::<J>().read() }
    } else {
        // SAFETY: per the contract `storage` holds a `Box<J>`.
        *unsafe { storage.cast::<Box<J>>().read() }
    }
}

const fn fits_inline<J>() -> bool {
    size_of::<J>() <= size_of::<InlineStorage>() && align_of::<J>() <= align_of::<InlineStorage>()
}

/// The [`VTable`] of each job kind.
trait HasVTable {
    const VTABLE: &'static VTable;
}

impl<J: RunJob> HasVTable for J {
    const VTABLE: &'static VTable = &VTable {
        run: run_stored::<J>,
        cancel: cancel_stored::<J>,
        fail: fail_stored::<J>,
        into_any: into_any_stored::<J>,
        drop: drop_stored::<J>,
    };
}

// The vtable entries. Each has `take`'s safety contract: `RawJob` calls
// exactly one of them, once, on the storage `new` filled with a `J`, and
// never touches the storage again.

unsafe fn run_stored<J: RunJob>(
    storage: *mut InlineStorage,
    before_complete: &mut dyn FnMut(RunOutcome),
) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(storage) }.run(before_complete);
}

unsafe fn cancel_stored<J: RunJob>(storage: *mut InlineStorage) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(storage) }.cancel();
}

unsafe fn fail_stored<J: RunJob>(storage: *mut InlineStorage, error: Error) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(storage) }.fail(error);
}

unsafe fn into_any_stored<J: RunJob>(storage: *mut InlineStorage) -> Option<Box<dyn Any + Send>> {
    // SAFETY: the caller upholds `take`'s contract (see above).
    unsafe { take::<J>(storage) }.into_any()
}

unsafe fn drop_stored<J: RunJob>(storage: *mut InlineStorage) {
    // SAFETY: the caller upholds `take`'s contract (see above).
    drop(unsafe { take::<J>(storage) });
}

/// One job of any kind: its vtable, and the job itself inline when it fits
/// (no allocation: submitting a small closure costs one allocation, the
/// future's), else a `Box` of it.
pub(crate) struct RawJob {
    /// The operations of the job kind stored in `storage`.
    vtable: &'static VTable,
    storage: InlineStorage,
    /// `Send` but neither `Sync` nor unwind-safe, as a `Box<dyn Any + Send>`.
    _marker: PhantomData<Box<dyn Any + Send>>,
}

impl RawJob {
    pub(crate) fn new<J: RunJob>(job: J) -> Self {
        let mut storage = InlineStorage::uninit();
        if fits_inline::<J>() {
            // SAFETY: `J` fits `InlineStorage` in size and alignment
            // (checked above).
            unsafe { storage.as_mut_ptr().cast::<J>().write(job) };
        } else {
            // SAFETY: a `Box` is one pointer, which `InlineStorage` holds.
            unsafe { storage.as_mut_ptr().cast::<Box<J>>().write(Box::new(job)) };
        }
        Self {
            vtable: J::VTABLE,
            storage,
            _marker: PhantomData,
        }
    }

    /// Hands the storage to one vtable entry; `self` is forgotten, so the
    /// job is consumed exactly once.
    fn consume<R>(self, op: impl FnOnce(&'static VTable, *mut InlineStorage) -> R) -> R {
        let mut this = ManuallyDrop::new(self);
        let vtable = this.vtable;
        op(vtable, &raw mut this.storage)
    }

    /// [`RunJob::run`].
    pub(crate) fn run(self, before_complete: &mut dyn FnMut(RunOutcome)) {
        // SAFETY: `consume` hands over the storage `new` filled, once.
        self.consume(|vt, storage| unsafe { (vt.run)(storage, before_complete) });
    }

    /// [`RunJob::cancel`].
    pub(crate) fn cancel(self) {
        // SAFETY: `consume` hands over the storage `new` filled, once.
        self.consume(|vt, storage| unsafe { (vt.cancel)(storage) });
    }

    /// [`RunJob::fail`].
    pub(crate) fn fail(self, error: Error) {
        // SAFETY: `consume` hands over the storage `new` filled, once.
        self.consume(|vt, storage| unsafe { (vt.fail)(storage, error) });
    }

    /// [`RunJob::into_any`].
    pub(crate) fn into_any(self) -> Option<Box<dyn Any + Send>> {
        // SAFETY: `consume` hands over the storage `new` filled, once.
        self.consume(|vt, storage| unsafe { (vt.into_any)(storage) })
    }
}

impl Drop for RawJob {
    fn drop(&mut self) {
        // SAFETY: a `RawJob` that is dropped was not consumed (`consume`
        // forgets it), so its storage still holds the job; it is never read
        // again. Dropping the job drops its promise, failing the future as
        // abandoned.
        unsafe { (self.vtable.drop)(&raw mut self.storage) };
    }
}
