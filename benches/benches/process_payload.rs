//! Large payloads to and from a worker process: a 100 MB `Vec<u8>`, the
//! same bytes as a `serde_bytes::ByteBuf` (encoded as one byte string, not
//! byte by byte), and a 100 MB `Vec<f64>`, as argument and as result, over
//! shared memory (the default) and, for the byte buffer, over the socket;
//! against `memcpy` of the same bytes into memory already touched (the
//! physical limit; issue 17's goal is ≥ 0.5× its bandwidth), a `clone` of
//! them (what a fresh 100 MB buffer costs: page faults), and CPython's
//! pickle through `ProcessPoolExecutor` (external, `bytes` both ways).
//! The same 100 MB as a `concur_ipc::SharedSlice` (a sealed memfd that
//! crosses as a descriptor), of `u8` and of `f64`: as argument (one slice
//! made once and sent by handle, and one copied from a `Vec` in each
//! call) and as result (built in place by the worker), with the receiving
//! side touching every 4 KiB page (so the mapping's page faults are in the
//! figure, not skipped).
//! Each figure is one call's median; the rows are recorded for the report.

#![allow(missing_docs)]

mod process_common;

use concur_core::TaskExecutor;
use concur_ipc::SharedSlice;
use concur_process::ProcessPool;
use process_common::*;
use serde_bytes::ByteBuf;
use std::hint::black_box;

const BYTES: usize = 100 << 20;

concur_ipc::remote! {
    fn byte_len(v: Vec<u8>) -> u64 { v.len() as u64 }
    fn make_bytes(n: u64) -> Vec<u8> { vec![7u8; n as usize] }
    fn f64_len(v: Vec<f64>) -> u64 { v.len() as u64 }
    fn make_f64(n: u64) -> Vec<f64> { vec![0.5f64; n as usize] }
    fn buf_len(v: ByteBuf) -> u64 { v.len() as u64 }
    fn make_buf(n: u64) -> ByteBuf { ByteBuf::from(vec![7u8; n as usize]) }
    fn touch_bytes(s: SharedSlice<u8>) -> u64 { touch(&s) }
    fn touch_f64(s: SharedSlice<f64>) -> f64 { touch_floats(&s) }
    fn make_shared_bytes(n: u64) -> SharedSlice<u8> {
        SharedSlice::build(n as usize, |s| s.fill(7)).unwrap()
    }
    fn make_shared_f64(n: u64) -> SharedSlice<f64> {
        SharedSlice::build(n as usize, |s| s.fill(0.5)).unwrap()
    }
}

/// Reads one byte of every 4 KiB page (their sum).
fn touch(bytes: &[u8]) -> u64 {
    bytes.iter().step_by(4096).map(|&b| u64::from(b)).sum()
}

/// Reads one float of every 4 KiB page (their sum).
fn touch_floats(floats: &[f64]) -> f64 {
    floats.iter().step_by(512).sum()
}

fn row(what: &str, ns: f64, memcpy: f64) {
    let gbs = BYTES as f64 / ns;
    let ratio = memcpy / ns;
    println!(
        "process/payload: {what} {:.1} ms, {gbs:.2} GB/s: {ratio:.3}x memcpy (goal >= 0.5x: {})",
        ns / 1e6,
        if ratio >= 0.5 { "met" } else { "missed" }
    );
    concur_benches::record_external("process/payload", what, ns);
}

fn main() {
    concur_process::init();
    let samples = if concur_benches::quick() { 3 } else { 7 };
    let src = vec![3u8; BYTES];
    let mut dst = vec![0u8; BYTES];
    let memcpy = median_ns(samples, 1, || {
        dst.copy_from_slice(black_box(&src));
        black_box(&dst);
    });
    println!(
        "process/payload: memcpy 100 MB {:.1} ms, {:.2} GB/s",
        memcpy / 1e6,
        BYTES as f64 / memcpy
    );
    concur_benches::record_external("process/payload", "memcpy", memcpy);
    // Whether shared memory may have huge pages decides what a fresh
    // shared buffer costs (see `SharedSlice`).
    let shmem = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/shmem_enabled")
        .unwrap_or_else(|_| "unknown".into());
    println!(
        "process/payload: transparent huge pages for shared memory: {}",
        shmem.trim()
    );
    let bytes = vec![7u8; BYTES];
    let clone = median_ns(samples, 1, || {
        black_box(bytes.clone());
    });
    println!(
        "process/payload: clone of 100 MB (a fresh buffer) {:.1} ms: {:.3}x memcpy",
        clone / 1e6,
        memcpy / clone
    );
    concur_benches::record_external("process/payload", "clone", clone);
    let pool = |shared_memory| {
        ProcessPool::builder()
            .max_workers(1)
            .max_frame(BYTES * 2 + (1 << 20))
            .shared_memory(shared_memory)
            .build()
            .unwrap()
    };
    let shm = pool(true);
    let socket = pool(false);
    assert_eq!(shm.workers_on_shared_memory(), 1);
    let floats = vec![0.25f64; BYTES / 8];
    let n = BYTES as u64;
    // The clone is part of an argument's call (it moves into the pool).
    let arg = |pool: &ProcessPool, what: &str| {
        median_ns(samples, 1, || {
            let len = match what {
                "u8" => pool.submit_task(byte_len, bytes.clone()).unwrap(),
                "bytebuf" => pool
                    .submit_task(buf_len, ByteBuf::from(bytes.clone()))
                    .unwrap(),
                _ => pool.submit_task(f64_len, floats.clone()).unwrap(),
            }
            .into_result()
            .unwrap();
            assert_eq!(len, if what == "f64" { n / 8 } else { n });
        })
    };
    let result = |pool: &ProcessPool, what: &str| {
        median_ns(samples, 1, || {
            let len = match what {
                "u8" => pool
                    .submit_task(make_bytes, n)
                    .unwrap()
                    .into_result()
                    .unwrap()
                    .len(),
                "bytebuf" => pool
                    .submit_task(make_buf, n)
                    .unwrap()
                    .into_result()
                    .unwrap()
                    .len(),
                _ => {
                    pool.submit_task(make_f64, n / 8)
                        .unwrap()
                        .into_result()
                        .unwrap()
                        .len()
                        * 8
                }
            };
            assert_eq!(len as u64, n);
        })
    };
    for what in ["u8", "bytebuf", "f64"] {
        row(&format!("{what}_argument"), arg(&shm, what), memcpy);
        row(&format!("{what}_result"), result(&shm, what), memcpy);
    }
    let shared_u8 = SharedSlice::copy_from(&bytes).unwrap();
    let shared_f64 = SharedSlice::copy_from(&floats).unwrap();
    let pages = (BYTES / 4096) as u64;
    let shared_arg = |pool: &ProcessPool, what: &str| {
        median_ns(samples, 1, || {
            let copied = what.ends_with("_copied");
            if what.starts_with("u8") {
                let s = if copied {
                    SharedSlice::copy_from(black_box(&bytes)).unwrap()
                } else {
                    shared_u8.clone()
                };
                let sum = pool.submit_task(touch_bytes, s).unwrap().into_result();
                assert_eq!(sum.unwrap(), 7 * pages);
            } else {
                let s = if copied {
                    SharedSlice::copy_from(black_box(&floats)).unwrap()
                } else {
                    shared_f64.clone()
                };
                let sum = pool.submit_task(touch_f64, s).unwrap().into_result();
                assert_eq!(sum.unwrap(), 0.25 * pages as f64);
            }
        })
    };
    let shared_result = |pool: &ProcessPool, what: &str| {
        median_ns(samples, 1, || {
            if what == "u8" {
                let s = pool
                    .submit_task(make_shared_bytes, n)
                    .unwrap()
                    .into_result();
                assert_eq!(touch(&s.unwrap()), 7 * pages);
            } else {
                let s = pool
                    .submit_task(make_shared_f64, n / 8)
                    .unwrap()
                    .into_result();
                assert_eq!(touch_floats(&s.unwrap()), 0.5 * pages as f64);
            }
        })
    };
    for what in ["u8", "u8_copied", "f64", "f64_copied"] {
        row(
            &format!("shared_{what}_argument"),
            shared_arg(&shm, what),
            memcpy,
        );
    }
    // What building a fresh shared 100 MB costs alone (memfd pages are
    // allocated and zeroed on first touch; shmem gets no huge pages here):
    // a result's figure is this plus the crossing.
    let build = median_ns(samples, 1, || {
        black_box(SharedSlice::<u8>::build(BYTES, |s| s.fill(7)).unwrap());
    });
    println!(
        "process/payload: SharedSlice::build of 100 MB here (a fresh shared buffer) {:.1} ms: \
         {:.3}x memcpy",
        build / 1e6,
        memcpy / build
    );
    concur_benches::record_external("process/payload", "shared_build", build);
    for what in ["u8", "f64"] {
        row(
            &format!("shared_{what}_result"),
            shared_result(&shm, what),
            memcpy,
        );
    }
    row(
        "shared_u8_argument_socket",
        shared_arg(&socket, "u8"),
        memcpy,
    );
    row("bytebuf_argument_socket", arg(&socket, "bytebuf"), memcpy);
    row("bytebuf_result_socket", result(&socket, "bytebuf"), memcpy);
    for (mode, name) in [
        ("argument", "cpython_argument"),
        ("result", "cpython_result"),
    ] {
        if let Some(py) = cpython(&["payload", mode]) {
            concur_benches::record_external("process/payload", name, py);
            println!(
                "process/payload: CPython pickle, bytes {mode} {:.1} ms: {:.3}x memcpy",
                py / 1e6,
                memcpy / py
            );
        }
    }
}
