//! Deadlines of the blocking waits (`as_completed`, `wait`, `map`): a
//! timeout becomes an [`Instant`] once, when the wait starts.

use std::time::{Duration, Instant};

/// The deadline `timeout` after now; `None` (no limit) for no timeout or
/// one too far away to represent.
pub(crate) fn deadline_after(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|d| Instant::now().checked_add(d))
}
