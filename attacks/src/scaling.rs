//! `scaling`: model replacement by boosting the attacker's update.
//!
//! Reference: Bagdasaryan, Veit, Hua, Estrin, Shmatikov, "How To Backdoor Federated Learning",
//! AISTATS 2020, §3.2 ("model replacement"): the attacker submits `γ (X − G) + G`, i.e. its
//! delta scaled by `γ = n / η`, so that averaging cancels and the new global model is the
//! attacker's model `X`.
//!
//! Threat model: [`AttackKnowledge::Own`]; model poisoning of the attacker's own update (it
//! trains honestly, then scales). Combine with a trigger through `backdoor`'s `boost`.
//!
//! `boost` is a positive number or `"auto"` (default). With sample-weighted FedAvg the
//! aggregate is `G + Σ_i (n_i / N) Δ_i`, so `auto` sets `γ = N / n_a` (all hospitals' training
//! images over the attacker's, from [`AttackCtx::samples`]): a lone attacker whose peers' deltas
//! are zero makes the aggregate exactly its own model. It is sized for one attacker; `c`
//! colluders with the same boost each contribute their whole delta.

use std::fmt;

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// How much an update is scaled.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Boost {
    /// Total training images over the attacker's (model replacement under FedAvg).
    #[default]
    Auto,
    /// A fixed factor.
    Factor(f64),
}

impl Boost {
    /// Fails unless a fixed factor is finite and positive.
    pub(crate) fn check(self, field: &str) -> Result<Self, ParamError> {
        match self {
            Self::Factor(f) => crate::common::positive(field, f).map(Self::Factor),
            Self::Auto => Ok(self),
        }
    }

    /// The factor for `update` in the round of `ctx`.
    pub(crate) fn factor(
        self,
        name: &str,
        ctx: &AttackCtx<'_>,
        update: &ClientUpdate,
    ) -> Result<f64, PluginError> {
        match self {
            Self::Factor(f) => Ok(f),
            Self::Auto => {
                let total: usize = ctx.samples.iter().sum();
                if total == 0 || update.samples == 0 {
                    return Err(PluginError::invalid(format!(
                        "{name}: boost = \"auto\" needs the hospitals' sample counts \
                         (total {total}, attacker {})",
                        update.samples
                    )));
                }
                Ok(total as f64 / update.samples as f64)
            }
        }
    }

    /// Scales `update` by its factor.
    pub(crate) fn apply(
        self,
        name: &str,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let f = self.factor(name, ctx, update)?;
        for v in &mut update.delta {
            *v = (f64::from(*v) * f) as f32;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Boost {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct BoostVisitor;
        impl Visitor<'_> for BoostVisitor {
            type Value = Boost;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a positive number or \"auto\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Boost, E> {
                match v {
                    "auto" => Ok(Boost::Auto),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Boost, E> {
                Ok(Boost::Factor(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Boost, E> {
                Ok(Boost::Factor(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Boost, E> {
                Ok(Boost::Factor(v as f64))
            }
        }
        d.deserialize_any(BoostVisitor)
    }
}

/// Parameters of `scaling`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The scale factor `γ`, or `"auto"`.
    #[serde(default)]
    pub boost: Boost,
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct Scaling {
    boost: Boost,
}

impl Scaling {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        Ok(Self {
            boost: p.boost.check("boost")?,
        })
    }
}

impl Attack for Scaling {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        self.boost.apply("scaling", ctx, update)
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "scaling",
        env!("CARGO_PKG_VERSION"),
        "model replacement: scales the attacker's update so the average becomes its model",
    )
    .cite("Bagdasaryan et al., How To Backdoor Federated Learning, AISTATS 2020");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(Scaling::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, refused_field, update};

    /// Sample-weighted FedAvg of the deltas, added to `global`, in f64.
    fn fedavg(global: &[f32], updates: &[ClientUpdate]) -> Vec<f64> {
        let total: usize = updates.iter().map(|u| u.samples).sum();
        let mut out: Vec<f64> = global.iter().map(|&g| f64::from(g)).collect();
        for u in updates {
            let w = u.samples as f64 / total as f64;
            for (o, &d) in out.iter_mut().zip(&u.delta) {
                *o += w * f64::from(d);
            }
        }
        out
    }

    #[test]
    fn lone_replacement_makes_the_aggregate_the_attackers_model() {
        let global = [0.5f32, -1.0, 2.0, 0.0];
        let target = [1.5f32, -3.0, 2.25, 7.0];
        let samples = [300, 250, 200, 150, 100];
        let honest: Vec<ClientUpdate> = (1..5)
            .map(|h| update(h, samples[h], vec![0.0; 4]))
            .collect();
        let delta: Vec<f32> = target.iter().zip(&global).map(|(t, g)| t - g).collect();
        let mut mine = update(0, samples[0], delta);
        let mut attack = build("scaling", "").unwrap();
        attack
            .poison_update(&ctx(&[], &samples), &mut mine)
            .unwrap();
        let mut all = vec![mine];
        all.extend(honest);
        let agg = fedavg(&global, &all);
        for (a, &t) in agg.iter().zip(&target) {
            assert!((a - f64::from(t)).abs() < 1e-6, "{a} vs {t}");
        }
    }

    #[test]
    fn fixed_boost_scales_every_value() {
        let mut attack = build("scaling", "boost = 4").unwrap();
        let mut u = update(0, 10, vec![1.0, -0.5, 0.0]);
        attack.poison_update(&ctx(&[], &[]), &mut u).unwrap();
        assert_eq!(u.delta, [4.0, -2.0, 0.0]);
    }

    #[test]
    fn auto_without_sample_counts_is_an_error() {
        let mut attack = build("scaling", "boost = \"auto\"").unwrap();
        let mut u = update(0, 10, vec![1.0]);
        let err = attack.poison_update(&ctx(&[], &[]), &mut u).unwrap_err();
        assert!(err.to_string().contains("sample counts"), "{err}");
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(refused_field("scaling", "boost = 0"), Some("boost".into()));
        assert_eq!(
            refused_field("scaling", "boost = -2.0"),
            Some("boost".into())
        );
        assert_eq!(
            refused_field("scaling", "boost = \"max\""),
            Some("boost".into())
        );
        assert_eq!(refused_field("scaling", "gamma = 2"), Some("gamma".into()));
    }
}
