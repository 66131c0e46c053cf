//! Input validation in shares: whether every coordinate of a shared model lies in the public
//! range `[−B, B)` of ring elements, as one shared bit per model: opened ([`in_range`]), or kept
//! in shares ([`clamp`]), where the model is multiplied by its bit so that a model out of range
//! becomes the zero model and its bit is ANDed into its verdict.
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
//! ANDs). Cost: two 64-bit comparisons per coordinate; kept, one more bit-times-ring product per
//! coordinate ([`Mpc::select`]) makes every model in range whatever its bit.

use crate::mpc::Mpc;

/// For each of `models`, whether every element lies in `[−bound, bound)` (ring units), opened.
pub fn in_range<P: Mpc>(p: &mut P, models: &[&P::A], bound: u64) -> Vec<bool> {
    if models.is_empty() {
        return Vec::new();
    }
    let bits = in_range_bits(p, models, bound);
    p.reveal_bits(&bits)
}

/// The bits of [`in_range`], kept, and each model multiplied by its bit: a model in range is
/// unchanged, a model out of range becomes all zeros. Every returned model is in range.
pub fn clamp<P: Mpc>(p: &mut P, models: &[&P::A], bound: u64) -> (P::B, Vec<P::A>) {
    let bits = in_range_bits(p, models, bound);
    let len = P::len(models[0]);
    let spread: Vec<usize> = (0..models.len()).flat_map(|i| vec![i; len]).collect();
    let all = p.concat(models);
    let kept = p.select(&p.gather_bits(&bits, &spread), &all);
    let out = (0..models.len())
        .map(|i| p.gather(&kept, &(i * len..(i + 1) * len).collect::<Vec<_>>()))
        .collect();
    (bits, out)
}

/// One shared bit per model (non-empty `models`): every element within `[−bound, bound)`.
fn in_range_bits<P: Mpc>(p: &mut P, models: &[&P::A], bound: u64) -> P::B {
    let n = models.len();
    let len = P::len(models[0]);
    let lo = p.public(&vec![bound; len]);
    let hi = p.public(&vec![bound.wrapping_sub(1); len]);
    let sides: Vec<P::A> = models
        .iter()
        .flat_map(|m| [p.add(m, &lo), p.sub(&hi, m)])
        .collect();
    let bits = p.drelu_full(&p.concat(&sides.iter().collect::<Vec<_>>()));
    and_each(p, bits, n, 2 * len)
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
