//! The remote-function registry: [`Registration`], [`Registry`], the
//! fingerprints and the call path a worker runs.

use crate::error::{RemoteError, RemoteErrorKind};
use crate::frame::decode;
use crate::outcomes::Outcomes;
use crate::wire::{Call, FnRef, ItemResult};
use concur_core::{BoxError, RemoteFn};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

/// 64-bit FNV-1a of `s`, usable in constants: the hash behind registry ids
/// and signature fingerprints (stable across builds and platforms).
///
/// # Examples
///
/// ```
/// const H: u64 = concur_ipc::fingerprint("u64 -> u64");
/// assert_eq!(H, concur_ipc::fingerprint("u64 -> u64"));
/// assert_ne!(H, concur_ipc::fingerprint("u32 -> u64"));
/// ```
#[must_use]
pub const fn fingerprint(s: &str) -> u64 {
    fnv_extend(0xcbf2_9ce4_8422_2325, s.as_bytes())
}

const fn fnv_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

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
    fn declaration(&self) -> String {
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
    /// panics: a panic at any stage becomes a [`RemoteError`].
    ///
    /// # Errors
    ///
    /// A [`RemoteError`] saying which stage failed.
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

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that records the panic's location and (when
/// `RUST_BACKTRACE` enables it) its backtrace for the [`RemoteError`] of the
/// failing call, instead of printing them. Worker processes call this once.
///
/// # Examples
///
/// ```
/// concur_ipc::install_panic_capture();
/// ```
pub fn install_panic_capture() {
    std::panic::set_hook(Box::new(|info| {
        let mut text = String::new();
        if let Some(loc) = info.location() {
            text.push_str(&format!("panicked at {loc}\n"));
        }
        let bt = std::backtrace::Backtrace::capture();
        if bt.status() == std::backtrace::BacktraceStatus::Captured {
            text.push_str(&bt.to_string());
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

fn panic_error(kind: RemoteErrorKind, payload: Box<dyn Any + Send>) -> RemoteError {
    let (type_name, message) = if let Some(s) = payload.downcast_ref::<&'static str>() {
        ("&str", (*s).to_string())
    } else if let Some(s) = payload.downcast_ref::<String>() {
        ("String", s.clone())
    } else {
        (
            "Box<dyn Any + Send>",
            "non-string panic payload".to_string(),
        )
    };
    let err = RemoteError::new(kind, type_name, message);
    match LAST_PANIC.with(|p| p.borrow_mut().take()) {
        Some(bt) if !bt.is_empty() => err.with_backtrace(bt),
        _ => err,
    }
}

fn task_error(error: BoxError, error_type: fn() -> &'static str) -> RemoteError {
    match error.downcast::<RemoteError>() {
        Ok(remote) => *remote,
        Err(error) => RemoteError::from_error(RemoteErrorKind::Task, error_type(), &*error),
    }
}

fn invoke<F: RemoteFn>(args: &[u8], error_type: fn() -> &'static str, out: &mut Outcomes) {
    match call::<F>(args, error_type) {
        Ok(output) => {
            let mark = out.mark();
            let encoded = catch_unwind(AssertUnwindSafe(|| out.push_encoded(&output)));
            let ty = std::any::type_name::<F::Output>();
            let err = match encoded {
                Ok(Ok(())) => return,
                Ok(Err(e)) => RemoteError::from_error(RemoteErrorKind::EncodeResult, ty, &e),
                Err(p) => {
                    let e = panic_error(RemoteErrorKind::EncodeResult, p);
                    RemoteError::new(
                        RemoteErrorKind::EncodeResult,
                        ty,
                        format!("panicked: {}", e.message()),
                    )
                }
            };
            // A panicking `Serialize` may have left part of its bytes.
            out.rollback(mark);
            out.push_err(err);
        }
        Err(e) => out.push_err(e),
    }
}

/// Decodes the arguments and calls `F`: its output, or the error of the
/// stage that failed (decoding, the task, a panic).
fn call<F: RemoteFn>(
    args: &[u8],
    error_type: fn() -> &'static str,
) -> Result<F::Output, RemoteError> {
    let ty = std::any::type_name::<F::Args>();
    let decoded = match catch_unwind(AssertUnwindSafe(|| decode::<F::Args>(args))) {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            return Err(RemoteError::from_decode_error::<F::Args>(
                RemoteErrorKind::DecodeArgs,
                args,
                &e,
            ));
        }
        Err(p) => {
            let e = panic_error(RemoteErrorKind::DecodeArgs, p);
            return Err(RemoteError::new(
                RemoteErrorKind::DecodeArgs,
                ty,
                format!("panicked: {}", e.message()),
            ));
        }
    };
    match catch_unwind(AssertUnwindSafe(move || F::call(decoded))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(task_error(e, error_type)),
        Err(p) => Err(panic_error(RemoteErrorKind::Panic, p)),
    }
}

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
            all.push((reg.id(), reg.fingerprint));
            by_id.entry(reg.id()).or_default().push(reg);
            len += 1;
        }
        let mut duplicates = Vec::new();
        for regs in by_id.values_mut() {
            // A stable order (inventory's is link order), so messages and
            // `check` do not change between runs.
            regs.sort_by_key(|r| (r.fingerprint, r.type_name(), r.site));
            for (i, reg) in regs.iter().enumerate() {
                let first = regs.iter().position(|r| r.fingerprint == reg.fingerprint);
                if first == Some(i)
                    && regs[i + 1..]
                        .iter()
                        .any(|r| r.fingerprint == reg.fingerprint)
                {
                    duplicates.push(duplicate_error(regs, reg.fingerprint));
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
        let mut matching = regs.iter().filter(|r| r.fingerprint == func.fingerprint);
        match (matching.next(), matching.next()) {
            (Some(reg), None) => Ok(reg),
            (Some(_), Some(_)) => Err(duplicate_error(regs, func.fingerprint)),
            (None, _) => {
                let found: Vec<String> = regs
                    .iter()
                    .map(|r| format!("{:#018x} for {}", r.fingerprint, r.declaration()))
                    .collect();
                Err(RemoteError::new(
                    RemoteErrorKind::SignatureMismatch,
                    "concur_ipc::FnRef",
                    format!(
                        "remote function `{}` has fingerprint {} in the worker, but the caller \
                         expected {:#018x} (a different signature or declaration)",
                        regs[0].name,
                        found.join(", "),
                        func.fingerprint
                    ),
                ))
            }
        }
    }

    /// Runs every item of `call` (in order) and returns one result per item.
    /// Never panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{Call, FnRef, Registry};
    /// concur_ipc::remote! {
    ///     fn inc(x: u32) -> u32 { x + 1 }
    /// }
    /// let call = Call {
    ///     generation: 1,
    ///     func: FnRef::of::<inc>(),
    ///     items: vec![concur_ipc::encode(&1u32).unwrap()].into(),
    /// };
    /// let out = Registry::global().execute(&call);
    /// assert_eq!(concur_ipc::decode::<u32>(out.get(0).unwrap().unwrap()).unwrap(), 2);
    /// ```
    #[must_use]
    pub fn execute(&self, call: &Call) -> Outcomes {
        let mut out = Outcomes::with_capacity(call.items.len(), call.items.byte_len());
        match self.resolve(call.func) {
            Ok(reg) => {
                for args in call.items.iter() {
                    reg.invoke_into(args, &mut out);
                }
            }
            Err(e) => {
                for _ in 0..call.items.len() {
                    out.push_err(e.clone());
                }
            }
        }
        out
    }
}

/// The error for the registrations in `regs` (one registry id) that share
/// `fingerprint`.
fn duplicate_error(regs: &[&'static Registration], fingerprint: u64) -> RemoteError {
    let same: Vec<String> = regs
        .iter()
        .filter(|r| r.fingerprint == fingerprint)
        .map(|r| r.declaration())
        .collect();
    RemoteError::new(
        RemoteErrorKind::DuplicateFunction,
        "concur_ipc::Registration",
        format!(
            "remote function `{}` is registered {} times with the same registry id and \
             fingerprint ({:#018x}), by {}: none of them is called; give each a distinct `NAME`",
            regs[0].name,
            same.len(),
            fingerprint,
            same.join(" and ")
        ),
    )
}

/// Makes plain functions callable in another process while they stay
/// plain functions in this one.
///
/// For each `fn name(..) -> R { body }` it generates:
///
/// * a zero-sized `Copy` type `name` (a lowercase empty struct) implementing
///   [`RemoteFn`](concur_core::RemoteFn), and a constant `name` of that
///   type: the value `pool.submit_task(name, args)` and
///   `pool.map_task(name, inputs)` take;
/// * `Deref<Target = fn(..) -> R>` on that type, so `name(a, b)` calls the
///   function directly, in this process, like any function (call
///   expressions dereference their callee). Where a function *value* is
///   needed, write `*name` (it is a `fn(..) -> R` pointer):
///   `iter.map(*name)`. The body exists once: the worker and the direct
///   call run the same code, and the body may call `name` recursively;
/// * an entry in the [`Registry`] so worker processes find it by name.
///
/// # Arguments and return type
///
/// * One parameter: `Args` is its type; several: a tuple; none: `()`.
/// * Borrowed parameters are decoded into an owned value in the worker and
///   lent to the function: `&str` travels as a `String`, `&[T]` as a
///   `Vec<T>`, `&T` as a `T` (also `&Path` as `PathBuf`, `&OsStr` as
///   `OsString`). So `fn word_count(text: &str)` is called directly as
///   `word_count("hi there")` and submitted as
///   `pool.submit_task(word_count, "hi there".to_string())` (`Args` is
///   owned: a submitted task outlives the caller's borrow).
/// * A return type whose last path segment is `Result` (`Result<T, E>`,
///   `io::Result<T>`, `std::io::Result<T>`, `anyhow::Result<T>`, any alias
///   named `Result`) makes the function fallible: it must be a
///   `std::result::Result<T, E>` with `E: Into<BoxError>`; `Output = T`,
///   and an `Err` fails the future with the task error (kind `Task`, the
///   error's message; downcastable to `E` when run in-process, a
///   [`RemoteError`] naming `E` when run by a worker). Any other return type
///   is the output as is, including an alias named otherwise
///   (`type MyResult<T> = Result<T, MyErr>` is infallible: its whole
///   `Result` is the output; name the alias `Result` or write it out).
/// * Arguments and output must be `Serialize + DeserializeOwned + Send +
///   'static` (after the owned mapping above).
///
/// # Limits (each is a compile error saying what to do instead)
///
/// * No generics, `impl Trait` or `where` clauses: a worker finds the code
///   by name, so each remote function is one concrete function; declare one
///   per type (calling a generic helper).
/// * No patterns in parameters (`(a, b): (u8, u8)`): name the parameter and
///   destructure it in the body.
/// * No `self`, `async fn`, `const fn`, `unsafe fn`, `extern fn`, `&mut`
///   parameters or borrowed return types.
/// * Attributes (doc comments included) apply to the generated type and
///   constant. The value `name` being a constant, a `let` binding with the
///   same name in its scope is read as a constant pattern: do not name a
///   remote function like a local variable you use next to it.
/// * More than about fifty functions in one `remote!` block reach the
///   default macro recursion limit: split the block (or raise
///   `#![recursion_limit]`).
///
/// # Registry naming rules
///
/// * [`RemoteFn::NAME`](concur_core::RemoteFn::NAME) is
///   `module_path!()::name`: a readable path, used in error messages.
/// * The registry id is [`fingerprint`]`(NAME)`.
/// * [`RemoteFn::FINGERPRINT`](concur_core::RemoteFn::FINGERPRINT) hashes
///   the parameter and return types as written *and the declaration site*
///   (`file!():line!():column!()` of the `remote!` invocation). So two
///   `remote!` blocks declaring the same `fn f` with the same signature in two
///   function bodies of one module share a `NAME` and an id, yet have distinct
///   [`FnRef`]s, and each call runs its own body.
/// * Moving a declaration in the source (even by one line) changes its
///   fingerprint, hence the [`Registry::fingerprint`]: a pool and its workers
///   must run the same build, which the handshake checks anyway. Never store
///   a [`FnRef`] to use with another build.
/// * Two registrations with the same `NAME` *and* `FINGERPRINT` (possible
///   with hand-written [`register!`](crate::register) impls) are refused:
///   calling either fails with
///   [`RemoteErrorKind::DuplicateFunction`](crate::RemoteErrorKind::DuplicateFunction)
///   naming both, and [`Registry::check`] reports it.
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
///
/// concur_ipc::remote! {
///     /// Squares a number.
///     pub fn square(x: u64) -> u64 { x * x }
///
///     fn div(a: u32, b: u32) -> Result<u32, String> {
///         if b == 0 { return Err("division by zero".into()) }
///         Ok(a / b)
///     }
///
///     fn word_count(text: &str) -> std::io::Result<usize> {
///         Ok(text.split_whitespace().count())
///     }
/// }
///
/// // Plain function calls, in this process:
/// assert_eq!(square(7), 49);
/// assert_eq!(div(7, 0), Err("division by zero".to_string()));
/// assert_eq!(word_count("hi there").unwrap(), 2);
/// let squares: Vec<u64> = (1..4).map(*square).collect();
/// assert_eq!(squares, [1, 4, 9]);
///
/// // The `RemoteFn` a worker runs (`Args` owned, `Output` the `Ok` type):
/// assert_eq!(square::call(7).unwrap(), 49);
/// assert_eq!(div::call((7, 0)).unwrap_err().to_string(), "division by zero");
/// assert_eq!(word_count::call("a b c".to_string()).unwrap(), 3);
/// assert_ne!(square::FINGERPRINT, div::FINGERPRINT);
/// ```
///
/// A generic function is refused with a message saying what to do:
///
/// ```compile_fail
/// concur_ipc::remote! {
///     fn first<T: Clone>(items: Vec<T>) -> T { items[0].clone() }
/// }
/// ```
#[macro_export]
macro_rules! remote {
    () => {};
    // Second step, one item: its return type known to be fallible or not,
    // find where it ends; the item is parsed on its own (its depth does not
    // add up over the items of one block).
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt -> $ret:ty where $($r:tt)*) => {
        $crate::__remote_generic_error!($name);
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt -> $ret:ty $body:block $($rest:tt)*) => {
        $crate::__remote_params! { @p [$meta $vis $name $mode [$ret] $body] [] $params }
        $crate::remote! { $($rest)* }
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt where $($r:tt)*) => {
        $crate::__remote_generic_error!($name);
    };
    (@split $mode:ident $meta:tt $vis:tt $name:ident $params:tt $body:block $($rest:tt)*) => {
        $crate::__remote_params! { @p [$meta $vis $name $mode [()] $body] [] $params }
        $crate::remote! { $($rest)* }
    };
    (
        $(#[$meta:meta])* $vis:vis async fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `async`: `", ::core::stringify!($name),
            "`; declare a plain `fn` (a worker runs it on its own thread), or \
             submit the future to an async runtime instead"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis const fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `const fn`: `", ::core::stringify!($name),
            "` is called through a function pointer; remove `const`, or keep a `const fn` \
             outside `remote!` and call it from a remote function"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis unsafe fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `unsafe fn`: a worker calls `", ::core::stringify!($name),
            "` with whatever arguments it is sent; make it safe (check its inputs)"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis extern $($abi:literal)? fn $name:ident $($rest:tt)*
    ) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be `extern fn`: declare `", ::core::stringify!($name),
            "` as a plain Rust `fn`"
        ));
    };
    (
        $(#[$meta:meta])* $vis:vis fn $name:ident < $($rest:tt)*
    ) => {
        $crate::__remote_generic_error!($name);
    };
    // First step, one item: is the return type borrowed, opaque, or a
    // `Result` (last path segment named `Result`, up to four segments)?
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> & $($t:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot return a reference: `", ::core::stringify!($name),
            "`'s result is sent back by value; return an owned type (`String`, `Vec<T>`, `T`)"
        ));
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> impl $($t:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot return `impl Trait`: the caller decodes `",
            ::core::stringify!($name), "`'s result, so name its concrete type"
        ));
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: $b:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: $b :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> $a:ident :: $b:ident :: $c:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> $a :: $b :: $c :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: $b:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: $b :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) -> :: $a:ident :: $b:ident :: $c:ident :: Result < $($t:tt)*) => {
        $crate::remote! { @split fallible [$(#[$meta])*] [$vis] $name [$($params)*] -> :: $a :: $b :: $c :: Result < $($t)* }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident ( $($params:tt)* ) $($t:tt)*) => {
        $crate::remote! { @split infallible [$(#[$meta])*] [$vis] $name [$($params)*] $($t)* }
    };
    ($($other:tt)*) => {
        ::core::compile_error!(
            "`remote!` expects plain function items: \
             `remote! { fn name(arg: Type, ..) -> Output { .. } }`"
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __remote_generic_error {
    ($name:ident) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot be generic: `",
            ::core::stringify!($name),
            "` must be one concrete function a worker finds by name; declare one remote \
             function per concrete type (each may call a generic helper defined outside \
             `remote!`)"
        ));
    };
}

/// Parses a remote function's parameters one at a time into
/// `{ [mut?] name [type as written] [wire type] [argument expression] }`.
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_params {
    (@p $ctx:tt $done:tt []) => {
        $crate::__remote_emit! { $ctx $done }
    };
    (@p [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt [$(&)? $($lt:lifetime)? $(mut)? self $($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take `self`: `", ::core::stringify!($name),
            "` is a free function; take the value as a named argument (`value: Type`)"
        ));
    };
    (@p $ctx:tt $done:tt [mut $arg:ident : $($p:tt)*]) => {
        $crate::__remote_params! { @t $ctx $done [mut] $arg [$($p)*] }
    };
    (@p $ctx:tt $done:tt [$arg:ident : $($p:tt)*]) => {
        $crate::__remote_params! { @t $ctx $done [] $arg [$($p)*] }
    };
    (@p [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt [$($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take patterns as parameters: in `", ::core::stringify!($name),
            "`, name each parameter (`pair: (u8, u8)`) and destructure it in the body \
             (`let (a, b) = pair;`)"
        ));
    };
    (@t [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt $m:tt $arg:ident [& $($lt:lifetime)? mut $($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "remote functions cannot take `&mut` arguments: `", ::core::stringify!($arg),
            "` would be changed in the worker's copy only; take it by value and return the \
             new value"
        ));
    };
    (@t [$meta:tt $vis:tt $name:ident $($x:tt)*] $done:tt $m:tt $arg:ident [$(&)? $($lt:lifetime)? impl $($p:tt)*]) => {
        $crate::__remote_generic_error!($name);
    };
    (@t $ctx:tt $done:tt $m:tt $arg:ident [& $lt:lifetime $t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! { @b $ctx $done $m $arg [& $lt] $t [$($($p)*)?] }
    };
    (@t $ctx:tt $done:tt $m:tt $arg:ident [& $t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! { @b $ctx $done $m $arg [&] $t [$($($p)*)?] }
    };
    (@b $ctx:tt [$($done:tt)*] [$($m:tt)?] $arg:ident [$($amp:tt)*] $t:ty [$($p:tt)*]) => {
        $crate::__remote_params! {
            @p $ctx [$($done)* {
                [$($m)?] $arg [$($amp)* $t]
                [<$t as $crate::__private::Borrowed>::Owned]
                [<$t as $crate::__private::Borrowed>::lend(&$arg)]
            }] [$($p)*]
        }
    };
    (@t $ctx:tt [$($done:tt)*] [$($m:tt)?] $arg:ident [$t:ty $(, $($p:tt)*)?]) => {
        $crate::__remote_params! {
            @p $ctx [$($done)* { [$($m)?] $arg [$t] [$t] [$arg] }] [$($($p)*)?]
        }
    };
}

/// Emits one parsed remote function.
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_emit {
    (
        [[$($meta:tt)*] [$vis:vis] $name:ident $mode:ident [$ret:ty] $body:block]
        [$({ [$($m:tt)?] $arg:ident [$($ty:tt)*] [$($wire:tt)*] [$($lend:tt)*] })*]
    ) => {
        $($meta)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        $vis struct $name {}

        $($meta)*
        #[allow(non_upper_case_globals, dead_code)]
        $vis const $name: $name = $name {};

        impl $name {
            /// The function itself.
            #[doc(hidden)]
            const __REMOTE_FN: fn($($($ty)*),*) -> $ret = {
                #[allow(clippy::unused_unit)]
                fn $name($($($m)? $arg: $($ty)*),*) -> $ret $body
                $name
            };
        }

        impl ::core::ops::Deref for $name {
            type Target = fn($($($ty)*),*) -> $ret;
            #[inline]
            fn deref(&self) -> &Self::Target {
                &Self::__REMOTE_FN
            }
        }

        impl $crate::__private::RemoteFn for $name {
            type Args = $crate::__remote_args!(@ty $([$($wire)*]),*);
            type Output = $crate::__remote_args!(@$mode ok $ret);
            const NAME: &'static str = ::core::concat!(
                ::core::module_path!(), "::", ::core::stringify!($name)
            );
            const FINGERPRINT: u64 = $crate::fingerprint(::core::concat!(
                "fn(", ::core::stringify!($($($ty)*),*), ") -> ", ::core::stringify!($ret),
                " @ ", ::core::file!(), ":", ::core::line!(), ":", ::core::column!()
            ));
            fn call(
                args: Self::Args,
            ) -> ::core::result::Result<Self::Output, $crate::__private::BoxError> {
                #[allow(unused_parens, clippy::let_unit_value)]
                let $crate::__remote_args!(@pat $($arg),*) = args;
                $crate::__remote_args!(@$mode call (Self::__REMOTE_FN)($($($lend)*),*))
            }
        }

        $crate::__private::inventory::submit! {
            $crate::Registration::with_error::<$name, $crate::__remote_args!(@$mode err $ret)>()
                .declared_at(::core::concat!(
                    ::core::file!(), ":", ::core::line!(), ":", ::core::column!()
                ))
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __remote_args {
    (@ty [$($t:tt)*]) => { $($t)* };
    (@ty $([$($t:tt)*]),*) => { ($($($t)*,)*) };
    (@pat $a:ident) => { $a };
    (@pat $($a:ident),*) => { ($($a,)*) };
    (@fallible ok $ret:ty) => { <$ret as $crate::__private::RemoteReturn>::Ok };
    (@infallible ok $ret:ty) => { $ret };
    (@fallible err $ret:ty) => { <$ret as $crate::__private::RemoteReturn>::Err };
    (@infallible err $ret:ty) => { $crate::__private::Infallible };
    (@fallible call $e:expr) => { $crate::__private::RemoteReturn::into_remote($e) };
    (@infallible call $e:expr) => { ::core::result::Result::Ok($e) };
}

/// How a borrowed parameter of a [`remote!`](crate::remote) function
/// travels: decoded as the owned `Owned` in the worker, then lent to the
/// function as `&Self`.
///
/// # Examples
///
/// ```
/// use concur_ipc::__private::Borrowed;
/// let owned: <str as Borrowed>::Owned = String::from("hi");
/// assert_eq!(<str as Borrowed>::lend(&owned), "hi");
/// ```
#[doc(hidden)]
pub trait Borrowed {
    /// The owned type sent over the wire.
    type Owned;
    /// Borrows `Self` from its owned form.
    fn lend(owned: &Self::Owned) -> &Self;
}

impl Borrowed for str {
    type Owned = String;
    fn lend(owned: &String) -> &str {
        owned
    }
}

impl<T> Borrowed for [T] {
    type Owned = Vec<T>;
    fn lend(owned: &Vec<T>) -> &[T] {
        owned
    }
}

impl Borrowed for std::path::Path {
    type Owned = std::path::PathBuf;
    fn lend(owned: &std::path::PathBuf) -> &std::path::Path {
        owned
    }
}

impl Borrowed for std::ffi::OsStr {
    type Owned = std::ffi::OsString;
    fn lend(owned: &std::ffi::OsString) -> &std::ffi::OsStr {
        owned
    }
}

impl<T> Borrowed for T {
    type Owned = T;
    fn lend(owned: &T) -> &T {
        owned
    }
}

/// The return type of a fallible [`remote!`](crate::remote) function: a
/// `std::result::Result` (under any alias) whose error converts into a
/// [`BoxError`].
///
/// # Examples
///
/// ```
/// use concur_ipc::__private::RemoteReturn;
/// let r: std::io::Result<u8> = Ok(3);
/// assert_eq!(RemoteReturn::into_remote(r).unwrap(), 3);
/// ```
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is named `Result` but is not a `std::result::Result` with an error convertible into `BoxError`",
    label = "a remote function returning a type named `Result` is fallible",
    note = "return `std::result::Result<T, E>` (or an alias of it) with `E: Into<BoxError>`: any `std::error::Error + Send + Sync + 'static`, `String`, `&'static str`, `anyhow::Error`"
)]
pub trait RemoteReturn {
    /// The output on success.
    type Ok;
    /// The error type, named in the errors a worker sends back.
    type Err: 'static;
    /// The result with its error boxed.
    ///
    /// # Errors
    ///
    /// The function's own error, boxed.
    fn into_remote(self) -> Result<Self::Ok, BoxError>;
}

impl<T, E: Into<BoxError> + 'static> RemoteReturn for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_remote(self) -> Result<T, BoxError> {
        self.map_err(Into::into)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode;

    crate::remote! {
        fn unit_fn() { }
        fn three(a: u8, b: u16, c: String) -> String { format!("{a}{b}{c}") }
        fn early(x: i32) -> i32 { if x < 0 { return 0 } x }
        fn failing(x: u8) -> Result<u8, std::num::TryFromIntError> { u8::try_from(u32::from(x) * 1000) }
        fn panicking(x: u8) -> u8 { if x > 0 { panic!("bad {x}") } x }
    }

    fn run<F: RemoteFn>(args: &F::Args) -> ItemResult {
        Registry::global()
            .execute(&Call {
                generation: 0,
                func: FnRef::of::<F>(),
                items: vec![encode(args).unwrap()].into(),
            })
            .get(0)
            .unwrap()
            .map(<[u8]>::to_vec)
            .map_err(Clone::clone)
    }

    #[test]
    fn macro_shapes() {
        unit_fn::call(()).unwrap();
        assert_eq!(three::call((1, 2, "c".into())).unwrap(), "12c");
        assert_eq!(early::call(-5).unwrap(), 0);
        assert!(unit_fn::NAME.ends_with("registry::tests::unit_fn"));
    }

    #[test]
    fn task_error_keeps_type_name() {
        let e = run::<failing>(&3).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::Task);
        assert_eq!(e.type_name(), "core::num::error::TryFromIntError");
        assert!(run::<failing>(&0).is_ok());
    }

    #[test]
    fn panic_becomes_remote_error() {
        let e = run::<panicking>(&3).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::Panic);
        assert_eq!(e.type_name(), "String");
        assert_eq!(e.message(), "bad 3");
    }

    #[test]
    fn bad_arguments_and_unknown_ids() {
        let reg = Registry::global();
        let good = FnRef::of::<three>();
        let out = reg.execute(&Call {
            generation: 0,
            func: good,
            items: vec![vec![1, 2], encode(&(1u8, 2u16, "x")).unwrap()].into(),
        });
        assert_eq!(
            out.get(0).unwrap().unwrap_err().kind(),
            RemoteErrorKind::DecodeArgs
        );
        assert!(out.get(1).unwrap().is_ok());
        let bad_fp = FnRef {
            id: good.id,
            fingerprint: good.fingerprint ^ 1,
        };
        let e = reg.resolve(bad_fp).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::SignatureMismatch);
        assert!(e.message().contains("three"));
        // Trailing bytes after valid arguments are rejected.
        let mut args = encode(&7i32).unwrap();
        args.push(0);
        let out = reg.execute(&Call {
            generation: 0,
            func: FnRef::of::<early>(),
            items: vec![args].into(),
        });
        assert_eq!(
            out.get(0).unwrap().unwrap_err().kind(),
            RemoteErrorKind::DecodeArgs
        );
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
