//! `replicated-3pc`: three-party replicated secret sharing over Z_2^64 (protocol B of
//! `shared/docs/smpc-design.md`), after Araki, Furukawa, Lindell, Nof and Ohara, "High-Throughput
//! Semi-Honest Secure Three-Party Computation with an Honest Majority" (ACM CCS 2016) and
//! Mohassel and Rindal, "ABY3: A Mixed Protocol Framework for Machine Learning" (ACM CCS 2018).
//!
//! Security model: semi-honest (passive), honest majority, static corruption of at most one of
//! the three parties P0, P1, P2. There is no outside dealer: P2 doubles as the dealer of
//! truncation masks and of the select/b2a tuples, which is secure because P2 never sees the
//! values those masks hide (P0 and P1 open them between themselves).
//!
//! - Sharing: `x = x0 + x1 + x2` and party `P_i` holds `(x_i, x_{i+1})`, indices mod 3; the
//!   simulation stores each component once. Booleans are the same with XOR over packed bits.
//!   Pairwise keys `k_i` (held by `P_i`, `P_{i+1}`) give the zero-sharing
//!   `α_i = F(k_i) ⊕ F(k_{i−1})`; keys, seeds and the operation counter derive from the seed.
//! - Costs, with `n` elements (ring elements 8 B, bits packed; per round one message per link):
//!   - `input` (external owner): two components from seeds shared with their holder pairs, the
//!     third sent to its two holders: setup, 1 round, `2·8n` B (`2·⌈n/8⌉` for bits).
//!   - `reveal`: `P_i` sends `x_i` to `P_{i+1}`: 1 round, `3·8n` B (`3·⌈n/8⌉` for bits).
//!   - `linear` (matmul, convolution): local 3-of-3 products
//!     `z_i = op(x_i, w_i + w_{i+1}) + op(x_{i+1}, w_i)` plus the bias at scale 2f, then the
//!     fused truncation pair (T4, P2 as dealer): 1 round, `4·8·|out|` B online (P1→P0, P0→P1,
//!     P2→P0, P2→P1 send the masked components `z_i − r_i`), `8·|out|` B offline (P2 inputs
//!     `⟦r'⟧ = ⟦s(r) >> m⟧`, one explicit component sent to P0). Result `⌊z/2^f⌋` or one less,
//!     except with probability about `|z|/2^64` (counted in `trunc_failures`).
//!   - `trunc`: the same truncation pair on a sharing: 1 round, `32n` B online, `8n` offline.
//!   - `and`: `z_i = a_i b_i ⊕ a_i b_{i+1} ⊕ a_{i+1} b_i ⊕ α_i`, sent by `P_i` to `P_{i−1}`:
//!     1 round, `3·⌈n/8⌉` B.
//!   - `drelu` (ABY3 bit extraction, B-1): P1 knows `a = x1 + x2`, P0 and P2 know `b = x0`
//!     (a valid sharing as is). P1 inputs the 64 bit planes of `a` as a fresh random sharing
//!     (1 round, P1→P2, `8n` B); then the generate/propagate carry tree over the low 63 bits:
//!     63 level-0 ANDs in 1 round and 61, 31, 15, 7, 3, 1 ANDs in 6 rounds; the sign is
//!     `a63 ⊕ b63 ⊕ carry` and DReLU its negation. Total: 8 rounds, 181 ANDs,
//!     `8n + 3·⌈63n/8⌉ + 3·Σ⌈g·n/8⌉` B (`8n + 181·3n/8` when `8 | n`), nothing offline.
//!   - `select` (bit injection): the sharings are read as 2-of-2 between P0 and P1
//!     (`b0 | b1 ⊕ b2`, `x0 | x1 + x2`); P2 deals a daBit-style tuple (random bit `r` as XOR and
//!     additive shares, mask `a`, and `r·a`): P0's part from its key with P2, P1's random part
//!     from its key with P2, and P1's corrections `r_A1`, `(ra)_1` sent (`16n` B offline).
//!     Round 1: P0 and P1 open `c = b ⊕ r` and `ε = x − a` to each other (`2·(8n + ⌈n/8⌉)` B);
//!     locally `b·x = c·x + (1 − 2c)(ε·r_A + (ra))`. Round 2 re-replicates the 2-of-2 result
//!     `(y0, y1)`: with `ρ, σ` from `k_0`, the components are `(y0 − ρ − σ, ρ, y1 + σ)`, P0
//!     and P1 sending theirs to P2 (`2·8n` B). Total: 2 rounds, `32n + 2·⌈n/8⌉` B online,
//!     `16n` B offline (the design's "2-of-2 with P2 as dealer" alternative to ABY3's
//!     3-party OT, which costs 2 rounds and 56 B per element).
//!   - `b2a`: the same with `x = 1`: round 1 opens only `c` (`2·⌈n/8⌉` B), the result is
//!     `c + (1 − 2c)·r_A`; round 2 re-replicates (`16n` B). Total: 2 rounds,
//!     `16n + 2·⌈n/8⌉` B online, `8n` B offline.
//!   - `public`, `add`, `sub`, `mul_public`, `gather`, `concat`, `xor`, `not`, `gather_bits`,
//!     `concat_bits`: local, free (a public value is component 0, which P0 and P2 hold).

use crate::bits;
use crate::carry::{self, Node as CarryNode};
use crate::linalg::Bilinear;
use crate::mpc::Mpc;
use crate::net::{EXTERNAL, Meter, Msg, Phase, bit_bytes, ring_bytes};
use crate::prg::Prg;
use crate::ring::{self, Fixed, shr_signed};

/// The three components of a sharing: component `j` is held by `P_j` and `P_{j−1}`.
type Parts = [Vec<u64>; 3];

/// An arithmetic replicated sharing: component `s[j]`, with `x = s[0] + s[1] + s[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct A3 {
    s: Parts,
}

/// A boolean replicated sharing of `n` packed bits: `b = s[0] ⊕ s[1] ⊕ s[2]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct B3 {
    s: Parts,
    n: usize,
}

impl A3 {
    /// Party `i`'s components `(x_i, x_{i+1})`: its whole view of the secret (for privacy tests
    /// and diagnostics).
    pub fn view(&self, party: usize) -> (&[u64], &[u64]) {
        (&self.s[party % 3], &self.s[(party + 1) % 3])
    }
}

impl B3 {
    /// Party `i`'s packed components `(b_i, b_{i+1})`.
    pub fn view(&self, party: usize) -> (&[u64], &[u64]) {
        (&self.s[party % 3], &self.s[(party + 1) % 3])
    }
}

/// The keyed streams of one operation, named by who holds the key.
struct Streams {
    seed: u64,
    what: &'static str,
    op: String,
}

impl Streams {
    /// The stream of pair key `k_i`, held by `P_i` and `P_{i+1}`.
    fn pair(&self, i: usize, tag: &str) -> Prg {
        let key = format!("k{i}");
        Prg::new(self.seed, &["pair", &key, self.what, tag, &self.op])
    }

    /// The stream of the key all three parties hold.
    fn all(&self, tag: &str) -> Prg {
        Prg::new(self.seed, &["all", self.what, tag, &self.op])
    }

    /// A stream private to party `i`.
    fn own(&self, i: usize, tag: &str) -> Prg {
        let key = format!("p{i}");
        Prg::new(self.seed, &["own", &key, self.what, tag, &self.op])
    }

    /// The seed an external input owner shares with the two holders of component `j`.
    fn owner(&self, j: usize) -> Prg {
        let key = format!("c{j}");
        Prg::new(self.seed, &["owner", &key, self.what, &self.op])
    }
}

/// `s[0] + s[1] + s[2]`.
fn sum3(s: &Parts) -> Vec<u64> {
    ring::add(&ring::add(&s[0], &s[1]), &s[2])
}

/// `s[0] ⊕ s[1] ⊕ s[2]`.
fn xor3(s: &Parts) -> Vec<u64> {
    bits::xor(&bits::xor(&s[0], &s[1]), &s[2])
}

/// Borrows the components.
fn refs(s: &Parts) -> [&[u64]; 3] {
    [&s[0], &s[1], &s[2]]
}

/// The protocol state: the seed all keys derive from, an operation counter and the meter.
pub struct Replicated3pc {
    fx: Fixed,
    seed: u64,
    ops: u64,
    meter: Meter,
}

impl Replicated3pc {
    /// A protocol instance whose randomness derives from `seed`.
    pub fn new(fx: Fixed, seed: u64) -> Self {
        Self {
            fx,
            seed,
            ops: 0,
            meter: Meter::new(3),
        }
    }

    /// The streams of a fresh operation.
    fn streams(&mut self, what: &'static str) -> Streams {
        self.ops += 1;
        Streams {
            seed: self.seed,
            what,
            op: self.ops.to_string(),
        }
    }

    /// One round carrying `(from, to, bytes)` messages.
    fn round(&mut self, phase: Phase, msgs: &[(usize, usize, u64)]) {
        let msgs: Vec<Msg> = msgs
            .iter()
            .map(|&(from, to, bytes)| Msg { from, to, bytes })
            .collect();
        self.meter.exchange(phase, &msgs);
    }

    /// One round in which P0 and P1 send each other `bytes`.
    fn swap01(&mut self, bytes: u64) {
        self.round(Phase::Online, &[(0, 1, bytes), (1, 0, bytes)]);
    }

    /// An external owner's input: components 0 and 1 from seeds shared with their holders, the
    /// third (`third` of those two, computed by the owner from the secret) sent to P1 and P2.
    fn external(
        &mut self,
        what: &'static str,
        words: usize,
        bytes: u64,
        third: impl Fn(&[u64], &[u64]) -> Vec<u64>,
    ) -> Parts {
        let st = self.streams(what);
        let (c0, c1) = (st.owner(0).words(words), st.owner(1).words(words));
        let c2 = third(&c0, &c1);
        self.round(Phase::Setup, &[(EXTERNAL, 1, bytes), (EXTERNAL, 2, bytes)]);
        [c0, c1, c2]
    }

    /// Replicated ANDs of packed words in one round (each party re-shares its 3-of-3 part).
    fn and_words(&mut self, x: [&[u64]; 3], y: [&[u64]; 3], nbits: usize) -> Parts {
        let nw = x[0].len();
        let st = self.streams("and");
        let f: Vec<Vec<u64>> = (0..3).map(|i| st.pair(i, "zero").words(nw)).collect();
        let z: Parts = std::array::from_fn(|i| {
            let (j, prev) = ((i + 1) % 3, (i + 2) % 3);
            (0..nw)
                .map(|w| {
                    (x[i][w] & y[i][w])
                        ^ (x[i][w] & y[j][w])
                        ^ (x[j][w] & y[i][w])
                        ^ f[i][w]
                        ^ f[prev][w]
                })
                .collect()
        });
        // P_i sends z_i to P_{i−1}, which then holds (z_{i−1}, z_i).
        let b = bit_bytes(nbits);
        self.round(Phase::Online, &[(0, 2, b), (1, 0, b), (2, 1, b)]);
        z
    }

    /// Truncation pair with P2 as dealer (T4): from a 3-of-3 sharing `z` (part `i` known to
    /// `P_i`) to a replicated sharing of `z >> m`, in one round.
    fn trunc_pair(&mut self, z: &Parts, m: u32) -> A3 {
        let n = z[0].len();
        let st = self.streams("trunc");
        // r = r0 + r1 + r2: r0 under P2's key with P0 (k2), r1 under its key with P1 (k1).
        let r = [
            st.pair(2, "r").ring(n),
            st.pair(1, "r").ring(n),
            st.own(2, "r").ring(n),
        ];
        let rp: Vec<u64> = sum3(&r).iter().map(|&v| shr_signed(v, m)).collect();
        // P2 inputs ⟦r'⟧: component 1 (P0, P1) from the common key, component 2 (P1, P2) from
        // k1, component 0 (P2, P0) explicit, sent to P0 ahead of time.
        let (rp1, rp2) = (st.all("r'").ring(n), st.pair(1, "r'").ring(n));
        let rp0 = ring::sub(&ring::sub(&rp, &rp1), &rp2);
        self.meter.dealer(0, ring_bytes(n));
        // Online: P0 and P1 learn c = z − r from the masked parts z_i − r_i.
        let masked: Parts = std::array::from_fn(|i| ring::sub(&z[i], &r[i]));
        let b = ring_bytes(n);
        self.round(Phase::Online, &[(1, 0, b), (0, 1, b), (2, 0, b), (2, 1, b)]);
        let shifted: Vec<u64> = sum3(&masked).iter().map(|&c| shr_signed(c, m)).collect();
        let y = A3 {
            s: [rp0, ring::add(&rp1, &shifted), rp2],
        };
        self.count_failures(z, &y, m);
        y
    }

    /// Simulator-side check (not part of the protocol): results off by more than one unit.
    fn count_failures(&mut self, z: &Parts, y: &A3, m: u32) {
        let failures = sum3(z)
            .iter()
            .zip(sum3(&y.s))
            .filter(|&(&zv, got)| (got.wrapping_sub(shr_signed(zv, m)) as i64).unsigned_abs() > 1)
            .count();
        self.meter.trunc_failures += failures as u64;
    }

    /// P1's input of packed words it knows (`len` words, `nbits` live bits): a fresh random
    /// sharing whose component 2 is sent to P2, in one round.
    fn p1_input_bits(&mut self, v: &[u64], nbits: usize) -> Parts {
        let st = self.streams("p1-input");
        // Component 0 (P2, P0) from the common key, component 1 (P0, P1) from k0.
        let (c0, c1) = (st.all("c0").words(v.len()), st.pair(0, "c1").words(v.len()));
        let c2 = bits::xor(&bits::xor(v, &c0), &c1);
        self.round(Phase::Online, &[(1, 2, bit_bytes(nbits))]);
        [c0, c1, c2]
    }

    /// A 2-of-2 sharing `(y0, y1)` between P0 and P1 made replicated in one round.
    fn rereplicate(&mut self, st: &Streams, y: [Vec<u64>; 2]) -> A3 {
        let n = y[0].len();
        let (rho, sigma) = (st.pair(0, "rho").ring(n), st.pair(0, "sigma").ring(n));
        let c0 = ring::sub(&ring::sub(&y[0], &rho), &sigma);
        let c2 = ring::add(&y[1], &sigma);
        let b = ring_bytes(n);
        self.round(Phase::Online, &[(0, 2, b), (1, 2, b)]);
        A3 { s: [c0, rho, c2] }
    }

    /// A random bit from P2 as dealer: XOR shares for P0 and P1, and additive shares of which
    /// P1's `ra1` is sent.
    fn dabit(&mut self, st: &Streams, n: usize) -> ([Vec<u64>; 2], [Vec<u64>; 2]) {
        let nw = bits::words(n);
        let (mut rb0, ra0) = (st.pair(2, "rb").words(nw), st.pair(2, "ra").ring(n));
        let mut rb1 = st.pair(1, "rb").words(nw);
        bits::mask_tail(&mut rb0, n);
        bits::mask_tail(&mut rb1, n);
        let r = bits::xor(&rb0, &rb1);
        let ra1: Vec<u64> = (0..n)
            .map(|i| bits::get(&r, i).wrapping_sub(ra0[i]))
            .collect();
        self.meter.dealer(1, ring_bytes(n));
        ([rb0, rb1], [ra0, ra1])
    }

    /// Opens `c = b ⊕ r` to P0 and P1 from the 2-of-2 reading `b0 | b1 ⊕ b2`.
    fn open_bit_mask(b: &B3, rb: &[Vec<u64>; 2]) -> Vec<u64> {
        let b1 = bits::xor(&b.s[1], &b.s[2]);
        bits::xor(&bits::xor(&b.s[0], &rb[0]), &bits::xor(&b1, &rb[1]))
    }
}

impl Replicated3pc {
    /// Shares of the carry into bit 63 (see [`crate::carry`]).
    fn carry_tree(&mut self, nodes: Vec<Node>, n: usize) -> Parts {
        carry::carry(nodes, n, |x, y, nbits| self.and_words(x, y, nbits))
    }
}

/// A carry-tree node of this protocol.
type Node = CarryNode<3>;

impl Mpc for Replicated3pc {
    type A = A3;
    type B = B3;

    fn fixed(&self) -> Fixed {
        self.fx
    }

    fn meter(&mut self) -> &mut Meter {
        &mut self.meter
    }

    fn input(&mut self, values: &[u64]) -> A3 {
        let s = self.external("input", values.len(), ring_bytes(values.len()), |c0, c1| {
            ring::sub(&ring::sub(values, c0), c1)
        });
        A3 { s }
    }

    fn input_bits(&mut self, values: &[bool]) -> B3 {
        let (n, packed) = (values.len(), bits::pack(values));
        let mut s = self.external("input-bits", packed.len(), bit_bytes(n), |c0, c1| {
            bits::xor(&bits::xor(&packed, c0), c1)
        });
        s.iter_mut().for_each(|c| bits::mask_tail(c, n));
        B3 { s, n }
    }

    fn public(&self, values: &[u64]) -> A3 {
        let zeros = vec![0; values.len()];
        A3 {
            s: [values.to_vec(), zeros.clone(), zeros],
        }
    }

    fn reveal(&mut self, x: &A3) -> Vec<u64> {
        let b = ring_bytes(x.s[0].len());
        self.round(Phase::Online, &[(0, 1, b), (1, 2, b), (2, 0, b)]);
        sum3(&x.s)
    }

    fn reveal_bits(&mut self, b: &B3) -> Vec<bool> {
        let bytes = bit_bytes(b.n);
        self.round(
            Phase::Online,
            &[(0, 1, bytes), (1, 2, bytes), (2, 0, bytes)],
        );
        bits::unpack(&xor3(&b.s), b.n)
    }

    fn len(x: &A3) -> usize {
        x.s[0].len()
    }

    fn bits_len(b: &B3) -> usize {
        b.n
    }

    fn add(&self, x: &A3, y: &A3) -> A3 {
        A3 {
            s: std::array::from_fn(|i| ring::add(&x.s[i], &y.s[i])),
        }
    }

    fn sub(&self, x: &A3, y: &A3) -> A3 {
        A3 {
            s: std::array::from_fn(|i| ring::sub(&x.s[i], &y.s[i])),
        }
    }

    fn mul_public(&self, x: &A3, c: &[u64]) -> A3 {
        let mul = |s: &[u64]| -> Vec<u64> {
            s.iter()
                .enumerate()
                .map(|(i, v)| v.wrapping_mul(if c.len() == 1 { c[0] } else { c[i] }))
                .collect()
        };
        A3 {
            s: std::array::from_fn(|i| mul(&x.s[i])),
        }
    }

    fn map(&self, x: &A3, f: impl Fn(&[u64]) -> Vec<u64>) -> A3 {
        A3 {
            s: std::array::from_fn(|c| f(&x.s[c])),
        }
    }

    fn concat(&self, parts: &[&A3]) -> A3 {
        A3 {
            s: std::array::from_fn(|c| parts.iter().flat_map(|p| p.s[c].iter().copied()).collect()),
        }
    }

    fn gather_bits(&self, b: &B3, indices: &[usize]) -> B3 {
        let g = |s: &[u64]| {
            let picked: Vec<bool> = indices.iter().map(|&i| bits::get(s, i) == 1).collect();
            bits::pack(&picked)
        };
        B3 {
            s: std::array::from_fn(|c| g(&b.s[c])),
            n: indices.len(),
        }
    }

    fn concat_bits(&self, parts: &[&B3]) -> B3 {
        let c = |i: usize| {
            let all: Vec<bool> = parts
                .iter()
                .flat_map(|p| bits::unpack(&p.s[i], p.n))
                .collect();
            bits::pack(&all)
        };
        B3 {
            s: std::array::from_fn(c),
            n: parts.iter().map(|p| p.n).sum(),
        }
    }

    fn xor(&self, a: &B3, b: &B3) -> B3 {
        B3 {
            s: std::array::from_fn(|i| bits::xor(&a.s[i], &b.s[i])),
            n: a.n,
        }
    }

    fn not(&self, a: &B3) -> B3 {
        let mut s = a.s.clone();
        s[0].iter_mut().for_each(|w| *w = !*w);
        bits::mask_tail(&mut s[0], a.n);
        B3 { s, n: a.n }
    }

    fn linear(&mut self, op: &Bilinear, x: &A3, w: &A3, bias: &A3) -> A3 {
        self.linear_shift(op, x, w, bias, self.fx.frac_bits)
    }

    fn product(&mut self, op: &Bilinear, x: &A3, w: &A3) -> A3 {
        // Resharing with a shift by 0 is exact: `r + (z − r) = z`.
        let zero = self.public(&[0]);
        self.linear_shift(op, x, w, &zero, 0)
    }

    fn trunc(&mut self, x: &A3, m: u32) -> A3 {
        // Component i is P_i's part of a 3-of-3 sharing.
        self.trunc_pair(&x.s, m)
    }

    fn drelu(&mut self, x: &A3) -> B3 {
        let l = self.fx.compare_bits();
        self.meter.range_failures += ring::out_of_range(&[&x.s[0], &x.s[1], &x.s[2]], l);
        self.compare(x, l)
    }

    fn drelu_full(&mut self, x: &A3) -> B3 {
        self.compare(x, 64)
    }

    fn and(&mut self, a: &B3, b: &B3) -> B3 {
        let mut s = self.and_words(refs(&a.s), refs(&b.s), a.n);
        s.iter_mut().for_each(|c| bits::mask_tail(c, a.n));
        B3 { s, n: a.n }
    }

    fn select(&mut self, b: &B3, x: &A3) -> A3 {
        let n = b.n;
        let st = self.streams("select");
        let (rb, ra) = self.dabit(&st, n);
        // P2 also deals a mask a (P0's part under k2, P1's under k1) and shares of r·a, of which
        // P1's m1 is sent.
        let (a0, m0, a1) = (
            st.pair(2, "a").ring(n),
            st.pair(2, "m").ring(n),
            st.pair(1, "a").ring(n),
        );
        let r = bits::xor(&rb[0], &rb[1]);
        let m1: Vec<u64> = (0..n)
            .map(|i| {
                let ra_i = bits::get(&r, i).wrapping_mul(a0[i].wrapping_add(a1[i]));
                ra_i.wrapping_sub(m0[i])
            })
            .collect();
        self.meter.dealer(1, ring_bytes(n));
        // Round 1: P0 (b0, x0) and P1 (b1 ⊕ b2, x1 + x2) open c = b ⊕ r and ε = x − a.
        let c = Self::open_bit_mask(b, &rb);
        let xi = [x.s[0].clone(), ring::add(&x.s[1], &x.s[2])];
        let eps = ring::add(&ring::sub(&xi[0], &a0), &ring::sub(&xi[1], &a1));
        self.swap01(ring_bytes(n) + bit_bytes(n));
        // [b x] = c [x] + (1 − 2c) (ε [r] + [r a]).
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
        let y = [share(&xi[0], &ra[0], &m0), share(&xi[1], &ra[1], &m1)];
        self.rereplicate(&st, y)
    }

    fn b2a(&mut self, b: &B3) -> A3 {
        let n = b.n;
        let st = self.streams("b2a");
        let (rb, ra) = self.dabit(&st, n);
        let c = Self::open_bit_mask(b, &rb);
        self.swap01(bit_bytes(n));
        // [b] = c + (1 − 2c) [r]; the public c is added by P0.
        let flip = |i: usize| 1u64.wrapping_sub(2 * bits::get(&c, i));
        let y0 = (0..n).map(|i| bits::get(&c, i).wrapping_add(flip(i).wrapping_mul(ra[0][i])));
        let y1 = (0..n).map(|i| flip(i).wrapping_mul(ra[1][i]));
        self.rereplicate(&st, [y0.collect(), y1.collect()])
    }
}

impl Replicated3pc {
    /// `op(x, w)` plus the bias (at scale f, lifted to scale 2f and added by its part holder),
    /// reshared with a truncation by `shift` bits.
    fn linear_shift(&mut self, op: &Bilinear, x: &A3, w: &A3, bias: &A3, shift: u32) -> A3 {
        let (cols, lift) = (op.out_cols(), 1u64 << self.fx.frac_bits);
        let z: Parts = std::array::from_fn(|i| {
            let j = (i + 1) % 3;
            let mut zi = op.apply(&x.s[i], &ring::add(&w.s[i], &w.s[j]));
            ring::add_assign(&mut zi, &op.apply(&x.s[j], &w.s[i]));
            for (e, v) in zi.iter_mut().enumerate() {
                *v = v.wrapping_add(bias.s[i][e % cols].wrapping_mul(lift));
            }
            zi
        });
        self.trunc_pair(&z, shift)
    }
}

impl Replicated3pc {
    /// `1{x >= 0}` read from bit `l - 1` of `x + 2^(l-1)`: exact for `|x| < 2^(l-1)`, and for
    /// every ring element when `l = 64` (the sign bit).
    fn compare(&mut self, x: &A3, l: usize) -> B3 {
        let n = x.s[0].len();
        let nw = bits::words(n);
        // y = x + 2^(l-1) (the constant joins component 0) lies in [0, 2^l) and its bit l-1 is
        // DReLU(x). P1 inputs the l bit planes of a = x1 + x2; b = y0 (P0 and P2) is valid as is.
        let a = ring::add(&x.s[1], &x.s[2]);
        let a_sh = self.p1_input_bits(&bits::planes(&a, l).concat(), l * n);
        let y0: Vec<u64> = x.s[0]
            .iter()
            .map(|v| v.wrapping_add(1 << (l - 1)))
            .collect();
        let lo = (l - 1) * nw;
        let b_sh: Parts = [bits::planes(&y0, l).concat(), vec![0; lo], vec![0; lo]];
        let a_lo: [&[u64]; 3] = std::array::from_fn(|i| &a_sh[i][..lo]);
        let b_lo: [&[u64]; 3] = std::array::from_fn(|i| &b_sh[i][..lo]);
        let g = self.and_words(a_lo, b_lo, (l - 1) * n);
        let plane = |s: &[u64], j: usize| s[j * nw..(j + 1) * nw].to_vec();
        let nodes: Vec<Node> = (0..l - 1)
            .map(|j| Node {
                g: std::array::from_fn(|i| plane(&g[i], j)),
                p: (j > 0).then(|| {
                    std::array::from_fn(|i| bits::xor(&plane(&a_sh[i], j), &plane(&b_sh[i], j)))
                }),
            })
            .collect();
        let carry = self.carry_tree(nodes, n);
        // Bit l-1 of y = a[l-1] ^ b[l-1] ^ carry (b's plane is component 0 only).
        let s = std::array::from_fn(|i| {
            let mut v = bits::xor(&a_sh[i][lo..], &carry[i]);
            if i == 0 {
                v = bits::xor(&v, &b_sh[0][lo..]);
            }
            bits::mask_tail(&mut v, n);
            v
        });
        B3 { s, n }
    }
}
