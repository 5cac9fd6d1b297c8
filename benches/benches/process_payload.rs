//! Large payloads to and from a worker process: a 100 MB `Vec<u8>`, the
//! same bytes as a `serde_bytes::ByteBuf` (encoded as one byte string, not
//! byte by byte), and a 100 MB `Vec<f64>`, as argument and as result, over
//! shared memory (the default) and, for the byte buffer, over the socket;
//! against `memcpy` of the same bytes into memory already touched (the
//! physical limit; issue 17's goal is ≥ 0.5× its bandwidth), a `clone` of
//! them (what a fresh 100 MB buffer costs: page faults), and CPython's
//! pickle through `ProcessPoolExecutor` (external, `bytes` both ways).
//! Each figure is one call's median; the rows are recorded for the report.

#![allow(missing_docs)]

mod process_common;

use concur_core::TaskExecutor;
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
