//! What `as_completed` and `wait` accept: the input traits live in
//! concur-core (shared with the async twins in concur-async) and are
//! re-exported from this crate's root.

pub(crate) use concur_core::{FutureHandle, IntoFutureHandle, dedup_handles as dedup};
