//! [`Tracked`]: a value that counts how many of its kind are alive, to
//! prove every value a combinator moves around is dropped exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A `u64` that counts itself in a shared counter while alive.
///
/// # Examples
///
/// ```
/// use concur_testkit::Tracked;
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
///
/// let alive = Arc::new(AtomicUsize::new(0));
/// let t = Tracked::new(7, &alive);
/// assert_eq!((t.value, alive.load(Ordering::SeqCst)), (7, 1));
/// drop(t);
/// assert_eq!(alive.load(Ordering::SeqCst), 0);
/// ```
#[derive(Debug)]
pub struct Tracked {
    /// The value carried.
    pub value: u64,
    alive: Arc<AtomicUsize>,
}

impl Tracked {
    /// A new value, counted in `alive`.
    pub fn new(value: u64, alive: &Arc<AtomicUsize>) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Self {
            value,
            alive: Arc::clone(alive),
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}
