//! Booktabs LaTeX tables from `summary.csv`: per group, final accuracy (mean ± std over seeds
//! with the 95% bootstrap CI) and detection (TPR, FPR, precision), with the threat model.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::ReportError;
use crate::data::Sweep;

/// Writes `table-summary.tex`.
pub fn all(s: &Sweep, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let path = out.join("table-summary.tex");
    crate::write(&path, summary(s))?;
    Ok(vec![path])
}

/// The table's text (needs `\usepackage{booktabs}`).
pub fn summary(s: &Sweep) -> String {
    let t = &s.summary;
    let axes: Vec<&str> = s
        .axes
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "seed")
        .collect();
    let mut groups: Vec<&str> = Vec::new();
    for r in &t.rows {
        let g = t.get(r, "group");
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "% Written by `securefl report` from summary.csv; needs \\usepackage{{booktabs}}."
    );
    let _ = writeln!(
        out,
        "\\begin{{tabular}}{{{}}}",
        "l".repeat(axes.len() + 2) + &"r".repeat(4)
    );
    out.push_str("\\toprule\n");
    let head: Vec<String> = axes
        .iter()
        .map(|a| escape(a))
        .chain(["SMPC".into(), "attacker".into()])
        .chain([
            "accuracy".into(),
            "95\\% CI".into(),
            "TPR".into(),
            "FPR".into(),
        ])
        .collect();
    let _ = writeln!(out, "{} \\\\", head.join(" & "));
    out.push_str("\\midrule\n");
    for g in groups {
        let row = |metric: &str| {
            t.rows
                .iter()
                .find(|r| t.get(r, "group") == g && t.get(r, "metric") == metric)
        };
        let Some(first) = t.rows.iter().find(|r| t.get(r, "group") == g) else {
            continue;
        };
        let mut cells: Vec<String> = axes.iter().map(|a| escape(t.get(first, a))).collect();
        cells.push(escape(t.get(first, "threat_smpc")));
        cells.push(escape(t.get(first, "threat_attacker")));
        cells.push(row("test_accuracy").map_or("--".into(), |r| {
            let std = t
                .num(r, "std")
                .map_or(String::new(), |s| format!(" $\\pm$ {s:.3}"));
            format!("{:.3}{std}", t.num(r, "mean").unwrap_or(f64::NAN))
        }));
        cells.push(row("test_accuracy").map_or("--".into(), |r| {
            format!(
                "[{:.3}, {:.3}]",
                t.num(r, "ci95_low").unwrap_or(f64::NAN),
                t.num(r, "ci95_high").unwrap_or(f64::NAN)
            )
        }));
        for metric in ["tpr", "fpr"] {
            cells.push(
                row(metric)
                    .and_then(|r| t.num(r, "mean"))
                    .map_or("n/a".into(), |v| format!("{v:.3}")),
            );
        }
        let _ = writeln!(out, "{} \\\\", cells.join(" & "));
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    out
}

/// Text with LaTeX's special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(escape("a_b & {c} 5% #1"), "a\\_b \\& \\{c\\} 5\\% \\#1");
        assert_eq!(
            escape("x\\y~^"),
            "x\\textbackslash{}y\\textasciitilde{}\\textasciicircum{}"
        );
    }
}
