//! `sign-flip`: the attacker submits its update negated and scaled, `-scale · Δ`.
//!
//! Reference: the sign-flipping Byzantine attack of the robust-aggregation literature (e.g.
//! Li, Xu, Chen, Giannakis, Ling, "RSA: Byzantine-Robust Stochastic Aggregation Methods for
//! Distributed Learning from Heterogeneous Datasets", AAAI 2019; "sign flipping" in ByzFL,
//! Blades and FLPoison), with `scale` = 1 by default (pure negation).
//!
//! Threat model: [`AttackKnowledge::Own`]; model poisoning of the attacker's honestly trained
//! update.

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::common::positive;

/// Parameters of `sign-flip`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Magnitude of the flipped update relative to the trained one (positive).
    #[serde(default = "default_scale")]
    pub scale: f64,
}

fn default_scale() -> f64 {
    1.0
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct SignFlip {
    scale: f64,
}

impl SignFlip {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        Ok(Self {
            scale: positive("scale", p.scale)?,
        })
    }
}

impl Attack for SignFlip {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_update(
        &mut self,
        _ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        for v in &mut update.delta {
            *v = (-f64::from(*v) * self.scale) as f32;
        }
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "sign-flip",
        env!("CARGO_PKG_VERSION"),
        "submits the trained update negated (times scale)",
    )
    .cite("sign-flipping attack, e.g. Li et al., RSA, AAAI 2019");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(SignFlip::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use crate::testutil::{build, ctx, refused_field, update};

    #[test]
    fn negates_and_scales() {
        let mut u = update(0, 5, vec![1.0, -2.5, 0.0]);
        build("sign-flip", "")
            .unwrap()
            .poison_update(&ctx(&[], &[]), &mut u)
            .unwrap();
        assert_eq!(u.delta, [-1.0, 2.5, 0.0]);
        build("sign-flip", "scale = 3")
            .unwrap()
            .poison_update(&ctx(&[], &[]), &mut u)
            .unwrap();
        assert_eq!(u.delta, [3.0, -7.5, 0.0]);
        assert_eq!((u.hospital, u.samples), (0, 5));
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("sign-flip", "scale = 0"),
            Some("scale".into())
        );
        assert_eq!(
            refused_field("sign-flip", "scale = -1"),
            Some("scale".into())
        );
        assert_eq!(
            refused_field("sign-flip", "factor = 1"),
            Some("factor".into())
        );
    }
}
