//! Framing, codec and remote-function registry for concur's process
//! executors.
//!
//! Closures cannot cross a process boundary, so remote work is named:
//!
//! * [`remote!`] registers plain functions so workers can run them: each
//!   stays callable as a function here and is also a zero-sized value
//!   implementing [`concur_core::RemoteFn`] to submit; [`register!`]
//!   registers a hand-written implementation.
//! * [`Registry`] maps a [`FnRef`] (registry id, a hash of the function's
//!   name, plus a fingerprint of its signature and declaration site) to its
//!   [`Registration`]; a `FnRef` names a function in a frame. An unknown id,
//!   a mismatched signature or a duplicated declaration is a [`RemoteError`],
//!   never a call (see the naming rules of [`remote!`]).
//! * Frames are a little-endian `u32` length followed by a postcard payload
//!   ([`encode_frame`], [`read_frame`], [`write_frame`]); the length is checked
//!   against a maximum before anything is allocated, and [`decode`] rejects
//!   trailing bytes ([`FrameError`]).
//! * [`FrameReader`] reads a stream of frames through one buffer whose
//!   capacity never exceeds the limit plus the prefix: fed from a
//!   non-blocking source one read at a time ([`FrameReader::fill_from`],
//!   [`Fill`], [`FrameReader::next_frame`]) or from a blocking one
//!   ([`FrameReader::read_frame_blocking`]). A limit announced by a peer is
//!   capped with [`clamp_limit`] at [`MAX_FRAME_CEILING`].
//! * [`Request`] and [`Reply`] are the messages between a pool and a worker;
//!   [`Hello`] is the handshake carrying the registry fingerprint.
//! * [`SharedSlice`] is bulk data in a sealed memfd; encoded inside
//!   [`attach::collect`] it becomes an index into the descriptors that
//!   travel beside the frame ([`attach::Attachments`]), decoded inside
//!   [`attach::provide`]; elsewhere it is encoded as its bytes.
//!
//! # Examples
//!
//! ```
//! use concur_ipc::{Call, FnRef, Registry, Request, decode, encode, encode_frame, read_frame};
//!
//! concur_ipc::remote! {
//!     fn square(x: u64) -> u64 { x * x }
//! }
//!
//! // The pool side encodes a call into a frame...
//! let call = Request::Call(Call {
//!     generation: 1,
//!     func: FnRef::of::<square>(),
//!     items: vec![encode(&12u64).unwrap()].into(),
//! });
//! let mut wire = Vec::new();
//! encode_frame(&call, concur_ipc::DEFAULT_MAX_FRAME, &mut wire).unwrap();
//!
//! // ...the worker reads it and runs it from the registry.
//! let mut buf = Vec::new();
//! read_frame(&mut wire.as_slice(), concur_ipc::DEFAULT_MAX_FRAME, &mut buf).unwrap();
//! let Request::Call(call) = decode::<Request>(&buf).unwrap() else { unreachable!() };
//! let results = Registry::global().execute(&call);
//! assert_eq!(decode::<u64>(results.get(0).unwrap().unwrap()).unwrap(), 144);
//! ```
// docs.rs (`--cfg docsrs`, nightly) marks feature-gated items with badges.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attach;
mod build_id;
mod codec;
mod error;
mod execute;
mod fingerprint;
mod fn_ref;
mod frame;
mod invoke;
mod outcomes;
mod packed;
mod panic_capture;
mod probe;
mod reader;
mod registration;
mod registry;
mod remote_macro;
mod segment;
mod shared_slice;
mod wire;
mod wire_ref;

pub use build_id::build_id;
pub use codec::CodecError;
pub use error::{RemoteError, RemoteErrorKind};
pub use fingerprint::fingerprint;
pub use fn_ref::FnRef;
pub use frame::{
    DEFAULT_MAX_FRAME, FrameError, MAX_FRAME_CEILING, PREFIX_LEN, READ_CHUNK, clamp_limit, decode,
    encode, encode_frame, frame_len, read_frame, write_frame,
};
pub use outcomes::{ItemResult, Outcomes};
pub use packed::Packed;
pub use panic_capture::install_panic_capture;
pub use reader::{Fill, FrameReader};
pub use registration::Registration;
pub use registry::Registry;
pub use shared_slice::SharedSlice;
pub use wire::{Call, Hello, Reply, Request};
pub use wire_ref::{CallRef, PackedRef, RequestRef};

/// Version of the wire protocol; part of the handshake and of the registry
/// fingerprint.
///
/// # Examples
///
/// ```
/// assert!(concur_ipc::PROTOCOL >= 1);
/// ```
pub const PROTOCOL: u32 = 3;

#[doc(hidden)]
pub mod __private {
    pub use crate::remote_macro::{Borrowed, RemoteReturn};
    pub use concur_core::{BoxError, RemoteFn};
    pub use inventory;
    pub use std::convert::Infallible;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
