//! `none`: malicious hospitals behave honestly (the no-attack baseline).

use securefl_api::{Attack, AttackKnowledge, Factory, PluginInfo, Registry, RegistryError};

/// Changes nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAttack;

impl Attack for NoAttack {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "none",
        env!("CARGO_PKG_VERSION"),
        "no attack: every hospital trains honestly",
    );
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        p.expect_none()?;
        Ok(Box::new(NoAttack) as Box<dyn Attack>)
    }))
}
