//! [`Packed`]: byte strings stored back to back in one buffer instead of
//! one allocation each; the storage of a call's encoded items and (inside
//! [`Outcomes`](crate::Outcomes)) of a reply's encoded outputs.
//!
//! On the wire a `Packed` is exactly what a `Vec<Vec<u8>>` would be (a
//! sequence of postcard byte strings), so the format did not change; only the
//! memory layout did. With a buffer per item, a 1000-item chunk cost the
//! parent 1000 allocations to encode and the dispatcher 2000 to decode and
//! free (half of them freeing another thread's memory): 160 ns per item at
//! chunksize 1000 on 2 cores, most of it in malloc.

use crate::codec::CodecError;
use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Deserializes one byte string as a new last item of a [`Packed`] (the
/// element seed of `Packed` and of [`Outcomes`](crate::Outcomes)' outputs):
/// copied straight into the buffer, no allocation of its own.
pub(crate) struct PushBytes<'a>(pub(crate) &'a mut Packed);

impl<'de> DeserializeSeed<'de> for PushBytes<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        struct V<'a>(&'a mut Vec<u8>);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = ();
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<(), E> {
                grow(self.0, v.len());
                self.0.extend_from_slice(v);
                Ok(())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
                while let Some(b) = seq.next_element::<u8>()? {
                    self.0.push(b);
                }
                Ok(())
            }
        }
        d.deserialize_bytes(V(&mut self.0.bytes))?;
        self.0.ends.push(self.0.bytes.len());
        Ok(())
    }
}

/// Byte strings stored back to back in one buffer: the encoded argument
/// sets of a [`Call`](crate::Call). Serialized as a sequence of byte
/// strings, the same bytes as a `Vec<Vec<u8>>`.
///
/// # Examples
///
/// ```
/// let mut items = concur_ipc::Packed::new();
/// items.push_encoded(&7u32).unwrap();
/// items.push(&[1, 2, 3]);
/// assert_eq!(items.len(), 2);
/// assert_eq!(concur_ipc::decode::<u32>(items.get(0).unwrap()).unwrap(), 7);
/// assert_eq!(items.iter().nth(1), Some(&[1u8, 2, 3][..]));
/// let wire = concur_ipc::encode(&items).unwrap();
/// assert_eq!(wire, concur_ipc::encode(&vec![vec![7u8], vec![1, 2, 3]]).unwrap());
/// assert_eq!(concur_ipc::decode::<concur_ipc::Packed>(&wire).unwrap(), items);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Packed {
    bytes: Vec<u8>,
    /// Where each item ends in `bytes`.
    ends: Vec<usize>,
}

impl Packed {
    /// No items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Packed::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// No items, with room for `items` items of `bytes` bytes in all.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = concur_ipc::Packed::with_capacity(10, 80);
    /// assert_eq!(p.len(), 0);
    /// ```
    #[must_use]
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(items),
        }
    }

    /// Appends an item's bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = concur_ipc::Packed::new();
    /// p.push(b"abc");
    /// assert_eq!(p.get(0), Some(&b"abc"[..]));
    /// ```
    pub fn push(&mut self, item: &[u8]) {
        self.bytes.extend_from_slice(item);
        self.ends.push(self.bytes.len());
    }

    /// Appends the postcard encoding of `value` as one item, written
    /// straight into the buffer; on error nothing is appended.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] (for example a `Serialize` impl that fails).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = concur_ipc::Packed::new();
    /// p.push_encoded(&(1u8, "x")).unwrap();
    /// assert_eq!(concur_ipc::decode::<(u8, String)>(p.get(0).unwrap()).unwrap(), (1, "x".into()));
    /// ```
    pub fn push_encoded<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        append_encoded(value, &mut self.bytes)?;
        self.ends.push(self.bytes.len());
        Ok(())
    }

    /// Removes the last item.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = concur_ipc::Packed::from(vec![vec![1u8], vec![2, 3]]);
    /// p.pop();
    /// assert_eq!((p.len(), p.byte_len()), (1, 1));
    /// ```
    pub fn pop(&mut self) {
        if self.ends.pop().is_some() {
            self.bytes.truncate(self.ends.last().copied().unwrap_or(0));
        }
    }

    /// Drops bytes written past the last item (left by an encoding that
    /// panicked half-way); `len` must be at least the last item's end.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = concur_ipc::Packed::from(vec![vec![1u8]]);
    /// p.truncate_bytes(1);
    /// assert_eq!(p.byte_len(), 1);
    /// ```
    pub fn truncate_bytes(&mut self, len: usize) {
        let floor = self.ends.last().copied().unwrap_or(0);
        self.bytes.truncate(len.max(floor));
    }

    /// How many items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::Packed::from(vec![vec![1u8], vec![]]).len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are no items.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::Packed::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The bytes of all items together.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::Packed::from(vec![vec![1u8], vec![2, 3]]).byte_len(), 3);
    /// ```
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Item `i`'s bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = concur_ipc::Packed::from(vec![vec![1u8], vec![2, 3]]);
    /// assert_eq!(p.get(1), Some(&[2u8, 3][..]));
    /// assert_eq!(p.get(2), None);
    /// ```
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    /// Every item's bytes, in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = concur_ipc::Packed::from(vec![vec![1u8], vec![2, 3]]);
    /// assert_eq!(p.iter().map(<[u8]>::len).sum::<usize>(), 3);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let item = &self.bytes[start..end];
            start = end;
            item
        })
    }
}

impl From<Vec<Vec<u8>>> for Packed {
    fn from(items: Vec<Vec<u8>>) -> Self {
        let mut p = Self::with_capacity(items.len(), items.iter().map(Vec::len).sum());
        for i in &items {
            p.push(i);
        }
        p
    }
}

impl fmt::Debug for Packed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Packed {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for item in self.iter() {
            seq.serialize_element(&Bytes(item))?;
        }
        seq.end()
    }
}

/// A byte string serialized as postcard `bytes` (one copy, not one call
/// per byte); the same encoding on the wire as a sequence of `u8`.
pub(crate) struct Bytes<'a>(pub(crate) &'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Packed;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of byte strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Packed, A::Error> {
                // The hint comes from the peer: cap what it may reserve.
                let n = seq.size_hint().unwrap_or(0).min(4096);
                let mut p = Packed::with_capacity(n, 0);
                while seq.next_element_seed(PushBytes(&mut p))?.is_some() {}
                Ok(p)
            }
        }
        d.deserialize_seq(V)
    }
}

/// Makes room for `more` bytes in `buf` (amortised, as `Vec` grows); a
/// buffer that grows large is asked onto huge pages, so the bytes about
/// to be written fault 2 MiB at a time (see `concur_sync::mem`).
#[inline]
fn grow(buf: &mut Vec<u8>, more: usize) {
    if buf.capacity() - buf.len() < more {
        buf.reserve(more);
        if buf.capacity() >= crate::frame::HUGE_FRAME {
            concur_sync::mem::huge_pages(buf);
        }
    }
}

/// A postcard output that appends to a borrowed buffer (postcard's own
/// `to_extend` takes the buffer by value and drops it on error).
pub(crate) struct Append<'a>(pub(crate) &'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();
    #[inline]
    fn try_push(&mut self, b: u8) -> postcard::Result<()> {
        if self.0.len() == self.0.capacity() {
            grow(self.0, 1);
        }
        self.0.push(b);
        Ok(())
    }
    #[inline]
    fn try_extend(&mut self, b: &[u8]) -> postcard::Result<()> {
        grow(self.0, b.len());
        self.0.extend_from_slice(b);
        Ok(())
    }
    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Appends the postcard encoding of `value` to `buf`; on error `buf` is
/// left as it was.
fn append_encoded<T: Serialize + ?Sized>(value: &T, buf: &mut Vec<u8>) -> Result<(), CodecError> {
    let start = buf.len();
    postcard::serialize_with_flavor(value, Append(buf)).map_err(|e| {
        buf.truncate(start);
        let message = match e {
            postcard::Error::SerdeSerCustom => crate::probe::serialize_message(value),
            _ => None,
        };
        CodecError::new(e, message)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{decode, encode};

    /// A value whose `Serialize` fails after writing part of itself.
    pub(crate) struct FailsHalfway;

    impl Serialize for FailsHalfway {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{Error, SerializeTuple};
            let mut t = s.serialize_tuple(2)?;
            t.serialize_element(&0xabcdu32)?;
            Err(S::Error::custom("refused"))
        }
    }

    #[test]
    fn failed_encodings_leave_earlier_items_intact() {
        let mut p = Packed::new();
        p.push_encoded(&1u8).unwrap();
        assert!(p.push_encoded(&FailsHalfway).is_err());
        p.push_encoded(&2u8).unwrap();
        assert_eq!(p, Packed::from(vec![vec![1], vec![2]]));
    }

    #[test]
    fn indexing_and_iteration_agree_with_the_plain_vectors() {
        let items: Vec<Vec<u8>> = vec![vec![], vec![9; 200], vec![1]];
        let p = Packed::from(items.clone());
        assert_eq!(p.iter().map(<[u8]>::to_vec).collect::<Vec<_>>(), items);
        let wire = encode(&p).unwrap();
        assert_eq!(wire, encode(&items).unwrap());
        assert_eq!(decode::<Packed>(&wire).unwrap(), p);
        let mut q = p.clone();
        q.pop();
        q.pop();
        assert_eq!(q, Packed::from(vec![vec![]]));
    }
}
