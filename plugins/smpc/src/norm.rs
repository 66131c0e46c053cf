//! A norm bound computed in shares: which models lie within `factor` times the median distance
//! to a reference model (the global model), as one shared bit per model: opened alone, or kept
//! in shares and ANDed into the model's verdict so that only the verdict is opened.
//!
//! Boosted attacks (sign flipping with a boost, scaling and model replacement) submit updates
//! several times longer than honest ones; encrypted inference alone misses them whenever the
//! boosted model still scores like the global model. The bound is relative to the round's own
//! median, so it needs no tuning to the update sizes of a dataset or a round, and it holds as long
//! as fewer than half of the models are malicious.
//!
//! Protocol, for `n` models `m_i` and reference `g`, all shared and range-checked
//! ([`crate::range`]):
//! 1. `d_i = ‖m_i − g‖²` by one Beaver dot product per model, all in one round trip
//!    ([`Mpc::parallel`]), exactly, at scale `2^2f` ([`Mpc::product`]: no truncation, so no
//!    probabilistic truncation can fail on a large distance);
//! 2. for every ordered pair `i ≠ j`, the bit `factor² · d_j ≥ d_i`, by one full-width vector
//!    comparison ([`Mpc::drelu_full`]);
//! 3. model `i` passes when at least `⌈n/2⌉ − 1` other models satisfy it, which is
//!    `d_i ≤ factor² · d_(⌈n/2⌉ from the top)`, the upper median (itself counting as one): the
//!    bits become ring integers, are summed locally, and one more comparison gives the pass bit.
//!
//! Ranges: a submitter chooses the ring elements it shares, so an unchecked model could wrap its
//! squared distance around the ring (the `ring-wrap` attack). The plugin therefore accepts only
//! models that passed a range check within `±2^b`, `b = range::norm_safe_bits`: then every
//! `factor² · d_j` and `d_i` is below 2^62 and their difference cannot wrap the comparison.

use crate::linalg::Bilinear;
use crate::mpc::Mpc;

/// Fractional bits of the public factor `factor²` in the comparison.
const FACTOR_BITS: u32 = 4;

/// For each of `models`, the bit `‖model − reference‖ ≤ factor · (upper median of them all)`,
/// secret-shared; `None` when there are fewer than three models, where every model passes (the
/// upper median of two is the larger) and nothing is computed.
pub fn within_bound<P: Mpc>(
    p: &mut P,
    models: &[&P::A],
    reference: &P::A,
    factor: f64,
) -> Option<P::B> {
    let n = models.len();
    if n < 3 {
        return None;
    }
    let d = squared_distances(p, models, reference);
    Some(within_upper_median(p, &d, n, factor))
}

/// For each of the `n` shared values `d_i ≥ 0` (each below `2^62 / factor_int(factor)`), the bit
/// `d_i ≤ factor² · d_(⌈n/2⌉ from the top)`: every ordered pair compared by one full-width
/// comparison, the covering bits counted in shares, one more comparison per value.
pub fn within_upper_median<P: Mpc>(p: &mut P, d: &P::A, n: usize, factor: f64) -> P::B {
    let (is, js): (Vec<usize>, Vec<usize>) = (0..n)
        .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
        .unzip();
    let unit = 1u64 << FACTOR_BITS;
    let f2 = factor_int(factor);
    let scaled_j = p.mul_public(&p.gather(d, &js), &[f2]);
    let scaled_i = p.mul_public(&p.gather(d, &is), &[unit]);
    let covers = p.drelu_full(&p.sub(&scaled_j, &scaled_i));
    let ones = p.b2a(&covers);
    let counts: Vec<P::A> = (0..n)
        .map(|i| {
            let row: Vec<usize> = (i * (n - 1)..(i + 1) * (n - 1)).collect();
            p.sum(&p.gather(&ones, &row))
        })
        .collect();
    let counts = p.concat(&counts.iter().collect::<Vec<_>>());
    let need = n.div_ceil(2) as u64 - 1;
    p.drelu(&p.sub(&counts, &p.public(&vec![need; n])))
}

/// The public factor `factor²` as an integer at [`FACTOR_BITS`] fractional bits.
pub fn factor_int(factor: f64) -> u64 {
    (factor * factor * f64::from(1u32 << FACTOR_BITS)).round() as u64
}

/// `‖m_i − g‖²` for every model, as one shared vector at scale `2^2f` (exact).
pub fn squared_distances<P: Mpc>(p: &mut P, models: &[&P::A], reference: &P::A) -> P::A {
    let diffs: Vec<P::A> = models.iter().map(|m| p.sub(m, reference)).collect();
    let dot = Bilinear::MatMul {
        m: 1,
        k: P::len(reference),
        n: 1,
    };
    let squares = p.parallel(diffs.len(), |p, i| p.product(&dot, &diffs[i], &diffs[i]));
    p.concat(&squares.iter().collect::<Vec<_>>())
}
