//! The MPI pool next to the process pool, in one run (`harness = false`;
//! built with the `mpi` feature, which `cargo xtask bench` turns on when
//! `mpicc` is installed). Run by `cargo bench`, this binary measures the
//! process pool, then re-runs itself as `mpirun -n 2` (one worker rank)
//! and `mpirun -n 3` (two) and records rank 0's figures:
//!
//! * `mpi/roundtrip`: submit → result of a no-op, one worker (goal ≤ 10 µs);
//! * `mpi/100k_chunksize_1` and `mpi/100k_chunksize_100`: `map_task` of
//!   100k tiny tasks on two workers (goal: within 1.5× of the process pool
//!   on one machine);
//! * `mpi/spawn_roundtrip`: the round trip in spawn mode (the binary runs
//!   itself as a singleton whose pool spawns one worker), next to the
//!   process pool's round trip.
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

const GROUPS: [&str; 4] = [
    "mpi/roundtrip",
    "mpi/100k_chunksize_1",
    "mpi/100k_chunksize_100",
    "mpi/spawn_roundtrip",
];

/// Rank 0 of the MPI job: prints `figure <i> <ns>` lines for the driver.
fn rank0() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = concur_mpi::MpiPool::builder()
        .start_method(concur_mpi::StartMethod::World)
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

/// Spawn mode: a singleton (run without mpirun) whose pool spawns one
/// worker; its round trip is figure 3. The spawned worker runs this
/// binary with the same environment, and `init` diverts it.
fn spawn_singleton() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = concur_mpi::MpiPool::builder()
        .start_method(concur_mpi::StartMethod::Spawn)
        .max_workers(1)
        .build()
        .expect("spawned worker");
    if let Some(ns) = measure(&pool, true, false)[0] {
        println!("figure 3 {ns}");
    }
    drop(pool);
    drop(world);
}

/// Rank 0's figures from `mpirun -n ranks` (or, for `ranks` 0, from the
/// spawn-mode singleton).
fn mpi_figures(ranks: u32) -> Vec<(usize, f64)> {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", "600"]);
    if ranks == 0 {
        cmd.env("CONCUR_BENCH_MPI_SPAWN", "1");
    } else {
        cmd.args(["mpirun", "--allow-run-as-root", "--oversubscribe", "-n"])
            .arg(ranks.to_string());
    }
    let out = cmd.arg(&exe).output();
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
    if std::env::var_os("CONCUR_BENCH_MPI_SPAWN").is_some() {
        return spawn_singleton();
    }
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
        [rt, c1, c100, rt]
    };
    let mut mpi = [None; 4];
    let jobs = [2, 3, 0].into_iter().flat_map(mpi_figures);
    for (i, ns) in jobs {
        if let Some(slot) = mpi.get_mut(i) {
            *slot = Some(ns);
        }
    }
    for (i, group) in GROUPS.iter().enumerate() {
        let per_item = matches!(i, 1 | 2);
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
