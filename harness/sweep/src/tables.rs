//! The merged tables of a sweep: every finished cell's `rounds.csv`, `clients.csv`,
//! `classes.csv` and `detection.csv`, each row prefixed with the cell's id and axis values,
//! in cell order, plus `cells.csv` with every cell's status and `summary.csv` (see
//! [`crate::summary`]); each with a typed Parquet copy beside it ([`crate::parquet`]).
//!
//! The tables are rebuilt from the finished run folders every time and written atomically, so
//! they hold each finished cell's rows exactly once, whatever was killed when. Cells whose
//! table headers differ (written by different schema versions) are refused, never mixed.

use std::fmt::Write as _;

use securefl_results::write_atomic;

use crate::cell::{self, Cell, display_value};
use crate::layout::{CellState, Layout};
use crate::{frames, parquet, summary};

/// The per-run tables merged into long tables.
pub const TABLES: [&str; 4] = {
    use securefl_results::{CLASSES, CLIENTS, DETECTION, ROUNDS};
    [ROUNDS.file, CLIENTS.file, CLASSES.file, DETECTION.file]
};

/// The threat-model columns every merged row carries (from `[threat_model]` of the cell's
/// manifest): SMPC security model and parties, consensus fault model, attacker knowledge, and
/// whether the defense read updates in the clear.
pub const THREAT_COLUMNS: [&str; 4] = {
    let t = securefl_results::THREAT_COLUMNS;
    [t[0].name, t[1].name, t[2].name, t[3].name]
};
const THREAT_KEYS: [&str; 4] = ["smpc", "consensus", "attacker", "plaintext_updates"];

/// Writes `cells.csv` and the merged tables into the layout's root; returns the number of
/// finished cells merged.
pub fn merge(layout: &Layout, cells: &[Cell]) -> Result<usize, String> {
    let columns = cell::columns(cells);
    let axes: Vec<&str> = columns.iter().map(String::as_str).collect();
    let write = |name: &str, text: &str| write(layout, cells, name, text);
    write("cells.csv", &cells_table(layout, cells, &axes)?)?;
    let done: Vec<&Cell> = cells
        .iter()
        .filter(|c| layout.state(&c.id) == CellState::Done)
        .collect();
    for table in TABLES {
        let mut parts = Vec::with_capacity(done.len());
        for cell in &done {
            let path = layout.run_dir(&cell.id).join(table);
            let csv =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let threat = threat_values(layout, cell)?;
            let path = path.display().to_string();
            parts.push(frames::CellTable {
                cell,
                threat,
                path,
                csv,
            });
        }
        match frames::long_frame(&parts, &axes, cells)? {
            Some(mut frame) => write_frame(layout, table, &mut frame)?,
            None => write(table, "")?,
        }
    }
    let mut rows = Vec::new();
    for cell in &done {
        let read = |t: &str| {
            let path = layout.run_dir(&cell.id).join(t);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let metrics = summary::cell_metrics(
            &read("rounds.csv")?,
            &read("detection.csv")?,
            &read("classes.csv")?,
        );
        rows.push((*cell, threat_values(layout, cell)?, metrics));
    }
    write("summary.csv", &summary::summary(&axes, &rows))?;
    Ok(done.len())
}

/// Writes `NAME.csv` and its Parquet copy `NAME.parquet`, each atomically (a table with no
/// rows and no header, when no cell is finished, has no Parquet copy).
fn write(layout: &Layout, cells: &[Cell], name: &str, text: &str) -> Result<(), String> {
    let root = layout.root();
    write_atomic(&root.join(name), text.as_bytes()).map_err(|e| e.to_string())?;
    let stem = name.trim_end_matches(".csv");
    let path = root.join(format!("{stem}.parquet"));
    if text.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("{}: {e}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let bytes = parquet::csv_to_parquet(text, stem, |c| parquet::kind_of(c, cells))?;
    write_atomic(&path, &bytes).map_err(|e| e.to_string())
}

/// Writes a merged frame as `NAME.csv` and `NAME.parquet`, each atomically.
fn write_frame(
    layout: &Layout,
    name: &str,
    frame: &mut polars::prelude::DataFrame,
) -> Result<(), String> {
    let root = layout.root();
    let stem = name.trim_end_matches(".csv");
    let csv = frames::to_csv(frame).map_err(|e| format!("{stem}: {e}"))?;
    write_atomic(&root.join(name), csv.as_bytes()).map_err(|e| e.to_string())?;
    let bytes = parquet::frame_to_parquet(frame, stem)?;
    write_atomic(&root.join(format!("{stem}.parquet")), &bytes).map_err(|e| e.to_string())
}

/// `cell,index,grid,status,error,<axes…>,<threat columns>`, one row per cell.
fn cells_table(layout: &Layout, cells: &[Cell], axes: &[&str]) -> Result<String, String> {
    let mut out = String::from("cell,index,grid,status,error");
    axes.iter().for_each(|a| out.extend([",", &csv_field(a)]));
    THREAT_COLUMNS.iter().for_each(|c| out.extend([",", c]));
    out.push('\n');
    for cell in cells {
        let state = layout.state(&cell.id);
        let error = match &state {
            CellState::Failed { message, .. } => message.as_str(),
            _ => "",
        };
        let _ = write!(
            out,
            "{},{},{},{},{}",
            cell.id,
            cell.index,
            cell.grid,
            state.as_str(),
            csv_field(error)
        );
        out.push_str(&axis_fields(cell, axes));
        match state {
            CellState::Done => out.push_str(&threat_fields(layout, cell)?),
            _ => out.push_str(&",".repeat(THREAT_COLUMNS.len())),
        }
        out.push('\n');
    }
    Ok(out)
}

/// `,<smpc>,<consensus>,<attacker>,<plaintext>` from the cell's manifest.
fn threat_fields(layout: &Layout, cell: &Cell) -> Result<String, String> {
    let values = threat_values(layout, cell)?;
    Ok(values
        .iter()
        .map(|v| format!(",{}", csv_field(v)))
        .collect())
}

/// The threat-model values of a finished cell, in [`THREAT_COLUMNS`] order.
fn threat_values(layout: &Layout, cell: &Cell) -> Result<Vec<String>, String> {
    let path = layout.run_dir(&cell.id).join("manifest.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let threat = doc
        .get("threat_model")
        .and_then(toml::Value::as_table)
        .ok_or_else(|| {
            format!(
                "{}: no [threat_model] (a run from an older securefl?)",
                path.display()
            )
        })?;
    Ok(THREAT_KEYS
        .iter()
        .map(|k| threat.get(*k).map(display_value).unwrap_or_default())
        .collect())
}

/// `,<value>` for each axis column (empty where the cell's grid lacks the axis).
fn axis_fields(cell: &Cell, axes: &[&str]) -> String {
    axes.iter()
        .map(|a| {
            format!(
                ",{}",
                csv_field(&cell.value(a).map(display_value).unwrap_or_default())
            )
        })
        .collect()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (the result contract's
/// quoting).
pub use securefl_results::csv_text as csv_field;
