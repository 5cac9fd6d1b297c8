//! What a thread pool runs with: the settings [`Builder::build`](crate::Builder::build)
//! validated, and the workers' initializer.

use concur_core::BoxError;
use std::fmt;
use std::sync::Arc as StdArc;

/// The initializer every worker runs once before taking work (shared, so
/// the builder and the pool can be cloned or kept without re-boxing it).
#[derive(Clone)]
pub(crate) struct Initializer(pub(crate) StdArc<dyn Fn() -> Result<(), BoxError> + Send + Sync>);

impl fmt::Debug for Initializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fn")
    }
}

/// What [`Builder::build`](crate::Builder::build) validated.
pub(crate) struct Config {
    pub(crate) max_workers: usize,
    /// The pool's name, in its `tracing` events.
    pub(crate) name: String,
    pub(crate) prefix: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) initializer: Option<Initializer>,
}
