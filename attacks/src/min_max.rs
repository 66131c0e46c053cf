//! `min-max`: the AGR-agnostic min-max attack, and the search it shares with `min-sum`.
//!
//! Reference: Shejwalkar, Houmansadr, "Manipulating the Byzantine: Optimizing Model Poisoning
//! Attacks and Defenses for Federated Learning", NDSS 2021, §IV (AGR-agnostic attacks) and
//! Algorithm 1. Every attacker submits `∇m = μ + γ ∇p`, the benign mean `μ` plus a fixed
//! perturbation direction `∇p` scaled by the largest `γ` for which `∇m` stays as close to the
//! benign updates `∇i` as they are to each other:
//!
//! - `min-max`: `max_i ‖∇m − ∇i‖ ≤ max_{i,j} ‖∇i − ∇j‖`;
//! - `min-sum`: `Σ_i ‖∇m − ∇i‖² ≤ max_i Σ_j ‖∇i − ∇j‖²` (the paper's bound; the authors'
//!   released code compares with the minimum instead, a stricter bound).
//!
//! Threat model: [`AttackKnowledge::Omniscient`]; model poisoning from the benign updates
//! (colluders submit the same vector).
//!
//! Parameters: `deviation` picks `∇p`: `unit` (`−μ/‖μ‖`), `std` (`−σ`, the per-coordinate
//! sample standard deviation; default, the paper's most effective choice) or `sign`
//! (`−sign(μ)`). `gamma-init` (default 10, as in the authors' code) and `tolerance` `τ`
//! (default 1e-5) drive the paper's search: `γ = γ_init`, `step = γ_init`; while
//! `|γ_succ − γ| > τ`: if `γ` satisfies the bound then `γ_succ = γ` and `γ += step/2`, else
//! `γ −= step/2`; `step /= 2`. The result uses `γ_succ` (0, the mean itself, always satisfies
//! both bounds). The returned `γ` is within `2τ` of the largest feasible one below `2 γ_init`.

use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::common::{benign, mean, pairwise_sq, positive, sq_dist, std_dev};

/// The perturbation direction `∇p` (the negation of the named vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deviation {
    /// `−μ / ‖μ‖`.
    Unit,
    /// `−σ` per coordinate.
    #[default]
    Std,
    /// `−sign(μ)`.
    Sign,
}

/// Parameters of `min-max` and `min-sum`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The perturbation direction.
    #[serde(default)]
    pub deviation: Deviation,
    /// The first `γ` tried.
    #[serde(default = "default_gamma_init")]
    pub gamma_init: f64,
    /// The search stops when successive `γ` differ by at most this.
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

fn default_gamma_init() -> f64 {
    10.0
}
fn default_tolerance() -> f64 {
    1e-5
}

impl Params {
    /// Fails unless `gamma-init` and `tolerance` are finite and positive.
    pub(crate) fn checked(self) -> Result<Self, ParamError> {
        positive("gamma-init", self.gamma_init)?;
        positive("tolerance", self.tolerance)?;
        Ok(self)
    }
}

/// Which distance bound the malicious update must meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Largest distance to a benign update ≤ largest benign pairwise distance.
    MinMax,
    /// Sum of squared distances ≤ the largest such sum of a benign update.
    MinSum,
}

/// The benign updates with everything the search needs.
pub(crate) struct Problem<'a> {
    rows: Vec<&'a [f32]>,
    mean: Vec<f64>,
    /// `−∇p`: the vector subtracted, `γ` times, from the mean.
    dev: Vec<f64>,
    objective: Objective,
    bound: f64,
}

impl<'a> Problem<'a> {
    /// Precomputes the mean, the direction and the bound.
    pub(crate) fn new(rows: Vec<&'a [f32]>, deviation: Deviation, objective: Objective) -> Self {
        let mean = mean(&rows);
        let dev = match deviation {
            Deviation::Std => std_dev(&rows, &mean),
            Deviation::Sign => mean.iter().map(|&m| sign(m)).collect(),
            Deviation::Unit => {
                let norm = mean.iter().map(|m| m * m).sum::<f64>().sqrt();
                let k = if norm > 0.0 { 1.0 / norm } else { 0.0 };
                mean.iter().map(|m| m * k).collect()
            }
        };
        let d = pairwise_sq(&rows);
        let bound = match objective {
            Objective::MinMax => d.iter().flatten().copied().fold(0.0, f64::max),
            Objective::MinSum => d.iter().map(|r| r.iter().sum()).fold(0.0, f64::max),
        };
        Self {
            rows,
            mean,
            dev,
            objective,
            bound,
        }
    }

    /// The malicious update for `gamma`: `μ − γ · dev`, rounded to `f32`.
    pub(crate) fn candidate(&self, gamma: f64) -> Vec<f32> {
        self.mean
            .iter()
            .zip(&self.dev)
            .map(|(m, d)| (m - gamma * d) as f32)
            .collect()
    }

    /// The objective's value for `v` (compared with the bound).
    pub(crate) fn score(&self, v: &[f32]) -> f64 {
        let d = self.rows.iter().map(|r| sq_dist(v, r));
        match self.objective {
            Objective::MinMax => d.fold(0.0, f64::max),
            Objective::MinSum => d.sum(),
        }
    }

    /// True when `v` meets the bound.
    pub(crate) fn feasible(&self, v: &[f32]) -> bool {
        self.score(v) <= self.bound
    }

    /// The paper's search: the malicious update and its `γ`.
    pub(crate) fn solve(&self, gamma_init: f64, tolerance: f64) -> (Vec<f32>, f64) {
        let (mut gamma, mut step, mut succ) = (gamma_init, gamma_init, 0.0);
        // The step halves every iteration, so this ends after about log2(γ_init / τ) rounds;
        // the cap only guards against a non-finite input.
        for _ in 0..2000 {
            if (succ - gamma).abs() <= tolerance {
                break;
            }
            if self.feasible(&self.candidate(gamma)) {
                succ = gamma;
                gamma += step / 2.0;
            } else {
                gamma -= step / 2.0;
            }
            step /= 2.0;
        }
        (self.candidate(succ), succ)
    }
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Objective {
    /// The plugin name of the attack with this objective.
    pub fn name(self) -> &'static str {
        match self {
            Self::MinMax => "min-max",
            Self::MinSum => "min-sum",
        }
    }
}

/// The AGR-agnostic attack with its objective: `min-max` here, `min-sum` in [`crate::min_sum`].
#[derive(Debug, Clone, Copy)]
pub struct AgrAgnostic {
    params: Params,
    objective: Objective,
}

impl AgrAgnostic {
    /// Validates the parameters.
    pub fn new(params: Params, objective: Objective) -> Result<Self, ParamError> {
        Ok(Self {
            params: params.checked()?,
            objective,
        })
    }
}

impl Attack for AgrAgnostic {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Omniscient
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let rows = benign(self.objective.name(), ctx, update.delta.len())?;
        let problem = Problem::new(rows, self.params.deviation, self.objective);
        update.delta = problem
            .solve(self.params.gamma_init, self.params.tolerance)
            .0;
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "min-max",
        env!("CARGO_PKG_VERSION"),
        "benign mean pushed along -std as far as the largest benign distance allows (omniscient)",
    )
    .cite("Shejwalkar, Houmansadr, Manipulating the Byzantine, NDSS 2021 (min-max)");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(AgrAgnostic::new(p.parse()?, Objective::MinMax)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::{build, ctx, gaussian_updates, refused_field, update};

    /// Checks the returned `γ` is feasible, `γ + 2τ` is not, and the attack submits it.
    pub(crate) fn check_boundary(name: &str, objective: Objective, deviation: &str) {
        let honest = gaussian_updates(3, 7, 60);
        let rows: Vec<&[f32]> = honest.iter().map(|u| u.delta.as_slice()).collect();
        let params = format!("deviation = \"{deviation}\"\ntolerance = 1e-4");
        let dev = match deviation {
            "unit" => Deviation::Unit,
            "sign" => Deviation::Sign,
            _ => Deviation::Std,
        };
        let problem = Problem::new(rows, dev, objective);
        let (v, gamma) = problem.solve(10.0, 1e-4);
        assert!(
            gamma > 0.01 && gamma < 19.0,
            "{name}/{deviation}: γ {gamma}"
        );
        assert!(problem.feasible(&v));
        assert!(!problem.feasible(&problem.candidate(gamma + 2e-4)));
        let mut u = update(0, 100, vec![0.0; 60]);
        let mut attack = build(name, &params).unwrap();
        attack.poison_update(&ctx(&honest, &[]), &mut u).unwrap();
        assert_eq!(u.delta, v);
        assert_ne!(
            u.delta,
            problem.candidate(0.0),
            "the update moved off the mean"
        );
    }

    #[test]
    fn largest_feasible_gamma_for_every_direction() {
        for dev in ["std", "unit", "sign"] {
            check_boundary("min-max", Objective::MinMax, dev);
        }
    }

    #[test]
    fn bound_is_the_largest_benign_distance() {
        let honest = [
            update(1, 1, vec![0.0, 0.0]),
            update(2, 1, vec![2.0, 0.0]),
            update(3, 1, vec![1.0, 0.0]),
        ];
        let rows = honest.iter().map(|u| u.delta.as_slice()).collect();
        let p = Problem::new(rows, Deviation::Unit, Objective::MinMax);
        assert_eq!(p.bound, 4.0);
        // μ = (1, 0), ∇p = (−1, 0): γ = 1 puts ∇m at (0, 0), 2 away from (2, 0).
        let (v, gamma) = p.solve(10.0, 1e-6);
        assert!((gamma - 1.0).abs() < 2e-6, "{gamma}");
        assert!((v[0] - 0.0).abs() < 1e-5 && v[1] == 0.0);
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(
            refused_field("min-max", "gamma-init = 0"),
            Some("gamma-init".into())
        );
        assert_eq!(
            refused_field("min-max", "tolerance = -1"),
            Some("tolerance".into())
        );
        assert_eq!(
            refused_field("min-max", "deviation = \"l2\""),
            Some("deviation".into())
        );
        assert_eq!(refused_field("min-max", "gamma = 1"), Some("gamma".into()));
    }
}
