//! `std::sync`'s mirror: [`Arc`], a poison-free [`Mutex`] and [`Condvar`],
//! and [`atomic`].

use std::fmt;
use std::time::Duration;

#[cfg(not(concur_loom))]
use std::sync as imp;

#[cfg(concur_loom)]
use loom::sync as imp;

pub use imp::{Arc, MutexGuard};

/// `std::sync::atomic` (or loom's): the atomic integers, [`fence`](atomic::fence)
/// and [`Ordering`](atomic::Ordering).
pub mod atomic {
    #[cfg(not(concur_loom))]
    pub use std::sync::atomic::*;

    #[cfg(concur_loom)]
    pub use loom::sync::atomic::*;
}

/// A mutex whose [`lock`](Mutex::lock) ignores poisoning.
///
/// # Examples
///
/// ```
/// use concur_sync::sync::Mutex;
///
/// let m = Mutex::new(1);
/// *m.lock() += 1;
/// assert_eq!(*m.lock(), 2);
/// assert_eq!(m.into_inner(), 2);
/// ```
#[derive(Default)]
pub struct Mutex<T: ?Sized>(imp::Mutex<T>);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = concur_sync::sync::Mutex::new(Vec::<u8>::new());
    /// assert!(m.lock().is_empty());
    /// ```
    #[cfg(not(concur_loom))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(imp::Mutex::new(value))
    }

    /// A new unlocked mutex holding `value`.
    #[cfg(concur_loom)]
    #[inline]
    pub fn new(value: T) -> Self {
        Self(imp::Mutex::new(value))
    }

    /// The value, consuming the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_sync::sync::Mutex::new(3).into_inner(), 3);
    /// ```
    #[inline]
    pub fn into_inner(self) -> T {
        match self.0.into_inner() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is held; a poisoned lock is taken as it is.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = concur_sync::sync::Mutex::new(0);
    /// *m.lock() = 5;
    /// assert_eq!(*m.lock(), 5);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The lock if it is free now, else `None`; poisoning is ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = concur_sync::sync::Mutex::new(0);
    /// let held = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(held);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Mutable access through an exclusive borrow, without locking.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = concur_sync::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn get_mut(&mut self) -> &mut T {
        match self.0.get_mut() {
            Ok(v) => v,
            Err(p) => p.into_inner(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A condition variable whose waits ignore poisoning (see [`Mutex`]).
///
/// # Examples
///
/// ```
/// use concur_sync::sync::{Condvar, Mutex};
/// use std::time::Duration;
///
/// let (m, cv) = (Mutex::new(()), Condvar::new());
/// let (_guard, timed_out) = cv.wait_timeout(m.lock(), Duration::from_millis(1));
/// assert!(timed_out);
/// ```
#[derive(Default)]
pub struct Condvar(imp::Condvar);

impl Condvar {
    /// A new condition variable.
    ///
    /// # Examples
    ///
    /// ```
    /// let cv = concur_sync::sync::Condvar::new();
    /// cv.notify_all();
    /// ```
    #[cfg(not(concur_loom))]
    #[inline]
    pub const fn new() -> Self {
        Self(imp::Condvar::new())
    }

    /// A new condition variable.
    #[cfg(concur_loom)]
    #[inline]
    pub fn new() -> Self {
        Self(imp::Condvar::new())
    }

    /// Releases `guard`, blocks until notified (or spuriously woken), and
    /// locks again.
    ///
    /// # Examples
    ///
    /// See [`Condvar`] and the [crate] example.
    #[inline]
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        match self.0.wait(guard) {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// [`wait`](Self::wait) for at most `timeout`; `true` alongside the
    /// guard when the time ran out. Under loom, which has no clock, the
    /// wait may return at any point (callers re-check their deadline).
    ///
    /// # Examples
    ///
    /// See [`Condvar`].
    #[inline]
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        match self.0.wait_timeout(guard, timeout) {
            Ok((g, r)) => (g, r.timed_out()),
            Err(p) => {
                let (g, r) = p.into_inner();
                (g, r.timed_out())
            }
        }
    }

    /// Wakes one waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_sync::sync::Condvar::new().notify_one();
    /// ```
    #[inline]
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_sync::sync::Condvar::new().notify_all();
    /// ```
    #[inline]
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
