//! A single-producer, single-consumer byte ring in shared memory (a
//! `memfd` mapped by both processes), carrying length-prefixed frames, with
//! futex doorbells: the building block of the shared-memory transport
//! (issue 17). The pool uses two per worker as a byte stream each way
//! (`shm.rs`); the standalone frame API serves the tests.
//!
//! Layout of the segment (`HEADER` bytes, then `cap` data bytes, `cap` a
//! power of two): the producer's `tail` (bytes written in all), the
//! consumer's `head` (bytes consumed in all), each on its own cache line,
//! and a doorbell word per side (`FUTEX_WAIT` on a shared mapping).
//!
//! The peer is not trusted. Everything in the segment is read once, through
//! atomics or raw copies into private memory, and checked before use:
//! `tail - head` must not exceed `cap` (a peer that breaks it is a
//! [`RingError::Corrupt`]), a frame's length must not exceed the reader's
//! limit ([`RingError::TooLarge`], checked before anything is allocated),
//! and payload bytes are copied out before anything interprets them, so a
//! torn or hostile write yields wrong bytes (which the codec then rejects),
//! never an out-of-bounds access. No reference to shared memory is ever
//! created: only raw-pointer copies and atomics.
//!
//! Every atomic is `SeqCst`: the doorbell is a store-then-load on both
//! sides (the writer stores `tail`, then reads the reader's bell; the
//! reader sets its bell, then reads `tail`), which only a single total
//! order keeps from losing a wake-up. On x86 the loads cost nothing more.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Bytes before the data: four cache lines (tail, head, two doorbells).
const HEADER: usize = 256;
const TAIL: usize = 0;
const HEAD: usize = 64;
const READER_BELL: usize = 128;
const WRITER_BELL: usize = 192;

/// How long a waiter polls before it sleeps on the doorbell (the
/// workers' socket spin, `sys::SPIN`).
const SPIN: Duration = crate::sys::SPIN;

/// The longest sleep on a doorbell between liveness checks.
const NAP: Duration = Duration::from_millis(20);

/// The largest ring a peer's segment may announce (1 GiB).
pub(crate) const MAX_CAPACITY: usize = 1 << 30;

/// Why a ring operation failed.
#[derive(Debug)]
pub(crate) enum RingError {
    /// The segment's positions are impossible (a hostile or broken peer).
    Corrupt(&'static str),
    /// A frame announced more than the reader's limit (the tests' frame
    /// API; the pool's frames are checked by its frame reader).
    #[cfg_attr(not(test), allow(dead_code))]
    TooLarge { len: usize, max: usize },
    /// Nothing arrived (or no room freed) within the wait.
    TimedOut,
    /// Creating or mapping the segment failed.
    Io(io::Error),
    /// The other side is gone (the caller's liveness check said so while
    /// waiting).
    PeerGone,
}

impl From<RingError> for io::Error {
    fn from(e: RingError) -> Self {
        match e {
            RingError::Io(e) => e,
            RingError::PeerGone => io::ErrorKind::BrokenPipe.into(),
            RingError::TimedOut => io::ErrorKind::TimedOut.into(),
            e => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        }
    }
}

impl std::fmt::Display for RingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Corrupt(why) => write!(f, "shared-memory ring corrupt: {why}"),
            Self::TooLarge { len, max } => {
                write!(
                    f,
                    "shared-memory frame of {len} bytes exceeds the limit of {max}"
                )
            }
            Self::TimedOut => f.write_str("shared-memory ring: timed out"),
            Self::Io(e) => write!(f, "shared-memory ring: {e}"),
            Self::PeerGone => f.write_str("shared-memory ring: the other process is gone"),
        }
    }
}

/// One mapping of a ring segment (either end).
#[derive(Debug)]
pub(crate) struct Ring {
    base: *mut u8,
    cap: usize,
    /// The segment's descriptor, until it is handed over or released (the
    /// mapping outlives it).
    fd: Option<OwnedFd>,
    /// Rings the reader by making this eventfd readable instead of a
    /// futex wake (a reader that sleeps in `poll`, the pool's dispatcher).
    reader_eventfd: Option<OwnedFd>,
}

// SAFETY: the mapping is process-wide memory; every access goes through
// atomics or raw copies (see the module docs), so the handle may move to
// and be used from any one thread.
unsafe impl Send for Ring {}

impl Ring {
    /// Creates a segment with `cap` data bytes (rounded up to a power of
    /// two, at least 4 KiB) and maps it.
    #[cfg(test)]
    pub(crate) fn create(cap: usize) -> Result<Self, RingError> {
        Self::create_named(cap, c"concur-ring")
    }

    /// [`create`](Self::create), the memfd named `name` (what
    /// `/proc/<pid>/maps` shows).
    pub(crate) fn create_named(cap: usize, name: &std::ffi::CStr) -> Result<Self, RingError> {
        let cap = cap
            .max(4096)
            .checked_next_power_of_two()
            .ok_or(RingError::Corrupt("capacity overflows"))?;
        let len = HEADER + cap;
        // SAFETY: a plain memfd_create with a NUL-terminated name.
        let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(RingError::Io(io::Error::last_os_error()));
        }
        // SAFETY: a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let size = libc::off_t::try_from(len).map_err(|_| RingError::Corrupt("too large"))?;
        // SAFETY: plain ftruncate on our descriptor.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(RingError::Io(io::Error::last_os_error()));
        }
        Self::map(fd, cap)
    }

    /// Maps the segment `fd` from another process, its capacity taken from
    /// its size (checked: a power of two from 4 KiB to [`MAX_CAPACITY`]).
    pub(crate) fn open_segment(fd: OwnedFd) -> Result<Self, RingError> {
        let size = segment_size(&fd)?;
        let cap = size
            .checked_sub(HEADER)
            .filter(|&c| c <= MAX_CAPACITY)
            .ok_or(RingError::Corrupt("segment size is not a ring's"))?;
        Self::map_checked(fd, cap, size)
    }

    /// Maps the segment `fd` (from [`Ring::create`], possibly in another
    /// process), whose data part is `cap` bytes; the segment's size is
    /// checked, not trusted.
    #[cfg(test)]
    pub(crate) fn open(fd: OwnedFd, cap: usize) -> Result<Self, RingError> {
        let size = segment_size(&fd)?;
        Self::map_checked(fd, cap, size)
    }

    /// Maps `fd`, of `size` bytes, as a ring of `cap` data bytes, once
    /// both are checked: `cap` a power of two of at least 4 KiB, `size`
    /// exactly the header and `cap`.
    fn map_checked(fd: OwnedFd, cap: usize, size: usize) -> Result<Self, RingError> {
        if !cap.is_power_of_two() || cap < 4096 {
            return Err(RingError::Corrupt("capacity is not a power of two"));
        }
        if HEADER.checked_add(cap) != Some(size) {
            return Err(RingError::Corrupt(
                "segment size does not match its capacity",
            ));
        }
        Self::map(fd, cap)
    }

    fn map(fd: OwnedFd, cap: usize) -> Result<Self, RingError> {
        // SAFETY: mapping `HEADER + cap` bytes of a segment that size
        // (created or checked by the caller), shared, read-write.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                HEADER + cap,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(RingError::Io(io::Error::last_os_error()));
        }
        Ok(Self {
            base: p.cast(),
            cap,
            fd: Some(fd),
            reader_eventfd: None,
        })
    }

    /// The segment's descriptor (to pass to the other process), until
    /// [`release_fd`](Self::release_fd).
    pub(crate) fn fd(&self) -> Option<&OwnedFd> {
        self.fd.as_ref()
    }

    /// Closes the segment's descriptor; the mapping stays (a pool keeps
    /// no descriptor per ring).
    pub(crate) fn release_fd(&mut self) {
        self.fd = None;
    }

    /// The writer rings the reader through `eventfd` from now on.
    pub(crate) fn ring_reader_through(&mut self, eventfd: OwnedFd) {
        self.reader_eventfd = Some(eventfd);
    }

    #[cfg(test)]
    /// Data bytes.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    fn word64(&self, at: usize) -> &AtomicU64 {
        // SAFETY: `at` is one of the header offsets: 8-byte aligned (the
        // mapping is page-aligned) and inside the mapping, which lives as
        // long as `self`; shared memory accessed only atomically here.
        unsafe { &*self.base.add(at).cast::<AtomicU64>() }
    }

    fn word32(&self, at: usize) -> &AtomicU32 {
        // SAFETY: as in `word64`, for a 4-byte word.
        unsafe { &*self.base.add(at).cast::<AtomicU32>() }
    }

    /// `tail` and `head`, checked: the bytes readable and the position.
    fn positions(&self) -> Result<(u64, u64), RingError> {
        let tail = self.word64(TAIL).load(Ordering::SeqCst);
        let head = self.word64(HEAD).load(Ordering::SeqCst);
        if tail.wrapping_sub(head) > self.cap as u64 {
            return Err(RingError::Corrupt(
                "more bytes in flight than the ring holds",
            ));
        }
        Ok((tail, head))
    }

    /// Copies `dst.len()` bytes from ring position `pos` (wrapping).
    fn copy_out(&self, pos: u64, dst: &mut [u8]) {
        let off = (pos % self.cap as u64) as usize;
        let first = dst.len().min(self.cap - off);
        // SAFETY: `off + first <= cap` and `dst.len() - first <= cap`, both
        // inside the data part; raw copies only (see the module docs).
        unsafe {
            let data = self.base.add(HEADER);
            std::ptr::copy_nonoverlapping(data.add(off), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(data, dst.as_mut_ptr().add(first), dst.len() - first);
        }
    }

    /// Copies `src` to ring position `pos` (wrapping).
    fn copy_in(&self, pos: u64, src: &[u8]) {
        let off = (pos % self.cap as u64) as usize;
        let first = src.len().min(self.cap - off);
        // SAFETY: as in `copy_out`.
        unsafe {
            let data = self.base.add(HEADER);
            std::ptr::copy_nonoverlapping(src.as_ptr(), data.add(off), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), data, src.len() - first);
        }
    }

    #[cfg(test)]
    /// Producer: writes one frame (a `u32` length, then `payload`), as
    /// room frees, waiting at most `wait` for each piece of room.
    pub(crate) fn write_frame(&self, payload: &[u8], wait: Duration) -> Result<(), RingError> {
        let len = u32::try_from(payload.len()).map_err(|_| RingError::TooLarge {
            len: payload.len(),
            max: u32::MAX as usize,
        })?;
        self.write_bytes(&len.to_le_bytes(), wait)?;
        self.write_bytes(payload, wait)
    }

    #[cfg(test)]
    fn write_bytes(&self, src: &[u8], wait: Duration) -> Result<(), RingError> {
        self.write_all(src, wait, &|| true)
    }

    /// Producer: writes all of `src` as a byte stream, as room frees,
    /// waiting at most `wait` for each piece of room, and failing with
    /// [`RingError::PeerGone`] once `alive` (asked every few milliseconds
    /// while waiting) says the reader is gone.
    pub(crate) fn write_all(
        &self,
        mut src: &[u8],
        wait: Duration,
        alive: &dyn Fn() -> bool,
    ) -> Result<(), RingError> {
        while !src.is_empty() {
            let (tail, head) = self.positions()?;
            let room = self.cap - tail.wrapping_sub(head) as usize;
            if room == 0 {
                self.wait_on(WRITER_BELL, wait, alive, || {
                    self.positions()
                        .map(|(t, h)| t.wrapping_sub(h) < self.cap as u64)
                })?;
                continue;
            }
            let n = room.min(src.len());
            self.copy_in(tail, &src[..n]);
            self.word64(TAIL)
                .store(tail.wrapping_add(n as u64), Ordering::SeqCst);
            self.ring(READER_BELL);
            src = &src[n..];
        }
        Ok(())
    }

    #[cfg(test)]
    /// Consumer: reads one frame's payload (its length checked against
    /// `max` first), waiting at most `wait` for each piece.
    pub(crate) fn read_frame(&self, max: usize, wait: Duration) -> Result<Vec<u8>, RingError> {
        let mut prefix = [0u8; 4];
        self.read_bytes(&mut prefix, wait)?;
        let len = u32::from_le_bytes(prefix) as usize;
        if len > max {
            return Err(RingError::TooLarge { len, max });
        }
        let mut out = vec![0u8; len];
        self.read_bytes(&mut out, wait)?;
        Ok(out)
    }

    #[cfg(test)]
    fn read_bytes(&self, mut dst: &mut [u8], wait: Duration) -> Result<(), RingError> {
        while !dst.is_empty() {
            let (tail, head) = self.positions()?;
            let avail = tail.wrapping_sub(head) as usize;
            if avail == 0 {
                self.wait_readable(wait, &|| true)?;
                continue;
            }
            let n = avail.min(dst.len());
            let (now, rest) = std::mem::take(&mut dst).split_at_mut(n);
            self.copy_out(head, now);
            self.word64(HEAD)
                .store(head.wrapping_add(n as u64), Ordering::SeqCst);
            self.ring(WRITER_BELL);
            dst = rest;
        }
        Ok(())
    }

    /// Consumer: copies out what is readable now, up to `dst.len()`
    /// bytes, without waiting; the number of bytes (0: nothing).
    pub(crate) fn read_available(&self, dst: &mut [u8]) -> Result<usize, RingError> {
        let (tail, head) = self.positions()?;
        let n = (tail.wrapping_sub(head) as usize).min(dst.len());
        if n > 0 {
            self.copy_out(head, &mut dst[..n]);
            self.word64(HEAD)
                .store(head.wrapping_add(n as u64), Ordering::SeqCst);
            self.ring(WRITER_BELL);
        }
        Ok(n)
    }

    /// Consumer: whether bytes are readable.
    pub(crate) fn readable(&self) -> Result<bool, RingError> {
        self.positions().map(|(t, h)| t != h)
    }

    /// Consumer: waits (spinning briefly, then on the futex) until bytes
    /// are readable, at most `wait`, failing with [`RingError::PeerGone`]
    /// once `alive` says the writer is gone.
    pub(crate) fn wait_readable(
        &self,
        wait: Duration,
        alive: &dyn Fn() -> bool,
    ) -> Result<(), RingError> {
        self.wait_on(READER_BELL, wait, alive, || self.readable())
    }

    /// Consumer that sleeps elsewhere (in `poll`, on the eventfd the writer
    /// rings through): from now on the writer rings. Check
    /// [`readable`](Self::readable) after arming, before sleeping.
    pub(crate) fn arm_reader(&self) {
        self.word32(READER_BELL).store(1, Ordering::SeqCst);
    }

    /// Undoes [`arm_reader`](Self::arm_reader): the writer need not ring
    /// while the reader is awake and looking.
    pub(crate) fn disarm_reader(&self) {
        self.word32(READER_BELL).store(0, Ordering::SeqCst);
    }

    /// Producer: wakes the reader if it sleeps on its doorbell, without
    /// writing (it has something to look at elsewhere: its socket).
    pub(crate) fn wake_reader(&self) {
        self.ring(READER_BELL);
    }

    /// Wakes the other side if it sleeps on the doorbell at `bell`.
    fn ring(&self, bell: usize) {
        let word = self.word32(bell);
        if word.swap(0, Ordering::SeqCst) != 0 {
            if bell == READER_BELL
                && let Some(efd) = &self.reader_eventfd
            {
                crate::sys::eventfd_signal(efd);
                return;
            }
            // SAFETY: FUTEX_WAKE on a word of our shared mapping.
            unsafe {
                libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, 1);
            }
        }
    }

    /// Waits (spinning briefly, then on the futex at `bell`) until `ready`
    /// says so, at most `wait`.
    fn wait_on(
        &self,
        bell: usize,
        wait: Duration,
        alive: &dyn Fn() -> bool,
        ready: impl Fn() -> Result<bool, RingError>,
    ) -> Result<(), RingError> {
        let start = Instant::now();
        // Spin first (a futex wake-up across CPUs costs ~20 us on these
        // VMs), yielding so a peer on this CPU can run.
        while start.elapsed() < SPIN.min(wait) {
            if ready()? {
                return Ok(());
            }
            std::thread::yield_now();
        }
        let word = self.word32(bell);
        loop {
            word.store(1, Ordering::SeqCst);
            if ready()? {
                return Ok(());
            }
            let left = wait.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(RingError::TimedOut);
            }
            if !alive() {
                return Err(RingError::PeerGone);
            }
            // At most `NAP` per sleep: a peer that died (and so will never
            // ring) is noticed at the next look.
            let nap = left.min(NAP);
            let ts = libc::timespec {
                tv_sec: nap.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(nap.subsec_nanos()),
            };
            // SAFETY: FUTEX_WAIT on a word of our shared mapping, with a
            // valid relative timeout.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    libc::FUTEX_WAIT,
                    1u32,
                    &ts as *const libc::timespec,
                );
            }
        }
    }

    /// Overwrites a header word (tests of a hostile peer).
    #[cfg(test)]
    fn poke(&self, at: usize, v: u64) {
        self.word64(at).store(v, Ordering::SeqCst);
    }
}

/// The size of the segment `fd`, in bytes.
fn segment_size(fd: &OwnedFd) -> Result<usize, RingError> {
    // SAFETY: `st` is a valid out-pointer for fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat on a live descriptor, writing into `st`.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(RingError::Io(io::Error::last_os_error()));
    }
    usize::try_from(st.st_size).map_err(|_| RingError::Corrupt("negative segment size"))
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in `map`, once.
        unsafe { libc::munmap(self.base.cast(), HEADER + self.cap) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    fn pair(cap: usize) -> (Ring, Ring) {
        let a = Ring::create(cap).unwrap();
        let fd = a.fd().unwrap().try_clone().unwrap();
        let b = Ring::open(fd, a.capacity()).unwrap();
        (a, b)
    }

    #[test]
    fn frames_cross_in_order_and_wrap() {
        let (w, r) = pair(4096);
        for i in 0..2000usize {
            let msg: Vec<u8> = (0..(i % 700)).map(|k| (k + i) as u8).collect();
            w.write_frame(&msg, WAIT).unwrap();
            assert_eq!(r.read_frame(1 << 20, WAIT).unwrap(), msg);
        }
    }

    #[test]
    fn a_frame_larger_than_the_ring_streams_across_threads() {
        let (w, r) = pair(4096);
        let big: Vec<u8> = (0..1_000_000).map(|k| (k % 251) as u8).collect();
        let expect = big.clone();
        let t = std::thread::spawn(move || w.write_frame(&big, WAIT).unwrap());
        assert_eq!(r.read_frame(1 << 21, WAIT).unwrap(), expect);
        t.join().unwrap();
    }

    #[test]
    fn across_processes_with_a_futex_doorbell() {
        let (w, r) = pair(1 << 16);
        // SAFETY: the child only uses the ring and exits.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                for i in 0..1000u32 {
                    std::thread::sleep(Duration::from_micros(u64::from(i % 3) * 50));
                    if w.write_frame(&i.to_le_bytes(), WAIT).is_err() {
                        // SAFETY: leaving the forked child at once.
                        unsafe { libc::_exit(1) };
                    }
                }
                // SAFETY: as above.
                unsafe { libc::_exit(0) };
            }
            nix::unistd::ForkResult::Parent { child } => {
                for i in 0..1000u32 {
                    assert_eq!(r.read_frame(16, WAIT).unwrap(), i.to_le_bytes());
                }
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
            }
        }
    }

    #[test]
    fn hostile_positions_and_lengths_are_errors() {
        let (w, r) = pair(4096);
        // More in flight than the ring holds.
        r.poke(TAIL, 1 << 40);
        assert!(matches!(r.read_frame(64, WAIT), Err(RingError::Corrupt(_))));
        assert!(matches!(
            w.write_frame(b"x", WAIT),
            Err(RingError::Corrupt(_))
        ));
        // Head past tail (wraps to a huge count).
        r.poke(TAIL, 10);
        r.poke(HEAD, 11);
        assert!(matches!(r.read_frame(64, WAIT), Err(RingError::Corrupt(_))));
        // Every extreme pair: an error or a bounded read, never a fault.
        for (t, h) in [
            (u64::MAX, 0),
            (0, u64::MAX),
            (u64::MAX, u64::MAX - 4096),
            (4096, 0),
        ] {
            r.poke(TAIL, t);
            r.poke(HEAD, h);
            let _ = r.read_frame(1 << 20, Duration::from_millis(1));
        }
        // A length over the limit: refused before allocating.
        let (w, r) = pair(4096);
        w.write_bytes(&u32::MAX.to_le_bytes(), WAIT).unwrap();
        assert!(matches!(
            r.read_frame(1 << 20, WAIT),
            Err(RingError::TooLarge { len, .. }) if len == u32::MAX as usize
        ));
    }

    /// A hostile writer scribbles random positions and bytes over the
    /// segment while the reader reads it as the dispatcher does (through
    /// `read_available` into a frame reader, then decoding replies): every
    /// outcome is data or a typed error, never a fault, a hang or an
    /// allocation past the limit. A fixed-seed xorshift keeps runs
    /// repeatable.
    #[test]
    fn scribbled_segments_are_data_or_typed_errors() {
        let (w, r) = pair(4096);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut reader = concur_ipc::FrameReader::new(1 << 16);
        let (mut frames, mut errors) = (0u32, 0u32);
        for _ in 0..20_000 {
            match next() % 4 {
                0 => w.poke(TAIL, next() % (1 << 14)),
                1 => w.poke(HEAD, next() % (1 << 14)),
                2 => {
                    let junk: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
                    let _ = w.write_all(&junk, Duration::ZERO, &|| true);
                }
                _ => {
                    let mut frame = Vec::new();
                    let reply = concur_ipc::Reply::Ready;
                    concur_ipc::encode_frame(&reply, 1 << 10, &mut frame).unwrap();
                    let _ = w.write_all(&frame, Duration::ZERO, &|| true);
                }
            }
            match reader.fill_from(&mut crate::shm::RingNow(&r)) {
                Ok(_) => loop {
                    match reader.next_frame() {
                        Ok(Some(f)) => {
                            frames += 1;
                            let _ = concur_ipc::decode::<concur_ipc::Reply>(f);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            errors += 1;
                            reader = concur_ipc::FrameReader::new(1 << 16);
                            break;
                        }
                    }
                },
                Err(_) => errors += 1,
            }
        }
        assert!(frames > 0 && errors > 0, "{frames} frames, {errors} errors");
    }

    #[test]
    fn a_writer_that_stops_mid_frame_times_the_reader_out() {
        let (w, r) = pair(4096);
        w.write_bytes(&100u32.to_le_bytes(), WAIT).unwrap();
        w.write_bytes(&[1; 40], WAIT).unwrap();
        let t = Instant::now();
        assert!(matches!(
            r.read_frame(1 << 10, Duration::from_millis(50)),
            Err(RingError::TimedOut)
        ));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_full_ring_times_the_writer_out() {
        let (w, _r) = pair(4096);
        let t = Instant::now();
        assert!(matches!(
            w.write_frame(&[0; 8192], Duration::from_millis(50)),
            Err(RingError::TimedOut)
        ));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_segment_of_the_wrong_size_is_refused() {
        let a = Ring::create(4096).unwrap();
        let fd = a.fd().unwrap().try_clone().unwrap();
        assert!(matches!(Ring::open(fd, 8192), Err(RingError::Corrupt(_))));
        let fd = a.fd().unwrap().try_clone().unwrap();
        assert!(matches!(Ring::open(fd, 4095), Err(RingError::Corrupt(_))));
        assert!(matches!(
            Ring::create(usize::MAX),
            Err(RingError::Corrupt(_))
        ));
    }

    #[test]
    fn descriptors_are_released() {
        let count = || std::fs::read_dir("/proc/self/fd").unwrap().count();
        let before = count();
        for _ in 0..100 {
            let (w, r) = pair(4096);
            w.write_frame(b"hi", WAIT).unwrap();
            assert_eq!(r.read_frame(8, WAIT).unwrap(), b"hi");
        }
        assert_eq!(count(), before);
    }
}
