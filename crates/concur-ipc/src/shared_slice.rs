//! [`SharedSlice`]: an immutable slice of plain data in shared memory
//! (a sealed memfd), which a process pool passes to a worker, or a worker
//! back, as a descriptor instead of copying its bytes through the
//! transport: a 100 MB argument costs a descriptor, not 100 MB of
//! encoding, copying and decoding.

use crate::attach::{self, Taken};
use crate::segment::Segment;
use bytemuck::Pod;
use serde::de::{self, Deserializer, EnumAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable `[T]` in shared memory that crosses to a worker process
/// as a descriptor, not as its bytes: the argument or result type for bulk
/// data (the counterpart of Python's `multiprocessing.shared_memory`,
/// immutable like `bytes::Bytes` and ipc-channel's `IpcSharedMemory`).
///
/// * Cloning is cheap (one reference count): the same slice can be sent
///   to many tasks without a copy.
/// * The bytes live in a memfd sealed against writing and resizing, so a
///   receiver that checked the seals can trust them not to change under it
///   or be cut short, whatever the sending process does.
/// * Through a [`ProcessPool`](https://docs.rs/concur-process) it travels
///   by `SCM_RIGHTS`; through a transport that cannot pass descriptors (an
///   MPI pool) or another serde format it is encoded as its bytes (native
///   byte order), so it works everywhere and is fast where it can be.
/// * Each live slice holds one descriptor (an empty one none).
///
/// `T` is plain data ([`bytemuck::Pod`]: integers, floats, and
/// `#[derive(Pod)]` structs of them).
///
/// # Examples
///
/// ```
/// use concur_ipc::SharedSlice;
/// // Build in place (no copy), or copy from a slice.
/// let squares = SharedSlice::<u64>::build(1000, |s| {
///     for (i, x) in s.iter_mut().enumerate() {
///         *x = (i * i) as u64;
///     }
/// })
/// .unwrap();
/// assert_eq!(squares[999], 998_001);
/// let copy = SharedSlice::copy_from(&squares[..10]).unwrap();
/// assert_eq!(copy.len(), 10);
/// // Any serde format works (as bytes outside a process pool).
/// let back: SharedSlice<u64> = concur_ipc::decode(&concur_ipc::encode(&copy).unwrap()).unwrap();
/// assert_eq!(back, copy);
/// ```
pub struct SharedSlice<T> {
    segment: Option<Arc<Segment>>,
    _t: PhantomData<T>,
}

impl<T: Pod> SharedSlice<T> {
    const NOT_ZST: () = assert!(
        size_of::<T>() > 0,
        "SharedSlice<T> needs a T of non-zero size: use a count instead of a slice of ()"
    );

    /// An empty slice (no memfd).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::SharedSlice::<u8>::empty().is_empty());
    /// ```
    #[must_use]
    pub fn empty() -> Self {
        let () = Self::NOT_ZST;
        Self {
            segment: None,
            _t: PhantomData,
        }
    }

    /// A shared copy of `items` (one copy, written by the kernel).
    ///
    /// # Errors
    ///
    /// If the memfd cannot be made, sized or mapped (`EMFILE`, out of
    /// memory).
    ///
    /// # Examples
    ///
    /// ```
    /// let s = concur_ipc::SharedSlice::copy_from(&[1.5f64, 2.5]).unwrap();
    /// assert_eq!(&s[..], &[1.5, 2.5]);
    /// ```
    pub fn copy_from(items: &[T]) -> std::io::Result<Self> {
        let () = Self::NOT_ZST;
        if items.is_empty() {
            return Ok(Self::empty());
        }
        let segment = Segment::copy_from(bytemuck::cast_slice(items))?;
        Ok(Self::of(segment))
    }

    /// A shared slice of `len` items, zeroed, that `fill` writes in place
    /// before it is sealed: the way to make one without a copy.
    ///
    /// # Errors
    ///
    /// If `len` items do not fit the address space, or the memfd cannot
    /// be made, sized or mapped.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = concur_ipc::SharedSlice::<u8>::build(4, |b| b.copy_from_slice(b"abcd")).unwrap();
    /// assert_eq!(&s[..], b"abcd");
    /// assert!(concur_ipc::SharedSlice::<u64>::build(usize::MAX, |_| {}).is_err());
    /// ```
    pub fn build(len: usize, fill: impl FnOnce(&mut [T])) -> std::io::Result<Self> {
        let () = Self::NOT_ZST;
        if len == 0 {
            return Ok(Self::empty());
        }
        let bytes = len.checked_mul(size_of::<T>()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{len} items of {} bytes overflow usize", size_of::<T>()),
            )
        })?;
        let segment = Segment::build(bytes, |b| fill(bytemuck::cast_slice_mut(b)))?;
        Ok(Self::of(segment))
    }

    fn of(segment: Segment) -> Self {
        Self {
            segment: Some(Arc::new(segment)),
            _t: PhantomData,
        }
    }

    /// The items.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = concur_ipc::SharedSlice::copy_from(&[7u16]).unwrap();
    /// assert_eq!(s.as_slice(), &[7]);
    /// ```
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        match &self.segment {
            // Page-aligned, and a multiple of `size_of::<T>()` long
            // (checked when it was made or received).
            Some(s) => bytemuck::cast_slice(s.bytes()),
            None => &[],
        }
    }

    fn bytes(&self) -> &[u8] {
        self.segment.as_ref().map_or(&[], |s| s.bytes())
    }
}

impl<T: Pod> Deref for SharedSlice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T: Pod> AsRef<[T]> for SharedSlice<T> {
    fn as_ref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> Clone for SharedSlice<T> {
    fn clone(&self) -> Self {
        Self {
            segment: self.segment.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Pod> Default for SharedSlice<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Pod + PartialEq> PartialEq for SharedSlice<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 16;
        let s = self.as_slice();
        let mut l = f.debug_list();
        l.entries(s.iter().take(SHOWN));
        if s.len() > SHOWN {
            l.entry(&format_args!("... {} items in all", s.len()));
        }
        l.finish()
    }
}

/// `serialize_bytes` of a slice.
struct Raw<'a>(&'a [u8]);

impl Serialize for Raw<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

const NAME: &str = "SharedSlice";
const VARIANTS: &[&str] = &["Inline", "Attached"];

impl<T: Pod> Serialize for SharedSlice<T> {
    /// Inside [`attach::collect`] an attachment index and the byte
    /// length; elsewhere the bytes.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.segment.as_ref().and_then(attach::attach) {
            Some(index) => s.serialize_newtype_variant(
                NAME,
                1,
                "Attached",
                &(index, self.bytes().len() as u64),
            ),
            None => s.serialize_newtype_variant(NAME, 0, "Inline", &Raw(self.bytes())),
        }
    }
}

/// The bytes of an inline slice, straight into a segment.
struct InlineSeed<T>(PhantomData<T>);

impl<'de, T: Pod> de::DeserializeSeed<'de> for InlineSeed<T> {
    type Value = SharedSlice<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_bytes(self)
    }
}

impl<'de, T: Pod> Visitor<'de> for InlineSeed<T> {
    type Value = SharedSlice<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the bytes of a [{}]", std::any::type_name::<T>())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        if v.len() % size_of::<T>() != 0 {
            return Err(E::custom(format_args!(
                "{} bytes are not a whole number of {}s",
                v.len(),
                std::any::type_name::<T>()
            )));
        }
        if v.is_empty() {
            return Ok(SharedSlice::empty());
        }
        Segment::copy_from(v)
            .map(SharedSlice::of)
            .map_err(|e| E::custom(format_args!("no shared segment for the bytes: {e}")))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
        self.visit_bytes(&v)
    }

    /// Formats without byte strings (JSON) write bytes as a sequence.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            v.push(b);
        }
        self.visit_bytes(&v)
    }
}

/// The variant of a serialized slice (by index in postcard, by name in
/// self-describing formats).
#[derive(Deserialize)]
enum Kind {
    Inline,
    Attached,
}

struct SliceVisitor<T>(PhantomData<T>);

impl<'de, T: Pod> Visitor<'de> for SliceVisitor<T> {
    type Value = SharedSlice<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a SharedSlice<{}>", std::any::type_name::<T>())
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let (variant, access) = data.variant::<Kind>()?;
        match variant {
            Kind::Inline => access.newtype_variant_seed(InlineSeed(PhantomData)),
            Kind::Attached => {
                let (index, bytes): (u32, u64) = access.newtype_variant()?;
                let segment = match attach::take(index).map_err(de::Error::custom)? {
                    Taken::Segment(s) => s,
                    Taken::Fd(fd) => {
                        let len = usize::try_from(bytes).map_err(|_| {
                            de::Error::custom(format_args!("an attachment of {bytes} bytes"))
                        })?;
                        Arc::new(Segment::open(fd, len).map_err(de::Error::custom)?)
                    }
                };
                let len = segment.bytes().len();
                if u64::try_from(len).ok() != Some(bytes) || len % size_of::<T>() != 0 {
                    return Err(de::Error::custom(format_args!(
                        "an attachment of {len} bytes is not the {bytes} bytes of whole {}s \
                         the value says",
                        std::any::type_name::<T>()
                    )));
                }
                Ok(SharedSlice {
                    segment: Some(segment),
                    _t: PhantomData,
                })
            }
        }
    }
}

impl<'de, T: Pod> Deserialize<'de> for SharedSlice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let () = Self::NOT_ZST;
        d.deserialize_enum(NAME, VARIANTS, SliceVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attach::Attachments;

    #[test]
    fn inline_round_trip_in_postcard_and_json() {
        let s = SharedSlice::copy_from(&[1u32, 2, 3]).unwrap();
        let back: SharedSlice<u32> = crate::decode(&crate::encode(&s).unwrap()).unwrap();
        assert_eq!(&back[..], &[1, 2, 3]);
        let json = serde_json::to_string(&s).unwrap();
        let back: SharedSlice<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let empty = SharedSlice::<f64>::empty();
        let back: SharedSlice<f64> = crate::decode(&crate::encode(&empty).unwrap()).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn attached_round_trip_shares_the_memfd() {
        let s = SharedSlice::copy_from(&[0.5f64; 4096]).unwrap();
        let (bytes, sent) = attach::collect(|| crate::encode(&(1u8, &s, &s)).unwrap());
        assert_eq!(sent.len(), 2);
        assert!(bytes.len() < 32);
        let received = Attachments::from_fds(sent.dup().unwrap());
        let (n, a, b): (u8, SharedSlice<f64>, SharedSlice<f64>) =
            attach::provide(received, || crate::decode(&bytes)).unwrap();
        assert_eq!((n, a.len(), b.len()), (1, 4096, 4096));
        assert_eq!(a, s);
        // Decoded where it was encoded (no descriptors passed): the same
        // segment.
        let again: (u8, SharedSlice<f64>, SharedSlice<f64>) =
            attach::provide(sent, || crate::decode(&bytes)).unwrap();
        assert_eq!(again.1, s);
    }

    #[test]
    fn hostile_attachments_are_errors() {
        let s = SharedSlice::copy_from(&[9u8; 100]).unwrap();
        let (bytes, sent) = attach::collect(|| crate::encode(&s).unwrap());
        // No scope, an empty one, a missing index.
        assert!(crate::decode::<SharedSlice<u8>>(&bytes).is_err());
        let r = attach::provide(Attachments::new(), || {
            crate::decode::<SharedSlice<u8>>(&bytes)
        });
        assert!(r.is_err());
        // The wrong type: 100 bytes are not whole u64s.
        let fds = Attachments::from_fds(sent.dup().unwrap());
        let r = attach::provide(fds, || crate::decode::<SharedSlice<u64>>(&bytes));
        assert!(r.is_err());
        // A length that lies.
        let lie = crate::encode(&(1u8, (0u32, 101u64))).unwrap();
        let fds = Attachments::from_fds(sent.dup().unwrap());
        let r = attach::provide(fds, || crate::decode::<SharedSlice<u8>>(&lie));
        assert!(r.is_err());
        // The same index twice.
        let twice = crate::encode(&((1u8, (0u32, 100u64)), (1u8, (0u32, 100u64)))).unwrap();
        let fds = Attachments::from_fds(sent.dup().unwrap());
        let r = attach::provide(fds, || {
            crate::decode::<(SharedSlice<u8>, SharedSlice<u8>)>(&twice)
        });
        assert!(r.is_err());
        // An unsealed memfd, a plain file.
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let r = attach::provide(Attachments::from_fds(vec![file.into()]), || {
            crate::decode::<SharedSlice<u8>>(&bytes)
        });
        assert!(r.is_err());
        // A variant that does not exist, torn inline bytes.
        assert!(crate::decode::<SharedSlice<u8>>(&[2, 0]).is_err());
        assert!(crate::decode::<SharedSlice<u32>>(&[0, 3, 1, 2, 3]).is_err());
        assert!(crate::decode::<SharedSlice<u32>>(&[0, 200]).is_err());
    }

    #[test]
    fn scopes_restore_after_a_panic() {
        let s = SharedSlice::copy_from(b"x").unwrap();
        let r = std::panic::catch_unwind(|| {
            attach::collect(|| {
                let _ = crate::encode(&s);
                panic!("inside");
            })
        });
        assert!(r.is_err());
        // Outside any scope again: the bytes, not an index.
        assert_eq!(crate::encode(&s).unwrap(), vec![0, 1, b'x']);
    }

    #[test]
    fn past_the_limit_slices_go_as_bytes() {
        let s = SharedSlice::copy_from(b"y").unwrap();
        let many = vec![s; attach::MAX_ATTACHMENTS + 3];
        let (bytes, sent) = attach::collect(|| crate::encode(&many).unwrap());
        assert_eq!(sent.len(), attach::MAX_ATTACHMENTS);
        let back: Vec<SharedSlice<u8>> =
            attach::provide(Attachments::from_fds(sent.dup().unwrap()), || {
                crate::decode(&bytes)
            })
            .unwrap();
        assert_eq!(back.len(), attach::MAX_ATTACHMENTS + 3);
        assert!(back.iter().all(|b| &b[..] == b"y"));
    }
}
