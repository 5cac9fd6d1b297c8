//! [`Registration`]: one registered remote function (name, ids, where it
//! was declared, the monomorphised code a worker runs), and the
//! [`register!`](crate::register) macro that submits a hand-written one.

use crate::fingerprint::fingerprint;
use crate::invoke::invoke;
use crate::outcomes::{ItemResult, Outcomes};
use concur_core::RemoteFn;
use std::fmt;

/// Runs one item, appending its result to the `Outcomes`.
type Invoke = fn(&[u8], fn() -> &'static str, &mut Outcomes);

/// One registered remote function: its name, registry id, fingerprint,
/// where it was declared and the monomorphised code that decodes arguments,
/// calls it and encodes the result. Created by [`remote!`](crate::remote)
/// and [`register!`](crate::register); collected with `inventory`.
///
/// # Examples
///
/// ```
/// concur_ipc::remote! {
///     fn triple(x: i32) -> i32 { 3 * x }
/// }
/// let reg = concur_ipc::Registration::of::<triple>();
/// assert!(reg.name().ends_with("::triple"));
/// assert_eq!(reg.id(), concur_ipc::fingerprint(reg.name()));
/// ```
pub struct Registration {
    name: &'static str,
    fingerprint: u64,
    invoke: Invoke,
    error_type: fn() -> &'static str,
    type_name: fn() -> &'static str,
    site: Option<&'static str>,
}

fn boxed_error_type() -> &'static str {
    "Box<dyn std::error::Error + Send + Sync>"
}

impl Registration {
    /// The registration of `F`; its task errors are reported with the type
    /// name `Box<dyn Error + Send + Sync>`.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// let reg = concur_ipc::Registration::of::<neg>();
    /// assert_eq!(reg.fingerprint(), <neg as concur_core::RemoteFn>::FINGERPRINT);
    /// ```
    #[must_use]
    pub const fn of<F: RemoteFn>() -> Self {
        Self {
            name: F::NAME,
            fingerprint: F::FINGERPRINT,
            invoke: invoke::<F>,
            error_type: boxed_error_type,
            type_name: std::any::type_name::<F>,
            site: None,
        }
    }

    /// The registration of `F` whose errors are of type `E` (so the error's
    /// type name travels with it).
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn parse(s: String) -> Result<u8, std::num::ParseIntError> { s.parse() }
    /// }
    /// // `remote!` uses `with_error` for a `Result` return type.
    /// let reg = concur_ipc::Registration::with_error::<parse, std::num::ParseIntError>();
    /// assert_eq!(reg.fingerprint(), <parse as concur_core::RemoteFn>::FINGERPRINT);
    /// ```
    #[must_use]
    pub const fn with_error<F: RemoteFn, E: 'static>() -> Self {
        Self {
            name: F::NAME,
            fingerprint: F::FINGERPRINT,
            invoke: invoke::<F>,
            error_type: std::any::type_name::<E>,
            type_name: std::any::type_name::<F>,
            site: None,
        }
    }

    /// The same registration, recording where it was declared
    /// (`file:line:column`; [`remote!`](crate::remote) and
    /// [`register!`](crate::register) pass their invocation site). Only used
    /// to name the declarations in errors.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// let reg = concur_ipc::Registration::of::<neg>().declared_at("src/lib.rs:3:1");
    /// assert_eq!(reg.site(), Some("src/lib.rs:3:1"));
    /// ```
    #[must_use]
    pub const fn declared_at(mut self, site: &'static str) -> Self {
        self.site = Some(site);
        self
    }

    /// Where the registration was declared (`file:line:column`), when known.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// assert_eq!(concur_ipc::Registration::of::<neg>().site(), None);
    /// ```
    #[must_use]
    pub fn site(&self) -> Option<&'static str> {
        self.site
    }

    /// The Rust type implementing [`RemoteFn`] (the function's struct for
    /// [`remote!`](crate::remote)).
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// assert!(concur_ipc::Registration::of::<neg>().type_name().ends_with("::neg"));
    /// ```
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    /// The declaration for messages: "`type` (declared at file:line:column)".
    pub(crate) fn declaration(&self) -> String {
        match self.site {
            Some(site) => format!("`{}` (declared at {site})", self.type_name()),
            None => format!("`{}`", self.type_name()),
        }
    }

    /// The registry name.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// let reg = concur_ipc::Registration::of::<neg>();
    /// assert!(reg.name().ends_with("::neg"));
    /// ```
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The registry id sent in frames: [`fingerprint`] of the name.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// let reg = concur_ipc::Registration::of::<neg>();
    /// assert_eq!(reg.id(), concur_ipc::fingerprint(reg.name()));
    /// ```
    #[must_use]
    pub fn id(&self) -> u64 {
        fingerprint(self.name)
    }

    /// The fingerprint: [`RemoteFn::FINGERPRINT`], which for
    /// [`remote!`](crate::remote) covers the signature and the declaration
    /// site.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn neg(x: i8) -> i8 { -x }
    /// }
    /// let reg = concur_ipc::Registration::of::<neg>();
    /// assert_eq!(reg.fingerprint(), <neg as concur_core::RemoteFn>::FINGERPRINT);
    /// ```
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Decodes `args`, calls the function and encodes its output. Never
    /// panics: a panic at any stage becomes a [`RemoteError`](crate::RemoteError).
    ///
    /// # Errors
    ///
    /// A [`RemoteError`](crate::RemoteError) saying which stage failed.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn add(a: u8, b: u8) -> u8 { a + b }
    /// }
    /// let reg = concur_ipc::Registration::of::<add>();
    /// let out = reg.invoke(&concur_ipc::encode(&(2u8, 3u8)).unwrap()).unwrap();
    /// assert_eq!(concur_ipc::decode::<u8>(&out).unwrap(), 5);
    /// ```
    pub fn invoke(&self, args: &[u8]) -> ItemResult {
        let mut out = Outcomes::with_capacity(1, 32);
        self.invoke_into(args, &mut out);
        match out.get(0).expect("one result appended") {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(e) => Err(e.clone()),
        }
    }

    /// Runs the function on the encoded `args` and appends its result
    /// (encoded output or error) to `out`, encoding the output straight
    /// into `out`'s buffer. Never panics.
    ///
    /// # Examples
    ///
    /// ```
    /// concur_ipc::remote! {
    ///     fn sub(a: u8, b: u8) -> u8 { a - b }
    /// }
    /// let reg = concur_ipc::Registration::of::<sub>();
    /// let mut out = concur_ipc::Outcomes::new();
    /// reg.invoke_into(&concur_ipc::encode(&(5u8, 3u8)).unwrap(), &mut out);
    /// reg.invoke_into(&concur_ipc::encode(&(1u8, 3u8)).unwrap(), &mut out); // overflow panic
    /// assert_eq!(concur_ipc::decode::<u8>(out.get(0).unwrap().unwrap()).unwrap(), 2);
    /// assert!(out.get(1).unwrap().is_err());
    /// ```
    pub fn invoke_into(&self, args: &[u8], out: &mut Outcomes) {
        (self.invoke)(args, self.error_type, out);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("name", &self.name)
            .field("fingerprint", &format_args!("{:#018x}", self.fingerprint))
            .field("type_name", &self.type_name())
            .field("site", &self.site)
            .finish()
    }
}

inventory::collect!(Registration);

/// Registers a hand-written [`RemoteFn`](concur_core::RemoteFn) type so
/// workers can run it.
///
/// # Examples
///
/// ```
/// use concur_core::{BoxError, RemoteFn};
///
/// #[derive(Clone, Copy)]
/// struct Halve;
/// impl RemoteFn for Halve {
///     type Args = u32;
///     type Output = u32;
///     const NAME: &'static str = "docs::halve";
///     const FINGERPRINT: u64 = concur_ipc::fingerprint("fn(u32) -> u32");
///     fn call(x: u32) -> Result<u32, BoxError> { Ok(x / 2) }
/// }
/// concur_ipc::register!(Halve);
///
/// assert!(concur_ipc::Registry::global().get(concur_ipc::FnRef::of::<Halve>()).is_some());
/// ```
#[macro_export]
macro_rules! register {
    ($ty:ty) => {
        $crate::__private::inventory::submit! {
            $crate::Registration::of::<$ty>()
                .declared_at(concat!(file!(), ":", line!(), ":", column!()))
        }
    };
}
