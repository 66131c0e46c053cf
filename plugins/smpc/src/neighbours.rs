//! A neighbour-distance bound computed in shares (Krum's score, Blanchard et al., NeurIPS 2017):
//! each model's summed squared distance to its `k` nearest other models, bounded by `factor²`
//! times the round's upper-median score, as one shared bit per model.
//!
//! Why: the adaptive study (`paper/README.md`) found that an omniscient attacker who knows the
//! norm bound keeps its updates at an honest length and still drags the global model back on
//! BloodMNIST, whatever the bound's factor; Multi-Krum, whose score is this one, recovered it.
//! Updates that point away from the honest cluster are far from their nearest neighbours even at
//! an honest length.
//!
//! Protocol, for `n` range-checked shared models and a public `k < n`:
//! 1. `d_ij = ‖m_i − m_j‖²` for every pair by one Beaver dot product each, in one round trip,
//!    exactly (no truncation);
//! 2. for each row `i` and each `j ≠ i`, the count of `l ∉ {i, j}` with `d_il < d_ij`, from one
//!    full-width comparison per ordered triple; `d_ij` is among the `k` nearest when the count is
//!    below `k` (ties may select more than `k`);
//! 3. `s_i = Σ_j [selected] · d_ij` by one bit-times-ring product per entry ([`Mpc::select`]);
//! 4. either the upper-median bound of [`crate::norm::within_upper_median`] on the scores
//!    ([`within_bound`]), or Multi-Krum's selection ([`lowest`]): the rank of each score among
//!    all `n`, from one full-width comparison per pair (ties broken by index), and the bit that
//!    the rank is below `n − drop`, so that exactly the `drop` highest scores fail.
//!
//! Only the bits leave the protocol (the caller ANDs them into each model's verdict): neither a
//! score nor a rank is opened.
//!
//! Ranges: with every weight within `±2^b` ring units, a distance is below `L · 2^(2b + 2)`
//! for `L` weights, a score below `k` times that, and `factor_int(factor)` times a score must stay
//! below 2^62 for the comparisons to be exact: [`safe`] says whether a setting holds.

use crate::linalg::Bilinear;
use crate::mpc::Mpc;
use crate::norm;

/// Whether models of `params` weights within `±2^bits` ring units keep every comparison exact
/// for `k` neighbours and `factor`.
pub fn safe(params: usize, bits: u32, k: usize, factor: f64) -> bool {
    let score = (params as f64) * 2f64.powi(2 * bits as i32 + 2) * k as f64;
    score * (norm::factor_int(factor) as f64) < 2f64.powi(62)
}

/// For each of `models`, the shared bit `s_i ≤ factor² · (upper median of the s)`, where `s_i`
/// sums the `k` smallest squared distances from model `i` to the others; `None` when there are
/// fewer than four models or `k` is 0 (every model passes).
pub fn within_bound<P: Mpc>(p: &mut P, models: &[&P::A], k: usize, factor: f64) -> Option<P::B> {
    let n = models.len();
    if n < 4 || k == 0 {
        return None;
    }
    let scores = scores(p, models, k);
    Some(norm::within_upper_median(p, &scores, n, factor))
}

/// Multi-Krum's selection in shares: for each of `models`, the shared bit that its score (as in
/// [`within_bound`]) is not among the `drop` highest, ties broken by index so that exactly
/// `min(drop, n)` bits are clear; `None` when there are fewer than four models, `k` is 0 or
/// `drop` is 0 (every model passes). Exact under the same range as [`within_bound`] at factor 1.
pub fn lowest<P: Mpc>(p: &mut P, models: &[&P::A], k: usize, drop: usize) -> Option<P::B> {
    let n = models.len();
    if n < 4 || k == 0 || drop == 0 {
        return None;
    }
    let scores = scores(p, models, k);
    let ranks = crate::median::ranks(p, &scores, n, true);
    let keep = n.saturating_sub(drop) as u64;
    // [keep − 1 − r_i ≥ 0] ⇔ r_i < keep; with keep = 0 every bit is clear.
    let bar = p.public(&vec![keep.wrapping_sub(1); n]);
    Some(p.drelu(&p.sub(&bar, &ranks)))
}

/// Krum's score of each of the `n ≥ 2` models, as one shared vector: the summed squared distance
/// to its `k` nearest others (steps 1–3 of the module docs).
fn scores<P: Mpc>(p: &mut P, models: &[&P::A], k: usize) -> P::A {
    let n = models.len();
    let k = k.min(n - 1);
    let d = row_distances(p, models);
    let (mut near, mut far) = (Vec::new(), Vec::new());
    for i in 0..n {
        for j in 0..n - 1 {
            for l in (0..n - 1).filter(|&l| l != j) {
                near.push(i * (n - 1) + l);
                far.push(i * (n - 1) + j);
            }
        }
    }
    // [d_il ≥ d_ij], so NOT of it is [d_il < d_ij].
    let not_less = p.drelu_full(&p.sub(&p.gather(&d, &near), &p.gather(&d, &far)));
    let less = p.b2a(&p.not(&not_less));
    let counts: Vec<P::A> = (0..n * (n - 1))
        .map(|e| p.sum(&p.gather(&less, &(e * (n - 2)..(e + 1) * (n - 2)).collect::<Vec<_>>())))
        .collect();
    let counts = p.concat(&counts.iter().collect::<Vec<_>>());
    let below = p.sub(&p.public(&vec![k as u64 - 1; n * (n - 1)]), &counts);
    let selected = p.drelu(&below);
    let picked = p.select(&selected, &d);
    let scores: Vec<P::A> = (0..n)
        .map(|i| {
            p.sum(&p.gather(
                &picked,
                &(i * (n - 1)..(i + 1) * (n - 1)).collect::<Vec<_>>(),
            ))
        })
        .collect();
    p.concat(&scores.iter().collect::<Vec<_>>())
}

/// The `n × (n − 1)` matrix of squared distances, row `i` holding `d_ij` for `j ≠ i` in order.
fn row_distances<P: Mpc>(p: &mut P, models: &[&P::A]) -> P::A {
    let n = models.len();
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    let diffs: Vec<P::A> = pairs
        .iter()
        .map(|&(i, j)| p.sub(models[i], models[j]))
        .collect();
    let dot = Bilinear::MatMul {
        m: 1,
        k: P::len(models[0]),
        n: 1,
    };
    let squares = p.parallel(diffs.len(), |p, t| p.product(&dot, &diffs[t], &diffs[t]));
    let pair_d = p.concat(&squares.iter().collect::<Vec<_>>());
    let index = |a: usize, b: usize| {
        let (i, j) = (a.min(b), a.max(b));
        pairs.iter().position(|&q| q == (i, j)).unwrap_or(0)
    };
    let rows: Vec<usize> = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .map(|(i, j)| index(i, j))
        .collect();
    p.gather(&pair_d, &rows)
}
