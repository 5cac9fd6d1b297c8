//! Deadlines and back-off delays run on concur-core's one timer thread
//! ([`concur_core::timer`]), shared with concur-async's timeouts.

use std::time::Instant;

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Runs `f` on the timer thread at `at` (at once if `at` has passed).
/// Fails if the timer thread could not be started (`f` is then dropped).
pub(crate) fn schedule(at: Instant, f: Callback) -> Result<(), concur_core::Error> {
    concur_core::timer::call_at(at, f).map(drop)
}
