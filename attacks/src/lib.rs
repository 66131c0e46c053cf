//! Poisoning attacks, one file per method, each citing its paper and documenting its threat
//! model (which updates it sees, from which round it acts).
//!
//! Which hospitals are malicious, and from which round, is set in the config's `[attack]`
//! section and applied by the engine; an attack only says what a malicious hospital does.

mod none;

pub use none::NoAttack;

use securefl_api::{Registry, RegistryError};

/// Registers every attack, in alphabetical order.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    none::register(reg)?;
    Ok(())
}
