//! Codec failures read as one sentence that names the type and says what to
//! change; a type's own serde error message survives postcard; a source
//! chain is never printed twice.

use concur_ipc::{Call, FnRef, FrameError, Registry, RemoteError, RemoteErrorKind, decode, encode};
use std::fmt;

concur_ipc::remote! {
    fn keys(v: serde_json::Value) -> usize { v.as_object().map_or(0, |o| o.len()) }
}

const HINT: &str = "postcard cannot decode self-describing data (serde_json::Value, \
                    #[serde(untagged)], #[serde(flatten)], deserialize_any): use a concrete type";

#[test]
fn json_value_fails_once_with_a_hint() {
    let v = serde_json::json!({"a": 1});
    let bytes = encode(&v).unwrap();
    let err = decode::<serde_json::Value>(&bytes).unwrap_err();
    assert!(matches!(err, FrameError::Codec(_)));
    assert_eq!(err.to_string(), format!("codec error: {HINT}"));

    let remote = RemoteError::from_error(RemoteErrorKind::DecodeResult, "serde_json::Value", &err);
    assert_eq!(remote.message(), format!("codec error: {HINT}"));
    assert!(!remote.to_string().contains("PostCard"), "{remote}");

    // The same through the worker's dispatch: the type is named once.
    let out = Registry::global().execute(&Call {
        generation: 0,
        func: FnRef::of::<keys>(),
        items: vec![bytes].into(),
    });
    let e = out.get(0).unwrap().unwrap_err();
    assert_eq!(e.kind(), RemoteErrorKind::DecodeArgs);
    assert_eq!(
        e.to_string(),
        format!("argument decoding failed (serde_json::value::Value): codec error: {HINT}")
    );
}

#[derive(Debug)]
struct Inner;
impl fmt::Display for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("inner cause")
    }
}
impl std::error::Error for Inner {}

/// Prints its source in its own message (as many errors do).
#[derive(Debug)]
struct Verbose(Inner);
impl fmt::Display for Verbose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "outer failed: {}", self.0)
    }
}
impl std::error::Error for Verbose {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Leaves its source to `source()` (as the API guidelines ask).
#[derive(Debug)]
struct Terse(Verbose);
impl fmt::Display for Terse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("top")
    }
}
impl std::error::Error for Terse {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn source_chain_is_not_repeated() {
    let e = RemoteError::from_error(RemoteErrorKind::Task, "Verbose", &Verbose(Inner));
    assert_eq!(e.to_string(), "Verbose: outer failed: inner cause");
    let e = RemoteError::from_error(RemoteErrorKind::Task, "Terse", &Terse(Verbose(Inner)));
    assert_eq!(e.to_string(), "Terse: top: outer failed: inner cause");
}

/// A `Serialize` that refuses with its own words.
#[derive(Debug, serde::Deserialize)]
struct Refuses;
impl serde::Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("my own words"))
    }
}

concur_ipc::remote! {
    fn refuses(_x: u8) -> Refuses { Refuses }
}

#[test]
fn own_serialize_message_survives_postcard() {
    // The pool's path: encode the arguments, then build the remote error.
    let err = concur_ipc::Packed::new()
        .push_encoded(&(1u8, Refuses))
        .unwrap_err();
    assert_eq!(err.message(), Some("my own words"));
    let e = RemoteError::from_error(RemoteErrorKind::EncodeArgs, "(u8, Refuses)", &err);
    assert_eq!(
        e.to_string(),
        "argument encoding failed ((u8, Refuses)): my own words"
    );

    // The worker's path: the result's `Serialize` fails.
    let out = Registry::global().execute(&Call {
        generation: 0,
        func: FnRef::of::<refuses>(),
        items: vec![encode(&1u8).unwrap()].into(),
    });
    let e = out.get(0).unwrap().unwrap_err();
    assert_eq!(e.kind(), RemoteErrorKind::EncodeResult);
    assert_eq!(
        e.to_string(),
        "result encoding failed (codec_messages::Refuses): my own words"
    );
}

/// A `Deserialize` that refuses odd numbers with its own words.
#[derive(Debug, serde::Serialize)]
struct Even(u8);
impl<'de> serde::Deserialize<'de> for Even {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = <u8 as serde::Deserialize>::deserialize(d)?;
        if v % 2 == 1 {
            return Err(serde::de::Error::custom(format!("{v} is odd")));
        }
        Ok(Even(v))
    }
}

concur_ipc::remote! {
    fn halve(v: Vec<Even>) -> u8 { v.iter().map(|e| e.0 / 2).sum() }
}

#[test]
fn own_deserialize_message_survives_postcard() {
    let bytes = encode(&vec![2u8, 3]).unwrap();
    let out = Registry::global().execute(&Call {
        generation: 0,
        func: FnRef::of::<halve>(),
        items: vec![bytes.clone()].into(),
    });
    let e = out.get(0).unwrap().unwrap_err();
    assert_eq!(e.kind(), RemoteErrorKind::DecodeArgs);
    assert_eq!(
        e.to_string(),
        "argument decoding failed (alloc::vec::Vec<codec_messages::Even>): 3 is odd"
    );
    // The pool's result path can do the same.
    let err = decode::<Vec<Even>>(&bytes).unwrap_err();
    let e =
        RemoteError::from_decode_error::<Vec<Even>>(RemoteErrorKind::DecodeResult, &bytes, &err);
    assert_eq!(e.message(), "3 is odd");
}
