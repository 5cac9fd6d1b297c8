//! The worker guard: a copy of this binary started by a pool (the token
//! in its environment says so) is diverted into the worker loop or the
//! fork server instead of running the program, as procspawn's `init()` and
//! Python's `if __name__ == "__main__"`. On Linux with glibc the
//! pre-`main` hook does it automatically (`hook`, with the design note);
//! [`init`] is the explicit form, for platforms or builds where the hook
//! cannot run. A copy that reaches a pool's `build` undiverted says so to
//! its pool ([`report_missing_init`]).

use crate::token::{Token, WORKER_ENV};
use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`run`] in a worker. A process-wide fact, not shared state a
/// loom model could race on, and a `static` (which loom's atomics cannot
/// be): with the zygote's handle (`zygote::ZYGOTE`), one of the crate's two
/// `std::sync` items outside concur-sync.
static IN_WORKER: AtomicBool = AtomicBool::new(false);

/// Diverts a worker process into the worker loop; returns at once in any
/// other process. Optional on Linux with glibc, where a pre-`main` hook
/// does the same before `main` runs (so a worker never gets here); call it
/// as the first statement of `main`, before any thread is started, where
/// that hook is unavailable (another C library) or turned off
/// (`CONCUR_PROCESS_NO_AUTO_GUARD=1`). A pool whose workers were not
/// diverted says so when it is built, naming this function. Calling it
/// more than once, or where the hook already ran, is harmless.
///
/// In a worker (started by a [`ProcessPool`](crate::ProcessPool) with a
/// token in its environment) it serves tasks and then exits the process:
/// it never returns there.
///
/// # Examples
///
/// ```
/// concur_process::init(); // optional: returns at once outside a worker
/// concur_process::init(); // and again
/// assert!(!concur_process::is_worker_process());
/// ```
pub fn init() {
    if let Some(token) = std::env::var_os(WORKER_ENV) {
        run(token);
    }
}

/// Serves as the process the `token` names (a worker or the fork server)
/// and exits with its code. Shared by [`init`] and the pre-`main` hook; a
/// panic in the worker's own code ends it with
/// [`EXIT_PROTOCOL`](crate::worker::EXIT_PROTOCOL) instead of unwinding
/// into the caller (glibc, for the hook).
pub(crate) fn run(token: OsString) -> ! {
    IN_WORKER.store(true, Ordering::SeqCst);
    // SAFETY: called before other threads exist (at the top of `main`, as
    // documented, or before `main`), so nothing reads the environment
    // concurrently. Removing the token keeps it from leaking into
    // processes a task starts.
    unsafe { std::env::remove_var(WORKER_ENV) };
    let code = catch_unwind(AssertUnwindSafe(|| {
        match Token::parse(token.to_str().unwrap_or("")) {
            Some(Token::Spawn(fd)) => crate::worker::run(fd),
            Some(Token::Zygote(fd)) => crate::zygote::serve(fd),
            None => {
                eprintln!("concur-process: malformed {WORKER_ENV} token {token:?}");
                2
            }
        }
    }))
    .unwrap_or(crate::worker::EXIT_PROTOCOL);
    std::process::exit(code);
}

/// Whether this process is a pool worker (or a copy of the program started
/// by a pool that was not diverted into the worker loop: no pre-`main`
/// hook and no [`init`]). Pools refuse to be built in one.
///
/// # Examples
///
/// ```
/// assert!(!concur_process::is_worker_process());
/// ```
#[must_use]
pub fn is_worker_process() -> bool {
    IN_WORKER.load(Ordering::SeqCst) || std::env::var_os(WORKER_ENV).is_some()
}

/// Whether this process was diverted into the worker loop (a worker or
/// the fork server, and what they fork): a pool built here is nested.
pub(crate) fn diverted() -> bool {
    IN_WORKER.load(Ordering::SeqCst)
}

/// In a re-executed copy that was not diverted (no pre-`main` hook, and its
/// `main` did not call [`init`]; it reached a pool's `build`): tells the
/// pool that started it, over the descriptor in the token, so the pool fails at once with advice instead of waiting for
/// a handshake. Best effort: errors are ignored.
pub(crate) fn report_missing_init() {
    if IN_WORKER.load(Ordering::SeqCst) {
        return;
    }
    let Some(token) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let pid = std::process::id();
    match Token::parse(token.to_str().unwrap_or("")) {
        Some(Token::Spawn(fd)) => {
            let mut frame = Vec::new();
            let reply = concur_ipc::Reply::MissingInit { pid };
            if concur_ipc::encode_frame(&reply, 1 << 10, &mut frame).is_ok() {
                let _ = crate::sys::send_all(&Raw(fd), &frame);
            }
        }
        Some(Token::Zygote(fd)) => crate::forkserver::report_missing_init(fd),
        None => {}
    }
}

/// A borrowed raw descriptor (the token's), for `sys::send_all`.
struct Raw(i32);

impl std::os::fd::AsRawFd for Raw {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}
