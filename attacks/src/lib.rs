//! Poisoning attacks, one file per method, each citing its paper and documenting its threat
//! model (which updates it sees, whether it poisons data or the update).
//!
//! Which hospitals are malicious, and from which round, is set in the config's `[attack]`
//! section and applied by the engine; an attack only says what a malicious hospital does.
//! Every attack's output depends only on its inputs and the call's seed (`AttackCtx::seed`).

pub mod backdoor;
mod common;
pub mod fang;
pub mod gate_aware;
pub mod gaussian_noise;
pub mod ipm;
pub mod label_flip;
pub mod lie;
pub mod min_max;
pub mod min_sum;
mod none;
pub mod ring_wrap;
pub mod scaling;
pub mod sign_flip;
#[cfg(test)]
mod testutil;

pub use backdoor::Backdoor;
pub use fang::Fang;
pub use gate_aware::GateAware;
pub use gaussian_noise::GaussianNoise;
pub use ipm::Ipm;
pub use label_flip::LabelFlip;
pub use lie::Lie;
pub use min_max::AgrAgnostic;
pub use none::NoAttack;
pub use ring_wrap::RingWrap;
pub use scaling::{Boost, Scaling};
pub use sign_flip::SignFlip;

use securefl_api::{Registry, RegistryError};

/// Registers every attack, in alphabetical order.
pub fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    backdoor::register(reg)?;
    fang::register(reg)?;
    gate_aware::register(reg)?;
    gaussian_noise::register(reg)?;
    ipm::register(reg)?;
    label_flip::register(reg)?;
    lie::register(reg)?;
    min_max::register(reg)?;
    min_sum::register(reg)?;
    none::register(reg)?;
    ring_wrap::register(reg)?;
    scaling::register(reg)?;
    sign_flip::register(reg)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use securefl_api::{Attack, AttackKnowledge, Registry};

    #[test]
    fn every_attack_is_registered_with_defaults_and_a_citation() {
        let mut reg = Registry::default();
        super::register(&mut reg).unwrap();
        let names = reg.names::<dyn Attack>();
        assert_eq!(
            names,
            [
                "backdoor",
                "fang",
                "gate-aware",
                "gaussian-noise",
                "ipm",
                "label-flip",
                "lie",
                "min-max",
                "min-sum",
                "none",
                "ring-wrap",
                "scaling",
                "sign-flip"
            ]
        );
        for name in names {
            let f = reg.get::<dyn Attack>(name).unwrap();
            let attack = f.build(&securefl_api::Params::empty()).unwrap();
            let omniscient = ["fang", "ipm", "lie", "min-max", "min-sum"].contains(&name);
            assert_eq!(
                attack.knowledge() == AttackKnowledge::Omniscient,
                omniscient,
                "{name}"
            );
            assert_eq!(f.info().citation.is_some(), name != "none", "{name}");
        }
    }
}
