//! The messages exchanged between a pool and its workers.

use crate::error::RemoteError;
use crate::fn_ref::FnRef;
use crate::outcomes::Outcomes;
use crate::packed::Packed;
use serde::{Deserialize, Serialize};

/// One unit of work: a function and one encoded argument set per item,
/// tagged with the assignment's generation number.
///
/// # Examples
///
/// ```
/// let call = concur_ipc::Call { generation: 3, func: concur_ipc::FnRef { id: 1, fingerprint: 2 }, items: Default::default() };
/// let bytes = concur_ipc::encode(&concur_ipc::Request::Call(call.clone())).unwrap();
/// assert_eq!(concur_ipc::decode::<concur_ipc::Request>(&bytes).unwrap(), concur_ipc::Request::Call(call));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// Unique per assignment; echoed in the reply so a late reply from a
    /// replaced worker is recognised and ignored.
    pub generation: u64,
    /// The function.
    pub func: FnRef,
    /// Encoded argument sets (one buffer for all of them).
    pub items: Packed,
}

/// Pool → worker.
///
/// # Examples
///
/// ```
/// let bytes = concur_ipc::encode(&concur_ipc::Request::Exit).unwrap();
/// assert_eq!(concur_ipc::decode::<concur_ipc::Request>(&bytes).unwrap(), concur_ipc::Request::Exit);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Sent once after the worker's [`Hello`]: run the initializer (if any)
    /// and use `max_frame` from now on.
    Init {
        /// The pool's initializer and its encoded arguments (CPython's
        /// `initargs`; the encoding of `()` for one without arguments).
        initializer: Option<(FnRef, Vec<u8>)>,
        /// The largest frame either side accepts.
        max_frame: u64,
    },
    /// Run a call.
    Call(Call),
    /// Exit cleanly.
    Exit,
}

/// The first message of a worker.
///
/// # Examples
///
/// ```
/// let hello = concur_ipc::Hello::current(42);
/// assert_eq!(hello.registry, concur_ipc::Registry::global().fingerprint());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL`](crate::PROTOCOL) of the worker.
    pub protocol: u32,
    /// The worker's process id.
    pub pid: u32,
    /// The worker's [`Registry::fingerprint`](crate::Registry::fingerprint).
    pub registry: u64,
    /// The worker's [`build_id`](crate::build_id) (`0`: unknown).
    pub build: u64,
}

impl Hello {
    /// The hello this process would send, with `pid`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concur_ipc::Hello::current(7).protocol, concur_ipc::PROTOCOL);
    /// ```
    #[must_use]
    pub fn current(pid: u32) -> Self {
        Self {
            protocol: crate::PROTOCOL,
            pid,
            registry: crate::Registry::global().fingerprint(),
            build: crate::build_id(),
        }
    }

    /// Checks a peer's hello against this process: the protocol, the
    /// registry fingerprint, and the build identity (unless either side's
    /// is unknown).
    ///
    /// # Errors
    ///
    /// A message saying what differs.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut hello = concur_ipc::Hello::current(1);
    /// assert!(hello.check().is_ok());
    /// hello.build ^= 1; // the same functions, another build
    /// assert!(hello.check().unwrap_err().contains("another build"));
    /// assert!(hello.check_except_build().is_ok());
    /// hello.registry ^= 1;
    /// assert!(hello.check().unwrap_err().contains("different build"));
    /// ```
    pub fn check(&self) -> Result<(), String> {
        self.check_except_build()?;
        let me = crate::build_id();
        if self.build != 0 && me != 0 && self.build != me {
            return Err(format!(
                "worker {} runs another build of the program (build identity {:#018x}, this \
                 process {:#018x}): its remote functions have the same names and signatures \
                 but may differ in their bodies (rebuild and deploy one binary everywhere, or \
                 switch the build check off for a heterogeneous cluster)",
                self.pid, self.build, me
            ));
        }
        Ok(())
    }

    /// [`check`](Self::check) without the build identity: for workers
    /// built separately on purpose (another architecture in one cluster),
    /// whose remote functions match by name and signature.
    ///
    /// # Errors
    ///
    /// A message saying what differs (protocol or registry).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut hello = concur_ipc::Hello::current(1);
    /// hello.build ^= 1;
    /// assert!(hello.check_except_build().is_ok());
    /// ```
    pub fn check_except_build(&self) -> Result<(), String> {
        let me = Self::current(self.pid);
        if self.protocol != me.protocol {
            return Err(format!(
                "worker {} speaks protocol {} but this process speaks {}",
                self.pid, self.protocol, me.protocol
            ));
        }
        if self.registry != me.registry {
            return Err(format!(
                "worker {} has registry fingerprint {:#018x} but this process has {:#018x}: \
                 it comes from a different build (different remote functions or signatures)",
                self.pid, self.registry, me.registry
            ));
        }
        Ok(())
    }
}

/// Worker → pool.
///
/// # Examples
///
/// ```
/// let r = concur_ipc::Reply::Done { generation: 1, results: vec![Ok(vec![5])].into() };
/// let bytes = concur_ipc::encode(&r).unwrap();
/// assert_eq!(concur_ipc::decode::<concur_ipc::Reply>(&bytes).unwrap(), r);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// Handshake.
    Hello(Hello),
    /// The initializer ran; the worker takes calls.
    Ready,
    /// The initializer failed; the worker exits.
    InitFailed(RemoteError),
    /// The results of the call with `generation`, one per item.
    Done {
        /// The call's generation.
        generation: u64,
        /// One result per item (one buffer for all the outputs).
        results: Outcomes,
    },
    /// Sent instead of a [`Hello`] by a re-executed copy of the binary that
    /// no worker guard diverted (no pre-`main` hook ran, and its `main`
    /// never called `concur_process::init()`): it reached a pool's `build`
    /// instead of the worker loop.
    MissingInit {
        /// The copy's process id.
        pid: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcomes::ItemResult;

    /// The byte-string encoding is the same on the wire as the plain
    /// `Vec<Vec<u8>>` / `Result` encoding.
    #[test]
    fn bytes_encoding_matches_plain_serde() {
        let call = Call {
            generation: 5,
            func: FnRef {
                id: 1,
                fingerprint: 2,
            },
            items: vec![vec![], vec![1, 2, 3], vec![0xff; 300]].into(),
        };
        let items: Vec<Vec<u8>> = vec![vec![], vec![1, 2, 3], vec![0xff; 300]];
        let plain = crate::encode(&(5u64, (1u64, 2u64), &items)).unwrap();
        assert_eq!(crate::encode(&call).unwrap(), plain);
        assert_eq!(crate::decode::<Call>(&plain).unwrap(), call);
        let results: Vec<ItemResult> = vec![
            Ok(vec![9, 9]),
            Err(RemoteError::new(crate::RemoteErrorKind::Panic, "&str", "x")),
        ];
        let reply = Reply::Done {
            generation: 3,
            results: results.clone().into(),
        };
        let plain = crate::encode(&(3u32, 3u64, &results)).unwrap();
        assert_eq!(crate::encode(&reply).unwrap(), plain);
        assert_eq!(crate::decode::<Reply>(&plain).unwrap(), reply);
    }
}
