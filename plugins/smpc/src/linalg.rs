//! Wrapping linear algebra over Z_2^64: matrix products and channel-last convolutions.
//!
//! Both are bilinear maps `op(x, w)`, which is all Beaver multiplication needs: a triple
//! `c = op(a, b)` masks `x` and `w`, and each party evaluates `op` on public and shared parts.

/// A bilinear map of a shared activation `x` and shared weights `w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bilinear {
    /// `x (m×k) · w (k×n)`, row-major.
    MatMul {
        /// Rows of `x`.
        m: usize,
        /// Columns of `x`, rows of `w`.
        k: usize,
        /// Columns of `w`.
        n: usize,
    },
    /// Valid, stride-1 convolution of an NHWC activation `x (b, h, w, c)` with a channel-last
    /// weight matrix `w (k·k·c, o)` (see `securefl_api::layout`), giving NHWC `(b, h', w', o)`.
    Conv {
        /// Images.
        b: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
        /// Input channels.
        c: usize,
        /// Kernel side.
        k: usize,
        /// Output channels.
        o: usize,
    },
}

impl Bilinear {
    /// Elements of `x`.
    pub fn x_len(&self) -> usize {
        match *self {
            Self::MatMul { m, k, .. } => m * k,
            Self::Conv { b, h, w, c, .. } => b * h * w * c,
        }
    }

    /// Elements of `w`.
    pub fn w_len(&self) -> usize {
        match *self {
            Self::MatMul { k, n, .. } => k * n,
            Self::Conv { c, k, o, .. } => k * k * c * o,
        }
    }

    /// Elements of the output.
    pub fn out_len(&self) -> usize {
        match *self {
            Self::MatMul { m, n, .. } => m * n,
            Self::Conv { b, h, w, k, o, .. } => b * (h + 1 - k) * (w + 1 - k) * o,
        }
    }

    /// Columns of the output (`n`, or `o`): the length of a bias.
    pub fn out_cols(&self) -> usize {
        match *self {
            Self::MatMul { n, .. } => n,
            Self::Conv { o, .. } => o,
        }
    }

    /// Rows of `x` and of the output (matrix rows, or images): `op` acts on each row alone.
    pub fn rows(&self) -> usize {
        match *self {
            Self::MatMul { m, .. } => m,
            Self::Conv { b, .. } => b,
        }
    }

    /// The same map on `rows` rows.
    pub fn with_rows(&self, rows: usize) -> Self {
        match *self {
            Self::MatMul { k, n, .. } => Self::MatMul { m: rows, k, n },
            Self::Conv { h, w, c, k, o, .. } => Self::Conv {
                b: rows,
                h,
                w,
                c,
                k,
                o,
            },
        }
    }

    /// `op(x, w)`, wrapping.
    pub fn apply(&self, x: &[u64], w: &[u64]) -> Vec<u64> {
        match *self {
            Self::MatMul { m, k, n } => matmul(x, w, m, k, n),
            Self::Conv { .. } => conv(self, x, w),
        }
    }
}

/// `x (m×k) · w (k×n)`, wrapping, row-major (compiled for AVX-512, AVX2 and baseline x86-64,
/// chosen at run time: only AVX-512DQ has a vector 64-bit multiply).
#[multiversion::multiversion(targets("x86_64+avx512f+avx512dq", "x86_64+avx2"))]
pub fn matmul(x: &[u64], w: &[u64], m: usize, k: usize, n: usize) -> Vec<u64> {
    assert_eq!((x.len(), w.len()), (m * k, k * n), "matmul shapes");
    let mut out = vec![0u64; m * n];
    for (row, out_row) in x.chunks_exact(k).zip(out.chunks_exact_mut(n)) {
        for (&v, w_row) in row.iter().zip(w.chunks_exact(n)) {
            for (o, &wv) in out_row.iter_mut().zip(w_row) {
                *o = o.wrapping_add(v.wrapping_mul(wv));
            }
        }
    }
    out
}

/// Direct NHWC convolution: output pixel `(b, y, x)` accumulates, for each kernel row `i`, the
/// contiguous input run `x[b][y + i][x..x + k][..]` against rows `i·k·c ..` of `w` (the im2col
/// product, without building the im2col matrix). Multiversioned like [`matmul`].
#[multiversion::multiversion(targets("x86_64+avx512f+avx512dq", "x86_64+avx2"))]
fn conv(op: &Bilinear, x: &[u64], wt: &[u64]) -> Vec<u64> {
    let Bilinear::Conv { h, w, c, k, o, .. } = *op else {
        unreachable!("a convolution")
    };
    assert_eq!((x.len(), wt.len()), (op.x_len(), op.w_len()), "conv shapes");
    let (ho, wo, run) = (h + 1 - k, w + 1 - k, k * c);
    let mut out = vec![0u64; op.out_len()];
    for (pixel, out_row) in out.chunks_exact_mut(o).enumerate() {
        let (img, y, xx) = (pixel / (ho * wo), pixel / wo % ho, pixel % wo);
        for i in 0..k {
            let start = ((img * h + y + i) * w + xx) * c;
            let w_rows = &wt[i * run * o..(i + 1) * run * o];
            for (&v, w_row) in x[start..start + run].iter().zip(w_rows.chunks_exact(o)) {
                for (acc, &wv) in out_row.iter_mut().zip(w_row) {
                    *acc = acc.wrapping_add(v.wrapping_mul(wv));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_by_hand() {
        // [1 2; 3 4] · [5; 6] = [17; 39]
        assert_eq!(matmul(&[1, 2, 3, 4], &[5, 6], 2, 2, 1), vec![17, 39]);
        // Wrapping: (2^63) · 2 = 0.
        assert_eq!(matmul(&[1 << 63], &[2], 1, 1, 1), vec![0]);
    }

    #[test]
    fn conv_by_hand() {
        // One 3x3 single-channel image, 2x2 kernel of ones: each output sums a 2x2 window.
        let op = Bilinear::Conv {
            b: 1,
            h: 3,
            w: 3,
            c: 1,
            k: 2,
            o: 1,
        };
        let x: Vec<u64> = (1..=9).collect();
        assert_eq!(op.apply(&x, &[1, 1, 1, 1]), vec![12, 16, 24, 28]);
        assert_eq!((op.x_len(), op.w_len(), op.out_len()), (9, 4, 4));
    }

    /// The definition, one multiply-add at a time.
    fn conv_naive(op: &Bilinear, x: &[u64], wt: &[u64]) -> Vec<u64> {
        let Bilinear::Conv { b, h, w, c, k, o } = *op else {
            unreachable!()
        };
        let (ho, wo) = (h + 1 - k, w + 1 - k);
        let mut out = vec![0u64; op.out_len()];
        for (img, y, xx, oc) in output_positions(b, ho, wo, o) {
            let mut sum = 0u64;
            for (i, j, ci) in
                (0..k).flat_map(|i| (0..k).flat_map(move |j| (0..c).map(move |ci| (i, j, ci))))
            {
                let xv = x[((img * h + y + i) * w + xx + j) * c + ci];
                let wv = wt[((i * k + j) * c + ci) * o + oc];
                sum = sum.wrapping_add(xv.wrapping_mul(wv));
            }
            out[((img * ho + y) * wo + xx) * o + oc] = sum;
        }
        out
    }

    fn output_positions(
        b: usize,
        ho: usize,
        wo: usize,
        o: usize,
    ) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        (0..b).flat_map(move |img| {
            (0..ho).flat_map(move |y| {
                (0..wo).flat_map(move |xx| (0..o).map(move |oc| (img, y, xx, oc)))
            })
        })
    }

    #[test]
    fn conv_matches_the_definition() {
        let mut r = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for o in [16, 32, 64, 3] {
            let op = Bilinear::Conv {
                b: 2,
                h: 11,
                w: 11,
                c: 2,
                k: 3,
                o,
            };
            let x: Vec<u64> = (0..op.x_len()).map(|_| next()).collect();
            let wt: Vec<u64> = (0..op.w_len()).map(|_| next()).collect();
            assert_eq!(op.apply(&x, &wt), conv_naive(&op, &x, &wt), "o = {o}");
        }
    }
}
