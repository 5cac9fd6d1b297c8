//! Hand-written [`RemoteFn`]s for tests that submit named tasks to an
//! in-process executor (no registry involved: the executor calls
//! [`RemoteFn::call`] directly), and the task error [`TestError`].
//!
//! Each has its own `NAME` (`concur_testkit::…`) and `FINGERPRINT`, so
//! none is mistaken for another if a test registers them.

use concur_core::{BoxError, RemoteFn};
use std::fmt;

/// A task's own error type, to check that it stays downcastable.
///
/// # Examples
///
/// ```
/// let e = concur_core::Error::task(concur_testkit::TestError(3));
/// assert_eq!(e.downcast_ref(), Some(&concur_testkit::TestError(3)));
/// assert_eq!(e.to_string(), "task failed: test error 3");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestError(pub u32);

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "test error {}", self.0)
    }
}

impl std::error::Error for TestError {}

/// `u32 -> u32`: half of an even number; an odd one fails with
/// [`TestError`]`(x)`, and 13 panics with "unlucky 13" (one function for
/// the three outcomes of a task).
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
/// use concur_testkit::{Halve, TestError};
/// assert_eq!(Halve::call(84).unwrap(), 42);
/// assert_eq!(Halve::call(7).unwrap_err().downcast_ref(), Some(&TestError(7)));
/// assert!(std::panic::catch_unwind(|| Halve::call(13)).is_err());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Halve;

impl RemoteFn for Halve {
    type Args = u32;
    type Output = u32;
    const NAME: &'static str = "concur_testkit::halve";
    const FINGERPRINT: u64 = 0x4a1f;
    fn call(x: u32) -> Result<u32, BoxError> {
        match x {
            13 => panic!("unlucky {x}"),
            x if x % 2 == 1 => Err(Box::new(TestError(x))),
            x => Ok(x / 2),
        }
    }
}

/// `i64 -> i64`: the square; an overflow fails with the message
/// "overflow".
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
/// use concur_testkit::Square;
/// assert_eq!(Square::call(-12).unwrap(), 144);
/// assert_eq!(Square::call(i64::MAX).unwrap_err().to_string(), "overflow");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Square;

impl RemoteFn for Square {
    type Args = i64;
    type Output = i64;
    const NAME: &'static str = "concur_testkit::square";
    const FINGERPRINT: u64 = 0x5;
    fn call(x: i64) -> Result<i64, BoxError> {
        x.checked_mul(x).ok_or_else(|| "overflow".into())
    }
}

/// `i64 -> i64`: `100 / x`; zero fails with the message "division by
/// zero".
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
/// use concur_testkit::Inverse;
/// assert_eq!(Inverse::call(5).unwrap(), 20);
/// assert_eq!(Inverse::call(0).unwrap_err().to_string(), "division by zero");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Inverse;

impl RemoteFn for Inverse {
    type Args = i64;
    type Output = i64;
    const NAME: &'static str = "concur_testkit::inverse";
    const FINGERPRINT: u64 = 12;
    fn call(x: i64) -> Result<i64, BoxError> {
        100i64
            .checked_div(x)
            .ok_or_else(|| "division by zero".into())
    }
}

/// `u8 -> u8`: twice the number; an overflow (from 128 on) fails with the
/// message "overflow".
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
/// use concur_testkit::Double;
/// assert_eq!(Double::call(21).unwrap(), 42);
/// assert_eq!(Double::call(200).unwrap_err().to_string(), "overflow");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Double;

impl RemoteFn for Double {
    type Args = u8;
    type Output = u8;
    const NAME: &'static str = "concur_testkit::double";
    const FINGERPRINT: u64 = 0xd0;
    fn call(x: u8) -> Result<u8, BoxError> {
        x.checked_mul(2).ok_or_else(|| "overflow".into())
    }
}

/// `i32 -> i32`: the negation; never fails (`i32::MIN` overflows like
/// `-x` does).
///
/// # Examples
///
/// ```
/// use concur_core::RemoteFn;
/// assert_eq!(concur_testkit::Negate::call(4).unwrap(), -4);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Negate;

impl RemoteFn for Negate {
    type Args = i32;
    type Output = i32;
    const NAME: &'static str = "concur_testkit::negate";
    const FINGERPRINT: u64 = 3;
    fn call(x: i32) -> Result<i32, BoxError> {
        Ok(-x)
    }
}
