//! Fixed-point numbers over the ring Z_2^64.
//!
//! A real `x` is the ring element `round(x * 2^f)` read as a two's-complement `i64`; sums wrap.
//! A product of two encodings sits at scale `2f` and is brought back to `f` by a truncation,
//! which each protocol implements in its own way.

/// The encoding of NaN: the most negative ring element.
pub const NOT_A_NUMBER: u64 = i64::MIN as u64;

/// Fixed-point encoding with `frac_bits` fractional bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixed {
    /// Fractional bits `f`.
    pub frac_bits: u32,
}

impl Fixed {
    /// The encoding with `f` fractional bits.
    pub fn new(frac_bits: u32) -> Self {
        Self { frac_bits }
    }

    /// `2^f` as a float.
    pub fn scale(self) -> f64 {
        (1u64 << self.frac_bits) as f64
    }

    /// Nearest encoding of `x`, saturating far outside the range; NaN becomes `i64::MIN`
    /// ([`NOT_A_NUMBER`]), like ±∞ outside every range that [`crate::range`] accepts, so a
    /// non-finite model is refused by the range check before any other use.
    pub fn encode(self, x: f64) -> u64 {
        if x.is_nan() {
            return NOT_A_NUMBER;
        }
        ((x * self.scale()).round() as i64) as u64
    }

    /// The real number an encoding stands for.
    pub fn decode(self, v: u64) -> f64 {
        (v as i64) as f64 / self.scale()
    }

    /// Bits `l` of the comparison: DReLU reads bit `l - 1` of `x + 2^(l-1)`, which is exact for
    /// `|x| < 2^(l-1)`. With `l = 64 - f` that is every value whose product with an encoding
    /// fits the ring (`|x| < 2^(63 - 2f)` in real terms, the linear layers' own limit), so the
    /// shorter carry chain loses nothing the ring could represent.
    pub fn compare_bits(self) -> usize {
        64 - self.frac_bits as usize
    }

    /// Encodes a slice.
    pub fn encode_all(self, xs: &[f32]) -> Vec<u64> {
        xs.iter().map(|&x| self.encode(f64::from(x))).collect()
    }
}

/// Arithmetic shift of the signed reading: `floor(s(v) / 2^m)` as a ring element.
pub fn shr_signed(v: u64, m: u32) -> u64 {
    ((v as i64) >> m) as u64
}

/// How many elements of the shared vector with components `parts` lie outside the exact range
/// of an `l`-bit comparison, `|x| >= 2^(l-1)` (a simulator-side check: no party can compute it).
pub fn out_of_range(parts: &[&[u64]], l: usize) -> u64 {
    let limit = 1u64 << (l - 1);
    (0..parts[0].len())
        .filter(|&i| {
            let x = parts.iter().fold(0u64, |acc, p| acc.wrapping_add(p[i]));
            (x as i64).unsigned_abs() >= limit
        })
        .count() as u64
}

/// `a + b` elementwise, wrapping.
pub fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_add(*y)).collect()
}

/// `a - b` elementwise, wrapping.
pub fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x.wrapping_sub(*y)).collect()
}

/// `a += b` elementwise, wrapping.
pub fn add_assign(a: &mut [u64], b: &[u64]) {
    a.iter_mut()
        .zip(b)
        .for_each(|(x, y)| *x = x.wrapping_add(*y));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip_within_half_an_ulp() {
        let fx = Fixed::new(16);
        for x in [0.0, 1.5, -2.25, 1e-5, -123.456, 3.0e4] {
            assert!(
                (fx.decode(fx.encode(x)) - x).abs() <= 0.5 / fx.scale(),
                "{x}"
            );
        }
        assert_eq!(fx.encode(-1.0), u64::MAX - 65535);
        assert_eq!(fx.encode(f64::NAN), NOT_A_NUMBER);
        assert_eq!(fx.encode(f64::INFINITY), i64::MAX as u64);
        assert_eq!(fx.encode(f64::NEG_INFINITY), NOT_A_NUMBER);
    }

    #[test]
    fn signed_shift_floors() {
        assert_eq!(shr_signed(Fixed::new(0).encode(-3.0), 1) as i64, -2);
        assert_eq!(shr_signed(7, 1), 3);
    }
}
