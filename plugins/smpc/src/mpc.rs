//! The low-level protocol interface every SMPC protocol implements.
//!
//! Arithmetic shares hold fixed-point ring elements; boolean shares hold packed bits (XOR
//! sharing). Local operations cost nothing; interactive ones go through the protocol's metered
//! network. The generic drivers in [`crate::nn`] build encrypted CNN inference from these.

use crate::linalg::Bilinear;
use crate::net::Meter;
use crate::ring::Fixed;

/// A secure computation protocol at the level of shared vectors.
pub trait Mpc {
    /// An arithmetically shared vector of ring elements.
    type A: Clone;
    /// A boolean-shared vector of bits.
    type B: Clone;

    /// The fixed-point encoding.
    fn fixed(&self) -> Fixed;
    /// The meter of this protocol's network.
    fn meter(&mut self) -> &mut Meter;

    /// Shares ring elements owned by an external party (setup traffic).
    fn input(&mut self, values: &[u64]) -> Self::A;
    /// Shares bits owned by an external party (setup traffic).
    fn input_bits(&mut self, bits: &[bool]) -> Self::B;
    /// A public vector as a (trivial) sharing.
    fn public(&self, values: &[u64]) -> Self::A;
    /// Opens a vector to all parties.
    fn reveal(&mut self, x: &Self::A) -> Vec<u64>;
    /// Opens bits to all parties.
    fn reveal_bits(&mut self, b: &Self::B) -> Vec<bool>;

    /// Number of elements.
    fn len(x: &Self::A) -> usize;
    /// Number of bits.
    fn bits_len(b: &Self::B) -> usize;
    /// `x + y`.
    fn add(&self, x: &Self::A, y: &Self::A) -> Self::A;
    /// `x - y`.
    fn sub(&self, x: &Self::A, y: &Self::A) -> Self::A;
    /// `x * c` for public integers `c` (one per element, or one for all), no truncation.
    fn mul_public(&self, x: &Self::A, c: &[u64]) -> Self::A;
    /// `f` applied to every share component: a local public linear map such as a selection or
    /// a permutation of elements (`f` must be linear over the ring, e.g. only copy elements).
    fn map(&self, x: &Self::A, f: impl Fn(&[u64]) -> Vec<u64>) -> Self::A;
    /// The elements at `indices`, in that order.
    fn gather(&self, x: &Self::A, indices: &[usize]) -> Self::A {
        self.map(x, |s| indices.iter().map(|&i| s[i]).collect())
    }
    /// Concatenation.
    fn concat(&self, parts: &[&Self::A]) -> Self::A;
    /// Bits at `indices`.
    fn gather_bits(&self, b: &Self::B, indices: &[usize]) -> Self::B;
    /// Concatenation of bit vectors.
    fn concat_bits(&self, parts: &[&Self::B]) -> Self::B;
    /// `a XOR b`.
    fn xor(&self, a: &Self::B, b: &Self::B) -> Self::B;
    /// `NOT a`.
    fn not(&self, a: &Self::B) -> Self::B;

    /// `op(x, w) / 2^f + bias`: a fixed-point linear layer (one or two rounds, by protocol).
    fn linear(&mut self, op: &Bilinear, x: &Self::A, w: &Self::A, bias: &Self::A) -> Self::A;
    /// `op(x, w)` exactly, at scale `2^2f` (no truncation, so no probabilistic truncation can
    /// fail on a large result): for products whose size a check has bounded, such as the norm
    /// bound's squared distances of range-checked models.
    fn product(&mut self, op: &Bilinear, x: &Self::A, w: &Self::A) -> Self::A;
    /// `floor(x / 2^m)` (up to the protocol's truncation error).
    fn trunc(&mut self, x: &Self::A, m: u32) -> Self::A;
    /// `1{x >= 0}` for the signed reading of every element.
    fn drelu(&mut self, x: &Self::A) -> Self::B;
    /// `1{x >= 0}` over the whole ring (a 64-bit comparison, the sign bit): exact for every
    /// ring element, for inputs the parties must not trust ([`crate::range`]).
    fn drelu_full(&mut self, x: &Self::A) -> Self::B;
    /// `a AND b`.
    fn and(&mut self, a: &Self::B, b: &Self::B) -> Self::B;
    /// `b * x` elementwise.
    fn select(&mut self, b: &Self::B, x: &Self::A) -> Self::A;
    /// Bits as ring integers 0 or 1 (scale 0).
    fn b2a(&mut self, b: &Self::B) -> Self::A;

    /// Runs `parts` independent computations of identical shape as one (for working in
    /// cache-sized pieces): round `r` of every part would travel in one message, so the meter
    /// counts rounds and messages once and bytes per part (see [`Meter::begin_parallel`]).
    fn parallel<T>(&mut self, parts: usize, mut f: impl FnMut(&mut Self, usize) -> T) -> Vec<T>
    where
        Self: Sized,
    {
        self.meter().begin_parallel();
        let out = (0..parts)
            .map(|i| {
                self.meter().next_part();
                f(self, i)
            })
            .collect();
        self.meter().end_parallel();
        out
    }

    /// The sum of all elements, as a one-element vector (local): halves are added pairwise,
    /// so it takes log2(n) vector additions.
    fn sum(&self, x: &Self::A) -> Self::A {
        let mut acc = x.clone();
        let mut n = Self::len(&acc);
        if n == 0 {
            return self.public(&[0]);
        }
        while n > 1 {
            let half = n / 2;
            let lo = self.gather(&acc, &(0..half).collect::<Vec<_>>());
            let hi = self.gather(&acc, &(half..2 * half).collect::<Vec<_>>());
            let sum = self.add(&lo, &hi);
            acc = if n % 2 == 1 {
                self.concat(&[&sum, &self.gather(&acc, &[n - 1])])
            } else {
                sum
            };
            n = Self::len(&acc);
        }
        acc
    }
}
