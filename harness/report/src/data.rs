//! A sweep folder's tables, and how cells form groups (cells that differ only in `seed`).

use std::path::Path;

use crate::ReportError;
use crate::table::Table;

/// The merged tables of a sweep folder.
pub struct Sweep {
    /// `cells.csv`.
    pub cells: Table,
    /// `rounds.csv`.
    pub rounds: Table,
    /// `clients.csv`.
    pub clients: Table,
    /// `summary.csv`.
    pub summary: Table,
    /// The axis columns (between `error` and the threat-model columns of `cells.csv`).
    pub axes: Vec<String>,
}

/// Groups of cells: `(label, cell ids)`.
pub type Groups = Vec<(String, Vec<String>)>;

/// The axis that names the dataset.
pub const DATASET: &str = "dataset.flag";

impl Sweep {
    /// Reads the merged tables of `dir`.
    pub fn read(dir: &Path) -> Result<Self, ReportError> {
        let cells_path = dir.join("cells.csv");
        if !cells_path.is_file() {
            let msg = "no cells.csv: not a sweep folder (run `securefl sweep` or `securefl collect` first)";
            return Err(ReportError::new(dir, msg));
        }
        let cells = Table::read(&cells_path)?;
        let start = cells.col("error").map_or(0, |i| i + 1);
        let end = cells.col("threat_smpc").unwrap_or(cells.header.len());
        let axes = cells.header[start..end].to_vec();
        Ok(Self {
            cells,
            rounds: Table::read(&dir.join("rounds.csv"))?,
            clients: Table::read(&dir.join("clients.csv"))?,
            summary: Table::read(&dir.join("summary.csv"))?,
            axes,
        })
    }

    /// The finished cells' ids, in cell order.
    pub fn done(&self) -> Vec<String> {
        self.cells
            .rows
            .iter()
            .filter(|r| self.cells.get(r, "status") == "done")
            .map(|r| self.cells.get(r, "cell").to_owned())
            .collect()
    }

    /// The value of axis `axis` for `cell`.
    pub fn axis(&self, cell: &str, axis: &str) -> String {
        self.field(cell, axis)
    }

    /// Column `column` of `cell`'s row in `cells.csv`.
    pub fn field(&self, cell: &str, column: &str) -> String {
        self.cells
            .rows
            .iter()
            .find(|r| self.cells.get(r, "cell") == cell)
            .map(|r| self.cells.get(r, column).to_owned())
            .unwrap_or_default()
    }

    /// The group label of `cell`: its axis values but `seed` and those in `skip`, joined.
    pub fn label(&self, cell: &str, skip: &[&str]) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .filter(|a| a.as_str() != "seed" && !skip.contains(&a.as_str()))
            .map(|a| short(&self.axis(cell, a)))
            .filter(|v| !v.is_empty())
            .collect();
        if parts.is_empty() {
            "all".to_owned()
        } else {
            parts.join(" · ")
        }
    }

    /// Finished cells by grid and dataset, as `(tag, dataset, groups)`: the tag names the
    /// dataset (`all` without a dataset axis), prefixed with `gridN-` when the spec has several
    /// grids; groups are `(label, cells)` in order of first appearance.
    pub fn by_dataset(&self) -> Vec<(String, String, Groups)> {
        let grids: Vec<String> = self.done().iter().map(|c| self.field(c, "grid")).collect();
        let several = grids.iter().any(|g| *g != grids[0]);
        let mut out: Vec<(String, String, Groups)> = Vec::new();
        for cell in self.done() {
            let dataset = self.axis(&cell, DATASET);
            let name = if dataset.is_empty() {
                "all".to_owned()
            } else {
                slug(&dataset)
            };
            let tag = if several {
                format!("grid{}-{name}", self.field(&cell, "grid"))
            } else {
                name
            };
            let label = self.label(&cell, &[DATASET]);
            let idx = match out.iter().position(|(t, _, _)| *t == tag) {
                Some(i) => i,
                None => {
                    out.push((tag, dataset, Vec::new()));
                    out.len() - 1
                }
            };
            let groups = &mut out[idx].2;
            match groups.iter_mut().find(|(l, _)| *l == label) {
                Some((_, cells)) => cells.push(cell),
                None => groups.push((label, vec![cell])),
            }
        }
        out
    }

    /// Rows of `table` that belong to `cell`.
    pub fn rows_of<'a>(table: &'a Table, cell: &'a str) -> impl Iterator<Item = &'a Vec<String>> {
        table
            .rows
            .iter()
            .filter(move |r| table.get(r, "cell") == cell)
    }
}

/// An axis value as a figure shows it: `{ kind = "sign-flip", scale = 4.0 } + 0.2` becomes
/// `sign-flip scale=4.0 + 0.2`.
pub fn short(value: &str) -> String {
    value
        .replace("{ kind = ", "")
        .replace(" }", "")
        .replace(", ", " ")
        .replace(" = ", "=")
        .replace('"', "")
}

/// A file-name-safe form of a label.
pub fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').to_owned()
}

/// The mean of the values, when there are any.
pub fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}
