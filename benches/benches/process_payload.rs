//! Large payloads to and from a worker process: a 100 MB `Vec<u8>` and a
//! 100 MB `Vec<f64>`, as argument and as result, over the socket path,
//! against `memcpy` of the same bytes (the physical limit; issue 17's goal
//! is ≥ 0.5× its bandwidth) and CPython's pickle through
//! `ProcessPoolExecutor` (external, `bytes` both ways). Each figure is one
//! call's median; the rows are recorded for the report.

#![allow(missing_docs)]

mod process_common;

use concur_core::TaskExecutor;
use concur_process::ProcessPool;
use process_common::*;
use std::hint::black_box;

const BYTES: usize = 100 << 20;

concur_ipc::remote! {
    fn byte_len(v: Vec<u8>) -> u64 { v.len() as u64 }
    fn make_bytes(n: u64) -> Vec<u8> { vec![7u8; n as usize] }
    fn f64_len(v: Vec<f64>) -> u64 { v.len() as u64 }
    fn make_f64(n: u64) -> Vec<f64> { vec![0.5f64; n as usize] }
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
    let pool = ProcessPool::builder()
        .max_workers(1)
        .max_frame(BYTES * 2 + (1 << 20))
        .build()
        .unwrap();
    let bytes = vec![7u8; BYTES];
    let ns = median_ns(samples, 1, || {
        let n = pool
            .submit_task(byte_len, bytes.clone())
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(n as usize, BYTES);
    });
    // The clone is part of the call (the argument moves into the pool).
    row("u8_argument", ns, memcpy);
    let ns = median_ns(samples, 1, || {
        let v = pool
            .submit_task(make_bytes, BYTES as u64)
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(v.len(), BYTES);
    });
    row("u8_result", ns, memcpy);
    let floats = vec![0.25f64; BYTES / 8];
    let ns = median_ns(samples, 1, || {
        let n = pool
            .submit_task(f64_len, floats.clone())
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(n as usize, BYTES / 8);
    });
    row("f64_argument", ns, memcpy);
    let ns = median_ns(samples, 1, || {
        let v = pool
            .submit_task(make_f64, (BYTES / 8) as u64)
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(v.len(), BYTES / 8);
    });
    row("f64_result", ns, memcpy);
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
