//! Borrowed views of the pool's requests: a [`Request`](crate::Request)
//! decoded without copying its argument bytes out of the frame (the worker
//! runs a call straight from its frame buffer; a 100 MB argument is then
//! one buffer fewer). The same bytes on the wire as `Request`.

use crate::fn_ref::FnRef;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;

/// [`Request`](crate::Request), its call's arguments borrowed from the
/// frame.
///
/// # Examples
///
/// ```
/// use concur_ipc::{Call, FnRef, Request, RequestRef};
/// let call = Call { generation: 7, func: FnRef { id: 1, fingerprint: 2 }, items: vec![vec![4u8, 5]].into() };
/// let bytes = concur_ipc::encode(&Request::Call(call)).unwrap();
/// let RequestRef::Call(c) = concur_ipc::decode::<RequestRef<'_>>(&bytes).unwrap() else { panic!() };
/// assert_eq!((c.generation, c.items.len(), c.items.get(0)), (7, 1, Some(&[4u8, 5][..])));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub enum RequestRef<'a> {
    /// [`Request::Init`](crate::Request::Init).
    Init {
        /// The initializer and its encoded arguments.
        initializer: Option<(FnRef, Vec<u8>)>,
        /// The largest frame either side accepts.
        max_frame: u64,
    },
    /// [`Request::Call`](crate::Request::Call), borrowed.
    Call(#[serde(borrow)] CallRef<'a>),
    /// [`Request::Exit`](crate::Request::Exit).
    Exit,
}

/// [`Call`](crate::Call), its argument sets borrowed from the frame.
///
/// # Examples
///
/// ```
/// let call = concur_ipc::Call { generation: 1, func: concur_ipc::FnRef { id: 3, fingerprint: 4 }, items: Default::default() };
/// let bytes = concur_ipc::encode(&call).unwrap();
/// let view: concur_ipc::CallRef<'_> = concur_ipc::decode(&bytes).unwrap();
/// assert_eq!((view.generation, view.func, view.items.len()), (1, call.func, 0));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallRef<'a> {
    /// The call's generation.
    pub generation: u64,
    /// The function.
    pub func: FnRef,
    /// The encoded argument sets.
    #[serde(borrow)]
    pub items: PackedRef<'a>,
}

/// [`Packed`](crate::Packed), borrowed: the byte strings where they lie in
/// the frame.
///
/// # Examples
///
/// ```
/// let packed = concur_ipc::Packed::from(vec![vec![1u8], vec![2, 3]]);
/// let bytes = concur_ipc::encode(&packed).unwrap();
/// let view: concur_ipc::PackedRef<'_> = concur_ipc::decode(&bytes).unwrap();
/// assert_eq!(view.iter().collect::<Vec<_>>(), [&[1u8][..], &[2, 3][..]]);
/// assert_eq!(view.byte_len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackedRef<'a> {
    items: Vec<&'a [u8]>,
}

impl<'a> PackedRef<'a> {
    /// The number of byte strings.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::PackedRef::default().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::PackedRef::default().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The bytes of all of them.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::PackedRef::default().byte_len(), 0);
    /// ```
    #[must_use]
    pub fn byte_len(&self) -> usize {
        self.items.iter().map(|i| i.len()).sum()
    }

    /// The `i`th byte string.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::PackedRef::default().get(0), None);
    /// ```
    #[must_use]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.items.get(i).copied()
    }

    /// The byte strings in order.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::PackedRef::default().iter().count(), 0);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        self.items.iter().copied()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for PackedRef<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PackedRef<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence of byte strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PackedRef<'de>, A::Error> {
                // The hint comes from the peer: cap what it may reserve.
                let n = seq.size_hint().unwrap_or(0).min(4096);
                let mut items = Vec::with_capacity(n);
                while let Some(item) = seq.next_element::<&'de [u8]>()? {
                    items.push(item);
                }
                Ok(PackedRef { items })
            }
        }
        d.deserialize_seq(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Call, Packed, Request};

    /// Every request decodes as its borrowed view, with the same contents.
    #[test]
    fn the_view_reads_the_same_bytes_as_the_request() {
        let f = FnRef {
            id: u64::MAX,
            fingerprint: 9,
        };
        let items: Packed = vec![vec![], vec![1u8; 300], vec![2u8; 70_000]].into();
        let call = Request::Call(Call {
            generation: u64::MAX - 1,
            func: f,
            items: items.clone(),
        });
        let bytes = crate::encode(&call).unwrap();
        let RequestRef::Call(view) = crate::decode::<RequestRef<'_>>(&bytes).unwrap() else {
            panic!("not a call");
        };
        assert_eq!((view.generation, view.func), (u64::MAX - 1, f));
        assert_eq!(
            view.items.iter().collect::<Vec<_>>(),
            items.iter().collect::<Vec<_>>()
        );
        let init = Request::Init {
            initializer: Some((f, vec![3, 4])),
            max_frame: 1 << 20,
        };
        assert_eq!(
            crate::decode::<RequestRef<'_>>(&crate::encode(&init).unwrap()).unwrap(),
            RequestRef::Init {
                initializer: Some((f, vec![3, 4])),
                max_frame: 1 << 20
            }
        );
        let exit = crate::encode(&Request::Exit).unwrap();
        assert_eq!(
            crate::decode::<RequestRef<'_>>(&exit).unwrap(),
            RequestRef::Exit
        );
        // Truncated and hostile bytes are errors, never a panic.
        for cut in 0..bytes.len().min(400) {
            let _ = crate::decode::<RequestRef<'_>>(&bytes[..cut]);
        }
        assert!(crate::decode::<RequestRef<'_>>(&[1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
