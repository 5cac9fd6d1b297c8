//! [`Outcomes`] and its element, [`ItemResult`]: what each item of a call
//! produced, the encoded outputs in one [`Packed`] buffer and the (rare)
//! failures beside it.
//!
//! On the wire it is exactly what a `Vec<ItemResult>` would be (a sequence
//! of `Result<bytes, RemoteError>`), so the format did not change; only the
//! memory layout did (see [`Packed`] for the measurements).

use crate::codec::CodecError;
use crate::error::RemoteError;
use crate::packed::{Bytes, Packed, PushBytes};
use serde::de::{DeserializeSeed, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What one item of a call produced: the encoded output, or why not.
///
/// # Examples
///
/// ```
/// let ok: concur_ipc::ItemResult = Ok(concur_ipc::encode(&5u32).unwrap());
/// assert_eq!(concur_ipc::decode::<u32>(ok.as_ref().unwrap()).unwrap(), 5);
/// ```
pub type ItemResult = Result<Vec<u8>, RemoteError>;

/// What each item of a call produced, in order: an encoded output or a
/// [`RemoteError`], the outputs stored back to back in one buffer.
/// Serialized as a sequence of `Result<bytes, RemoteError>`, the same
/// bytes as a `Vec<ItemResult>`.
///
/// # Examples
///
/// ```
/// use concur_ipc::{Outcomes, RemoteError, RemoteErrorKind};
/// let mut out = Outcomes::new();
/// out.push_encoded(&9u64).unwrap();
/// out.push_err(RemoteError::new(RemoteErrorKind::Task, "E", "no"));
/// assert_eq!(out.len(), 2);
/// let first = out.get(0).unwrap().unwrap();
/// assert_eq!(concur_ipc::decode::<u64>(first).unwrap(), 9);
/// assert_eq!(out.get(1).unwrap().unwrap_err().message(), "no");
/// let wire = concur_ipc::encode(&out).unwrap();
/// assert_eq!(concur_ipc::decode::<Outcomes>(&wire).unwrap(), out);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// One item per result: the encoded output, empty for a failure.
    outputs: Packed,
    /// The failed items, by index, in increasing order.
    failures: Vec<(usize, RemoteError)>,
}

impl Outcomes {
    /// No results.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Outcomes::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// No results, with room for `items` results of `bytes` bytes in all.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::Outcomes::with_capacity(8, 64).len(), 0);
    /// ```
    #[must_use]
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        Self {
            outputs: Packed::with_capacity(items, bytes),
            failures: Vec::new(),
        }
    }

    /// Appends an encoded output.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_ipc::Outcomes::new();
    /// out.push_ok(&[5]);
    /// assert_eq!(out.get(0).unwrap().unwrap(), &[5]);
    /// ```
    pub fn push_ok(&mut self, output: &[u8]) {
        self.outputs.push(output);
    }

    /// Appends the postcard encoding of `value` as a successful output,
    /// written straight into the buffer; on error nothing is appended.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] (for example a `Serialize` impl that fails).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut out = concur_ipc::Outcomes::new();
    /// out.push_encoded("hi").unwrap();
    /// assert_eq!(concur_ipc::decode::<String>(out.get(0).unwrap().unwrap()).unwrap(), "hi");
    /// ```
    pub fn push_encoded<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        self.outputs.push_encoded(value)
    }

    /// The buffer's length, to [`rollback`](Self::rollback) to.
    pub(crate) fn mark(&self) -> usize {
        self.outputs.byte_len()
    }

    /// Drops output bytes written after `mark` by an encoding that failed
    /// half-way (a panicking `Serialize`).
    pub(crate) fn rollback(&mut self, mark: usize) {
        self.outputs.truncate_bytes(mark);
    }

    /// Appends a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{RemoteError, RemoteErrorKind};
    /// let mut out = concur_ipc::Outcomes::new();
    /// out.push_err(RemoteError::new(RemoteErrorKind::Panic, "&str", "boom"));
    /// assert!(out.get(0).unwrap().is_err());
    /// ```
    pub fn push_err(&mut self, error: RemoteError) {
        self.failures.push((self.outputs.len(), error));
        self.outputs.push(&[]);
    }

    /// How many results.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_ipc::Outcomes = vec![Ok(vec![1u8])].into();
    /// assert_eq!(out.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Whether there are no results.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Outcomes::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// Result `i`: its encoded output or its error.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_ipc::Outcomes = vec![Ok(vec![1u8]), Ok(vec![2, 3])].into();
    /// assert_eq!(out.get(1), Some(Ok(&[2u8, 3][..])));
    /// assert_eq!(out.get(2), None);
    /// ```
    #[must_use]
    pub fn get(&self, i: usize) -> Option<Result<&[u8], &RemoteError>> {
        let output = self.outputs.get(i)?;
        match self.failures.binary_search_by_key(&i, |(at, _)| *at) {
            Ok(f) => Some(Err(&self.failures[f].1)),
            Err(_) => Some(Ok(output)),
        }
    }

    /// Every result, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let out: concur_ipc::Outcomes = vec![Ok(vec![1u8]), Ok(vec![2, 3])].into();
    /// assert_eq!(out.iter().filter(Result::is_ok).count(), 2);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Result<&[u8], &RemoteError>> + '_ {
        let mut failures = self.failures.iter().peekable();
        self.outputs.iter().enumerate().map(move |(i, output)| {
            match failures.next_if(|(at, _)| *at == i) {
                Some((_, e)) => Err(e),
                None => Ok(output),
            }
        })
    }
}

impl From<Vec<ItemResult>> for Outcomes {
    fn from(items: Vec<ItemResult>) -> Self {
        items.into_iter().collect()
    }
}

impl FromIterator<ItemResult> for Outcomes {
    fn from_iter<I: IntoIterator<Item = ItemResult>>(items: I) -> Self {
        let mut out = Self::new();
        for r in items {
            match r {
                Ok(b) => out.push_ok(&b),
                Err(e) => out.push_err(e),
            }
        }
        out
    }
}

impl fmt::Debug for Outcomes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Outcomes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The wire shape of one result: `Result<bytes, RemoteError>`.
        #[derive(Serialize)]
        enum ItemResultRef<'a> {
            Ok(Bytes<'a>),
            Err(&'a RemoteError),
        }
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for r in self.iter() {
            match r {
                Ok(b) => seq.serialize_element(&ItemResultRef::Ok(Bytes(b)))?,
                Err(e) => seq.serialize_element(&ItemResultRef::Err(e))?,
            }
        }
        seq.end()
    }
}

/// Deserializes one `Result<bytes, RemoteError>` as a new last result of an
/// [`Outcomes`], an output straight into its buffer.
struct PushOutcome<'a>(&'a mut Outcomes);

impl<'de> DeserializeSeed<'de> for PushOutcome<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        #[derive(Deserialize)]
        enum Tag {
            Ok,
            Err,
        }
        struct V<'a>(&'a mut Outcomes);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an item result")
            }
            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
                let (tag, variant) = data.variant::<Tag>()?;
                match tag {
                    Tag::Ok => variant.newtype_variant_seed(PushBytes(&mut self.0.outputs))?,
                    Tag::Err => self.0.push_err(variant.newtype_variant::<RemoteError>()?),
                }
                Ok(())
            }
        }
        d.deserialize_enum("Result", &["Ok", "Err"], V(self.0))
    }
}

impl<'de> Deserialize<'de> for Outcomes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Outcomes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of item results")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Outcomes, A::Error> {
                // The hint comes from the peer: cap what it may reserve.
                let n = seq.size_hint().unwrap_or(0).min(4096);
                let mut out = Outcomes::with_capacity(n, 0);
                while seq.next_element_seed(PushOutcome(&mut out))?.is_some() {}
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::tests::FailsHalfway;
    use crate::{RemoteErrorKind, decode, encode};

    #[test]
    fn failed_encodings_leave_earlier_items_intact() {
        let mut o = Outcomes::new();
        o.push_encoded(&1u8).unwrap();
        assert!(o.push_encoded(&FailsHalfway).is_err());
        o.push_err(RemoteError::new(RemoteErrorKind::Task, "E", "x"));
        o.push_encoded(&2u8).unwrap();
        let expected: Outcomes = vec![
            Ok(vec![1]),
            Err(RemoteError::new(RemoteErrorKind::Task, "E", "x")),
            Ok(vec![2]),
        ]
        .into();
        assert_eq!(o, expected);
    }

    #[test]
    fn indexing_and_iteration_agree_with_the_plain_vectors() {
        let plain: Vec<ItemResult> = vec![
            Err(RemoteError::new(RemoteErrorKind::Panic, "&str", "a")),
            Ok(vec![]),
            Ok(vec![1, 2, 3]),
            Err(RemoteError::new(RemoteErrorKind::Task, "E", "b")),
            Err(RemoteError::new(RemoteErrorKind::Task, "E", "c")),
            Ok(vec![4]),
        ];
        let packed: Outcomes = plain.clone().into();
        for (i, want) in plain.iter().enumerate() {
            let got = packed.get(i).unwrap();
            assert_eq!(got.map(<[u8]>::to_vec).map_err(Clone::clone), *want);
        }
        let iterated: Vec<ItemResult> = packed
            .iter()
            .map(|r| r.map(<[u8]>::to_vec).map_err(Clone::clone))
            .collect();
        assert_eq!(iterated, plain);
        assert_eq!(packed.get(plain.len()), None);
        let wire = encode(&packed).unwrap();
        assert_eq!(wire, encode(&plain).unwrap());
        assert_eq!(decode::<Vec<ItemResult>>(&wire).unwrap(), plain);
        assert_eq!(decode::<Outcomes>(&wire).unwrap(), packed);
    }

    #[test]
    fn a_rolled_back_output_leaves_no_bytes() {
        let mut o = Outcomes::new();
        o.push_ok(&[1]);
        let mark = o.mark();
        assert!(o.push_encoded(&FailsHalfway).is_err());
        o.rollback(mark);
        o.push_err(RemoteError::new(RemoteErrorKind::EncodeResult, "T", "x"));
        o.push_ok(&[2]);
        assert_eq!(o.get(2), Some(Ok(&[2u8][..])));
        assert_eq!(o.mark(), 2);
    }
}
