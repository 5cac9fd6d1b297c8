//! [`Config`]: the settings a pool runs with, as [`Builder::build`]
//! checked them, shared by the pool's handle and its dispatcher.
//!
//! [`Builder::build`]: crate::Builder::build

use crate::start_method::StartMethod;
use std::time::Duration;

/// A running pool's settings. Built only by `Builder::build`, after every
/// check passed, so the rest of the crate never re-validates them (and
/// never sees the builder).
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    /// The pool's name, in its `tracing` events.
    pub(crate) name: String,
    pub(crate) start_method: StartMethod,
    /// The initializer's name, for error messages; `None` without one.
    pub(crate) initializer: Option<&'static str>,
    pub(crate) max_tasks_per_child: Option<u64>,
    pub(crate) max_frame: usize,
    /// Offer each worker shared-memory rings (see `shm.rs`).
    pub(crate) shared_memory: bool,
    /// `None`: no limit.
    pub(crate) task_timeout: Option<Duration>,
    /// `None`: no limit.
    pub(crate) start_timeout: Option<Duration>,
    /// The `Init` request (initializer, its encoded arguments, frame
    /// limit), encoded once by `build`: every new worker gets these bytes.
    pub(crate) init_frame: Vec<u8>,
}
