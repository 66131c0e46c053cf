//! The merged long tables as Polars DataFrames: each finished cell's run table read with the
//! result contract's column types (never inferred), the cell's id, grid and dataset, its axis
//! values (typed by the cells' values), one typed column per field of a linked or plugin axis
//! (`attack.kind`, `attack.scale`, `adversary.fraction`, for grouping) and its threat model added
//! as columns, and the cells stacked in cell order. One frame gives both the CSV and the Parquet
//! copy, so the two cannot disagree.

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
    let fields = field_columns(parts, axes);
    let mut out: Option<DataFrame> = None;
    for part in parts {
        if part.csv.lines().next().unwrap_or_default() != header {
            return Err(format!(
                "{}: its columns differ from the other cells' (a run from another schema version?); rerun it or move it out",
                part.path
            ));
        }
        let frame = cell_frame(part, axes, &fields, cells)?;
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
fn cell_frame(
    part: &CellTable<'_>,
    axes: &[&str],
    fields: &[Field],
    cells: &[Cell],
) -> Result<DataFrame, String> {
    let table = read_typed(&part.csv).map_err(|e| format!("{}: {e}", part.path))?;
    let n = table.height();
    let dataset = part
        .cell
        .config
        .get("dataset")
        .and_then(|d| d.get("flag"))
        .cloned();
    let grid = toml::Value::Integer(part.cell.grid as i64);
    let mut columns = vec![
        Column::new("cell".into(), vec![part.cell.id.clone(); n]),
        constant("grid", Some(&grid), ColumnKind::Int, n),
        constant("dataset", dataset.as_ref(), ColumnKind::Text, n),
    ];
    for axis in axes {
        let kind = kind_of(axis, cells);
        columns.push(constant(axis, part.cell.value(axis), kind, n));
    }
    let values = field_values(part.cell, axes);
    for f in fields {
        let value = values
            .iter()
            .find(|(name, _)| *name == f.name)
            .map(|(_, v)| v);
        columns.push(constant(&f.name, value, f.kind, n));
    }
    for (name, value) in THREAT_COLUMNS.iter().zip(&part.threat) {
        let v = toml::Value::String(value.clone());
        columns.push(constant(name, Some(&v), kind_of(name, cells), n));
    }
    columns.extend(table.columns().iter().cloned());
    DataFrame::new(n, columns).map_err(|e| format!("{}: {e}", part.path))
}

/// A grouping column: one field of a linked or plugin axis, and its kind.
struct Field {
    name: String,
    kind: ColumnKind,
}

/// The grouping fields of a cell's axes, in axis order: each part of a linked axis by its path
/// (a plugin table by `path.key`, `kind` first), and each key of a plugin axis's table.
fn field_values(cell: &Cell, axes: &[&str]) -> Vec<(String, toml::Value)> {
    let mut out = Vec::new();
    for axis in axes {
        let Some(value) = cell.value(axis) else {
            continue;
        };
        let paths: Vec<&str> = axis.split('+').collect();
        let parts: Vec<&toml::Value> = match (paths.len(), value) {
            (1, v) => vec![v],
            (_, toml::Value::Array(vs)) => vs.iter().collect(),
            _ => continue,
        };
        for (path, v) in paths.iter().zip(parts) {
            match v {
                toml::Value::Table(t) => {
                    let kind = t.get("kind").into_iter().map(|k| ("kind", k));
                    let rest = t.iter().filter(|(k, _)| *k != "kind");
                    for (k, x) in kind.chain(rest.map(|(k, x)| (k.as_str(), x))) {
                        out.push((format!("{path}.{k}"), x.clone()));
                    }
                }
                v if paths.len() > 1 => out.push(((*path).to_owned(), v.clone())),
                _ => {}
            }
        }
    }
    out
}

/// The grouping field columns over every part, in order of first appearance, each typed by
/// its values (text when they differ); a name that is already an axis is left to the axis.
fn field_columns(parts: &[CellTable<'_>], axes: &[&str]) -> Vec<Field> {
    let mut names: Vec<String> = Vec::new();
    let mut kinds: Vec<Option<ColumnKind>> = Vec::new();
    for part in parts {
        for (name, v) in field_values(part.cell, axes) {
            if axes.contains(&name.as_str()) {
                continue;
            }
            let kind = parquet::value_kind(&v);
            match names.iter().position(|n| *n == name) {
                Some(i) if kinds[i] != Some(kind) => kinds[i] = Some(ColumnKind::Text),
                Some(_) => {}
                None => {
                    names.push(name);
                    kinds.push(Some(kind));
                }
            }
        }
    }
    names
        .into_iter()
        .zip(kinds)
        .map(|(name, kind)| Field {
            name,
            kind: kind.unwrap_or(ColumnKind::Text),
        })
        .collect()
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
