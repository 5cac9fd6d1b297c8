//! `std::thread`'s mirror (loom's threads under `--cfg concur_loom`).
//!
//! # Examples
//!
//! ```
//! let t = concur_sync::thread::Builder::new()
//!     .name("worker".into())
//!     .spawn(|| 6 * 7)
//!     .unwrap();
//! assert_eq!(t.join().unwrap(), 42);
//! ```

#[cfg(not(concur_loom))]
pub use std::thread::*;

#[cfg(concur_loom)]
pub use loom::thread::*;

/// loom has no clock: a timed park is a yield, after which the caller
/// re-checks its deadline (as it must after any spurious wake-up).
#[cfg(concur_loom)]
#[inline]
pub fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::yield_now();
}
