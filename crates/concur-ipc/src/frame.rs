//! Length-prefixed frames and the postcard codec.

use serde::Serialize;
use std::fmt;
use std::io::{self, Read, Write};

/// The default largest frame accepted: 64 MiB.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_ipc::DEFAULT_MAX_FRAME, 64 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_FRAME: usize = 64 << 20;

/// The largest frame limit anything in concur accepts: `u32::MAX` bytes
/// (4 GiB - 1), the most a `u32` length prefix can announce.
///
/// A limit announced by a peer (the pool's `Init { max_frame }`) is capped
/// at this with [`clamp_limit`]. It is the wire format's own maximum rather
/// than a smaller "sane" figure because the process pool's builder accepts
/// any `max_frame` that fits a `u32`: a worker capping lower would refuse
/// frames its pool legitimately sends. What keeps a large limit cheap is that
/// readers reserve only what an announced frame needs and zero it only as
/// bytes arrive (see [`FrameReader`](crate::FrameReader)).
///
/// # Examples
///
/// ```
/// assert_eq!(concur_ipc::MAX_FRAME_CEILING as u64, u64::from(u32::MAX));
/// ```
pub const MAX_FRAME_CEILING: usize = if usize::BITS >= 32 {
    u32::MAX as usize
} else {
    usize::MAX
};

/// Caps a frame limit announced by a peer (a `u64` on the wire) at
/// [`MAX_FRAME_CEILING`].
///
/// # Examples
///
/// ```
/// use concur_ipc::{MAX_FRAME_CEILING, clamp_limit};
///
/// assert_eq!(clamp_limit(1 << 20), 1 << 20);
/// assert_eq!(clamp_limit(u64::MAX), MAX_FRAME_CEILING);
/// ```
#[must_use]
pub fn clamp_limit(announced: u64) -> usize {
    // The ceiling fits a u64 on every platform Rust supports (usize <= 64 bits).
    match usize::try_from(announced) {
        Ok(n) => n.min(MAX_FRAME_CEILING),
        Err(_) => MAX_FRAME_CEILING,
    }
}

/// How many bytes a frame reader asks its source for (and zeroes) at a time
/// while a frame is incomplete: 64 KiB.
///
/// [`read_frame`] grows its buffer by at most this much per read, so the
/// memory it touches follows the bytes that arrived, not the announced
/// length. A [`FrameReader`](crate::FrameReader) keeps at least this much
/// room (but never more than its limit allows), so many small frames arrive
/// in one system call.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_ipc::READ_CHUNK, 64 * 1024);
/// ```
pub const READ_CHUNK: usize = 64 << 10;

/// Bytes of the length prefix in front of every frame (little-endian `u32`).
///
/// # Examples
///
/// ```
/// let mut frame = Vec::new();
/// concur_ipc::encode_frame(&7u8, concur_ipc::DEFAULT_MAX_FRAME, &mut frame).unwrap();
/// assert_eq!(frame.len(), concur_ipc::PREFIX_LEN + 1);
/// ```
pub const PREFIX_LEN: usize = 4;

/// Why a frame could not be read, written, encoded or decoded.
///
/// # Examples
///
/// ```
/// use concur_ipc::{FrameError, decode};
///
/// // `7u8` followed by a stray byte: trailing bytes are rejected.
/// let err = decode::<u8>(&[7, 0]).unwrap_err();
/// assert!(matches!(err, FrameError::TrailingBytes { extra: 1 }));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announces more than the configured maximum; nothing
    /// was allocated.
    TooLarge {
        /// Announced (or encoded) length in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The payload decoded, but bytes were left over.
    TrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
    /// postcard could not encode or decode the value.
    Codec(postcard::Error),
    /// The peer closed the stream cleanly between frames.
    Closed,
    /// Reading or writing failed.
    Io(io::Error),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the maximum of {max} bytes")
            }
            Self::TrailingBytes { extra } => {
                write!(f, "{extra} trailing bytes after the encoded value")
            }
            Self::Codec(e) => write!(f, "codec error: {}", crate::codec::describe(e)),
            Self::Closed => f.write_str("peer closed the stream"),
            Self::Io(e) => write!(f, "i/o error: {e}"),
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Codec(e) => Some(e),
            Self::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The frame failure as a [`concur_core::Error`] with the same text, whose
/// source is the `FrameError`: [`FrameTooLarge`](concur_core::ErrorKind::FrameTooLarge)
/// for an oversized frame, [`Codec`](concur_core::ErrorKind::Codec) for a
/// value that did not encode or decode (trailing bytes included), and
/// [`Broken`](concur_core::ErrorKind::Broken) for a closed or failing
/// stream (nothing more can be exchanged over it).
///
/// # Examples
///
/// ```
/// use concur_core::{Error, ErrorKind};
/// let err = concur_ipc::decode::<u8>(&[7, 0]).unwrap_err();
/// let e = Error::from(err);
/// assert_eq!(e.kind(), ErrorKind::Codec);
/// assert_eq!(e.to_string(), "1 trailing bytes after the encoded value");
/// assert!(e.downcast_ref::<concur_ipc::FrameError>().is_some());
/// ```
impl From<FrameError> for concur_core::Error {
    fn from(e: FrameError) -> Self {
        use concur_core::ErrorKind;
        let kind = match &e {
            FrameError::TooLarge { .. } => ErrorKind::FrameTooLarge,
            FrameError::TrailingBytes { .. } | FrameError::Codec(_) => ErrorKind::Codec,
            FrameError::Closed | FrameError::Io(_) => ErrorKind::Broken,
        };
        Self::with_source(kind, e)
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

/// Encodes `value` with postcard.
///
/// # Errors
///
/// [`FrameError::Codec`] if the value's `Serialize` fails.
///
/// # Examples
///
/// ```
/// let bytes = concur_ipc::encode(&(1u8, "hi")).unwrap();
/// assert_eq!(concur_ipc::decode::<(u8, String)>(&bytes).unwrap(), (1, "hi".to_string()));
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, FrameError> {
    // Small values (the common case: one argument set) fit the first
    // allocation; `to_stdvec` would start empty and grow several times.
    postcard::to_extend(value, Vec::with_capacity(32)).map_err(FrameError::Codec)
}

/// Decodes exactly one value from `bytes`; trailing bytes are an error.
/// The value may borrow from `bytes` (a [`RequestRef`](crate::RequestRef)
/// does).
///
/// # Errors
///
/// [`FrameError::Codec`] for malformed input, [`FrameError::TrailingBytes`]
/// if bytes remain.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_ipc::decode::<u32>(&[42]).unwrap(), 42);
/// assert!(concur_ipc::decode::<u32>(&[]).is_err());
/// ```
pub fn decode<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, FrameError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(FrameError::Codec)?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(FrameError::TrailingBytes { extra: rest.len() })
    }
}

/// Appends one frame (length prefix, then the postcard encoding of `value`)
/// to `out`, checking the payload against `max`.
///
/// # Errors
///
/// [`FrameError::Codec`] if encoding fails, [`FrameError::TooLarge`] if the
/// payload exceeds `max` (then `out` is left as it was).
///
/// # Examples
///
/// ```
/// let mut out = Vec::new();
/// concur_ipc::encode_frame(&5u16, 1024, &mut out).unwrap();
/// assert_eq!(out, [1, 0, 0, 0, 5]);
/// ```
pub fn encode_frame<T: Serialize + ?Sized>(
    value: &T,
    max: usize,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    // The exact size first (postcard's counting output: one step per
    // field, a byte string counted by its length, so cheap for the wire
    // types, whose payloads are byte strings): the frame is then one
    // allocation, never regrown (doubling a 100 MB frame copied and
    // faulted in ~100 MB more), a large one on huge pages, and one over
    // the limit is refused before anything is written.
    let size = postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(FrameError::Codec)?;
    check_len(size, max)?;
    out.try_reserve_exact(PREFIX_LEN + size)
        .map_err(|_| FrameError::Io(io::ErrorKind::OutOfMemory.into()))?;
    if size >= HUGE_FRAME {
        concur_sync::mem::huge_pages(out);
    }
    let start = out.len();
    out.extend_from_slice(&[0; PREFIX_LEN]);
    let res = postcard::serialize_with_flavor(value, crate::packed::Append(out));
    if let Err(e) = res {
        out.truncate(start);
        return Err(FrameError::Codec(e));
    }
    // A `Serialize` impl may write something else the second time: the
    // length is what was written.
    let len = out.len() - start - PREFIX_LEN;
    if let Err(e) = check_len(len, max) {
        out.truncate(start);
        return Err(e);
    }
    let prefix = (len as u32).to_le_bytes();
    out[start..start + PREFIX_LEN].copy_from_slice(&prefix);
    Ok(())
}

/// Frames from this size up are asked to live on huge pages (see
/// [`concur_sync::mem::huge_pages`]).
pub(crate) const HUGE_FRAME: usize = 8 << 20;

/// A payload length that fits the limit and the `u32` prefix.
fn check_len(len: usize, max: usize) -> Result<(), FrameError> {
    if len > max || u32::try_from(len).is_err() {
        Err(FrameError::TooLarge { len, max })
    } else {
        Ok(())
    }
}

/// Reads the payload length from a 4-byte prefix and checks it against
/// `max` (before anything is allocated).
///
/// # Errors
///
/// [`FrameError::TooLarge`] if the announced length exceeds `max`.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_ipc::frame_len([3, 0, 0, 0], 10).unwrap(), 3);
/// assert!(concur_ipc::frame_len([0, 0, 0, 1], 10).is_err());
/// ```
pub fn frame_len(prefix: [u8; PREFIX_LEN], max: usize) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > max {
        Err(FrameError::TooLarge { len, max })
    } else {
        Ok(len)
    }
}

/// Reads one frame's payload into `buf` (replacing its contents). Memory is
/// bounded by `max`: the prefix is checked before `buf` grows, `buf` grows
/// to exactly the announced length (never past `max`, even when it already
/// held a smaller frame), and it is zeroed only as bytes arrive, so a bare
/// length prefix commits no memory.
///
/// This reads exactly one frame from `reader` and nothing past it, so it
/// suits a reader shared with other code; to read a stream of frames with
/// one buffer (and fewer system calls), use [`FrameReader`](crate::FrameReader).
///
/// # Errors
///
/// [`FrameError::Closed`] on a clean end of stream before a frame,
/// [`FrameError::TooLarge`], or [`FrameError::Io`] (including an end of
/// stream inside a frame).
///
/// # Examples
///
/// ```
/// let mut wire = Vec::new();
/// concur_ipc::encode_frame(&"ping", 64, &mut wire).unwrap();
/// let mut buf = Vec::new();
/// concur_ipc::read_frame(&mut wire.as_slice(), 64, &mut buf).unwrap();
/// assert_eq!(concur_ipc::decode::<String>(&buf).unwrap(), "ping");
/// ```
pub fn read_frame<R: Read + ?Sized>(
    reader: &mut R,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let mut prefix = [0u8; PREFIX_LEN];
    let mut got = 0;
    while got < PREFIX_LEN {
        match reader.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = frame_len(prefix, max)?;
    buf.clear();
    // Exactly `len`: `resize` alone would grow by doubling, past `max`.
    buf.try_reserve_exact(len)
        .map_err(|_| FrameError::Io(io::ErrorKind::OutOfMemory.into()))?;
    while buf.len() < len {
        let from = buf.len();
        extend_zeroed(buf, (len - from).min(READ_CHUNK));
        reader.read_exact(&mut buf[from..])?;
    }
    Ok(())
}

/// Appends `n` zero bytes to `buf`. Does what `buf.resize(buf.len() + n, 0)`
/// does, but a copy per 4 KiB instead of a loop per byte in unoptimised
/// builds (190 µs against 2 µs for 64 KiB), where the tests and the fuzzing
/// run; optimised, both are a memset or memcpy.
pub(crate) fn extend_zeroed(buf: &mut Vec<u8>, mut n: usize) {
    static ZEROES: [u8; 4096] = [0; 4096];
    while n > 0 {
        let k = n.min(ZEROES.len());
        buf.extend_from_slice(&ZEROES[..k]);
        n -= k;
    }
}

/// Writes one frame (see [`encode_frame`]) and flushes.
///
/// # Errors
///
/// As [`encode_frame`], plus [`FrameError::Io`].
///
/// # Examples
///
/// ```
/// let mut wire = Vec::new();
/// concur_ipc::write_frame(&mut wire, &7u8, 64).unwrap();
/// assert_eq!(wire, [1, 0, 0, 0, 7]);
/// ```
pub fn write_frame<W: Write + ?Sized, T: Serialize + ?Sized>(
    writer: &mut W,
    value: &T,
    max: usize,
) -> Result<(), FrameError> {
    let mut out = Vec::new();
    encode_frame(value, max, &mut out)?;
    writer.write_all(&out)?;
    writer.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_prefix_is_refused_before_allocating() {
        let wire = [0xff, 0xff, 0xff, 0x7f];
        let mut buf = Vec::new();
        let err = read_frame(&mut wire.as_slice(), 1024, &mut buf).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 1024, .. }));
        assert_eq!(buf.capacity(), 0);
    }

    #[test]
    fn a_reused_buffer_grows_to_exactly_the_frame() {
        let max = 65_536;
        let mut buf = Vec::new();
        for len in [40_000usize, 65_533, 10, 65_536] {
            let mut wire = u32::try_from(len).unwrap().to_le_bytes().to_vec();
            wire.resize(PREFIX_LEN + len, 7);
            read_frame(&mut wire.as_slice(), max, &mut buf).unwrap();
            assert_eq!(buf.len(), len);
            assert!(buf.capacity() <= max, "capacity {}", buf.capacity());
        }
    }

    #[test]
    fn clamp_limit_caps_at_the_ceiling() {
        assert_eq!(clamp_limit(0), 0);
        assert_eq!(clamp_limit(u64::from(u32::MAX)), MAX_FRAME_CEILING);
        assert_eq!(clamp_limit(u64::from(u32::MAX) + 1), MAX_FRAME_CEILING);
    }

    #[test]
    fn truncated_frame_is_an_io_error() {
        let wire = [5, 0, 0, 0, 1, 2];
        let mut buf = Vec::new();
        let err = read_frame(&mut wire.as_slice(), 1024, &mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Io(_)));
        let err = read_frame(&mut [1u8, 0].as_slice(), 1024, &mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Io(_)));
        let err = read_frame(&mut [0u8; 0].as_slice(), 1024, &mut buf).unwrap_err();
        assert!(matches!(err, FrameError::Closed));
    }

    #[test]
    fn encode_frame_checks_the_limit() {
        let mut out = vec![9];
        let err = encode_frame(&vec![0u8; 100], 50, &mut out).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { max: 50, .. }));
        assert_eq!(out, [9]);
        encode_frame(&vec![1u8; 3], 50, &mut out).unwrap();
        assert_eq!(out, [9, 4, 0, 0, 0, 3, 1, 1, 1]);
    }

    /// A value whose `Serialize` writes more each time it is asked (the
    /// size pass, then the real one): the frame's prefix is what was
    /// written, and the limit is checked against that too.
    #[test]
    fn encode_frame_trusts_what_was_written_not_the_size_pass() {
        struct Growing(std::cell::Cell<usize>);
        impl Serialize for Growing {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let n = self.0.get();
                self.0.set(n + 10);
                s.serialize_bytes(&vec![1u8; n])
            }
        }
        let mut out = vec![9];
        encode_frame(&Growing(std::cell::Cell::new(5)), 100, &mut out).unwrap();
        assert_eq!(&out[1..5], &16u32.to_le_bytes());
        assert_eq!(out.len(), 1 + 4 + 16);
        let payload: Vec<u8> = crate::decode(&out[5..]).unwrap();
        assert_eq!(payload, vec![1u8; 15]);
        // Fits in the size pass (6 bytes), not when written (16).
        let mut out = vec![9];
        let err = encode_frame(&Growing(std::cell::Cell::new(5)), 10, &mut out).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { len: 16, max: 10 }),
            "{err:?}"
        );
        assert_eq!(out, [9]);
    }

    /// A frame over the huge-page threshold (advised onto huge pages)
    /// round-trips and is one allocation of exactly its size.
    #[test]
    fn a_large_frame_is_one_exact_allocation() {
        let big = crate::Packed::from(vec![vec![3u8; HUGE_FRAME + 7]]);
        let mut out = Vec::new();
        encode_frame(&big, usize::MAX >> 1, &mut out).unwrap();
        assert_eq!(out.capacity(), out.len());
        let mut reader = crate::FrameReader::new(HUGE_FRAME * 2);
        let payload = reader.read_frame_blocking(&mut &out[..]).unwrap();
        assert_eq!(crate::decode::<crate::Packed>(payload).unwrap(), big);
    }

    #[test]
    fn display_is_lowercase() {
        let e = FrameError::TooLarge { len: 10, max: 5 };
        assert_eq!(
            e.to_string(),
            "frame of 10 bytes exceeds the maximum of 5 bytes"
        );
    }
}
