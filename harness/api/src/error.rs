//! The error every plugin call returns.

use thiserror::Error;

/// What went wrong inside a plugin call.
///
/// Messages are lowercase, have no trailing period, and say what failed and where.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PluginError {
    /// The inputs or the configuration cannot be used by this plugin.
    #[error("{0}")]
    Invalid(String),
    /// The plugin does not implement this operation (its capabilities say so).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The plugin tried and failed (numerical failure, device error, IO).
    #[error("{0}")]
    Failed(String),
}

impl PluginError {
    /// Shorthand for [`PluginError::Invalid`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }

    /// Shorthand for [`PluginError::Failed`].
    pub fn failed(msg: impl Into<String>) -> Self {
        Self::Failed(msg.into())
    }
}
