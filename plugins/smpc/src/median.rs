//! The relative-median rule of `smpc-verify` in shares: for each model, whether its score is at
//! least the round's median score minus a margin (and its floor held), opening one bit per
//! model and nothing else: neither a score nor the median.
//!
//! Protocol, for `n` shared scores `s_i` (integers at a public scale `D`) and margin `m` (at the
//! same scale, doubled):
//! 1. ranks: for every pair `j < i`, the bit `s_j ≤ s_i` by one vector comparison; ties are
//!    broken by index, so the ranks `r_i = #{j before i}` are a permutation of `0..n`;
//! 2. the median: the bits `r_i ∈ [k_lo, k_hi]` (the middle rank, or the two middle ranks for
//!    even `n`) select their scores, which are summed: `M = s_(k)` (odd) or `s_(k) + s_(k+1)`;
//! 3. the rule `2·s_i + 2m ≥ 2·M` (odd) or `≥ M` (even), the exact mean of the two middles, by one
//!    more comparison, ANDed with the floor bits, and opened.
//!
//! Cost: `n(n−1)/2 + 3n` comparisons, `n` selections and two bit-to-arithmetic conversions.
//! Range: every compared value lies in `[−2D, 4D]`, which the balanced-accuracy weights keep
//! inside the comparison's exact range (`plugin::balanced_bits`).

use crate::mpc::Mpc;

/// For each score, whether `2·score + margin2 ≥ 2·median` and its floor bit (if any) is set;
/// `margin2` is twice the margin at the scores' scale.
pub fn median_rule<P: Mpc>(
    p: &mut P,
    scores: &[&P::A],
    floors: Option<&P::B>,
    margin2: u64,
) -> Vec<bool> {
    let n = scores.len();
    if n == 0 {
        return Vec::new();
    }
    let s = p.concat(scores);
    let median2 = twice_median(p, &s, n);
    let all: Vec<usize> = vec![0; n];
    let bar = p.gather(&median2, &all);
    let lifted = p.add(&p.mul_public(&s, &[2]), &p.public(&vec![margin2; n]));
    let mut pass = p.drelu(&p.sub(&lifted, &bar));
    if let Some(f) = floors {
        pass = p.and(&pass, f);
    }
    p.reveal_bits(&pass)
}

/// Twice the median of the `n` shared values `s` (one element): `2·s_(k)` for odd `n`, the sum
/// of the two middle values for even `n`.
fn twice_median<P: Mpc>(p: &mut P, s: &P::A, n: usize) -> P::A {
    if n == 1 {
        return p.mul_public(s, &[2]);
    }
    let ranks = ranks(p, s, n, false);
    let (lo, hi) = if n % 2 == 1 {
        ((n - 1) / 2, (n - 1) / 2)
    } else {
        (n / 2 - 1, n / 2)
    };
    let above_lo = p.sub(&ranks, &p.public(&vec![lo as u64; n]));
    let below_hi = p.sub(&p.public(&vec![hi as u64; n]), &ranks);
    let bits = p.drelu(&p.concat(&[&above_lo, &below_hi]));
    let first: Vec<usize> = (0..n).collect();
    let second: Vec<usize> = (n..2 * n).collect();
    let (a, b) = (p.gather_bits(&bits, &first), p.gather_bits(&bits, &second));
    let middle = p.and(&a, &b);
    let chosen = p.select(&middle, s);
    let sum = p.sum(&chosen);
    if n % 2 == 1 {
        p.mul_public(&sum, &[2])
    } else {
        sum
    }
}

/// The rank of each of the `n` values (ties broken by index) as ring integers; `full` compares
/// over the whole ring ([`Mpc::drelu_full`], for values whose differences only fit 64 bits),
/// else within the protocol's comparison range.
pub(crate) fn ranks<P: Mpc>(p: &mut P, s: &P::A, n: usize, full: bool) -> P::A {
    // e[(i, j)] = 1{s_j ≤ s_i} for j < i, in the order of `pairs`.
    let pairs: Vec<(usize, usize)> = (0..n).flat_map(|i| (0..i).map(move |j| (i, j))).collect();
    let (is, js): (Vec<usize>, Vec<usize>) = pairs.iter().copied().unzip();
    let diff = p.sub(&p.gather(s, &is), &p.gather(s, &js));
    let e = if full {
        p.drelu_full(&diff)
    } else {
        p.drelu(&diff)
    };
    let e = p.b2a(&e);
    // The pair (i, j), j < i, sits at i(i − 1)/2 + j.
    let index = |i: usize, j: usize| i * (i - 1) / 2 + j;
    let rows: Vec<P::A> = (0..n)
        .map(|i| {
            // j before i: e(i, j) for j < i, and 1 − e(j, i) for j > i.
            let below: Vec<usize> = (0..i).map(|j| index(i, j)).collect();
            let above: Vec<usize> = (i + 1..n).map(|j| index(j, i)).collect();
            let plus = p.sum(&p.gather(&e, &below));
            let minus = p.sum(&p.gather(&e, &above));
            let ones = p.public(&[above.len() as u64]);
            p.add(&p.sub(&plus, &minus), &ones)
        })
        .collect();
    p.concat(&rows.iter().collect::<Vec<_>>())
}
