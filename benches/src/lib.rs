//! Shared helpers for the concur benches (see `benches/benches/`).
//!
//! Criterion records our own medians. Figures measured outside criterion
//! (CPython scripts, raw pipe probes, speed-ups) are recorded with
//! [`record_external`] so `cargo xtask bench` can put them in one report
//! next to the criterion rows of the same group.

use std::path::PathBuf;
use std::process::Command;

/// The median of `samples` runs of `f`, in nanoseconds per operation,
/// where one call of `f` performs `ops` operations.
///
/// # Examples
///
/// ```
/// let ns = concur_benches::median_ns(3, 1000, || {
///     for i in 0..1000u64 {
///         std::hint::black_box(i);
///     }
/// });
/// assert!(ns >= 0.0);
/// ```
#[must_use]
#[allow(clippy::cast_precision_loss)] // nanoseconds and counts far below 2^52
pub fn median_ns(samples: usize, ops: u64, mut f: impl FnMut()) -> f64 {
    let mut per_op: Vec<f64> = (0..samples.max(1))
        .map(|_| {
            let t = std::time::Instant::now();
            f();
            t.elapsed().as_nanos() as f64 / ops.max(1) as f64
        })
        .collect();
    per_op.sort_by(f64::total_cmp);
    per_op[per_op.len() / 2]
}

/// Whether `cargo xtask bench --quick` runs this bench (it sets
/// `CONCUR_BENCH_QUICK`): benches with fixed durations shorten them.
///
/// # Examples
///
/// ```
/// let secs = if concur_benches::quick() { 1 } else { 3 };
/// assert!(secs >= 1);
/// ```
#[must_use]
pub fn quick() -> bool {
    std::env::var_os("CONCUR_BENCH_QUICK").is_some()
}

/// Where external figures go: `$CARGO_TARGET_DIR/concur-bench/external`
/// (or `target/…` at the workspace root).
///
/// # Examples
///
/// ```
/// assert!(concur_benches::external_dir().ends_with("concur-bench/external"));
/// ```
#[must_use]
pub fn external_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    );
    target.join("concur-bench").join("external")
}

/// Records one external median (nanoseconds per operation) for `group`
/// (criterion's group name, e.g. `"thread/roundtrip"`) under `name`
/// (e.g. `"cpython"`), and prints it. Errors writing the file are printed,
/// not raised: a bench must not fail for want of a report.
///
/// # Examples
///
/// ```
/// concur_benches::record_external("example/doc", "cpython", 66_000.0);
/// ```
pub fn record_external(group: &str, name: &str, median_ns: f64) {
    write_external(group, name, median_ns, "");
}

/// Like [`record_external`] for a figure per item (per task, per call),
/// in a group whose criterion rows measure many items per iteration: the
/// report then compares it per item.
///
/// # Examples
///
/// ```
/// concur_benches::record_external_per_item("example/doc_many", "cpython", 14_000.0);
/// ```
pub fn record_external_per_item(group: &str, name: &str, ns_per_item: f64) {
    write_external(group, name, ns_per_item, ", \"elements\": 1");
}

fn write_external(group: &str, name: &str, median_ns: f64, extra: &str) {
    println!("external: {group}/{name}: {median_ns:.0} ns");
    let dir = external_dir();
    let file = dir.join(format!("{}__{}.json", group.replace('/', "__"), name));
    let body = format!(
        "{{\"group\": {}, \"name\": {}, \"median_ns\": {median_ns}{extra}}}\n",
        json_string(group),
        json_string(name)
    );
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, body)) {
        eprintln!("note: could not record {}: {e}", file.display());
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs `benches/python/<script>` with `python3` and the given arguments and
/// returns its standard output, or `None` (with a printed note) if python3
/// is missing or the script fails.
///
/// # Examples
///
/// ```no_run
/// if let Some(out) = concur_benches::run_python("thread_pool.py", &["roundtrip"]) {
///     println!("{out}");
/// }
/// ```
#[must_use]
pub fn run_python(script: &str, args: &[&str]) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    match Command::new("python3").arg(&path).args(args).output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        Ok(out) => {
            eprintln!(
                "note: {} failed ({}): {}; CPython comparison skipped",
                path.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("note: python3 not available ({e}); CPython comparison skipped");
            None
        }
    }
}

/// Reads a number printed by a script as `key=<float>` on its own line.
///
/// # Examples
///
/// ```
/// assert_eq!(concur_benches::parse_key("x\nmedian_ns=12.5\n", "median_ns"), Some(12.5));
/// ```
#[must_use]
pub fn parse_key(output: &str, key: &str) -> Option<f64> {
    output.lines().find_map(|l| {
        l.trim()
            .strip_prefix(key)?
            .strip_prefix('=')?
            .trim()
            .parse()
            .ok()
    })
}
