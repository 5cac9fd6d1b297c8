//! A binary whose workers are not diverted before `main` (the automatic
//! worker guard turned off with `CONCUR_PROCESS_NO_AUTO_GUARD`, as where
//! the platform has no pre-`main` hook) and whose `main` has no
//! `concur_process::init()`: building a pool must fail with a clear error
//! saying what to add, never spawn endlessly. `harness = false`; the
//! re-executed copies of this binary run this same `main` (that is the
//! point).

use concur_process::{ProcessPool, StartMethod};
use concur_testkit::procfs;
use std::time::{Duration, Instant};

/// Plays a worker "from a different build": answers the handshake on the
/// pool's socket with a registry fingerprint that does not match.
fn impostor() -> ! {
    use std::os::fd::FromRawFd;
    let token = std::env::var("CONCUR_PROCESS_WORKER").unwrap();
    let fd: i32 = token.strip_prefix("spawn:").unwrap().parse().unwrap();
    // SAFETY: the pool handed this descriptor to this process.
    let mut sock = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
    let mut hello = concur_ipc::Hello::current(std::process::id());
    hello.registry ^= 0xdead_beef;
    concur_ipc::write_frame(&mut sock, &concur_ipc::Reply::Hello(hello), 1 << 20).unwrap();
    std::thread::sleep(Duration::from_secs(120));
    std::process::exit(0);
}

fn main() {
    // Deliberately no `concur_process::init()` here.
    if concur_process::is_worker_process() {
        assert!(std::env::var_os("CONCUR_PROCESS_NO_AUTO_GUARD").is_some());
        let mode = std::env::var("FORGOT_INIT_MODE").unwrap_or_default();
        match mode.as_str() {
            "impostor" => impostor(),
            // A program that exits before it builds any pool.
            "exit" => std::process::exit(3),
            // A program that does something long instead: the handshake
            // times out.
            "sleep" => std::thread::sleep(Duration::from_secs(120)),
            _ => {}
        }
        // What a forgetful program does next: build its own pool, which is
        // refused in a worker process (and tells the pool that started it).
        // (What it says is checked in `copy_is_told_what_to_do` below.)
        let err = ProcessPool::builder().max_workers(1).build().unwrap_err();
        assert!(err.is_in_worker(), "{err}");
        std::process::exit(3);
    }
    // The copies inherit it: the pre-`main` hook leaves them alone.
    // SAFETY: no other thread exists yet.
    unsafe { std::env::set_var("CONCUR_PROCESS_NO_AUTO_GUARD", "1") };
    let mut passed = 0;
    let start = Instant::now();
    println!("\nrunning 8 tests");
    for method in [StartMethod::Spawn, StartMethod::ForkServer] {
        let name = format!("{method:?}").to_lowercase();
        let builder = || ProcessPool::builder().start_method(method);
        let set_mode = |m: &str| {
            // SAFETY: single-threaded here (every pool's dispatcher is
            // joined before the next case).
            unsafe { std::env::set_var("FORGOT_INIT_MODE", m) };
        };

        // 1. The copy reaches `build`: it says so; the pool fails at once.
        set_mode("build");
        let t = Instant::now();
        let err = builder().max_workers(2).build().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("concur_process::init()"), "{text}");
        assert!(text.contains("concur::process::init()"), "{text}");
        assert!(text.contains("does not call the worker guard"), "{text}");
        assert!(
            text.contains("automatic worker guard is turned off"),
            "{text}"
        );
        assert!(!text.contains("initializer"), "{text}");
        assert_eq!(
            err.start_error().unwrap().kind(),
            concur_core::ErrorKind::Broken
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert_eq!(procfs::children().len(), 0, "children left behind");
        println!("test {name}::forgotten_init_copy_reaches_build ... ok");
        passed += 1;

        // 2. The copy exits before any handshake: after a few attempts.
        set_mode("exit");
        let err = builder().max_workers(2).build().unwrap_err();
        let text = err.to_string();
        assert!(text.contains("concur_process::init()"), "{text}");
        assert!(text.contains("exited with code 3"), "{text}");
        assert!(text.contains("before completing"), "{text}");
        assert!(text.contains("starts in a row"), "{text}");
        assert!(!text.contains("initializer"), "{text}");
        assert_eq!(procfs::children().len(), 0, "children left behind");
        println!("test {name}::forgotten_init_copy_exits ... ok");
        passed += 1;

        // 3. The copy runs on: the handshake times out, the copy is killed.
        set_mode("sleep");
        let t = Instant::now();
        let err = builder()
            .max_workers(1)
            .start_timeout(Duration::from_millis(1500))
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("handshake within 1.5s"), "{text}");
        assert!(text.contains("concur_process::init()"), "{text}");
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        assert_eq!(procfs::children().len(), 0, "children left behind");
        println!("test {name}::forgotten_init_handshake_timeout ... ok");
        passed += 1;
    }

    // 4. What an undiverted copy's own `build` says (checked here: the
    // copy's pool kills it as soon as it reports): not "nested pools",
    // which would be misleading, but what to do. This process plays the
    // copy for a moment (a token whose descriptor is not open: the report
    // to the pool fails, ignored).
    // SAFETY: single-threaded here (the previous pool's dispatcher is joined).
    unsafe { std::env::set_var("CONCUR_PROCESS_WORKER", "spawn:-1") };
    let err = ProcessPool::builder().max_workers(1).build().unwrap_err();
    // SAFETY: as above.
    unsafe { std::env::remove_var("CONCUR_PROCESS_WORKER") };
    let text = err.to_string();
    assert!(err.is_in_worker(), "{text}");
    assert!(text.contains("not diverted into the worker loop"), "{text}");
    assert!(text.contains("turned off"), "{text}");
    assert!(text.contains("concur_process::init()"), "{text}");
    assert!(!text.contains("nested"), "{text}");
    assert_eq!(procfs::children().len(), 0, "children left behind");
    println!("test copy_is_told_what_to_do ... ok");
    passed += 1;

    // 5. A worker from a different build is refused at handshake.
    // SAFETY: single-threaded here (the previous pool's dispatcher is joined).
    unsafe { std::env::set_var("FORGOT_INIT_MODE", "impostor") };
    let err = ProcessPool::builder().max_workers(1).build().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("refused at handshake"), "{text}");
    assert!(text.contains("different build"), "{text}");
    assert_eq!(procfs::children().len(), 0, "children left behind");
    println!("test worker_from_a_different_build_is_refused ... ok");
    passed += 1;

    println!(
        "\ntest result: ok. {passed} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        start.elapsed().as_secs_f64()
    );
}
