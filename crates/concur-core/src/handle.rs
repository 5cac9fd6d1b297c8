//! What the many-future waiters (`as_completed`, `wait`, blocking and
//! async) accept: typed [`Future`]s, erased [`AnyFuture`]s, references to
//! either, and the async bridge's owned wrappers.

use crate::{AnyFuture, Future};

/// Not part of the API: seals [`FutureHandle`] to concur's own handle types
/// (here and in `concur-async`).
#[doc(hidden)]
pub mod __private {
    pub trait Sealed {}
}

/// A future handle the many-future waiters hand back: a typed [`Future<T>`],
/// an erased [`AnyFuture`] (for futures of different output types in one
/// call), or the async bridge's `WrappedFuture<T>` (which keeps its
/// cancel-on-drop rule while the waiter holds it).
///
/// Sealed: implemented for concur's handle types only.
///
/// # Examples
///
/// ```
/// use concur_core::FutureHandle;
/// let f = concur_core::Future::ready(1);
/// assert_eq!(f.handle_id(), f.erase().handle_id());
/// assert!(f.to_any().done());
/// ```
pub trait FutureHandle: __private::Sealed + Sized {
    /// The type-erased handle the many-future waiter registers.
    fn to_any(&self) -> AnyFuture;
    /// The future's identity ([`Future::id`]): equal for clones.
    fn handle_id(&self) -> usize;
}

impl<T: Send + 'static> __private::Sealed for Future<T> {}
impl __private::Sealed for AnyFuture {}

impl<T: Send + 'static> FutureHandle for Future<T> {
    fn to_any(&self) -> AnyFuture {
        self.erase()
    }
    fn handle_id(&self) -> usize {
        self.id()
    }
}

impl FutureHandle for AnyFuture {
    fn to_any(&self) -> AnyFuture {
        self.clone()
    }
    fn handle_id(&self) -> usize {
        self.id()
    }
}

/// What can be passed, item by item, to `as_completed` and `wait` (blocking
/// in `concur_combinators`, async in `concur_async`): a [`Future<T>`], an
/// [`AnyFuture`], a reference to one (cloned: a clone is a cheap handle to
/// the same future), or an owned `concur_async::WrappedFuture<T>`.
///
/// # Examples
///
/// ```
/// use concur_core::IntoFutureHandle;
/// let f = concur_core::Future::ready(1);
/// let h: concur_core::Future<i32> = (&f).into_future_handle();
/// assert_eq!(h.id(), f.id());
/// ```
pub trait IntoFutureHandle {
    /// The handle handed back.
    type Handle: FutureHandle;
    /// Converts into the handle.
    fn into_future_handle(self) -> Self::Handle;
}

impl<T: Send + 'static> IntoFutureHandle for Future<T> {
    type Handle = Self;
    fn into_future_handle(self) -> Self {
        self
    }
}

impl<T: Send + 'static> IntoFutureHandle for &Future<T> {
    type Handle = Future<T>;
    fn into_future_handle(self) -> Future<T> {
        self.clone()
    }
}

impl IntoFutureHandle for AnyFuture {
    type Handle = Self;
    fn into_future_handle(self) -> Self {
        self
    }
}

impl IntoFutureHandle for &AnyFuture {
    type Handle = AnyFuture;
    fn into_future_handle(self) -> AnyFuture {
        self.clone()
    }
}

/// Converts every input into its handle and drops repeats of the same
/// future (by [`FutureHandle::handle_id`]), keeping the first occurrence's
/// position: CPython's `set(fs)`, in input order. What `as_completed` and
/// `wait` do with their input.
///
/// # Examples
///
/// ```
/// let f = concur_core::Future::ready(1);
/// let g = concur_core::Future::ready(2);
/// let hs = concur_core::dedup_handles([&f, &g, &f]);
/// assert_eq!(hs.iter().map(|h| h.id()).collect::<Vec<_>>(), [f.id(), g.id()]);
/// ```
pub fn dedup_handles<I>(futures: I) -> Vec<<I::Item as IntoFutureHandle>::Handle>
where
    I: IntoIterator,
    I::Item: IntoFutureHandle,
{
    let it = futures.into_iter();
    let mut seen = std::collections::HashSet::with_capacity(it.size_hint().0);
    it.map(IntoFutureHandle::into_future_handle)
        .filter(|h| seen.insert(h.handle_id()))
        .collect()
}
