//! Grid sweeps: a TOML spec ([`spec`]) expanded into cells with stable ids ([`cell`]), run as
//! `securefl run` child processes in parallel and resumed after a crash ([`run`], [`layout`]),
//! and merged into long tables ([`tables`]): Polars DataFrames typed by the result contract
//! ([`frames`]), written as CSV and Parquet ([`parquet`]).

pub mod cell;
pub mod frames;
pub mod layout;
pub mod parquet;
pub mod run;
pub mod slurm;
pub mod spec;
pub mod summary;
pub mod tables;

pub use cell::{Cell, expand};
pub use layout::{CellState, Layout};
pub use run::{Quiet, RunOptions, SweepObserver, run_cells};
pub use spec::{Spec, SpecError};

/// The cells of shard `index` of `count`: every `count`-th cell from `index`.
pub fn shard(cells: &[Cell], index: usize, count: usize) -> Vec<Cell> {
    cells
        .iter()
        .filter(|c| c.index % count.max(1) == index)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
