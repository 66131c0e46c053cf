//! The `medmnist` dataset source plugin.

use securefl_api::{DataCtx, Dataset, DatasetSource, Factory, ParamError, PluginError, PluginInfo};
use serde::Deserialize;

use crate::medmnist;

/// The parameters of the `medmnist` source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MedMnistParams {
    /// The MedMNIST flag, e.g. `pneumoniamnist`.
    pub flag: String,
}

/// Loads one MedMNIST flag's official 28x28 file (md5-verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedMnistSource {
    flag: String,
}

impl MedMnistSource {
    /// A source for `flag`; fails for unknown, multi-label or unverifiable flags.
    pub fn new(flag: &str) -> Result<Self, PluginError> {
        medmnist::loadable_flag(flag)?;
        Ok(Self {
            flag: flag.to_owned(),
        })
    }

    /// The flag this source loads.
    pub fn flag(&self) -> &str {
        &self.flag
    }
}

impl DatasetSource for MedMnistSource {
    fn load(&self, ctx: &DataCtx) -> Result<Dataset, PluginError> {
        medmnist::load(&self.flag, ctx)
    }
}

/// The registry factory of the `medmnist` source.
pub fn factory() -> Factory<dyn DatasetSource> {
    let info = PluginInfo::new(
        "medmnist",
        env!("CARGO_PKG_VERSION"),
        "MedMNIST v3 2D datasets (28x28 .npz, official md5 verified before parsing)",
    )
    .cite(
        "Yang et al., MedMNIST v2: a large-scale lightweight benchmark for 2D and 3D biomedical \
         image classification, Scientific Data 10, 41 (2023)",
    );
    Factory::new(info, |params| {
        let p: MedMnistParams = params.parse()?;
        let source =
            MedMnistSource::new(&p.flag).map_err(|e| ParamError::field("flag", e.to_string()))?;
        Ok(Box::new(source) as Box<dyn DatasetSource>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use securefl_api::Params;

    fn build(toml: &str) -> Result<Box<dyn DatasetSource>, ParamError> {
        factory().build(&Params::from_toml(toml).unwrap())
    }

    #[test]
    fn params_are_checked() {
        assert!(build("flag = \"bloodmnist\"").is_ok());
        let e = build("flag = \"bloodmnist\"\nsize = 64").err().unwrap();
        assert_eq!(e.field.as_deref(), Some("size"));
        let e = build("flag = \"foo\"").err().unwrap();
        assert_eq!(e.field.as_deref(), Some("flag"));
        assert!(e.message.contains("known: bloodmnist"), "{e}");
        let e = build("flag = \"chestmnist\"").err().unwrap();
        assert!(e.message.contains("multi-label"), "{e}");
        assert!(build("").is_err());
    }

    #[test]
    fn offline_load_of_a_missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = DataCtx {
            search_dirs: vec![dir.path().into()],
            cache_dir: dir.path().join("cache"),
            allow_download: false,
            progress: false,
        };
        let e = build("flag = \"breastmnist\"")
            .unwrap()
            .load(&ctx)
            .unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with("breastmnist.npz not found in $SECUREFL_DATA"),
            "{e}"
        );
        assert!(e.contains("750601b1f35ba3300ea97c75c52ff8f6"), "{e}");
    }
}
