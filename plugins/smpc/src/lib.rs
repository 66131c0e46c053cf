//! SMPC protocols for securefl: a fixed-point engine over Z_2^64, a metered lockstep network,
//! encrypted CNN inference and secure aggregation.
//!
//! Protocols implement the low-level [`mpc::Mpc`] interface; [`nn`] builds encrypted inference of
//! any [`securefl_api::ModelSpec`] on top of it, and [`plugin`] adapts a protocol to the
//! harness's [`securefl_api::SmpcProtocol`] plugin trait.

pub mod additive;
pub mod bits;
pub mod carry;
pub mod classwise;
pub mod linalg;
pub mod median;
pub mod mpc;
pub mod neighbours;
pub mod net;
pub mod nn;
pub mod norm;
pub mod plugin;
pub mod prg;
pub mod range;
pub mod replicated;
pub mod ring;
pub mod shamir;

use securefl_api::{
    Factory, PluginInfo, Registry, RegistryError, SecurityModel, SmpcCaps, SmpcProtocol,
};
use serde::Deserialize;

use crate::additive::Additive2pc;
use crate::mpc::Mpc;
use crate::plugin::MpcPlugin;
use crate::replicated::Replicated3pc;
use crate::ring::Fixed;

/// Parameters shared by the inference-capable protocols.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct EngineParams {
    /// Fractional bits of the fixed-point encoding.
    #[serde(default = "frac_bits")]
    frac_bits: u32,
    /// Images per encrypted-inference batch.
    #[serde(default = "batch")]
    batch: usize,
}

fn frac_bits() -> u32 {
    16
}

fn batch() -> usize {
    512
}

impl EngineParams {
    fn check(self) -> Result<Self, securefl_api::ParamError> {
        if !(8..=24).contains(&self.frac_bits) {
            return Err(securefl_api::ParamError::field(
                "frac-bits",
                format!("{} is outside 8..=24", self.frac_bits),
            ));
        }
        if self.batch == 0 {
            return Err(securefl_api::ParamError::field(
                "batch",
                "must be at least 1",
            ));
        }
        Ok(self)
    }
}

/// A factory for an inference-capable protocol: typed [`EngineParams`], then `make(fx, seed)`.
fn engine_factory<P: Mpc + Send + 'static>(
    info: PluginInfo,
    caps: SmpcCaps,
    make: fn(Fixed, u64) -> P,
) -> Factory<dyn SmpcProtocol>
where
    P::A: Send,
    P::B: Send,
{
    let name = info.name.clone();
    Factory::new(info, move |params| {
        let p: EngineParams = params.parse::<EngineParams>()?.check()?;
        let fx = Fixed::new(p.frac_bits);
        Ok(Box::new(MpcPlugin::new(
            &name,
            caps,
            p.frac_bits,
            p.batch,
            Box::new(move |seed| make(fx, seed)),
        )) as Box<dyn SmpcProtocol>)
    })
}

/// Registers the SMPC protocols.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let version = env!("CARGO_PKG_VERSION");
    let semi_honest = |parties, honest_majority, dealer| SmpcCaps {
        parties,
        security: SecurityModel::SemiHonest,
        honest_majority,
        dealer,
        inference: true,
    };
    let info = PluginInfo::new(
        "additive-2pc",
        version,
        "2-party additive sharing over Z_2^64 with a trusted dealer (Beaver and conv triples, bit-sliced comparison); semi-honest",
    )
    .cite("Beaver, CRYPTO 1991; Mohassel and Zhang, SecureML, IEEE S&P 2017; Knott et al., CrypTen, NeurIPS 2021");
    reg.add(engine_factory(
        info,
        semi_honest(2, false, true),
        Additive2pc::new,
    ))?;
    let info = PluginInfo::new(
        "replicated-3pc",
        version,
        "3-party replicated sharing over Z_2^64 (fused truncation, bit-extraction ReLU); semi-honest, honest majority",
    )
    .cite("Araki et al., CCS 2016; Mohassel and Rindal, ABY3, CCS 2018");
    reg.add(engine_factory(
        info,
        semi_honest(3, true, false),
        Replicated3pc::new,
    ))?;
    reg.add::<dyn SmpcProtocol>(shamir::factory())
}
