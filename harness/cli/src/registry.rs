//! The one list of built-in plugins (alphabetical by crate).

use securefl_api::{Registry, RegistryError};

/// Every built-in plugin.
pub fn builtin() -> Result<Registry, RegistryError> {
    let mut reg = Registry::default();
    securefl_attacks::register(&mut reg)?;
    securefl_backend_dfdx::register(&mut reg)?;
    securefl_datasets::register(&mut reg)?;
    securefl_defenses::register(&mut reg)?;
    securefl_plain::register(&mut reg)?;
    securefl_smpc::register(&mut reg)?;
    Ok(reg)
}
