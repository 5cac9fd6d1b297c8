//! The synchronisation primitives every concur crate uses, in one place:
//! `std`'s, or [loom]'s model-checked twins when the build sets
//! `--cfg concur_loom` (`cargo xtask loom` does).
//!
//! The modules mirror `std`'s paths — [`sync`], [`sync::atomic`],
//! [`thread`], [`cell`], [`hint`] — so a crate writes
//! `use concur_sync::sync::{Arc, Mutex};` where it would write
//! `use std::sync::{Arc, Mutex};`, and a loom build swaps every primitive at
//! once. Two differences from `std`, both deliberate:
//!
//! * [`sync::Mutex::lock`] and [`sync::Condvar::wait`] return the guard, not
//!   a `LockResult`: no concur code panics while it holds a lock (user code
//!   — callbacks, wakers, `Serialize` impls — always runs after the guard is
//!   dropped), so poisoning can only come from a bug that has already been
//!   reported, and every call site ignored it the same way.
//! * [`cell::UnsafeCell`] has loom's closure interface (`with`, `with_mut`)
//!   in both builds, so loom can check each access.
//!
//! [`backoff`] holds the crates' spin/back-off tuning (how long a waiter or
//! an idle worker spins before it parks), with the measurements behind it:
//! one named place, and no spinning at all under loom. [`mem`] holds the
//! huge-page advice for large buffers.
//!
//! This crate is an implementation detail of concur, with no stability
//! promise of its own; use `std` (or `loom`) directly.
//!
//! # Examples
//!
//! ```
//! use concur_sync::sync::{Arc, Condvar, Mutex};
//! use concur_sync::thread;
//!
//! let pair = Arc::new((Mutex::new(false), Condvar::new()));
//! let pair2 = Arc::clone(&pair);
//! let t = thread::spawn(move || {
//!     *pair2.0.lock() = true;
//!     pair2.1.notify_one();
//! });
//! let mut ready = pair.0.lock();
//! while !*ready {
//!     ready = pair.1.wait(ready);
//! }
//! drop(ready);
//! t.join().unwrap();
//! ```
//!
//! [loom]: https://docs.rs/loom
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(concur_loom, allow(clippy::new_without_default))]

pub mod backoff;
pub mod cell;
pub mod hint;
pub mod mem;
pub mod sync;
pub mod thread;

/// `std::thread_local!` (loom's under `--cfg concur_loom`, so each loom
/// thread has its own value). Loom's takes no `const { .. }` initialiser:
/// write a plain expression.
///
/// # Examples
///
/// ```
/// concur_sync::thread_local! {
///     static DEPTH: std::cell::Cell<u32> = std::cell::Cell::new(0);
/// }
/// assert_eq!(DEPTH.with(std::cell::Cell::get), 0);
/// ```
#[cfg(not(concur_loom))]
pub use std::thread_local;

#[cfg(concur_loom)]
pub use loom::thread_local;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
