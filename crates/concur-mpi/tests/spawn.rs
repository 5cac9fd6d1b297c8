//! Spawn mode: no `mpirun`. `harness = false`: run by `cargo test`, this
//! binary is the driver, which runs itself (under `timeout`) with
//! `CONCUR_MPI_TEST_SPAWN=1` as a one-rank singleton whose pools spawn
//! their workers with `MPI_Comm_spawn`. The workers run this binary too
//! (with the same environment), and `init` diverts them. The singleton
//! prints `case <name> ok` for each case; the driver asserts on that, on
//! the exit code, and that no worker, zombie or descriptor is left.

mod helpers;

use concur_core::{ErrorKind, ShutdownOptions, TaskExecutor};
use concur_mpi::{MpiPool, StartMethod};
use concur_testkit::fault::kill_self;
use helpers::tasks::{
    nap_pid, send_to_stopped_worker, shared_ramp, shared_sum, square, task_error_is_typed,
};
use helpers::{Descriptors, Tally, run, strays, timed};
use std::time::{Duration, Instant};

concur_ipc::remote! {
    /// Which process ran it.
    fn pid() -> u32 { std::process::id() }

    /// SIGKILLs the worker running it.
    fn die() -> u8 { kill_self(); 0 }
}

fn main() {
    if std::env::var_os("CONCUR_MPI_TEST_SPAWN").is_some() {
        return singleton();
    }
    driver();
}

fn ok(case: &str) {
    println!("case {case} ok");
}

fn singleton() {
    let world = concur_mpi::init().expect("MPI init");
    assert_eq!(world.size(), 1);
    let me = std::process::id();

    // One spawned worker: the whole protocol over it.
    let start = Instant::now();
    let pool = MpiPool::builder()
        .start_method(StartMethod::Spawn)
        .max_workers(1)
        .build()
        .expect("spawn one worker");
    println!("spawn of 1 worker: {:?}", start.elapsed());
    assert_eq!(pool.max_workers(), 1);
    let worker = pool.submit_task(pid, ()).unwrap().into_result().unwrap();
    assert_ne!(worker, me, "the task ran in a spawned process");
    let n = 300u64;
    let start = Instant::now();
    for i in 0..n {
        assert_eq!(
            pool.submit_task(square, i).unwrap().into_result().unwrap(),
            i * i
        );
    }
    println!(
        "round trip: {:?}",
        start.elapsed() / u32::try_from(n).unwrap()
    );
    let futs = pool.submit_batch(square, (0..100).collect()).unwrap();
    let got: Vec<u64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(got, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
    {
        use concur_combinators::TaskExecutorExt;
        let out: Vec<u64> = pool
            .map_task(square, 0..300u64)
            .chunksize(7)
            .run()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(out, (0..300u64).map(|x| x * x).collect::<Vec<_>>());
    }
    task_error_is_typed(&pool);
    // Shared slices travel as their bytes over MPI, both ways.
    let xs = concur_ipc::SharedSlice::copy_from(&[1.5f64, 2.5, 4.0]).unwrap();
    let sum = pool.submit_task(shared_sum, xs).unwrap().into_result();
    assert_eq!(sum.unwrap(), 8.0);
    let ramp = pool.submit_task(shared_ramp, 5).unwrap().into_result();
    assert_eq!(&ramp.unwrap()[..], &[0, 1, 2, 3, 4]);
    drop(pool);
    ok("one_worker");

    // Auto in a singleton spawns; two pools side by side.
    let a = MpiPool::builder()
        .max_workers(2)
        .build()
        .expect("auto spawns");
    let b = MpiPool::builder()
        .max_workers(1)
        .build()
        .expect("a second pool");
    let pa: Vec<u32> = a
        .submit_batch(nap_pid, vec![50, 50])
        .unwrap()
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .collect();
    let pb = b.submit_task(pid, ()).unwrap().into_result().unwrap();
    assert!(!pa.contains(&pb) && pb != me, "{pa:?} {pb}");
    b.shutdown();
    assert_eq!(a.submit_task(square, 3).unwrap().into_result().unwrap(), 9);
    drop(a);
    drop(b);
    ok("side_by_side");

    // A spawned worker killed mid-task fails its task. Open MPI ends the
    // rest of that spawn's workers with it (they are one job, and the
    // job is aborted unless recovery is on, which makes spawns hang
    // here), so the pool is broken: later work is refused, not lost.
    let pool = MpiPool::builder()
        .start_method(StartMethod::Spawn)
        .max_workers(2)
        .build()
        .expect("spawn two workers");
    let start = Instant::now();
    let err = pool
        .submit_task(die, ())
        .unwrap()
        .into_result()
        .unwrap_err();
    println!("death noticed in {:?}", start.elapsed());
    assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err}");
    assert!(err.to_string().contains("rank"), "{err}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pool.is_broken() {
        assert!(Instant::now() < deadline, "the sibling worker lived on");
        std::thread::sleep(Duration::from_millis(5));
    }
    let refused = pool.submit_task(square, 1).map(|f| f.into_result());
    assert!(
        matches!(&refused, Err(e) if e.error().kind() == ErrorKind::Broken),
        "{refused:?}"
    );
    // task_timeout kills ranks: refused without recovery.
    let err = MpiPool::builder()
        .max_workers(1)
        .task_timeout(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("--enable-recovery"), "{err}");
    drop(pool);
    ok("death");

    // A worker stopped (SIGSTOP) while idle gets a frame too large for the
    // eager protocol, then is killed: the manager gives the send up, the
    // task fails, and the send left behind does not hang the singleton's
    // finalize at the end.
    let pool = MpiPool::builder().max_workers(1).build().expect("spawn");
    let (err, took) = send_to_stopped_worker(&pool);
    assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err}");
    println!("send to a stopped worker: failed after {took:?} (killed at 300 ms)");
    drop(pool);
    ok("stopped");

    // Shutdown while work is queued, with cancel_futures; then spawn
    // again after all that.
    let pool = MpiPool::builder()
        .max_workers(1)
        .build()
        .expect("spawn after a death");
    let futs: Vec<_> = (0..10)
        .map(|_| pool.submit_task(nap_pid, 100).unwrap())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !futs[0].running() {
        assert!(Instant::now() < deadline, "the first task never started");
        std::thread::sleep(Duration::from_millis(1));
    }
    pool.shutdown_with(ShutdownOptions::new().cancel_futures(true));
    assert!(futs[0].result().is_ok(), "{:?}", futs[0].result());
    assert!(futs[9].cancelled());
    ok("shutdown_cancels_queued");

    // Shutdown in every state of a pool's life: idle (twice), with a task
    // running and without waiting, from a done-callback of its own
    // future (on the callback thread, which must not wait for itself),
    // and a drop with work queued (drains it).
    let pool = MpiPool::builder().max_workers(1).build().expect("spawn");
    pool.shutdown();
    pool.shutdown();
    assert!(pool.is_shutdown());
    let refused = pool.submit_task(square, 2).unwrap_err();
    assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
    drop(pool);

    let pool = MpiPool::builder().max_workers(1).build().expect("spawn");
    let running = pool.submit_task(nap_pid, 300).unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    while !running.running() {
        assert!(
            Instant::now() < until,
            "shutdown_states: the task never ran"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now();
    pool.shutdown_with(ShutdownOptions::new().wait(false));
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    let bound = Duration::from_secs(60);
    assert!(
        running.result_timeout(bound).is_ok(),
        "the running task still finishes"
    );
    drop(pool);

    let pool = std::sync::Arc::new(MpiPool::builder().max_workers(1).build().expect("spawn"));
    let f = pool.submit_task(square, 5).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let inner = std::sync::Arc::clone(&pool);
    f.add_done_callback(move |_| {
        inner.shutdown();
        tx.send(inner.is_shutdown()).unwrap();
    });
    assert!(rx.recv_timeout(Duration::from_secs(20)).unwrap());
    assert_eq!(*f.result_timeout(bound).unwrap(), 25);
    drop(pool);

    let pool = MpiPool::builder().max_workers(1).build().expect("spawn");
    let queued: Vec<_> = (0..5)
        .map(|i| pool.submit_task(square, i).unwrap())
        .collect();
    drop(pool);
    let got: Vec<u64> = queued
        .iter()
        .map(|f| *f.result_timeout(bound).unwrap())
        .collect();
    assert_eq!(got, [0, 1, 4, 9, 16]);
    ok("shutdown_states");

    // Out of descriptors (EMFILE) while building: a typed error or a
    // pool, never a hang or a crash; with the limit restored, a pool
    // builds and works.
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
        let open = concur_testkit::procfs::open_fds() as u64;
        let mut refused = 0;
        for spare in [0, 1, 2, 3, 4, 6] {
            let low = libc::rlimit {
                rlim_cur: open + spare,
                rlim_max: lim.rlim_max,
            };
            // SAFETY: a valid limit, at most the hard one.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
            let built = MpiPool::builder().max_workers(1).build();
            // SAFETY: restoring the limit read above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
            match built {
                Ok(pool) => {
                    let r = pool.submit_task(square, 4).unwrap().into_result();
                    println!("emfile +{spare}: built; task: {r:?}");
                }
                Err(e) => {
                    refused += 1;
                    println!("emfile +{spare}: {e}");
                }
            }
        }
        assert!(refused > 0, "the limit never bit");
        let pool = MpiPool::builder()
            .max_workers(1)
            .build()
            .expect("limit restored");
        assert_eq!(
            pool.submit_task(square, 4).unwrap().into_result().unwrap(),
            16
        );
    }
    ok("emfile");

    // Refused settings: a typed error, nothing spawned.
    let err = MpiPool::builder().max_workers(5000).build().unwrap_err();
    assert!(err.to_string().contains("at most 4096"), "{err}");
    let err = MpiPool::builder()
        .start_method(StartMethod::World)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("no worker ranks"), "{err}");
    ok("refused");

    drop(world);
    println!("all cases ok");
}

fn driver() {
    let exe = std::env::current_exe().unwrap();
    let mut tally = Tally::new();
    let fds = Descriptors::now();
    for level in ["multiple", "serialized"] {
        let start = Instant::now();
        let job = run(timed(120)
            .env("CONCUR_MPI_TEST_SPAWN", "1")
            .env("CONCUR_MPI_THREAD_LEVEL", level)
            .arg(&exe));
        let took = start.elapsed();
        for case in [
            "one_worker",
            "side_by_side",
            "death",
            "stopped",
            "shutdown_cancels_queued",
            "shutdown_states",
            "emfile",
            "refused",
        ] {
            let seen = job.stdout.contains(&format!("case {case} ok"));
            tally.check(&format!("mpi spawn ({level}) case {case}"), seen, || {
                job.dump()
            });
        }
        for line in job.stdout.lines().filter(|l| !l.starts_with("case ")) {
            println!("  {level}: {line}");
        }
        let fine = job.code == Some(0) && job.stdout.contains("all cases ok");
        tally.check(
            &format!("mpi spawn ({level}) job ends cleanly ({took:.1?})"),
            fine,
            || job.dump(),
        );
    }
    // The workers exit with the pool; give a straggler a moment.
    let mut left = strays(&exe);
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = strays(&exe);
    }
    tally.check("no stray workers after spawn mode", left.is_empty(), || {
        format!("{left:?}")
    });
    let kids = concur_testkit::procfs::children();
    tally.check("no zombie after spawn mode", kids.is_empty(), || {
        format!("{kids:?}")
    });
    fds.check(&mut tally);
    tally.finish();
}
