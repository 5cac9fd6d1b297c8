//! The one error type every concur future fails with.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Mutex};

/// A boxed error that can cross threads: what a task's `Err` is stored as.
///
/// # Examples
///
/// ```
/// let e: concur_core::BoxError = "no such file".into();
/// assert_eq!(e.to_string(), "no such file");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, without the details. See [`Error::kind`].
///
/// # Examples
///
/// ```
/// use concur_core::{Error, ErrorKind};
///
/// assert_eq!(Error::cancelled().kind(), ErrorKind::Cancelled);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The future was cancelled before it ran.
    Cancelled,
    /// A wait ran out of time. Not stored in the future: it only reports the wait.
    Timeout,
    /// The task panicked; the message and payload type are kept.
    Panicked,
    /// The task returned an error; [`Error::downcast_ref`] gives it back.
    Task,
    /// The executor can no longer run work (for example its initializer failed).
    Broken,
    /// The executor was shut down before it could run the task.
    Shutdown,
    /// An operation was not valid in the current state (a second completion
    /// of a future, say, or a process pool built inside a pool worker).
    InvalidState,
    /// The completing side was dropped without completing the future.
    Abandoned,
    /// The worker process (or remote rank) running the task died: its exit
    /// code or signal is in the source ([`Error::downcast_ref`]).
    WorkerDied,
    /// A worker broke the executor's protocol (an unexpected or malformed
    /// message); the worker was retired.
    Protocol,
    /// An argument or result frame exceeded the executor's size limit.
    FrameTooLarge,
    /// An argument or result could not be encoded or decoded for the trip
    /// to another process.
    Codec,
    /// A setting or argument was refused before any work started (zero
    /// workers, a zero `chunksize`, an ambiguous remote-function registry):
    /// the message says which and the source is the refusing crate's own
    /// error (a builder's `BuildError`, a `MapError`, …).
    InvalidConfig,
}

impl ErrorKind {
    /// A short lowercase name, as used in `Debug` output of futures.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_core::ErrorKind::Timeout.as_str(), "timeout");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::Timeout => "timeout",
            Self::Panicked => "panicked",
            Self::Task => "task error",
            Self::Broken => "broken executor",
            Self::Shutdown => "shutdown",
            Self::InvalidState => "invalid state",
            Self::Abandoned => "abandoned",
            Self::WorkerDied => "worker died",
            Self::Protocol => "protocol violation",
            Self::FrameTooLarge => "frame too large",
            Self::Codec => "codec error",
            Self::InvalidConfig => "invalid configuration",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a future did not produce a value, or why a wait on it gave up.
///
/// `Error` is a cheap `Clone` (one reference count): every handle of a
/// future reads the same stored error. A task's own error is kept whole and
/// can be borrowed back as its original type with [`Error::downcast_ref`], or
/// taken out with [`Error::into_task_error`] once no other clone exists.
///
/// # Examples
///
/// ```
/// use concur_core::{Error, ErrorKind};
///
/// let err = Error::task(std::io::Error::other("disk full"));
/// assert_eq!(err.kind(), ErrorKind::Task);
/// assert_eq!(err.to_string(), "task failed: disk full");
/// let io: &std::io::Error = err.downcast_ref().unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::Other);
/// ```
#[derive(Clone)]
pub struct Error {
    repr: Arc<Repr>,
}

struct Repr {
    kind: ErrorKind,
    message: Cow<'static, str>,
    source: Option<BoxError>,
    /// Made by [`Error::with_source`]: `message` is the source's own text,
    /// which `Display` shows as is.
    converted: bool,
    /// The task error's type, short (see [`Error::type_name`]).
    type_name: Option<Cow<'static, str>>,
    panic: Option<PanicInfo>,
}

/// `full` (a [`std::any::type_name`]) without its paths, generics kept:
/// `alloc::vec::Vec<my_crate::Item>` → `Vec<Item>`. A plain path costs no
/// allocation.
fn short_type_name(full: &str) -> Cow<'_, str> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    if full.chars().all(|c| is_ident(c) || c == ':') {
        return Cow::Borrowed(full.rsplit("::").next().unwrap_or(full));
    }
    let mut out = String::with_capacity(full.len());
    let mut rest = full;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("::") && out.ends_with(is_ident) {
            // Drop the path segment just written, and the `::`.
            let keep = out.trim_end_matches(is_ident).len();
            out.truncate(keep);
            rest = &rest[2..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Cow::Owned(out)
}

struct PanicInfo {
    payload_type: &'static str,
    payload: Mutex<Option<Box<dyn Any + Send + 'static>>>,
}

impl Error {
    fn new(
        kind: ErrorKind,
        message: impl Into<Cow<'static, str>>,
        source: Option<BoxError>,
    ) -> Self {
        Self {
            repr: Arc::new(Repr {
                kind,
                message: message.into(),
                source,
                converted: false,
                type_name: None,
                panic: None,
            }),
        }
    }

    /// The future was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::Error::cancelled().is_cancelled());
    /// ```
    #[must_use]
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "future was cancelled", None)
    }

    /// A wait timed out; `what` says what was still unfinished
    /// (for example `"2 (of 4) futures unfinished"`).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::timeout("2 (of 4) futures unfinished");
    /// assert_eq!(e.to_string(), "timed out: 2 (of 4) futures unfinished");
    /// ```
    #[must_use]
    pub fn timeout(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, what, None)
    }

    /// A task panicked with `payload` (what `catch_unwind` returned).
    ///
    /// The message is read from a `&str` or `String` payload; the payload
    /// itself is kept for [`Error::take_panic_payload`].
    ///
    /// # Examples
    ///
    /// ```
    /// let payload = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    /// let e = concur_core::Error::panicked(payload);
    /// assert_eq!(e.panic_message(), Some("boom"));
    /// ```
    #[must_use]
    pub fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        let (message, payload_type): (Cow<'static, str>, &'static str) =
            if let Some(s) = payload.downcast_ref::<&'static str>() {
                (Cow::Borrowed(*s), "&str")
            } else if let Some(s) = payload.downcast_ref::<String>() {
                (Cow::Owned(s.clone()), "String")
            } else {
                (
                    Cow::Borrowed("non-string panic payload"),
                    "Box<dyn Any + Send>",
                )
            };
        Self {
            repr: Arc::new(Repr {
                kind: ErrorKind::Panicked,
                message,
                source: None,
                converted: false,
                type_name: None,
                panic: Some(PanicInfo {
                    payload_type,
                    payload: Mutex::new(Some(payload)),
                }),
            }),
        }
    }

    /// A task returned `error`. It stays downcastable to its own type (a
    /// `String` or `&str` becomes the message only), and the type's short
    /// name is kept for [`type_name`](Self::type_name).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::task("plain message");
    /// assert_eq!(e.to_string(), "task failed: plain message");
    /// assert_eq!(e.type_name(), Some("&str"));
    /// ```
    #[must_use]
    pub fn task<E: Into<BoxError>>(error: E) -> Self {
        let source = error.into();
        let message = source.to_string();
        let mut e = Self::new(ErrorKind::Task, message, Some(source));
        if let Some(repr) = Arc::get_mut(&mut e.repr) {
            repr.type_name = Some(short_type_name(std::any::type_name::<E>()));
        }
        e
    }

    /// [`Error::task`] for an error whose own type is not the one to report:
    /// `type_name` (paths are dropped, as for `task`) names the failure
    /// instead, for [`type_name`](Self::type_name) and a future's `Debug`.
    /// A process pool uses it for a function's error reported from a
    /// worker: `error` is the transported report (downcastable), and the
    /// name is the type the function returned there.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::task_named("invalid digit", "core::num::error::ParseIntError");
    /// assert_eq!(e.type_name(), Some("ParseIntError"));
    /// assert_eq!(e.to_string(), "task failed: invalid digit");
    /// ```
    #[must_use]
    pub fn task_named<E: Into<BoxError>>(error: E, type_name: &str) -> Self {
        let mut e = Self::task(error);
        if let Some(repr) = Arc::get_mut(&mut e.repr) {
            repr.type_name = Some(Cow::Owned(short_type_name(type_name).into_owned()));
        }
        e
    }

    /// The type of the task's error, for [`ErrorKind::Task`]: the type the
    /// task returned in its `Err`, without paths, generics kept
    /// (`"ParseIntError"`, `"String"`, `"&str"`, `"Error"` for an
    /// `io::Error` or `anyhow::Error`, `"Box<dyn Error + Send + Sync>"` for
    /// a [`BoxError`], whatever it boxes). `None` for every other kind.
    /// A failed future's `Debug` shows it, as CPython's repr shows the
    /// exception's class: `<Future at 0x… state=failed raised ParseIntError>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::Error;
    /// let e = Error::task("x".parse::<u8>().unwrap_err());
    /// assert_eq!(e.type_name(), Some("ParseIntError"));
    /// assert_eq!(Error::task(Vec::<String>::new().join(",")).type_name(), Some("String"));
    /// assert_eq!(Error::cancelled().type_name(), None);
    /// ```
    #[must_use]
    pub fn type_name(&self) -> Option<&str> {
        self.repr.type_name.as_deref()
    }

    /// The executor is broken: `why` says how, `source` is the cause if any
    /// (for example the initializer's error).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::broken("initializer failed", None);
    /// assert_eq!(e.to_string(), "executor is broken: initializer failed");
    /// ```
    #[must_use]
    pub fn broken(why: impl Into<Cow<'static, str>>, source: Option<BoxError>) -> Self {
        Self::new(ErrorKind::Broken, why, source)
    }

    /// The executor was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::shutdown();
    /// assert_eq!(e.kind(), concur_core::ErrorKind::Shutdown);
    /// ```
    #[must_use]
    pub fn shutdown() -> Self {
        Self::new(ErrorKind::Shutdown, "executor has been shut down", None)
    }

    /// An operation is not valid in the current state; `what` says which.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::invalid_state("future is already finished");
    /// assert_eq!(e.to_string(), "invalid state: future is already finished");
    /// ```
    #[must_use]
    pub fn invalid_state(what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidState, what, None)
    }

    /// The completing side was dropped before it completed the future.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::abandoned();
    /// assert_eq!(e.kind(), concur_core::ErrorKind::Abandoned);
    /// ```
    #[must_use]
    pub fn abandoned() -> Self {
        Self::new(
            ErrorKind::Abandoned,
            "the completing side was dropped without completing the future",
            None,
        )
    }

    /// An executor infrastructure failure of `kind` (one of
    /// [`WorkerDied`](ErrorKind::WorkerDied), [`Protocol`](ErrorKind::Protocol),
    /// [`FrameTooLarge`](ErrorKind::FrameTooLarge), [`Codec`](ErrorKind::Codec)),
    /// distinct from the task's own error: `error` is kept as the source
    /// (downcastable) and its text is the message. Any other `kind` is
    /// treated as [`ErrorKind::Task`].
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, ErrorKind};
    /// let e = Error::infrastructure(ErrorKind::Protocol, "worker sent Hello while running a task");
    /// assert_eq!(e.kind(), ErrorKind::Protocol);
    /// assert_eq!(e.to_string(), "worker sent Hello while running a task");
    /// ```
    #[must_use]
    pub fn infrastructure<E: Into<BoxError>>(kind: ErrorKind, error: E) -> Self {
        let kind = match kind {
            ErrorKind::WorkerDied
            | ErrorKind::Protocol
            | ErrorKind::FrameTooLarge
            | ErrorKind::Codec => kind,
            _ => return Self::task(error),
        };
        let source = error.into();
        let message = source.to_string();
        Self::new(kind, message, Some(source))
    }

    /// An error of `kind` made from another error: its text is the message
    /// (shown as is by `Display`) and it is the [`source`](std::error::Error::source),
    /// downcastable with [`downcast_ref`](Self::downcast_ref). This is how
    /// every concur crate converts its own errors (`BuildError`,
    /// `MapError`, …) into `Error`, so `?` works in a function returning
    /// `Result<_, concur::Error>`. [`ErrorKind::Task`] is the same as
    /// [`Error::task`].
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, ErrorKind};
    ///
    /// let e = Error::with_source(ErrorKind::InvalidConfig, "max_workers must be at least 1");
    /// assert_eq!(e.kind(), ErrorKind::InvalidConfig);
    /// assert_eq!(e.to_string(), "max_workers must be at least 1");
    ///
    /// let io = Error::with_source(ErrorKind::Broken, std::io::Error::other("no pipe"));
    /// assert_eq!(io.to_string(), "no pipe");
    /// assert!(io.downcast_ref::<std::io::Error>().is_some());
    /// ```
    #[must_use]
    pub fn with_source<E: Into<BoxError>>(kind: ErrorKind, error: E) -> Self {
        if kind == ErrorKind::Task {
            return Self::task(error);
        }
        let source = error.into();
        Self {
            repr: Arc::new(Repr {
                kind,
                message: Cow::Owned(source.to_string()),
                source: Some(source),
                converted: true,
                type_name: None,
                panic: None,
            }),
        }
    }

    /// What kind of failure this is.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_core::{Error, ErrorKind};
    /// assert_eq!(Error::shutdown().kind(), ErrorKind::Shutdown);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.repr.kind
    }

    /// The message without the kind's prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_core::Error::timeout("x").message(), "x");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.repr.message
    }

    /// Whether this is a cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!concur_core::Error::shutdown().is_cancelled());
    /// ```
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.repr.kind == ErrorKind::Cancelled
    }

    /// Whether this is a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_core::Error::timeout("1 future unfinished").is_timeout());
    /// ```
    #[must_use]
    pub fn is_timeout(&self) -> bool {
        self.repr.kind == ErrorKind::Timeout
    }

    /// The panic message, for [`ErrorKind::Panicked`].
    ///
    /// # Examples
    ///
    /// ```
    /// let p = std::panic::catch_unwind(|| panic!("at {}", 3)).unwrap_err();
    /// assert_eq!(concur_core::Error::panicked(p).panic_message(), Some("at 3"));
    /// ```
    #[must_use]
    pub fn panic_message(&self) -> Option<&str> {
        self.repr.panic.as_ref().map(|_| &*self.repr.message)
    }

    /// The type of the panic payload (`"&str"`, `"String"`, or
    /// `"Box<dyn Any + Send>"` for anything else), for [`ErrorKind::Panicked`].
    ///
    /// # Examples
    ///
    /// ```
    /// let p = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
    /// let e = concur_core::Error::panicked(p);
    /// assert_eq!(e.panic_payload_type(), Some("Box<dyn Any + Send>"));
    /// ```
    #[must_use]
    pub fn panic_payload_type(&self) -> Option<&'static str> {
        self.repr.panic.as_ref().map(|p| p.payload_type)
    }

    /// Takes the original panic payload out (once), to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Examples
    ///
    /// ```
    /// let p = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
    /// let e = concur_core::Error::panicked(p);
    /// let payload = e.take_panic_payload().unwrap();
    /// assert_eq!(payload.downcast_ref::<u8>(), Some(&7));
    /// assert!(e.take_panic_payload().is_none());
    /// ```
    #[must_use]
    pub fn take_panic_payload(&self) -> Option<Box<dyn Any + Send + 'static>> {
        let info = self.repr.panic.as_ref()?;
        match info.payload.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        }
    }

    /// Borrows the task's own error (or a broken executor's cause) as its
    /// original type.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(Debug)]
    /// struct Mine(u32);
    /// impl std::fmt::Display for Mine {
    ///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "mine {}", self.0) }
    /// }
    /// impl std::error::Error for Mine {}
    ///
    /// let e = concur_core::Error::task(Mine(4));
    /// assert_eq!(e.downcast_ref::<Mine>().unwrap().0, 4);
    /// ```
    #[must_use]
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.repr.source.as_deref()?.downcast_ref::<E>()
    }

    /// Takes the task's own boxed error out when this is the last clone of
    /// the error; otherwise (or for other kinds) gives `self` back.
    ///
    /// # Errors
    ///
    /// Returns `self` unchanged if the error is shared or carries no source.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::Error::task(std::fmt::Error);
    /// let boxed = e.into_task_error().unwrap();
    /// assert!(boxed.downcast::<std::fmt::Error>().is_ok());
    /// ```
    pub fn into_task_error(self) -> Result<BoxError, Self> {
        if self.repr.source.is_none() {
            return Err(self);
        }
        match Arc::try_unwrap(self.repr) {
            Ok(repr) => Ok(repr.source.expect("checked above")),
            Err(repr) => Err(Self { repr }),
        }
    }

    /// Whether two values are clones of the same stored error.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_core::Error::cancelled();
    /// assert!(a.same_as(&a.clone()));
    /// assert!(!a.same_as(&concur_core::Error::cancelled()));
    /// ```
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.repr, &other.repr)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.repr.message;
        if self.repr.converted {
            return f.write_str(m);
        }
        match self.repr.kind {
            ErrorKind::Cancelled
            | ErrorKind::Shutdown
            | ErrorKind::Abandoned
            | ErrorKind::WorkerDied
            | ErrorKind::Protocol
            | ErrorKind::FrameTooLarge
            | ErrorKind::Codec
            | ErrorKind::InvalidConfig => f.write_str(m),
            ErrorKind::Timeout => write!(f, "timed out: {m}"),
            ErrorKind::Panicked => write!(f, "task panicked: {m}"),
            ErrorKind::Task => write!(f, "task failed: {m}"),
            ErrorKind::Broken => match &self.repr.source {
                Some(s) => write!(f, "executor is broken: {m}: {s}"),
                None => write!(f, "executor is broken: {m}"),
            },
            ErrorKind::InvalidState => write!(f, "invalid state: {m}"),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.repr.kind)
            .field("message", &self.repr.message);
        if let Some(p) = &self.repr.panic {
            d.field("payload_type", &p.payload_type);
        }
        if let Some(t) = &self.repr.type_name {
            d.field("type_name", t);
        }
        if let Some(s) = &self.repr.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.repr.source {
            Some(s) => Some(&**s),
            None => None,
        }
    }
}

/// A submission that an executor refused, with the task given back.
///
/// # Examples
///
/// ```
/// use concur_core::{Error, ErrorKind, SubmitError};
///
/// let refused = SubmitError::new(|| 42, Error::shutdown());
/// assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
/// let task = refused.into_task();
/// assert_eq!(task(), 42);
/// ```
///
/// `SubmitError<T>` is an [`std::error::Error`] + `Send + Sync + 'static`
/// whenever `T: Send + 'static` (no `Debug` or `Sync` needed), so `?`
/// converts it into [`Error`], [`BoxError`] or `anyhow::Error` for any
/// closure a pool accepts, including one holding a `!Sync` value such as
/// an `mpsc::Receiver`:
///
/// ```
/// use concur_core::{BoxError, Error, SubmitError};
/// use std::sync::mpsc;
///
/// fn refuse<F>(task: F) -> Result<(), SubmitError<F>> {
///     Err(SubmitError::new(task, Error::shutdown()))
/// }
/// fn submit_receiver() -> Result<(), BoxError> {
///     let (_tx, rx) = mpsc::channel::<u8>();
///     refuse(move || rx.recv())?; // the closure is `Send`, not `Sync`
///     Ok(())
/// }
/// assert_eq!(submit_receiver().unwrap_err().to_string(), "task refused: executor has been shut down");
/// ```
pub struct SubmitError<T> {
    task: T,
    error: Error,
}

// SAFETY: `Sync` lets other threads share `&SubmitError<T>`, and the only
// thing they can reach through it is `&Error` (`error()`, `Debug`,
// `Display`, `source()`), which is `Sync`. No method taking `&self` hands
// out `&T` or touches the task: it is reachable only by value
// (`into_task`, `into_parts`, `map_task`), which moves it to one thread,
// needing `T: Send`. So a shared `SubmitError<T>` never shares a `T`,
// exactly as `std::sync::Exclusive<T>` is `Sync` for any `T`. Keep it so:
// a `&self -> &T` accessor (or a `Debug` that prints the task) would make
// this impl unsound.
unsafe impl<T: Send> Sync for SubmitError<T> {}

impl<T> SubmitError<T> {
    /// Wraps the refused `task` with the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::SubmitError::new(5u8, concur_core::Error::shutdown());
    /// assert_eq!(e.into_task(), 5);
    /// ```
    #[must_use]
    pub fn new(task: T, error: Error) -> Self {
        Self { task, error }
    }

    /// Why the task was refused ([`ErrorKind::Shutdown`] or [`ErrorKind::Broken`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::SubmitError::new((), concur_core::Error::shutdown());
    /// assert_eq!(e.error().kind(), concur_core::ErrorKind::Shutdown);
    /// ```
    #[must_use]
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The refused task, unrun.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::SubmitError::new("task", concur_core::Error::shutdown());
    /// assert_eq!(e.into_task(), "task");
    /// ```
    #[must_use]
    pub fn into_task(self) -> T {
        self.task
    }

    /// Both parts.
    ///
    /// # Examples
    ///
    /// ```
    /// let (task, err) = concur_core::SubmitError::new(1, concur_core::Error::shutdown()).into_parts();
    /// assert_eq!((task, err.kind()), (1, concur_core::ErrorKind::Shutdown));
    /// ```
    #[must_use]
    pub fn into_parts(self) -> (T, Error) {
        (self.task, self.error)
    }

    /// Maps the task, keeping the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_core::SubmitError::new(2, concur_core::Error::shutdown()).map_task(|t| t * 10);
    /// assert_eq!(e.into_task(), 20);
    /// ```
    #[must_use]
    pub fn map_task<U>(self, f: impl FnOnce(T) -> U) -> SubmitError<U> {
        SubmitError {
            task: f(self.task),
            error: self.error,
        }
    }
}

impl<T> fmt::Debug for SubmitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SubmitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task refused: {}", self.error)
    }
}

impl<T> std::error::Error for SubmitError<T> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<SubmitError<T>> for Error {
    fn from(e: SubmitError<T>) -> Self {
        e.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_names_drop_every_path() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(short_type_name("u8"), "u8");
        assert_eq!(short_type_name("&str"), "&str");
        assert_eq!(
            short_type_name("alloc::vec::Vec<my_crate::Item>"),
            "Vec<Item>"
        );
        assert_eq!(
            short_type_name(
                "alloc::boxed::Box<dyn core::error::Error + core::marker::Send + core::marker::Sync>"
            ),
            "Box<dyn Error + Send + Sync>"
        );
        assert_eq!(
            short_type_name("a::Pair<(b::X, [c::Y; 2]), &'static d::Z>"),
            "Pair<(X, [Y; 2]), &'static Z>"
        );
        assert_eq!(short_type_name("<a::T as b::Tr>::Out"), "<T as Tr>::Out");
    }

    #[test]
    fn task_errors_record_their_type_and_others_do_not() {
        assert_eq!(Error::task(std::fmt::Error).type_name(), Some("Error"));
        let boxed: BoxError = "x".into();
        assert_eq!(
            Error::task(boxed).type_name(),
            Some("Box<dyn Error + Send + Sync>")
        );
        assert_eq!(
            Error::with_source(ErrorKind::Task, "t").type_name(),
            Some("&str")
        );
        assert_eq!(
            Error::infrastructure(ErrorKind::Cancelled, String::new()).type_name(),
            Some("String")
        );
        assert_eq!(
            Error::infrastructure(ErrorKind::Codec, "c").type_name(),
            None
        );
        assert_eq!(Error::with_source(ErrorKind::Broken, "b").type_name(), None);
        assert_eq!(Error::shutdown().type_name(), None);
        let p = std::panic::catch_unwind(|| panic!("p")).unwrap_err();
        assert_eq!(Error::panicked(p).type_name(), None);
    }
}
