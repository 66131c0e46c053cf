//! Parquet copies of the merged tables, through Polars: each `NAME.csv` of a sweep folder gets a
//! `NAME.parquet` beside it with the same rows and columns, every column typed by the schema
//! ([`kind_of`]): never by inference, so the same column has the same type in every sweep and
//! the files of several sweeps concatenate. Empty CSV fields become nulls.
//!
//! The files are zstd-compressed (level 3, which every current Parquet reader reads) and carry
//! the key-value metadata `securefl.schema` (the result tables' schema version) and
//! `securefl.table`.

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{
    CsvReadOptions, DataFrame, DataType, KeyValueMetadata, ParquetCompression, ParquetReader,
    ParquetWriter, Schema, SerReader as _,
};
use securefl_results::{ColumnKind, SCHEMA_VERSION, column_kind};

use crate::cell::Cell;
use crate::tables::THREAT_COLUMNS;

/// The type of a column of a merged table: the sweep's own columns (cell id, status, threat
/// model, summary statistics), then the axis columns (from the cells' values), then the
/// columns of the per-run tables ([`column_kind`]); text for anything else.
pub fn kind_of(name: &str, cells: &[Cell]) -> ColumnKind {
    match name {
        "index" | "grid" | "n" => return ColumnKind::Int,
        "mean" | "std" | "ci95_low" | "ci95_high" => return ColumnKind::Float,
        "threat_plaintext" => return ColumnKind::Bool,
        "cell" | "status" | "error" | "group" | "metric" => return ColumnKind::Text,
        _ if THREAT_COLUMNS.contains(&name) => return ColumnKind::Text,
        _ => {}
    }
    axis_kind(name, cells)
        .or_else(|| column_kind(name))
        .unwrap_or(ColumnKind::Text)
}

/// The kind shared by every value of an axis (text when they differ); `None` when no cell
/// has the axis.
fn axis_kind(name: &str, cells: &[Cell]) -> Option<ColumnKind> {
    let mut kinds = cells.iter().filter_map(|c| c.value(name)).map(value_kind);
    let first = kinds.next()?;
    Some(if kinds.all(|k| k == first) {
        first
    } else {
        ColumnKind::Text
    })
}

/// The kind of a TOML value: integer, float, boolean, or text for anything else.
pub(crate) fn value_kind(v: &toml::Value) -> ColumnKind {
    match v {
        toml::Value::Integer(_) => ColumnKind::Int,
        toml::Value::Float(_) => ColumnKind::Float,
        toml::Value::Boolean(_) => ColumnKind::Bool,
        _ => ColumnKind::Text,
    }
}

/// The Polars type of a column kind.
pub(crate) fn dtype(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Int => DataType::Int64,
        ColumnKind::Float => DataType::Float64,
        ColumnKind::Bool => DataType::Boolean,
        ColumnKind::Text => DataType::String,
    }
}

/// The Parquet bytes of a CSV table (with a header line), each column typed by `kind`.
pub fn csv_to_parquet(
    csv: &str,
    table: &str,
    kind: impl Fn(&str) -> ColumnKind,
) -> Result<Vec<u8>, String> {
    let schema: Schema = column_names(csv, table)?
        .into_iter()
        .map(|name| {
            let dt = dtype(kind(&name));
            (name.into(), dt)
        })
        .collect();
    let mut frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .into_reader_with_file_handle(Cursor::new(csv.as_bytes()))
        .finish()
        .map_err(|e| format!("{table}: reading it for Parquet: {e}"))?;
    frame_to_parquet(&mut frame, table)
}

/// The Parquet bytes of a typed frame, with the schema version and table name as metadata.
pub fn frame_to_parquet(frame: &mut DataFrame, table: &str) -> Result<Vec<u8>, String> {
    let metadata = KeyValueMetadata::from_static(vec![
        ("securefl.schema".to_owned(), SCHEMA_VERSION.to_string()),
        ("securefl.table".to_owned(), table.to_owned()),
    ]);
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Zstd(None))
        .with_key_value_metadata(Some(metadata))
        .finish(frame)
        .map_err(|e| format!("{table}: writing Parquet: {e}"))?;
    Ok(bytes)
}

/// Reads a Parquet file written by [`csv_to_parquet`].
pub fn read(bytes: &[u8]) -> Result<DataFrame, String> {
    ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|e| format!("reading Parquet: {e}"))
}

/// The column names of a CSV table, as Polars reads its header (Polars keeps a quoted name's
/// doubled quotes, which [`crate::tables::csv_field`] writes for a quote in a name).
fn column_names(csv: &str, table: &str) -> Result<Vec<String>, String> {
    let header = CsvReadOptions::default()
        .with_has_header(true)
        .with_n_rows(Some(0))
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(csv.as_bytes()))
        .finish()
        .map_err(|e| format!("{table}: reading its header for Parquet: {e}"))?;
    Ok(header
        .get_column_names()
        .iter()
        .map(|n| n.replace("\"\"", "\""))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::AnyValue;

    const CSV: &str = "cell,\"a,b\",round,test_accuracy,malicious,verdict,verify_score\n\
                       c1,\"x, y\",0,1,true,accept,\n\
                       c1,\"x, y\",1,0.8669871794871795,false,n/a,0.25\n";

    fn kinds(name: &str) -> ColumnKind {
        kind_of(name, &[])
    }

    #[test]
    fn a_table_round_trips_with_the_schema_types_and_nulls() {
        let frame = read(&csv_to_parquet(CSV, "t", kinds).unwrap()).unwrap();
        let names: Vec<&str> = frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "cell",
                "a,b",
                "round",
                "test_accuracy",
                "malicious",
                "verdict",
                "verify_score"
            ]
        );
        let types: Vec<DataType> = frame.dtypes();
        assert_eq!(
            types,
            [
                DataType::String,
                DataType::String,
                DataType::Int64,
                DataType::Float64,
                DataType::Boolean,
                DataType::String,
                DataType::Float64,
            ]
        );
        let at = |c: &str, i: usize| frame.column(c).unwrap().get(i).unwrap().into_static();
        assert_eq!(at("a,b", 0), AnyValue::StringOwned("x, y".into()));
        assert_eq!(
            at("test_accuracy", 0),
            AnyValue::Float64(1.0),
            "integral float"
        );
        assert_eq!(
            at("test_accuracy", 1),
            AnyValue::Float64(0.866_987_179_487_179_5)
        );
        assert_eq!(at("malicious", 0), AnyValue::Boolean(true));
        assert_eq!(at("verify_score", 0), AnyValue::Null, "empty field");
        assert_eq!(at("verify_score", 1), AnyValue::Float64(0.25));
    }

    #[test]
    fn the_same_table_gives_the_same_bytes() {
        let a = csv_to_parquet(CSV, "t", kinds).unwrap();
        assert_eq!(a, csv_to_parquet(CSV, "t", kinds).unwrap());
    }

    #[test]
    fn a_value_that_breaks_its_column_type_is_an_error_naming_the_table() {
        let bad = "round\nseven\n";
        let err = csv_to_parquet(bad, "rounds", kinds).unwrap_err();
        assert!(err.starts_with("rounds: "), "{err}");
    }

    #[test]
    fn header_names_are_unquoted() {
        let names = column_names("a,\"b,c\",\"d\"\"e\"\n1,2,3\n", "t").unwrap();
        assert_eq!(names, ["a", "b,c", "d\"e"]);
    }
}
