//! `std::hint`'s mirror: [`spin_loop`].
//!
//! # Examples
//!
//! ```
//! concur_sync::hint::spin_loop();
//! ```

#[cfg(not(concur_loom))]
pub use std::hint::spin_loop;

#[cfg(concur_loom)]
pub use loom::hint::spin_loop;
