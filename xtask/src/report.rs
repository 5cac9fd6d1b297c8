//! `cargo xtask bench`'s report: criterion medians plus external figures,
//! grouped, with each implementation's ratio to concur's, as markdown and SVG.

use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One measured median.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) group: String,
    pub(crate) name: String,
    pub(crate) median_ns: f64,
    /// Items per measured iteration (criterion's `Throughput::Elements`),
    /// when the bench declared it; `None` means "the group's scale".
    pub(crate) elements: Option<f64>,
}

impl Row {
    /// The median per item, on the scale of `base` when this row has none
    /// of its own (external figures are recorded on the baseline's scale).
    fn per_item(&self, base: &Row) -> f64 {
        let n = self.elements.or(base.elements).unwrap_or(1.0);
        self.median_ns / n
    }
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") && p.join("estimates.json").is_file() {
                found.push(p);
            } else {
                walk(&p, found);
            }
        }
    }
}

/// Every criterion benchmark under `criterion_dir` (its `new/` estimates).
pub(crate) fn criterion_rows(criterion_dir: &Path) -> Vec<Row> {
    let mut dirs = Vec::new();
    walk(criterion_dir, &mut dirs);
    let mut rows = Vec::new();
    for d in dirs {
        let (Some(bench), Some(est)) = (
            read_json(&d.join("benchmark.json")),
            read_json(&d.join("estimates.json")),
        ) else {
            continue;
        };
        let Some(median) = est["median"]["point_estimate"].as_f64() else {
            continue;
        };
        let group = bench["group_id"].as_str().unwrap_or("?").to_string();
        let mut name = bench["function_id"].as_str().unwrap_or("").to_string();
        if let Some(v) = bench["value_str"].as_str() {
            if !name.is_empty() {
                name.push('/');
            }
            name.push_str(v);
        }
        if name.is_empty() {
            name = group.clone();
        }
        let elements = bench["throughput"]["Elements"].as_f64();
        rows.push(Row {
            group,
            name,
            median_ns: median,
            elements,
        });
    }
    rows
}

/// Figures recorded by `concur_benches::record_external`.
pub(crate) fn external_rows(dir: &Path) -> Vec<Row> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for e in entries.flatten() {
        let Some(v) = read_json(&e.path()) else {
            continue;
        };
        if let (Some(g), Some(n), Some(m)) = (
            v["group"].as_str(),
            v["name"].as_str(),
            v["median_ns"].as_f64(),
        ) {
            rows.push(Row {
                group: g.to_string(),
                name: n.to_string(),
                median_ns: m,
                elements: v["elements"].as_f64(),
            });
        }
    }
    rows
}

fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn is_ours(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with("concur")
}

/// The group's baseline: the row named exactly `concur`, else the first
/// `concur*` row.
fn baseline<'a>(members: &[&'a Row]) -> Option<&'a Row> {
    members
        .iter()
        .find(|r| r.name == "concur")
        .or_else(|| members.iter().find(|r| is_ours(&r.name)))
        .copied()
}

/// Rows grouped by group, sorted by name, with concur's first.
fn grouped(rows: &[Row]) -> BTreeMap<&str, Vec<&Row>> {
    let mut groups: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        groups.entry(&r.group).or_default().push(r);
    }
    for v in groups.values_mut() {
        v.sort_by(|a, b| (!is_ours(&a.name), &a.name).cmp(&(!is_ours(&b.name), &b.name)));
    }
    groups
}

/// The ratio of each other implementation's median to concur's in its group,
/// per item where the rows measured different numbers of items: above 1
/// means concur is faster (for a sequential-vs-parallel group, it is the
/// speed-up).
pub(crate) fn ratios(rows: &[Row]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for (group, members) in grouped(rows) {
        let Some(base) = baseline(&members) else {
            continue;
        };
        for r in &members {
            if !std::ptr::eq(*r, base) && base.median_ns > 0.0 {
                out.push((
                    format!("{group}: {} / {}", r.name, base.name),
                    r.per_item(base) / base.per_item(base),
                ));
            }
        }
    }
    out
}

/// One markdown table: group, implementation, median, ratio to concur.
pub(crate) fn markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| group | implementation | median | vs concur (×; >1: concur faster) |\n|---|---|---:|---:|\n",
    );
    for (group, members) in grouped(rows) {
        let base = baseline(&members);
        for r in &members {
            let ratio = match base {
                Some(b) if std::ptr::eq(*r, b) => "baseline".to_string(),
                Some(b) if b.median_ns > 0.0 => format!("{:.2}", r.per_item(b) / b.per_item(b)),
                _ => "–".to_string(),
            };
            let per_item = match (r.elements, base) {
                (Some(n), _) if n > 1.0 => format!(" ({} per item)", human(r.median_ns / n)),
                (None, Some(b)) if b.elements.is_some_and(|n| n > 1.0) => {
                    format!(" ({} per item)", human(r.per_item(b)))
                }
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "| {group} | {} | {}{per_item} | {ratio} |",
                r.name,
                human(r.median_ns)
            );
        }
    }
    s
}

/// A horizontal bar chart of the ratios, log scale, 1× marked.
pub(crate) fn svg(rows: &[Row], path: &Path) -> Result<(), String> {
    let data = ratios(rows);
    if data.is_empty() {
        return Err("no ratios to draw (no group has a concur row and another row)".into());
    }
    let height = 80 + 26 * data.len() as u32;
    let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let lo = data.iter().map(|d| d.1).fold(1.0f64, f64::min).max(1e-3) / 1.5;
    let hi = data.iter().map(|d| d.1).fold(1.0f64, f64::max) * 1.5;
    let n = data.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "other / concur median (log scale; right of 1: concur faster)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(560)
        .build_cartesian_2d((lo..hi).log_scale(), 0..n)
        .map_err(|e| e.to_string())?;
    let labels: Vec<String> = data.iter().map(|d| d.0.clone()).collect();
    chart
        .configure_mesh()
        .y_labels(n)
        .y_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .x_desc("ratio")
        .draw()
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(data.iter().enumerate().map(|(i, (_, r))| {
            let color = if *r >= 1.0 {
                GREEN.mix(0.7)
            } else {
                RED.mix(0.7)
            };
            Rectangle::new([(1.0, i), (*r, i + 1)], color.filled())
        }))
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, 0), (1.0, n)],
            BLACK,
        )))
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(g: &str, n: &str, m: f64) -> Row {
        Row {
            group: g.into(),
            name: n.into(),
            median_ns: m,
            elements: None,
        }
    }

    #[test]
    fn rows_of_different_sizes_compare_per_item() {
        let mut concur = row("t/many", "concur", 1e9);
        concur.elements = Some(1e6);
        let mut small = row("t/many", "std_10k", 5e8);
        small.elements = Some(1e4);
        // An external figure with no size of its own is on concur's scale.
        let ext = row("t/many", "cpython", 4e10);
        let r = ratios(&[concur.clone(), small.clone(), ext.clone()]);
        assert!((r[0].1 - 40.0).abs() < 1e-9, "{r:?}");
        assert!((r[1].1 - 50.0).abs() < 1e-9, "{r:?}");
        let md = markdown(&[concur, small]);
        assert!(
            md.contains("| t/many | concur | 1.00 s (1.00 µs per item) | baseline |"),
            "{md}"
        );
        assert!(
            md.contains("| t/many | std_10k | 500.00 ms (50.00 µs per item) | 50.00 |"),
            "{md}"
        );
    }

    #[test]
    fn ratio_is_other_over_concur() {
        let rows = [
            row("t/rt", "rayon", 3000.0),
            row("t/rt", "concur", 1500.0),
            row("t/rt", "cpython", 66000.0),
        ];
        let r = ratios(&rows);
        assert_eq!(r.len(), 2);
        assert!((r[0].1 - 44.0).abs() < 1e-9, "{r:?}");
        assert!((r[1].1 - 2.0).abs() < 1e-9, "{r:?}");
        let md = markdown(&rows);
        assert!(
            md.contains("| t/rt | concur | 1.50 µs | baseline |"),
            "{md}"
        );
        assert!(md.contains("| t/rt | rayon | 3.00 µs | 2.00 |"), "{md}");
    }

    #[test]
    fn exact_concur_row_is_the_baseline_and_other_concur_rows_get_ratios() {
        let rows = [
            row("p", "concur_1_worker", 2000.0),
            row("p", "concur", 1000.0),
        ];
        let r = ratios(&rows);
        assert_eq!(r.len(), 1, "{r:?}");
        assert_eq!(r[0].0, "p: concur_1_worker / concur");
        assert!((r[0].1 - 2.0).abs() < 1e-9);
    }

    #[test]
    fn groups_without_concur_have_no_ratio() {
        let rows = [row("raw/pipe", "pipe", 40000.0)];
        assert!(ratios(&rows).is_empty());
        assert!(markdown(&rows).contains("| raw/pipe | pipe | 40.00 µs | – |"));
    }

    #[test]
    fn svg_is_written() {
        let dir = std::env::temp_dir().join(format!("xtask-svg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.svg");
        svg(&[row("g", "concur", 1.0), row("g", "other", 4.0)], &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("<svg"), "{}", &text[..40.min(text.len())]);
        assert!(text.contains("g: other / concur"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
