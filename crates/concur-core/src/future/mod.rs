//! A future: the state its handles share, and the views of it.
//!
//! * [`shared`]: the shared state (state byte, handle count, outcome,
//!   waiter list, done-callbacks, consumers), completion, and the callback
//!   loan — its module docs hold the invariants and the design note.
//! * [`future`]: the [`Future`] handle.
//! * [`promise`]: the completing side, [`Promise`].
//! * [`output`]: the await adapters, [`FutureOutput`] and [`FutureOutputRef`].
//! * [`erased`]: the type-erased [`AnyFuture`] and its [`DoneSignal`].
//!
//! Imports run one way: `shared` knows none of the views; `future` uses
//! `shared`; `promise` and `output` use `future`; `erased` uses all three.

mod erased;
// The folder is the future concept; this file is its handle type.
#[allow(clippy::module_inception)]
mod future;
mod output;
mod promise;
mod shared;

pub use erased::{AnyFuture, DoneSignal};
pub use future::Future;
pub use output::{FutureOutput, FutureOutputRef};
pub use promise::Promise;
pub use shared::DeferredCallbacks;
