//! The message tags on the crate's private communicator.

/// Rank 0 → worker: a `concur_ipc::Request` frame.
pub(crate) const REQUEST: i32 = 1;
/// Worker → rank 0: a `concur_ipc::Reply` frame.
pub(crate) const REPLY: i32 = 2;
/// Rank 0 → itself: zero bytes that wake the manager from its probe.
pub(crate) const WAKE: i32 = 3;
