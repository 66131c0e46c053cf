//! Typed plugin parameters read from a TOML table.
//!
//! A plugin's section in the config (`[defense] kind = "krum"`, `f = 2`) reaches its factory as
//! [`Params`]: the table without `kind`.
//! The plugin parses it into its own `#[serde(deny_unknown_fields)]` struct, so an unknown or
//! mistyped field is an error that names the field.

use serde::de::DeserializeOwned;
use thiserror::Error;

/// The parameters of one plugin instance, as written in the config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    table: toml::Table,
}

/// A parameter that could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}{message}", field.as_ref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
pub struct ParamError {
    /// The dotted path of the offending field, when known.
    pub field: Option<String>,
    /// What is wrong with it.
    pub message: String,
}

impl ParamError {
    /// An error about the field `field`.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

impl Params {
    /// Wraps a TOML table (the plugin's section without `kind`).
    pub fn new(table: toml::Table) -> Self {
        Self { table }
    }

    /// No parameters at all.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses a TOML snippet; meant for tests and examples.
    pub fn from_toml(text: &str) -> Result<Self, ParamError> {
        let table = text.parse::<toml::Table>().map_err(|e| ParamError {
            field: None,
            message: e.message().to_owned(),
        })?;
        Ok(Self::new(table))
    }

    /// The raw table.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }

    /// Parses the parameters into the plugin's typed struct.
    ///
    /// Unknown fields are rejected when `T` uses `#[serde(deny_unknown_fields)]`, which every
    /// plugin's parameter struct must.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ParamError> {
        let value = toml::Value::Table(self.table.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.message().trim().to_owned();
            let field = unknown_field_name(&message).or((path != ".").then_some(path));
            ParamError { field, message }
        })
    }

    /// Fails unless the table is empty: for plugins that take no parameters.
    pub fn expect_none(&self) -> Result<(), ParamError> {
        match self.table.keys().next() {
            None => Ok(()),
            Some(k) => Err(ParamError::field(
                k,
                "unknown field: this plugin takes no parameters",
            )),
        }
    }
}

/// Serde reports an unknown field in its message only ("unknown field `x`, expected ...").
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Krum {
        f: usize,
        #[serde(default)]
        multi: bool,
    }

    #[test]
    fn parses_typed_parameters() {
        let p = Params::from_toml("f = 2").unwrap();
        assert_eq!(p.parse::<Krum>().unwrap(), Krum { f: 2, multi: false });
    }

    #[test]
    fn unknown_field_is_named() {
        let err = Params::from_toml("f = 2\nfoo = 1")
            .unwrap()
            .parse::<Krum>()
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("foo"));
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn mistyped_field_is_named() {
        let err = Params::from_toml("f = \"two\"")
            .unwrap()
            .parse::<Krum>()
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("f"));
    }

    #[test]
    fn expect_none_rejects_any_key() {
        assert!(Params::empty().expect_none().is_ok());
        let err = Params::from_toml("x = 1")
            .unwrap()
            .expect_none()
            .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("x"));
    }
}
