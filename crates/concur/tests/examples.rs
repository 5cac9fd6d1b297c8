//! Runs every example that `cargo test` built for this crate and checks what
//! it prints: the examples are scenarios users copy, so they must keep working.
//! It needs the default features (with them, every example is built).

#![cfg(all(
    feature = "thread",
    feature = "combinators",
    feature = "process",
    feature = "async"
))]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// `target/<profile>/examples/<name>`, next to this test binary's `deps/`.
fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs an example to completion (at most `limit`) and returns its stdout.
fn run_example(name: &str, limit: Duration) -> String {
    let path = example_path(name);
    assert!(
        path.is_file(),
        "example binary {} missing: run `cargo test -p concur` (which builds the examples), not `--test examples` alone",
        path.display()
    );
    let start = Instant::now();
    let out = Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "example {name} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        start.elapsed() < limit,
        "example {name} took {:?} (limit {limit:?})",
        start.elapsed()
    );
    stdout
}

#[test]
fn download_is_faster_concurrently_and_map_keeps_order() {
    let out = run_example("download", Duration::from_secs(60));
    let lines: Vec<&str> = out.lines().collect();
    let section = |title: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(title))
            .expect(title)
    };
    let (seq, asc, map) = (
        section("sequential:"),
        section("concurrent, as_completed"),
        section("concurrent, map"),
    );
    let names = |from: usize| -> Vec<&str> {
        lines[from + 1..from + 7]
            .iter()
            .map(|l| l.split_whitespace().nth(2).expect("a file name"))
            .collect()
    };
    let input_order = [
        "report.pdf",
        "photo.jpg",
        "data.csv",
        "song.mp3",
        "notes.txt",
        "video.mp4",
    ];
    assert_eq!(names(seq), input_order);
    assert_eq!(names(map), input_order, "map yields in input order");
    // as_completed yields the smallest (fastest) download first, the largest last.
    let completed = names(asc);
    assert_eq!(completed.first(), Some(&"notes.txt"), "{out}");
    assert_eq!(completed.last(), Some(&"video.mp4"), "{out}");
    let speedup: f64 = out
        .lines()
        .last()
        .and_then(|l| l.split(": ").last())
        .and_then(|s| s.trim_end_matches("x faster").parse().ok())
        .expect("a final speed-up line");
    assert!(
        speedup > 1.5,
        "6 overlapping downloads should beat sequential clearly: {out}"
    );
}

#[test]
fn scraper_reports_titles_and_each_kind_of_failure() {
    let out = run_example("scraper", Duration::from_secs(60));
    assert!(out.contains("title: \"Welcome to Python.org\""), "{out}");
    assert!(
        out.contains("title: \"Rust Programming Language\""),
        "{out}"
    );
    assert!(
        out.contains("title: \"concur: futures done right\""),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("/missing") && l.contains("HTTP 404")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("/nobody-home") && l.contains("connection failed")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("/slow") && l.contains("timed out")),
        "{out}"
    );
    assert!(out.contains("3 pages fetched, 3 failed"), "{out}");
    // Completion order: the fast page is reported before the slow one.
    let pos = |needle: &str| out.find(needle).expect(needle);
    assert!(pos("/concur") < pos("/python"), "{out}");
}

#[test]
fn tour_walks_every_section_in_order() {
    let out = run_example("tour", Duration::from_secs(120));
    let mut last = 0;
    for title in [
        "== 1. sequential vs concurrent downloads",
        "== 2. future states",
        "== 3. done-callbacks",
        "== 4. as_completed",
        "== 5. errors propagate",
        "== 6. timeouts",
        "== 7. cancel",
        "== 8. CPU work",
        "== 9. the async hybrid",
        "== 10. pool stats",
        "tour finished in",
    ] {
        let at = out[last..].find(title).map(|i| i + last);
        let at = at.unwrap_or_else(|| panic!("missing or out of order: {title}\n{out}"));
        last = at;
    }
    assert!(out.contains("while the task waits: <Future at 0x"), "{out}");
    assert!(out.contains("state=running>"), "{out}");
    assert!(out.contains("state=finished returned u64>"), "{out}");
    assert!(
        out.contains("callback 1: Ok(\"hello\")") && out.contains("callback 2: Ok(\"hello\")"),
        "{out}"
    );
    let tasks = |prefix: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.rsplit("task of ").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        tasks("as_completed +"),
        ["30 ms", "60 ms", "90 ms"],
        "{out}"
    );
    assert_eq!(tasks("map "), ["90 ms", "30 ms", "60 ms"], "{out}");
    assert!(
        out.contains("panic: task panicked: division by zero (kind Panicked"),
        "{out}"
    );
    assert!(out.contains("downcast: Some(ParseIntError"), "{out}");
    assert!(out.contains("the worker survived: still serving"), "{out}");
    assert!(out.contains("result_timeout(50 ms): timed out"), "{out}");
    assert!(
        out.contains("as_completed timeout: timed out: 1 (of 1) futures unfinished"),
        "{out}"
    );
    assert!(
        out.contains("cancel queued task: true -> Cancelled"),
        "{out}"
    );
    assert!(
        out.contains("cancel running task: false -> Running"),
        "{out}"
    );
    assert!(out.contains("103988 primes: sequential"), "{out}");
    assert!(out.contains("103988 primes: 2 processes"), "{out}");
    // The tour's thread pool ran tasks, some of which panicked or failed
    // (section 5; section 7 cancels on a pool of its own).
    let line = out
        .lines()
        .find(|l| l.starts_with("thread pool tour: "))
        .unwrap_or_else(|| panic!("no thread pool stats line\n{out}"));
    let count = |what: &str| -> u64 {
        let before = line.split(&format!(" {what}")).next().unwrap();
        before.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(count("completed") >= 10, "{line}");
    assert!(count("failed") >= 1, "{line}");
    assert_eq!(count("cancelled"), 0, "{line}");
    assert!(
        out.contains("workers alive, 0 replaced") && out.contains("2 workers alive"),
        "{out}"
    );
}

#[test]
fn quick_tasks_compares_thread_and_process_overhead_with_correct_results() {
    let out = run_example("quick_tasks", Duration::from_secs(120));
    // Σ x² for x < 4000, computed by every pool and mode alike.
    let rows: Vec<&str> = out.lines().filter(|l| l.contains("µs/task")).collect();
    assert_eq!(rows.len(), 4, "{out}");
    for (row, (pool, mode)) in rows.iter().zip([
        ("thread", "one task each"),
        ("process", "one task each"),
        ("thread", "map, chunks of 500"),
        ("process", "map, chunks of 500"),
    ]) {
        assert!(row.starts_with(pool) && row.contains(mode), "{row}");
        assert!(row.ends_with("sum=21325334000"), "{row}");
    }
    assert!(
        out.contains("lesson: tiny tasks belong on threads"),
        "{out}"
    );
}

#[test]
fn primes_checks_the_lectures_numbers_on_the_process_pool() {
    let out = run_example("primes", Duration::from_secs(120));
    // CPython's ProcessPoolExecutor example: all prime but the last.
    for (n, prime) in [
        (112_272_535_095_293u64, true),
        (112_582_705_942_171, true),
        (115_280_095_190_773, true),
        (115_797_848_077_099, true),
        (1_099_726_899_285_419, false),
    ] {
        assert!(
            out.contains(&format!("{n} is prime: {prime}")),
            "{n}: {out}"
        );
    }
}

/// `mpi_primes` under `mpirun -n 3` (built only with the `mpi` feature:
/// `cargo xtask ci` runs the facade's tests with `--all-features`).
#[cfg(feature = "mpi")]
#[test]
fn mpi_primes_checks_the_lectures_numbers_on_two_worker_ranks() {
    let path = example_path("mpi_primes");
    assert!(path.is_file(), "example binary {} missing", path.display());
    let out = Command::new("timeout")
        .args([
            "-k",
            "5",
            "120",
            "mpirun",
            "--allow-run-as-root",
            "--oversubscribe",
            "-n",
            "3",
        ])
        .arg(&path)
        .output()
        .expect("run mpirun");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    assert!(stdout.contains("rank 0 of 3: 2 worker ranks"), "{stdout}");
    assert!(
        stdout.contains("tasks ran on 2 worker processes"),
        "{stdout}"
    );
    for (n, prime) in [
        (112_272_535_095_293u64, true),
        (1_099_726_899_285_419, false),
    ] {
        assert!(
            stdout.contains(&format!("{n} is prime: {prime}")),
            "{stdout}"
        );
    }
}

#[test]
fn factorial_computes_exactly_and_reports_overflow_as_an_error() {
    let out = run_example("factorial", Duration::from_secs(120));
    assert!(out.contains("5! = 120"), "{out}");
    assert!(out.contains("20! = 2432902008176640000"), "{out}");
    assert!(
        out.contains("34! = 295232799039604140847618609643520000000"),
        "{out}"
    );
    assert!(
        out.contains("35!: task failed") && out.contains("does not fit in 128 bits"),
        "{out}"
    );
    // 200000000! mod 1e9+7, by partial products on the workers.
    assert!(
        out.contains("200000000! mod 1000000007 = 933245637"),
        "{out}"
    );
}

#[test]
fn thread_primes_counts_correctly_three_ways() {
    let out = run_example("thread_primes", Duration::from_secs(120));
    assert!(out.contains("17984 primes below 200000"), "{out}");
    let chunks: Vec<usize> = out
        .lines()
        .find_map(|l| l.strip_prefix("per chunk: "))
        .expect("a per-chunk line")
        .trim_matches(['[', ']'])
        .split(", ")
        .map(|n| n.parse().expect("a count"))
        .collect();
    assert_eq!(chunks.iter().sum::<usize>(), 17984, "{out}");
    assert!(out.contains("broken pool: executor is broken"), "{out}");
    assert!(
        out.contains("no license for the prime-counting service"),
        "{out}"
    );
}

#[test]
fn hybrid_serves_every_request_and_reports_tick_latency() {
    let out = run_example("hybrid", Duration::from_secs(120));
    let row = |mode: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(mode))
            .unwrap_or_else(|| panic!("no {mode} row:\n{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("inline")[2], "2000", "{out}");
    assert_eq!(row("offloaded")[2], "2000", "{out}");
    assert!(out.contains("offloading cut the tick latency"), "{out}");
}

#[test]
fn wait_sets_prints_done_and_not_done_for_each_condition() {
    let out = run_example("wait_sets", Duration::from_secs(60));
    // The two lines after a call's heading: its done and not-done sets.
    let sets = |call: &str| -> (String, String) {
        let mut lines = out.lines().skip_while(|l| !l.starts_with(call)).skip(1);
        let mut next = |prefix: &str| {
            lines
                .next()
                .and_then(|l| l.trim().strip_prefix(prefix))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|| panic!("no {prefix} line after {call}:\n{out}"))
        };
        (next("done:"), next("not done:"))
    };
    let pair = |done: &str, not_done: &str| (done.to_string(), not_done.to_string());
    assert_eq!(
        sets("wait(FIRST_COMPLETED"),
        pair(r#"["quick"]"#, r#"["a", "b"]"#)
    );
    assert_eq!(
        sets("wait(ALL_COMPLETED, timeout 200 ms)"),
        pair(r#"["quick"]"#, r#"["a", "b"]"#)
    );
    assert!(out.contains("returned after the timeout: true"), "{out}");
    assert_eq!(
        sets("wait(FIRST_EXCEPTION"),
        pair(r#"["quick", "b"]"#, r#"["a"]"#)
    );
    assert_eq!(
        sets("wait(ALL_COMPLETED, no timeout)"),
        pair(r#"["quick", "a", "b"]"#, "[]")
    );
    assert!(out.contains("a: a's result"), "{out}");
    assert!(
        out.contains("b: error: task failed: b failed on purpose"),
        "{out}"
    );
}

#[test]
fn map_timeout_yields_what_was_ready_then_one_timeout_and_cancels_the_queue() {
    let out = run_example("map_timeout", Duration::from_secs(60));
    let items: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("result: ") || l.starts_with("error: "))
        .collect();
    assert_eq!(
        items,
        [
            "result: 0",
            "result: 10",
            "error: timed out: 6 (of 8) map results unfinished (kind Timeout)",
        ],
        "{out}"
    );
    assert!(
        out.contains("the iterator ended after 3 items (of 8 inputs)"),
        "{out}"
    );
    assert!(out.contains("inputs that ran: [0, 1, 2, 3]"), "{out}");
    assert!(
        out.contains("inputs cancelled, never run: [4, 5, 6, 7]"),
        "{out}"
    );
}

#[test]
fn shutdown_cancel_keeps_finished_and_running_work_and_cancels_the_queue() {
    let out = run_example("shutdown_cancel", Duration::from_secs(60));
    let states = |prefix: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line:\n{out}"))
            .trim()
            .to_string()
    };
    assert_eq!(
        states("before shutdown:"),
        "[Finished, Finished, Running, Running, Pending, Pending, Pending, Pending]"
    );
    assert_eq!(
        states("after shutdown:"),
        "[Finished, Finished, Running, Running, Cancelled, Cancelled, Cancelled, Cancelled]"
    );
    assert!(
        out.contains("a new task is refused: executor has been shut down"),
        "{out}"
    );
    assert_eq!(
        states("after the workers stopped:"),
        "[Finished, Finished, Finished, Finished, Cancelled, Cancelled, Cancelled, Cancelled]"
    );
    for i in 0..4 {
        assert!(
            out.contains(&format!("task {i}: Finished, result {}", i * 10)),
            "{out}"
        );
    }
    for i in 4..8 {
        assert!(
            out.contains(&format!("task {i}: Cancelled, future was cancelled")),
            "{out}"
        );
    }
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_example_shows_the_crash_its_replacement_and_the_broken_pool() {
    let out = run_example("tracing", Duration::from_secs(60));
    for line in [
        "task submitted",
        "task failed",
        "worker process died",
        "SIGABRT",
        "worker process will be replaced",
        "square(5) = 25",
        "3 completed, 1 failed, ",
        "1 crashed and replaced",
        "the initializer failed in a worker process",
        "the process pool is broken",
    ] {
        assert!(out.contains(line), "missing {line:?}\n{out}");
    }
}
