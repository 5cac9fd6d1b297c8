//! What `remote!` generates: a plain function for this process, a
//! `RemoteFn` for workers, one body for both; borrowed parameters; any
//! `Result` alias as a fallible return.

use concur_core::RemoteFn;
use concur_ipc::{Call, FnRef, ItemResult, Registry, RemoteError, RemoteErrorKind, decode, encode};
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `F` on `args` the way a worker does: by registry lookup.
fn run<F: RemoteFn>(args: &F::Args) -> ItemResult {
    Registry::global()
        .execute(&Call {
            generation: 0,
            func: FnRef::of::<F>(),
            items: vec![encode(args).unwrap()].into(),
        })
        .get(0)
        .unwrap()
        .map(<[u8]>::to_vec)
        .map_err(Clone::clone)
}

fn run_ok<F: RemoteFn>(args: &F::Args) -> F::Output {
    decode(&run::<F>(args).unwrap()).unwrap()
}

static BODY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, PartialEq)]
struct MyErr(u64);
impl fmt::Display for MyErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "my error {}", self.0)
    }
}
impl std::error::Error for MyErr {}

/// An alias whose last segment is not `Result`: infallible.
type MyOption<T> = Option<T>;

mod alias {
    pub(crate) type Result<T> = std::result::Result<T, super::MyErr>;
}

concur_ipc::remote! {
    /// Trial division.
    pub fn is_prime(n: u64) -> bool {
        BODY_RUNS.fetch_add(1, Ordering::Relaxed);
        n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }

    fn fib(n: u64) -> u64 {
        if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
    }

    fn word_count(text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn sum_slice(xs: &[u32], scale: &u32, label: &'_ str) -> String {
        format!("{label}={}", xs.iter().sum::<u32>() * scale)
    }

    fn path_len(p: &std::path::Path) -> usize {
        p.components().count()
    }

    fn bump(mut x: u8, mut y: String) -> String {
        x += 1;
        y.push('!');
        format!("{x}{y}")
    }

    fn nothing() {}

    fn io_short(x: u64) -> io::Result<u64> {
        if x == 0 { return Err(std::io::Error::other("zero")) }
        Ok(x * 2)
    }

    fn io_long(x: u64) -> std::io::Result<u64> {
        if x == 0 { return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "zero")) }
        Ok(x * 3)
    }

    fn io_rooted(x: u64) -> ::std::io::Result<u64> {
        Ok(x)
    }

    fn mine(x: u64) -> Result<u64, MyErr> {
        if x == 0 { Err(MyErr(x)) } else { Ok(x) }
    }

    fn alias_last_segment(x: u64) -> alias::Result<u64> {
        if x == 0 { Err(MyErr(7)) } else { Ok(x + 1) }
    }

    fn named_otherwise(x: u64) -> MyOption<u64> {
        Some(x)
    }

    fn boxed(x: u64) -> Result<u64, concur_core::BoxError> {
        if x == 0 { Err("boxed zero".into()) } else { Ok(x) }
    }

    fn stringly(x: u64) -> Result<u64, String> {
        if x == 0 { Err(format!("string zero {x}")) } else { Ok(x) }
    }

    fn nested_ok(x: u8) -> Result<Vec<Option<u8>>, String> {
        Ok(vec![Some(x), None])
    }

    fn returns_vec(x: u8) -> Vec<Vec<u8>> {
        vec![vec![x]]
    }
}

#[test]
fn callable_as_a_plain_function() {
    assert!(is_prime(7));
    assert!(!is_prime(8));
    assert_eq!(fib(10), 55);
    let primes: Vec<u64> = (1..20).filter(|&n| is_prime(n)).collect();
    assert_eq!(primes, [2, 3, 5, 7, 11, 13, 17, 19]);
    let as_fn: fn(u64) -> bool = *is_prime;
    assert!(as_fn(13));
    let flags: Vec<bool> = [2u64, 4].into_iter().map(*is_prime).collect();
    assert_eq!(flags, [true, false]);
    nothing();
    assert_eq!(bump(1, "a".into()), "2a!");
}

#[test]
fn one_body_for_both_paths() {
    let before = BODY_RUNS.load(Ordering::Relaxed);
    assert!(is_prime(5));
    assert!(run_ok::<is_prime>(&5));
    assert!(is_prime::call(5).unwrap());
    assert!(BODY_RUNS.load(Ordering::Relaxed) >= before + 3);
    assert_eq!(run_ok::<fib>(&12), 144);
}

#[test]
fn borrowed_arguments_are_owned_on_the_wire() {
    // Direct calls borrow.
    assert_eq!(word_count("hi there you"), 3);
    let owned = String::from("a b");
    assert_eq!(word_count(&owned), 2);
    let counts: Vec<usize> = ["a", "b c"].into_iter().map(*word_count).collect();
    assert_eq!(counts, [1, 2]);
    assert_eq!(sum_slice(&[1, 2, 3], &2, "s"), "s=12");
    assert_eq!(path_len(std::path::Path::new("a/b/c")), 3);

    // The wire types are owned.
    let _: <word_count as RemoteFn>::Args = String::from("x");
    let _: <sum_slice as RemoteFn>::Args = (vec![1u32], 1u32, String::new());
    let _: <path_len as RemoteFn>::Args = std::path::PathBuf::from("x");
    assert_eq!(run_ok::<word_count>(&"one two three".to_string()), 3);
    assert_eq!(
        run_ok::<sum_slice>(&(vec![4, 5], 10, "t".to_string())),
        "t=90"
    );
    assert_eq!(run_ok::<path_len>(&"x/y".into()), 2);
    assert_eq!(run_ok::<bump>(&(9, "z".into())), "10z!");
    run_ok::<nothing>(&());
}

fn task_error<F: RemoteFn>(args: &F::Args) -> RemoteError {
    let e = run::<F>(args).unwrap_err();
    assert_eq!(e.kind(), RemoteErrorKind::Task, "{e:?}");
    e
}

#[test]
fn every_result_alias_is_fallible() {
    fn ok_type<F: RemoteFn<Output = O>, O>() {}
    ok_type::<io_short, u64>();
    ok_type::<io_long, u64>();
    ok_type::<io_rooted, u64>();
    ok_type::<mine, u64>();
    ok_type::<alias_last_segment, u64>();
    ok_type::<named_otherwise, Option<u64>>();
    ok_type::<boxed, u64>();
    ok_type::<stringly, u64>();
    ok_type::<nested_ok, Vec<Option<u8>>>();
    ok_type::<returns_vec, Vec<Vec<u8>>>();

    assert_eq!(run_ok::<io_short>(&2), 4);
    assert_eq!(run_ok::<io_long>(&2), 6);
    assert_eq!(run_ok::<io_rooted>(&2), 2);
    assert_eq!(run_ok::<alias_last_segment>(&2), 3);
    assert_eq!(run_ok::<named_otherwise>(&2), Some(2));
    assert_eq!(run_ok::<nested_ok>(&2), vec![Some(2), None]);

    // Direct calls keep the declared return type.
    assert_eq!(mine(0), Err(MyErr(0)));
    assert_eq!(
        io_long(0).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn errors_reach_the_caller_with_message_and_type() {
    let e = task_error::<io_short>(&0);
    assert_eq!(e.message(), "zero");
    assert_eq!(e.type_name(), "std::io::error::Error");
    let e = task_error::<io_long>(&0);
    assert_eq!(e.message(), "zero");
    let e = task_error::<mine>(&0);
    assert_eq!(e.message(), "my error 0");
    assert!(e.type_name().ends_with("MyErr"), "{}", e.type_name());
    let e = task_error::<alias_last_segment>(&0);
    assert_eq!(e.message(), "my error 7");
    assert!(e.type_name().ends_with("MyErr"));
    assert_eq!(task_error::<boxed>(&0).message(), "boxed zero");
    assert_eq!(task_error::<stringly>(&0).message(), "string zero 0");
}

#[test]
fn in_process_errors_downcast_to_the_concrete_type() {
    let e = mine::call(0).unwrap_err();
    assert_eq!(e.downcast_ref::<MyErr>(), Some(&MyErr(0)));
    let e = alias_last_segment::call(0).unwrap_err();
    assert_eq!(e.downcast_ref::<MyErr>(), Some(&MyErr(7)));
    let e = io_long::call(0).unwrap_err();
    let io = e.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(
        concur_core::Error::task(e)
            .downcast_ref::<std::io::Error>()
            .unwrap()
            .kind(),
        std::io::ErrorKind::InvalidInput
    );
}

#[test]
fn fingerprints_cover_the_signature() {
    assert_ne!(word_count::FINGERPRINT, is_prime::FINGERPRINT);
    assert!(word_count::NAME.ends_with("remote_fn::word_count"));
    let reg = Registry::global().get(FnRef::of::<io_short>()).unwrap();
    assert!(reg.site().unwrap().contains("remote_fn.rs"));
}
