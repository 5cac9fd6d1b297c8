//! Helpers for the process-pool test binaries: one libtest `#[test]` per
//! case and start method ([`process_tests!`], [`run_case`]: the cases of
//! a binary run one at a time, each checked for leftover children and
//! descriptors), the start method of the case being run, killing a worker
//! and waiting for its replacement (the process and descriptor checks come
//! from `concur-testkit`).

// Each test binary uses a part of these.
#![allow(dead_code)]

use concur_process::{ProcessPool, StartMethod, WorkerDied};
use concur_testkit::procfs::{assert_no_children, open_fds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, PoisonError};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    /// Writes a frame the worker loop never sends at this point where the
    /// pool reads the worker's replies (its socket, or its reply ring in
    /// shared memory), as a buggy or hostile task could, then holds the
    /// worker 50 ms. `kind` 0: `Ready`; 1: `Hello`; 2: a `Done` for a task
    /// it does not run; 3: a length prefix past any limit; 4 (ring only):
    /// impossible ring positions.
    pub(crate) fn stray_frame(kind: u8, into_ring: bool) -> u8 {
        let reply = match kind {
            0 => concur_ipc::Reply::Ready,
            1 => concur_ipc::Reply::Hello(concur_ipc::Hello::current(std::process::id())),
            _ => concur_ipc::Reply::Done { generation: u64::MAX, results: Default::default() },
        };
        let mut frame = Vec::new();
        concur_ipc::encode_frame(&reply, 1 << 10, &mut frame).unwrap();
        if kind == 3 {
            frame = vec![0xff, 0xff, 0xff, 0xff];
        }
        if into_ring {
            write_reply_ring(&frame, kind == 4);
        } else {
            let fd = own_socket();
            // SAFETY: writes a live buffer to a descriptor of this process.
            let n = unsafe { libc::write(fd, frame.as_ptr().cast(), frame.len()) };
            assert_eq!(n as usize, frame.len());
        }
        std::thread::sleep(Duration::from_millis(50));
        kind
    }

    /// Writes the start of a reply into its reply ring (a prefix that
    /// announces 1 MiB, and 100 bytes of it), then `SIGKILL`s itself: the
    /// worker dies in the middle of writing a reply.
    pub(crate) fn die_mid_reply() {
        let mut torn = (1u32 << 20).to_le_bytes().to_vec();
        torn.extend([7u8; 100]);
        write_reply_ring(&torn, false);
        // SAFETY: plain kill(2) of this process.
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }
}

/// The worker's socket to its pool (the only socket a worker has).
pub(crate) fn own_socket() -> i32 {
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if std::fs::read_link(entry.path())
            .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        {
            return fd;
        }
    }
    panic!("no socket in this worker");
}

/// The longest any single wait may take: a bug shows as a failure, not a
/// hang.
pub(crate) const LONG: Duration = Duration::from_secs(60);

/// 0: Spawn, 1: ForkServer — every case runs under both start methods.
pub(crate) static METHOD: AtomicU64 = AtomicU64::new(0);

/// A builder with the start method of the case being run.
pub(crate) fn builder() -> concur_process::Builder {
    let method = match METHOD.load(Ordering::SeqCst) {
        0 => StartMethod::Spawn,
        _ => StartMethod::ForkServer,
    };
    ProcessPool::builder().start_method(method)
}

/// A pool of `workers` with the start method of the case being run.
pub(crate) fn pool(workers: usize) -> ProcessPool {
    builder().max_workers(workers).build().unwrap()
}

/// The `WorkerDied` an error carries (panics if it carries none).
pub(crate) fn died(err: &concur_core::Error) -> WorkerDied {
    *err.downcast_ref::<WorkerDied>()
        .unwrap_or_else(|| panic!("not a WorkerDied: {err:?}"))
}

/// Sends `SIGKILL` to `pid`; whether it was delivered (the process existed).
///
/// The pid comes from `worker_pids()`, which the dispatcher clears right
/// after reaping: a pid reused in that window (microseconds) would be hit.
pub(crate) fn sigkill(pid: u32) -> bool {
    // SAFETY: plain kill(2) with integer arguments.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) == 0 }
}

/// Waits until `pool` has a worker whose pid is not in `old`, polling
/// without sleeping (a forked worker can finish its handshake within
/// 100 µs of its pid being published); returns it.
pub(crate) fn new_worker(pool: &ProcessPool, old: &[u32]) -> u32 {
    let deadline = Instant::now() + LONG;
    loop {
        if let Some(p) = pool.worker_pids().into_iter().find(|p| !old.contains(p)) {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no new worker within {LONG:?} (old: {old:?})"
        );
        std::hint::spin_loop();
    }
}

/// Waits until `pid` is no longer one of `pool`'s workers (it was reaped).
pub(crate) fn gone(pool: &ProcessPool, pid: u32) {
    let deadline = Instant::now() + LONG;
    while pool.worker_pids().contains(&pid) {
        assert!(Instant::now() < deadline, "worker {pid} never reaped");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Serialises the cases of one test binary: pools must not overlap, since
/// the child-process and descriptor checks look at the whole process.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `case` under the start method `method` (0: Spawn, 1: ForkServer),
/// alone in this process (other cases wait), after `setup` (once per
/// binary); then checks that it left no child process, zombie or not, and
/// no descriptor open. A case that failed before does not stop the next
/// one (the lock is not poisoned for it).
pub(crate) fn run_case(method: u64, case: fn(), setup: fn()) {
    static SETUP: Once = Once::new();
    let _alone = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    SETUP.call_once(setup);
    METHOD.store(method, Ordering::SeqCst);
    if method == 1 {
        // The zygote (kept for the program's life: two descriptors here)
        // is not the case's to leak.
        concur_process::start_fork_server().unwrap();
    }
    let fds = open_fds();
    case();
    assert_no_children();
    assert_eq!(open_fds(), fds, "descriptors leaked");
}

/// Declares one libtest `#[test]` per case and start method, named
/// `spawn::<case>` and `forkserver::<case>`, each run by [`run_case`] with
/// the binary's `setup` function:
///
/// ```ignore
/// process_tests! {
///     setup: setup;
///     both: [round_trip, crash];
///     spawn_only: [constructors_are_equivalent];
///     fork_server_only: [fork_server_death_restarts_it];
/// }
/// ```
macro_rules! process_tests {
    (
        setup: $setup:ident;
        both: [$($both:ident),* $(,)?];
        spawn_only: [$($spawn:ident),* $(,)?];
        fork_server_only: [$($fork:ident),* $(,)?];
    ) => {
        mod spawn {
            $(
                #[test]
                fn $both() {
                    crate::helpers::run_case(0, super::$both, super::$setup);
                }
            )*
            $(
                #[test]
                fn $spawn() {
                    crate::helpers::run_case(0, super::$spawn, super::$setup);
                }
            )*
        }
        mod forkserver {
            $(
                #[test]
                fn $both() {
                    crate::helpers::run_case(1, super::$both, super::$setup);
                }
            )*
            $(
                #[test]
                fn $fork() {
                    crate::helpers::run_case(1, super::$fork, super::$setup);
                }
            )*
        }
    };
}

/// The ring header's size (`ring.rs`: the writer's position at offset 0,
/// the reader's at 64, the data from 256).
const RING_HEADER: usize = 256;

/// The lines of this process's `/proc/self/maps` that map a ring segment
/// named `name` (`concur-requests`, `concur-replies`).
fn ring_lines(name: &str) -> Vec<String> {
    let tag = format!("memfd:{name}");
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&tag))
        .map(str::to_owned)
        .collect()
}

/// The start address and length of the first mapping of ring `name`.
fn ring_mapping(name: &str) -> Option<(usize, usize)> {
    let line = ring_lines(name).into_iter().next()?;
    let (start, end) = line.split_whitespace().next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    Some((start, end - start))
}

/// Writes `bytes` into this worker's reply ring as its writer would (or,
/// with `corrupt`, moves the ring's tail past its capacity).
pub(crate) fn write_reply_ring(bytes: &[u8], corrupt: bool) {
    let (start, len) = ring_mapping("concur-replies").expect("no reply ring in this worker");
    let cap = len - RING_HEADER;
    let base = start as *mut u8;
    // SAFETY: the mapping is this process's own, page-aligned and `cap +
    // RING_HEADER` bytes long; its first word is the ring's tail (an
    // `AtomicU64` the worker loop writes only while it sends a reply: not
    // now, while this task runs).
    unsafe {
        let tail = &*base.cast::<AtomicU64>();
        let t = tail.load(Ordering::SeqCst);
        if corrupt {
            tail.store(t + 2 * cap as u64, Ordering::SeqCst);
            return;
        }
        for (i, b) in bytes.iter().enumerate() {
            *base.add(RING_HEADER + (t as usize + i) % cap) = *b;
        }
        tail.store(t + bytes.len() as u64, Ordering::SeqCst);
    }
}

/// How many shared-memory ring segments this process maps (two per
/// worker on shared memory).
pub(crate) fn ring_mappings() -> usize {
    ring_lines("concur-requests").len() + ring_lines("concur-replies").len()
}

/// Bytes in flight in this process's request ring (`tail - head`; a pool
/// of one worker on shared memory has one), or `None` without one.
pub(crate) fn request_ring_fill() -> Option<u64> {
    let (start, _) = ring_mapping("concur-requests")?;
    let base = start as *const AtomicU64;
    // SAFETY: the pool's own mapping of its request ring, page-aligned,
    // alive while the pool is (the caller holds it); its words at 0 and
    // 64 are the ring's tail and head.
    let (tail, head) = unsafe {
        (
            (*base).load(Ordering::SeqCst),
            (*base.add(8)).load(Ordering::SeqCst),
        )
    };
    Some(tail.wrapping_sub(head))
}
