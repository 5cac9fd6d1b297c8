//! Shared by the `process_*` benches: the remote functions, a raw pipe
//! ping-pong between two processes (the physical limit of a round trip),
//! and a median helper. Each bench's `main` calls `concur_process::init()`
//! first, so the bench binary is its own worker.

#![allow(dead_code, unreachable_pub)]

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

concur_ipc::remote! {
    pub fn square(x: u64) -> u64 { x.wrapping_mul(x) }

    /// Primes `k < limit` with `k % jobs == job` (equal work per job), by
    /// trial division: the same algorithm as `benches/python/process_pool.py`.
    pub fn count_primes(job: u64, limit: u64, jobs: u64) -> u64 {
        let mut count = u64::from(job == 2);
        let mut k = job;
        while k < limit {
            if k >= 3 && k % 2 == 1 {
                let mut d = 3;
                let mut prime = true;
                while d * d <= k {
                    if k % d == 0 {
                        prime = false;
                        break;
                    }
                    d += 2;
                }
                count += u64::from(prime);
            }
            k += jobs;
        }
        count
    }
}

/// Median of `samples` runs of `f`, per operation (one home for all benches).
pub use concur_benches::median_ns;

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out-array of two ints.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: two fresh descriptors we own.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Pins the calling thread (`pid` 0) or process `pid` to `cpu`; returns
/// the previous mask so it can be restored. `None` if pinning failed (one
/// CPU only, or not allowed).
pub fn pin(pid: libc::pid_t, cpu: usize) -> Option<libc::cpu_set_t> {
    // SAFETY: `cpu_set_t` is plain data; the libc calls get valid pointers
    // to masks of the size they are told.
    unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(pid, size_of::<libc::cpu_set_t>(), &mut old) != 0 {
            return None;
        }
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        if libc::sched_setaffinity(pid, size_of::<libc::cpu_set_t>(), &one) != 0 {
            return None;
        }
        Some(old)
    }
}

/// Restores a mask returned by [`pin`].
pub fn unpin(pid: libc::pid_t, old: libc::cpu_set_t) {
    // SAFETY: as in `pin`.
    unsafe {
        libc::sched_setaffinity(pid, size_of::<libc::cpu_set_t>(), &old);
    }
}

/// Where the two ends of a [`RawPipe`] run while it is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Parent on CPU 0, child on CPU 1: every message wakes a process on
    /// the other core (the case of a worker running in parallel).
    CrossCpu,
    /// Both on CPU 0: a message only switches context on one core.
    SameCpu,
}

/// Runs `f` with this thread and the pipe's child pinned per `placement`;
/// runs it unpinned if pinning is not possible.
pub fn placed<T>(raw: &RawPipe, placement: Placement, f: impl FnOnce() -> T) -> T {
    let child_cpu = match placement {
        Placement::CrossCpu => 1,
        Placement::SameCpu => 0,
    };
    let me = pin(0, 0);
    let child = pin(raw.pid, child_cpu);
    let out = f();
    if let Some(old) = child {
        unpin(raw.pid, old);
    }
    if let Some(old) = me {
        unpin(0, old);
    }
    out
}

/// A forked child echoing 8-byte messages over two pipes.
pub struct RawPipe {
    to_child: OwnedFd,
    from_child: OwnedFd,
    pid: libc::pid_t,
}

impl RawPipe {
    pub fn start() -> Self {
        let (req_r, req_w) = pipe();
        let (rep_r, rep_w) = pipe();
        // SAFETY: the child only calls async-signal-safe functions (read,
        // write, _exit) before it exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // Close our copies of the parent's ends, so its close is our EOF.
            // SAFETY: closing descriptors this child owns a copy of.
            unsafe {
                libc::close(req_w.as_raw_fd());
                libc::close(rep_r.as_raw_fd());
            }
            let mut buf = [0u8; 8];
            loop {
                // SAFETY: reads/writes 8 bytes into/from a live buffer.
                let n = unsafe { libc::read(req_r.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
                if n <= 0 {
                    // SAFETY: leaves the child without running destructors.
                    unsafe { libc::_exit(0) };
                }
                // SAFETY: as above.
                unsafe { libc::write(rep_w.as_raw_fd(), buf.as_ptr().cast(), 8) };
            }
        }
        drop(req_r);
        drop(rep_w);
        Self {
            to_child: req_w,
            from_child: rep_r,
            pid,
        }
    }

    /// One ping-pong.
    pub fn round_trip(&self, v: u64) -> u64 {
        let mut buf = v.to_le_bytes();
        // SAFETY: 8 bytes from/into a live buffer.
        unsafe {
            assert_eq!(
                libc::write(self.to_child.as_raw_fd(), buf.as_ptr().cast(), 8),
                8
            );
            assert_eq!(
                libc::read(self.from_child.as_raw_fd(), buf.as_mut_ptr().cast(), 8),
                8
            );
        }
        u64::from_le_bytes(buf)
    }
}

impl Drop for RawPipe {
    fn drop(&mut self) {
        // Closing the request pipe makes the child exit; then reap it.
        // SAFETY: dup of a live descriptor replaced by closing ours.
        let fd = std::mem::replace(&mut self.to_child, unsafe {
            OwnedFd::from_raw_fd(libc::dup(self.from_child.as_raw_fd()))
        });
        drop(fd);
        let mut status = 0;
        // SAFETY: waits for our own child.
        unsafe { libc::waitpid(self.pid, &mut status, 0) };
    }
}

/// Reads a number from the flat JSON object the CPython script prints.
pub fn cpython(args: &[&str]) -> Option<f64> {
    let out = concur_benches::run_python("process_pool.py", args)?;
    concur_benches::parse_key(&out, "median_ns")
}
