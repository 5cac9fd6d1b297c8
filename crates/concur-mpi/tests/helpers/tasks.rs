//! Remote functions several MPI test drivers run.

use concur_core::{Error, TaskExecutor};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    pub(crate) fn square(x: u64) -> u64 { x * x }

    pub(crate) fn checked_div(a: u32, b: u32) -> Result<u32, String> {
        a.checked_div(b).ok_or_else(|| format!("cannot divide {a} by zero"))
    }

    pub(crate) fn len_of(bytes: Vec<u8>) -> usize { bytes.len() }

    /// A shared slice crosses MPI as its bytes (no descriptors there).
    pub(crate) fn shared_sum(xs: concur_ipc::SharedSlice<f64>) -> f64 { xs.iter().sum() }
    pub(crate) fn shared_ramp(n: u32) -> concur_ipc::SharedSlice<u32> {
        concur_ipc::SharedSlice::build(n as usize, |s| {
            for (i, x) in s.iter_mut().enumerate() {
                *x = i as u32;
            }
        })
        .unwrap()
    }

    /// Sleeps, then says which worker process ran it.
    pub(crate) fn nap_pid(ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }

    /// Returns this worker's pid, and stops it (SIGSTOP) `ms` later: a
    /// worker that hangs without dying, until someone kills it.
    pub(crate) fn freeze_later(ms: u64) -> u32 {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            // SAFETY: raising a signal has no memory-safety preconditions.
            unsafe { libc::raise(libc::SIGSTOP) };
        });
        std::process::id()
    }
}

/// A task's own error (`checked_div` by zero) comes back as a typed
/// `Task` error with its message.
pub(crate) fn task_error_is_typed(pool: &impl TaskExecutor) {
    let err = pool
        .submit_task(checked_div, (1, 0))
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), concur_core::ErrorKind::Task, "{err}");
    assert!(err.to_string().contains("cannot divide 1 by zero"), "{err}");
}

/// The worker that `pool` hands the next task to is stopped (SIGSTOP)
/// while idle, sent a frame too large for MPI's eager protocol, and killed
/// 300 ms later. Returns the task's error (it must not hang) and how long
/// the submit took to fail.
pub(crate) fn send_to_stopped_worker(pool: &impl TaskExecutor) -> (Error, Duration) {
    let frozen = pool
        .submit_task(freeze_later, 20)
        .unwrap()
        .into_result()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let pid = libc::pid_t::try_from(frozen).unwrap();
        // SAFETY: signalling a process has no memory-safety preconditions.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    });
    // LIFO: the most recently freed worker, the stopped one, gets it.
    let start = Instant::now();
    let err = pool
        .submit_task(len_of, vec![1u8; 1 << 20])
        .unwrap()
        .into_result()
        .unwrap_err();
    let took = start.elapsed();
    killer.join().unwrap();
    (err, took)
}
