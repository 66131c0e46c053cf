//! Plaintext baselines: SMPC `none` and consensus `none`.
//!
//! They are the honest "no security" settings every experiment is compared against: the
//! engine's calls go through the same plugin interfaces, computed in the clear at zero
//! communication cost, and the result rows say `smpc_security = plaintext` and
//! `consensus_fault_model = trusted`.

mod consensus;
mod smpc;

pub use consensus::NoConsensus;
pub use smpc::Plaintext;

use securefl_api::{Consensus, Factory, PluginInfo, Registry, RegistryError, SmpcProtocol};

/// Registers SMPC `none` and consensus `none`.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let version = env!("CARGO_PKG_VERSION");
    reg.add::<dyn SmpcProtocol>(Factory::new(
        PluginInfo::new(
            "none",
            version,
            "no SMPC: models are averaged in the clear (plaintext baseline)",
        ),
        |p| {
            p.expect_none()?;
            Ok(Box::new(Plaintext::default()) as Box<dyn SmpcProtocol>)
        },
    ))?;
    reg.add::<dyn Consensus>(Factory::new(
        PluginInfo::new(
            "none",
            version,
            "no ledger agreement: every block is taken as final (trusted baseline)",
        ),
        |p| {
            p.expect_none()?;
            Ok(Box::new(NoConsensus) as Box<dyn Consensus>)
        },
    ))
}
