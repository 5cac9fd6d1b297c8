//! A worker from a different build is refused at the handshake.
//! `harness = false`: run by `cargo test`, this binary runs the MPMD job
//! `mpirun -n 1 <this> : -n 2 <world test binary>` (under `timeout`):
//! rank 0 is this binary, whose registry differs from the `world`
//! binary's, so `build` must fail with the fingerprint message, and every
//! rank must still exit cleanly.
//!
//! The build identity: the job `mpirun -n 1 <this> : -n 1 <copy>`, where
//! the copy is this binary with one byte of its GNU build-id changed (the
//! same remote functions and signatures, "another build"): refused by
//! default, accepted with `check_build(false)`.

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
    match std::env::var("CONCUR_MPI_MISMATCH").as_deref() {
        Ok("build") => {
            let err = concur_mpi::MpiPool::builder().build().unwrap_err();
            let text = err.to_string();
            assert!(text.contains("another build"), "{text}");
            println!("refused: {text}");
            drop(world);
            println!("build mismatch ok");
            return;
        }
        Ok("build_off") => {
            use concur_core::TaskExecutor;
            let pool = concur_mpi::MpiPool::builder()
                .check_build(false)
                .build()
                .expect("the build check is off");
            let f = pool.submit_task(only_here, 7).unwrap();
            assert_eq!(f.into_result().unwrap(), 7);
            drop(pool);
            drop(world);
            println!("build check off ok");
            return;
        }
        _ => {}
    }
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

    let dir = std::env::temp_dir().join(format!("concur-mpi-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("other-build");
    let patched = patch_build_id(&me, &copy);
    tally.check("a copy with another build-id", patched, || {
        "no GNU build-id note found in this binary".into()
    });
    if patched {
        for (case, expect) in [
            ("build", "build mismatch ok"),
            ("build_off", "build check off ok"),
        ] {
            let job = run(mpirun(120, 1)
                .args(["-x", &format!("CONCUR_MPI_MISMATCH={case}")])
                .arg(&me)
                .args([":", "-n", "1"])
                .arg(&copy));
            if let Some(line) = job.stdout.lines().find(|l| l.starts_with("refused:")) {
                println!("  {line}");
            }
            let fine = job.code == Some(0) && job.stdout.contains(expect);
            tally.check(&format!("build identity: {case}"), fine, || job.dump());
            let left: Vec<u32> = [&me, &copy].iter().flat_map(|exe| strays(exe)).collect();
            tally.check(
                &format!("no stray ranks after {case}"),
                left.is_empty(),
                || format!("{left:?}"),
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    tally.finish();
}

/// Copies `from` to `to` with the last byte of its GNU build-id note
/// flipped: the note's header (name size 4, descriptor size 20, type 3,
/// "GNU\0") is found in the file's bytes. Whether one was found.
fn patch_build_id(from: &Path, to: &Path) -> bool {
    let mut bytes = std::fs::read(from).unwrap();
    let header: Vec<u8> = [4u32, 20, 3]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .chain(*b"GNU\0")
        .collect();
    let Some(at) = bytes.windows(header.len()).position(|w| w == header) else {
        return false;
    };
    bytes[at + header.len() + 19] ^= 0xff;
    std::fs::write(to, &bytes).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    true
}
