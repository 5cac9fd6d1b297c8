//! What a postcard failure means for the user: [`describe`] turns a
//! [`postcard::Error`] into one sentence saying what to change, and
//! [`CodecError`] carries it with the type's own serde message when one was
//! recovered (postcard drops the text of `serde::ser::Error::custom` and
//! `serde::de::Error::custom`; `probe` recovers it).

use std::borrow::Cow;
use std::fmt;

/// One sentence for a postcard error: what happened and what to change.
pub(crate) fn describe(e: &postcard::Error) -> Cow<'static, str> {
    use postcard::Error as P;
    Cow::Borrowed(match e {
        P::WontImplement => {
            "postcard cannot decode self-describing data (serde_json::Value, \
             #[serde(untagged)], #[serde(flatten)], deserialize_any): use a concrete type"
        }
        P::SerializeSeqLengthUnknown => {
            "postcard needs the length of every sequence and map before its items \
             (#[serde(flatten)], serialize_seq(None), collect_seq of an iterator \
             without an exact size): use a concrete type or collect into a Vec first"
        }
        P::SerdeSerCustom => {
            "the type's Serialize implementation returned an error \
             (postcard does not keep its message)"
        }
        P::SerdeDeCustom => {
            "the bytes do not fit the type: its Deserialize implementation returned an error \
             (postcard does not keep its message); do both sides use the same type?"
        }
        P::DeserializeUnexpectedEnd => {
            "the bytes end before the value does: do both sides use the same type?"
        }
        P::DeserializeBadVarint
        | P::DeserializeBadBool
        | P::DeserializeBadChar
        | P::DeserializeBadUtf8
        | P::DeserializeBadOption
        | P::DeserializeBadEnum
        | P::DeserializeBadEncoding
        | P::DeserializeBadCrc => {
            return Cow::Owned(format!(
                "malformed bytes ({}): do both sides use the same type?",
                lowercase_first(&e.to_string())
            ));
        }
        P::CollectStrError => "a Display implementation failed while serializing (collect_str)",
        other => return Cow::Owned(lowercase_first(&other.to_string())),
    })
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// postcard could not encode a value: the postcard error and, when the
/// value's `Serialize` failed with a message of its own, that message.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// #[derive(serde::Serialize)]
/// struct Flat {
///     #[serde(flatten)]
///     rest: BTreeMap<String, u8>,
/// }
/// let err = concur_ipc::Packed::new().push_encoded(&Flat { rest: BTreeMap::new() }).unwrap_err();
/// assert!(err.to_string().starts_with("postcard needs the length of every sequence"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    error: postcard::Error,
    message: Option<String>,
}

impl CodecError {
    pub(crate) fn new(error: postcard::Error, message: Option<String>) -> Self {
        Self { error, message }
    }

    /// The postcard error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use serde::ser::{Serialize, Serializer};
    /// struct Never;
    /// impl Serialize for Never {
    ///     fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
    ///         Err(serde::ser::Error::custom("never"))
    ///     }
    /// }
    /// let err = concur_ipc::Packed::new().push_encoded(&Never).unwrap_err();
    /// assert_eq!(*err.postcard(), postcard::Error::SerdeSerCustom);
    /// ```
    #[must_use]
    pub fn postcard(&self) -> &postcard::Error {
        &self.error
    }

    /// The message the value's own `Serialize` gave
    /// (`serde::ser::Error::custom`), if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # use serde::ser::{Serialize, Serializer};
    /// struct Never;
    /// impl Serialize for Never {
    ///     fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
    ///         Err(serde::ser::Error::custom("never"))
    ///     }
    /// }
    /// let err = concur_ipc::Packed::new().push_encoded(&Never).unwrap_err();
    /// assert_eq!(err.message(), Some("never"));
    /// assert_eq!(err.to_string(), "never");
    /// ```
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => f.write_str(&describe(&self.error)),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// An [`ErrorKind::Codec`](concur_core::ErrorKind::Codec) error with the
/// same text, whose source is the `CodecError`.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// #[derive(serde::Serialize)]
/// struct Flat {
///     #[serde(flatten)]
///     rest: BTreeMap<String, u8>,
/// }
/// let err = concur_ipc::Packed::new().push_encoded(&Flat { rest: BTreeMap::new() }).unwrap_err();
/// let e = concur_core::Error::from(err.clone());
/// assert_eq!(e.kind(), concur_core::ErrorKind::Codec);
/// assert_eq!(e.downcast_ref::<concur_ipc::CodecError>(), Some(&err));
/// let source = std::error::Error::source(&e).unwrap();
/// assert_eq!(source.to_string(), err.to_string());
/// ```
impl From<CodecError> for concur_core::Error {
    fn from(e: CodecError) -> Self {
        Self::with_source(concur_core::ErrorKind::Codec, e)
    }
}
