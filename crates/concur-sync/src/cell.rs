//! `std::cell`'s mirror: an [`UnsafeCell`] with loom's checked-access
//! interface in both builds.

/// `UnsafeCell` accessed through closures, so loom can check every read
/// and write against concurrent ones.
///
/// # Examples
///
/// ```
/// use concur_sync::cell::UnsafeCell;
///
/// let c = UnsafeCell::new(1);
/// // SAFETY: `c` is not shared; no other access overlaps these.
/// c.with_mut(|p| unsafe { *p = 2 });
/// assert_eq!(c.with(|p| unsafe { *p }), 2);
/// ```
#[derive(Debug)]
pub struct UnsafeCell<T>(imp::UnsafeCell<T>);

#[cfg(not(concur_loom))]
use std::cell as imp;

#[cfg(concur_loom)]
use loom::cell as imp;

impl<T> UnsafeCell<T> {
    /// A new cell holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let _ = concur_sync::cell::UnsafeCell::new(0u8);
    /// ```
    #[cfg(not(concur_loom))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(imp::UnsafeCell::new(value))
    }

    /// A new cell holding `value`.
    #[cfg(concur_loom)]
    #[inline]
    pub fn new(value: T) -> Self {
        Self(imp::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading; the caller guarantees no write
    /// overlaps the call.
    ///
    /// # Examples
    ///
    /// See [`UnsafeCell`].
    #[cfg(not(concur_loom))]
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for reading; the caller guarantees no write
    /// overlaps the call.
    #[cfg(concur_loom)]
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        self.0.with(f)
    }

    /// Calls `f` with a pointer for writing; the caller guarantees no other
    /// access overlaps the call.
    ///
    /// # Examples
    ///
    /// See [`UnsafeCell`].
    #[cfg(not(concur_loom))]
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing; the caller guarantees no other
    /// access overlaps the call.
    #[cfg(concur_loom)]
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        self.0.with_mut(f)
    }
}
