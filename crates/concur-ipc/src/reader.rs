//! [`FrameReader`]: one incremental, memory-bounded reader of length-prefixed
//! frames, for blocking and non-blocking sources alike.

use crate::frame::{
    FrameError, MAX_FRAME_CEILING, PREFIX_LEN, READ_CHUNK, extend_zeroed, frame_len,
};
use std::fmt;
use std::io::{self, Read};

/// What one [`FrameReader::fill_from`] call did.
///
/// # Examples
///
/// ```
/// use concur_ipc::{Fill, FrameReader};
///
/// let mut reader = FrameReader::new(64);
/// let mut src: &[u8] = &[1, 0, 0, 0, 9];
/// assert_eq!(reader.fill_from(&mut src).unwrap(), Fill::Read(5));
/// assert_eq!(reader.fill_from(&mut src).unwrap(), Fill::Eof);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "`Eof` and `WouldBlock` tell the caller to stop reading"]
pub enum Fill {
    /// This many bytes (at least one) were read and buffered.
    Read(usize),
    /// The source has nothing to read right now (it returned
    /// [`io::ErrorKind::WouldBlock`]); wait until it is readable.
    WouldBlock,
    /// The source reached its end. Bytes still buffered
    /// ([`FrameReader::buffered`]) are an incomplete frame, unless
    /// [`FrameReader::next_frame`] still has complete ones to give.
    Eof,
    /// Nothing was read: the buffer is full of complete frames. Take them
    /// with [`FrameReader::next_frame`] first. (A caller that drains the
    /// frames after every fill never sees this.)
    Full,
}

/// An incremental reader of frames (little-endian `u32` length prefix, then
/// the payload) that owns one buffer and never lets it grow past the frame
/// limit.
///
/// Feed it with [`fill_from`](Self::fill_from), one read of whatever the
/// source has available (a non-blocking socket, a pipe, a `&[u8]`), and take
/// complete payloads with [`next_frame`](Self::next_frame); or, on a blocking
/// source, call [`read_frame_blocking`](Self::read_frame_blocking), which
/// does both until a frame is complete. It may read past the end of the
/// current frame (the next frames stay buffered), so give it the source for
/// good.
///
/// # Memory bound
///
/// The buffer's capacity never exceeds [`max_capacity`](Self::max_capacity),
/// `limit + PREFIX_LEN` bytes: there is no read slack beyond the limit. It
/// starts empty and allocates at the first fill, growing only with
/// `try_reserve_exact` to what the current frame needs — at least
/// [`READ_CHUNK`] so that small frames arrive many to a read, at most the
/// bound. A length prefix is checked against the limit before anything
/// grows for it, and the source is only ever handed the buffer's spare room,
/// so nothing is read that does not fit. Spare room is zeroed in
/// `READ_CHUNK` steps as bytes arrive, so a bare length prefix commits no
/// memory beyond the reservation. Consumed frames are dropped by moving the
/// unconsumed tail to the front of the buffer, only when the current frame
/// would not otherwise fit (when frames are taken after each fill, only the
/// incomplete frame is buffered then, so each byte moves at most once); the
/// buffer is never reallocated to drop bytes. It keeps its largest capacity,
/// within the bound, for the next frames. The one exception: after
/// [`set_limit`](Self::set_limit) lowers the limit while more than the new
/// bound is buffered, the capacity returns under the bound as soon as the
/// buffered bytes have been consumed down to it.
///
/// # Errors and state
///
/// A length prefix over the limit is [`FrameError::TooLarge`] (nothing is
/// allocated for it). It stays at the front of the buffer, so every later
/// [`fill_from`](Self::fill_from) and [`next_frame`](Self::next_frame)
/// reports it again; the frames before it were all given out. A failed read
/// ([`FrameError::Io`]) leaves the buffered bytes as they were, but where
/// the source stands is unknown. After either error the stream is unusable:
/// discard it (and the reader, or reuse the reader only after a fresh
/// [`FrameReader::new`]).
///
/// # Examples
///
/// A non-blocking loop, as a poll-driven dispatcher runs it (here the source
/// is a byte slice):
///
/// ```
/// use concur_ipc::{Fill, FrameReader, decode, encode_frame};
///
/// let mut wire = Vec::new();
/// for word in ["one", "two", "three"] {
///     encode_frame(word, 1024, &mut wire).unwrap();
/// }
/// let mut src = wire.as_slice();
/// let mut reader = FrameReader::new(1024);
/// let mut words = Vec::new();
/// loop {
///     let fill = reader.fill_from(&mut src).unwrap();
///     while let Some(payload) = reader.next_frame().unwrap() {
///         words.push(decode::<String>(payload).unwrap());
///     }
///     if matches!(fill, Fill::Eof | Fill::WouldBlock) {
///         break;
///     }
/// }
/// assert_eq!(words, ["one", "two", "three"]);
/// assert_eq!(reader.buffered(), 0, "the stream ended between frames");
/// ```
pub struct FrameReader {
    /// `buf[start..end]` is unconsumed; `buf[..buf.len()]` is initialised
    /// (zeroed or read) and `buf[end..buf.len()]` is room to read into.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    limit: usize,
}

impl FrameReader {
    /// A reader accepting payloads of up to `limit` bytes (capped at
    /// [`MAX_FRAME_CEILING`]). Allocates nothing until the first fill.
    ///
    /// # Examples
    ///
    /// ```
    /// let reader = concur_ipc::FrameReader::new(concur_ipc::DEFAULT_MAX_FRAME);
    /// assert_eq!(reader.capacity(), 0);
    /// assert_eq!(reader.limit(), concur_ipc::DEFAULT_MAX_FRAME);
    /// ```
    #[must_use]
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            end: 0,
            limit: limit.min(MAX_FRAME_CEILING),
        }
    }

    /// The largest payload accepted, in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::FrameReader::new(100).limit(), 100);
    /// ```
    #[must_use]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit (capped at [`MAX_FRAME_CEILING`]) for the frames not
    /// yet given out, e.g. once a worker learns its pool's limit. A lower
    /// limit also shrinks the buffer under the new bound when the buffered
    /// bytes allow it.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{FrameReader, MAX_FRAME_CEILING, clamp_limit};
    ///
    /// let mut reader = FrameReader::new(64);
    /// reader.set_limit(clamp_limit(u64::MAX));
    /// assert_eq!(reader.limit(), MAX_FRAME_CEILING);
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_FRAME_CEILING);
        self.fit_bound();
    }

    /// The most the buffer's capacity may be: `limit + PREFIX_LEN` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::FrameReader::new(100).max_capacity(), 104);
    /// ```
    #[must_use]
    pub fn max_capacity(&self) -> usize {
        self.limit.saturating_add(PREFIX_LEN)
    }

    /// The buffer's current capacity in bytes (at most
    /// [`max_capacity`](Self::max_capacity)).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::FrameReader;
    ///
    /// let mut reader = FrameReader::new(10);
    /// let _ = reader.fill_from(&mut [0u8; 100].as_slice()).unwrap();
    /// assert_eq!(reader.capacity(), 14);
    /// ```
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Bytes read from the source and not yet given out as frames (complete
    /// frames not yet taken, and the start of an incomplete one). Zero at the
    /// end of a stream means it ended cleanly between frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::FrameReader;
    ///
    /// let mut reader = FrameReader::new(64);
    /// let _ = reader.fill_from(&mut [2u8, 0, 0, 0, 1].as_slice()).unwrap();
    /// assert_eq!(reader.buffered(), 5);
    /// assert!(reader.next_frame().unwrap().is_none(), "one payload byte is missing");
    /// ```
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Takes the next complete payload out of the buffer, or `None` if no
    /// complete frame is buffered. The payload stays valid until the next
    /// call on the reader.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] if the next length prefix exceeds the limit
    /// (see [Errors and state](FrameReader#errors-and-state)).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{FrameError, FrameReader};
    ///
    /// let mut reader = FrameReader::new(8);
    /// let wire = [0, 0, 0, 0, 1, 0, 0, 0, 42, 9, 0, 0, 0];
    /// let mut src = wire.as_slice();
    /// // The buffer holds at most limit + 4 = 12 bytes, so one byte waits.
    /// let _ = reader.fill_from(&mut src).unwrap();
    /// assert_eq!(reader.next_frame().unwrap(), Some(&[][..]));
    /// assert_eq!(reader.next_frame().unwrap(), Some(&[42][..]));
    /// assert_eq!(reader.next_frame().unwrap(), None, "3 bytes of a prefix");
    /// let _ = reader.fill_from(&mut src).unwrap();
    /// assert!(matches!(reader.next_frame(), Err(FrameError::TooLarge { len: 9, max: 8 })));
    /// ```
    pub fn next_frame(&mut self) -> Result<Option<&[u8]>, FrameError> {
        Ok(match self.complete_len()? {
            Some(len) => Some(self.take(len)),
            None => None,
        })
    }

    /// Reads once from `src` into the buffer: as much as `src` has available
    /// and the buffer has room for (first making room, within the bound, for
    /// the frame at the front). Retries reads that were
    /// [interrupted](io::ErrorKind::Interrupted).
    ///
    /// Does not block unless `src` does. Call [`next_frame`](Self::next_frame)
    /// until it returns `None` after each fill; on a non-blocking source, keep
    /// filling until [`Fill::WouldBlock`] or [`Fill::Eof`].
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] if the frame at the front announces more than
    /// the limit (nothing is read), [`FrameError::Io`] if reading fails (or
    /// `src` claims to have read more than it was given room for), or with
    /// [`io::ErrorKind::OutOfMemory`] if the buffer cannot grow.
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{Fill, FrameReader};
    /// use std::io::{self, Read};
    ///
    /// /// A source with nothing available yet.
    /// struct Empty;
    /// impl Read for Empty {
    ///     fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
    ///         Err(io::ErrorKind::WouldBlock.into())
    ///     }
    /// }
    ///
    /// let mut reader = FrameReader::new(64);
    /// assert_eq!(reader.fill_from(&mut Empty).unwrap(), Fill::WouldBlock);
    /// assert_eq!(reader.fill_from(&mut [3u8, 0].as_slice()).unwrap(), Fill::Read(2));
    /// ```
    pub fn fill_from<R: Read + ?Sized>(&mut self, src: &mut R) -> Result<Fill, FrameError> {
        let room_end = self.make_room()?;
        let room = room_end - self.end;
        if room == 0 {
            return Ok(Fill::Full);
        }
        loop {
            match src.read(&mut self.buf[self.end..room_end]) {
                Ok(0) => return Ok(Fill::Eof),
                Ok(n) if n <= room => {
                    self.end += n;
                    return Ok(Fill::Read(n));
                }
                Ok(_) => {
                    return Err(FrameError::Io(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "source reported reading more bytes than it was given room for",
                    )));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Fill::WouldBlock),
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
    }

    /// Returns the next complete payload, reading from a blocking `src` until
    /// one is complete. The payload stays valid until the next call on the
    /// reader.
    ///
    /// # Errors
    ///
    /// [`FrameError::Closed`] if `src` ends cleanly between frames,
    /// [`FrameError::Io`] of kind [`io::ErrorKind::UnexpectedEof`] if it ends
    /// inside one (the partial frame stays buffered), of kind
    /// [`io::ErrorKind::WouldBlock`] if `src` is non-blocking and has nothing
    /// available (the reader is intact: call again when it is readable), or
    /// any error of [`fill_from`](Self::fill_from) and
    /// [`next_frame`](Self::next_frame).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{FrameError, FrameReader, decode, encode_frame};
    ///
    /// let mut wire = Vec::new();
    /// encode_frame(&7u32, 64, &mut wire).unwrap();
    /// let mut src = wire.as_slice();
    /// let mut reader = FrameReader::new(64);
    /// let payload = reader.read_frame_blocking(&mut src).unwrap();
    /// assert_eq!(decode::<u32>(payload).unwrap(), 7);
    /// assert!(matches!(reader.read_frame_blocking(&mut src), Err(FrameError::Closed)));
    /// ```
    pub fn read_frame_blocking<R: Read + ?Sized>(
        &mut self,
        src: &mut R,
    ) -> Result<&[u8], FrameError> {
        loop {
            if let Some(len) = self.complete_len()? {
                return Ok(self.take(len));
            }
            match self.fill_from(src)? {
                Fill::Read(_) => {}
                Fill::Eof if self.buffered() == 0 => return Err(FrameError::Closed),
                Fill::Eof => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
                Fill::WouldBlock => return Err(FrameError::Io(io::ErrorKind::WouldBlock.into())),
                // `make_room` always leaves room for an incomplete frame
                // (it needs at most the bound); keep the claim checked.
                Fill::Full => {
                    return Err(FrameError::Io(io::Error::other(
                        "frame reader full without a complete frame",
                    )));
                }
            }
        }
    }

    /// The payload length announced by the frame at the front, once its
    /// prefix is buffered.
    fn front_len(&self) -> Result<Option<usize>, FrameError> {
        match self.buf.get(self.start..self.start + PREFIX_LEN) {
            Some(p) if self.buffered() >= PREFIX_LEN => {
                let prefix = [p[0], p[1], p[2], p[3]];
                frame_len(prefix, self.limit).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The payload length of the frame at the front, if it is complete.
    fn complete_len(&self) -> Result<Option<usize>, FrameError> {
        Ok(self
            .front_len()?
            .filter(|&len| self.buffered() - PREFIX_LEN >= len))
    }

    /// Consumes the complete frame at the front and returns its payload.
    fn take(&mut self, len: usize) -> &[u8] {
        let from = self.start + PREFIX_LEN;
        self.start = from + len;
        if self.start == self.end {
            // Empty: the next bytes go to the front, no move needed.
            self.start = 0;
            self.end = 0;
        }
        &self.buf[from..from + len]
    }

    /// Moves the unconsumed bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }

    /// Brings the capacity back under the bound after the limit was lowered,
    /// when the buffered bytes fit.
    fn fit_bound(&mut self) {
        let bound = self.max_capacity();
        if self.buf.capacity() > bound && self.buffered() <= bound {
            self.compact();
            self.buf.truncate(self.end);
            self.buf.shrink_to(bound);
        }
    }

    /// Makes room for the frame at the front (growing the buffer exactly, up
    /// to the bound, and compacting when the frame would not fit where it
    /// starts) and returns the end of the room to read into, `>= self.end`.
    fn make_room(&mut self) -> Result<usize, FrameError> {
        self.fit_bound();
        let need = PREFIX_LEN + self.front_len()?.unwrap_or(0);
        // `need <= bound`: `front_len` checked the length against the limit.
        let target = need.max(READ_CHUNK).min(self.max_capacity());
        let cap = self.buf.capacity().max(target);
        if self.start > 0 && (self.start.saturating_add(need) > cap || self.end == cap) {
            self.compact();
        }
        if self.buf.capacity() < target {
            // `len <= capacity < target`, so this asks for exactly `target`.
            let additional = target - self.buf.len();
            self.buf
                .try_reserve_exact(additional)
                .map_err(|_| FrameError::Io(io::ErrorKind::OutOfMemory.into()))?;
            if target >= crate::frame::HUGE_FRAME {
                concur_sync::mem::huge_pages(&mut self.buf);
            }
        }
        // Zero the room in READ_CHUNK steps, as bytes arrive; reuse what an
        // earlier frame already initialised.
        let cap = self.buf.capacity();
        let room_end = self
            .buf
            .len()
            .max(self.end.saturating_add(READ_CHUNK))
            .min(cap);
        if room_end > self.buf.len() {
            // Within the capacity: no reallocation.
            let n = room_end - self.buf.len();
            extend_zeroed(&mut self.buf, n);
        }
        Ok(self.buf.len())
    }
}

impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("limit", &self.limit)
            .field("buffered", &self.buffered())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode_frame;

    /// Prefix plus payload.
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
        f.extend_from_slice(payload);
        f
    }

    /// A source that hands out at most `chunk` bytes per read and reports
    /// `WouldBlock` (or `Interrupted`) between reads when asked to.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        stall: Option<io::ErrorKind>,
        stalled: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if let Some(kind) = self.stall {
                self.stalled = !self.stalled;
                if self.stalled {
                    return Err(kind.into());
                }
            }
            let n = self.chunk.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// Drives the non-blocking API to the end of `src`, collecting payloads.
    fn drain(reader: &mut FrameReader, src: &mut impl Read) -> (Vec<Vec<u8>>, usize) {
        let mut out = Vec::new();
        let mut would_block = 0;
        loop {
            let fill = reader.fill_from(src).unwrap();
            assert!(reader.capacity() <= reader.max_capacity());
            while let Some(p) = reader.next_frame().unwrap() {
                out.push(p.to_vec());
            }
            match fill {
                Fill::Read(_) => {}
                Fill::WouldBlock => would_block += 1,
                Fill::Eof => return (out, would_block),
                Fill::Full => panic!("full after draining"),
            }
        }
    }

    fn payloads() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![1],
            vec![2, 3, 4],
            vec![],
            (0..200).collect(),
            vec![9; 5],
        ]
    }

    #[test]
    fn frames_split_at_every_byte_boundary() {
        let payloads = payloads();
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        for cut in 0..=wire.len() {
            let mut reader = FrameReader::new(256);
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                let mut src = part;
                let (frames, _) = drain(&mut reader, &mut src);
                got.extend(frames);
            }
            assert_eq!(got, payloads, "cut at {cut}");
            assert_eq!(reader.buffered(), 0);
        }
    }

    #[test]
    fn one_byte_reads_and_stalls() {
        let payloads = payloads();
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        for stall in [
            None,
            Some(io::ErrorKind::WouldBlock),
            Some(io::ErrorKind::Interrupted),
        ] {
            let mut src = Trickle {
                data: &wire,
                chunk: 1,
                stall,
                stalled: false,
            };
            let mut reader = FrameReader::new(256);
            let (got, would_block) = drain(&mut reader, &mut src);
            assert_eq!(got, payloads);
            let expected = if stall == Some(io::ErrorKind::WouldBlock) {
                wire.len() + 1
            } else {
                0
            };
            assert_eq!(would_block, expected);
        }
    }

    #[test]
    fn many_frames_in_one_read() {
        let mut wire = Vec::new();
        for i in 0..1000u32 {
            encode_frame(&i, 64, &mut wire).unwrap();
        }
        let mut reader = FrameReader::new(64);
        let mut src = wire.as_slice();
        let mut n = 0u32;
        loop {
            match reader.fill_from(&mut src).unwrap() {
                Fill::Read(_) => {}
                Fill::Eof => break,
                other => panic!("{other:?}"),
            }
            while let Some(p) = reader.next_frame().unwrap() {
                assert_eq!(crate::decode::<u32>(p).unwrap(), n);
                n += 1;
            }
        }
        assert_eq!(n, 1000);
        assert_eq!(
            reader.capacity(),
            68,
            "limit 64: no slack past limit + prefix"
        );
    }

    #[test]
    fn zero_length_frames_and_a_zero_limit() {
        let wire = [0u8; 4 * 50];
        let mut reader = FrameReader::new(0);
        let mut n = 0;
        let mut src = wire.as_slice();
        while let Ok(p) = reader.read_frame_blocking(&mut src) {
            assert!(p.is_empty());
            n += 1;
        }
        assert_eq!(n, 50);
        assert_eq!(reader.capacity(), PREFIX_LEN);
    }

    #[test]
    fn oversize_prefix_is_refused_before_growing() {
        let mut reader = FrameReader::new(1000);
        let mut wire = frame(&[5; 10]);
        wire.extend_from_slice(&1001u32.to_le_bytes());
        wire.extend_from_slice(&[0; 2000]);
        let mut src = wire.as_slice();
        let _ = reader.fill_from(&mut src).unwrap();
        assert_eq!(reader.next_frame().unwrap(), Some(&[5u8; 10][..]));
        let cap = reader.capacity();
        for _ in 0..3 {
            assert!(matches!(
                reader.next_frame(),
                Err(FrameError::TooLarge {
                    len: 1001,
                    max: 1000
                })
            ));
            assert!(matches!(
                reader.fill_from(&mut src),
                Err(FrameError::TooLarge { .. })
            ));
        }
        assert_eq!(reader.capacity(), cap);
        assert!(cap <= 1004);

        // A bare hostile prefix grows nothing past the first read's room.
        let mut reader = FrameReader::new(1 << 30);
        let err = reader
            .read_frame_blocking(&mut u32::MAX.to_le_bytes().as_slice())
            .unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len, .. } if len == u32::MAX as usize));
        assert_eq!(reader.capacity(), READ_CHUNK);
    }

    #[test]
    fn eof_inside_prefix_and_payload() {
        for wire in [&[1u8, 0][..], &[3, 0, 0, 0, 1, 2]] {
            let mut reader = FrameReader::new(64);
            let err = reader.read_frame_blocking(&mut &wire[..]).unwrap_err();
            let FrameError::Io(e) = err else {
                panic!("{err:?}")
            };
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
            assert_eq!(reader.buffered(), wire.len());
        }
        let mut reader = FrameReader::new(64);
        let err = reader.read_frame_blocking(&mut [0u8; 0].as_slice());
        assert!(matches!(err, Err(FrameError::Closed)));
    }

    #[test]
    fn would_block_in_blocking_mode_keeps_the_state() {
        let wire = frame(&[1, 2, 3]);
        let mut src = Trickle {
            data: &wire,
            chunk: 2,
            stall: Some(io::ErrorKind::WouldBlock),
            stalled: false,
        };
        let mut reader = FrameReader::new(64);
        let mut blocked = 0;
        loop {
            match reader.read_frame_blocking(&mut src) {
                Ok(p) => {
                    assert_eq!(p, [1, 2, 3]);
                    break;
                }
                Err(FrameError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => blocked += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(blocked, 4);
    }

    #[test]
    fn full_when_complete_frames_are_not_taken() {
        let wire: Vec<u8> = (0..10).flat_map(|_| frame(&[7; 6])).collect();
        let mut reader = FrameReader::new(6);
        let mut src = wire.as_slice();
        assert_eq!(reader.fill_from(&mut src).unwrap(), Fill::Read(10));
        assert_eq!(reader.fill_from(&mut src).unwrap(), Fill::Full);
        assert_eq!(reader.next_frame().unwrap(), Some(&[7; 6][..]));
        assert_eq!(reader.fill_from(&mut src).unwrap(), Fill::Read(10));
    }

    /// The regression from issue #12: a reused buffer, a 40,000-byte frame,
    /// then a 65,533-byte one at limit 65,536 must stay within the bound
    /// (`Vec::resize` had grown it to 80,006 bytes).
    #[test]
    fn reused_buffer_never_exceeds_the_bound() {
        let limit = 65_536;
        let mut wire = frame(&[1; 40_000]);
        wire.extend(frame(&[2; 65_533]));
        wire.extend(frame(&[3; 10]));
        wire.extend(frame(&[4; 65_536]));
        for chunk in [1 << 20, 65_536, 40_003, 4_096, 7] {
            let mut src = Trickle {
                data: &wire,
                chunk,
                stall: None,
                stalled: false,
            };
            let mut reader = FrameReader::new(limit);
            let mut lens = Vec::new();
            loop {
                match reader.read_frame_blocking(&mut src) {
                    Ok(p) => lens.push(p.len()),
                    Err(FrameError::Closed) => break,
                    Err(e) => panic!("{e:?}"),
                }
                assert!(
                    reader.capacity() <= limit + PREFIX_LEN,
                    "capacity {} with reads of {chunk}",
                    reader.capacity()
                );
            }
            assert_eq!(lens, [40_000, 65_533, 10, 65_536]);
        }
    }

    #[test]
    fn a_lower_limit_shrinks_the_buffer() {
        let mut reader = FrameReader::new(100_000);
        let wire = frame(&[1; 90_000]);
        assert_eq!(
            reader
                .read_frame_blocking(&mut wire.as_slice())
                .unwrap()
                .len(),
            90_000
        );
        assert_eq!(reader.capacity(), 90_004);
        reader.set_limit(100);
        assert_eq!(reader.capacity(), 104);
        reader.set_limit(usize::MAX);
        assert_eq!(reader.limit(), MAX_FRAME_CEILING);
    }

    #[test]
    fn a_lying_source_is_an_error_not_a_panic() {
        struct Liar;
        impl Read for Liar {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                Ok(buf.len() + 1)
            }
        }
        let mut reader = FrameReader::new(64);
        assert!(matches!(
            reader.fill_from(&mut Liar),
            Err(FrameError::Io(_))
        ));
        assert_eq!(reader.buffered(), 0);
    }
}
