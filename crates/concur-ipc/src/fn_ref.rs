//! [`FnRef`]: how a frame names a remote function.

use concur_core::RemoteFn;
use serde::{Deserialize, Serialize};

/// Names a remote function in a frame: registry id (hash of its name) and
/// fingerprint (of its signature and, for [`remote!`](crate::remote), its
/// declaration site). Never a code address.
///
/// # Examples
///
/// ```
/// concur_ipc::remote! {
///     fn id_of(x: u8) -> u8 { x }
/// }
/// let f = concur_ipc::FnRef::of::<id_of>();
/// assert_eq!(f.id, concur_ipc::fingerprint(<id_of as concur_core::RemoteFn>::NAME));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FnRef {
    /// Registry id: [`fingerprint`](crate::fingerprint) of the name.
    pub id: u64,
    /// [`RemoteFn::FINGERPRINT`].
    pub fingerprint: u64,
}

impl FnRef {
    /// The reference to `F`.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn one() -> u8 { 1 }
    /// }
    /// assert_eq!(concur_ipc::FnRef::of::<one>().fingerprint, <one as concur_core::RemoteFn>::FINGERPRINT);
    /// ```
    #[must_use]
    pub const fn of<F: RemoteFn>() -> Self {
        Self {
            id: crate::fingerprint(F::NAME),
            fingerprint: F::FINGERPRINT,
        }
    }
}
