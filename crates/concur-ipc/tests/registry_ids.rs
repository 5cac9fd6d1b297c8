//! Registry ids are unique per declaration: the same path and signature
//! declared in two places runs each body, and a true duplicate (two
//! hand-written impls with one `NAME` and `FINGERPRINT`) is refused, never
//! called.

use concur_core::{BoxError, RemoteFn};
use concur_ipc::{Call, FnRef, ItemResult, Registry, RemoteErrorKind, decode, encode};

fn run(func: FnRef, x: u64) -> ItemResult {
    Registry::global()
        .execute(&Call {
            generation: 0,
            func,
            items: vec![encode(&x).unwrap()].into(),
        })
        .get(0)
        .unwrap()
        .map(<[u8]>::to_vec)
        .map_err(Clone::clone)
}

/// One of two `f`s of this module: x + 1.
fn plus_one() -> (FnRef, &'static str) {
    concur_ipc::remote! {
        fn f(x: u64) -> u64 { x + 1 }
    }
    (FnRef::of::<f>(), <f as RemoteFn>::NAME)
}

/// The other `f` of this module: x + 100.
fn plus_hundred() -> (FnRef, &'static str) {
    concur_ipc::remote! {
        fn f(x: u64) -> u64 { x + 100 }
    }
    (FnRef::of::<f>(), <f as RemoteFn>::NAME)
}

#[test]
fn same_path_and_signature_in_two_bodies_run_their_own_body() {
    let (a, a_name) = plus_one();
    let (b, b_name) = plus_hundred();
    // The name stays the readable path; the references differ.
    assert_eq!(a_name, "registry_ids::f");
    assert_eq!(a_name, b_name);
    assert_ne!(a, b);
    assert_eq!(decode::<u64>(&run(a, 1).unwrap()).unwrap(), 2);
    assert_eq!(decode::<u64>(&run(b, 1).unwrap()).unwrap(), 101);
    // Through `resolve` + `invoke` as well.
    let reg = Registry::global().resolve(a).unwrap();
    let out = reg.invoke(&encode(&5u64).unwrap()).unwrap();
    assert_eq!(decode::<u64>(&out).unwrap(), 6);
    assert!(reg.site().unwrap().contains("registry_ids.rs"));
}

/// Two hand-written impls with the same name and fingerprint.
#[derive(Clone, Copy)]
struct Double;
impl RemoteFn for Double {
    type Args = u64;
    type Output = u64;
    const NAME: &'static str = "tests::twice";
    const FINGERPRINT: u64 = concur_ipc::fingerprint("fn(u64) -> u64");
    fn call(x: u64) -> Result<u64, BoxError> {
        Ok(2 * x)
    }
}
concur_ipc::register!(Double);

#[derive(Clone, Copy)]
struct Square;
impl RemoteFn for Square {
    type Args = u64;
    type Output = u64;
    const NAME: &'static str = "tests::twice";
    const FINGERPRINT: u64 = concur_ipc::fingerprint("fn(u64) -> u64");
    fn call(x: u64) -> Result<u64, BoxError> {
        Ok(x * x)
    }
}
concur_ipc::register!(Square);

#[test]
fn register_duplicate_is_refused_naming_both() {
    let func = FnRef::of::<Double>();
    assert_eq!(func, FnRef::of::<Square>());
    let err = run(func, 3).unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::DuplicateFunction);
    let msg = err.to_string();
    assert!(msg.contains("`tests::twice`"), "{msg}");
    assert!(
        msg.contains("`registry_ids::Double` (declared at "),
        "{msg}"
    );
    assert!(
        msg.contains("`registry_ids::Square` (declared at "),
        "{msg}"
    );
    assert!(msg.contains("registry_ids.rs:"), "{msg}");
    assert!(Registry::global().get(func).is_none());
    assert_eq!(Registry::global().check().unwrap_err(), err);
    // The other functions are unaffected.
    let (a, _) = plus_one();
    assert_eq!(decode::<u64>(&run(a, 1).unwrap()).unwrap(), 2);
}
