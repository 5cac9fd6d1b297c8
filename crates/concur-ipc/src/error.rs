//! [`RemoteError`]: a failure that happened in another process.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Which stage of a remote call failed.
///
/// # Examples
///
/// ```
/// use concur_ipc::RemoteErrorKind;
/// assert_eq!(RemoteErrorKind::Panic.as_str(), "panic");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// The function panicked.
    Panic,
    /// The function returned an error.
    Task,
    /// No function with that registry id is registered in the worker.
    UnknownFunction,
    /// A function with that id exists, but its signature differs.
    SignatureMismatch,
    /// Several functions have that id and fingerprint; none is called.
    DuplicateFunction,
    /// The arguments could not be encoded (in the submitting process).
    EncodeArgs,
    /// The worker could not decode the arguments.
    DecodeArgs,
    /// The worker could not encode the result.
    EncodeResult,
    /// The submitting process could not decode the result.
    DecodeResult,
    /// A frame exceeded the configured maximum size.
    FrameTooLarge,
    /// The pool's initializer failed in the worker.
    Initializer,
}

impl RemoteErrorKind {
    /// A short lowercase name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::RemoteErrorKind::DecodeArgs.as_str(), "argument decoding");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Task => "error",
            Self::UnknownFunction => "unknown function",
            Self::SignatureMismatch => "signature mismatch",
            Self::DuplicateFunction => "duplicate function",
            Self::EncodeArgs => "argument encoding",
            Self::DecodeArgs => "argument decoding",
            Self::EncodeResult => "result encoding",
            Self::DecodeResult => "result decoding",
            Self::FrameTooLarge => "frame too large",
            Self::Initializer => "initializer",
        }
    }
}

/// A failure of a remote call, as reported across the process boundary: the
/// stage, the error's type name, its message (with its `source()` chain) and
/// the backtrace text when one was captured (`RUST_BACKTRACE=1` in the
/// worker).
///
/// Process executors fail a future with
/// `concur_core::Error::task(remote_error)`, so it is downcastable:
///
/// ```
/// use concur_ipc::{RemoteError, RemoteErrorKind};
///
/// let err = concur_core::Error::task(RemoteError::new(
///     RemoteErrorKind::Task,
///     "core::num::error::ParseIntError",
///     "invalid digit found in string",
/// ));
/// let remote = err.downcast_ref::<RemoteError>().unwrap();
/// assert_eq!(remote.type_name(), "core::num::error::ParseIntError");
/// assert_eq!(
///     err.to_string(),
///     "task failed: core::num::error::ParseIntError: invalid digit found in string"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteError {
    kind: RemoteErrorKind,
    type_name: String,
    message: String,
    backtrace: Option<String>,
}

impl RemoteError {
    /// A remote error of `kind`, with the failing value's type name and message.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_ipc::RemoteError::new(concur_ipc::RemoteErrorKind::Panic, "&str", "boom");
    /// assert_eq!(e.message(), "boom");
    /// ```
    #[must_use]
    pub fn new(
        kind: RemoteErrorKind,
        type_name: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            type_name: type_name.into(),
            message: message.into(),
            backtrace: None,
        }
    }

    /// Adds backtrace text.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{RemoteError, RemoteErrorKind};
    /// let e = RemoteError::new(RemoteErrorKind::Panic, "&str", "x").with_backtrace("0: main");
    /// assert_eq!(e.backtrace(), Some("0: main"));
    /// ```
    #[must_use]
    pub fn with_backtrace(mut self, backtrace: impl Into<String>) -> Self {
        self.backtrace = Some(backtrace.into());
        self
    }

    /// Builds a remote error from a local error value: its message, then
    /// each message of its `source()` chain that is not already part of the
    /// text (many errors print their source in their own `Display`; it is
    /// not repeated). A postcard error is described by what to change, not
    /// by postcard's own text.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{RemoteError, RemoteErrorKind};
    /// let io = std::io::Error::other("disk full");
    /// let e = RemoteError::from_error(RemoteErrorKind::Task, "std::io::Error", &io);
    /// assert_eq!(e.message(), "disk full");
    ///
    /// // `FrameError::Codec` describes its postcard source itself.
    /// let err = concur_ipc::decode::<u64>(&[]).unwrap_err();
    /// let e = RemoteError::from_error(RemoteErrorKind::DecodeResult, "u64", &err);
    /// assert_eq!(
    ///     e.message(),
    ///     "codec error: the bytes end before the value does: do both sides use the same type?"
    /// );
    /// ```
    #[must_use]
    pub fn from_error(
        kind: RemoteErrorKind,
        type_name: &str,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        let mut message = match error.downcast_ref::<postcard::Error>() {
            Some(p) => crate::codec::describe(p).into_owned(),
            None => error.to_string(),
        };
        let mut source = error.source();
        while let Some(s) = source {
            // Every error of this crate that wraps a postcard error already
            // says what it means; postcard's own text would only repeat it.
            if !s.is::<postcard::Error>() {
                let text = s.to_string();
                if !text.is_empty() && !message.contains(&text) {
                    message.push_str(": ");
                    message.push_str(&text);
                }
            }
            source = s.source();
        }
        Self::new(kind, type_name, message)
    }

    /// Builds the remote error for a failed [`decode`](crate::decode) of
    /// `bytes` as `T`, named by `T`'s type name. When `T`'s `Deserialize`
    /// failed with a message of its own (`serde::de::Error::custom`, which
    /// postcard drops), the bytes are decoded once more to recover it, and
    /// that message is the error's; otherwise as
    /// [`from_error`](Self::from_error).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{RemoteError, RemoteErrorKind, decode, encode};
    /// use serde::Deserialize;
    ///
    /// #[derive(Debug)]
    /// struct Even(u8);
    /// impl<'de> Deserialize<'de> for Even {
    ///     fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    ///         let v = u8::deserialize(d)?;
    ///         if v % 2 == 1 { return Err(serde::de::Error::custom(format!("{v} is odd"))) }
    ///         Ok(Even(v))
    ///     }
    /// }
    ///
    /// let bytes = encode(&3u8).unwrap();
    /// let err = decode::<Even>(&bytes).unwrap_err();
    /// let e = RemoteError::from_decode_error::<Even>(RemoteErrorKind::DecodeResult, &bytes, &err);
    /// assert_eq!(e.message(), "3 is odd");
    /// assert!(e.type_name().ends_with("Even"));
    /// ```
    #[must_use]
    pub fn from_decode_error<T: serde::de::DeserializeOwned>(
        kind: RemoteErrorKind,
        bytes: &[u8],
        error: &crate::FrameError,
    ) -> Self {
        let ty = std::any::type_name::<T>();
        if let crate::FrameError::Codec(postcard::Error::SerdeDeCustom) = error {
            if let Some(message) = crate::probe::deserialize_message::<T>(bytes) {
                return Self::new(kind, ty, message);
            }
        }
        Self::from_error(kind, ty, error)
    }

    /// The stage that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{RemoteError, RemoteErrorKind};
    /// let e = RemoteError::new(RemoteErrorKind::DecodeResult, "postcard::Error", "eof");
    /// assert_eq!(e.kind(), RemoteErrorKind::DecodeResult);
    /// ```
    #[must_use]
    pub fn kind(&self) -> RemoteErrorKind {
        self.kind
    }

    /// The type name of the error (or of the panic payload: `&str`, `String`).
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_ipc::RemoteError::new(concur_ipc::RemoteErrorKind::Panic, "String", "x");
    /// assert_eq!(e.type_name(), "String");
    /// ```
    #[must_use]
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The message.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_ipc::RemoteError::new(concur_ipc::RemoteErrorKind::Panic, "&str", "boom");
    /// assert_eq!(e.message(), "boom");
    /// ```
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The backtrace text, when the worker captured one.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = concur_ipc::RemoteError::new(concur_ipc::RemoteErrorKind::Panic, "&str", "boom");
    /// assert_eq!(e.backtrace(), None);
    /// ```
    #[must_use]
    pub fn backtrace(&self) -> Option<&str> {
        self.backtrace.as_deref()
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RemoteErrorKind::Task => write!(f, "{}: {}", self.type_name, self.message),
            RemoteErrorKind::Panic => write!(f, "panicked ({}): {}", self.type_name, self.message),
            k => write!(
                f,
                "{} failed ({}): {}",
                k.as_str(),
                self.type_name,
                self.message
            ),
        }
    }
}

impl std::error::Error for RemoteError {}

/// The remote failure as a [`concur_core::Error`] whose source is the
/// `RemoteError`, with the kind a process pool gives it: the function's own
/// error, panic or failed initializer is [`Task`](concur_core::ErrorKind::Task);
/// an encoding or decoding stage is [`Codec`](concur_core::ErrorKind::Codec);
/// an oversized frame [`FrameTooLarge`](concur_core::ErrorKind::FrameTooLarge);
/// an unknown, mismatched or duplicate function
/// [`Protocol`](concur_core::ErrorKind::Protocol). The function's own
/// error is named by its type in the worker
/// ([`Error::type_name`](concur_core::Error::type_name)).
///
/// # Examples
///
/// ```
/// use concur_ipc::{RemoteError, RemoteErrorKind};
/// let e = concur_core::Error::from(RemoteError::new(RemoteErrorKind::DecodeArgs, "u8", "eof"));
/// assert_eq!(e.kind(), concur_core::ErrorKind::Codec);
/// assert_eq!(e.downcast_ref::<RemoteError>().unwrap().message(), "eof");
///
/// let e = concur_core::Error::from(RemoteError::new(
///     RemoteErrorKind::Task,
///     "core::num::error::ParseIntError",
///     "invalid digit found in string",
/// ));
/// assert_eq!(e.type_name(), Some("ParseIntError"));
/// ```
impl From<RemoteError> for concur_core::Error {
    fn from(e: RemoteError) -> Self {
        use concur_core::ErrorKind;
        let kind = match e.kind {
            RemoteErrorKind::EncodeArgs
            | RemoteErrorKind::DecodeArgs
            | RemoteErrorKind::EncodeResult
            | RemoteErrorKind::DecodeResult => ErrorKind::Codec,
            RemoteErrorKind::FrameTooLarge => ErrorKind::FrameTooLarge,
            RemoteErrorKind::UnknownFunction
            | RemoteErrorKind::SignatureMismatch
            | RemoteErrorKind::DuplicateFunction => ErrorKind::Protocol,
            RemoteErrorKind::Task => {
                // Named by the type the function returned in the worker.
                let name = e.type_name.clone();
                return Self::task_named(e, &name);
            }
            _ => return Self::task(e),
        };
        Self::infrastructure(kind, e)
    }
}
