//! A template external attack: the free-rider (Lin et al. 2019, "Free-riders in Federated
//! Learning: Attacks and Defenses", arXiv:1911.12560; Fraboni et al., AISTATS 2021, "Free-rider
//! Attacks on Model Aggregation in Federated Learning").
//!
//! A free-rider wants the global model without spending its data or compute: it submits an
//! update it did not train.
//! - `mode = "plain"`: a zero update (Lin et al.'s plain free-rider).
//! - `mode = "disguised"`: the last change of the global model, `global_t − global_{t−1}`, plus
//!   Gaussian noise of standard deviation `sigma · round^(−gamma)` (Fraboni et al.'s disguised
//!   free-rider); in the first round it acts, when it has no previous global model, the
//!   noise alone.
//!
//! Threat model: own knowledge only. It sees the global model of every round it acts in and
//! keeps the previous one across rounds (state in `poison_update`), and it never reads other
//! hospitals' updates. It acts from `adversary.from-round`; its training data is untouched.
//!
//! The crate is built as a `cdylib` and loaded by path (`[attack] library = "…"`); see
//! CONTRIBUTING.md, "Write an attack crate". `panic-in-round` makes it panic on purpose, so
//! securefl's tests can check that a panicking plugin fails its run and not the process.

use rand_distr::{Distribution, Normal};
use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, ParamError, Params, PluginError, PluginInfo,
};
use serde::Deserialize;

/// What the free-rider submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A zero update.
    Plain,
    /// The last global change plus decaying Gaussian noise.
    Disguised,
}

/// The attack's parameters, as written in the config's `[attack]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    mode: Mode,
    #[serde(default)]
    sigma: f64,
    #[serde(default = "one")]
    gamma: f64,
    #[serde(default)]
    panic_in_round: usize,
}

fn one() -> f64 {
    1.0
}

/// The free-rider attack.
#[derive(Debug, Clone)]
pub struct FreeRider {
    cfg: Config,
    /// The round whose global model is `current`.
    round: usize,
    current: Vec<f32>,
    /// The global model of round `round − 1`, when the attack saw it.
    previous: Option<Vec<f32>>,
}

impl FreeRider {
    /// Remembers the global model of `ctx.round` (once per round, whatever the number of
    /// free-riders) and returns the previous round's, when it was seen.
    fn observe(&mut self, ctx: &AttackCtx<'_>) -> Option<&[f32]> {
        if ctx.round != self.round {
            let last = std::mem::replace(&mut self.current, ctx.global.to_vec());
            self.previous = (self.round + 1 == ctx.round && !last.is_empty()).then_some(last);
            self.round = ctx.round;
        }
        self.previous.as_deref()
    }

    fn noise_std(&self, round: usize) -> f64 {
        self.cfg.sigma * (round as f64).powf(-self.cfg.gamma)
    }
}

impl Attack for FreeRider {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        if ctx.round == self.cfg.panic_in_round {
            panic!("free-rider: asked to panic in round {}", ctx.round);
        }
        let mode = self.cfg.mode;
        let std = self.noise_std(ctx.round);
        let previous = self.observe(ctx).map(<[f32]>::to_vec);
        match (mode, previous) {
            (Mode::Disguised, Some(prev)) => {
                for ((d, g), p) in update.delta.iter_mut().zip(ctx.global).zip(&prev) {
                    *d = g - p;
                }
            }
            _ => update.delta.iter_mut().for_each(|d| *d = 0.0),
        }
        if mode == Mode::Disguised && std > 0.0 {
            let normal = Normal::new(0.0, std).map_err(|e| PluginError::invalid(e.to_string()))?;
            let mut rng = securefl_api::rng(ctx.seed, &["free-rider"]);
            for d in &mut update.delta {
                *d += normal.sample(&mut rng) as f32;
            }
        }
        Ok(())
    }
}

impl securefl_abi::AttackPlugin for FreeRider {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "free-rider",
            env!("CARGO_PKG_VERSION"),
            "submits an untrained update: zero, or the last global change plus noise",
        )
        .cite("Fraboni et al., Free-rider Attacks on Model Aggregation in Federated Learning, AISTATS 2021")
    }

    fn build(params: &Params) -> Result<Self, ParamError> {
        let cfg: Config = params.parse()?;
        if !(cfg.sigma >= 0.0 && cfg.sigma.is_finite()) {
            return Err(ParamError::field("sigma", "must be a finite number ≥ 0"));
        }
        Ok(Self {
            cfg,
            round: 0,
            current: Vec::new(),
            previous: None,
        })
    }
}

securefl_abi::export_attack!(FreeRider);

#[cfg(test)]
mod tests;
