//! Project automation for concur. Run `cargo xtask help`.

mod report;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

const HELP: &str = "\
cargo xtask <task> [options]

tasks:
  ci                 fmt --check, clippy -D warnings, test (+ facade feature sets, member crates --all-features), loom, doc (warnings denied), bench --no-run, package
  package            cargo package --no-verify of every publishable crate (a broken manifest fails)
  loom [-p CRATE]    loom models: tests/loom.rs and in-crate src/**/loom_tests.rs (--cfg concur_loom, release, LOOM_MAX_PREEMPTIONS=2 unless set)
  bench [--quick]    criterion benches and comparisons; report in target/concur-bench/
  stress [CASE]      process-pool fault tests at full size (100k tasks, 1000 random SIGKILLs), release
  help               this text
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("loom") => loom(&args[1..]),
        Some("package") => package(),
        Some("bench") => bench(&args[1..]),
        Some("stress") => stress(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{HELP}")),
        None => Err(format!("no task given\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut c = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(label: &str, mut cmd: Command) -> Result<(), String> {
    eprintln!("\n==> {label}");
    let start = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{label}: could not start: {e}"))?;
    eprintln!("==> {label}: {:.1?}", start.elapsed());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{label} failed ({status})"))
    }
}

fn ci() -> Result<(), String> {
    let start = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run("cargo fmt --all --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(
        "cargo clippy --workspace --all-targets -- -D warnings",
        clippy,
    )?;

    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run("cargo test --workspace", test)?;

    // The facade under the other feature sets CI checks (default is above).
    for features in [
        &["--no-default-features"][..],
        &["--features", "tracing"][..],
        &["--all-features"][..],
    ] {
        let mut t = cargo();
        t.args(["test", "-p", "concur", "--test", "reexports"])
            .args(features);
        run(
            &format!(
                "cargo test -p concur --test reexports {}",
                features.join(" ")
            ),
            t,
        )?;
    }

    // The member crates' own feature-gated tests (`progress` bars, `rayon`,
    // `tokio`), which the workspace run above, on default features, skips.
    let mut t = cargo();
    t.args([
        "test",
        "-p",
        "concur-combinators",
        "-p",
        "concur-async",
        "-p",
        "concur-thread",
        "--all-features",
    ]);
    run(
        "cargo test -p concur-combinators -p concur-async -p concur-thread --all-features",
        t,
    )?;

    // The `tracing` events of the core and the process pool (the thread
    // pool's ran above, under `--all-features`), and the facade's example.
    let mut t = cargo();
    t.args([
        "test",
        "-p",
        "concur-core",
        "-p",
        "concur-process",
        "--features",
        "tracing",
    ]);
    run(
        "cargo test -p concur-core -p concur-process --features tracing",
        t,
    )?;

    loom(&[])?;

    // The guide's snippets for the optional features (`rayon`, `progress`,
    // `tokio`) run only when those features are on.
    let mut t = cargo();
    t.args(["test", "-p", "concur", "--doc", "--all-features"]);
    run("cargo test -p concur --doc --all-features", t)?;

    let mut doc = cargo();
    doc.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run("cargo doc --workspace --no-deps", doc)?;

    let mut bench = cargo();
    // The MPI rows too: the workspace build above already needed MPI.
    bench.args([
        "bench",
        "--workspace",
        "--no-run",
        "--features",
        "concur-benches/mpi",
    ]);
    run("cargo bench --workspace --no-run", bench)?;

    package()?;

    eprintln!("\nxtask ci: all green in {:.1?}", start.elapsed());
    Ok(())
}

/// Packages every publishable crate (those without `publish = false`), so a
/// manifest crates.io would refuse (a path dependency without a `version`,
/// a missing `readme` or `license`, a file outside the package) fails CI.
///
/// One `cargo package` run over all of them: cargo (1.90 and later) resolves
/// the path dependencies between crates not yet on crates.io against the
/// packages it has just built, so this needs nothing but the crates.io index
/// for the external dependencies. `--no-verify` skips building each tarball
/// (the workspace build above covers the code); `--allow-dirty` lets it run
/// on a work tree with uncommitted changes.
fn package() -> Result<(), String> {
    let crates = publishable_crates()?;
    if crates.is_empty() {
        return Err("cargo metadata lists no publishable crate".into());
    }
    let mut cmd = cargo();
    cmd.args(["package", "--no-verify", "--allow-dirty"]);
    for name in &crates {
        cmd.args(["-p", name]);
    }
    run(
        &format!("cargo package --no-verify ({})", crates.join(", ")),
        cmd,
    )
}

/// The workspace members `cargo metadata` does not mark `publish = false`.
fn publishable_crates() -> Result<Vec<String>, String> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|e| format!("cargo metadata: could not start: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("cargo metadata: bad JSON: {e}"))?;
    publishable(&meta)
}

/// The names of the packages in `meta` (cargo metadata's JSON) that may be
/// published: `publish` is `null` (anywhere); `[]` is `publish = false`.
fn publishable(meta: &serde_json::Value) -> Result<Vec<String>, String> {
    let packages = meta["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    Ok(packages
        .iter()
        .filter(|p| p["publish"].as_array().is_none_or(|r| !r.is_empty()))
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect())
}

fn loom(args: &[String]) -> Result<(), String> {
    let crates: Vec<String> = match args {
        [] => loom_crates()?,
        [flag, name] if flag == "-p" || flag == "--package" => vec![name.clone()],
        _ => return Err(format!("usage: cargo xtask loom [-p CRATE]\n\n{HELP}")),
    };
    // Its own target dir, so the `--cfg concur_loom` build never invalidates
    // the normal one.
    let base = env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let target = base.join("loom");
    for krate in crates {
        let dir = root().join("crates").join(&krate);
        let in_crate = has_in_crate_models(&dir.join("src"));
        let public = dir.join("tests").join("loom.rs").is_file();
        if !in_crate && !public {
            return Err(format!(
                "{krate} has no loom models (tests/loom.rs, or src/**/loom_tests.rs)"
            ));
        }
        // Models that need the crate's internals are unit-test modules named
        // `loom_tests` (`src/**/loom_tests.rs`, under `cfg(all(test,
        // concur_loom))`); the filter keeps the crate's other unit tests,
        // which run real threads, out of the loom build's run.
        let mut runs: Vec<(&str, Vec<&str>)> = Vec::new();
        if in_crate {
            runs.push(("in-crate", vec!["--lib", "--", "loom_tests::"]));
        }
        if public {
            runs.push(("tests/loom.rs", vec!["--test", "loom"]));
        }
        for (what, args) in runs {
            let mut cmd = cargo();
            cmd.args(["test", "--release", "-p", &krate])
                .args(args)
                .env("RUSTFLAGS", "--cfg concur_loom")
                .env("RUSTDOCFLAGS", "--cfg concur_loom")
                .env("CARGO_TARGET_DIR", &target);
            if env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
                cmd.env("LOOM_MAX_PREEMPTIONS", "2");
            }
            run(&format!("loom models of {krate} ({what})"), cmd)?;
        }
    }
    Ok(())
}

/// Whether `src` holds a `loom_tests.rs` (in-crate loom models), at any depth.
fn has_in_crate_models(src: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(src) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let path = e.path();
        if path.is_dir() {
            has_in_crate_models(&path)
        } else {
            path.file_name().is_some_and(|n| n == "loom_tests.rs")
        }
    })
}

/// Every crate under `crates/` with loom models: `tests/loom.rs`, or
/// in-crate ones (`src/**/loom_tests.rs`).
fn loom_crates() -> Result<Vec<String>, String> {
    let dir = root().join("crates");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut crates: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let path = e.path();
            path.join("tests").join("loom.rs").is_file() || has_in_crate_models(&path.join("src"))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    Ok(crates)
}

/// `crates/concur-process/tests/faults.rs` at full size, in release: its
/// libtest cases read `CONCUR_STRESS=1`; the optional case is libtest's
/// filter.
fn stress(args: &[String]) -> Result<(), String> {
    let filter = match args {
        [] => None,
        [case] if !case.starts_with('-') => Some(case),
        _ => return Err(format!("usage: cargo xtask stress [CASE]\n\n{HELP}")),
    };
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--release",
        "-p",
        "concur-process",
        "--test",
        "faults",
        "--",
    ]);
    cmd.args(filter).env("CONCUR_STRESS", "1");
    run("process-pool fault tests, full size", cmd)
}

/// Whether an MPI library to build against is installed (`mpicc` runs).
fn mpi_available() -> bool {
    Command::new("mpicc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn bench(args: &[String]) -> Result<(), String> {
    let quick = match args {
        [] => false,
        [q] if q == "--quick" => true,
        _ => return Err(format!("usage: cargo xtask bench [--quick]\n\n{HELP}")),
    };
    let target =
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    let out_dir = target.join("concur-bench");
    // Start from a clean slate so the report holds this run's figures only.
    let _ = std::fs::remove_dir_all(&out_dir);
    let _ = std::fs::remove_dir_all(target.join("criterion"));
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "concur-benches"]);
    if mpi_available() {
        // The MPI pool's rows, next to the process pool's.
        cmd.args(["--features", "mpi"]);
    } else {
        eprintln!(
            "xtask bench: no `mpicc`, so no MPI rows (apt-get install libopenmpi-dev openmpi-bin)"
        );
    }
    cmd.arg("--");
    // Criterion's own plots are not used: the report draws one chart.
    cmd.arg("--noplot");
    if quick {
        cmd.args([
            "--warm-up-time",
            "0.2",
            "--measurement-time",
            "0.5",
            "--sample-size",
            "10",
        ]);
    } else {
        cmd.args(["--warm-up-time", "1", "--measurement-time", "3"]);
    }
    if quick {
        cmd.env("CONCUR_BENCH_QUICK", "1");
    }
    run("cargo bench -p concur-benches", cmd)?;

    let mut rows = report::criterion_rows(&target.join("criterion"));
    rows.extend(report::external_rows(&out_dir.join("external")));
    if rows.is_empty() {
        return Err("no benchmark results found".into());
    }
    let table = report::markdown(&rows);
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let md_path = out_dir.join("report.md");
    let body = format!("# concur benchmark report\n\n{table}");
    std::fs::write(&md_path, &body).map_err(|e| format!("writing {}: {e}", md_path.display()))?;
    println!("\n{table}");
    let svg_path = out_dir.join("ratios.svg");
    match report::svg(&rows, &svg_path) {
        Ok(()) => println!("wrote {} and {}", md_path.display(), svg_path.display()),
        Err(e) => println!("wrote {} (no chart: {e})", md_path.display()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::publishable;

    #[test]
    fn publishable_skips_publish_false_only() {
        let meta = serde_json::json!({ "packages": [
            { "name": "open", "publish": null },
            { "name": "private", "publish": [] },
            { "name": "own-registry", "publish": ["mine"] },
        ]});
        assert_eq!(publishable(&meta).unwrap(), ["open", "own-registry"]);
        assert!(publishable(&serde_json::json!({})).is_err());
    }

    #[test]
    fn this_workspace_publishes_the_crates_but_not_the_tooling() {
        let names = super::publishable_crates().unwrap();
        assert!(names.iter().any(|n| n == "concur-core"), "{names:?}");
        for private in ["concur-testkit", "concur-benches", "xtask"] {
            assert!(
                !names.iter().any(|n| n == private),
                "{private} in {names:?}"
            );
        }
    }
}
