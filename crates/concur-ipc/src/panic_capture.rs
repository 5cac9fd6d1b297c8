//! Panics caught in a worker, as [`RemoteError`]s: the hook
//! ([`install_panic_capture`]) that records where a panic happened instead
//! of printing it, and the errors a caught payload becomes (its message and
//! type read by [`concur_core::Error::panicked`], the one place that reads
//! panic payloads).

use crate::error::{RemoteError, RemoteErrorKind};
use std::any::Any;
use std::cell::RefCell;

thread_local! {
    /// What the hook recorded for this thread's last panic (location, and
    /// the backtrace when one was captured), until an error takes it.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that records the panic's location and (when
/// `RUST_BACKTRACE` enables it) its backtrace for the [`RemoteError`] of the
/// failing call, instead of printing them. Worker processes call this once.
///
/// # Examples
///
/// ```
/// concur_ipc::install_panic_capture();
/// ```
pub fn install_panic_capture() {
    std::panic::set_hook(Box::new(|info| {
        let mut text = String::new();
        if let Some(loc) = info.location() {
            text.push_str(&format!("panicked at {loc}\n"));
        }
        let bt = std::backtrace::Backtrace::capture();
        if bt.status() == std::backtrace::BacktraceStatus::Captured {
            text.push_str(&bt.to_string());
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
    }));
}

/// Takes what the hook recorded for the panic just caught on this thread.
fn take_recorded() -> Option<String> {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .filter(|text| !text.is_empty())
}

/// The payload's type name (`&str`, `String`, `Box<dyn Any + Send>`) and
/// message, as the core reads them.
fn describe(payload: Box<dyn Any + Send>) -> (&'static str, String) {
    let panic = concur_core::Error::panicked(payload);
    let type_name = panic.panic_payload_type().unwrap_or("Box<dyn Any + Send>");
    (
        type_name,
        panic.panic_message().unwrap_or_default().to_owned(),
    )
}

/// The error for a panic of the remote function itself
/// ([`RemoteErrorKind::Panic`]): the payload's type and message, with the
/// recorded location and backtrace.
pub(crate) fn function_panic(payload: Box<dyn Any + Send>) -> RemoteError {
    let (type_name, message) = describe(payload);
    let err = RemoteError::new(RemoteErrorKind::Panic, type_name, message);
    match take_recorded() {
        Some(trace) => err.with_backtrace(trace),
        None => err,
    }
}

/// The error for a panic while decoding the arguments or encoding the
/// result (`kind`) of type `ty`: "panicked: message". The recorded trace
/// is dropped (it would point into serde), so it never reaches a later
/// error.
pub(crate) fn stage_panic(
    kind: RemoteErrorKind,
    ty: &'static str,
    payload: Box<dyn Any + Send>,
) -> RemoteError {
    let (_, message) = describe(payload);
    drop(take_recorded());
    RemoteError::new(kind, ty, format!("panicked: {message}"))
}
