//! Class-conditional scoring in shares: a model is judged on the classes its hospital holds,
//! against the global model judged on the same classes, so that a hospital whose data is skewed
//! is compared like with like rather than with a model of the whole population.
//!
//! Inputs, all secret-shared: each model's per-class counts of correct predictions on the
//! validators' split (`c_ic`, kept by a [`crate::plugin`] evaluation), the global model's
//! (`c_gc`), and each hospital's reported training class histogram as fractions at
//! [`HIST_BITS`] fractional bits (`h_ic`, summing to about `2^HIST_BITS`; the hospital inputs
//! it, so the validators never see its case mix). With the public recall weights
//! `w_c = ⌊2^K / n_c⌋` (`n_c` the validation split's class counts):
//!
//! `s_i = Σ_c h_ic·w_c·c_ic` and `t_i = Σ_c h_ic·w_c·c_gc`, both exact (one Beaver dot product
//! each, no truncation), and the bit `s_i − t_i + margin·2^(K + HIST_BITS) ≥ 0` by one
//! full-width comparison ([`Mpc::drelu_full`]): the model's recall averaged over its own classes
//! is at least the global model's there, minus `margin`. The values stay below
//! `2^(K + HIST_BITS + 2)`, far inside the comparison's exact range for `K ≤ 40`.
//!
//! The histogram is self-reported: a malicious hospital may claim the classes its model does
//! best on. Such a claim can make a poisoned model look like an honest model of a hospital that
//! holds only those classes, and no more: the rule bounds an attacker to what an honest, skewed
//! hospital may submit (the norm bound still applies).

use crate::linalg::Bilinear;
use crate::mpc::Mpc;

/// Fractional bits of the reported histogram fractions.
pub const HIST_BITS: u32 = 16;

/// The histogram `counts` as fractions at [`HIST_BITS`] bits (all zeros for an empty one).
pub fn fractions(counts: &[u64]) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    counts
        .iter()
        .map(|&n| {
            if total == 0 {
                0
            } else {
                ((n as f64 / total as f64) * f64::from(1u32 << HIST_BITS)).round() as u64
            }
        })
        .collect()
}

/// For each model `i`, the shared bit `Σ_c h_ic·w_c·(c_ic − c_gc) + margin ≥ 0`, where
/// `correct[i]` and `global` are per-class counts, `hists[i]` the shared fractions, `weights` the
/// public `w_c`, and `margin` the public margin in the same units (`margin·2^(K+HIST_BITS)`).
pub fn at_least_global<P: Mpc>(
    p: &mut P,
    correct: &[&P::A],
    global: &P::A,
    hists: &[P::A],
    weights: &[u64],
    margin: u64,
) -> P::B {
    let classes = weights.len();
    let dot = Bilinear::MatMul {
        m: 1,
        k: classes,
        n: 1,
    };
    let gains: Vec<P::A> = correct
        .iter()
        .map(|c| p.mul_public(&p.sub(c, global), weights))
        .collect();
    let scores = p.parallel(gains.len(), |p, i| p.product(&dot, &hists[i], &gains[i]));
    let scores = p.concat(&scores.iter().collect::<Vec<_>>());
    let shifted = p.add(&scores, &p.public(&vec![margin; correct.len()]));
    p.drelu_full(&shifted)
}
