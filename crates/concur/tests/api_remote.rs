//! The "must compile" lines about `remote!`, as a user writes them:
//! a remote function is still a plain function in the parent, takes `&str`,
//! and any `Result` alias makes it fallible. A thread pool runs it through
//! `TaskExecutor` (in-process, so no worker processes are needed here).

use concur::combinators::TaskExecutorExt;
use concur::thread::ThreadPool;
use concur::{ErrorKind, TaskExecutor};
use std::fmt;
use std::io;

#[derive(Debug, PartialEq)]
struct MyErr(u64);

impl fmt::Display for MyErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad input {}", self.0)
    }
}

impl std::error::Error for MyErr {}

mod errors {
    pub(crate) type Result<T> = std::result::Result<T, super::MyErr>;
}

concur::remote! {
    fn is_prime(n: u64) -> bool {
        n > 1 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
    }

    fn word_count(text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn read_short(n: u64) -> io::Result<u64> {
        if n == 0 { return Err(io::Error::new(io::ErrorKind::NotFound, "no such item")) }
        Ok(n)
    }

    fn read_long(n: u64) -> std::io::Result<u64> {
        if n == 0 { return Err(io::Error::other("long zero")) }
        Ok(n + 1)
    }

    fn with_anyhow(n: u64) -> anyhow::Result<u64> {
        anyhow::ensure!(n != 0, "anyhow zero");
        Ok(n + 2)
    }

    fn concrete(n: u64) -> Result<u64, MyErr> {
        if n == 0 { Err(MyErr(n)) } else { Ok(n + 3) }
    }

    fn aliased(n: u64) -> errors::Result<u64> {
        if n == 0 { Err(MyErr(99)) } else { Ok(n + 4) }
    }
}

/// A helper the parent calls with the same function the workers run.
fn count_primes(limit: u64) -> usize {
    (0..limit).filter(|&n| is_prime(n)).count()
}

#[test]
fn a_remote_function_is_callable_in_the_parent() {
    assert!(is_prime(7));
    assert!(!is_prime(9));
    assert_eq!(count_primes(20), 8);
    let flags: Vec<bool> = [2u64, 4, 5].into_iter().map(*is_prime).collect();
    assert_eq!(flags, [true, false, true]);
}

#[test]
fn and_still_submits_as_a_remote_function() {
    let pool = ThreadPool::new(2).unwrap();
    let fut = pool.submit_task(is_prime, 7).unwrap();
    assert!(fut.into_result().unwrap());
    let out: Vec<bool> = pool
        .map_task(is_prime, [2u64, 4, 11])
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, [true, false, true]);
}

#[test]
fn borrowed_str_arguments() {
    assert_eq!(word_count("hi there"), 2);
    let pool = ThreadPool::new(2).unwrap();
    let fut = pool
        .submit_task(word_count, "hi there".to_string())
        .unwrap();
    assert_eq!(fut.into_result().unwrap(), 2);
    let lines = ["a b c", "d"].map(String::from);
    let counts: Vec<usize> = pool
        .map_task(word_count, lines)
        .run()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(counts, [3, 1]);
}

#[test]
fn every_result_alias_is_fallible() {
    let pool = ThreadPool::new(2).unwrap();
    // `Output` is the `Ok` type for each alias.
    let a: u64 = pool
        .submit_task(read_short, 1)
        .unwrap()
        .into_result()
        .unwrap();
    let b: u64 = pool
        .submit_task(read_long, 1)
        .unwrap()
        .into_result()
        .unwrap();
    let c: u64 = pool
        .submit_task(with_anyhow, 1)
        .unwrap()
        .into_result()
        .unwrap();
    let d: u64 = pool
        .submit_task(concrete, 1)
        .unwrap()
        .into_result()
        .unwrap();
    let e: u64 = pool.submit_task(aliased, 1).unwrap().into_result().unwrap();
    assert_eq!([a, b, c, d, e], [1, 2, 3, 4, 5]);
}

#[test]
fn an_err_reaches_the_parent_as_a_task_error() {
    let pool = ThreadPool::new(2).unwrap();
    let err = pool
        .submit_task(read_short, 0)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert!(err.to_string().contains("no such item"), "{err}");
    let io = err.downcast_ref::<io::Error>().unwrap();
    assert_eq!(io.kind(), io::ErrorKind::NotFound);

    let err = pool
        .submit_task(read_long, 0)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(err.to_string().contains("long zero"));
    assert!(err.downcast_ref::<io::Error>().is_some());

    let err = pool
        .submit_task(with_anyhow, 0)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    assert!(err.to_string().contains("anyhow zero"), "{err}");

    let err = pool
        .submit_task(concrete, 0)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.downcast_ref::<MyErr>(), Some(&MyErr(0)));
    let err = pool
        .submit_task(aliased, 0)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.downcast_ref::<MyErr>(), Some(&MyErr(99)));
    assert!(err.to_string().contains("bad input 99"));

    // Called directly, the declared return type is unchanged.
    assert_eq!(concrete(0), Err(MyErr(0)));
    assert!(with_anyhow(0).is_err());
}
