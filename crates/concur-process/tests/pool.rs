//! Process-pool integration tests: plain libtest `#[test]`s, one per case
//! and start method (`spawn::<case>`, `forkserver::<case>`), with no
//! `init()` (the pre-`main` hook diverts the workers, which are copies of
//! this test binary). The cases run one at a time, each checked for
//! leftover children and descriptors (`helpers::run_case`): the zombie and
//! descriptor checks look at the whole process.

#[macro_use]
mod helpers;

use concur_core::{ErrorKind, State, TaskExecutor};
use concur_ipc::{RemoteError, RemoteErrorKind};
use concur_process::{Builder, ExitCause, ProcessPool};
use concur_testkit::procfs::{assert_no_children, children, leak_checked, open_fds};
use helpers::{LONG, METHOD, builder, died, pool, stray_frame};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- functions

static INIT_VALUE: AtomicU64 = AtomicU64::new(0);

/// What `store_init_args` received, in a worker (`initargs`).
static INIT_ARGS: std::sync::Mutex<Option<(String, u32)>> = std::sync::Mutex::new(None);

concur_ipc::remote! {
    fn square(x: u64) -> u64 { x * x }
    fn worker_pid() -> u32 { std::process::id() }
    fn pid_after(ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }
    fn sleep_ms(ms: u64) -> u32 {
        std::thread::sleep(Duration::from_millis(ms));
        std::process::id()
    }
    fn parse(s: String) -> Result<u64, std::num::ParseIntError> { s.parse() }
    fn word_count(text: &str) -> usize { text.split_whitespace().count() }
    fn sum_slice(xs: &[u64]) -> u64 { xs.iter().sum() }
    fn read_len(path: &str) -> std::io::Result<u64> {
        std::fs::metadata(path).map(|m| m.len())
    }
    fn panics(msg: String) -> u8 { panic!("{}", msg) }
    fn abort_now() { std::process::abort() }
    fn segfault() { concur_testkit::fault::segfault() }
    fn exit_99() { std::process::exit(99) }
    fn set_init_value() { INIT_VALUE.store(41, Ordering::SeqCst) }
    fn failing_init() -> Result<(), String> { Err("no database".to_string()) }
    fn enable_backtraces() {
        // SAFETY: a worker runs its initializer on its only thread.
        unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
    }
    fn read_init_value() -> u64 { INIT_VALUE.load(Ordering::SeqCst) + 1 }
    fn store_init_args(name: String, n: u32) {
        *INIT_ARGS.lock().unwrap() = Some((name, n));
    }
    fn read_init_args() -> Option<(String, u32)> { INIT_ARGS.lock().unwrap().clone() }
    fn init_at_most(limit: u32, asked: u32) -> Result<(), String> {
        if asked > limit {
            return Err(format!("asked for {asked} connections, at most {limit}"));
        }
        Ok(())
    }
    fn init_panics(msg: String) { panic!("{}", msg) }
    fn init_bytes(v: Vec<u8>) { INIT_VALUE.store(v.len() as u64, Ordering::SeqCst) }
    fn init_blob(b: Blob) -> usize { b.0 }
    fn try_nested_pool() -> String {
        match ProcessPool::builder().max_workers(1).build() {
            Ok(_) => "built a nested pool".to_string(),
            Err(e) if e.is_in_worker() => format!("refused: {e}"),
            Err(e) => format!("other error: {e}"),
        }
    }
    fn bytes_of(n: usize) -> Vec<u8> { vec![7; n] }
    fn len_of(v: Vec<u8>) -> usize { v.len() }
    fn echo(p: Probe) -> Probe { p }
    fn make(mode: u8) -> Probe { Probe(mode) }
    fn first_starts_others_hang(path: String) {
        // The first worker to get here starts; every later one hangs in
        // its initializer (its start times out and it is replaced).
        if std::fs::OpenOptions::new().write(true).create_new(true).open(path).is_err() {
            std::thread::sleep(Duration::from_secs(30));
        }
    }
    fn fails_once_marked(path: String) -> Result<(), String> {
        if std::path::Path::new(&path).exists() {
            return Err("the database moved".to_string());
        }
        Ok(())
    }
}

/// Two declarations with the same path and signature, in two function
/// bodies of one module: each runs its own body.
fn plus_one(x: u64) -> concur_core::Future<u64> {
    concur_ipc::remote! {
        fn f(x: u64) -> u64 { x + 1 }
    }
    with_pool(|p| p.submit_task(f, x).unwrap())
}

fn plus_hundred(x: u64) -> concur_core::Future<u64> {
    concur_ipc::remote! {
        fn f(x: u64) -> u64 { x + 100 }
    }
    with_pool(|p| p.submit_task(f, x).unwrap())
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<ProcessPool>> = const { std::cell::RefCell::new(None) };
}

fn with_pool<R>(f: impl FnOnce(&ProcessPool) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().as_ref().expect("a current pool")))
}

/// A value whose (de)serialization misbehaves on purpose, in one process
/// or the other: the deadlock matrix of CPython's `test_deadlock.py`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Probe(u8);

const FINE: u8 = 0;
const ERROR_SER_PARENT: u8 = 1;
const PANIC_SER_PARENT: u8 = 2;
const ERROR_DE_WORKER: u8 = 3;
const PANIC_DE_WORKER: u8 = 4;
const ABORT_DE_WORKER: u8 = 5;
const EXIT_DE_WORKER: u8 = 6;
const ERROR_SER_WORKER: u8 = 7;
const ABORT_SER_WORKER: u8 = 8;
const EXIT_SER_WORKER: u8 = 9;
const ERROR_DE_PARENT: u8 = 10;
const PANIC_DE_PARENT: u8 = 11;
const PANIC_SER_WORKER: u8 = 12;

fn misbehave<E: std::fmt::Display>(mode: u8, ser: bool, err: impl Fn(&str) -> E) -> Result<(), E> {
    let worker = concur_process::is_worker_process();
    let act = |parent_mode: Option<u8>, worker_mode: Option<u8>| {
        (worker && worker_mode == Some(mode)) || (!worker && parent_mode == Some(mode))
    };
    if ser {
        if act(Some(ERROR_SER_PARENT), Some(ERROR_SER_WORKER)) {
            return Err(err("refusing to serialize"));
        }
        if act(Some(PANIC_SER_PARENT), Some(PANIC_SER_WORKER)) {
            panic!("panic while serializing");
        }
        if act(None, Some(ABORT_SER_WORKER)) {
            std::process::abort();
        }
        if act(None, Some(EXIT_SER_WORKER)) {
            std::process::exit(98);
        }
    } else {
        if act(Some(ERROR_DE_PARENT), Some(ERROR_DE_WORKER)) {
            return Err(err("refusing to deserialize"));
        }
        if act(Some(PANIC_DE_PARENT), Some(PANIC_DE_WORKER)) {
            panic!("panic while deserializing");
        }
        if act(None, Some(ABORT_DE_WORKER)) {
            std::process::abort();
        }
        if act(None, Some(EXIT_DE_WORKER)) {
            std::process::exit(97);
        }
    }
    Ok(())
}

impl Serialize for Probe {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        misbehave(self.0, true, |m| <S::Error as serde::ser::Error>::custom(m))?;
        s.serialize_u8(self.0)
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mode = u8::deserialize(d)?;
        misbehave(mode, false, |m| <D::Error as serde::de::Error>::custom(m))?;
        Ok(Probe(mode))
    }
}

/// `n` zero bytes on the wire, serialized in one `serialize_bytes` (fast
/// in a debug build, unlike a `Vec<u8>` of 64 MiB).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Blob(usize);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&vec![0; self.0])
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Blob(Vec::<u8>::deserialize(d)?.len()))
    }
}

// ------------------------------------------------------------------ helpers

fn remote(err: &concur_core::Error) -> &RemoteError {
    err.downcast_ref::<RemoteError>()
        .unwrap_or_else(|| panic!("not a RemoteError: {err:?}"))
}

fn wait_running<T>(f: &concur_core::Future<T>) {
    let deadline = Instant::now() + LONG;
    while !f.running() {
        assert!(Instant::now() < deadline, "task never started");
        std::thread::sleep(Duration::from_millis(2));
    }
}

// -------------------------------------------------------------------- cases

fn round_trip_and_batch() {
    let pool = pool(2);
    assert_eq!(
        pool.submit_task(square, 12).unwrap().into_result().unwrap(),
        144
    );
    let futs = pool.submit_batch(square, (0..100).collect()).unwrap();
    let out: Vec<u64> = futs.into_iter().map(|f| f.into_result().unwrap()).collect();
    assert_eq!(out, (0..100u64).map(|x| x * x).collect::<Vec<_>>());
    let many: Vec<_> = (0..200)
        .map(|i| pool.submit_task(square, i).unwrap())
        .collect();
    for (i, f) in many.into_iter().enumerate() {
        assert_eq!(f.into_result().unwrap(), (i * i) as u64);
    }
    let pids = pool.worker_pids();
    assert_eq!(pids.len(), 2);
    assert!(!pids.contains(&std::process::id()));
}

/// The remote! forms of the API issue through a real worker: borrowed
/// parameters travel owned and are lent back; an `io::Result` alias is
/// fallible, its error comes back as a task error naming `io::Error`; the
/// same function is still a plain function here.
fn borrowed_args_and_result_aliases_in_a_worker() {
    let pool = pool(1);
    let n = pool
        .submit_task(word_count, "one two  three".to_string())
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(n, word_count("one two  three"));
    assert_eq!(n, 3);
    let total = pool
        .submit_task(sum_slice, vec![1, 2, 3])
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(total, 6);
    let exe = std::env::current_exe().unwrap();
    let len = pool
        .submit_task(read_len, exe.to_str().unwrap().to_string())
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(len, std::fs::metadata(&exe).unwrap().len());
    let err = pool
        .submit_task(read_len, "/no/such/file".to_string())
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), concur_core::ErrorKind::Task);
    assert_eq!(err.type_name(), Some("Error"));
    assert!(err.to_string().contains("No such file"), "{err}");
}

/// The same generic code on any TaskExecutor: one line switches executor.
fn sum_of_squares<E: TaskExecutor>(exec: &E, n: u64) -> u64 {
    exec.submit_batch(square, (1..=n).collect())
        .unwrap()
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .sum()
}

fn map_task_with_chunksize() {
    use concur_combinators::TaskExecutorExt;
    let pool = pool(2);
    for chunksize in [1, 7, 1000] {
        let out: Vec<u64> = pool
            .map_task(square, 0..2000u64)
            .chunksize(chunksize)
            .run()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(out, (0..2000u64).map(|x| x * x).collect::<Vec<_>>());
    }
    // A failing item fails only its own result, also inside a chunk.
    let out: Vec<_> = pool
        .map_task(parse, ["1", "x", "3"].map(String::from))
        .chunksize(3)
        .run()
        .unwrap()
        .collect();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(out[1].is_err());
    assert_eq!(*out[2].as_ref().unwrap(), 3);
}

/// One future per chunk: every item's outcome in order, arguments that
/// fail to encode in the parent merged at their positions, the rest sent.
fn submit_chunk_keeps_order_and_item_failures() {
    let pool = pool(2);
    let out = pool
        .submit_chunk(square, (0..500).collect())
        .unwrap()
        .into_result()
        .unwrap();
    assert!(out.is_all_ok());
    // The time since the chunk was sent, for adaptive chunk sizing.
    let service = out.service_time().expect("a process chunk is timed");
    assert!(service > Duration::ZERO && service < LONG, "{service:?}");
    let (got, _) = out.into_parts();
    assert_eq!(got, (0..500u64).map(|x| x * x).collect::<Vec<_>>());
    let out = pool
        .submit_chunk(
            echo,
            vec![
                Probe(ERROR_SER_PARENT),
                Probe(FINE),
                Probe(ERROR_DE_WORKER),
                Probe(ERROR_SER_PARENT),
                Probe(FINE),
                Probe(ERROR_SER_PARENT),
            ],
        )
        .unwrap()
        .into_result()
        .unwrap();
    let kinds: Vec<_> = out
        .iter()
        .map(|r| r.map_err(|e| remote(e).kind()).map(|p| p.0))
        .collect();
    assert_eq!(
        kinds,
        [
            Err(RemoteErrorKind::EncodeArgs),
            Ok(FINE),
            Err(RemoteErrorKind::DecodeArgs),
            Err(RemoteErrorKind::EncodeArgs),
            Ok(FINE),
            Err(RemoteErrorKind::EncodeArgs),
        ]
    );
    // Nothing sendable: done at once, nothing reaches a worker.
    let out = pool
        .submit_chunk(echo, vec![Probe(ERROR_SER_PARENT)])
        .unwrap()
        .into_result()
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(
        remote(out.get(0).unwrap().unwrap_err()).kind(),
        RemoteErrorKind::EncodeArgs
    );
    // A worker dying mid-chunk fails the chunk's future as a whole.
    let fut = pool.submit_chunk(exit_99, vec![(), ()]).unwrap();
    let err = fut.result_timeout(LONG).unwrap_err();
    assert_eq!(died(&err).cause, ExitCause::Code(99), "{err}");
    // Cancelling a queued chunk cancels it; the pool keeps serving.
    let busy = pool.submit_task(sleep_ms, 300).unwrap();
    let busy2 = pool.submit_task(sleep_ms, 300).unwrap();
    let queued = pool.submit_chunk(square, vec![1, 2]).unwrap();
    assert!(queued.cancel());
    assert!(queued.result().unwrap_err().kind() == ErrorKind::Cancelled);
    busy.into_result().unwrap();
    busy2.into_result().unwrap();
    pool.shutdown();
    match pool.submit_chunk(square, vec![7, 8]) {
        Err(refused) => assert_eq!(refused.into_task(), [7, 8]),
        Ok(_) => panic!("accepted after shutdown"),
    }
    drop(pool);
    assert_no_children();
}

fn generic_task_executor() {
    let pool = pool(2);
    assert_eq!(sum_of_squares(&pool, 10), 385);
}

fn task_error_and_panic() {
    let pool = builder()
        .max_workers(1)
        .initializer(enable_backtraces)
        .build()
        .unwrap();
    let err = pool
        .submit_task(parse, "12x".into())
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Task);
    let r = remote(&err);
    assert_eq!(r.kind(), RemoteErrorKind::Task);
    assert_eq!(r.type_name(), "core::num::error::ParseIntError");
    assert_eq!(r.message(), "invalid digit found in string");
    assert_eq!(err.type_name(), Some("ParseIntError"));

    let err = pool
        .submit_task(panics, "kaboom".into())
        .unwrap()
        .into_result()
        .unwrap_err();
    let r = remote(&err);
    assert_eq!(r.kind(), RemoteErrorKind::Panic);
    assert_eq!(r.type_name(), "String");
    assert_eq!(r.message(), "kaboom");
    // RUST_BACKTRACE=1 is set in the worker, so it captured one.
    let bt = r.backtrace().expect("backtrace text");
    assert!(bt.contains("panicked at") && bt.contains("pool.rs"), "{bt}");
    // The worker survived its panic.
    assert_eq!(
        pool.submit_task(square, 3).unwrap().into_result().unwrap(),
        9
    );
}

fn crash<T: Send + Sync + std::fmt::Debug + 'static>(
    f: impl FnOnce(&ProcessPool) -> concur_core::Future<T>,
    expected: ExitCause,
) {
    let pool = pool(2);
    let before = pool.worker_pids();
    let fut = f(&pool);
    let others: Vec<_> = (0..20)
        .map(|i| pool.submit_task(square, i).unwrap())
        .collect();
    let err = fut.result_timeout(LONG).unwrap_err();
    let d = died(&err);
    assert_eq!(d.cause, expected, "{err}");
    assert!(before.contains(&d.pid));
    for (i, f) in others.into_iter().enumerate() {
        assert_eq!(f.into_result().unwrap(), (i * i) as u64);
    }
    // Replaced: the pool keeps serving, on a new process.
    let deadline = Instant::now() + LONG;
    while pool.worker_pids().len() < 2 || pool.worker_pids().contains(&d.pid) {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(5));
    }
    let futs = pool.submit_batch(square, vec![5, 6]).unwrap();
    assert_eq!(futs[1].result().unwrap(), &36);
    drop(pool);
    assert_no_children();
}

fn killed_by_sigkill_from_the_test() {
    crash(
        |pool| {
            let f = pool.submit_task(sleep_ms, 60_000).unwrap();
            wait_running(&f);
            // The idle worker answers this probe, so the other one runs `f`.
            let idle = pool
                .submit_task(worker_pid, ())
                .unwrap()
                .into_result()
                .unwrap();
            let victim = *pool.worker_pids().iter().find(|&&p| p != idle).unwrap();
            // SAFETY: plain kill(2) of our own child.
            unsafe { libc::kill(victim as i32, libc::SIGKILL) };
            f
        },
        ExitCause::Signal(libc::SIGKILL),
    );
}

fn abort_fails_only_its_task() {
    crash(
        |p| p.submit_task(abort_now, ()).unwrap(),
        ExitCause::Signal(libc::SIGABRT),
    );
}

fn segfault_fails_only_its_task() {
    crash(
        |p| p.submit_task(segfault, ()).unwrap(),
        ExitCause::Signal(libc::SIGSEGV),
    );
}

fn exit_99_fails_only_its_task() {
    crash(|p| p.submit_task(exit_99, ()).unwrap(), ExitCause::Code(99));
}

/// CPython `test_deadlock.py`: a failure at each (de)serialization stage
/// fails that future only, never hangs the pool.
fn deadlock_matrix() {
    let pool = pool(2);
    let check = |what: &str,
                 r: Result<&Probe, concur_core::Error>,
                 pred: &dyn Fn(&concur_core::Error) -> bool| {
        match r {
            Ok(v) => panic!("{what}: unexpectedly succeeded with {v:?}"),
            Err(e) => assert!(pred(&e), "{what}: unexpected error {e:?}"),
        }
    };
    let kind = |k: RemoteErrorKind| move |e: &concur_core::Error| remote(e).kind() == k;
    let death = |c: ExitCause| move |e: &concur_core::Error| died(e).cause == c;
    type Pred = Box<dyn Fn(&concur_core::Error) -> bool>;
    let cases: Vec<(&str, u8, bool, Pred)> = vec![
        (
            "error at argument encoding",
            ERROR_SER_PARENT,
            true,
            Box::new(kind(RemoteErrorKind::EncodeArgs)),
        ),
        (
            "panic at argument encoding",
            PANIC_SER_PARENT,
            true,
            Box::new(kind(RemoteErrorKind::EncodeArgs)),
        ),
        (
            "error at argument decoding",
            ERROR_DE_WORKER,
            true,
            Box::new(kind(RemoteErrorKind::DecodeArgs)),
        ),
        (
            "panic at argument decoding",
            PANIC_DE_WORKER,
            true,
            Box::new(kind(RemoteErrorKind::DecodeArgs)),
        ),
        (
            "abort at argument decoding",
            ABORT_DE_WORKER,
            true,
            Box::new(death(ExitCause::Signal(libc::SIGABRT))),
        ),
        (
            "exit at argument decoding",
            EXIT_DE_WORKER,
            true,
            Box::new(death(ExitCause::Code(97))),
        ),
        (
            "error at result encoding",
            ERROR_SER_WORKER,
            false,
            Box::new(kind(RemoteErrorKind::EncodeResult)),
        ),
        (
            "panic at result encoding",
            PANIC_SER_WORKER,
            false,
            Box::new(kind(RemoteErrorKind::EncodeResult)),
        ),
        (
            "abort at result encoding",
            ABORT_SER_WORKER,
            false,
            Box::new(death(ExitCause::Signal(libc::SIGABRT))),
        ),
        (
            "exit at result encoding",
            EXIT_SER_WORKER,
            false,
            Box::new(death(ExitCause::Code(98))),
        ),
        (
            "error at result decoding",
            ERROR_DE_PARENT,
            false,
            Box::new(kind(RemoteErrorKind::DecodeResult)),
        ),
        (
            "panic at result decoding",
            PANIC_DE_PARENT,
            false,
            Box::new(kind(RemoteErrorKind::DecodeResult)),
        ),
    ];
    for (what, mode, as_argument, pred) in &cases {
        let fut = if *as_argument {
            pool.submit_task(echo, Probe(*mode)).unwrap()
        } else {
            pool.submit_task(make, *mode).unwrap()
        };
        check(what, fut.result_timeout(LONG), pred);
        // The pool still serves after each failure.
        assert_eq!(
            pool.submit_task(echo, Probe(FINE))
                .unwrap()
                .result_timeout(LONG)
                .unwrap(),
            &Probe(FINE)
        );
    }
    // A panic in the task itself, and in a batch only the bad item fails.
    let futs = pool
        .submit_batch(
            echo,
            vec![
                Probe(FINE),
                Probe(ERROR_DE_WORKER),
                Probe(ERROR_SER_PARENT),
                Probe(FINE),
            ],
        )
        .unwrap();
    assert!(futs[0].result().is_ok() && futs[3].result().is_ok());
    assert_eq!(
        remote(&futs[1].result().unwrap_err()).kind(),
        RemoteErrorKind::DecodeArgs
    );
    assert_eq!(
        remote(&futs[2].result().unwrap_err()).kind(),
        RemoteErrorKind::EncodeArgs
    );
    drop(pool);
    assert_no_children();
}

fn task_timeout_kills_and_replaces() {
    let pool = builder()
        .max_workers(1)
        .task_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let first = pool.worker_pids()[0];
    let fut = pool.submit_task(sleep_ms, 60_000).unwrap();
    let start = Instant::now();
    let err = fut.result_timeout(LONG).unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("task_timeout"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(30));
    // A quick task on the replacement is within its limit.
    let p = pool
        .submit_task(worker_pid, ())
        .unwrap()
        .into_result()
        .unwrap();
    assert_ne!(p, first);
    drop(pool);
    assert_no_children();
}

fn kill_running_future() {
    let pool = pool(1);
    let first = pool.worker_pids()[0];
    let fut = pool.submit_task(sleep_ms, 60_000).unwrap();
    let queued = pool.submit_task(square, 4).unwrap();
    wait_running(&fut);
    assert!(pool.kill(&fut));
    let err = fut.result_timeout(LONG).unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    // The queued task runs on the replacement worker.
    assert_eq!(queued.result_timeout(LONG).unwrap(), &16);
    assert!(!pool.worker_pids().contains(&first));
    assert!(
        !pool.kill(&queued),
        "a finished future has no worker to kill"
    );
}

fn terminate_and_kill_workers() {
    for (sig, f) in [
        (
            libc::SIGTERM,
            ProcessPool::terminate_workers as fn(&ProcessPool),
        ),
        (libc::SIGKILL, ProcessPool::kill_workers),
    ] {
        let pool = pool(1);
        let running = pool.submit_task(sleep_ms, 60_000).unwrap();
        let queued = pool.submit_task(square, 2).unwrap();
        wait_running(&running);
        f(&pool);
        let err = running.result_timeout(LONG).unwrap_err();
        assert_eq!(died(&err).cause, ExitCause::Signal(sig));
        assert!(queued.cancelled());
        assert!(pool.worker_pids().is_empty());
        let refused = pool.submit_task(square, 3).unwrap_err();
        assert_eq!(refused.error().kind(), ErrorKind::Shutdown);
        assert_eq!(refused.into_task(), 3);
        drop(pool);
        assert_no_children();
    }
}

fn max_tasks_per_child() {
    let pool = builder()
        .max_workers(1)
        .max_tasks_per_child(3)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..7)
        .map(|_| pool.submit_task(worker_pid, ()).unwrap())
        .collect::<Vec<_>>()
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .collect();
    assert_eq!(pids[0], pids[1]);
    assert_eq!(pids[1], pids[2]);
    assert_ne!(pids[2], pids[3]);
    assert_eq!(pids[3], pids[5]);
    assert_ne!(pids[5], pids[6]);
    drop(pool);
    assert_no_children();
}

fn initializer_runs_in_each_worker() {
    let pool = builder()
        .max_workers(2)
        .initializer(set_init_value)
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    // Also in replacement workers (max_tasks_per_child = 1).
    for _ in 0..4 {
        assert_eq!(
            pool.submit_task(read_init_value, ())
                .unwrap()
                .into_result()
                .unwrap(),
            42
        );
    }
    assert_eq!(
        INIT_VALUE.load(Ordering::SeqCst),
        0,
        "never ran in the parent"
    );
}

fn failing_initializer_breaks_the_pool() {
    let err = builder()
        .max_workers(2)
        .initializer(failing_init)
        .build()
        .unwrap_err();
    let start = err.start_error().expect("a start error");
    assert_eq!(start.kind(), ErrorKind::Broken);
    let text = err.to_string();
    assert!(
        text.contains("failing_init") && text.contains("no database"),
        "{text}"
    );
    assert_no_children();
}

/// An initializer that is not registered (a hand-written `RemoteFn`).
#[derive(Clone, Copy)]
struct UnregisteredInit;
impl concur_core::RemoteFn for UnregisteredInit {
    type Args = ();
    type Output = ();
    const NAME: &'static str = "tests::unregistered_init";
    const FINGERPRINT: u64 = 3;
    fn call((): ()) -> Result<(), concur_core::BoxError> {
        Ok(())
    }
}

fn unregistered_initializer_is_a_clear_error() {
    let err = builder()
        .max_workers(1)
        .initializer(UnregisteredInit)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unregistered_init") && text.contains("no remote function"),
        "{text}"
    );
    assert_no_children();
}

fn nested_pool_is_refused() {
    let pool = pool(1);
    let msg = pool
        .submit_task(try_nested_pool, ())
        .unwrap()
        .into_result()
        .unwrap();
    assert!(
        msg.starts_with("refused: cannot create a process pool inside a pool worker"),
        "{msg}"
    );
    // A diverted worker: no advice about `init()`, which is not missing.
    assert!(!msg.contains("init()"), "{msg}");
}

fn shutdown_in_every_state() {
    // Idle pool, twice, then drop.
    let p = pool(1);
    p.shutdown();
    p.shutdown();
    assert!(p.submit_task(square, 1).is_err());
    drop(p);
    // Queued work runs to completion with wait and no cancel.
    let p = pool(1);
    let futs: Vec<_> = (0..5)
        .map(|_| p.submit_task(pid_after, 20).unwrap())
        .collect();
    p.shutdown();
    assert!(futs.iter().all(|f| f.result().is_ok()));
    // cancel_futures: running finishes, queued is cancelled.
    let p = pool(1);
    let running = p.submit_task(sleep_ms, 300).unwrap();
    let queued: Vec<_> = (0..5).map(|i| p.submit_task(square, i).unwrap()).collect();
    wait_running(&running);
    p.shutdown_with(concur_core::ShutdownOptions::new().cancel_futures(true));
    assert!(running.result().is_ok());
    assert!(queued.iter().all(|f| f.state() == State::Cancelled));
    // Without waiting, then drop (which waits).
    let p = pool(2);
    let f = p.submit_task(pid_after, 50).unwrap();
    p.shutdown_with(concur_core::ShutdownOptions::new().wait(false));
    drop(p);
    assert!(f.result().is_ok());
    // After a crash, with the crashed task's future failed.
    let p = pool(1);
    let f = p.submit_task(abort_now, ()).unwrap();
    assert!(f.result_timeout(LONG).is_err());
    p.shutdown();
    // Shutdown from a done-callback on the dispatcher thread.
    let p = std::sync::Arc::new(pool(1));
    let p2 = p.clone();
    let f = p.submit_task(square, 2).unwrap();
    let (released, wait_released) = std::sync::mpsc::channel();
    f.add_done_callback(move |_| {
        p2.shutdown();
        // Drop this handle before saying so: whichever of the two handles
        // goes last closes the pool's descriptors before the case's check.
        drop(p2);
        let _ = released.send(());
    });
    assert_eq!(f.result_timeout(LONG).unwrap(), &4);
    wait_released.recv_timeout(LONG).expect("the callback ran");
    drop(p);
    assert_no_children();
}

fn frame_limits() {
    let pool = builder().max_workers(1).max_frame(4096).build().unwrap();
    let err = pool
        .submit_task(len_of, vec![0; 10_000])
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(remote(&err).kind(), RemoteErrorKind::FrameTooLarge);
    let err = pool
        .submit_task(bytes_of, 10_000)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(remote(&err).kind(), RemoteErrorKind::FrameTooLarge);
    assert_eq!(
        pool.submit_task(len_of, vec![0; 1000])
            .unwrap()
            .into_result()
            .unwrap(),
        1000
    );
    assert_eq!(
        pool.submit_task(bytes_of, 100)
            .unwrap()
            .into_result()
            .unwrap()
            .len(),
        100
    );
}

/// Never registered: the worker refuses to call it.
#[derive(Clone, Copy)]
struct Unregistered;
impl concur_core::RemoteFn for Unregistered {
    type Args = u64;
    type Output = u64;
    const NAME: &'static str = "tests::unregistered";
    const FINGERPRINT: u64 = 1;
    fn call(x: u64) -> Result<u64, concur_core::BoxError> {
        Ok(x)
    }
}

/// Same name as `square`, different signature fingerprint.
#[derive(Clone, Copy)]
struct WrongSignature;
impl concur_core::RemoteFn for WrongSignature {
    type Args = u64;
    type Output = u64;
    const NAME: &'static str = <square as concur_core::RemoteFn>::NAME;
    const FINGERPRINT: u64 = concur_ipc::fingerprint("fn(u32) -> u32");
    fn call(x: u64) -> Result<u64, concur_core::BoxError> {
        Ok(x)
    }
}

fn unknown_function_and_signature_mismatch() {
    let pool = pool(1);
    let err = pool
        .submit_task(Unregistered, 1)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(remote(&err).kind(), RemoteErrorKind::UnknownFunction);
    let err = pool
        .submit_task(WrongSignature, 1)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(remote(&err).kind(), RemoteErrorKind::SignatureMismatch);
    assert!(err.to_string().contains("square"), "{err}");
}

fn no_fd_leak_and_no_zombies() {
    let before = open_fds();
    let pool = pool(2);
    let pids = pool.worker_pids();
    let f = pool.submit_task(exit_99, ()).unwrap();
    assert!(f.result_timeout(LONG).is_err());
    let _ = pool.submit_batch(square, (0..50).collect()).unwrap();
    drop(pool);
    assert_eq!(open_fds(), before, "descriptors leaked");
    assert_no_children();
    for p in pids {
        assert!(
            std::fs::metadata(format!("/proc/{p}")).is_err(),
            "worker {p} not reaped"
        );
    }
}

fn cancel_pending_future() {
    let pool = pool(1);
    let running = pool.submit_task(sleep_ms, 200).unwrap();
    let pending = pool.submit_task(square, 3).unwrap();
    assert!(pending.cancel());
    assert!(running.result_timeout(LONG).is_ok());
    assert!(pending.result().unwrap_err().is_cancelled());
    assert_eq!(
        pool.submit_task(square, 5).unwrap().into_result().unwrap(),
        25
    );
}

/// ForkServer only: the server dies (and with it its workers). The running
/// task fails with `WorkerDied` saying the fork server was lost (no
/// invented exit code); queued tasks are served by workers of a new fork
/// server; the pool keeps serving; nothing is left behind.
fn fork_server_death_restarts_it() {
    assert_eq!(
        METHOD.load(Ordering::SeqCst),
        1,
        "listed for ForkServer only"
    );
    let fds = open_fds();
    let pool = pool(1);
    let server = fork_server_of(&pool);
    let running = pool.submit_task(sleep_ms, 60_000).unwrap();
    wait_running(&running);
    let queued: Vec<_> = (0..5)
        .map(|i| pool.submit_task(square, i).unwrap())
        .collect();
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(server as i32, libc::SIGKILL) };
    let err = running.result_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WorkerDied, "{err:?}");
    assert_eq!(died(&err).cause, ExitCause::ForkServerLost);
    assert!(err.to_string().contains("fork server"), "{err}");
    for (i, f) in queued.into_iter().enumerate() {
        assert_eq!(f.into_result().unwrap(), (i * i) as u64);
    }
    let new_server = fork_server_of(&pool);
    assert_ne!(new_server, server);
    // Killed again, with the pool idle: the next task still runs.
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(new_server as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        pool.submit_task(square, 9).unwrap().into_result().unwrap(),
        81
    );
    drop(pool);
    assert_no_children();
    assert_eq!(open_fds(), fds, "descriptors leaked");
}

/// The process-wide zygote dies: pools it forked servers for keep working
/// (a server outlives the zygote that forked it), and the next pool
/// starts a new zygote.
fn zygote_death_spares_running_pools() {
    let pool = pool(2);
    let zygote = concur_process::zygote_pid().expect("a fork-server pool has a zygote");
    let workers = pool.worker_pids();
    assert!(helpers::sigkill(zygote));
    // The pool's server and workers are untouched: tasks run, a killed
    // worker is forked again by the same server.
    assert_eq!(
        pool.submit_task(square, 7).unwrap().into_result().unwrap(),
        49
    );
    assert!(helpers::sigkill(workers[0]));
    let fresh = helpers::new_worker(&pool, &workers);
    assert!(!workers.contains(&fresh));
    let out: Vec<u64> = pool
        .submit_batch(square, (0..20).collect())
        .unwrap()
        .into_iter()
        .map(|f| f.into_result().unwrap())
        .collect();
    assert_eq!(out, (0..20u64).map(|x| x * x).collect::<Vec<_>>());
    // A new pool gets a new zygote (the dead one is reaped then).
    let second = helpers::pool(1);
    let new_zygote = concur_process::zygote_pid().unwrap();
    assert_ne!(new_zygote, zygote);
    assert_eq!(
        second
            .submit_task(square, 3)
            .unwrap()
            .into_result()
            .unwrap(),
        9
    );
    drop((pool, second));
}

/// The zygote's children: (pid, name).
fn zygote_children() -> Vec<(u32, String)> {
    let Some(zygote) = concur_process::zygote_pid() else {
        return Vec::new();
    };
    concur_testkit::procfs::processes()
        .into_iter()
        .filter(|p| p.ppid == zygote && p.state != 'Z')
        .map(|p| (p.pid, p.comm))
        .collect()
}

/// The one spare server, once the zygote forked it (waits for it).
fn spare() -> u32 {
    let deadline = Instant::now() + LONG;
    loop {
        let spares: Vec<u32> = zygote_children()
            .into_iter()
            .filter(|(_, c)| c == "concur-spare")
            .map(|(p, _)| p)
            .collect();
        assert!(spares.len() <= 1, "more than one spare: {spares:?}");
        if let Some(&p) = spares.first() {
            return p;
        }
        assert!(Instant::now() < deadline, "no spare server");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The zygote keeps one fork server ready (`concur-spare`): a pool takes
/// it (it takes the program's name back), and a new one is forked when
/// the pool ends; the pool's own server ends with it.
fn a_pool_takes_the_spare_server() {
    concur_process::start_fork_server().unwrap();
    let ready = spare();
    let pool = pool(2);
    assert_eq!(
        pool.submit_task(square, 4).unwrap().into_result().unwrap(),
        16
    );
    let servers = zygote_children();
    let taken = servers.iter().find(|(p, _)| *p == ready);
    let taken = taken.unwrap_or_else(|| panic!("the spare {ready} is gone: {servers:?}"));
    assert_ne!(taken.1, "concur-spare", "it took the program's name back");
    assert!(
        !servers
            .iter()
            .any(|(p, c)| *p != ready && c != "concur-spare"),
        "another server was forked for the pool: {servers:?}"
    );
    drop(pool);
    let next = spare();
    assert_ne!(next, ready);
    let deadline = Instant::now() + LONG;
    while zygote_children().iter().any(|(p, _)| *p == ready) {
        assert!(
            Instant::now() < deadline,
            "the used server {ready} did not end"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A zygote that does not answer (stopped) is killed after its answer
/// timeout and replaced: the pool still starts. (The spare it forked
/// before it stopped serves the first pool; the next one needs the
/// zygote.)
fn stopped_zygote_is_replaced() {
    concur_process::start_fork_server().unwrap();
    let warm = pool(1); // greets the zygote
    drop(warm);
    spare();
    let zygote = concur_process::zygote_pid().unwrap();
    // SAFETY: plain kill(2) of our own child.
    assert_eq!(unsafe { libc::kill(zygote as i32, libc::SIGSTOP) }, 0);
    let on_the_spare = pool(1);
    assert_eq!(
        on_the_spare
            .submit_task(square, 6)
            .unwrap()
            .into_result()
            .unwrap(),
        36
    );
    drop(on_the_spare);
    let t = Instant::now();
    let pool = pool(1);
    assert!(t.elapsed() < LONG, "{:?}", t.elapsed());
    let new_zygote = concur_process::zygote_pid().unwrap();
    assert_ne!(new_zygote, zygote);
    assert_eq!(
        pool.submit_task(square, 5).unwrap().into_result().unwrap(),
        25
    );
    drop(pool);
    // The stopped one was killed and reaped.
    assert!(!children().iter().any(|&(p, _)| p == zygote));
    assert!(!std::path::Path::new(&format!("/proc/{zygote}")).exists());
}

/// This program killed (`SIGKILL`) with a fork-server pool running: its
/// zygote, the pool's server and the workers all end, none left behind.
fn zygote_and_servers_end_with_the_program() {
    let dir = std::env::temp_dir().join(format!(
        "concur-zygote-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let out = concur_testkit::run_child(
        "zygote_child_killed",
        &[("CONCUR_ZYGOTE_OUT", dir.as_os_str())],
        LONG,
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&out.status),
        Some(libc::SIGKILL),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pids: Vec<u32> = std::fs::read_to_string(&dir)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let _ = std::fs::remove_file(&dir);
    // zygote, server, 2 workers
    assert_eq!(pids.len(), 4, "{pids:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    for pid in pids {
        // Gone, or (reparented, not yet reaped) a zombie.
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
        }) {
            assert!(
                Instant::now() < deadline,
                "process {pid} outlived its program"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Run by `zygote_and_servers_end_with_the_program` as a child: writes the
/// pids of its zygote, its pool's server and its 2 workers, then kills
/// itself.
#[test]
#[ignore = "run as a child by zygote_and_servers_end_with_the_program"]
fn zygote_child_killed() {
    let out = std::env::var_os("CONCUR_ZYGOTE_OUT").expect("run as a child");
    let pool = ProcessPool::builder()
        .start_method(concur_process::StartMethod::ForkServer)
        .max_workers(2)
        .build()
        .unwrap();
    let zygote = concur_process::zygote_pid().unwrap();
    let workers = pool.worker_pids();
    let server = fork_server_of(&pool);
    let mut pids = vec![zygote, server];
    pids.extend(workers);
    std::fs::write(
        &out,
        pids.iter().map(|p| format!("{p} ")).collect::<String>(),
    )
    .unwrap();
    concur_testkit::fault::kill_self();
}

/// The pool's fork server: our child that is not one of its workers.
fn fork_server_of(pool: &ProcessPool) -> u32 {
    let deadline = Instant::now() + LONG;
    loop {
        let workers = pool.worker_pids();
        if let Some((p, _)) = children().into_iter().find(|(p, _)| !workers.contains(p)) {
            return p;
        }
        assert!(Instant::now() < deadline, "no fork server");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A task writes a stray frame into its worker's socket: the worker is
/// retired at once (its task fails with a protocol error that says what it
/// sent), no later frame of it is believed, and the next task, queued
/// behind it on the only worker, runs on the replacement.
fn stray_frames_retire_only_the_violator() {
    // Over the socket (no shared memory), then over the reply ring.
    for into_ring in [false, true] {
        leak_checked(|| stray_frames_over(into_ring));
    }
}

fn stray_frames_over(into_ring: bool) {
    let pool = builder()
        .max_workers(1)
        .shared_memory(into_ring)
        .build()
        .unwrap();
    assert_eq!(pool.workers_on_shared_memory(), usize::from(into_ring));
    let mut cases = vec![
        (0u8, "a Ready frame while running a task"),
        (1, "a Hello frame"),
        (
            2,
            "a reply to task 18446744073709551615, which it was not running",
        ),
        (3, "exceeds the maximum"),
    ];
    if into_ring {
        cases.push((4, "shared-memory ring corrupt"));
    }
    for (kind, what) in cases {
        let violator = pool.submit_task(stray_frame, (kind, into_ring)).unwrap();
        let innocent = pool.submit_task(square, 7).unwrap();
        let err = violator.result_timeout(LONG).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{err:?}");
        let text = err.to_string();
        assert!(text.contains("protocol violation"), "{text}");
        assert!(text.contains(what), "{text}");
        let v = err
            .downcast_ref::<concur_process::ProtocolViolation>()
            .unwrap();
        assert!(v.pid > 0);
        assert_eq!(innocent.into_result().unwrap(), 49, "kind {kind}");
    }
    if into_ring {
        // A frame on the socket of a worker that moved to its rings is
        // read (frames with descriptors come that way) and judged.
        let violator = pool.submit_task(stray_frame, (2, false)).unwrap();
        let text = violator.result_timeout(LONG).unwrap_err().to_string();
        assert!(
            text.contains("a reply to task 18446744073709551615, which it was not running"),
            "{text}"
        );
    }
    assert_eq!(
        pool.submit_task(square, 3).unwrap().into_result().unwrap(),
        9
    );
}

/// A million tasks queued behind two busy workers hold no descriptor, and
/// running them opens none: the pool's count is the same with them queued
/// and after (the rings keep no descriptor in the pool), and nothing is
/// left once it is dropped.
fn a_million_queued_tasks_hold_no_descriptors() {
    leak_checked(|| {
        let pool = pool(2);
        assert_eq!(pool.workers_on_shared_memory(), 2);
        let with_pool = open_fds();
        let busy: Vec<_> = (0..2)
            .map(|_| pool.submit_task(sleep_ms, 300).unwrap())
            .collect();
        let started = Instant::now();
        let futs: Vec<_> = (0..1_000_000u64)
            .map(|x| pool.submit_task(square, x % 1000).unwrap())
            .collect();
        let queued = pool.stats().queued;
        assert_eq!(
            open_fds(),
            with_pool,
            "descriptors with {queued} tasks queued"
        );
        for f in &busy {
            f.result_timeout(LONG).unwrap();
        }
        for (x, f) in futs.iter().enumerate() {
            let x = x as u64 % 1000;
            assert_eq!(f.result_timeout(LONG).unwrap(), &(x * x));
        }
        println!(
            "    1M tasks ({queued} queued at the check) in {:.2?}",
            started.elapsed()
        );
        assert_eq!(open_fds(), with_pool, "descriptors after 1M tasks");
    });
}

/// A done-callback that sleeps 1 s on one process future delays no other
/// future's result, nor other callbacks; callbacks never run on the
/// dispatcher thread.
fn slow_callback_delays_nobody() {
    let pool = pool(2);
    let (tx, rx) = std::sync::mpsc::channel();
    // Tasks long enough that each callback is added before its task ends
    // (a callback added to a done future runs at once on the adding
    // thread, as CPython's).
    let slow: Vec<_> = (0..3)
        .map(|_| {
            let f = pool.submit_task(sleep_ms, 200).unwrap();
            let tx = tx.clone();
            f.add_done_callback(move |_| {
                let name = std::thread::current().name().map(str::to_string);
                tx.send(name).unwrap();
                std::thread::sleep(Duration::from_secs(1));
            });
            f
        })
        .collect();
    for f in &slow {
        f.result_timeout(LONG).unwrap();
    }
    for _ in 0..3 {
        let name = rx.recv_timeout(LONG).unwrap();
        assert_eq!(name.as_deref(), Some("concur-process-callbacks"));
    }
    // Three callbacks are asleep; results and other callbacks go on.
    let t = Instant::now();
    for i in 0..20u64 {
        assert_eq!(
            pool.submit_task(square, i).unwrap().into_result().unwrap(),
            i * i
        );
    }
    let quick = pool.submit_task(square, 5).unwrap();
    let (qtx, qrx) = std::sync::mpsc::channel();
    quick.add_done_callback(move |f| qtx.send(*f.result().unwrap()).unwrap());
    assert_eq!(qrx.recv_timeout(LONG).unwrap(), 25);
    assert!(
        t.elapsed() < Duration::from_millis(700),
        "results waited for a sleeping callback: {:?}",
        t.elapsed()
    );
    // The values are still there for the handles once the callbacks end.
    let pids = pool.worker_pids();
    for f in slow {
        assert!(pids.contains(&f.into_result().unwrap()));
    }
}

/// `Duration::MAX` means no limit; `Duration::ZERO` is refused by `build`
/// with an error naming the setting; nothing is started for a refused
/// build.
fn timeout_extremes() {
    let pool = builder()
        .max_workers(1)
        .task_timeout(Duration::MAX)
        .start_timeout(Duration::MAX)
        .build()
        .unwrap();
    let pid = pool
        .submit_task(pid_after, 30)
        .unwrap()
        .into_result()
        .unwrap();
    assert!(pool.worker_pids().contains(&pid));
    drop(pool);
    for (b, setting) in [
        (builder().task_timeout(Duration::ZERO), "task_timeout"),
        (builder().start_timeout(Duration::ZERO), "start_timeout"),
    ] {
        let err = b.max_workers(1).build().unwrap_err();
        assert!(err.is_config(), "{err}");
        assert!(err.to_string().contains(setting), "{err}");
    }
    // A tiny positive task timeout expires: the task is timed out.
    let pool = builder()
        .max_workers(1)
        .task_timeout(Duration::from_nanos(1))
        .build()
        .unwrap();
    let err = pool
        .submit_task(sleep_ms, 200)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    drop(pool);
    assert_no_children();
}

/// Infrastructure failures have their own error kinds, distinct from the
/// task's own error.
fn error_kinds() {
    let pool = builder()
        .max_workers(1)
        .max_frame(4096)
        .initializer(enable_backtraces)
        .build()
        .unwrap();
    let kind = |r: Result<u64, concur_core::Error>| r.unwrap_err().kind();
    let e = pool
        .submit_task(bytes_of, 10_000)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FrameTooLarge, "{e:?}");
    let e = pool
        .submit_task(len_of, vec![0; 10_000])
        .unwrap()
        .into_result();
    assert_eq!(e.unwrap_err().kind(), ErrorKind::FrameTooLarge);
    for mode in [
        ERROR_SER_PARENT,
        ERROR_DE_WORKER,
        ERROR_SER_WORKER,
        ERROR_DE_PARENT,
    ] {
        let e = pool
            .submit_task(echo, Probe(mode))
            .unwrap()
            .into_result()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Codec, "mode {mode}: {e:?}");
    }
    assert_eq!(
        kind(pool.submit_task(parse, "x".into()).unwrap().into_result()),
        ErrorKind::Task
    );
    // A panic whose backtrace alone passes max_frame: the message is kept,
    // the backtrace dropped.
    let e = pool
        .submit_task(panics, "boom".into())
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Task, "{e:?}");
    assert!(e.to_string().contains("boom"), "{e}");
    let e = pool
        .submit_task(Unregistered, 1)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    let e = pool
        .submit_task(exit_99, ())
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WorkerDied);
}

/// A marker file path, not existing yet, named for `what`, this process
/// and the start method (the workers get it as an initializer argument).
fn fresh_mark(what: &str) -> std::path::PathBuf {
    let mark = std::env::temp_dir().join(format!(
        "concur-{what}-{}-{}",
        std::process::id(),
        METHOD.load(Ordering::SeqCst)
    ));
    let _ = std::fs::remove_file(&mark);
    mark
}

/// `path` as an initializer argument.
fn arg(path: &std::path::Path) -> String {
    path.to_str().expect("a UTF-8 temporary path").to_string()
}

/// A replacement whose initializer fails breaks a running pool (CPython's
/// `BrokenProcessPool`): the task running on the other worker fails with
/// that cause (not a bare SIGKILL), new work is refused, nothing is left.
fn initializer_failing_in_a_replacement_breaks_with_its_cause() {
    let mark = fresh_mark("init-mark");
    let pool = builder()
        .max_workers(2)
        .initializer_with(fails_once_marked, arg(&mark))
        .build()
        .unwrap();
    let running = pool.submit_task(sleep_ms, 60_000).unwrap();
    wait_running(&running);
    let busy = pool.submit_task(worker_pid, ()).unwrap();
    let other = busy.into_result().unwrap();
    std::fs::write(&mark, b"").unwrap();
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(other as i32, libc::SIGKILL) };
    let err = running.result_timeout(LONG).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Broken, "{err:?}");
    assert!(err.to_string().contains("fails_once_marked"), "{err}");
    let refused = pool.submit_task(square, 1).unwrap_err();
    assert_eq!(refused.error().kind(), ErrorKind::Broken);
    drop(pool);
    let _ = std::fs::remove_file(&mark);
    assert_no_children();
}

/// One worker starts, the other slot's starts keep timing out: `build`
/// returns the working pool after `start_timeout` instead of waiting for
/// the failing slot, which is retried in the background.
fn build_returns_when_one_slot_keeps_failing() {
    let mark = fresh_mark("first-mark");
    let t = Instant::now();
    let pool = builder()
        .max_workers(2)
        .initializer_with(first_starts_others_hang, arg(&mark))
        .start_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    for i in 0..10u64 {
        assert_eq!(
            pool.submit_task(square, i).unwrap().into_result().unwrap(),
            i * i
        );
    }
    drop(pool);
    let _ = std::fs::remove_file(&mark);
    assert_no_children();
}

/// Two `remote!` declarations of `fn f(x: u64) -> u64` in two function
/// bodies of one module: each call runs its own body.
fn same_name_in_two_bodies() {
    CURRENT.with(|c| *c.borrow_mut() = Some(pool(1)));
    assert_eq!(plus_one(1).into_result().unwrap(), 2);
    assert_eq!(plus_hundred(1).into_result().unwrap(), 101);
    CURRENT.with(|c| c.borrow_mut().take());
    assert_no_children();
}

/// `new(n)`, `builder().max_workers(n).build()`, `Builder::new()` and
/// `Builder::default()` give the same pool; `with_default_workers()` is
/// `builder().build()` (CPython's `ProcessPoolExecutor()`). All use the
/// default start method, spawn.
fn constructors_are_equivalent() {
    type Start = fn() -> ProcessPool;
    let pools: [(&str, Start); 5] = [
        ("new", || ProcessPool::new(2).unwrap()),
        ("builder", || {
            ProcessPool::builder().max_workers(2).build().unwrap()
        }),
        ("Builder::new", || {
            Builder::new().max_workers(2).build().unwrap()
        }),
        ("Builder::default", || {
            Builder::default().max_workers(2).build().unwrap()
        }),
        ("a clone", || {
            let b = ProcessPool::builder().max_workers(2);
            let first = b.clone();
            drop(b);
            first.build().unwrap()
        }),
    ];
    for (how, start) in &pools {
        let pool = start();
        assert_eq!(pool.max_workers(), 2, "{how}");
        assert_eq!(pool.worker_pids().len(), 2, "{how}");
        assert_eq!(
            pool.submit_task(square, 9).unwrap().into_result().unwrap(),
            81,
            "{how}"
        );
        drop(pool);
        assert_no_children();
    }
    let pool = ProcessPool::with_default_workers().unwrap();
    assert_eq!(pool.max_workers(), concur_process::default_max_workers());
    assert_eq!(
        concur_process::default_max_workers(),
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    assert_eq!(pool.worker_pids().len(), pool.max_workers());
    assert_eq!(
        pool.submit_task(square, 3).unwrap().into_result().unwrap(),
        9
    );
    drop(pool);
    assert_no_children();
}

/// Every refused setting is a configuration error that names it, worded
/// as the thread pool's ("… must be at least 1"); nothing is started.
fn every_refusal_names_the_setting() {
    let msg = |r: Result<ProcessPool, concur_process::BuildError>| {
        let e = r.unwrap_err();
        assert!(e.is_config(), "{e:?}");
        assert!(e.start_error().is_none() && !e.is_in_worker(), "{e:?}");
        e.to_string()
    };
    assert_eq!(msg(ProcessPool::new(0)), "max_workers must be at least 1");
    assert_eq!(
        msg(builder().max_workers(0).build()),
        "max_workers must be at least 1"
    );
    assert_eq!(
        msg(builder().max_tasks_per_child(0).build()),
        "max_tasks_per_child must be at least 1"
    );
    assert_eq!(
        msg(builder().max_frame(63).build()),
        "max_frame must be between 64 bytes and 4 GiB"
    );
    assert_eq!(
        msg(builder().task_timeout(Duration::ZERO).build()),
        "task_timeout must be greater than zero (use Duration::MAX, or leave it unset, for no \
         limit)"
    );
    assert_eq!(
        msg(builder().start_timeout(Duration::ZERO).build()),
        "start_timeout must be greater than zero (use Duration::MAX for no limit)"
    );
    assert!(children().is_empty(), "{:?}", children());
}

/// CPython's `initargs`: every worker, replacements included, runs the
/// initializer with the builder's arguments; tasks read what it stored.
fn initializer_with_arguments_reaches_every_worker() {
    let pool = builder()
        .max_workers(2)
        .initializer_with(store_init_args, ("hello".to_string(), 7))
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    // Replacement workers get the same arguments (max_tasks_per_child = 1).
    let mut pids = std::collections::HashSet::new();
    for _ in 0..5 {
        let fut = pool.submit_task(read_init_args, ()).unwrap();
        assert_eq!(fut.into_result().unwrap(), Some(("hello".to_string(), 7)));
        pids.insert(
            pool.submit_task(worker_pid, ())
                .unwrap()
                .into_result()
                .unwrap(),
        );
    }
    assert_eq!(pids.len(), 5, "every task ran in a new worker: {pids:?}");
    assert_eq!(*INIT_ARGS.lock().unwrap(), None, "never ran in the parent");
    // `initializer(f)` is `initializer_with(f, ())`.
    let unit = builder()
        .max_workers(1)
        .initializer_with(set_init_value, ())
        .build()
        .unwrap();
    assert_eq!(
        unit.submit_task(read_init_value, ())
            .unwrap()
            .into_result()
            .unwrap(),
        42
    );
    // One builder, cloned, builds two pools with the same arguments.
    let b = builder()
        .max_workers(1)
        .initializer_with(store_init_args, ("twice".to_string(), 2));
    let (p1, p2) = (b.clone().build().unwrap(), b.build().unwrap());
    for p in [&p1, &p2] {
        let got = p
            .submit_task(read_init_args, ())
            .unwrap()
            .into_result()
            .unwrap();
        assert_eq!(got, Some(("twice".to_string(), 2)));
    }
    drop((pool, unit, p1, p2));
    assert_no_children();
}

/// An initializer that fails or panics on its arguments breaks the pool
/// (build fails, nothing left), as one without arguments does; so do
/// arguments that a worker cannot decode.
fn initializer_with_arguments_failing_breaks_the_pool() {
    let ok = builder()
        .max_workers(1)
        .initializer_with(init_at_most, (4, 4))
        .build();
    assert!(ok.is_ok(), "{:?}", ok.err());
    drop(ok);
    let cases: [(concur_process::BuildError, &[&str]); 4] = [
        (
            builder()
                .max_workers(2)
                .initializer_with(init_at_most, (4, 9))
                .build()
                .unwrap_err(),
            &["init_at_most", "asked for 9 connections, at most 4"],
        ),
        (
            builder()
                .max_workers(2)
                .initializer_with(init_panics, "bad config".into())
                .build()
                .unwrap_err(),
            &["init_panics", "bad config"],
        ),
        (
            builder()
                .max_workers(1)
                .initializer_with(echo, Probe(ERROR_DE_WORKER))
                .build()
                .unwrap_err(),
            &["echo", "refusing to deserialize"],
        ),
        (
            builder()
                .max_workers(1)
                .initializer_with(echo, Probe(PANIC_DE_WORKER))
                .build()
                .unwrap_err(),
            &["echo", "panic while deserializing"],
        ),
    ];
    for (err, needles) in &cases {
        let start = err
            .start_error()
            .unwrap_or_else(|| panic!("a start error: {err:?}"));
        assert_eq!(start.kind(), ErrorKind::Broken, "{err:?}");
        let text = err.to_string();
        for n in *needles {
            assert!(text.contains(n), "{n:?} not in {text}");
        }
    }
    assert_no_children();
}

/// Arguments that cannot be encoded, or need more than the handshake frame
/// allows, are a configuration error of `build`: no worker is started.
fn initializer_arguments_that_cannot_be_sent_are_a_build_error() {
    let check = |err: concur_process::BuildError, needles: &[&str]| {
        assert!(err.is_config(), "{err:?}");
        assert!(err.start_error().is_none(), "{err:?}");
        let text = err.to_string();
        assert!(text.starts_with("the arguments ("), "{text}");
        for n in needles {
            assert!(text.contains(n), "{n:?} not in {text}");
        }
        assert!(std::error::Error::source(&err).is_some());
        assert!(children().is_empty(), "{:?}", children());
    };
    let b = || builder().max_workers(1);
    check(
        b().initializer_with(echo, Probe(ERROR_SER_PARENT))
            .build()
            .unwrap_err(),
        &["echo", "refusing to serialize"],
    );
    check(
        b().initializer_with(echo, Probe(PANIC_SER_PARENT))
            .build()
            .unwrap_err(),
        &["echo", "panicked", "panic while serializing"],
    );
    // Past max_frame.
    check(
        b().max_frame(1024)
            .initializer_with(init_bytes, vec![1; 2000])
            .build()
            .unwrap_err(),
        &["init_bytes", "needs more than its limit of 1024 bytes"],
    );
    // A worker reads its handshake with the default limit (64 MiB) before
    // it learns max_frame: a larger max_frame does not lift that.
    let big = Blob(concur_ipc::DEFAULT_MAX_FRAME + 1);
    check(
        b().max_frame(1 << 27)
            .initializer_with(init_blob, big)
            .build()
            .unwrap_err(),
        &["init_blob", "needs more than its limit of 67108864 bytes"],
    );
    // Arguments that fit, in a frame that does not (the request's own
    // bytes push it over).
    check(
        b().max_frame(1024)
            .initializer_with(init_bytes, vec![1; 1022])
            .build()
            .unwrap_err(),
        &["init_bytes", "needs more than its limit of 1024 bytes"],
    );
    // Just under max_frame is fine, and reaches the worker.
    let pool = b()
        .max_frame(4096)
        .initializer_with(init_bytes, vec![1; 3000])
        .build()
        .unwrap();
    assert_eq!(
        pool.submit_task(read_init_value, ())
            .unwrap()
            .into_result()
            .unwrap(),
        3001
    );
    drop(pool);
    assert_no_children();
}

/// `Debug` shows what `ThreadPool`'s does, in the same order: the bound,
/// the live workers, shutdown, broken, then the start method.
fn debug_shows_bound_live_workers_and_lifecycle() {
    let method = match METHOD.load(Ordering::SeqCst) {
        0 => "Spawn",
        _ => "ForkServer",
    };
    let pool = pool(2);
    assert!(!pool.is_broken());
    assert_eq!(
        format!("{pool:?}"),
        format!(
            "ProcessPool {{ max_workers: 2, num_workers: 2, shutdown: false, broken: false, \
             start_method: {method}, .. }}"
        )
    );
    pool.shutdown();
    assert_eq!(
        format!("{pool:?}"),
        format!(
            "ProcessPool {{ max_workers: 2, num_workers: 0, shutdown: true, broken: false, \
             start_method: {method}, .. }}"
        )
    );
    drop(pool);
    // Broken: a replacement's initializer fails.
    let mark = fresh_mark("init-mark");
    let pool = builder()
        .max_workers(1)
        .initializer_with(fails_once_marked, arg(&mark))
        .build()
        .unwrap();
    let pid = pool
        .submit_task(worker_pid, ())
        .unwrap()
        .into_result()
        .unwrap();
    std::fs::write(&mark, b"").unwrap();
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let deadline = Instant::now() + LONG;
    while !pool.is_broken() {
        assert!(Instant::now() < deadline, "never broke: {pool:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let text = format!("{pool:?}");
    assert!(text.contains("broken: true"), "{text}");
    drop(pool);
    let _ = std::fs::remove_file(&mark);
    assert_no_children();
}

// -------------------------------------------------------------------- tests

/// Once per binary, before the first case.
fn setup() {
    // The deadlock matrix panics on purpose in this process's
    // (de)serializers (caught, turned into errors): keep those out of the
    // output.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or_default();
        if !msg.starts_with("panic while") {
            default_hook(info);
        }
    }));
}

process_tests! {
    setup: setup;
    both: [
        round_trip_and_batch,
        borrowed_args_and_result_aliases_in_a_worker,
        generic_task_executor,
        map_task_with_chunksize,
        submit_chunk_keeps_order_and_item_failures,
        task_error_and_panic,
        killed_by_sigkill_from_the_test,
        abort_fails_only_its_task,
        segfault_fails_only_its_task,
        exit_99_fails_only_its_task,
        deadlock_matrix,
        task_timeout_kills_and_replaces,
        kill_running_future,
        terminate_and_kill_workers,
        max_tasks_per_child,
        initializer_runs_in_each_worker,
        failing_initializer_breaks_the_pool,
        nested_pool_is_refused,
        unregistered_initializer_is_a_clear_error,
        shutdown_in_every_state,
        frame_limits,
        unknown_function_and_signature_mismatch,
        cancel_pending_future,
        no_fd_leak_and_no_zombies,
        stray_frames_retire_only_the_violator,
        slow_callback_delays_nobody,
        timeout_extremes,
        error_kinds,
        same_name_in_two_bodies,
        initializer_failing_in_a_replacement_breaks_with_its_cause,
        initializer_with_arguments_reaches_every_worker,
        initializer_with_arguments_failing_breaks_the_pool,
        initializer_arguments_that_cannot_be_sent_are_a_build_error,
        debug_shows_bound_live_workers_and_lifecycle,
        every_refusal_names_the_setting,
        build_returns_when_one_slot_keeps_failing,
    ];
    spawn_only: [
        constructors_are_equivalent,
        // The transport is the same under both start methods.
        a_million_queued_tasks_hold_no_descriptors,
    ];
    fork_server_only: [
        a_pool_takes_the_spare_server,
        fork_server_death_restarts_it,
        zygote_death_spares_running_pools,
        stopped_zygote_is_replaced,
        zygote_and_servers_end_with_the_program,
    ];
}
