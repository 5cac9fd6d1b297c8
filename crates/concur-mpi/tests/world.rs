//! World mode under `mpirun`. `harness = false`: run by `cargo test`, this
//! binary is the driver, which runs itself as an MPI job
//! (`mpirun --allow-run-as-root --oversubscribe -n 3`, under `timeout`)
//! and as a one-rank singleton, and asserts on what they print and how
//! they exit. Run by `mpirun` (it sees `OMPI_COMM_WORLD_SIZE`), rank 0
//! runs every case and prints `case <name> ok` for each; ranks 1 and 2
//! are workers.

mod helpers;

use concur_core::{ErrorKind, ShutdownOptions, TaskExecutor};
use concur_mpi::{MpiPool, StartMethod};
use helpers::tasks::{checked_div, len_of, nap_pid, square, task_error_is_typed};
use helpers::{Tally, mpirun, run, strays, timed};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    fn boom(x: u8) -> u8 { if x > 0 { panic!("boom {x}") } x }

    /// The initializer: refuses 0, else keeps `x` for `remembered`.
    fn remember(x: u32) -> Result<(), String> {
        if x == 0 {
            return Err("zero refused".into());
        }
        REMEMBERED.store(x, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn remembered() -> u32 { REMEMBERED.load(std::sync::atomic::Ordering::SeqCst) }

    /// `n` bytes: over the pool's max_frame for a large `n`.
    fn big(n: usize) -> Vec<u8> { vec![7; n] }

}

static REMEMBERED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// The pool's frame limit in the main job (small, so the size errors are
/// cheap to provoke).
const MAX_FRAME: usize = 1 << 16;

const CASES: &[&str] = &[
    "build",
    "initializer",
    "round_trip",
    "batch",
    "chunked_map",
    "task_error",
    "panic",
    "as_completed_and_wait",
    "frame_too_large",
    "both_workers",
    "shutdown_cancels_queued",
    "refused_after_shutdown",
];

fn main() {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        if std::env::var_os("CONCUR_MPI_TEST_FAIL").is_some() {
            return failing_rank0();
        }
        if std::env::var_os("CONCUR_MPI_TEST_BAD_INIT").is_some() {
            return bad_initializer();
        }
        if std::env::var_os("CONCUR_MPI_TEST_NO_POOL").is_some() {
            let world = concur_mpi::init().expect("MPI init");
            drop(world);
            println!("no pool, job ended");
            return;
        }
        return ranks();
    }
    if std::env::var_os("CONCUR_MPI_TEST_SINGLETON").is_some() {
        return singleton();
    }
    driver();
}

/// Rank 0 runs the cases; the other ranks never return from `init`.
fn ranks() {
    let world = concur_mpi::init().expect("MPI init");
    // The serialized fallback is asked for by the environment; Open MPI
    // grants what is asked.
    let serialized = std::env::var("CONCUR_MPI_THREAD_LEVEL").as_deref() == Ok("serialized");
    assert_eq!(
        world.thread_multiple(),
        !serialized,
        "thread level {}",
        world.thread_level()
    );
    // World mode's workers are ranks 1..N: another count is refused, and
    // the refusal leaves the world free for the pool below.
    let err = MpiPool::builder().max_workers(5).build().unwrap_err();
    assert!(
        err.to_string().contains("max_workers(5) in world mode"),
        "{err}"
    );
    let pool = MpiPool::builder()
        .max_frame(MAX_FRAME)
        .initializer_with(remember, 41)
        .build()
        .expect("build");
    assert_eq!(
        pool.max_workers(),
        usize::try_from(world.size() - 1).unwrap()
    );
    ok("build");

    let futs = pool.submit_batch(remembered, vec![(); 20]).unwrap();
    let got: Vec<u32> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert!(got.iter().all(|v| *v == 41), "{got:?}");
    ok("initializer");

    assert_eq!(
        pool.submit_task(square, 12).unwrap().into_result().unwrap(),
        144
    );
    let n = 300u32;
    let start = Instant::now();
    for i in 0..u64::from(n) {
        assert_eq!(
            pool.submit_task(square, i).unwrap().into_result().unwrap(),
            i * i
        );
    }
    let per = start.elapsed() / n;
    println!("round trip: {per:?} per submit+result over {n} sequential calls");
    ok("round_trip");

    let futs = pool.submit_batch(square, (0..100).collect()).unwrap();
    let got: Vec<u64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(got, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
    ok("batch");

    {
        use concur_combinators::TaskExecutorExt;
        for chunksize in [1, 7, 100] {
            let out: Vec<u64> = pool
                .map_task(square, 0..500u64)
                .chunksize(chunksize)
                .run()
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(out, (0..500u64).map(|x| x * x).collect::<Vec<_>>());
        }
        // A failing item fails only itself inside a chunk.
        let out: Vec<_> = pool
            .map_task(checked_div, [(6, 3), (1, 0), (9, 3)])
            .chunksize(3)
            .run()
            .unwrap()
            .collect();
        assert_eq!(*out[0].as_ref().unwrap(), 2);
        assert_eq!(out[1].as_ref().unwrap_err().kind(), ErrorKind::Task);
        assert_eq!(*out[2].as_ref().unwrap(), 3);
    }
    ok("chunked_map");

    task_error_is_typed(&pool);
    assert_eq!(
        pool.submit_task(checked_div, (8, 2))
            .unwrap()
            .into_result()
            .unwrap(),
        4
    );
    ok("task_error");

    let err = pool
        .submit_task(boom, 3)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(err.to_string().contains("boom 3"), "{err}");
    assert_eq!(pool.submit_task(boom, 0).unwrap().into_result().unwrap(), 0);
    ok("panic");

    {
        use concur_combinators::{ReturnWhen, as_completed, wait};
        let futs: Vec<_> = [60, 1, 30]
            .into_iter()
            .map(|ms| pool.submit_task(nap_pid, ms).unwrap())
            .collect();
        let (done, _pending) = wait(&futs, None, ReturnWhen::FirstCompleted);
        assert!(!done.is_empty());
        // Every future comes out once, each with its worker's pid.
        let order: Vec<u32> = as_completed(&futs).map(|f| *f.result().unwrap()).collect();
        assert_eq!(order.len(), 3);
        assert!(futs.iter().all(|f| f.result().is_ok()));
    }
    ok("as_completed_and_wait");

    // Arguments over max_frame fail their future before anything is sent;
    // results over it are failed by the worker (the rank keeps serving).
    assert!(
        pool.submit_task(big, 0)
            .unwrap()
            .into_result()
            .unwrap()
            .is_empty()
    );
    let err = pool
        .submit_task(big, MAX_FRAME * 2)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FrameTooLarge, "{err}");
    let out = pool
        .submit_chunk(square, vec![1, 2])
        .unwrap()
        .into_result()
        .unwrap();
    let out: Vec<u64> = out.into_results().into_iter().map(Result::unwrap).collect();
    assert_eq!(out, [1, 4]);
    let huge = vec![0u8; MAX_FRAME * 2];
    let err = pool
        .submit_task(len_of, huge)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FrameTooLarge, "{err}");
    assert_eq!(
        pool.submit_task(len_of, vec![1, 2, 3])
            .unwrap()
            .into_result()
            .unwrap(),
        3
    );
    ok("frame_too_large");

    let futs: Vec<_> = (0..4)
        .map(|_| pool.submit_task(nap_pid, 100).unwrap())
        .collect();
    let mut pids: Vec<u32> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    pids.sort_unstable();
    pids.dedup();
    assert_eq!(pids.len(), 2, "tasks ran on {pids:?}");
    assert!(!pids.contains(&std::process::id()));
    ok("both_workers");

    // Two run, four wait: cancel_futures cancels the waiting ones, the
    // running ones finish, and shutdown returns after the workers exited.
    let futs: Vec<_> = (0..6)
        .map(|_| pool.submit_task(nap_pid, 200).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while futs.iter().filter(|f| f.running()).count() < 2 {
        assert!(Instant::now() < deadline, "two tasks never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
    let finished = futs.iter().filter(|f| f.result().is_ok()).count();
    let cancelled = futs.iter().filter(|f| f.cancelled()).count();
    assert_eq!((finished, cancelled), (2, 4));
    ok("shutdown_cancels_queued");

    let refused = pool.submit_task(square, 2).unwrap_err();
    assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
    assert_eq!(refused.into_task(), 2);
    ok("refused_after_shutdown");

    drop(pool);
    drop(world);
    println!("all cases ok");
}

/// Dropping the pool waits for its queued work; then rank 0 fails, and
/// its exit status must say so (mpirun passes it on).
fn failing_rank0() {
    let world = concur_mpi::init().expect("MPI init");
    let pool = MpiPool::builder().build().expect("build");
    let futs: Vec<_> = (0..4)
        .map(|_| pool.submit_task(nap_pid, 50).unwrap())
        .collect();
    drop(pool);
    assert!(
        futs.iter().all(|f| f.result().is_ok()),
        "drop did not wait for the work"
    );
    println!("drop waited for queued work");
    drop(world);
    panic!("deliberate failure of rank 0");
}

/// An initializer that fails on the ranks fails `build`, naming it and
/// keeping its error; every rank still exits.
fn bad_initializer() {
    let world = concur_mpi::init().expect("MPI init");
    let err = MpiPool::builder()
        .initializer_with(remember, 0)
        .build()
        .unwrap_err();
    assert_eq!(err.start_error().unwrap().kind(), ErrorKind::Broken);
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        text.push_str(&format!(" / {s}"));
        source = s.source();
    }
    assert!(
        text.contains("initializer") && text.contains("remember"),
        "{text}"
    );
    assert!(text.contains("zero refused"), "{text}");
    drop(world);
    println!("bad initializer refused");
}

fn ok(case: &str) {
    println!("case {case} ok");
}

/// Without mpirun: a world of one rank, on which `build` is a typed error.
fn singleton() {
    let world = concur_mpi::init().expect("singleton MPI init");
    assert_eq!(world.size(), 1);
    let world_mode = || MpiPool::builder().start_method(StartMethod::World);
    let err = world_mode().build().unwrap_err();
    assert!(err.to_string().contains("no worker ranks"), "{err}");
    // task_timeout kills ranks: refused unless the job survives that.
    let err = MpiPool::builder()
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("--enable-recovery"), "{err}");
    let err = MpiPool::builder()
        .task_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("more than zero"), "{err}");
    // Duration::MAX is no limit: the build fails only for want of ranks.
    let err = world_mode()
        .task_timeout(Duration::MAX)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no worker ranks"), "{err}");
    // MPI initialises once per process.
    let again = concur_mpi::init().unwrap_err();
    assert!(again.to_string().contains("already initialised"), "{again}");
    drop(world);
    println!("singleton ok");
}

fn driver() {
    let exe = std::env::current_exe().unwrap();
    let mut tally = Tally::new();

    for level in ["multiple", "serialized"] {
        let job = run(mpirun(120, 3)
            .args(["-x", &format!("CONCUR_MPI_THREAD_LEVEL={level}")])
            .arg(&exe));
        for case in CASES {
            let seen = job.stdout.contains(&format!("case {case} ok"));
            tally.check(&format!("mpi world ({level}) case {case}"), seen, || {
                job.dump()
            });
        }
        if let Some(line) = job.stdout.lines().find(|l| l.starts_with("round trip:")) {
            println!("  {level}: {line}");
        }
        let fine = job.code == Some(0) && job.stdout.contains("all cases ok");
        tally.check(
            &format!("mpi world ({level}) job ends cleanly"),
            fine,
            || job.dump(),
        );
    }

    let fail = run(mpirun(120, 3)
        .args(["-x", "CONCUR_MPI_TEST_FAIL=1"])
        .arg(&exe));
    let reported = !matches!(fail.code, Some(0 | 124 | 137) | None)
        && fail.stdout.contains("drop waited for queued work")
        && fail.stderr.contains("deliberate failure of rank 0");
    tally.check(
        "mpi drop waits, rank 0 failure in exit status",
        reported,
        || fail.dump(),
    );

    let bad = run(mpirun(60, 3)
        .args(["-x", "CONCUR_MPI_TEST_BAD_INIT=1"])
        .arg(&exe));
    let refused = bad.code == Some(0) && bad.stdout.contains("bad initializer refused");
    tally.check("mpi failing initializer fails build", refused, || {
        bad.dump()
    });

    let idle = run(mpirun(60, 3)
        .args(["-x", "CONCUR_MPI_TEST_NO_POOL=1"])
        .arg(&exe));
    let ended = idle.code == Some(0) && idle.stdout.contains("no pool, job ended");
    tally.check("mpi world without a pool ends", ended, || idle.dump());

    let single = run(timed(60).arg(&exe).env("CONCUR_MPI_TEST_SINGLETON", "1"));
    let refused = single.code == Some(0) && single.stdout.contains("singleton ok");
    tally.check("mpi singleton build refused", refused, || single.dump());

    let left = strays(&exe);
    tally.check("no stray ranks", left.is_empty(), || format!("{left:?}"));
    tally.finish();
}
