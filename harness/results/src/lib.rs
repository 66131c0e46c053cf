//! The result contract of securefl, in one place: what every result table holds.
//!
//! - [`schema`]: the schema version, every per-run table's columns in order with their kind and
//!   unit, the threat-model columns a sweep repeats on every row, and each column's meaning (read
//!   from `results/README.md`, the one place it is written; a test keeps the two in step).
//! - [`io`]: CSV field quoting, the timing-free view that determinism is checked on, and atomic
//!   writes, so a reader never sees half a table.
//!
//! The engine (`securefl-core`) writes these tables; the sweep merges them and the report reads
//! them. Neither of the latter needs the engine.

pub mod io;
pub mod schema;

pub use io::{WriteError, csv_text, partial_path, without_timing, write_atomic};
pub use schema::{
    CLASSES, CLIENTS, Column, ColumnKind, DETECTION, ROUNDS, SCHEMA_VERSION, THREAT_COLUMNS, Table,
    Unit, column_kind,
};
