//! `gaussian-noise`: the attacker submits Gaussian noise instead of its update.
//!
//! Reference: the Gaussian Byzantine attack (Blanchard et al., "Machine Learning with
//! Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017, §5; FLPoison's and ByzFL's
//! "Gaussian" attack), which replaces the update by independent `N(0, σ²)` values.
//!
//! Threat model: [`AttackKnowledge::Own`]; model poisoning. With `mode = "replace"` (default)
//! every value of the update becomes a draw from `N(0, sigma²)`; with `mode = "add"` the draw
//! is added to the trained value instead. `sigma` defaults to 1, as in FLPoison and ByzFL.
//! Draws come from the generator seeded by the attack call's seed, so colluders submit
//! different noise and reruns the same.

use rand_distr::{Distribution, Normal};
use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError, rng,
};
use serde::Deserialize;

/// What the noise does to the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The update becomes the noise.
    #[default]
    Replace,
    /// The noise is added to the update.
    Add,
}

/// Parameters of `gaussian-noise`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Standard deviation of the noise (non-negative).
    #[serde(default = "default_sigma")]
    pub sigma: f64,
    /// Replace the update or add to it.
    #[serde(default)]
    pub mode: Mode,
}

fn default_sigma() -> f64 {
    1.0
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct GaussianNoise {
    noise: Normal<f64>,
    mode: Mode,
}

impl GaussianNoise {
    /// Validates the parameters.
    pub fn new(p: Params) -> Result<Self, ParamError> {
        let bad = || ParamError::field("sigma", format!("{} is not finite and ≥ 0", p.sigma));
        if !(p.sigma.is_finite() && p.sigma >= 0.0) {
            return Err(bad());
        }
        let noise = Normal::new(0.0, p.sigma).map_err(|_| bad())?;
        Ok(Self {
            noise,
            mode: p.mode,
        })
    }
}

impl Attack for GaussianNoise {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Own
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let mut r = rng(ctx.seed, &["gaussian-noise"]);
        for v in &mut update.delta {
            let base = match self.mode {
                Mode::Replace => 0.0,
                Mode::Add => f64::from(*v),
            };
            *v = (base + self.noise.sample(&mut r)) as f32;
        }
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "gaussian-noise",
        env!("CARGO_PKG_VERSION"),
        "replaces the update by N(0, sigma^2) noise (or adds it)",
    )
    .cite("Blanchard et al., NeurIPS 2017 (Gaussian Byzantine workers)");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(GaussianNoise::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, refused_field, update};

    fn noisy(params: &str, seed: u64, delta: Vec<f32>) -> Vec<f32> {
        let mut u = update(0, 1, delta);
        let c = AttackCtx {
            seed,
            ..ctx(&[], &[])
        };
        build("gaussian-noise", params)
            .unwrap()
            .poison_update(&c, &mut u)
            .unwrap();
        u.delta
    }

    fn mean_std(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (
            m,
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt(),
        )
    }

    #[test]
    fn replacement_has_the_configured_std() {
        let n = 200_000;
        let out = noisy("sigma = 0.25", 11, vec![5.0; n]);
        let (m, s) = mean_std(&out.iter().map(|&x| f64::from(x)).collect::<Vec<_>>());
        // Standard errors: 0.25 / sqrt(n) ≈ 5.6e-4 for the mean, 0.25 / sqrt(2n) ≈ 4e-4 for std.
        assert!(m.abs() < 3e-3, "mean {m}");
        assert!((s - 0.25).abs() < 3e-3, "std {s}");
    }

    #[test]
    fn addition_keeps_the_update_under_the_noise() {
        let n = 100_000;
        let base: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let out = noisy("sigma = 2\nmode = \"add\"", 11, base.clone());
        let diff: Vec<f64> = out
            .iter()
            .zip(&base)
            .map(|(&o, &b)| f64::from(o - b))
            .collect();
        let (m, s) = mean_std(&diff);
        assert!(m.abs() < 0.05, "mean {m}");
        assert!((s - 2.0).abs() < 0.03, "std {s}");
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(noisy("", 1, vec![0.0; 50]), noisy("", 1, vec![0.0; 50]));
        assert_ne!(noisy("", 1, vec![0.0; 50]), noisy("", 2, vec![0.0; 50]));
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("gaussian-noise", "sigma = -1"),
            Some("sigma".into())
        );
        assert_eq!(
            refused_field("gaussian-noise", "sigma = nan"),
            Some("sigma".into())
        );
        assert_eq!(
            refused_field("gaussian-noise", "std = 1"),
            Some("std".into())
        );
        assert_eq!(
            refused_field("gaussian-noise", "mode = \"mul\""),
            Some("mode".into())
        );
    }
}
