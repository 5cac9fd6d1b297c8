//! Running one item of a call in the worker: decode the arguments, call
//! the function, encode its output into the reply's [`Outcomes`], each
//! stage's failure (error or panic) a [`RemoteError`] saying which stage.

use crate::error::{RemoteError, RemoteErrorKind};
use crate::frame::decode;
use crate::outcomes::Outcomes;
use crate::panic_capture::{function_panic, stage_panic};
use concur_core::{BoxError, RemoteFn};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `F` on the encoded `args` and appends its result to `out`;
/// `error_type` names `F`'s task errors. Never panics.
pub(crate) fn invoke<F: RemoteFn>(
    args: &[u8],
    error_type: fn() -> &'static str,
    out: &mut Outcomes,
) {
    match call::<F>(args, error_type) {
        Ok(output) => {
            let mark = out.mark();
            let encoded = catch_unwind(AssertUnwindSafe(|| out.push_encoded(&output)));
            let ty = std::any::type_name::<F::Output>();
            let err = match encoded {
                Ok(Ok(())) => return,
                Ok(Err(e)) => RemoteError::from_error(RemoteErrorKind::EncodeResult, ty, &e),
                Err(p) => stage_panic(RemoteErrorKind::EncodeResult, ty, p),
            };
            // A panicking `Serialize` may have left part of its bytes.
            out.rollback(mark);
            out.push_err(err);
        }
        Err(e) => out.push_err(e),
    }
}

/// Decodes the arguments and calls `F`: its output, or the error of the
/// stage that failed (decoding, the task, a panic).
fn call<F: RemoteFn>(
    args: &[u8],
    error_type: fn() -> &'static str,
) -> Result<F::Output, RemoteError> {
    let ty = std::any::type_name::<F::Args>();
    let decoded = match catch_unwind(AssertUnwindSafe(|| decode::<F::Args>(args))) {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => {
            return Err(RemoteError::from_decode_error::<F::Args>(
                RemoteErrorKind::DecodeArgs,
                args,
                &e,
            ));
        }
        Err(p) => return Err(stage_panic(RemoteErrorKind::DecodeArgs, ty, p)),
    };
    match catch_unwind(AssertUnwindSafe(move || F::call(decoded))) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(task_error(e, error_type)),
        Err(p) => Err(function_panic(p)),
    }
}

/// The error for `F` returning `error`: a [`RemoteError`] it returned as
/// is, anything else as a [`RemoteErrorKind::Task`] error naming
/// `error_type`.
fn task_error(error: BoxError, error_type: fn() -> &'static str) -> RemoteError {
    match error.downcast::<RemoteError>() {
        Ok(remote) => *remote,
        Err(error) => RemoteError::from_error(RemoteErrorKind::Task, error_type(), &*error),
    }
}
