//! [`RemoteFn`]: a function named so that another process can run it.

use crate::error::BoxError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A function that can run in another process (or on another machine):
/// named by a stable registry name and a signature fingerprint, never by a
/// code address. Arguments and output are serializable.
///
/// Usually implemented by the `concur-ipc` registration macro rather than by
/// hand (`concur::remote!`, which also keeps the function callable as a
/// plain function). A closure is never a `RemoteFn`: its code has no name a
/// worker process could look up.
///
/// # Examples
///
/// ```
/// use concur_core::{BoxError, RemoteFn};
///
/// #[derive(Clone, Copy)]
/// struct Square;
/// impl RemoteFn for Square {
///     type Args = i64;
///     type Output = i64;
///     const NAME: &'static str = "example::square";
///     const FINGERPRINT: u64 = 0x5157;
///     fn call(x: i64) -> Result<i64, BoxError> { Ok(x * x) }
/// }
/// assert_eq!(Square::call(9).unwrap(), 81);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a remote function",
    label = "declare this function with `concur::remote!`",
    note = "a closure's (or plain `fn`'s) code cannot be named in another process: write it as `concur::remote! {{ fn name(arg: Type) -> Output {{ .. }} }}` and pass `name`"
)]
pub trait RemoteFn: Copy + Send + 'static {
    /// The argument set (a tuple for several arguments).
    type Args: Serialize + DeserializeOwned + Send + 'static;
    /// What the function returns on success.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The registry name, unique in a build (e.g. the function's path).
    const NAME: &'static str;
    /// A fingerprint of the signature (argument and output types), so a
    /// mismatched peer is refused instead of misreading bytes.
    const FINGERPRINT: u64;
    /// Runs the function in this process.
    ///
    /// # Errors
    ///
    /// Whatever the function itself fails with.
    fn call(args: Self::Args) -> Result<Self::Output, BoxError>;
}
