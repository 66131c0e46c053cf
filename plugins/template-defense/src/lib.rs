//! A template external defense: RFA, the geometric median of the updates (Pillutla, Kakade &
//! Harchaoui, "Robust Aggregation for Federated Learning", IEEE TSP 2022).
//!
//! The next global model is `global + v`, where `v` minimises `Σ βᵢ ‖v − Δᵢ‖` over the
//! round's updates `Δᵢ`, weighted by their training images `βᵢ`. `v` is found by the smoothed
//! Weiszfeld algorithm: starting from the weighted mean, `v ← Σ αᵢ Δᵢ / Σ αᵢ` with
//! `αᵢ = βᵢ / max(ν, ‖v − Δᵢ‖)`, for at most `iterations` steps or until `v` moves less than
//! `tolerance` (relative to its norm). The geometric median has breakdown point 1/2.
//!
//! Threat model and caps: it reads updates in the clear (as every dynamic defense does) and
//! decides nothing per update, so its verdicts are `n/a`.
//!
//! The crate is built as a `cdylib` and loaded by path (`[defense] library = "…"`); see
//! CONTRIBUTING.md.

use securefl_abi::{DefensePlugin, PlainDefenseCtx, PlainOutcome};
use securefl_api::{
    ClientUpdate, ClientVerdict, CostRecord, ParamError, Params, PluginError, PluginInfo, Verdict,
};
use serde::Deserialize;

/// The defense's parameters, as written in the config's `[defense]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    #[serde(default = "iterations")]
    iterations: usize,
    #[serde(default = "nu")]
    nu: f64,
    #[serde(default = "tolerance")]
    tolerance: f64,
}

fn iterations() -> usize {
    10
}
fn nu() -> f64 {
    1e-6
}
fn tolerance() -> f64 {
    1e-6
}

/// Robust federated aggregation by the geometric median.
#[derive(Debug, Clone)]
pub struct Rfa {
    cfg: Config,
}

/// The weighted geometric median of `points` by smoothed Weiszfeld steps.
fn geometric_median(points: &[Vec<f64>], weights: &[f64], cfg: &Config) -> Vec<f64> {
    let mut v = weighted_mean(points, weights);
    for _ in 0..cfg.iterations {
        let alphas: Vec<f64> = points
            .iter()
            .zip(weights)
            .map(|(p, w)| w / distance(&v, p).max(cfg.nu))
            .collect();
        let next = weighted_mean(points, &alphas);
        let moved = distance(&next, &v);
        v = next;
        if moved <= cfg.tolerance * norm(&v).max(1.0) {
            break;
        }
    }
    v
}

fn weighted_mean(points: &[Vec<f64>], weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut out = vec![0.0; points[0].len()];
    for (p, w) in points.iter().zip(weights) {
        out.iter_mut().zip(p).for_each(|(o, x)| *o += w / total * x);
    }
    out
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn norm(a: &[f64]) -> f64 {
    a.iter().map(|x| x * x).sum::<f64>().sqrt()
}

impl DefensePlugin for Rfa {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "rfa",
            env!("CARGO_PKG_VERSION"),
            "geometric median of the updates by smoothed Weiszfeld steps",
        )
        .cite("Pillutla, Kakade & Harchaoui, Robust Aggregation for Federated Learning, IEEE TSP 2022")
    }

    fn build(params: &Params) -> Result<Self, ParamError> {
        let cfg: Config = params.parse()?;
        if cfg.iterations == 0 {
            return Err(ParamError::field("iterations", "must be at least 1"));
        }
        if !(cfg.nu > 0.0 && cfg.tolerance >= 0.0) {
            return Err(ParamError::field("nu", "nu must be > 0 and tolerance ≥ 0"));
        }
        Ok(Self { cfg })
    }

    fn produces_verdicts(&self) -> bool {
        false
    }

    fn aggregate(
        &mut self,
        ctx: &PlainDefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<PlainOutcome, PluginError> {
        if updates.is_empty() {
            return Err(PluginError::invalid("rfa: no update to aggregate"));
        }
        if let Some(u) = updates.iter().find(|u| u.delta.len() != ctx.global.len()) {
            return Err(PluginError::invalid(format!(
                "rfa: hospital {} sent {} weights for a {}-weight model",
                u.hospital,
                u.delta.len(),
                ctx.global.len()
            )));
        }
        let points: Vec<Vec<f64>> = updates
            .iter()
            .map(|u| u.delta.iter().map(|&x| f64::from(x)).collect())
            .collect();
        let weights: Vec<f64> = updates.iter().map(|u| u.samples.max(1) as f64).collect();
        let median = geometric_median(&points, &weights, &self.cfg);
        let model = ctx
            .global
            .iter()
            .zip(&median)
            .map(|(g, d)| (f64::from(*g) + d) as f32)
            .collect();
        let verdicts = updates
            .iter()
            .map(|u| ClientVerdict {
                hospital: u.hospital,
                verdict: Verdict::NotApplicable,
                score: None,
                cost: CostRecord::default(),
            })
            .collect();
        Ok(PlainOutcome { model, verdicts })
    }
}

securefl_abi::export_defense!(Rfa);

#[cfg(test)]
mod tests {
    use super::*;
    use securefl_api::{Arch, ModelSpec, Setting};

    fn update(hospital: usize, delta: &[f32]) -> ClientUpdate {
        ClientUpdate {
            hospital,
            samples: 10,
            delta: delta.to_vec(),
            train_loss: 0.0,
        }
    }

    fn aggregate(updates: &[ClientUpdate], global: &[f32]) -> PlainOutcome {
        let mut rfa = Rfa::build(&Params::from_toml("iterations = 200").unwrap()).unwrap();
        let ctx = PlainDefenseCtx {
            round: 1,
            global,
            spec: ModelSpec {
                arch: Arch::PaperCnn,
                in_channels: 1,
                classes: 2,
            },
            seed: 0,
            setting: Setting {
                hospitals: updates.len(),
                malicious: 0,
            },
        };
        rfa.aggregate(&ctx, updates).unwrap()
    }

    #[test]
    fn the_median_of_collinear_points_is_the_middle_one() {
        let ups = [update(0, &[0.0]), update(1, &[1.0]), update(2, &[100.0])];
        let out = aggregate(&ups, &[5.0]);
        assert!((out.model[0] - 6.0).abs() < 1e-3, "{:?}", out.model);
        assert!(
            out.verdicts
                .iter()
                .all(|v| v.verdict == Verdict::NotApplicable)
        );
    }

    #[test]
    fn the_median_of_a_square_and_an_outlier_stays_near_the_square() {
        // Four corners of the unit square around (0.5, 0.5) and one far outlier: the median
        // moves off the centre by far less than the mean (which moves by 20).
        let ups = [
            update(0, &[0.0, 0.0]),
            update(1, &[1.0, 0.0]),
            update(2, &[0.0, 1.0]),
            update(3, &[1.0, 1.0]),
            update(4, &[100.0, 100.0]),
        ];
        let out = aggregate(&ups, &[0.0, 0.0]);
        assert!(
            out.model.iter().all(|&x| (x - 0.5).abs() < 0.3),
            "{:?}",
            out.model
        );
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = Rfa::build(&Params::from_toml("iterations = 0").unwrap()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("iterations"));
    }
}
