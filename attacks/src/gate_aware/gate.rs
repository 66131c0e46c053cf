//! The attacker's model of the `smpc-verify` gate: its estimate of the round's benign distances
//! and scores, the norm bound and the score rule evaluated on those estimates, and plaintext
//! scoring of a candidate model on the attacker's own clean images.
//!
//! Everything here mirrors `defenses/src/smpc_verify.rs` (default `relative-median` rule with the
//! constant floor) and `plugins/smpc/src/norm.rs` (the upper-median norm bound), computed in the
//! clear on the attacker's estimates instead of in shares on the validators' data.

use securefl_api::reference::forward_one;
use securefl_api::{ImageSet, ModelSpec, PluginError};

/// How far above chance (1/C for the C classes present) balanced accuracy must be to clear the
/// floor without its plain-accuracy branch (as `securefl_smpc::plugin`'s `ABOVE_CHANCE`).
const ABOVE_CHANCE: f64 = 0.01;

/// A candidate's scores on the attacker's held images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Eval {
    /// Mean per-class recall over the classes present.
    pub(crate) balanced: f64,
    /// Correct predictions over images.
    pub(crate) accuracy: f64,
    /// Whether the gate's floor holds: balanced accuracy at least 1/C + 0.01 (C classes
    /// present) or plain accuracy at least the majority-class share of the held images.
    pub(crate) floor: bool,
}

/// Scores models `global + delta` on a fixed set of clean images with the reference forward pass.
pub(crate) struct Scorer<'a> {
    spec: ModelSpec,
    global: &'a [f32],
    images: &'a ImageSet,
    counts: Vec<usize>,
}

impl<'a> Scorer<'a> {
    /// Fails unless the global model fits `spec` and every label is a class.
    pub(crate) fn new(
        spec: ModelSpec,
        global: &'a [f32],
        images: &'a ImageSet,
    ) -> Result<Self, PluginError> {
        if global.len() != spec.param_count() {
            return Err(PluginError::invalid(format!(
                "gate-aware: the global model has {} values, the architecture {}",
                global.len(),
                spec.param_count()
            )));
        }
        if let Some(&l) = images
            .labels
            .iter()
            .find(|&&l| usize::from(l) >= spec.classes)
        {
            return Err(PluginError::invalid(format!(
                "gate-aware: label {l} is not a class of this dataset ({} classes)",
                spec.classes
            )));
        }
        Ok(Self {
            spec,
            global,
            images,
            counts: images.class_counts(spec.classes),
        })
    }

    /// The scores of `global + delta` (weights added in `f32`, as the engine forms models).
    pub(crate) fn eval(&self, delta: &[f32]) -> Eval {
        let weights: Vec<f32> = self.global.iter().zip(delta).map(|(g, d)| g + d).collect();
        let mut correct = vec![0usize; self.counts.len()];
        for i in 0..self.images.len() {
            let logits = forward_one(&self.spec, &weights, self.images, i);
            let label = usize::from(self.images.labels[i]);
            if argmax(&logits) == label {
                correct[label] += 1;
            }
        }
        let present = self.counts.iter().filter(|&&n| n > 0).count().max(1);
        let balanced = correct
            .iter()
            .zip(&self.counts)
            .filter(|(_, n)| **n > 0)
            .map(|(&c, &n)| c as f64 / n as f64)
            .sum::<f64>()
            / present as f64;
        let total = self.images.len().max(1) as f64;
        let accuracy = correct.iter().sum::<usize>() as f64 / total;
        let majority = self.counts.iter().copied().max().unwrap_or(0) as f64 / total;
        let floor = balanced >= 1.0 / present as f64 + ABOVE_CHANCE || accuracy >= majority;
        Eval {
            balanced,
            accuracy,
            floor,
        }
    }
}

/// The index of the largest value under `>` (the first on ties; a NaN never compares greater).
fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// The gate's public parameters, as the attacker uses them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    /// Allowed shortfall below the round's median score.
    pub(crate) margin: f64,
    /// Norm-bound factor (0: no bound).
    pub(crate) norm_factor: f64,
    /// Safety factor on the norm bound (≤ 1).
    pub(crate) slack: f64,
    /// Extra score the attacker keeps above the estimated bar.
    pub(crate) score_slack: f64,
}

/// The attacker's estimate of one round of the gate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gate {
    /// Estimated distances `‖m_j − g‖` of the benign submissions.
    pub(crate) dist: Vec<f64>,
    /// Estimated scores of the benign submissions; `None` when the attacker holds no images
    /// (the score check is then skipped).
    pub(crate) scores: Option<Vec<f64>>,
    /// Colluders, each assumed to submit a model of the candidate's distance and score.
    pub(crate) colluders: usize,
    /// The public parameters.
    pub(crate) rule: Rule,
}

impl Gate {
    /// Number of submissions the gate sees.
    fn n(&self) -> usize {
        self.dist.len() + self.colluders
    }

    /// The upper median (the `⌈n/2⌉`-th largest) of the benign distances and `colluders` copies
    /// of `d`.
    pub(crate) fn upper_median(&self, d: f64) -> f64 {
        let mut all = self.dist.clone();
        all.extend(std::iter::repeat_n(d, self.colluders));
        all.sort_by(|a, b| b.total_cmp(a));
        all[self.n().div_ceil(2) - 1]
    }

    /// The estimated norm bound for a candidate at distance `d`: `d ≤ slack · factor · upper
    /// median`; every model passes with fewer than three submissions or the bound off.
    pub(crate) fn norm_ok(&self, d: f64) -> bool {
        if self.rule.norm_factor == 0.0 || self.n() < 3 {
            return true;
        }
        d <= self.rule.slack * self.rule.norm_factor * self.upper_median(d)
    }

    /// The estimated bar for a candidate scoring `s`: the median of the benign scores and
    /// `colluders` copies of `s`, less the margin (`None` without score estimates).
    pub(crate) fn score_bar(&self, s: f64) -> Option<f64> {
        let scores = self.scores.as_ref()?;
        let mut all = scores.clone();
        all.extend(std::iter::repeat_n(s, self.colluders));
        Some(median(all) - self.rule.margin)
    }

    /// The estimated score rule with the floor, plus the attacker's `score-slack`.
    pub(crate) fn score_ok(&self, e: &Eval) -> bool {
        match self.score_bar(e.balanced) {
            None => true,
            Some(bar) => e.floor && e.balanced >= bar + self.rule.score_slack,
        }
    }
}

/// The median (the mean of the two middle values for an even count; 0 when empty), as
/// `smpc-verify` computes it.
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// `count` values spread over the empirical distribution of `sample`: value `j` is the sorted
/// sample's `⌊(j + ½) · s / count⌋`-th (copies when the sample has one value, the sample itself
/// when it has `count`).
pub(crate) fn spread(sample: &[f64], count: usize) -> Vec<f64> {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let s = sorted.len();
    if s == 0 {
        return Vec::new();
    }
    (0..count)
        .map(|j| sorted[(((2 * j + 1) * s) / (2 * count)).min(s - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(dist: Vec<f64>, scores: Option<Vec<f64>>, colluders: usize) -> Gate {
        Gate {
            dist,
            scores,
            colluders,
            rule: Rule {
                margin: 0.05,
                norm_factor: 2.0,
                slack: 1.0,
                score_slack: 0.0,
            },
        }
    }

    #[test]
    fn upper_median_counts_the_colluders() {
        // n = 5, ⌈5/2⌉ = 3rd largest.
        let g = gate(vec![1.0, 2.0, 3.0, 4.0], None, 1);
        assert_eq!(g.upper_median(10.0), 3.0);
        assert_eq!(g.upper_median(0.0), 2.0);
        assert!(g.norm_ok(6.0) && !g.norm_ok(6.01));
        // Three colluders of six: their own distance is the 3rd largest once it is large.
        let g = gate(vec![1.0, 1.0, 1.0], None, 3);
        assert_eq!(g.upper_median(50.0), 50.0);
        assert!(g.norm_ok(1e6));
        // Fewer than three submissions: no bound.
        assert!(gate(vec![1.0], None, 1).norm_ok(1e9));
        let mut off = gate(vec![1.0; 5], None, 1);
        off.rule.norm_factor = 0.0;
        assert!(off.norm_ok(1e9));
    }

    #[test]
    fn score_bar_is_the_median_with_the_candidate_less_the_margin() {
        let g = gate(vec![1.0; 3], Some(vec![0.8, 0.9, 0.7]), 1);
        // {0.8, 0.9, 0.7, 0.6}: median (0.7 + 0.8) / 2.
        assert!((g.score_bar(0.6).unwrap() - 0.70).abs() < 1e-12);
        let e = |balanced, floor| Eval {
            balanced,
            accuracy: balanced,
            floor,
        };
        assert!(g.score_ok(&e(0.7, true)));
        assert!(!g.score_ok(&e(0.6, true)));
        assert!(!g.score_ok(&e(0.9, false)));
        assert!(gate(vec![], None, 1).score_ok(&e(0.0, false)));
        assert_eq!(median(vec![]), 0.0);
    }

    #[test]
    fn spread_resamples_the_empirical_distribution() {
        assert_eq!(spread(&[2.0], 3), [2.0; 3]);
        assert_eq!(spread(&[3.0, 1.0, 2.0], 3), [1.0, 2.0, 3.0]);
        assert_eq!(spread(&[1.0, 5.0], 4), [1.0, 1.0, 5.0, 5.0]);
        assert!(spread(&[], 2).is_empty());
        assert!(spread(&[1.0], 0).is_empty());
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.0, 2.0, 2.0]), 1);
        assert_eq!(argmax(&[f64::NAN, 1.0]), 0);
        assert_eq!(argmax(&[-1.0, 1.0]), 1);
    }
}
