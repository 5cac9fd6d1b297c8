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
fn hybrid_serves_every_request_and_offloading_keeps_the_loop_responsive() {
    let out = run_example("hybrid");
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
