//! Worker ranks dying under `mpirun --enable-recovery`, in every phase of
//! their life, and rank 0 dying. `harness = false`: run by `cargo test`,
//! this binary is the driver: it runs itself as one MPI job per case
//! (`CONCUR_MPI_RECOVERY_CASE` names it), under `timeout`, and asserts on
//! what rank 0 prints, on how the job ends, and that no rank is left
//! behind.

mod helpers;

use helpers::tasks::{len_of, nap_pid, send_to_stopped_worker};

use concur_core::{ErrorKind, TaskExecutor};
use concur_mpi::MpiPool;
use helpers::{Descriptors, Tally, check_leftovers, mpirun, run, strays};
use std::time::{Duration, Instant};

use concur_testkit::fault::{kill_self, segfault};

concur_ipc::remote! {
    /// Ends this worker rank: 0 SIGKILL, 1 abort, 2 exit(3), 3 SIGSEGV.
    fn die(how: u8) -> u8 {
        match how {
            0 => kill_self(),
            1 => std::process::abort(),
            2 => std::process::exit(3),
            // A real fault: Open MPI's SIGSEGV handler returns from a
            // raised signal, so `raise` would not end the rank.
            _ => segfault(),
        }
        how
    }

    /// Returns this worker's pid, and SIGKILLs it `ms` later (it dies idle).
    fn die_later(ms: u64) -> u32 {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            kill_self();
        });
        std::process::id()
    }

    /// The initializer: the worker of world rank `rank` is killed in it.
    fn init_dies(rank: i32) {
        let mine: Option<i32> = std::env::var("OMPI_COMM_WORLD_RANK").ok().and_then(|r| r.parse().ok());
        if mine == Some(rank) {
            kill_self();
        }
    }

}

/// This machine's name, as MPI reports it (Open MPI: `gethostname`).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The pids of the tasks `pool` runs next (`n` short naps).
fn pids(pool: &MpiPool, n: usize) -> Vec<u32> {
    let futs: Vec<_> = (0..n)
        .map(|_| pool.submit_task(nap_pid, 5).unwrap())
        .collect();
    let mut pids: Vec<u32> = futs
        .into_iter()
        .map(|f| {
            f.into_result()
                .unwrap_or_else(|e| panic!("a nap failed: {e}"))
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// A task that kills its rank fails with `WorkerDied` naming the rank and
/// host; the others serve on; the last death breaks the pool.
/// A rank stops (SIGSTOP) while idle, so rank 0's next send to it, a
/// frame too large for the eager protocol, cannot complete; then the rank
/// is killed. The manager must not stay blocked in that send: the task
/// fails with `WorkerDied`, and the other rank serves on.
fn stopped() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder().build().expect("build");
    let (err, took) = send_to_stopped_worker(&pool);
    assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err}");
    println!("send to a stopped rank: failed after {took:?} (killed at 300 ms): {err}");
    assert_eq!(
        pool.submit_task(len_of, vec![1u8; 1 << 20])
            .unwrap()
            .into_result()
            .unwrap(),
        1 << 20
    );
    drop(pool);
    drop(world);
    println!("case stopped ok");
}

fn running() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder().build().expect("build");
    assert_eq!(pool.max_workers(), 3);
    assert_eq!(pids(&pool, 12).len(), 3);
    let host = hostname();
    for (how, what) in [(0u8, "SIGKILL"), (2, "exit(3)"), (3, "SIGSEGV")] {
        let start = Instant::now();
        let err = pool
            .submit_task(die, how)
            .unwrap()
            .into_result()
            .unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("worker rank ") && text.contains(&host),
            "{text}"
        );
        println!("{what}: failed after {took:?}: {text}");
        if how != 3 {
            // The other ranks serve on.
            let alive = pids(&pool, 8);
            assert!(!alive.is_empty() && !pool.is_broken());
            println!("after {what}: {} ranks serve", alive.len());
        }
    }
    // The last rank died: no worker is left, the pool is broken.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pool.is_broken() {
        assert!(Instant::now() < deadline, "pool not broken");
        std::thread::sleep(Duration::from_millis(5));
    }
    let refused = pool.submit_task(nap_pid, 1).unwrap_err();
    assert_eq!(
        refused.error().kind(),
        ErrorKind::Broken,
        "{}",
        refused.error()
    );
    assert!(
        refused
            .error()
            .to_string()
            .contains("no worker rank is left"),
        "{}",
        refused.error()
    );
    drop(pool);
    drop(world);
    println!("case running ok");
}

/// An abort while running, then a death while idle: nothing fails but the
/// aborted task, and the idle rank's death is noticed before it gets work.
fn idle() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder().build().expect("build");
    let err = pool.submit_task(die, 1).unwrap().into_result().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err}");
    println!("abort: {err}");
    let doomed = pool
        .submit_task(die_later, 30)
        .unwrap()
        .into_result()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let alive = pids(&pool, 10);
    assert_eq!(alive.len(), 1, "{alive:?}");
    assert!(!alive.contains(&doomed));
    drop(pool);
    drop(world);
    println!("case idle ok");
}

/// A rank killed in the initializer: `build` succeeds with the others.
fn initializer() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder()
        .initializer_with(init_dies, 2)
        .build()
        .expect("build");
    assert_eq!(pids(&pool, 10).len(), 1);
    drop(pool);
    drop(world);
    println!("case initializer ok");
}

/// The other processes of `exe` that share this one's parent (mpirun):
/// the job's other ranks, not the driver that started mpirun.
fn siblings(exe: &std::path::Path) -> Vec<u32> {
    let parent = std::os::unix::process::parent_id();
    strays(exe)
        .into_iter()
        .filter(|pid| ppid(*pid) == Some(parent))
        .collect()
}

/// The parent of `pid`, from `/proc/PID/stat` (the field after the
/// parenthesised command name).
fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A rank killed during its handshake (after `init`, before the pool
/// sent it `Init`): `build` succeeds with the others.
fn handshake() {
    let world = concur_mpi::init().expect("MPI init");
    // The worker ranks are the other processes of this binary.
    std::thread::sleep(Duration::from_millis(200));
    let exe = std::env::current_exe().unwrap();
    let others = siblings(&exe);
    assert_eq!(others.len(), 2, "{others:?}");
    let victim = i32::try_from(others[0]).unwrap();
    // SAFETY: kill(2) on a pid this job started.
    assert_eq!(unsafe { libc::kill(victim, libc::SIGKILL) }, 0);
    let pool = MpiPool::builder().build().expect("build");
    let alive = pids(&pool, 10);
    assert_eq!(alive.len(), 1, "{alive:?}");
    assert!(!alive.contains(&others[0]));
    drop(pool);
    drop(world);
    println!("case handshake ok");
}

/// A task past `task_timeout` fails with `Timeout`; its rank is killed and
/// retired; the pool serves on with the other.
fn timeout() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder()
        .task_timeout(Duration::from_millis(300))
        .build()
        .expect("build");
    let start = Instant::now();
    let err = pool
        .submit_task(nap_pid, 20_000)
        .unwrap()
        .into_result()
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    println!("timeout after {took:?}: {err}");
    assert_eq!(pids(&pool, 10).len(), 1);
    drop(pool);
    drop(world);
    println!("case timeout ok");
}

/// Rank 0 is killed while its workers run long tasks: they exit (their
/// watchdogs see the link close) instead of running on.
fn rank0() {
    let _world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder().build().expect("build");
    let futs: Vec<_> = (0..2)
        .map(|_| pool.submit_task(nap_pid, 60_000).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while futs.iter().filter(|f| f.running()).count() < 2 {
        assert!(Instant::now() < deadline, "two tasks never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("case rank0 running");
    // SAFETY: raise(3) ends this process.
    unsafe { libc::raise(libc::SIGKILL) };
}

const CASES: &[(&str, u32)] = &[
    ("running", 4),
    ("idle", 4),
    ("initializer", 3),
    ("handshake", 3),
    ("timeout", 3),
    ("stopped", 3),
    ("rank0", 3),
];

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        match std::env::var("CONCUR_MPI_RECOVERY_CASE").as_deref() {
            Ok("running") => running(),
            Ok("idle") => idle(),
            Ok("initializer") => initializer(),
            Ok("handshake") => handshake(),
            Ok("timeout") => timeout(),
            Ok("rank0") => rank0(),
            Ok("stopped") => stopped(),
            other => panic!("unknown case {other:?}"),
        }
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut tally = Tally::new();
    let fds = Descriptors::now();
    let only = std::env::var("CONCUR_MPI_RECOVERY_ONLY").ok();
    for (case, n) in CASES {
        if only.as_deref().is_some_and(|o| o != *case) {
            continue;
        }
        let start = Instant::now();
        let job = run(mpirun(90, *n)
            .arg("--enable-recovery")
            .args(["-x", &format!("CONCUR_MPI_RECOVERY_CASE={case}")])
            .arg(&exe));
        let took = start.elapsed();
        let fine = if *case == "rank0" {
            // The workers' 60 s tasks must not outlive rank 0 by much.
            job.stdout.contains("case rank0 running")
                && !matches!(job.code, Some(124 | 137) | None)
                && took < Duration::from_secs(30)
        } else {
            job.code == Some(0) && job.stdout.contains(&format!("case {case} ok"))
        };
        for line in job.stdout.lines().filter(|l| !l.starts_with("case ")) {
            println!("  {line}");
        }
        tally.check(
            &format!("mpi rank death: {case} ({took:.1?})"),
            fine,
            || job.dump(),
        );
        check_leftovers(&mut tally, case, &[&exe]);
    }
    fds.check(&mut tally);
    tally.finish();
}
