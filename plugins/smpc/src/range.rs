//! Input validation in shares: whether every coordinate of a shared model lies in the public
//! range `[−B, B)` of ring elements, opening one bit per model and nothing else.
//!
//! A hospital chooses the ring elements it shares (its fixed-point encoding is its own), so a
//! verifier must not trust them: a coordinate near `2^32` at `f = 16` squares to a multiple of
//! 2^64 and vanishes from the norm bound's distance, and huge weights behind a dead channel are
//! invisible to encrypted inference (the `ring-wrap` attack does both). The check runs before a
//! model is used by any other check.
//!
//! Protocol, for `n` models of `L` coordinates: the `2·n·L` values `x + B` and `B − 1 − x` are
//! compared with zero by one full-width comparison ([`Mpc::drelu_full`]: the sign bit, exact for
//! every ring element, so no wrap-around can pass it); a coordinate is in range exactly when
//! both are non-negative. Each model's bits are ANDed in a tree (`⌈log2 2L⌉` rounds of bit
//! ANDs), and the one bit per model is opened. Cost: two 64-bit comparisons per coordinate.

use crate::mpc::Mpc;

/// For each of `models`, whether every element lies in `[−bound, bound)` (ring units).
pub fn in_range<P: Mpc>(p: &mut P, models: &[&P::A], bound: u64) -> Vec<bool> {
    let n = models.len();
    if n == 0 {
        return Vec::new();
    }
    let len = P::len(models[0]);
    let lo = p.public(&vec![bound; len]);
    let hi = p.public(&vec![bound.wrapping_sub(1); len]);
    let sides: Vec<P::A> = models
        .iter()
        .flat_map(|m| [p.add(m, &lo), p.sub(&hi, m)])
        .collect();
    let bits = p.drelu_full(&p.concat(&sides.iter().collect::<Vec<_>>()));
    let all = and_each(p, bits, n, 2 * len);
    p.reveal_bits(&all)
}

/// The AND of each of the `n` consecutive runs of `width` bits, as `n` bits.
fn and_each<P: Mpc>(p: &mut P, mut bits: P::B, n: usize, mut width: usize) -> P::B {
    while width > 1 {
        let half = width / 2;
        let pick = |from: usize| -> Vec<usize> {
            (0..n)
                .flat_map(|i| (0..half).map(move |j| i * width + from + j))
                .collect()
        };
        let (a, b) = (
            p.gather_bits(&bits, &pick(0)),
            p.gather_bits(&bits, &pick(half)),
        );
        let anded = p.and(&a, &b);
        bits = if width % 2 == 1 {
            // Carry each run's odd last bit: model i becomes its `half` ANDs then that bit.
            let last: Vec<usize> = (0..n).map(|i| i * width + width - 1).collect();
            let tail = p.gather_bits(&bits, &last);
            let joined = p.concat_bits(&[&anded, &tail]);
            let order: Vec<usize> = (0..n)
                .flat_map(|i| (0..half).map(move |j| i * half + j).chain([n * half + i]))
                .collect();
            p.gather_bits(&joined, &order)
        } else {
            anded
        };
        width = width.div_ceil(2);
    }
    bits
}

/// The widest range `[−2^b, 2^b)` (ring units) whose models keep the norm bound exact for
/// `params` coordinates and the public factor `f2` (an integer at 4 fractional bits, at least
/// 16): the untruncated sum of squared differences, below `params · 2^(2b + 2)`, times `f2`
/// must stay below 2^62, so the difference `f2 · d_j − 16 · d_i` that the full-width comparison
/// reads stays below 2^63 in magnitude and cannot wrap.
pub fn norm_safe_bits(params: usize, f2: u64) -> u32 {
    let log = |x: u64| 64 - x.saturating_sub(1).leading_zeros();
    let used = log(params as u64) + log(f2.max(1)) + 2;
    62u32.saturating_sub(used) / 2
}
