//! Where a sweep keeps its files, and what state a cell is in.
//!
//! ```text
//! OUT/sweep.toml           the spec as read, with the profile named (provenance)
//! OUT/cells/<id>.toml      the cell's run config
//! OUT/cells/<id>/          its run folder, complete (it has manifest.toml) or absent
//! OUT/cells/<id>.partial/  a run in progress or killed (replaced by the next attempt)
//! OUT/cells/<id>.log       the last attempt's stderr
//! OUT/cells/<id>.failed    the last attempt's error, when it failed
//! OUT/cells.csv, rounds.csv, clients.csv, detection.csv   merged tables (see `tables`)
//! ```
//!
//! A cell is finished exactly when its run folder exists: run folders appear by an atomic
//! rename after their manifest is written, so a killed sweep never leaves a half cell that looks
//! finished, and the merged tables, rebuilt from finished cells only, never lose or duplicate a
//! row.

use std::path::{Path, PathBuf};

/// A cell's state on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellState {
    /// Not run yet, or killed mid-run.
    Pending,
    /// The run folder is complete.
    Done,
    /// The last attempt failed with this message; `invalid` when the config was refused.
    Failed {
        /// True when the cell's config was refused (exit code 2).
        invalid: bool,
        /// The error line.
        message: String,
    },
}

impl CellState {
    /// The value of the `status` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed { invalid: true, .. } => "invalid",
            Self::Failed { invalid: false, .. } => "failed",
        }
    }
}

/// The paths of a sweep's output folder.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_owned(),
        }
    }

    /// The output folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of cell files.
    pub fn cells(&self) -> PathBuf {
        self.root.join("cells")
    }

    /// A cell's config file.
    pub fn config(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.toml"))
    }

    /// A cell's run folder.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.cells().join(id)
    }

    /// A cell's stderr log.
    pub fn log(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.log"))
    }

    /// A cell's failure record.
    pub fn failed(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.failed"))
    }

    /// The state of cell `id`.
    pub fn state(&self, id: &str) -> CellState {
        if self.run_dir(id).join("manifest.toml").is_file() {
            return CellState::Done;
        }
        match std::fs::read_to_string(self.failed(id)) {
            Ok(text) => {
                let (kind, message) = text.split_once('\n').unwrap_or((text.as_str(), ""));
                CellState::Failed {
                    invalid: kind == "invalid",
                    message: message.trim().to_owned(),
                }
            }
            Err(_) => CellState::Pending,
        }
    }
}
