//! A worker from a different build is refused at the handshake.
//! `harness = false`: run by `cargo test`, this binary runs the MPMD job
//! `mpirun -n 1 <this> : -n 2 <world test binary>` (under `timeout`):
//! rank 0 is this binary, whose registry differs from the `world`
//! binary's, so `build` must fail with the fingerprint message, and every
//! rank must still exit cleanly.

use std::path::{Path, PathBuf};
use std::process::Command;

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
    let Some(world) = world_binary(&me) else {
        println!("registry mismatch refused ... FAILED: the `world` test binary is not built");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    };
    let out = Command::new("timeout")
        .args([
            "-k",
            "5",
            "120",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
        ])
        .args(["-n", "1"])
        .arg(&me)
        .args([":", "-n", "2"])
        .arg(&world)
        .output()
        .expect("start mpirun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let left = [&me, &world]
        .iter()
        .flat_map(|exe| strays(exe))
        .collect::<Vec<_>>();
    if !left.is_empty() {
        println!("registry mismatch refused ... FAILED: ranks left behind: {left:?}");
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
    if out.status.code() == Some(0) && stdout.contains("mismatch ok") {
        if let Some(line) = stdout.lines().find(|l| l.starts_with("refused:")) {
            println!("  {line}");
        }
        println!("registry mismatch refused ... ok");
        println!("1 passed, 0 failed");
    } else {
        println!("registry mismatch refused ... FAILED");
        eprintln!(
            "exit {:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        println!("0 passed, 1 failed");
        std::process::exit(1);
    }
}

/// Processes other than this one running `exe` (ranks left behind).
fn strays(exe: &Path) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let ran = std::fs::read_link(e.path().join("exe")).ok()?;
            (pid != me && ran == exe).then_some(pid)
        })
        .collect()
}
