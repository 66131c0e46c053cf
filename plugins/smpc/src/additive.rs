//! `additive-2pc`: two-party additive sharing over Z_2^64 with a trusted dealer, semi-honest
//! (protocol A of `shared/docs/smpc-design.md`; CrypTen's TTP mode, SecureML truncation).
//!
//! - Sharing: `x = x0 + x1`. The dealer shares a seed with each party, so all of P0's material
//!   and P1's random parts are seed-derived; only P1's correction terms travel (offline bytes).
//! - Linear layers: Beaver triples shaped like the layer (`c = op(a, b)`, convolution-shaped for
//!   convolutions); `ε = x - a` and `δ = w - b` are opened in one round; truncation is local
//!   (SecureML), off by at most one unit except with probability about `|z| / 2^64`.
//! - Comparison: DReLU is bit `l - 1` of `y = x + 2^(l-1)` with `l = 64 - f` (exact for every
//!   value the ring represents, see [`Fixed::compare_bits`]), through a bit-sliced carry tree
//!   over the low `l - 1` bits of `y0 + y1`: one round of private-input ANDs, then six levels of
//!   Beaver bit-triple ANDs.
//! - Select and bit-to-arithmetic: daBit-style dealer tuples, one round each.

use crate::bits;
use crate::carry::{self, Node as CarryNode};
use crate::linalg::Bilinear;
use crate::mpc::Mpc;
use crate::net::{EXTERNAL, Meter, Msg, Phase, bit_bytes, ring_bytes};
use crate::prg::Prg;
use crate::ring::{self, Fixed, shr_signed};

/// Output elements per piece of a linear layer's local work (a few MB per share).
const PIECE: usize = 1 << 16;

/// An arithmetic sharing: party `i` holds `s[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct A2 {
    s: [Vec<u64>; 2],
}

/// A boolean sharing of `n` packed bits: party `i` holds `s[i]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct B2 {
    s: [Vec<u64>; 2],
    n: usize,
}

impl A2 {
    /// Party `i`'s share: its whole view of the secret (for privacy tests and diagnostics).
    pub fn view(&self, party: usize) -> &[u64] {
        &self.s[party]
    }
}

/// The protocol state: the dealer's seeds, an operation counter and the meter.
pub struct Additive2pc {
    fx: Fixed,
    seed: u64,
    ops: u64,
    meter: Meter,
}

impl Additive2pc {
    /// A protocol instance whose randomness derives from `seed`.
    pub fn new(fx: Fixed, seed: u64) -> Self {
        Self {
            fx,
            seed,
            ops: 0,
            meter: Meter::new(2),
        }
    }

    /// The streams of a fresh operation: P0's (shared by P0 and the dealer) and P1's.
    fn streams(&mut self, what: &str) -> (Prg, Prg) {
        self.ops += 1;
        let op = self.ops.to_string();
        (
            Prg::new(self.seed, &["dealer", "p0", what, &op]),
            Prg::new(self.seed, &["dealer", "p1", what, &op]),
        )
    }

    /// One round in which both parties send `ring` elements and `nbits` bits to each other.
    fn swap(&mut self, ring: usize, nbits: usize) {
        let bytes = ring_bytes(ring) + bit_bytes(nbits);
        self.meter.exchange(
            Phase::Online,
            &[
                Msg {
                    from: 0,
                    to: 1,
                    bytes,
                },
                Msg {
                    from: 1,
                    to: 0,
                    bytes,
                },
            ],
        );
    }

    /// `op(x, w) + bias·2^f`, truncated by `f`: one Beaver product with a layer-shaped triple
    /// `c = op(a, b)`, opening `ε = x − a` and `δ = w − b` in one round. The triple is drawn
    /// and used in pieces of whole rows (images), which is the same triple as one drawn at
    /// once: `op` acts on each row alone and `b` is shared by all rows.
    fn beaver_linear(&mut self, op: &Bilinear, x: &A2, w: &A2, bias: &A2, shift: u32) -> A2 {
        let (mut p0, mut p1) = self.streams("beaver");
        let (b0, b1) = (p0.ring(op.w_len()), p1.ring(op.w_len()));
        let delta = ring::add(&ring::sub(&w.s[0], &b0), &ring::sub(&w.s[1], &b1));
        let b = ring::add(&b0, &b1);
        let b0_delta = ring::add(&b0, &delta);
        let rows = op.rows();
        let (x_row, out_row) = (op.x_len() / rows, op.out_len() / rows);
        let piece = (PIECE / out_row.max(1)).clamp(1, rows);
        let mut out = [
            Vec::with_capacity(op.out_len()),
            Vec::with_capacity(op.out_len()),
        ];
        for first in (0..rows).step_by(piece) {
            let part = op.with_rows(piece.min(rows - first));
            let xs = first * x_row..first * x_row + part.x_len();
            let (a0, c0) = (p0.ring(part.x_len()), p0.ring(part.out_len()));
            let a1 = p1.ring(part.x_len());
            // Dealer: c1 = op(a, b) − c0, sent to P1.
            let c1 = ring::sub(&part.apply(&ring::add(&a0, &a1), &b), &c0);
            let eps = ring::add(
                &ring::sub(&x.s[0][xs.clone()], &a0),
                &ring::sub(&x.s[1][xs], &a1),
            );
            // z0 = c0 + op(ε, b0 + δ) + op(a0, δ);  z1 = c1 + op(ε, b1) + op(a1, δ).
            let mut z0 = c0;
            ring::add_assign(&mut z0, &part.apply(&eps, &b0_delta));
            ring::add_assign(&mut z0, &part.apply(&a0, &delta));
            let mut z1 = c1;
            ring::add_assign(&mut z1, &part.apply(&eps, &b1));
            ring::add_assign(&mut z1, &part.apply(&a1, &delta));
            let lifted = self.lift_bias(op, bias);
            for (z, lb) in [(&mut z0, &lifted[0]), (&mut z1, &lifted[1])] {
                z.iter_mut()
                    .zip(lb.iter().cycle())
                    .for_each(|(v, l)| *v = v.wrapping_add(*l));
            }
            let t = self.trunc_local(&A2 { s: [z0, z1] }, shift);
            let [t0, t1] = t.s;
            out[0].extend(t0);
            out[1].extend(t1);
        }
        self.meter.dealer(1, ring_bytes(op.out_len()));
        self.swap(op.x_len() + op.w_len(), 0);
        A2 { s: out }
    }

    /// Each party's bias share lifted from scale f to 2f.
    fn lift_bias(&self, op: &Bilinear, bias: &A2) -> [Vec<u64>; 2] {
        let lift = 1u64 << self.fx.frac_bits;
        std::array::from_fn(|i| {
            bias.s[i][..op.out_cols()]
                .iter()
                .map(|v| v.wrapping_mul(lift))
                .collect()
        })
    }

    /// SecureML local truncation by `m` bits; counts results off by more than one unit.
    fn trunc_local(&mut self, z: &A2, m: u32) -> A2 {
        let t0: Vec<u64> = z.s[0].iter().map(|&v| shr_signed(v, m)).collect();
        let t1: Vec<u64> = z.s[1]
            .iter()
            .map(|&v| 0u64.wrapping_sub(shr_signed(0u64.wrapping_sub(v), m)))
            .collect();
        // Simulator-side check (not part of the protocol): compare with the exact truncation.
        let failures = (0..t0.len())
            .filter(|&i| {
                let exact = shr_signed(z.s[0][i].wrapping_add(z.s[1][i]), m);
                let got = t0[i].wrapping_add(t1[i]);
                (got.wrapping_sub(exact) as i64).unsigned_abs() > 1
            })
            .count();
        self.meter.trunc_failures += failures as u64;
        A2 { s: [t0, t1] }
    }

    /// Shared ANDs of packed bit vectors with Beaver bit triples, all in one round.
    fn and_words(&mut self, x: [&[u64]; 2], y: [&[u64]; 2], nbits: usize) -> [Vec<u64>; 2] {
        let nw = x[0].len();
        let (mut p0, mut p1) = self.streams("and");
        let (al0, be0, ga0) = (p0.words(nw), p0.words(nw), p0.words(nw));
        let (al1, be1) = (p1.words(nw), p1.words(nw));
        let gamma = bits::and(&bits::xor(&al0, &al1), &bits::xor(&be0, &be1));
        let ga1 = bits::xor(&gamma, &ga0);
        self.meter.dealer(1, bit_bytes(nbits));
        let eps = bits::xor(&bits::xor(x[0], &al0), &bits::xor(x[1], &al1));
        let del = bits::xor(&bits::xor(y[0], &be0), &bits::xor(y[1], &be1));
        self.swap(0, 2 * nbits);
        let z = |ga: &[u64], al: &[u64], be: &[u64], public: bool| -> Vec<u64> {
            (0..nw)
                .map(|i| {
                    ga[i]
                        ^ (eps[i] & be[i])
                        ^ (del[i] & al[i])
                        ^ if public { eps[i] & del[i] } else { 0 }
                })
                .collect()
        };
        [z(&ga0, &al0, &be0, true), z(&ga1, &al1, &be1, false)]
    }

    /// Level 0 of the carry tree: generate bits `a_j AND b_j` where P0 knows `a`, P1 knows `b`.
    fn private_and(&mut self, a: &[Vec<u64>], b: &[Vec<u64>], n: usize) -> [Vec<Vec<u64>>; 2] {
        let nw = bits::words(n);
        let (mut p0, mut p1) = self.streams("private-and");
        let mut g = [Vec::new(), Vec::new()];
        for (aj, bj) in a.iter().zip(b) {
            let (u, w0, v) = (p0.words(nw), p0.words(nw), p1.words(nw));
            let w1 = bits::xor(&bits::and(&u, &v), &w0);
            let d = bits::xor(aj, &u);
            let e = bits::xor(bj, &v);
            g[0].push(
                (0..nw)
                    .map(|i| (d[i] & e[i]) ^ (u[i] & e[i]) ^ w0[i])
                    .collect(),
            );
            g[1].push((0..nw).map(|i| (d[i] & v[i]) ^ w1[i]).collect());
        }
        self.meter.dealer(1, bit_bytes(a.len() * n));
        self.swap(0, a.len() * n);
        g
    }
}

impl Additive2pc {
    /// Shares of the carry into bit 63 (see [`crate::carry`]).
    fn carry_tree(&mut self, nodes: Vec<Node>, n: usize) -> [Vec<u64>; 2] {
        carry::carry(nodes, n, |x, y, nbits| self.and_words(x, y, nbits))
    }
}

/// A dealer's random bit per element: XOR shares `rb0` (P0, from its stream), `rb1` (P1, from
/// its stream), the bit `r` itself, and arithmetic shares `ra0` (P0's stream) and `ra1 = r -
/// ra0` (computed by the dealer and sent to P1; the caller meters it).
struct RandomBit {
    rb0: Vec<u64>,
    rb1: Vec<u64>,
    r: Vec<u64>,
    ra0: Vec<u64>,
    ra1: Vec<u64>,
}

/// Draws [`RandomBit`]s for `n` elements: P0's stream gives `rb0` then `ra0`, P1's gives `rb1`.
fn random_bit(p0: &mut Prg, p1: &mut Prg, n: usize) -> RandomBit {
    let (mut rb0, ra0) = (p0.words(bits::words(n)), p0.ring(n));
    let mut rb1 = p1.words(bits::words(n));
    bits::mask_tail(&mut rb0, n);
    bits::mask_tail(&mut rb1, n);
    let r = bits::xor(&rb0, &rb1);
    let ra1 = (0..n)
        .map(|i| bits::get(&r, i).wrapping_sub(ra0[i]))
        .collect();
    RandomBit {
        rb0,
        rb1,
        r,
        ra0,
        ra1,
    }
}

/// A carry-tree node of this protocol.
type Node = CarryNode<2>;

impl Mpc for Additive2pc {
    type A = A2;
    type B = B2;

    fn fixed(&self) -> Fixed {
        self.fx
    }

    fn meter(&mut self) -> &mut Meter {
        &mut self.meter
    }

    fn input(&mut self, values: &[u64]) -> A2 {
        // The owner shares a seed with P0 (counted once, not per element) and sends x - r to P1.
        let (mut p0, _) = self.streams("input");
        let r = p0.ring(values.len());
        self.meter.exchange(
            Phase::Setup,
            &[Msg {
                from: EXTERNAL,
                to: 1,
                bytes: ring_bytes(values.len()),
            }],
        );
        A2 {
            s: [r.clone(), ring::sub(values, &r)],
        }
    }

    fn input_bits(&mut self, values: &[bool]) -> B2 {
        let (mut p0, _) = self.streams("input-bits");
        let packed = bits::pack(values);
        let mut r = p0.words(packed.len());
        bits::mask_tail(&mut r, values.len());
        self.meter.exchange(
            Phase::Setup,
            &[Msg {
                from: EXTERNAL,
                to: 1,
                bytes: bit_bytes(values.len()),
            }],
        );
        B2 {
            s: [r.clone(), bits::xor(&packed, &r)],
            n: values.len(),
        }
    }

    fn public(&self, values: &[u64]) -> A2 {
        A2 {
            s: [values.to_vec(), vec![0; values.len()]],
        }
    }

    fn reveal(&mut self, x: &A2) -> Vec<u64> {
        self.swap(x.s[0].len(), 0);
        ring::add(&x.s[0], &x.s[1])
    }

    fn reveal_bits(&mut self, b: &B2) -> Vec<bool> {
        self.swap(0, b.n);
        bits::unpack(&bits::xor(&b.s[0], &b.s[1]), b.n)
    }

    fn len(x: &A2) -> usize {
        x.s[0].len()
    }

    fn bits_len(b: &B2) -> usize {
        b.n
    }

    fn add(&self, x: &A2, y: &A2) -> A2 {
        A2 {
            s: [ring::add(&x.s[0], &y.s[0]), ring::add(&x.s[1], &y.s[1])],
        }
    }

    fn sub(&self, x: &A2, y: &A2) -> A2 {
        A2 {
            s: [ring::sub(&x.s[0], &y.s[0]), ring::sub(&x.s[1], &y.s[1])],
        }
    }

    fn mul_public(&self, x: &A2, c: &[u64]) -> A2 {
        let mul = |s: &[u64]| -> Vec<u64> {
            s.iter()
                .enumerate()
                .map(|(i, v)| v.wrapping_mul(if c.len() == 1 { c[0] } else { c[i] }))
                .collect()
        };
        A2 {
            s: [mul(&x.s[0]), mul(&x.s[1])],
        }
    }

    fn map(&self, x: &A2, f: impl Fn(&[u64]) -> Vec<u64>) -> A2 {
        A2 {
            s: [f(&x.s[0]), f(&x.s[1])],
        }
    }

    fn concat(&self, parts: &[&A2]) -> A2 {
        let c = |i: usize| parts.iter().flat_map(|p| p.s[i].iter().copied()).collect();
        A2 { s: [c(0), c(1)] }
    }

    fn gather_bits(&self, b: &B2, indices: &[usize]) -> B2 {
        let g = |s: &[u64]| {
            bits::pack(
                &indices
                    .iter()
                    .map(|&i| bits::get(s, i) == 1)
                    .collect::<Vec<_>>(),
            )
        };
        B2 {
            s: [g(&b.s[0]), g(&b.s[1])],
            n: indices.len(),
        }
    }

    fn concat_bits(&self, parts: &[&B2]) -> B2 {
        let c = |i: usize| {
            let all: Vec<bool> = parts
                .iter()
                .flat_map(|p| bits::unpack(&p.s[i], p.n))
                .collect();
            bits::pack(&all)
        };
        B2 {
            s: [c(0), c(1)],
            n: parts.iter().map(|p| p.n).sum(),
        }
    }

    fn xor(&self, a: &B2, b: &B2) -> B2 {
        B2 {
            s: [bits::xor(&a.s[0], &b.s[0]), bits::xor(&a.s[1], &b.s[1])],
            n: a.n,
        }
    }

    fn not(&self, a: &B2) -> B2 {
        let mut s0: Vec<u64> = a.s[0].iter().map(|w| !w).collect();
        bits::mask_tail(&mut s0, a.n);
        B2 {
            s: [s0, a.s[1].clone()],
            n: a.n,
        }
    }

    fn linear(&mut self, op: &Bilinear, x: &A2, w: &A2, bias: &A2) -> A2 {
        self.beaver_linear(op, x, w, bias, self.fx.frac_bits)
    }

    fn product(&mut self, op: &Bilinear, x: &A2, w: &A2) -> A2 {
        // A shift by 0 is exact: each party keeps its share of the product.
        let zero = self.public(&[0]);
        self.beaver_linear(op, x, w, &zero, 0)
    }

    fn trunc(&mut self, x: &A2, m: u32) -> A2 {
        self.trunc_local(x, m)
    }

    fn drelu(&mut self, x: &A2) -> B2 {
        let l = self.fx.compare_bits();
        self.meter.range_failures += ring::out_of_range(&[&x.s[0], &x.s[1]], l);
        self.compare(x, l)
    }

    fn drelu_full(&mut self, x: &A2) -> B2 {
        self.compare(x, 64)
    }

    fn and(&mut self, a: &B2, b: &B2) -> B2 {
        let z = self.and_words([&a.s[0], &a.s[1]], [&b.s[0], &b.s[1]], a.n);
        B2 { s: z, n: a.n }
    }

    fn select(&mut self, b: &B2, x: &A2) -> A2 {
        let n = b.n;
        let (mut p0, mut p1) = self.streams("select");
        // Dealer tuple: a random bit r (see `random_bit`), a random mask a (a0, a1) and shares of
        // r * a (m0, m1). P1's ra1 and m1 are sent.
        let RandomBit {
            rb0,
            rb1,
            r,
            ra0,
            ra1,
        } = random_bit(&mut p0, &mut p1, n);
        let (a0, m0) = (p0.ring(n), p0.ring(n));
        let a1 = p1.ring(n);
        let m1: Vec<u64> = (0..n)
            .map(|i| {
                bits::get(&r, i)
                    .wrapping_mul(a0[i].wrapping_add(a1[i]))
                    .wrapping_sub(m0[i])
            })
            .collect();
        self.meter.dealer(1, ring_bytes(2 * n));
        // Open c = b XOR r and ε = x - a in one round.
        let c = bits::xor(&bits::xor(&b.s[0], &rb0), &bits::xor(&b.s[1], &rb1));
        let eps = ring::add(&ring::sub(&x.s[0], &a0), &ring::sub(&x.s[1], &a1));
        self.swap(n, n);
        // [b x] = c [x] + (1 - 2c) (ε [r] + [r a]).
        let share = |xs: &[u64], ra: &[u64], m: &[u64]| -> Vec<u64> {
            (0..n)
                .map(|i| {
                    let ci = bits::get(&c, i);
                    let t = eps[i].wrapping_mul(ra[i]).wrapping_add(m[i]);
                    ci.wrapping_mul(xs[i])
                        .wrapping_add(1u64.wrapping_sub(2 * ci).wrapping_mul(t))
                })
                .collect()
        };
        A2 {
            s: [share(&x.s[0], &ra0, &m0), share(&x.s[1], &ra1, &m1)],
        }
    }

    fn b2a(&mut self, b: &B2) -> A2 {
        let n = b.n;
        let (mut p0, mut p1) = self.streams("b2a");
        let RandomBit {
            rb0, rb1, ra0, ra1, ..
        } = random_bit(&mut p0, &mut p1, n);
        self.meter.dealer(1, ring_bytes(n));
        let c = bits::xor(&bits::xor(&b.s[0], &rb0), &bits::xor(&b.s[1], &rb1));
        self.swap(0, n);
        // [b] = c + (1 - 2c) [r]; the public c is added by P0.
        let s0 = (0..n).map(|i| {
            let ci = bits::get(&c, i);
            ci.wrapping_add(1u64.wrapping_sub(2 * ci).wrapping_mul(ra0[i]))
        });
        let s1 = (0..n).map(|i| 1u64.wrapping_sub(2 * bits::get(&c, i)).wrapping_mul(ra1[i]));
        A2 {
            s: [s0.collect(), s1.collect()],
        }
    }
}

impl Additive2pc {
    /// `1{x >= 0}` read from bit `l - 1` of `x + 2^(l-1)`: exact for `|x| < 2^(l-1)`, and for
    /// every ring element when `l = 64` (the sign bit).
    fn compare(&mut self, x: &A2, l: usize) -> B2 {
        let n = x.s[0].len();
        // y = x + 2^(l-1) lies in [0, 2^l) and its bit l-1 is DReLU(x); P0 adds the constant.
        let y0: Vec<u64> = x.s[0]
            .iter()
            .map(|v| v.wrapping_add(1 << (l - 1)))
            .collect();
        let (mut a, mut b) = (bits::planes(&y0, l), bits::planes(&x.s[1], l));
        let [g0, g1] = self.private_and(&a[..l - 1], &b[..l - 1], n);
        let nodes: Vec<Node> = g0
            .into_iter()
            .zip(g1)
            .enumerate()
            .map(|(j, (g0, g1))| Node {
                g: [g0, g1],
                p: (j > 0).then(|| [std::mem::take(&mut a[j]), std::mem::take(&mut b[j])]),
            })
            .collect();
        let carry = self.carry_tree(nodes, n);
        // Bit l-1 of y = y0[l-1] ^ y1[l-1] ^ carry into it.
        let mut s0 = bits::xor(&a[l - 1], &carry[0]);
        let mut s1 = bits::xor(&b[l - 1], &carry[1]);
        bits::mask_tail(&mut s0, n);
        bits::mask_tail(&mut s1, n);
        B2 { s: [s0, s1], n }
    }
}
