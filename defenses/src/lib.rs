//! Aggregation rules and defenses, one file per method, each citing its paper and declaring
//! whether it reads updates in the clear and which settings it refuses.
//!
//! Defenses: `fedavg` and `smpc-verify` aggregate through the SMPC protocol; `bulyan`,
//! `centered-clip`, `fltrust`, `krum`, `median`, `multi-krum` and `trimmed-mean` read the
//! updates in the clear (`needs_plaintext = true`) and compute the next global model directly.
//! Pre-aggregators (always in the clear): `adaptive-clip` and `norm-clip`.
//! Each plaintext rule is a pure function over the updates ([`plain::Combined`] out), wrapped by
//! a thin plugin; [`math`] holds the vector math they share.

pub mod adaptive_clip;
pub mod bulyan;
pub mod centered_clip;
mod cross_hospital;
mod fedavg;
pub mod fltrust;
pub mod krum;
pub mod math;
pub mod median;
pub mod multi_krum;
pub mod norm_clip;
pub mod plain;
pub mod smpc_verify;
pub mod trimmed_mean;

pub use fedavg::FedAvg;

use securefl_api::{Registry, RegistryError};

/// Registers every defense and pre-aggregator, in alphabetical order.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    adaptive_clip::register(reg)?;
    bulyan::register(reg)?;
    centered_clip::register(reg)?;
    fedavg::register(reg)?;
    fltrust::register(reg)?;
    krum::register(reg)?;
    median::register(reg)?;
    multi_krum::register(reg)?;
    norm_clip::register(reg)?;
    smpc_verify::register(reg)?;
    trimmed_mean::register(reg)?;
    Ok(())
}
