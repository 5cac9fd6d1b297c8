//! [`Attachments`]: the descriptors that travel beside a frame, so that a
//! [`SharedSlice`](crate::SharedSlice) crosses to another process as a
//! memfd, not as its bytes.
//!
//! A transport that can pass descriptors (a Unix socket, `SCM_RIGHTS`)
//! encodes inside [`collect`]: each shared slice encoded there is added to
//! the collected attachments and written into the frame as its index
//! among them. The transport sends them with the frame, and the receiver
//! decodes inside [`provide`], where each index takes its descriptor.
//! Outside `collect` (a transport that cannot pass descriptors: MPI, a
//! file) a shared slice is encoded as its bytes, so every encoding of it
//! stays valid; the scopes only change how the bytes travel.

use crate::segment::Segment;
use std::cell::RefCell;
use std::fmt;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;

/// The most descriptors one frame carries (below the kernel's 253 per
/// `SCM_RIGHTS` message); past them, shared slices travel as bytes.
pub const MAX_ATTACHMENTS: usize = 64;

enum Held {
    Segment(Arc<Segment>),
    Fd(Option<OwnedFd>),
}

/// Descriptors that travel beside one frame: collected while encoding
/// ([`collect`]), handed to the decoder on the other side ([`provide`]).
///
/// # Examples
///
/// ```
/// use concur_ipc::{attach, SharedSlice};
/// let slice = SharedSlice::copy_from(&[1u32, 2, 3]).unwrap();
/// let (bytes, attachments) = attach::collect(|| concur_ipc::encode(&slice).unwrap());
/// assert_eq!(attachments.len(), 1);
/// // (a transport would send `attachments.raw_fds()` with `bytes`)
/// let received = attach::Attachments::from_fds(attachments.dup().unwrap());
/// let back: SharedSlice<u32> = attach::provide(received, || concur_ipc::decode(&bytes)).unwrap();
/// assert_eq!(&back[..], &[1, 2, 3]);
/// ```
#[derive(Default)]
pub struct Attachments {
    held: Vec<Held>,
}

impl Attachments {
    /// None.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::attach::Attachments::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Received descriptors, in the order they came.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_ipc::attach::Attachments::from_fds(Vec::new());
    /// assert_eq!(a.len(), 0);
    /// ```
    #[must_use]
    pub fn from_fds(fds: Vec<OwnedFd>) -> Self {
        Self {
            held: fds.into_iter().map(|fd| Held::Fd(Some(fd))).collect(),
        }
    }

    /// How many.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::attach::Attachments::new().len(), 0);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether there are none.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concur_ipc::attach::Attachments::new().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The descriptors to send (valid while `self` lives; one already
    /// taken by a decoder is `-1`).
    ///
    /// # Examples
    ///
    /// ```
    /// use concur_ipc::{attach, SharedSlice};
    /// let s = SharedSlice::copy_from(b"abc").unwrap();
    /// let ((), a) = attach::collect(|| drop(concur_ipc::encode(&s)));
    /// assert!(a.raw_fds()[0] >= 0);
    /// ```
    #[must_use]
    pub fn raw_fds(&self) -> Vec<RawFd> {
        self.held
            .iter()
            .map(|h| match h {
                Held::Segment(s) => s.fd().as_raw_fd(),
                Held::Fd(fd) => fd.as_ref().map_or(-1, AsRawFd::as_raw_fd),
            })
            .collect()
    }

    /// Duplicates of the descriptors (what the receiving side of a socket
    /// gets; for tests and in-process transports).
    ///
    /// # Errors
    ///
    /// If a descriptor cannot be duplicated (`EMFILE`), or was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = concur_ipc::attach::Attachments::new();
    /// assert!(a.dup().unwrap().is_empty());
    /// ```
    pub fn dup(&self) -> std::io::Result<Vec<OwnedFd>> {
        self.held
            .iter()
            .map(|h| match h {
                Held::Segment(s) => s.fd().try_clone(),
                Held::Fd(Some(fd)) => fd.try_clone(),
                Held::Fd(None) => Err(std::io::Error::other("the descriptor was taken")),
            })
            .collect()
    }

    /// Drops those from `len` on (those of an item that failed to encode).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut a = concur_ipc::attach::Attachments::new();
    /// a.truncate(0);
    /// assert!(a.is_empty());
    /// ```
    pub fn truncate(&mut self, len: usize) {
        self.held.truncate(len);
    }
}

impl fmt::Debug for Attachments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachments")
            .field("fds", &self.raw_fds())
            .finish()
    }
}

thread_local! {
    /// Where shared slices encoded on this thread go, inside [`collect`].
    static OUTGOING: RefCell<Option<Attachments>> = const { RefCell::new(None) };
    /// What shared slices decoded on this thread take, inside [`provide`].
    static INCOMING: RefCell<Option<Attachments>> = const { RefCell::new(None) };
}

/// Restores a scope's previous attachments when it ends (also on panic).
struct Restore {
    incoming: bool,
    prev: Option<Attachments>,
}

impl Restore {
    fn swap(incoming: bool, now: Attachments) -> Self {
        let key = if incoming { &INCOMING } else { &OUTGOING };
        let prev = key.with(|c| c.replace(Some(now)));
        Self { incoming, prev }
    }

    fn end(mut self) -> Attachments {
        let prev = self.prev.take();
        let key = if self.incoming { &INCOMING } else { &OUTGOING };
        let now = key.with(|c| c.replace(prev));
        std::mem::forget(self);
        now.unwrap_or_default()
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let key = if self.incoming { &INCOMING } else { &OUTGOING };
        key.with(|c| c.replace(prev));
    }
}

/// Runs `f` with shared slices encoded as attachments (at most
/// [`MAX_ATTACHMENTS`]; the rest as bytes): its result and what it
/// attached. Scopes nest; the innermost collects.
///
/// # Examples
///
/// ```
/// use concur_ipc::{attach, SharedSlice};
/// let s = SharedSlice::copy_from(&[0.5f64; 1000]).unwrap();
/// let inline = concur_ipc::encode(&s).unwrap();
/// let (attached, a) = attach::collect(|| concur_ipc::encode(&s).unwrap());
/// assert_eq!(a.len(), 1);
/// assert!(inline.len() > 8000 && attached.len() < 16);
/// ```
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Attachments) {
    let scope = Restore::swap(false, Attachments::new());
    let r = f();
    (r, scope.end())
}

/// Runs `f` with `attachments` to decode shared slices from. Those it
/// does not take are closed when it returns.
///
/// # Examples
///
/// ```
/// use concur_ipc::{attach, SharedSlice};
/// // An index with nothing behind it is a decoding error, not a panic.
/// let s = SharedSlice::copy_from(b"abc").unwrap();
/// let (bytes, _sent) = attach::collect(|| concur_ipc::encode(&s).unwrap());
/// let r = attach::provide(attach::Attachments::new(), || concur_ipc::decode::<SharedSlice<u8>>(&bytes));
/// assert!(r.is_err());
/// ```
pub fn provide<R>(attachments: Attachments, f: impl FnOnce() -> R) -> R {
    let scope = Restore::swap(true, attachments);
    let r = f();
    drop(scope.end());
    r
}

/// Adds `segment` to the current [`collect`] scope: its index, or `None`
/// (no scope, or it is full) to encode the bytes instead.
pub(crate) fn attach(segment: &Arc<Segment>) -> Option<u32> {
    OUTGOING.with(|c| {
        let mut c = c.borrow_mut();
        let a = c.as_mut()?;
        if a.held.len() >= MAX_ATTACHMENTS {
            return None;
        }
        a.held.push(Held::Segment(segment.clone()));
        u32::try_from(a.held.len() - 1).ok()
    })
}

/// What an attachment index refers to, on the decoding side.
pub(crate) enum Taken {
    /// A segment of this process (a frame decoded where it was encoded).
    Segment(Arc<Segment>),
    /// A received descriptor.
    Fd(OwnedFd),
}

/// Takes attachment `index` of the current [`provide`] scope.
pub(crate) fn take(index: u32) -> Result<Taken, String> {
    INCOMING.with(|c| {
        let mut c = c.borrow_mut();
        let Some(a) = c.as_mut() else {
            return Err("a shared slice sent as an attachment was decoded where no \
                 attachments came with the frame"
                .into());
        };
        let n = a.held.len();
        match a.held.get_mut(index as usize) {
            None => Err(format!(
                "a shared slice refers to attachment {index}, but {n} came with the frame"
            )),
            Some(Held::Segment(s)) => Ok(Taken::Segment(s.clone())),
            Some(Held::Fd(fd)) => fd
                .take()
                .map(Taken::Fd)
                .ok_or_else(|| format!("attachment {index} is referred to twice")),
        }
    })
}
