//! The merged long tables as Polars DataFrames: each finished cell's run table read with the
//! result contract's column types (never inferred), the cell's id, axis values (typed by the
//! cells' values) and threat model added as columns, and the cells stacked in cell order. One
//! frame gives both the CSV and the Parquet copy, so the two cannot disagree.

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{
    Column, CsvReadOptions, CsvWriter, DataFrame, PlSmallStr, Schema, SerReader as _,
    SerWriter as _,
};
use securefl_results::{ColumnKind, column_kind};

use crate::cell::{Cell, display_value};
use crate::parquet::{self, kind_of};
use crate::tables::THREAT_COLUMNS;

/// One cell's contribution: its id, its threat-model values (in [`THREAT_COLUMNS`] order) and
/// the text of its run table.
pub struct CellTable<'a> {
    /// The cell.
    pub cell: &'a Cell,
    /// Its threat-model values.
    pub threat: Vec<String>,
    /// Where the table came from, for errors.
    pub path: String,
    /// The table's CSV text.
    pub csv: String,
}

/// The long table of `parts` (in order), with `axes` as columns; `None` when there is no part.
/// Parts whose headers differ from the first's (another schema version) are refused.
pub fn long_frame(
    parts: &[CellTable<'_>],
    axes: &[&str],
    cells: &[Cell],
) -> Result<Option<DataFrame>, String> {
    let Some(first) = parts.first() else {
        return Ok(None);
    };
    let header = first.csv.lines().next().unwrap_or_default();
    let mut out: Option<DataFrame> = None;
    for part in parts {
        if part.csv.lines().next().unwrap_or_default() != header {
            return Err(format!(
                "{}: its columns differ from the other cells' (a run from another schema version?); rerun it or move it out",
                part.path
            ));
        }
        let frame = cell_frame(part, axes, cells)?;
        match &mut out {
            None => out = Some(frame),
            Some(all) => {
                all.vstack_mut_owned(frame)
                    .map_err(|e| format!("{}: {e}", part.path))?;
            }
        }
    }
    Ok(out)
}

/// One cell's table, typed, behind its id, axis and threat columns.
fn cell_frame(part: &CellTable<'_>, axes: &[&str], cells: &[Cell]) -> Result<DataFrame, String> {
    let table = read_typed(&part.csv).map_err(|e| format!("{}: {e}", part.path))?;
    let n = table.height();
    let mut columns = vec![Column::new("cell".into(), vec![part.cell.id.clone(); n])];
    for axis in axes {
        let kind = kind_of(axis, cells);
        columns.push(constant(axis, part.cell.value(axis), kind, n));
    }
    for (name, value) in THREAT_COLUMNS.iter().zip(&part.threat) {
        let v = toml::Value::String(value.clone());
        columns.push(constant(name, Some(&v), kind_of(name, cells), n));
    }
    columns.extend(table.columns().iter().cloned());
    DataFrame::new(n, columns).map_err(|e| format!("{}: {e}", part.path))
}

/// A column of `n` copies of `value` as `kind` (nulls when absent or unreadable as `kind`).
fn constant(name: &str, value: Option<&toml::Value>, kind: ColumnKind, n: usize) -> Column {
    let name = PlSmallStr::from(name);
    let text = value.map(display_value).unwrap_or_default();
    let column = match (kind, value) {
        (_, None) => None,
        (ColumnKind::Int, Some(v)) => v
            .as_integer()
            .map(|i| Column::new(name.clone(), vec![i; n])),
        (ColumnKind::Float, Some(v)) => v
            .as_float()
            .or_else(|| text.parse().ok())
            .map(|f: f64| Column::new(name.clone(), vec![f; n])),
        (ColumnKind::Bool, Some(v)) => v
            .as_bool()
            .or_else(|| text.parse().ok())
            .map(|b| Column::new(name.clone(), vec![b; n])),
        (ColumnKind::Text, Some(_)) => Some(Column::new(name.clone(), vec![text.clone(); n])),
    };
    column.unwrap_or_else(|| Column::full_null(name, n, &parquet::dtype(kind)))
}

/// A run table's CSV read with the result contract's types; an unknown column is text.
fn read_typed(csv: &str) -> Result<DataFrame, String> {
    let header = csv.lines().next().unwrap_or_default();
    let schema: Schema = header
        .split(',')
        .map(|name| {
            let kind = column_kind(name).unwrap_or(ColumnKind::Text);
            (PlSmallStr::from(name), parquet::dtype(kind))
        })
        .collect();
    CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .into_reader_with_file_handle(Cursor::new(csv.as_bytes()))
        .finish()
        .map_err(|e| format!("reading it: {e}"))
}

/// A frame as CSV text: a header line, then one line per row; nulls are empty fields.
pub fn to_csv(frame: &mut DataFrame) -> Result<String, String> {
    let mut bytes = Vec::new();
    CsvWriter::new(&mut bytes)
        .include_header(true)
        .finish(frame)
        .map_err(|e| format!("writing CSV: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("writing CSV: {e}"))
}
