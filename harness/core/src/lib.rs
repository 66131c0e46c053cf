//! The securefl engine: config parsing, plugin assembly, the federated round loop, metrics and
//! the run folder.
//!
//! It knows no concrete plugin (the CLI's registry does) and draws nothing on a terminal
//! (observers do).

pub mod adversary;
pub mod config;
pub mod detection;
pub mod dynamic;
pub mod engine;
pub mod ledger;
pub mod manifest;
pub mod metrics;
pub mod observer;
mod own_validation;
pub mod plugins;
mod record;
pub mod records;
mod reported;
mod round;
pub mod rundir;
mod validate;

use std::path::{Path, PathBuf};

use securefl_api::PluginError;

pub use config::{Config, ConfigError};
pub use engine::{Experiment, RunResult};
pub use observer::Observer;
pub use plugins::Plugins;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A plugin failed.
    #[error("{stage}: {source}")]
    Plugin {
        /// The phase or plugin kind that failed.
        stage: &'static str,
        /// What it said.
        source: PluginError,
    },
    /// The output folder cannot be used.
    #[error("{0}")]
    Output(String),
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl RunError {
    /// A plugin failure in `stage`.
    pub fn plugin(stage: &'static str, source: PluginError) -> Self {
        Self::Plugin { stage, source }
    }

    /// An IO failure on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
