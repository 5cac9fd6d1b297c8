//! `SharedSlice` arguments and results cross to and from a worker as
//! descriptors (`SCM_RIGHTS`), over the rings' pool and the socket's: a
//! slice larger than `max_frame` goes through (as bytes it could not);
//! its contents arrive whole, both ways and round trip; many at once, in
//! batches and chunks, leave no descriptor behind in the pool while it
//! serves; a worker killed while it holds one fails only its task; bytes
//! and descriptors a worker sends on its socket on its own are a protocol
//! violation, not a hoard. Each case checks for leftover children and
//! descriptors (`helpers::run_case`).

#[macro_use]
mod helpers;

use concur_core::{ErrorKind, TaskExecutor};
use concur_ipc::SharedSlice;
use concur_testkit::leak_checked;
use concur_testkit::procfs::open_fds;
use helpers::{LONG, builder, died, sigkill, stray_frame};
use std::time::Duration;

/// Larger than the pools' `max_frame` below: only a descriptor fits.
const BIG: usize = 4 << 20;
const MAX_FRAME: usize = 1 << 20;

concur_ipc::remote! {
    fn sum_bytes(s: SharedSlice<u8>) -> u64 { s.iter().map(|&b| u64::from(b)).sum() }
    fn sum_floats(s: SharedSlice<f64>) -> f64 { s.iter().sum() }
    fn ramp(n: u64) -> SharedSlice<u32> {
        SharedSlice::build(n as usize, |s| {
            for (i, x) in s.iter_mut().enumerate() {
                *x = i as u32;
            }
        })
        .unwrap()
    }
    fn echo(s: SharedSlice<u8>, t: SharedSlice<u8>) -> (SharedSlice<u8>, SharedSlice<u8>) { (t, s) }
    fn hold_then_sleep(s: SharedSlice<u8>, ms: u64) -> u32 {
        assert!(!s.is_empty());
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }
    /// Leaves the worker without a free descriptor (it keeps them).
    fn hog_descriptors() -> usize {
        let hog = take_every_descriptor();
        let n = hog.len();
        std::mem::forget(hog);
        n
    }
    /// Sends descriptors (and a byte) over the worker's own socket.
    fn fds_on_socket(count: u32) -> u8 {
        let sock = helpers::own_socket();
        let memfds: Vec<std::os::fd::OwnedFd> = (0..count)
            .map(|_| {
                let s = SharedSlice::copy_from(b"x").unwrap();
                let (_, a) = concur_ipc::attach::collect(|| concur_ipc::encode(&s).unwrap());
                a.dup().unwrap().pop().unwrap()
            })
            .collect();
        use std::os::fd::AsRawFd;
        let raw: Vec<i32> = memfds.iter().map(|f| f.as_raw_fd()).collect();
        for chunk in raw.chunks(64) {
            let rights = [nix::sys::socket::ControlMessage::ScmRights(chunk)];
            nix::sys::socket::sendmsg::<()>(
                sock,
                &[std::io::IoSlice::new(&[0u8])],
                &rights,
                nix::sys::socket::MsgFlags::empty(),
                None,
            )
            .unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        1
    }
}

fn setup() {}

/// Lowers this process's soft descriptor limit to 8 above what is open
/// and opens `/dev/null` until `EMFILE`: every slot taken. Returns the
/// files (drop them, then `restore_limit`).
fn take_every_descriptor() -> Vec<std::fs::File> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a live struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) };
    SAVED.with(|s| s.set(lim.rlim_cur));
    lim.rlim_cur = (open_fds() + 8) as libc::rlim_t;
    // SAFETY: as above.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) };
    let mut hog = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        hog.push(f);
    }
    hog
}

thread_local! {
    static SAVED: std::cell::Cell<libc::rlim_t> = const { std::cell::Cell::new(0) };
}

fn restore_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a live struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) };
    lim.rlim_cur = SAVED.with(std::cell::Cell::get);
    // SAFETY: as above.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const lim) };
}

fn bytes(n: usize) -> SharedSlice<u8> {
    SharedSlice::build(n, |s| {
        for (i, b) in s.iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
    })
    .unwrap()
}

fn expected_sum(n: usize) -> u64 {
    (0..n).map(|i| (i % 251) as u64).sum()
}

fn both_ways(shared_memory: bool) {
    leak_checked(|| {
        let pool = builder()
            .max_workers(1)
            .max_frame(MAX_FRAME)
            .shared_memory(shared_memory)
            .build()
            .unwrap();
        assert_eq!(pool.workers_on_shared_memory() == 1, shared_memory);
        let arg = bytes(BIG);
        // Bigger than max_frame, so it can only have gone as a descriptor.
        let f = pool.submit_task(sum_bytes, arg.clone()).unwrap();
        assert_eq!(f.into_result().unwrap(), expected_sum(BIG));
        let floats = SharedSlice::copy_from(&vec![0.5f64; BIG / 8]).unwrap();
        let f = pool.submit_task(sum_floats, floats).unwrap();
        assert_eq!(f.into_result().unwrap(), (BIG / 16) as f64);
        let r = pool
            .submit_task(ramp, BIG as u64 / 4)
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(r.len(), BIG / 4);
        assert!(r.iter().enumerate().all(|(i, &x)| x == i as u32));
        // Two slices there and back, swapped; an empty one stays empty.
        let small = bytes(10);
        let (a, b) = pool
            .submit_task(echo, (arg.clone(), small.clone()))
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!((a, b), (small, arg.clone()));
        let (a, b) = pool
            .submit_task(echo, (SharedSlice::empty(), arg))
            .unwrap()
            .into_result()
            .unwrap();
        assert!(b.is_empty() && a.len() == BIG);
        // The pool serves plain calls after them, over its usual path.
        let f = pool.submit_task(sum_bytes, bytes(100)).unwrap();
        assert_eq!(f.into_result().unwrap(), expected_sum(100));
    });
}

fn both_ways_over_shared_memory() {
    both_ways(true);
}

fn both_ways_over_the_socket() {
    both_ways(false);
}

/// Batches and chunks of slices on two workers: every result right, and
/// no descriptor left in the pool once they are done (while it serves).
fn many_at_once_leave_no_descriptor() {
    leak_checked(|| {
        let pool = builder()
            .max_workers(2)
            .max_frame(MAX_FRAME)
            .build()
            .unwrap();
        let warm = pool.submit_task(sum_bytes, bytes(1)).unwrap();
        assert_eq!(warm.into_result().unwrap(), 0);
        let before = open_fds();
        let slices: Vec<SharedSlice<u8>> = (1..=40).map(|i| bytes(i * 1000)).collect();
        let with_slices = open_fds();
        assert_eq!(with_slices, before + 40);
        for _ in 0..3 {
            let futs = pool.submit_batch(sum_bytes, slices.clone()).unwrap();
            for (i, f) in futs.into_iter().enumerate() {
                assert_eq!(
                    f.result_timeout(LONG).unwrap(),
                    &expected_sum((i + 1) * 1000)
                );
            }
            let chunk = pool.submit_chunk(sum_bytes, slices.clone()).unwrap();
            let out = chunk.into_result().unwrap();
            assert_eq!(out.len(), 40);
            let results: Vec<Vec<u32>> = (0..20)
                .map(|_| pool.submit_task(ramp, 3).unwrap())
                .map(|f| f.into_result().unwrap().to_vec())
                .collect();
            assert!(results.iter().all(|r| r == &[0, 1, 2]));
        }
        assert_eq!(open_fds(), with_slices, "descriptors left in the pool");
        drop(slices);
        assert_eq!(open_fds(), before);
    });
}

/// A worker killed while it runs a task holding a slice: that task fails
/// with `WorkerDied`, the next gets a new worker, and the slice is intact.
fn killed_while_holding_a_slice() {
    leak_checked(|| {
        let pool = builder()
            .max_workers(1)
            .max_frame(MAX_FRAME)
            .build()
            .unwrap();
        let arg = bytes(BIG);
        let pid = pool
            .submit_task(hold_then_sleep, (arg.clone(), 0))
            .unwrap()
            .into_result()
            .unwrap();
        let f = pool
            .submit_task(hold_then_sleep, (arg.clone(), 60_000))
            .unwrap();
        while !f.running() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(sigkill(pid));
        let err = f.result_timeout(LONG).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err:?}");
        assert_eq!(died(&err).pid, pid);
        let g = pool.submit_task(sum_bytes, arg.clone()).unwrap();
        assert_eq!(g.into_result().unwrap(), expected_sum(BIG));
    });
}

/// Descriptors a worker sends on its socket on its own (no frame of the
/// protocol with them) are a protocol violation: its task fails, the
/// descriptors are closed (at most `MAX_ATTACHMENTS` were ever kept), and
/// the pool goes on with a new worker. A stray frame on the socket of a
/// worker on shared memory still is one, too.
fn descriptors_on_its_own_are_a_violation() {
    leak_checked(|| {
        for shared_memory in [true, false] {
            let pool = builder()
                .max_workers(1)
                .shared_memory(shared_memory)
                .build()
                .unwrap();
            let err = pool
                .submit_task(fds_on_socket, 200)
                .unwrap()
                .result_timeout(LONG)
                .unwrap_err()
                .clone();
            assert_eq!(err.kind(), ErrorKind::Protocol, "{err:?}");
            let f = pool.submit_task(sum_bytes, bytes(5000)).unwrap();
            assert_eq!(f.into_result().unwrap(), expected_sum(5000));
            if shared_memory {
                let err = pool
                    .submit_task(stray_frame, (0, false))
                    .unwrap()
                    .result_timeout(LONG)
                    .unwrap_err()
                    .clone();
                assert_eq!(err.kind(), ErrorKind::Protocol, "{err:?}");
            }
        }
    });
}

/// `EMFILE` where a shared slice arrives: a result slice reaching a pool
/// with no free descriptor, and an argument slice reaching a worker with
/// none, fail their task with a typed codec error (the frame's bytes are
/// not lost, the descriptors that could not be installed are gone); the
/// pool serves again once descriptors are free.
fn emfile_where_a_slice_arrives() {
    leak_checked(|| {
        let pool = builder().max_workers(1).build().unwrap();
        let warm = pool.submit_task(ramp, 3).unwrap().into_result().unwrap();
        assert_eq!(&warm[..], &[0, 1, 2]);
        let hog = take_every_descriptor();
        assert!(!hog.is_empty());
        let f = pool.submit_task(ramp, 3).unwrap();
        let r = f.result_timeout(LONG).cloned();
        drop(hog);
        restore_limit();
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Codec, "{err:?}");
        assert!(err.to_string().contains("attachment"), "{err}");
        let again = pool.submit_task(ramp, 2).unwrap().into_result().unwrap();
        assert_eq!(&again[..], &[0, 1]);
        // The worker at its limit: the argument cannot be installed there.
        assert!(
            pool.submit_task(hog_descriptors, ())
                .unwrap()
                .into_result()
                .unwrap()
                > 0
        );
        let err = pool
            .submit_task(sum_bytes, bytes(100))
            .unwrap()
            .result_timeout(LONG)
            .unwrap_err()
            .clone();
        assert_eq!(err.kind(), ErrorKind::Codec, "{err:?}");
        assert!(err.to_string().contains("attachment"), "{err}");
        // A plain call still works there.
        assert_eq!(
            pool.submit_task(ramp, 0)
                .unwrap()
                .into_result()
                .unwrap()
                .len(),
            0
        );
    });
}

process_tests! {
    setup: setup;
    both: [
        both_ways_over_shared_memory,
        both_ways_over_the_socket,
        many_at_once_leave_no_descriptor,
        killed_while_holding_a_slice,
        descriptors_on_its_own_are_a_violation,
        emfile_where_a_slice_arrives,
    ];
    spawn_only: [];
    fork_server_only: [];
}
