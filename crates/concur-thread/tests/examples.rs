//! Runs the crate's examples and checks what they print.

/// `target/<profile>/examples/<name>`, next to this test binary's `deps/`.
fn example_path(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binaries live in target/<profile>/deps");
    profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Runs an example (built by `cargo test`) to completion and returns its stdout.
fn run_example(name: &str) -> String {
    let path = example_path(name);
    assert!(
        path.is_file(),
        "example binary {} missing: run the crate's whole `cargo test`, which builds the examples",
        path.display()
    );
    let out = std::process::Command::new(&path)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "example {name} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn thread_primes_counts_correctly_three_ways() {
    let out = run_example("thread_primes");
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
