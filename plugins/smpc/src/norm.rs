//! A norm bound computed in shares: which models lie within `factor` times the median distance
//! to a reference model (the global model), opening one bit per model and nothing else.
//!
//! Boosted attacks (sign flipping with a boost, scaling and model replacement) submit updates
//! several times longer than honest ones; encrypted inference alone misses them whenever the
//! boosted model still scores like the global model. The bound is relative to the round's own
//! median, so it needs no tuning to the update sizes of a dataset or a round, and it holds as long
//! as fewer than half of the models are malicious.
//!
//! Protocol, for `n` models `m_i` and reference `g`, all shared:
//! 1. `d_i = ‖m_i − g‖²` by one Beaver dot product per model, all in one round trip
//!    ([`Mpc::parallel`]), at the fixed-point scale;
//! 2. for every ordered pair `i ≠ j`, the bit `factor² · d_j ≥ d_i`, by one vector comparison;
//! 3. model `i` passes when at least `⌈n/2⌉ − 1` other models satisfy it, which is
//!    `d_i ≤ factor² · d_(⌈n/2⌉ from the top)`, the upper median (itself counting as one): the
//!    bits become ring integers, are summed locally, and one more comparison gives the pass bit.
//!
//! Ranges: the squared distance at scale `2^2f` must fit the ring (`‖m_i − g‖² < 2^(63 − 2f)`,
//! 2^31 at `f = 16`) and `factor² · d_j` the comparison (`2^(47 − 16 − 6)` = 2^25 for factor 2 at
//! `f = 16`); values outside are counted in [`crate::net::Meter::range_failures`]. A malicious
//! submitter who controls ring elements directly could wrap the square around the ring; a model
//! that large also wraps every linear layer of its encrypted evaluation, and a range proof on the
//! inputs, not done here, would close the gap.

use crate::linalg::Bilinear;
use crate::mpc::Mpc;

/// Fractional bits of the public factor `factor²` in the comparison.
const FACTOR_BITS: u32 = 4;

/// For each of `models`, whether `‖model − reference‖ ≤ factor · (upper median of them all)`.
/// With fewer than three models every model passes (the upper median of two is the larger).
pub fn within_bound<P: Mpc>(
    p: &mut P,
    models: &[&P::A],
    reference: &P::A,
    factor: f64,
) -> Vec<bool> {
    let n = models.len();
    if n < 3 {
        return vec![true; n];
    }
    let d = squared_distances(p, models, reference);
    let (is, js): (Vec<usize>, Vec<usize>) = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .unzip();
    let unit = 1u64 << FACTOR_BITS;
    let f2 = (factor * factor * unit as f64).round() as u64;
    let scaled_j = p.mul_public(&p.gather(&d, &js), &[f2]);
    let scaled_i = p.mul_public(&p.gather(&d, &is), &[unit]);
    let covers = p.drelu(&p.sub(&scaled_j, &scaled_i));
    let ones = p.b2a(&covers);
    let counts: Vec<P::A> = (0..n)
        .map(|i| {
            let row: Vec<usize> = (i * (n - 1)..(i + 1) * (n - 1)).collect();
            p.sum(&p.gather(&ones, &row))
        })
        .collect();
    let counts = p.concat(&counts.iter().collect::<Vec<_>>());
    let need = n.div_ceil(2) as u64 - 1;
    let pass = p.drelu(&p.sub(&counts, &p.public(&vec![need; n])));
    p.reveal_bits(&pass)
}

/// `‖m_i − g‖²` for every model, as one shared vector at the fixed-point scale.
fn squared_distances<P: Mpc>(p: &mut P, models: &[&P::A], reference: &P::A) -> P::A {
    let diffs: Vec<P::A> = models.iter().map(|m| p.sub(m, reference)).collect();
    let dot = Bilinear::MatMul {
        m: 1,
        k: P::len(reference),
        n: 1,
    };
    let zero = p.public(&[0]);
    let squares = p.parallel(diffs.len(), |p, i| {
        p.linear(&dot, &diffs[i], &diffs[i], &zero)
    });
    p.concat(&squares.iter().collect::<Vec<_>>())
}
