//! [`Segment`]: bytes in a sealed memfd, mapped read-only; the storage of
//! a [`SharedSlice`](crate::SharedSlice).
//!
//! A segment is made once (written through `write(2)` or a writable
//! mapping that is unmapped again), then sealed against writing, growing
//! and shrinking, and only ever mapped read-only. So a process that is
//! given its descriptor can trust what it maps: after checking the seals
//! and the size, the bytes can neither change under it (no torn reads)
//! nor be cut short (no `SIGBUS`), whatever the sender does next. A
//! descriptor that is not such a segment is refused with a typed error.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// The memfd name (as `/proc/<pid>/maps` and `/proc/<pid>/fd` show it).
const NAME: &CStr = c"concur-shared";

/// The seals a received segment must carry.
const REQUIRED: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// A sealed memfd of at least one byte, mapped read-only.
#[derive(Debug)]
pub(crate) struct Segment {
    fd: OwnedFd,
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is read-only and the seals keep its contents fixed;
// sharing or moving the pointer between threads is sharing `&[u8]`.
unsafe impl Send for Segment {}
// SAFETY: as above: only shared reads of immutable bytes.
unsafe impl Sync for Segment {}

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn memfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with a valid C string and flags.
    let fd = cvt(unsafe {
        libc::memfd_create(NAME.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
    })?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn too_large(len: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("a shared segment of {len} bytes is larger than the address space allows"),
    )
}

fn truncate(fd: &OwnedFd, len: usize) -> io::Result<()> {
    let size = libc::off_t::try_from(len).map_err(|_| too_large(len))?;
    // SAFETY: ftruncate on a live descriptor.
    cvt(unsafe { libc::ftruncate(fd.as_raw_fd(), size) }).map(drop)
}

/// Maps `len` bytes of `fd`, shared, with `prot`.
fn map(fd: &OwnedFd, len: usize, prot: libc::c_int) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh mapping of a live descriptor; the kernel checks
    // `len` and the protection against the file.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            prot,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned null"))
}

fn seal(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a live descriptor with an integer argument.
    cvt(unsafe {
        libc::fcntl(
            fd.as_raw_fd(),
            libc::F_ADD_SEALS,
            REQUIRED | libc::F_SEAL_SEAL,
        )
    })
    .map(drop)
}

/// Whether shared memory may get transparent huge pages when a mapping
/// asks (`/sys/kernel/mm/transparent_hugepage/shmem_enabled` other than
/// `never` or `deny`; read once). With 4 KiB pages a fresh 100 MB segment
/// costs ~80 ms to fault in on these VMs, with 2 MiB pages ~7 ms.
fn huge_shmem() -> bool {
    static HUGE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HUGE.get_or_init(|| {
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
            .is_ok_and(|s| huge_setting(&s))
    })
}

/// Whether a `shmem_enabled` text (`always within_size [advise] never
/// deny force`) selects a setting under which `MADV_HUGEPAGE` counts.
fn huge_setting(text: &str) -> bool {
    let chosen = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'));
    matches!(chosen, Some("always" | "within_size" | "advise" | "force"))
}

impl Segment {
    /// A segment holding a copy of `bytes` (not empty). Written with
    /// `write(2)` (one copy, no page faults in this process), or, where
    /// shared memory can have huge pages, through a mapping that asks for
    /// them.
    pub(crate) fn copy_from(bytes: &[u8]) -> io::Result<Self> {
        debug_assert!(!bytes.is_empty());
        if huge_shmem() {
            return Self::build(bytes.len(), |b| b.copy_from_slice(bytes));
        }
        let fd = memfd()?;
        truncate(&fd, bytes.len())?;
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            let off = libc::off_t::try_from(at).map_err(|_| too_large(bytes.len()))?;
            // SAFETY: pwrite from a live slice into a live descriptor.
            let n = unsafe { libc::pwrite(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len(), off) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the shared segment took no more bytes",
                ));
            }
            at += n as usize;
        }
        Self::sealed(fd, bytes.len())
    }

    /// A segment of `len` zero bytes (not zero) that `fill` writes in
    /// place, through a writable mapping unmapped before sealing.
    pub(crate) fn build(len: usize, fill: impl FnOnce(&mut [u8])) -> io::Result<Self> {
        debug_assert!(len > 0);
        let fd = memfd()?;
        truncate(&fd, len)?;
        let ptr = map(&fd, len, libc::PROT_READ | libc::PROT_WRITE)?;
        if huge_shmem() {
            // SAFETY: advice on our own fresh mapping; failure is harmless.
            unsafe { libc::madvise(ptr.as_ptr().cast(), len, libc::MADV_HUGEPAGE) };
        }
        struct Unmap(NonNull<u8>, usize);
        impl Drop for Unmap {
            fn drop(&mut self) {
                // SAFETY: our own mapping of this length, unmapped once.
                unsafe { libc::munmap(self.0.as_ptr().cast(), self.1) };
            }
        }
        let unmap = Unmap(ptr, len);
        // SAFETY: `len` writable bytes at `ptr`, mapped above and only
        // reachable through this slice until `unmap` drops (after `fill`,
        // also if it panics).
        fill(unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), len) });
        drop(unmap);
        Self::sealed(fd, len)
    }

    fn sealed(fd: OwnedFd, len: usize) -> io::Result<Self> {
        seal(&fd)?;
        let ptr = map(&fd, len, libc::PROT_READ)?;
        Ok(Self { fd, ptr, len })
    }

    /// The segment behind a received descriptor, which must be a memfd
    /// sealed against writing, growing and shrinking, of exactly `len`
    /// bytes (not zero).
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with it.
    pub(crate) fn open(fd: OwnedFd, len: usize) -> Result<Self, String> {
        if len == 0 {
            return Err("an attached segment of 0 bytes".into());
        }
        // SAFETY: fcntl on a live descriptor.
        let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
        if seals < 0 {
            return Err(format!(
                "the attached descriptor is not a sealable memfd ({})",
                io::Error::last_os_error()
            ));
        }
        if seals & REQUIRED != REQUIRED {
            return Err(format!(
                "the attached memfd is not sealed against writing, growing and shrinking \
                 (seals {seals:#x}): its contents could change under the reader"
            ));
        }
        // SAFETY: `st` is a valid out-pointer for fstat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat on a live descriptor, writing into `st`.
        if unsafe { libc::fstat(fd.as_raw_fd(), &raw mut st) } < 0 {
            return Err(format!(
                "fstat of the attached memfd failed ({})",
                io::Error::last_os_error()
            ));
        }
        if u64::try_from(st.st_size).ok() != u64::try_from(len).ok() {
            return Err(format!(
                "the attached memfd holds {} bytes, but the value says {len}",
                st.st_size
            ));
        }
        let ptr = map(&fd, len, libc::PROT_READ)
            .map_err(|e| format!("mapping the attached memfd of {len} bytes failed ({e})"))?;
        Ok(Self { fd, ptr, len })
    }

    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes mapped at `ptr` for our lifetime,
        // immutable (sealed).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The memfd (to pass to another process).
    pub(crate) fn fd(&self) -> &OwnedFd {
        &self.fd
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: our own mapping of `len` bytes, unmapped once; no slice
        // of it outlives `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_build_round_trip_through_a_descriptor() {
        let a = Segment::copy_from(b"hello").unwrap();
        assert_eq!(a.bytes(), b"hello");
        let b = Segment::build(3, |s| s.copy_from_slice(b"abc")).unwrap();
        assert_eq!(b.bytes(), b"abc");
        let again = Segment::open(a.fd().try_clone().unwrap(), 5).unwrap();
        assert_eq!(again.bytes(), b"hello");
    }

    #[test]
    fn a_sealed_segment_refuses_writes() {
        let a = Segment::copy_from(b"hello").unwrap();
        // SAFETY: a write attempt from a live buffer.
        let n = unsafe { libc::pwrite(a.fd().as_raw_fd(), b"j".as_ptr().cast(), 1, 0) };
        assert_eq!(n, -1);
        assert!(map(a.fd(), 5, libc::PROT_READ | libc::PROT_WRITE).is_err());
        assert_eq!(a.bytes(), b"hello");
    }

    #[test]
    fn refuses_unsealed_wrong_sized_and_foreign_descriptors() {
        let unsealed = memfd().unwrap();
        truncate(&unsealed, 4).unwrap();
        let e = Segment::open(unsealed, 4).unwrap_err();
        assert!(e.contains("not sealed"), "{e}");
        let a = Segment::copy_from(b"hello").unwrap();
        let e = Segment::open(a.fd().try_clone().unwrap(), 6).unwrap_err();
        assert!(e.contains("holds 5 bytes"), "{e}");
        let e = Segment::open(a.fd().try_clone().unwrap(), 0).unwrap_err();
        assert!(e.contains("0 bytes"), "{e}");
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let e = Segment::open(file.into(), 4).unwrap_err();
        assert!(e.contains("not a sealable memfd"), "{e}");
    }

    #[test]
    fn a_panicking_fill_unmaps_and_errors_nothing() {
        let r = std::panic::catch_unwind(|| Segment::build(4096, |_| panic!("fill")));
        assert!(r.is_err());
    }

    #[test]
    fn reads_the_huge_page_setting() {
        assert!(!huge_setting(
            "always within_size advise [never] deny force"
        ));
        assert!(!huge_setting(
            "always within_size advise never [deny] force"
        ));
        assert!(huge_setting(
            "always within_size [advise] never deny force\n"
        ));
        assert!(huge_setting("[always] within_size advise never deny force"));
        assert!(!huge_setting(""));
        assert!(!huge_setting("[]"));
    }

    #[test]
    fn huge_sizes_are_errors() {
        assert!(Segment::build(usize::MAX, |_| {}).is_err());
        assert!(Segment::build(isize::MAX as usize, |_| {}).is_err());
    }
}
