//! Aggregation rules and defenses, one file per method, each citing its paper and declaring
//! whether it reads updates in the clear and which settings it refuses.

mod fedavg;
pub mod smpc_verify;

pub use fedavg::FedAvg;

use securefl_api::{Registry, RegistryError};

/// Registers every defense, in alphabetical order.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    fedavg::register(reg)?;
    smpc_verify::register(reg)?;
    Ok(())
}
