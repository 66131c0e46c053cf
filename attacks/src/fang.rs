//! `fang`: local model poisoning tailored to trimmed mean, median or Krum.
//!
//! Reference: Fang, Cao, Jia, Gong, "Local Model Poisoning Attacks to Byzantine-Robust
//! Federated Learning", USENIX Security 2020, §4 (full-knowledge attacks). The attacker
//! estimates the direction `s_j` in which each global parameter would move without attack (the
//! sign of the benign mean delta; a zero mean counts as +1) and pushes the aggregate the other
//! way. Updates here are deltas (local model minus global), so the paper's models `w_i` are
//! `G + Δ_i` and every quantity below is read off the deltas.
//!
//! Threat model: [`AttackKnowledge::Omniscient`] (the paper's full knowledge: the benign
//! updates and, for Krum, the number `c` of malicious hospitals, `ctx.malicious`); model
//! poisoning. The partial-knowledge variant is not implemented.
//!
//! - `target = "trimmed-mean"` (default) and `"median"` (the paper uses the same attack for
//!   both): with `max_j`, `min_j` the benign extremes of coordinate `j`, an attacker draws
//!   its value uniformly from `[max_j, b·max_j]` (or `[max_j, max_j/b]` when `max_j ≤ 0`) if
//!   `s_j = −1`, and from `[min_j/b, min_j]` (or `[b·min_j, min_j]` when `min_j ≤ 0`) if
//!   `s_j = +1`: beyond the benign extreme, on the side opposite to the benign direction.
//!   `b` > 1 (default 2, the paper's value). Draws use the attack call's seed, so colluders
//!   submit different values.
//! - `target = "krum"`: every attacker submits `Δ' = −λ s` (the model `G − λ s`). `λ` starts at
//!   the paper's upper bound
//!   `1/((m − 2c − 1)√d) · min_i Σ_{l ∈ Γ_i} ‖Δ_l − Δ_i‖ + 1/√d · max_i ‖Δ_i‖`
//!   (`m` hospitals, `d` values, `Γ_i` the `m − c − 2` benign updates nearest to benign `i`;
//!   the first term is dropped when `m ≤ 2c + 1`) and is halved until Krum, run with `f = c`
//!   on the benign updates plus `c` copies of `Δ'`, would select a copy (strictly lowest
//!   score). If `λ` falls below `lambda-threshold` (default 1e-5) first, that last `λ` is used.
//!   The paper crafts the other `c − 1` models close to the first; here they are identical.

use rand::Rng as _;
use securefl_api::{
    Attack, AttackCtx, AttackKnowledge, ClientUpdate, Factory, ParamError, PluginError, PluginInfo,
    Registry, RegistryError, rng,
};
use serde::Deserialize;

use crate::common::{benign, mean, pairwise_sq, positive};

/// The aggregation rule attacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Coordinate-wise trimmed mean.
    #[default]
    TrimmedMean,
    /// Coordinate-wise median (same attack as trimmed mean).
    Median,
    /// Krum.
    Krum,
}

/// Parameters of `fang`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The rule attacked.
    #[serde(default)]
    pub target: Target,
    /// How far beyond the benign extremes values may go (trimmed mean, median); > 1.
    #[serde(default = "default_b")]
    pub b: f64,
    /// Smallest `λ` tried against Krum.
    #[serde(default = "default_lambda_threshold")]
    pub lambda_threshold: f64,
}

fn default_b() -> f64 {
    2.0
}
fn default_lambda_threshold() -> f64 {
    1e-5
}

/// The attack.
#[derive(Debug, Clone, Copy)]
pub struct Fang {
    params: Params,
}

impl Fang {
    /// Validates the parameters.
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if !(params.b.is_finite() && params.b > 1.0) {
            return Err(ParamError::field(
                "b",
                format!("{} is not a finite number > 1", params.b),
            ));
        }
        positive("lambda-threshold", params.lambda_threshold)?;
        Ok(Self { params })
    }
}

/// `s_j`: +1 where the benign mean is ≥ 0, else −1.
fn directions(rows: &[&[f32]]) -> Vec<f64> {
    mean(rows)
        .into_iter()
        .map(|m| if m >= 0.0 { 1.0 } else { -1.0 })
        .collect()
}

/// The trimmed-mean / median attack: one value per coordinate beyond the benign extreme
/// opposite to `s_j`.
pub fn trimmed_mean_attack(rows: &[&[f32]], b: f64, seed: u64) -> Vec<f32> {
    let mut r = rng(seed, &["fang"]);
    let s = directions(rows);
    (0..s.len())
        .map(|j| {
            let col = rows.iter().map(|row| f64::from(row[j]));
            let (lo, hi) = if s[j] > 0.0 {
                let min = col.fold(f64::INFINITY, f64::min);
                if min > 0.0 {
                    (min / b, min)
                } else {
                    (b * min, min)
                }
            } else {
                let max = col.fold(f64::NEG_INFINITY, f64::max);
                if max > 0.0 {
                    (max, b * max)
                } else {
                    (max, max / b)
                }
            };
            (lo + r.r#gen::<f64>() * (hi - lo)) as f32
        })
        .collect()
}

/// Krum scores (Blanchard et al., NeurIPS 2017) from squared distances `d`: each point's sum of
/// its `n − f − 2` smallest distances to the others (clamped to `1..=n−1`).
pub fn krum_scores(d: &[Vec<f64>], f: usize) -> Vec<f64> {
    let n = d.len();
    let k = n.saturating_sub(f + 2).clamp(1, n.saturating_sub(1).max(1));
    (0..n)
        .map(|i| {
            let mut row: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| d[i][j]).collect();
            row.sort_by(f64::total_cmp);
            row.iter().take(k).sum()
        })
        .collect()
}

/// The Krum attack on benign deltas `rows` with `m` hospitals of which `c` are malicious:
/// the malicious delta `−λ s` and its `λ`.
pub fn krum_attack(rows: &[&[f32]], m: usize, c: usize, threshold: f64) -> (Vec<f32>, f64) {
    let (nb, c) = (rows.len(), c.max(1));
    let s = directions(rows);
    let dim = s.len().max(1) as f64;
    let dbb = pairwise_sq(rows);
    let norm2: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().map(|&v| f64::from(v).powi(2)).sum())
        .collect();
    let s_dot: Vec<f64> = rows
        .iter()
        .map(|r| r.iter().zip(&s).map(|(&v, sj)| f64::from(v) * sj).sum())
        .collect();
    let mut lambda = lambda_bound(&dbb, &norm2, m, c, dim);
    while lambda >= threshold {
        // ‖−λs − Δ_i‖² = λ²d + 2λ s·Δ_i + ‖Δ_i‖².
        let to_mal: Vec<f64> = (0..nb)
            .map(|i| lambda * lambda * dim + 2.0 * lambda * s_dot[i] + norm2[i])
            .collect();
        if krum_picks_malicious(&dbb, &to_mal, c) {
            break;
        }
        lambda /= 2.0;
    }
    (s.iter().map(|sj| (-lambda * sj) as f32).collect(), lambda)
}

/// The paper's upper bound on `λ`.
fn lambda_bound(dbb: &[Vec<f64>], norm2: &[f64], m: usize, c: usize, dim: f64) -> f64 {
    let far = norm2.iter().copied().fold(0.0, f64::max).sqrt() / dim.sqrt();
    if m <= 2 * c + 1 {
        return far;
    }
    let k = (m - c).saturating_sub(2);
    let near = dbb
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut d: Vec<f64> = (0..row.len())
                .filter(|&j| j != i)
                .map(|j| row[j].sqrt())
                .collect();
            d.sort_by(f64::total_cmp);
            d.iter().take(k).sum::<f64>()
        })
        .fold(f64::INFINITY, f64::min);
    near / ((m - 2 * c - 1) as f64 * dim.sqrt()) + far
}

/// True when Krum with `f = c`, over the benign points and `c` identical malicious ones at the
/// given distances, gives a malicious point a strictly lower score than every benign one.
fn krum_picks_malicious(dbb: &[Vec<f64>], to_mal: &[f64], c: usize) -> bool {
    let (nb, n) = (dbb.len(), dbb.len() + c);
    let mut d = vec![vec![0.0; n]; n];
    for (i, row) in dbb.iter().enumerate() {
        d[i][..nb].copy_from_slice(row);
        d[i][nb..].fill(to_mal[i]);
        for mal in &mut d[nb..] {
            mal[i] = to_mal[i];
        }
    }
    let scores = krum_scores(&d, c);
    let best_benign = scores[..nb].iter().copied().fold(f64::INFINITY, f64::min);
    scores[nb] < best_benign
}

impl Attack for Fang {
    fn knowledge(&self) -> AttackKnowledge {
        AttackKnowledge::Omniscient
    }

    fn poison_update(
        &mut self,
        ctx: &AttackCtx<'_>,
        update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        let rows = benign("fang", ctx, update.delta.len())?;
        let p = self.params;
        update.delta = match p.target {
            Target::TrimmedMean | Target::Median => trimmed_mean_attack(&rows, p.b, ctx.seed),
            Target::Krum => krum_attack(&rows, ctx.hospitals, ctx.malicious, p.lambda_threshold).0,
        };
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "fang",
        env!("CARGO_PKG_VERSION"),
        "full-knowledge local model poisoning against trimmed mean, median or Krum (omniscient)",
    )
    .cite("Fang, Cao, Jia, Gong, Local Model Poisoning Attacks to Byzantine-Robust FL, USENIX Security 2020");
    reg.add::<dyn Attack>(Factory::new(info, |p| {
        Ok(Box::new(Fang::new(p.parse()?)?) as Box<dyn Attack>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{build, ctx, gaussian_updates, refused_field, update};

    fn attack(params: &str, honest: &[ClientUpdate], seed: u64, c: usize) -> Vec<f32> {
        let mut u = update(0, 100, vec![0.0; honest[0].delta.len()]);
        let cx = AttackCtx {
            seed,
            hospitals: honest.len() + c,
            malicious: c,
            ..ctx(honest, &[])
        };
        build("fang", params)
            .unwrap()
            .poison_update(&cx, &mut u)
            .unwrap();
        u.delta
    }

    #[test]
    fn trimmed_mean_values_lie_beyond_the_opposite_extreme() {
        let honest = gaussian_updates(9, 8, 300);
        let mal = attack("", &honest, 1, 2);
        let (mut up, mut down) = (0, 0);
        for (j, &v) in mal.iter().enumerate() {
            let col: Vec<f32> = honest.iter().map(|u| u.delta[j]).collect();
            let (min, max) = col
                .iter()
                .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            let mean = col.iter().sum::<f32>() / col.len() as f32;
            if mean >= 0.0 {
                down += 1;
                assert!(v <= min, "coordinate {j}: {v} above the benign min {min}");
                assert!(v >= min.min(min * 2.0).min(min / 2.0) - 1e-6);
            } else {
                up += 1;
                assert!(v >= max, "coordinate {j}: {v} below the benign max {max}");
                assert!(v <= max.max(max * 2.0).max(max / 2.0) + 1e-6);
            }
        }
        assert!(
            up > 50 && down > 50,
            "both directions are exercised: {up} {down}"
        );
    }

    #[test]
    fn median_uses_the_same_attack_and_draws_depend_on_the_seed() {
        let honest = gaussian_updates(9, 5, 50);
        assert_eq!(
            attack("", &honest, 1, 1),
            attack("target = \"median\"", &honest, 1, 1)
        );
        assert_ne!(attack("", &honest, 1, 1), attack("", &honest, 2, 1));
    }

    #[test]
    fn krum_selects_the_crafted_update() {
        let honest = gaussian_updates(4, 8, 100);
        let c = 2;
        let mal = attack("target = \"krum\"", &honest, 1, c);
        let rows: Vec<&[f32]> = honest.iter().map(|u| u.delta.as_slice()).collect();
        let s = directions(&rows);
        // −λ s with λ > 0: every coordinate opposite to the benign direction, same magnitude.
        let lambda = -f64::from(mal[0]) * s[0];
        assert!(lambda > 1e-5, "λ {lambda}");
        for (v, sj) in mal.iter().zip(&s) {
            assert_eq!(*v, (-lambda * sj) as f32);
        }
        // Brute-force Krum over the real vectors picks a malicious copy.
        let mut all = rows.clone();
        all.extend(std::iter::repeat_n(mal.as_slice(), c));
        let scores = krum_scores(&pairwise_sq(&all), c);
        let best = (0..all.len())
            .min_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap();
        assert!(best >= honest.len(), "Krum picked benign update {best}");
    }

    #[test]
    fn krum_scores_sum_the_nearest_neighbours() {
        // Points 0, 1, 3, 10 on a line; n = 4, f = 0: k = 2.
        let x = [0.0f64, 1.0, 3.0, 10.0];
        let d: Vec<Vec<f64>> = x
            .iter()
            .map(|a| x.iter().map(|b| (a - b) * (a - b)).collect())
            .collect();
        assert_eq!(
            krum_scores(&d, 0),
            [1.0 + 9.0, 1.0 + 4.0, 4.0 + 9.0, 49.0 + 81.0]
        );
        assert_eq!(krum_scores(&d, 1), [1.0, 1.0, 4.0, 49.0]);
    }

    #[test]
    fn bad_params_are_refused_with_the_field() {
        assert_eq!(refused_field("fang", "b = 1"), Some("b".into()));
        assert_eq!(
            refused_field("fang", "lambda-threshold = 0"),
            Some("lambda-threshold".into())
        );
        assert_eq!(
            refused_field("fang", "target = \"bulyan\""),
            Some("target".into())
        );
        assert_eq!(refused_field("fang", "beta = 2"), Some("beta".into()));
    }
}
