//! The MPI pool next to the process pool, in one run (`harness = false`;
//! built with the `mpi` feature, which `cargo xtask bench` turns on when
//! `mpicc` is installed). Run by `cargo bench`, this binary measures the
//! process pool, then re-runs itself as `mpirun -n 2` (one worker rank)
//! and `mpirun -n 3` (two) and records rank 0's figures:
//!
//! * `mpi/roundtrip`: submit → result of a no-op, one worker (goal ≤ 10 µs);
//! * `mpi/100k_chunksize_1` and `mpi/100k_chunksize_100`: `map_task` of
//!   100k tiny tasks on two workers (goal: within 1.5× of the process pool
//!   on one machine).
//!
//! The `concur` row of each group is the MPI pool, `process_pool` the
//! process pool measured by the same binary moments before.

#![allow(missing_docs)]

use concur_benches::median_ns;
use concur_combinators::TaskExecutorExt;
use concur_core::TaskExecutor;
use std::process::Command;

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x.wrapping_mul(x) }
}

const MAP_N: u64 = 100_000;

fn samples() -> usize {
    if concur_benches::quick() { 3 } else { 9 }
}

/// Round trip (ns) and `map` at chunksize 1 and 100 (ns per item) on `pool`.
fn measure<P: TaskExecutor>(pool: &P, roundtrip: bool, map: bool) -> [Option<f64>; 3] {
    let mut out = [None; 3];
    if roundtrip {
        let rt = || pool.submit_task(square, 3).unwrap().into_result().unwrap();
        assert_eq!(rt(), 9);
        let n = 2_000;
        out[0] = Some(median_ns(samples(), n, || {
            for _ in 0..n {
                rt();
            }
        }));
    }
    if map {
        for (i, chunksize) in [(1, 1usize), (2, 100)] {
            let run = || {
                let sum = pool
                    .map_task(square, 0..MAP_N)
                    .chunksize(chunksize)
                    .run()
                    .unwrap()
                    .map(Result::unwrap)
                    .fold(0u64, u64::wrapping_add);
                assert_ne!(sum, 0);
            };
            run();
            out[i] = Some(median_ns(samples().min(5), MAP_N, run));
        }
    }
    out
}

const GROUPS: [&str; 3] = [
    "mpi/roundtrip",
    "mpi/100k_chunksize_1",
    "mpi/100k_chunksize_100",
];

/// Rank 0 of the MPI job: prints `figure <i> <ns>` lines for the driver.
fn rank0() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = concur_mpi::MpiPool::builder()
        .build()
        .expect("worker ranks");
    let one = pool.max_workers() == 1;
    for (i, ns) in measure(&pool, one, !one).iter().enumerate() {
        if let Some(ns) = ns {
            println!("figure {i} {ns}");
        }
    }
    drop(pool);
    drop(world);
}

fn mpi_figures(ranks: u32) -> Vec<(usize, f64)> {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("timeout")
        .args([
            "-k",
            "5",
            "600",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
        ])
        .arg(ranks.to_string())
        .arg(&exe)
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "mpi bench: mpirun -n {ranks} failed ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
            );
            return Vec::new();
        }
        Err(e) => {
            eprintln!("mpi bench: no mpirun ({e})");
            return Vec::new();
        }
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut w = l.strip_prefix("figure ")?.split(' ');
            Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
        })
        .collect()
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        return rank0();
    }
    // `cargo bench -- --list` and friends (criterion's flags) have nothing
    // to list here.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let process = {
        let one = concur_process::ProcessPool::builder()
            .max_workers(1)
            .build()
            .unwrap();
        let rt = measure(&one, true, false)[0];
        drop(one);
        let two = concur_process::ProcessPool::builder()
            .max_workers(2)
            .build()
            .unwrap();
        let [_, c1, c100] = measure(&two, false, true);
        [rt, c1, c100]
    };
    let mut mpi = [None; 3];
    for (i, ns) in mpi_figures(2).into_iter().chain(mpi_figures(3)) {
        if let Some(slot) = mpi.get_mut(i) {
            *slot = Some(ns);
        }
    }
    for (i, group) in GROUPS.iter().enumerate() {
        let per_item = i > 0;
        for (name, ns) in [("concur", mpi[i]), ("process_pool", process[i])] {
            let Some(ns) = ns else { continue };
            if per_item {
                concur_benches::record_external_per_item(group, name, ns);
            } else {
                concur_benches::record_external(group, name, ns);
            }
        }
        if let (Some(m), Some(p)) = (mpi[i], process[i]) {
            println!(
                "{group}: MPI pool {m:.0} ns, process pool {p:.0} ns: {:.2}x",
                m / p
            );
        }
    }
}
