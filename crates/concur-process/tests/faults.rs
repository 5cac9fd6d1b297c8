//! Fault injection against the process pool: workers are `SIGKILL`ed in
//! every phase of their life (starting, in the initializer, idle, running,
//! retiring, at random under load), and new workers are made impossible to
//! start for a while (`EMFILE`). The pool must never break: every task
//! ends with its value or `WorkerDied`, and nothing is left behind (no
//! child, zombie or not; no descriptor).
//!
//! Plain libtest `#[test]`s, as `tests/pool.rs`: one per case and start
//! method, run one at a time (`helpers::run_case`), with no `init()`.
//! `CONCUR_STRESS=1` runs the full-size random-kill load (100k tasks, 1000
//! kills; `cargo xtask stress`). `CONCUR_FAULTS_SEED=N` makes the random
//! choices (pauses, victims, batch sizes) of a run again (a failing case
//! prints its seed); the timing of the pool still varies.

#[macro_use]
mod helpers;

use concur_core::{ErrorKind, TaskExecutor};
use concur_process::{ExitCause, ProcessPool};
use concur_testkit::leak_checked;
use helpers::{
    LONG, METHOD, builder, die_mid_reply, died, gone, new_worker, pool, request_ring_fill,
    ring_mappings, sigkill,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

// ---------------------------------------------------------------- functions

/// The pid of the worker whose initializer finished (0: it never ran).
static INITIALIZED: AtomicU64 = AtomicU64::new(0);

/// How long `slow_init` sleeps.
const INIT_TIME: Duration = Duration::from_millis(300);

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn worker_pid() -> u32 { std::process::id() }
    /// Leaves a file named by its pid in `dir` when it starts.
    fn slow_init(dir: String) {
        std::fs::write(PathBuf::from(dir).join(std::process::id().to_string()), b"").unwrap();
        std::thread::sleep(INIT_TIME);
        INITIALIZED.store(u64::from(std::process::id()), Ordering::SeqCst);
    }
    /// (the pid whose initializer ran in this process, this pid)
    fn initialized() -> (u64, u64) {
        (INITIALIZED.load(Ordering::SeqCst), u64::from(std::process::id()))
    }
    /// Holds its worker for a long time; the argument's length.
    fn hold(bytes: Vec<u8>) -> usize {
        std::thread::sleep(Duration::from_secs(30));
        bytes.len()
    }
}

// ------------------------------------------------------------------ helpers

/// Whether to run at full size (`CONCUR_STRESS=1`).
fn stress() -> bool {
    std::env::var("CONCUR_STRESS").is_ok_and(|v| v == "1")
}

/// The seed of this run's random choices (`CONCUR_FAULTS_SEED`, or the
/// clock), printed so that a failing case shows it.
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        std::env::var("CONCUR_FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            })
    });
    let size = if stress() { "stress" } else { "default" };
    println!("    {size} size, seed {seed} (CONCUR_FAULTS_SEED={seed} repeats the choices)");
    seed
}

/// xorshift64*: a reproducible schedule without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sets the flag when dropped, also on unwind: stops a helper thread.
struct SetOnDrop<'a>(&'a AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Whether `pid` is alive and not a zombie (read from /proc).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        let state = s
            .rsplit_once(')')
            .and_then(|(_, r)| r.trim_start().chars().next());
        !matches!(state, Some('Z' | 'X') | None)
    })
}

/// Waits until `pool` has `n` workers, all alive: none killed and not yet
/// reaped (such a worker, idle in the pool's book, would be handed a task
/// that then fails with `WorkerDied`, as documented).
fn settled(pool: &ProcessPool, n: usize) {
    std::thread::sleep(Duration::from_millis(20));
    let deadline = Instant::now() + LONG;
    loop {
        let pids = pool.worker_pids();
        if pids.len() == n && pids.iter().all(|&p| alive(p)) {
            return;
        }
        assert!(Instant::now() < deadline, "workers never settled: {pids:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A task's outcome under kills: its value, or `WorkerDied` by `SIGKILL`.
/// Returns whether it died; panics on anything else (a hang shows as the
/// timeout of `result_timeout`).
fn value_or_killed(x: u64, fut: &concur_core::Future<u64>) -> bool {
    match fut.result_timeout(LONG) {
        Ok(&v) => {
            assert_eq!(v, x * x, "wrong value for {x}");
            false
        }
        Err(e) if e.kind() == ErrorKind::WorkerDied => {
            assert_eq!(
                died(&e).cause,
                ExitCause::Signal(libc::SIGKILL),
                "task {x}: {e}"
            );
            true
        }
        Err(e) if e.kind() == ErrorKind::Timeout => {
            panic!("task {x} hangs: unfinished after {LONG:?}")
        }
        Err(e) => panic!("task {x}: unexpected error {:?}: {e}", e.kind()),
    }
}

fn submit(pool: &ProcessPool, x: u64) -> concur_core::Future<u64> {
    pool.submit_task(square, x)
        .unwrap_or_else(|e| panic!("submit refused: {:?}: {}", e.error().kind(), e.error()))
}

/// Runs `n` squares on `pool`, each of which must succeed.
fn serves(pool: &ProcessPool, n: u64) {
    let futs: Vec<_> = (0..n).map(|x| (x, submit(pool, x))).collect();
    for (x, f) in futs {
        assert_eq!(f.result_timeout(LONG).unwrap(), &(x * x));
    }
}

// -------------------------------------------------------------------- cases

/// Another thread `SIGKILL`s a random worker (in whatever phase: starting,
/// handshake, idle, running, retiring) at random short intervals while
/// this one submits small tasks, one by one and in batches, and collects
/// them. The pool never breaks and every task has its value or died by
/// `SIGKILL`.
fn random_kills_under_load() {
    let (tasks, kills) = if stress() {
        (100_000, 1000)
    } else {
        (5_000, 50)
    };
    let workers = 4;
    leak_checked(|| {
        let pool = pool(workers);
        let seed = seed();
        let landed = AtomicU64::new(0);
        let killer_done = AtomicBool::new(false);
        let stop = AtomicBool::new(false);
        let start = Instant::now();
        let (submitted, deaths) = std::thread::scope(|s| {
            let _stop = SetOnDrop(&stop);
            s.spawn(|| {
                let _done = SetOnDrop(&killer_done);
                let mut rng = Rng::new(seed ^ 0x5EED);
                while landed.load(Ordering::SeqCst) < kills && !stop.load(Ordering::SeqCst) {
                    // One pause in four is none: the victim is then often
                    // the replacement of the last one, still starting.
                    if rng.below(4) != 0 {
                        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
                    }
                    let pids = pool.worker_pids();
                    if pids.is_empty() {
                        std::thread::sleep(Duration::from_micros(200));
                        continue;
                    }
                    let victim = pids[rng.below(pids.len() as u64) as usize];
                    if sigkill(victim) {
                        landed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
            let mut rng = Rng::new(seed);
            let (mut submitted, mut deaths) = (0u64, 0u64);
            // At least `tasks`, and on until every kill landed: all kills
            // happen under load.
            while submitted < tasks || !killer_done.load(Ordering::SeqCst) {
                let mut round = Vec::new();
                while round.len() < 200 {
                    let x = submitted + round.len() as u64;
                    if rng.below(2) == 0 {
                        let n = 1 + rng.below(16);
                        let futs = pool
                            .submit_batch(square, (x..x + n).collect())
                            .unwrap_or_else(|e| {
                                panic!("batch refused: {:?}: {}", e.error().kind(), e.error())
                            });
                        round.extend((x..x + n).zip(futs));
                    } else {
                        round.push((x, submit(&pool, x)));
                    }
                }
                submitted += round.len() as u64;
                for (x, f) in &round {
                    deaths += u64::from(value_or_killed(*x, f));
                }
            }
            (submitted, deaths)
        });
        let elapsed = start.elapsed();
        let landed = landed.load(Ordering::SeqCst);
        assert_eq!(landed, kills, "the killer stopped early");
        // No kill any more: the pool serves every task.
        settled(&pool, workers);
        serves(&pool, 500);
        println!(
            "    {submitted} tasks, {kills} kills landed, {deaths} tasks died with their \
             worker, in {elapsed:.2?} (seed {seed})"
        );
        drop(pool);
    });
}

/// A pool of one whose worker is killed, then each replacement is killed
/// as soon as its pid appears, until `n` of them were killed while still
/// starting (before their handshake completed), or `20 n` kills: each one
/// is replaced, after a bounded backoff, and tasks then complete.
///
/// Whether a kill landed while starting is read from a probe task kept
/// queued: a worker that became ready first takes it at once, so its death
/// fails the probe (`WorkerDied`) or the probe completed; a worker killed
/// while starting leaves it queued. The test only sees a pid once the
/// dispatcher published it, and a forked worker can be ready within
/// microseconds of that: many kills land on ready workers (with
/// ForkServer, often most), at least one must land while starting.
fn replacement_killed_while_starting() {
    let n = if stress() { 20 } else { 10 };
    leak_checked(|| {
        let pool = pool(1);
        let first = pool.worker_pids()[0];
        assert!(sigkill(first));
        let mut seen = vec![first];
        let mut p = new_worker(&pool, &seen);
        let mut probe = pool.submit_task(worker_pid, ()).unwrap();
        let (mut starting, mut ready) = (0, 0);
        let mut longest = Duration::ZERO;
        while starting < n && starting + ready < 20 * n {
            assert!(sigkill(p), "replacement {p} already gone");
            let t = Instant::now();
            seen.push(p);
            p = new_worker(&pool, &seen);
            longest = longest.max(t.elapsed());
            // The victim is reaped (its slot has a new pid): the probe's
            // fate is settled.
            if probe.done() {
                match probe.result() {
                    Ok(_) => {}
                    Err(e) => assert_eq!(died(&e).cause, ExitCause::Signal(libc::SIGKILL), "{e}"),
                }
                ready += 1;
                probe = pool.submit_task(worker_pid, ()).unwrap();
            } else {
                starting += 1;
            }
        }
        assert!(
            starting > 0,
            "all {ready} replacements were ready before the kill"
        );
        // The backoff is at most 1 s; the rest is the start itself.
        assert!(
            longest < Duration::from_secs(5),
            "replaced after {longest:?}"
        );
        assert_eq!(probe.result_timeout(LONG).unwrap(), &p);
        let pids: Vec<_> = (0..20)
            .map(|_| pool.submit_task(worker_pid, ()).unwrap())
            .collect();
        for f in pids {
            assert_eq!(f.result_timeout(LONG).unwrap(), &p);
        }
        println!(
            "    {starting} replacements killed while starting ({ready} more were ready \
             first); longest wait for one: {longest:.2?}"
        );
    });
}

/// The initializer sleeps; a worker of a ready pool is killed, then its
/// replacements are killed while they run the initializer. The pool is not
/// broken, and the task queued meanwhile runs in a worker whose
/// initializer completed.
fn killed_in_initializer() {
    let marks = std::env::temp_dir().join(format!(
        "concur-faults-{}-{}",
        std::process::id(),
        METHOD.load(Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&marks);
    std::fs::create_dir_all(&marks).unwrap();
    let dir = marks.to_str().expect("a UTF-8 temporary path").to_string();
    leak_checked(|| {
        let pool = builder()
            .max_workers(1)
            .initializer_with(slow_init, dir)
            .build()
            .unwrap();
        let first = pool.worker_pids()[0];
        assert!(marks.join(first.to_string()).exists());
        assert!(sigkill(first));
        let mut seen = vec![first];
        let mut queued = None;
        for _ in 0..3 {
            let p = new_worker(&pool, &seen);
            // The first victim is reaped: the task waits for a new worker.
            queued.get_or_insert_with(|| pool.submit_task(initialized, ()).unwrap());
            let mark = marks.join(p.to_string());
            let deadline = Instant::now() + LONG;
            let started = loop {
                if let Ok(m) = std::fs::metadata(&mark) {
                    break m.modified().unwrap();
                }
                assert!(Instant::now() < deadline, "{p} never ran its initializer");
                std::thread::sleep(Duration::from_micros(200));
            };
            assert!(sigkill(p));
            let age = SystemTime::now()
                .duration_since(started)
                .unwrap_or_default();
            assert!(age < INIT_TIME, "killed {age:?} into the initializer");
            seen.push(p);
        }
        let queued = queued.unwrap();
        let &(init_pid, pid) = queued
            .result_timeout(LONG)
            .unwrap_or_else(|e| panic!("{:?}: {e}", e.kind()));
        assert_eq!(init_pid, pid, "the initializer did not run in the worker");
        assert!(!seen.contains(&(pid as u32)));
        assert!(marks.join(pid.to_string()).exists());
        assert_eq!(INITIALIZED.load(Ordering::SeqCst), 0, "ran in the parent");
    });
    let _ = std::fs::remove_dir_all(&marks);
}

/// Idle workers are killed (one, then all): they are replaced, tasks
/// submitted once they are reaped all run, and a task submitted at once
/// has its value or fails with `WorkerDied` (it may be handed to the dead
/// worker before the pool sees it die, as documented).
fn killed_idle() {
    leak_checked(|| {
        let pool = pool(2);
        serves(&pool, 50);
        for _ in 0..5 {
            let victim = pool.worker_pids()[0];
            assert!(sigkill(victim));
            let at_once = submit(&pool, 3);
            value_or_killed(3, &at_once);
            gone(&pool, victim);
            serves(&pool, 50);
        }
        let all = pool.worker_pids();
        for &p in &all {
            assert!(sigkill(p));
        }
        for &p in &all {
            gone(&pool, p);
        }
        serves(&pool, 50);
    });
}

/// `max_tasks_per_child(1)`: each worker is told to exit after its task;
/// it is killed right as its result arrives (while retiring). The queued
/// task runs on its replacement; nothing fails.
fn killed_while_retiring() {
    leak_checked(|| {
        let pool = builder()
            .max_workers(1)
            .max_tasks_per_child(1)
            .build()
            .unwrap();
        let mut landed = 0;
        for _ in 0..20 {
            let first = pool.submit_task(worker_pid, ()).unwrap();
            let second = pool.submit_task(worker_pid, ()).unwrap();
            let p = *first.result_timeout(LONG).unwrap();
            landed += u32::from(sigkill(p));
            let q = *second
                .result_timeout(LONG)
                .unwrap_or_else(|e| panic!("{:?}: {e}", e.kind()));
            assert_ne!(p, q);
        }
        serves(&pool, 10);
        println!("    20 retiring workers killed, {landed} before they were reaped");
    });
}

/// The open descriptors of this process, ascending (probed with `fcntl`,
/// which opens none).
fn open_fd_numbers() -> Vec<i32> {
    (0..1 << 16)
        // SAFETY: F_GETFD only reads a descriptor's flags.
        .filter(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1)
        .collect()
}

/// The pid a pidfd refers to (`None`: `fd` is not a pidfd).
fn pidfd_pid(fd: i32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Pid:").and_then(|p| p.trim().parse().ok()))
}

/// Whether `fd` is a stream socket (a worker's connection; the fork
/// server's is a seqpacket socket).
fn is_stream_socket(fd: i32) -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid out-pointers of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&raw mut ty).cast(),
            &raw mut len,
        )
    };
    r == 0 && ty == libc::SOCK_STREAM
}

/// The soft `RLIMIT_NOFILE` of this process, lowered until dropped (also
/// on unwind). Holes below the highest open descriptor are plugged first,
/// so that the only numbers under the limit left to open are those closed
/// later.
struct FdLimit {
    old: libc::rlimit,
    plugs: Vec<std::os::fd::OwnedFd>,
}

impl FdLimit {
    /// No descriptor numbered `limit` or more can be opened.
    fn lower(limit: i32) -> Self {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `old` is a valid out-pointer.
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut old) }, 0);
        let mut plugs = Vec::new();
        loop {
            // SAFETY: duplicates stdin (open in a test) to the lowest free
            // number.
            let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 0) };
            assert!(fd >= 0, "{}", std::io::Error::last_os_error());
            // SAFETY: a fresh descriptor we own.
            let fd = unsafe { OwnedFd::from_raw_fd(fd) };
            if fd.as_raw_fd() >= limit {
                break;
            }
            plugs.push(fd);
        }
        let new = libc::rlimit {
            rlim_cur: limit as libc::rlim_t,
            rlim_max: old.rlim_max,
        };
        // SAFETY: a valid rlimit.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) }, 0);
        Self { old, plugs }
    }
}

impl Drop for FdLimit {
    fn drop(&mut self) {
        // SAFETY: a valid rlimit, the one read before.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.old) };
        self.plugs.clear();
    }
}

/// No new worker can be started (`EMFILE`) in a pool of one whose worker
/// is killed. The descriptor limit is lowered (free numbers below it
/// plugged) so that, once the worker's pidfd and socket are closed, the
/// dispatcher can open only `headroom` new descriptors: with Spawn 2 (the
/// socket pair opens, the spawn's own pipe does not), with ForkServer 1
/// (the socket pair does not open; with 2 it would, and the worker's pidfd
/// from the fork server would be received in place of the socket end sent
/// to it: the start would succeed). A task waits, the pool is not broken;
/// once the limit is restored, the task runs, as soon as the backoff
/// allows: failed starts are retried after 0, 10, 20, 40, 80, 160 ms...,
/// so one falls 310 ms after the first, ~110 ms after the restore (not
/// after the dispatcher's 1 s poll ceiling).
fn emfile_while_respawning() {
    let headroom = if METHOD.load(Ordering::SeqCst) == 0 {
        2
    } else {
        1
    };
    leak_checked(|| {
        let before = open_fd_numbers();
        let pool = pool(1);
        serves(&pool, 5);
        let victim = pool.worker_pids()[0];
        let new: Vec<i32> = open_fd_numbers()
            .into_iter()
            .filter(|fd| !before.contains(fd))
            .collect();
        let pidfd = new.iter().find(|&&fd| pidfd_pid(fd) == Some(victim));
        let socket: Vec<_> = new.iter().filter(|&&fd| is_stream_socket(fd)).collect();
        let (Some(&pidfd), &[&socket]) = (pidfd, &socket[..]) else {
            panic!("the worker's pidfd and socket not found among the pool's descriptors {new:?}");
        };
        let limit = pidfd.max(socket) + 1 - (2 - headroom);
        let (futs, restored) = {
            let limit = FdLimit::lower(limit);
            assert!(sigkill(victim));
            gone(&pool, victim);
            let fut = submit(&pool, 7);
            std::thread::sleep(Duration::from_millis(200));
            let pending = !fut.done();
            let pids = pool.worker_pids();
            let second = pool.submit_task(square, 8);
            drop(limit);
            assert!(
                pending,
                "ran with no descriptor to start a worker: {:?}",
                fut.result()
            );
            assert!(pids.is_empty(), "a worker started: {pids:?}");
            let second = second.unwrap_or_else(|e| panic!("refused: {}", e.error()));
            (vec![fut, second], Instant::now())
        };
        for (x, f) in [7, 8].into_iter().zip(&futs) {
            assert_eq!(
                f.result_timeout(LONG)
                    .unwrap_or_else(|e| panic!("{:?}: {e}", e.kind())),
                &(x * x)
            );
        }
        let after = restored.elapsed();
        println!("    served {after:.2?} after the limit was restored");
        assert!(
            after < Duration::from_millis(500),
            "the failed start was retried {after:?} after the limit was restored"
        );
        serves(&pool, 20);
    });
}

/// Every worker killed, again and again, with no load; then tasks run, and
/// the pool's drop leaves nothing behind.
fn kill_storm_then_clean() {
    leak_checked(|| {
        let pool = pool(3);
        let mut rng = Rng::new(seed() ^ 0x570);
        let mut landed = 0;
        for _ in 0..30 {
            for p in pool.worker_pids() {
                landed += u32::from(sigkill(p));
            }
            std::thread::sleep(Duration::from_micros(rng.below(3_000)));
        }
        settled(&pool, 3);
        serves(&pool, 100);
        // The dead workers' segments are unmapped: two per live worker.
        assert_eq!(pool.workers_on_shared_memory(), 3);
        assert_eq!(ring_mappings(), 6);
        drop(pool);
        assert_eq!(ring_mappings(), 0);
        println!("    {landed} kills");
    });
}

/// A worker killed while it writes a reply into its ring (a torn frame
/// left in shared memory): its task fails with `WorkerDied` by `SIGKILL`,
/// the torn bytes go with its ring, and its replacement serves over a
/// new one.
fn killed_mid_reply_on_the_ring() {
    leak_checked(|| {
        let pool = pool(1);
        assert_eq!(pool.workers_on_shared_memory(), 1);
        for _ in 0..3 {
            let victim = pool.worker_pids()[0];
            let err = pool
                .submit_task(die_mid_reply, ())
                .unwrap()
                .result_timeout(LONG)
                .unwrap_err();
            assert_eq!(died(&err).cause, ExitCause::Signal(libc::SIGKILL), "{err}");
            gone(&pool, victim);
            serves(&pool, 20);
            assert_eq!(pool.workers_on_shared_memory(), 1);
            assert_eq!(ring_mappings(), 2);
        }
    });
}

/// A worker killed while the pool writes a large argument into its
/// request ring: the worker is stopped (`SIGSTOP`) so that the 8 MiB
/// argument fills the 1 MiB ring and the submitting thread waits for
/// room, then killed. The write stops (the thread notices within the
/// ring's 20 ms nap), `submit_task` returns, the task fails with
/// `WorkerDied`, and the replacement serves.
fn killed_while_receiving_a_large_argument() {
    leak_checked(|| {
        let pool = pool(1);
        serves(&pool, 2);
        for _ in 0..2 {
            let victim = pool.worker_pids()[0];
            // SAFETY: plain kill(2) of our worker.
            assert_eq!(unsafe { libc::kill(victim as i32, libc::SIGSTOP) }, 0);
            let returned = AtomicBool::new(false);
            let fut = std::thread::scope(|s| {
                let submitter = s.spawn(|| {
                    let f = pool.submit_task(hold, vec![1u8; 8 << 20]).unwrap();
                    returned.store(true, Ordering::SeqCst);
                    f
                });
                let deadline = Instant::now() + LONG;
                while request_ring_fill() != Some(1 << 20) {
                    assert!(Instant::now() < deadline, "the request ring never filled");
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(50));
                assert!(!returned.load(Ordering::SeqCst), "the write did not wait");
                assert!(sigkill(victim));
                submitter.join().unwrap()
            });
            let err = fut.result_timeout(LONG).unwrap_err();
            assert_eq!(died(&err).cause, ExitCause::Signal(libc::SIGKILL), "{err}");
            gone(&pool, victim);
            serves(&pool, 10);
        }
    });
}

/// Workers started while the pool is short of descriptors: with too few,
/// none starts until the limit is restored; with a few more, the fork
/// server's worker starts but its rings cannot be made (`EMFILE` from
/// `memfd_create`), so it talks over its socket; with enough, over shared
/// memory. Every task is served.
fn rings_fall_back_to_the_socket_under_emfile() {
    leak_checked(|| {
        let pool = pool(1);
        serves(&pool, 5);
        let mut modes = Vec::new();
        for headroom in 0..6 {
            let victim = pool.worker_pids()[0];
            let highest = *open_fd_numbers().last().unwrap();
            let fut = {
                // Only the victim's two descriptors and `headroom` more
                // can be opened.
                let mut limit = FdLimit::lower(highest + 1 + headroom);
                let keep = limit.plugs.len() - headroom as usize;
                limit.plugs.truncate(keep);
                assert!(sigkill(victim));
                gone(&pool, victim);
                let fut = submit(&pool, 6);
                let started = fut.result_timeout(Duration::from_millis(500)).is_ok();
                modes.push(started.then(|| pool.workers_on_shared_memory()));
                fut
            };
            assert_eq!(fut.result_timeout(LONG).unwrap(), &36);
            serves(&pool, 5);
        }
        println!("    workers on shared memory, by headroom: {modes:?}");
        assert_eq!(modes.last(), Some(&Some(1)), "{modes:?}");
        if METHOD.load(Ordering::SeqCst) == 1 {
            assert!(
                modes.contains(&Some(0)),
                "no fallback to the socket: {modes:?}"
            );
        }
    });
}

// -------------------------------------------------------------------- tests

/// Nothing to set up once: every case makes its own.
fn setup() {}

process_tests! {
    setup: setup;
    both: [
        random_kills_under_load,
        replacement_killed_while_starting,
        killed_in_initializer,
        killed_idle,
        killed_while_retiring,
        emfile_while_respawning,
        kill_storm_then_clean,
        killed_mid_reply_on_the_ring,
        killed_while_receiving_a_large_argument,
        rings_fall_back_to_the_socket_under_emfile,
    ];
    spawn_only: [];
    fork_server_only: [];
}
