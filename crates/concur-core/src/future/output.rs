//! The await adapters of a [`Future`]: [`FutureOutput`] behind `fut.await`
//! (moves the value out, as `into_result`) and [`FutureOutputRef`] behind
//! `(&fut).await` (borrows it, as `result`), with their `IntoFuture` impls.

use super::future::Future;
use crate::error::Error;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

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
    waiter_id: Option<usize>,
}

impl<T> std::future::Future for FutureOutput<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(fut) = this.fut.as_ref() else {
            return Poll::Ready(Err(Error::invalid_state("polled after completion")));
        };
        // Once done, `poll_done` is skipped so `waiter_id` keeps the id of the
        // waker `poll_unlent` registered, if any.
        if !fut.done() && fut.shared().poll_done(cx, &mut this.waiter_id).is_pending() {
            return Poll::Pending;
        }
        match fut.shared().poll_unlent(cx, &mut this.waiter_id) {
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
            fut.shared().forget_waker(&mut self.waiter_id);
        }
        self.fut.take()
    }
}

impl<T> Drop for FutureOutput<T> {
    fn drop(&mut self) {
        if let Some(fut) = &self.fut {
            fut.shared().forget_waker(&mut self.waiter_id);
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
            waiter_id: None,
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
    waiter_id: Option<usize>,
}

impl<'a, T: Sync> std::future::Future for FutureOutputRef<'a, T> {
    type Output = Result<&'a T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.fut.shared().poll_done(cx, &mut this.waiter_id) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(this.fut.read()),
        }
    }
}

impl<T> Drop for FutureOutputRef<'_, T> {
    fn drop(&mut self) {
        self.fut.shared().forget_waker(&mut self.waiter_id);
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
            waiter_id: None,
        }
    }
}
