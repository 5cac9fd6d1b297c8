//! A binary whose `main` forgets `concur_process::init()`: building a pool
//! must fail with a clear error saying what to add, never spawn endlessly.
//! `harness = false`; the re-executed copies of this binary run this same
//! `main` (that is the point).

use concur_process::ProcessPool;
use std::time::{Duration, Instant};

fn children() -> usize {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1).map(|p| p == me))
                .unwrap_or(false)
        })
        .count()
}

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
        // A re-executed copy: what a forgetful program would do next is
        // build its own pool — which is refused in a worker process.
        if std::env::var_os("FORGOT_INIT_MODE").is_some_and(|m| m == "impostor") {
            impostor();
        }
        let err = ProcessPool::builder().max_workers(1).build().unwrap_err();
        assert!(err.is_in_worker(), "{err}");
        if std::env::var_os("FORGOT_INIT_MODE").is_some_and(|m| m == "sleep") {
            // A program that does something long instead: the handshake
            // times out.
            std::thread::sleep(Duration::from_secs(120));
        }
        eprintln!("(re-executed copy) {err}");
        std::process::exit(3);
    }
    let mut passed = 0;
    let start = Instant::now();
    println!("\nrunning 3 tests");

    // 1. The copy exits before the handshake.
    let err = ProcessPool::builder().max_workers(2).build().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("concur_process::init()"), "{text}");
    assert!(text.contains("before completing the handshake"), "{text}");
    assert!(text.contains("exited with code 3"), "{text}");
    assert_eq!(
        err.start_error().unwrap().kind(),
        concur_core::ErrorKind::Broken
    );
    assert_eq!(children(), 0, "children left behind");
    println!("test forgotten_init_copy_exits ... ok");
    passed += 1;

    // 2. The copy runs on: the handshake times out, the copy is killed.
    // SAFETY: single-threaded here (the first pool's dispatcher is joined).
    unsafe { std::env::set_var("FORGOT_INIT_MODE", "sleep") };
    let t = Instant::now();
    let err = ProcessPool::builder()
        .max_workers(1)
        .start_timeout(Duration::from_millis(1500))
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("did not complete the handshake within 1.5s"),
        "{text}"
    );
    assert!(text.contains("concur_process::init()"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(60));
    assert_eq!(children(), 0, "children left behind");
    println!("test forgotten_init_handshake_timeout ... ok");
    passed += 1;

    // 3. A worker from a different build is refused at handshake.
    // SAFETY: single-threaded here (the previous pool's dispatcher is joined).
    unsafe { std::env::set_var("FORGOT_INIT_MODE", "impostor") };
    let err = ProcessPool::builder().max_workers(1).build().unwrap_err();
    let text = err.to_string();
    assert!(text.contains("refused at handshake"), "{text}");
    assert!(text.contains("different build"), "{text}");
    assert_eq!(children(), 0, "children left behind");
    println!("test worker_from_a_different_build_is_refused ... ok");
    passed += 1;

    println!(
        "\ntest result: ok. {passed} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s\n",
        start.elapsed().as_secs_f64()
    );
}
