//! Dataset sources and partitioners for securefl.
//!
//! - [`medmnist`]: the MedMNIST v3 2D flags and a loader of their official 28x28 `.npz` files
//!   that verifies the official md5 before parsing, then every array's dtype, shape, size and
//!   label range.
//! - [`locate`]: where files are looked for (`$SECUREFL_DATA`, the cache) and downloaded from.
//! - [`source`]: the `medmnist` dataset-source plugin.
//! - [`partition`]: the `iid`, `dirichlet`, `pathological` and `quantity-skew` partitioners.
//! - [`synthetic`]: seeded synthetic images for unit tests (never a plugin, never a fallback).
//! - [`testing`]: [`testing::real_data_dir`] for tests that need the real files.
//!
//! Plugins are registered with [`register`].

pub mod locate;
pub mod medmnist;
pub mod npy;
pub mod npz;
pub mod partition;
pub mod source;
pub mod synthetic;
pub mod testing;

use securefl_api::{Registry, RegistryError};

pub use locate::{data_ctx_from_env, locate};
pub use medmnist::{FLAGS, FlagInfo, FlagTask, flag_info, load, load_file};
pub use partition::{Dirichlet, Iid, Pathological, QuantitySkew};
pub use source::{MedMnistParams, MedMnistSource};
pub use synthetic::{SyntheticSpec, synthetic_dataset, synthetic_images};

/// Adds the `medmnist` dataset source and the four partitioners to `reg`.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    reg.add(source::factory())?;
    reg.add(partition::iid::factory())?;
    reg.add(partition::dirichlet::factory())?;
    reg.add(partition::pathological::factory())?;
    reg.add(partition::quantity_skew::factory())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use securefl_api::{DatasetSource, Partitioner, PluginKind};

    #[test]
    fn registers_every_plugin_once() {
        let mut reg = Registry::default();
        register(&mut reg).unwrap();
        assert_eq!(reg.names::<dyn DatasetSource>(), ["medmnist"]);
        assert_eq!(
            reg.names::<dyn Partitioner>(),
            ["dirichlet", "iid", "pathological", "quantity-skew"]
        );
        assert!(register(&mut reg).is_err());
        let list = reg.list();
        let cited = |name: &str| {
            list.iter()
                .find(|(k, i)| i.name == name && *k != PluginKind::Backend)
                .and_then(|(_, i)| i.citation.clone())
                .unwrap_or_default()
        };
        assert!(cited("dirichlet").contains("Yurochkin"));
        assert!(cited("pathological").contains("McMahan"));
        assert!(cited("medmnist").contains("Yang"));
    }
}
