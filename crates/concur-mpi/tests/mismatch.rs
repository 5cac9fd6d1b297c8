//! A worker from a different build is refused at the handshake.
//! `harness = false`: run by `cargo test`, this binary runs the MPMD job
//! `mpirun -n 1 <this> : -n 2 <world test binary>` (under `timeout`):
//! rank 0 is this binary, whose registry differs from the `world`
//! binary's, so `build` must fail with the fingerprint message, and every
//! rank must still exit cleanly.

mod helpers;

use helpers::{Tally, mpirun, run, strays};
use std::path::{Path, PathBuf};

concur_ipc::remote! {
    /// Only in this binary: its registry fingerprint differs from `world`'s.
    fn only_here(x: u8) -> u8 { x }
}

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        return rank0();
    }
    driver();
}

fn rank0() {
    let world = concur_mpi::init().expect("MPI init");
    let err = concur_mpi::MpiPool::builder().build().unwrap_err();
    let start = err.start_error().expect("a start error");
    assert_eq!(start.kind(), concur_core::ErrorKind::Broken);
    let text = err.to_string();
    assert!(text.contains("refused at handshake"), "{text}");
    assert!(text.contains("different build"), "{text}");
    println!("refused: {text}");
    drop(world);
    println!("mismatch ok");
}

/// The newest `world-<hash>` executable next to this binary (cargo builds
/// every test target of the package before running any).
fn world_binary(me: &Path) -> Option<PathBuf> {
    let dir = me.parent()?;
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("world-") && !n.contains('.'))
        })
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
}

fn driver() {
    let me = std::env::current_exe().unwrap();
    let mut tally = Tally::new();
    let Some(world) = world_binary(&me) else {
        tally.check("registry mismatch refused", false, || {
            "the `world` test binary is not built".into()
        });
        return tally.finish();
    };
    // mpirun's `-n` comes from `mpirun(.., 1)`; the second app follows `:`.
    let job = run(mpirun(120, 1).arg(&me).args([":", "-n", "2"]).arg(&world));
    if let Some(line) = job.stdout.lines().find(|l| l.starts_with("refused:")) {
        println!("  {line}");
    }
    let refused = job.code == Some(0) && job.stdout.contains("mismatch ok");
    tally.check("registry mismatch refused", refused, || job.dump());
    let left: Vec<u32> = [&me, &world].iter().flat_map(|exe| strays(exe)).collect();
    tally.check("no stray ranks after the mismatch", left.is_empty(), || {
        format!("{left:?}")
    });
    tally.finish();
}
