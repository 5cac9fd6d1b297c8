//! What `as_completed` and `wait` accept: typed [`Future`]s, erased
//! [`AnyFuture`]s, or references to either.

use concur_core::{AnyFuture, Future};

mod sealed {
    pub trait Sealed {}
}

/// A future handle [`as_completed`](crate::as_completed) and
/// [`wait`](crate::wait()) hand back: a typed [`Future<T>`] or an erased
/// [`AnyFuture`] (for futures of different output types in one call).
///
/// Sealed: implemented for those two types only.
///
/// # Examples
///
/// ```
/// use concur_combinators::FutureHandle;
/// let f = concur_core::Future::ready(1);
/// assert_eq!(f.handle_id(), f.erase().handle_id());
/// ```
pub trait FutureHandle: sealed::Sealed + Sized {
    /// The type-erased handle the many-future waiter registers.
    fn to_any(&self) -> AnyFuture;
    /// The future's identity ([`Future::id`]): equal for clones.
    fn handle_id(&self) -> usize;
}

impl<T: Send + 'static> sealed::Sealed for Future<T> {}
impl sealed::Sealed for AnyFuture {}

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

/// What can be passed, item by item, to [`as_completed`](crate::as_completed)
/// and [`wait`](crate::wait()): a [`Future<T>`], an [`AnyFuture`], or a
/// reference to one (cloned: a clone is a cheap handle to the same future).
///
/// # Examples
///
/// ```
/// use concur_combinators::IntoFutureHandle;
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

/// Converts and drops repeats of the same future (by identity), keeping the
/// first occurrence's position.
pub(crate) fn dedup<I>(futures: I) -> Vec<<I::Item as IntoFutureHandle>::Handle>
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
