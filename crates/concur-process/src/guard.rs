//! The init guard: [`init`] diverts a re-executed copy of the binary into
//! the worker loop (or the fork server), as procspawn's `init()` and
//! Python's `if __name__ == "__main__"`; a copy whose `main` forgot it says
//! so to its pool ([`report_missing_init`]).

use crate::token::{Token, WORKER_ENV};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`init`] in a worker. A process-wide fact, not shared state a
/// loom model could race on, and a `static` (which loom's atomics cannot
/// be): the crate's one `std::sync` item outside concur-sync.
static IN_WORKER: AtomicBool = AtomicBool::new(false);

/// Diverts a worker process into the worker loop; returns at once in any
/// other process. Call it as the first statement of `main`, before any
/// thread is started.
///
/// In a worker (started by a [`ProcessPool`](crate::ProcessPool) with a
/// token in its environment) it serves tasks and then exits the process:
/// it never returns there.
///
/// # Examples
///
/// ```no_run
/// concur_process::init(); // the first statement of `main`
/// // ... build pools, submit work ...
/// ```
pub fn init() {
    let Some(token) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    IN_WORKER.store(true, Ordering::SeqCst);
    // SAFETY: called at the top of `main` before other threads exist (as
    // documented), so nothing reads the environment concurrently. Removing
    // the token keeps it from leaking into processes a task starts.
    unsafe { std::env::remove_var(WORKER_ENV) };
    let code = match Token::parse(token.to_str().unwrap_or("")) {
        Some(Token::Spawn(fd)) => crate::worker::run(fd),
        Some(Token::ForkServer(fd)) => crate::forkserver::serve(fd),
        None => {
            eprintln!("concur-process: malformed {WORKER_ENV} token {token:?}");
            2
        }
    };
    std::process::exit(code);
}

/// Whether this process is a pool worker (or a re-executed worker whose
/// `main` forgot to call [`init`]). Pools refuse to be built in one.
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

/// In a re-executed copy whose `main` did not call [`init`] (it reached a
/// pool's `build`): tells the pool that started it, over the descriptor in
/// the token, so the pool fails at once with advice instead of waiting for
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
        Some(Token::ForkServer(fd)) => crate::forkserver::report_missing_init(fd),
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
