//! [`Registry`]: every remote function linked into the binary, by
//! [`FnRef`], and resolving a reference (or saying why not).

use crate::error::{RemoteError, RemoteErrorKind};
use crate::fingerprint::{fingerprint, fnv_extend};
use crate::fn_ref::FnRef;
use crate::registration::Registration;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Every remote function linked into this binary, by [`FnRef`] (registry
/// id and fingerprint).
///
/// Two registrations with the same [`FnRef`] (two `register!`ed types with
/// one `NAME` and `FINGERPRINT`) are a *duplicate*: neither is ever called;
/// [`resolve`](Self::resolve) of that reference fails with
/// [`RemoteErrorKind::DuplicateFunction`] naming both, and
/// [`check`](Self::check) reports it up front.
///
/// # Examples
///
/// ```
/// use concur_ipc::{FnRef, Registry};
/// concur_ipc::remote! {
///     fn negate(x: i64) -> i64 { -x }
/// }
/// let reg = Registry::global();
/// assert!(reg.get(FnRef::of::<negate>()).is_some());
/// assert_eq!(reg.fingerprint(), Registry::global().fingerprint());
/// ```
#[derive(Debug)]
pub struct Registry {
    /// Registrations by registry id; almost always one per id, several when
    /// one path is declared in several places (see [`remote!`](crate::remote)).
    by_id: HashMap<u64, Vec<&'static Registration>>,
    /// The errors of the duplicated references, in a stable order.
    duplicates: Vec<RemoteError>,
    len: usize,
    fingerprint: u64,
}

impl Registry {
    /// The registry of this process (built on first use).
    ///
    /// # Examples
    ///
    /// ```
    /// let reg = concur_ipc::Registry::global();
    /// assert!(std::ptr::eq(reg, concur_ipc::Registry::global()));
    /// ```
    #[must_use]
    pub fn global() -> &'static Self {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(|| Self::from_entries(inventory::iter::<Registration>))
    }

    fn from_entries(entries: impl IntoIterator<Item = &'static Registration>) -> Self {
        let mut by_id: HashMap<u64, Vec<&'static Registration>> = HashMap::new();
        let mut all = Vec::new();
        let mut len = 0;
        for reg in entries {
            all.push((reg.id(), reg.fingerprint()));
            by_id.entry(reg.id()).or_default().push(reg);
            len += 1;
        }
        let mut duplicates = Vec::new();
        for regs in by_id.values_mut() {
            // A stable order (inventory's is link order), so messages and
            // `check` do not change between runs.
            regs.sort_by_key(|r| (r.fingerprint(), r.type_name(), r.site()));
            for (i, reg) in regs.iter().enumerate() {
                let first = regs
                    .iter()
                    .position(|r| r.fingerprint() == reg.fingerprint());
                if first == Some(i)
                    && regs[i + 1..]
                        .iter()
                        .any(|r| r.fingerprint() == reg.fingerprint())
                {
                    duplicates.push(duplicate_error(regs, reg.fingerprint()));
                }
            }
        }
        duplicates.sort_by(|a, b| a.message().cmp(b.message()));
        all.sort_unstable();
        let mut fp = fnv_extend(
            fingerprint("concur-ipc registry"),
            &crate::PROTOCOL.to_le_bytes(),
        );
        for (id, f) in all {
            fp = fnv_extend(fp, &id.to_le_bytes());
            fp = fnv_extend(fp, &f.to_le_bytes());
        }
        Self {
            by_id,
            duplicates,
            len,
            fingerprint: fp,
        }
    }

    /// The registration named by `func`, if exactly one has that registry id
    /// and fingerprint ([`resolve`](Self::resolve) says why not).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{FnRef, Registry};
    /// assert!(Registry::global().get(FnRef { id: 0, fingerprint: 0 }).is_none());
    /// ```
    #[must_use]
    pub fn get(&self, func: FnRef) -> Option<&'static Registration> {
        self.resolve(func).ok()
    }

    /// Checks that no two registrations share a [`FnRef`]. A process pool
    /// calls it when it is built, so a duplicate fails the build instead of
    /// each call.
    ///
    /// # Errors
    ///
    /// The first duplicate, as a [`RemoteErrorKind::DuplicateFunction`]
    /// error naming both declarations (the same error
    /// [`resolve`](Self::resolve) returns for it).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Registry::global().check().is_ok());
    /// ```
    pub fn check(&self) -> Result<(), RemoteError> {
        match self.duplicates.first() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// How many functions are registered (duplicates included).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Registry::global().len() < usize::MAX);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no function is registered.
    ///
    /// # Examples
    ///
    /// ```
    /// let _empty = concur_ipc::Registry::global().is_empty();
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A hash over every registered (id, fingerprint) pair and the protocol
    /// version: what a worker sends at handshake. Two processes agree on it
    /// only if they registered the same functions with the same signatures
    /// (and, for [`remote!`](crate::remote), at the same places: the same
    /// build).
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_ipc::Registry::global().fingerprint();
    /// assert_eq!(a, concur_ipc::Hello::current(0).registry);
    /// ```
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Resolves `func`: the registration with its registry id and
    /// fingerprint, if there is exactly one.
    ///
    /// # Errors
    ///
    /// [`RemoteErrorKind::UnknownFunction`] if no function has the id,
    /// [`RemoteErrorKind::SignatureMismatch`] if none of those with the id
    /// has the fingerprint, [`RemoteErrorKind::DuplicateFunction`] if
    /// several have both (naming them; none is called).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{FnRef, Registry, RemoteErrorKind};
    /// let err = Registry::global().resolve(FnRef { id: 1, fingerprint: 2 }).unwrap_err();
    /// assert_eq!(err.kind(), RemoteErrorKind::UnknownFunction);
    /// ```
    pub fn resolve(&self, func: FnRef) -> Result<&'static Registration, RemoteError> {
        let Some(regs) = self.by_id.get(&func.id) else {
            return Err(RemoteError::new(
                RemoteErrorKind::UnknownFunction,
                "concur_ipc::FnRef",
                format!(
                    "no remote function with registry id {:#018x} is registered in the worker",
                    func.id
                ),
            ));
        };
        let mut matching = regs.iter().filter(|r| r.fingerprint() == func.fingerprint);
        match (matching.next(), matching.next()) {
            (Some(reg), None) => Ok(reg),
            (Some(_), Some(_)) => Err(duplicate_error(regs, func.fingerprint)),
            (None, _) => {
                let found: Vec<String> = regs
                    .iter()
                    .map(|r| format!("{:#018x} for {}", r.fingerprint(), r.declaration()))
                    .collect();
                Err(RemoteError::new(
                    RemoteErrorKind::SignatureMismatch,
                    "concur_ipc::FnRef",
                    format!(
                        "remote function `{}` has fingerprint {} in the worker, but the caller \
                         expected {:#018x} (a different signature or declaration)",
                        regs[0].name(),
                        found.join(", "),
                        func.fingerprint
                    ),
                ))
            }
        }
    }
}

/// The error for the registrations in `regs` (one registry id) that share
/// `fingerprint`.
fn duplicate_error(regs: &[&'static Registration], fingerprint: u64) -> RemoteError {
    let same: Vec<String> = regs
        .iter()
        .filter(|r| r.fingerprint() == fingerprint)
        .map(|r| r.declaration())
        .collect();
    RemoteError::new(
        RemoteErrorKind::DuplicateFunction,
        "concur_ipc::Registration",
        format!(
            "remote function `{}` is registered {} times with the same registry id and \
             fingerprint ({:#018x}), by {}: none of them is called; give each a distinct `NAME`",
            regs[0].name(),
            same.len(),
            fingerprint,
            same.join(" and ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::remote! {
        fn three(a: u8, b: u16, c: String) -> String { format!("{a}{b}{c}") }
        fn early(x: i32) -> i32 { if x < 0 { return 0 } x }
    }

    #[test]
    fn registry_fingerprint_depends_on_entries() {
        static A: Registration = Registration::of::<three>();
        static B: Registration = Registration::of::<early>();
        let one = Registry::from_entries([&A]);
        let two = Registry::from_entries([&A, &B]);
        let two_rev = Registry::from_entries([&B, &A]);
        assert_ne!(one.fingerprint(), two.fingerprint());
        assert_eq!(two.fingerprint(), two_rev.fingerprint());
    }
}
