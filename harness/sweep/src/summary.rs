//! `summary.csv`: per group of cells that differ only in their seed, per metric, the mean,
//! the sample standard deviation and a seeded 95% percentile-bootstrap confidence interval
//! over the seeds.
//!
//! Metrics are the final round's `test_accuracy`, `test_balanced_accuracy`, `test_auc` and
//! `backdoor_asr` (rounds.csv), and `tpr`, `fpr`, `precision` and `rounds_to_first_rejection`
//! (detection.csv); a metric a cell does not have (an empty field) is left out of that cell's
//! group, and `n` says how many seeds remain. `degenerate` is 1 for a cell whose final balanced
//! accuracy is within [`DEGENERATE_MARGIN`] of chance (1/C, C the classes of `classes.csv`), a
//! constant predictor, else 0: its mean is the share of such seeds. Timing never enters the summary, so it is
//! byte-identical for the same runs. The bootstrap draws 2,000 resamples from a stream seeded
//! by blake2b of the group and metric names: no seed comes from outside the spec.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rand::Rng as _;

use crate::cell::{Cell, display_value};
use crate::tables::{THREAT_COLUMNS, csv_field};

/// Final-round columns of `rounds.csv` summarised.
pub const ROUND_METRICS: [&str; 4] = [
    "test_accuracy",
    "test_balanced_accuracy",
    "test_auc",
    "backdoor_asr",
];
/// Columns of `detection.csv` summarised.
pub const DETECTION_METRICS: [&str; 4] = ["tpr", "fpr", "precision", "rounds_to_first_rejection"];
/// How close to chance (1/C) a final balanced accuracy must be for a cell to be degenerate.
pub const DEGENERATE_MARGIN: f64 = 0.02;
/// Bootstrap resamples.
pub const RESAMPLES: usize = 2000;

/// One finished cell's metric values, by metric name.
pub type CellMetrics = BTreeMap<String, f64>;

/// Reads a cell's metrics from its run folder's tables (empty fields are absent), with
/// `degenerate` when the classes are known.
pub fn cell_metrics(rounds_csv: &str, detection_csv: &str, classes_csv: &str) -> CellMetrics {
    let mut out = final_metrics(rounds_csv, detection_csv);
    let classes: std::collections::BTreeSet<&str> = classes_csv
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    if let (Some(b), false) = (out.get("test_balanced_accuracy"), classes.is_empty()) {
        let chance = 1.0 / classes.len() as f64;
        let degenerate = (b - chance).abs() <= DEGENERATE_MARGIN;
        out.insert("degenerate".into(), f64::from(u8::from(degenerate)));
    }
    out
}

/// The final round's and the detection table's metrics.
fn final_metrics(rounds_csv: &str, detection_csv: &str) -> CellMetrics {
    let mut out = CellMetrics::new();
    for (text, names) in [
        (rounds_csv, &ROUND_METRICS[..]),
        (detection_csv, &DETECTION_METRICS[..]),
    ] {
        let mut lines = text.lines().filter(|l| !l.is_empty());
        let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
        let Some(last) = lines.next_back() else {
            continue;
        };
        let row: Vec<&str> = last.split(',').collect();
        for name in names {
            let value = header
                .iter()
                .position(|h| h == name)
                .and_then(|i| row.get(i))
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite());
            if let Some(v) = value {
                out.insert((*name).to_owned(), v);
            }
        }
    }
    out
}

/// `summary.csv` over finished cells: `(cell, threat fields, metrics)`, in cell order, with
/// the sweep's axis columns `columns`.
pub fn summary(columns: &[&str], cells: &[(&Cell, Vec<String>, CellMetrics)]) -> String {
    let axes: Vec<&str> = columns.iter().copied().filter(|a| *a != "seed").collect();
    let mut out = String::from("group");
    axes.iter().for_each(|a| out.extend([",", &csv_field(a)]));
    THREAT_COLUMNS.iter().for_each(|c| out.extend([",", c]));
    out.push_str(",metric,n,mean,std,ci95_low,ci95_high\n");
    for (key, members) in groups(&axes, cells) {
        let (cell, threat, _) = members[0];
        for metric in ROUND_METRICS
            .iter()
            .chain(&DETECTION_METRICS)
            .chain(&["degenerate"])
        {
            let values: Vec<f64> = members
                .iter()
                .filter_map(|(_, _, m)| m.get(*metric).copied())
                .collect();
            if values.is_empty() {
                continue;
            }
            let (lo, hi) = bootstrap_ci(&values, &format!("{key}/{metric}"));
            let _ = write!(out, "{}", csv_field(&key));
            axis_values(cell, &axes).for_each(|v| out.extend([",".into(), csv_field(&v)]));
            threat
                .iter()
                .for_each(|t| out.extend([",".into(), csv_field(t)]));
            let _ = writeln!(
                out,
                ",{metric},{},{},{},{lo},{hi}",
                values.len(),
                mean(&values),
                std_dev(&values).map_or(String::new(), |s| s.to_string()),
            );
        }
    }
    out
}

/// The cell's displayed value of each axis in `axes` (empty where its grid lacks one).
fn axis_values<'a>(cell: &'a Cell, axes: &'a [&str]) -> impl Iterator<Item = String> + 'a {
    axes.iter()
        .map(|a| cell.value(a).map(display_value).unwrap_or_default())
}

/// Cells grouped by their non-seed axis values and threat model, in order of first appearance.
#[allow(clippy::type_complexity, reason = "a local grouping of borrowed rows")]
fn groups<'a>(
    axes: &[&str],
    cells: &'a [(&'a Cell, Vec<String>, CellMetrics)],
) -> Vec<(String, Vec<&'a (&'a Cell, Vec<String>, CellMetrics)>)> {
    let mut out: Vec<(String, Vec<_>)> = Vec::new();
    for entry in cells {
        let mut parts: Vec<String> = axes
            .iter()
            .zip(axis_values(entry.0, axes))
            .filter(|(_, v)| !v.is_empty())
            .map(|(p, v)| format!("{p}={v}"))
            .collect();
        parts.extend(entry.1.iter().cloned());
        let key = parts.join(" ");
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(entry),
            None => out.push((key, vec![entry])),
        }
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// The sample standard deviation; none for a single value.
fn std_dev(v: &[f64]) -> Option<f64> {
    (v.len() > 1).then(|| {
        let m = mean(v);
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
    })
}

/// The 2.5th and 97.5th percentiles of the means of [`RESAMPLES`] resamples.
pub fn bootstrap_ci(values: &[f64], stream: &str) -> (f64, f64) {
    use blake2::{Blake2b, Digest, digest::consts::U8};
    let seed = u64::from_le_bytes(Blake2b::<U8>::digest(stream.as_bytes()).into());
    let mut rng = securefl_api::rng(seed, &["bootstrap"]);
    let mut means: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let sum: f64 = (0..values.len())
                .map(|_| values[rng.gen_range(0..values.len())])
                .sum();
            sum / values.len() as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (RESAMPLES - 1) as f64).round() as usize).min(RESAMPLES - 1)];
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean() {
        let v = [0.80, 0.85, 0.90];
        let (lo, hi) = bootstrap_ci(&v, "g/test_accuracy");
        assert_eq!((lo, hi), bootstrap_ci(&v, "g/test_accuracy"));
        assert!(
            lo >= 0.80 && hi <= 0.90 && lo < 0.85 && hi > 0.85,
            "{lo} {hi}"
        );
        assert_eq!(bootstrap_ci(&[0.5], "x"), (0.5, 0.5));
        assert!((std_dev(&v).unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(std_dev(&[1.0]), None);
    }

    #[test]
    fn metrics_come_from_the_last_row_and_skip_empty_fields() {
        let rounds = "round,test_accuracy,test_auc,backdoor_asr\n0,0.5,0.4,\n1,0.8,0.9,\n";
        let detection = "tpr,fpr,precision\n1,0.25,\n";
        let m = cell_metrics(rounds, detection, "");
        assert_eq!(m.get("test_accuracy"), Some(&0.8));
        assert_eq!(m.get("test_auc"), Some(&0.9));
        assert_eq!(m.get("fpr"), Some(&0.25));
        assert!(!m.contains_key("backdoor_asr") && !m.contains_key("precision"));
        assert!(!m.contains_key("degenerate"), "classes unknown");
    }

    #[test]
    fn a_cell_at_chance_balanced_accuracy_is_degenerate() {
        let classes = "round,class,name,support,recall\n1,0,a,10,1\n1,1,b,10,0\n";
        let at = |b: &str| {
            let rounds = format!("round,test_balanced_accuracy\n1,{b}\n");
            cell_metrics(&rounds, "", classes)["degenerate"]
        };
        assert_eq!(at("0.5"), 1.0, "a constant predictor of two classes");
        assert_eq!(at("0.515"), 1.0);
        assert_eq!(at("0.53"), 0.0);
        let four = "round,class\n1,0\n1,1\n1,2\n1,3\n";
        let rounds = "round,test_balanced_accuracy\n1,0.26\n";
        assert_eq!(cell_metrics(rounds, "", four)["degenerate"], 1.0);
    }
}
