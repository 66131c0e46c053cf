//! `ipm`: Inner Product Manipulation.
//!
//! Reference: Xie, Koyejo, Gupta, "Fall of Empires: Breaking Byzantine-tolerant SGD by Inner
//! Product Manipulation", UAI 2019. Every attacker submits `-ε · mean(benign updates)`, so the
//! aggregate's inner product with the true mean update turns negative.
//!
//! Threat model: [`AttackKnowledge::Omniscient`]; model poisoning from the round's benign
//! updates (colluders submit the same vector). `epsilon` defaults to 0.1, the paper's small-ε
//! setting, which passes median-, trimmed-mean- and Krum-style rules; the paper's large-ε
//! setting (e.g. 100) breaks the plain mean but is caught by distance-based rules.

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::common::{benign, mean, positive};

/// Parameters of `ipm`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The factor `ε` (positive).
    #[serde(default = "default_epsilon")]
    pub epsilon: f64,
}

fn default_epsilon() -> f64 {
    0.1
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct Ipm {
    epsilon: f64,
}

impl Ipm {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        Ok(Self {
            epsilon: positive("epsilon", p.epsilon)?,
        })
    }
}

impl Attack for Ipm {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Omniscient
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let rows = benign("ipm", ctx, update.delta.len())?;
        let mu = mean(&rows);
        for (v, m) in update.delta.iter_mut().zip(mu) {
            *v = (-self.epsilon * m) as f32;
        }
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "ipm",
        env!("CARGO_PKG_VERSION"),
        "inner product manipulation: submits -epsilon times the benign mean (omniscient)",
    )
    .cite("Xie, Koyejo, Gupta, Fall of Empires: Inner Product Manipulation, UAI 2019");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(Ipm::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, refused_field, update};

    #[test]
    fn submits_minus_epsilon_times_the_benign_mean() {
        let honest = [
            update(1, 10, vec![1.0, 4.0, -2.0]),
            update(2, 10, vec![3.0, 0.0, -4.0]),
        ];
        let mut attack = build("ipm", "epsilon = 0.5").unwrap();
        assert_eq!(attack.knowledge(), AttackKnowledge::Omniscient);
        let mut u = update(0, 10, vec![9.0, 9.0, 9.0]);
        attack.poison_update(&ctx(&honest, &[]), &mut u).unwrap();
        assert_eq!(u.delta, [-1.0, -1.0, 1.5]);
        // The inner product with the benign mean is negative.
        let dot: f32 = u
            .delta
            .iter()
            .zip([2.0, 2.0, -3.0])
            .map(|(a, b)| a * b)
            .sum();
        assert!(dot < 0.0);
    }

    #[test]
    fn needs_benign_updates_of_the_same_size() {
        let mut attack = build("ipm", "").unwrap();
        let mut u = update(0, 10, vec![1.0, 2.0]);
        assert!(attack.poison_update(&ctx(&[], &[]), &mut u).is_err());
        let honest = [update(1, 10, vec![1.0])];
        let err = attack
            .poison_update(&ctx(&honest, &[]), &mut u)
            .unwrap_err();
        assert!(err.to_string().contains("hospital 1"), "{err}");
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(refused_field("ipm", "epsilon = 0"), Some("epsilon".into()));
        assert_eq!(refused_field("ipm", "eps = 1"), Some("eps".into()));
    }
}
