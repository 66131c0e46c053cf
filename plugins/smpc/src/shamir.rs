//! `shamir`: t-of-n Shamir secure aggregation over the Mersenne field M61 (design §4.1, §4.4, §4.5).
//!
//! # Field
//! Elements of F_p with p = 2^61 − 1 are `u64` values in `[0, p)`; products are taken in `u128`
//! and folded with the Mersenne identity 2^61 ≡ 1 (mod p). A signed integer
//! v ∈ (−(p−1)/2, (p−1)/2) is embedded as v mod p and read back by [`signed`]. A model value x
//! is encoded at f fractional bits as round(x·2^f) (the nearest integer) and then embedded.
//!
//! # Sharing and threshold
//! Party i (i = 1..n) holds f(α_i) with α_i = i, where f is a uniformly random polynomial of
//! degree t with f(0) = secret. Any t shares are jointly uniform and independent of the secret;
//! any t+1 reconstruct it with the Lagrange coefficients at 0 ([`lagrange_at_zero`]). Security
//! is semi-honest against any t colluding parties and needs an honest majority, t < n/2
//! (n ≥ 2t+1). The default threshold is t = ⌊(n−1)/2⌋; t = 0 is refused, since one party would
//! then hold every secret in the clear.
//!
//! The n parties are the validators: parameter `parties` fixes n, otherwise n follows
//! [`SmpcCtx::validators`] at every call, and [`SmpcCaps::parties`] then reports 0 ("follows the
//! validator count"; the configured n otherwise).
//!
//! # Aggregation
//! [`SmpcProtocol::share_models`] shares every coordinate of every model. With seed compression
//! (§4.1), the shares of parties 1..t come from owner–party PRG seeds (free) and the owner
//! interpolates and sends the other n − t shares. [`SmpcProtocol::aggregate`] takes public,
//! non-negative weights: integers ≤ 2^20 are used as they are, any other weights are quantized
//! to q_h = round(w_h / max_w · 2^16), so the average uses weights within max_w·2^−17 of the
//! given ones, and a weight below max_w·2^−17 counts as zero. Every party computes
//! Σ_h q_h·[x_h] locally (no multiplication of shares, hence no degree growth); t+1 designated
//! surviving parties send that share to every other surviving party (1 round), everyone
//! reconstructs at 0, decodes the signed value and divides by Σ_h q_h in `f64`. Only the
//! weighted average is opened.
//!
//! Overflow: the reconstruction is exact as long as Σ_h q_h·|x_h|·2^f < (p−1)/2. The protocol
//! checks the bound Σ_h q_h·max|enc(x_h)| with each owner's declared largest magnitude (a
//! public bound, like a clipping norm) and refuses the aggregation, naming the model, otherwise.
//!
//! # Dropouts
//! Parameter `dropouts` = d validators go offline before the reveal of each aggregation; which
//! ones is drawn from the call's seed. Reconstruction needs t+1 survivors, so d ≤ n − (t+1);
//! the result is then exactly the result without dropouts.
//!
//! # Cost (P parameters per model, 8-byte field elements)
//! - Setup, per shared model: n − t messages of 8P bytes from the owner ([`EXTERNAL`]), i.e.
//!   (n − t)·8P bytes; all models of one call go in 1 setup round.
//! - Online, per aggregation: (t+1)(n−1) messages of 8P bytes, i.e. (t+1)(n−1)·8P bytes, in
//!   1 round. With d dropouts the designated parties send only to the n − d − 1 other
//!   survivors: (t+1)(n−d−1)·8P bytes.
//!
//! This plugin does no encrypted inference: [`SmpcProtocol::share_dataset`] and
//! [`SmpcProtocol::evaluate`] are unsupported and [`SmpcCaps::inference`] is false.

use std::collections::BTreeMap;
use std::time::Instant;

use rand::RngCore;
use rand::seq::SliceRandom;
use securefl_api::{
    Factory, Metered, ModelSpec, PluginError, PluginInfo, SecurityModel, ShareId, SmpcCaps,
    SmpcCtx, SmpcProtocol,
};
use serde::Deserialize;

use crate::net::{EXTERNAL, Meter, Msg, Phase, ring_bytes};

/// The field modulus p = 2^61 − 1.
pub const P: u64 = (1 << 61) - 1;

/// The largest embeddable magnitude, (p−1)/2: signed values lie strictly below it.
pub const HALF: u64 = (P - 1) / 2;

/// `x mod p` for any `u128` (two Mersenne folds and a conditional subtraction).
pub fn reduce(x: u128) -> u64 {
    let p = u128::from(P);
    // x < 2^128: the first fold leaves < 2^61 + 2^67, the second < 2^61 + 2^7.
    let x = (x & p) + (x >> 61);
    let x = (x & p) + (x >> 61);
    let x = x as u64;
    if x >= P { x - P } else { x }
}

/// `a + b mod p` (operands in `[0, p)`).
pub fn add(a: u64, b: u64) -> u64 {
    let s = a + b;
    if s >= P { s - P } else { s }
}

/// `a − b mod p` (operands in `[0, p)`).
pub fn sub(a: u64, b: u64) -> u64 {
    if a >= b { a - b } else { a + P - b }
}

/// `−a mod p`.
pub fn neg(a: u64) -> u64 {
    if a == 0 { 0 } else { P - a }
}

/// `a · b mod p`.
pub fn mul(a: u64, b: u64) -> u64 {
    reduce(u128::from(a) * u128::from(b))
}

/// `a^e mod p` by square-and-multiply.
pub fn pow(a: u64, mut e: u64) -> u64 {
    let (mut base, mut acc) = (reduce(u128::from(a)), 1);
    while e > 0 {
        if e & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    acc
}

/// The inverse of `a` mod p (Fermat: a^(p−2)), or `None` for `a ≡ 0`.
pub fn inv(a: u64) -> Option<u64> {
    let a = reduce(u128::from(a));
    (a != 0).then(|| pow(a, P - 2))
}

/// Embeds a signed integer v ∈ (−(p−1)/2, (p−1)/2) as v mod p; `None` outside that range.
pub fn embed(v: i64) -> Option<u64> {
    (v.unsigned_abs() < HALF).then(|| {
        if v >= 0 {
            v as u64
        } else {
            P - v.unsigned_abs()
        }
    })
}

/// The signed reading of a field element: values above (p−1)/2 are negative.
pub fn signed(a: u64) -> i64 {
    if a > HALF {
        -((P - a) as i64)
    } else {
        a as i64
    }
}

/// The Lagrange coefficients ℓ_j(x) of the distinct `points`: the polynomial of degree
/// < `points.len()` through (points_j, y_j) takes the value Σ_j ℓ_j(x)·y_j at x.
///
/// # Panics
/// If two points are equal mod p.
pub fn lagrange_at(points: &[u64], x: u64) -> Vec<u64> {
    let x = reduce(u128::from(x));
    points
        .iter()
        .enumerate()
        .map(|(j, &xj)| {
            let (mut num, mut den) = (1, 1);
            for (m, &xm) in points.iter().enumerate() {
                if m != j {
                    num = mul(num, sub(x, reduce(u128::from(xm))));
                    den = mul(den, sub(reduce(u128::from(xj)), reduce(u128::from(xm))));
                }
            }
            mul(num, inv(den).expect("evaluation points must be distinct"))
        })
        .collect()
}

/// The Lagrange coefficients at 0 of the distinct, non-zero evaluation points (reconstruction
/// weights: secret = Σ_j λ_j·share_j).
///
/// # Panics
/// If two points are equal mod p.
pub fn lagrange_at_zero(points: &[u64]) -> Vec<u64> {
    lagrange_at(points, 0)
}

/// A uniform field element (rejection sampling of 61-bit words).
pub fn random_element(rng: &mut impl RngCore) -> u64 {
    loop {
        let v = rng.next_u64() >> 3;
        if v < P {
            return v;
        }
    }
}

/// Shares `secret` with a uniformly random polynomial of degree `t`: the shares f(1), …, f(n).
pub fn share(secret: u64, t: usize, n: usize, rng: &mut impl RngCore) -> Vec<u64> {
    let mut coeffs = vec![reduce(u128::from(secret))];
    coeffs.extend((0..t).map(|_| random_element(rng)));
    (1..=n as u64)
        .map(|x| coeffs.iter().rev().fold(0, |acc, &c| add(mul(acc, x), c)))
        .collect()
}

/// The secret f(0) from shares `shares[j] = f(points[j])` of a polynomial of degree
/// < `points.len()`.
///
/// # Panics
/// If the slices differ in length or two points are equal mod p.
pub fn reconstruct(points: &[u64], shares: &[u64]) -> u64 {
    assert_eq!(points.len(), shares.len(), "one share per point");
    lagrange_at_zero(points)
        .iter()
        .zip(shares)
        .fold(0, |acc, (&l, &s)| add(acc, mul(l, s)))
}

/// Parameters of `shamir` (all optional).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ShamirParams {
    /// The threshold t: any t parties learn nothing, any t+1 reconstruct (default ⌊(n−1)/2⌋).
    pub threshold: Option<usize>,
    /// Fractional bits of the fixed-point encoding (default 16).
    pub frac_bits: u32,
    /// Validators that go offline before the reveal of each aggregation (default 0).
    pub dropouts: usize,
    /// Number of parties n (default: the number of validators).
    pub parties: Option<usize>,
}

impl Default for ShamirParams {
    fn default() -> Self {
        Self {
            threshold: None,
            frac_bits: 16,
            dropouts: 0,
            parties: None,
        }
    }
}

/// One shared model: n share vectors and the owner's declared largest magnitude.
#[derive(Debug, Clone)]
struct Shared {
    /// `shares[i]` is party i+1's share vector (α = i+1).
    shares: Vec<Vec<u64>>,
    /// Largest |round(x·2^f)| over the model, with the first coordinate that attains it.
    max_abs: (u64, usize),
}

/// t-of-n Shamir secure aggregation over M61; no encrypted inference.
#[derive(Debug, Clone)]
pub struct ShamirAggregation {
    params: ShamirParams,
    models: BTreeMap<usize, Shared>,
    next_id: usize,
}

impl ShamirAggregation {
    /// The protocol with the given parameters; they are validated by [`SmpcProtocol::check`]
    /// (and again at every call).
    pub fn new(params: ShamirParams) -> Self {
        Self {
            params,
            models: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &ShamirParams {
        &self.params
    }

    /// (n, t) for a federation of `validators`, or why it cannot run.
    pub fn setting(&self, validators: usize) -> Result<(usize, usize), PluginError> {
        let n = self.params.parties.unwrap_or(validators);
        let t = self.params.threshold.unwrap_or(n.saturating_sub(1) / 2);
        let d = self.params.dropouts;
        if self.params.parties.is_some_and(|p| p > validators) {
            return Err(PluginError::invalid(format!(
                "smpc shamir: {n} parties configured but only {validators} validators"
            )));
        }
        if t == 0 {
            return Err(PluginError::invalid(format!(
                "smpc shamir: threshold t = 0 with n = {n} parties gives no secrecy; need t >= 1 (n >= 3)"
            )));
        }
        if n < 2 * t + 1 {
            return Err(PluginError::invalid(format!(
                "smpc shamir: n = {n} parties and threshold t = {t} need n >= 2t+1 = {} (honest majority)",
                2 * t + 1
            )));
        }
        if d > n - (t + 1) {
            return Err(PluginError::invalid(format!(
                "smpc shamir: {d} dropouts leave fewer than t+1 = {} of n = {n} parties to reconstruct; at most {} may drop",
                t + 1,
                n - (t + 1)
            )));
        }
        if self.params.frac_bits > 40 {
            return Err(PluginError::invalid(format!(
                "smpc shamir: frac-bits = {} leaves no headroom in the 61-bit field; use at most 40",
                self.params.frac_bits
            )));
        }
        Ok((n, t))
    }

    fn scale(&self) -> f64 {
        (1u64 << self.params.frac_bits) as f64
    }
}

impl SmpcProtocol for ShamirAggregation {
    fn caps(&self) -> SmpcCaps {
        SmpcCaps {
            parties: self.params.parties.unwrap_or(0),
            security: SecurityModel::SemiHonest,
            honest_majority: true,
            dealer: false,
            inference: false,
        }
    }

    fn grid(&self) -> Option<u32> {
        Some(self.params.frac_bits)
    }

    fn check(&self, validators: usize) -> Result<(), PluginError> {
        self.setting(validators).map(|_| ())
    }

    fn begin_round(&mut self, _ctx: &SmpcCtx) {
        self.models.clear();
    }

    fn share_models(
        &mut self,
        ctx: &SmpcCtx,
        _spec: &ModelSpec,
        models: &[&[f32]],
    ) -> Result<Metered<Vec<ShareId>>, PluginError> {
        let start = Instant::now();
        let (n, t) = self.setting(ctx.validators)?;
        let scale = self.scale();
        let mut meter = Meter::new(n);
        // Parties t+1..n get Σ_i ℓ_i(α_j)·f(i) over the points 0 (the secret) and 1..t.
        let nodes: Vec<u64> = (0..=t as u64).collect();
        let interp: Vec<Vec<u64>> = (t + 1..=n).map(|j| lagrange_at(&nodes, j as u64)).collect();
        let mut shared = Vec::with_capacity(models.len());
        let mut msgs = Vec::new();
        for (h, model) in models.iter().enumerate() {
            let mut secret = Vec::with_capacity(model.len());
            let mut max_abs = (0, 0);
            for (k, &x) in model.iter().enumerate() {
                let v = (f64::from(x) * scale).round();
                if !v.is_finite() || v.abs() >= HALF as f64 {
                    return Err(PluginError::invalid(format!(
                        "smpc shamir: model {h} coordinate {k} = {x} cannot be encoded at {} fractional bits in M61",
                        self.params.frac_bits
                    )));
                }
                let v = v as i64;
                if v.unsigned_abs() > max_abs.0 {
                    max_abs = (v.unsigned_abs(), k);
                }
                secret.push(embed(v).expect("checked against (p-1)/2"));
            }
            // The per-model label is the model's handle, never reused within an instance, so no
            // two models share a polynomial even when a caller repeats a seed.
            let (label, mut shares) = ((self.next_id + h).to_string(), Vec::with_capacity(n));
            for j in 1..=t {
                let mut rng = securefl_api::rng(
                    ctx.seed,
                    &["shamir", "share", &label, "party", &j.to_string()],
                );
                shares.push(
                    (0..model.len())
                        .map(|_| random_element(&mut rng))
                        .collect::<Vec<_>>(),
                );
            }
            for (row, j) in interp.iter().zip(t + 1..=n) {
                let s: Vec<u64> = (0..model.len())
                    .map(|k| {
                        let mut acc = mul(row[0], secret[k]);
                        for (i, &l) in row[1..].iter().enumerate() {
                            acc = add(acc, mul(l, shares[i][k]));
                        }
                        acc
                    })
                    .collect();
                shares.push(s);
                msgs.push(Msg {
                    from: EXTERNAL,
                    to: j - 1,
                    bytes: ring_bytes(model.len()),
                });
            }
            shared.push(Shared { shares, max_abs });
        }
        meter.exchange(Phase::Setup, &msgs);
        let ids = shared
            .into_iter()
            .map(|s| {
                let id = self.next_id;
                self.next_id += 1;
                self.models.insert(id, s);
                ShareId(id)
            })
            .collect();
        meter.compute = start.elapsed();
        Ok(Metered {
            value: ids,
            cost: meter.cost(),
        })
    }

    fn aggregate(
        &mut self,
        ctx: &SmpcCtx,
        ids: &[ShareId],
        weights: &[f64],
    ) -> Result<Metered<Vec<f32>>, PluginError> {
        let start = Instant::now();
        securefl_api::smpc::check_weights("shamir", ids.len(), weights)?;
        let models = ids
            .iter()
            .map(|id| {
                self.models.get(&id.0).ok_or_else(|| {
                    PluginError::invalid(format!(
                        "smpc shamir: no shared model {} (shares are dropped each round)",
                        id.0
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let n = models[0].shares.len();
        let len = models[0].shares[0].len();
        if models
            .iter()
            .any(|m| m.shares.len() != n || m.shares[0].len() != len)
        {
            return Err(PluginError::invalid(
                "smpc shamir: models differ in length or in the number of parties",
            ));
        }
        let (n_now, t) = self.setting(ctx.validators)?;
        if n_now != n {
            return Err(PluginError::invalid(format!(
                "smpc shamir: models were shared among {n} parties, but {n_now} parties aggregate"
            )));
        }
        let q = crate::plugin::quantize_weights(weights);
        let total: u64 = q.iter().sum();
        // Overflow: Σ q_h·|x_h|·2^f < (p−1)/2 bounds every coordinate's signed sum.
        let bound: u128 = models
            .iter()
            .zip(&q)
            .map(|(m, &w)| u128::from(w) * u128::from(m.max_abs.0))
            .sum();
        if bound >= u128::from(HALF) {
            let (h, m) = models
                .iter()
                .enumerate()
                .max_by_key(|(h, m)| u128::from(q[*h]) * u128::from(m.max_abs.0))
                .expect("at least one model");
            return Err(PluginError::invalid(format!(
                "smpc shamir: model {} (coordinate {}, |x| = {}) is too large to aggregate safely: \
                 Σ w·|x|·2^f = {bound} >= (p-1)/2 = {HALF}; lower frac-bits or the weights",
                ids[h].0,
                m.max_abs.1,
                m.max_abs.0 as f64 / self.scale()
            )));
        }
        // Dropouts drawn from the call's seed; the first t+1 survivors open their shares.
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut securefl_api::rng(ctx.seed, &["shamir", "dropouts"]));
        let mut survivors = order[self.params.dropouts..].to_vec();
        survivors.sort_unstable();
        let designated = &survivors[..t + 1];
        // Local step: each designated party computes Σ_h q_h·share_h (no communication).
        let local: Vec<Vec<u64>> = designated
            .iter()
            .map(|&i| {
                let mut acc = vec![0u128; len];
                for (m, &w) in models.iter().zip(&q) {
                    for (a, &s) in acc.iter_mut().zip(&m.shares[i]) {
                        *a += u128::from(w) * u128::from(s);
                    }
                }
                acc.into_iter().map(reduce).collect()
            })
            .collect();
        // Reveal: the designated parties send their share to every other survivor (1 round).
        let msgs: Vec<Msg> = designated
            .iter()
            .flat_map(|&from| {
                survivors
                    .iter()
                    .filter(move |&&to| to != from)
                    .map(move |&to| Msg {
                        from,
                        to,
                        bytes: ring_bytes(len),
                    })
            })
            .collect();
        let mut meter = Meter::new(n);
        meter.exchange(Phase::Online, &msgs);
        let points: Vec<u64> = designated.iter().map(|&i| i as u64 + 1).collect();
        let lambda = lagrange_at_zero(&points);
        let denom = total as f64 * self.scale();
        let value = (0..len)
            .map(|k| {
                let s = lambda
                    .iter()
                    .zip(&local)
                    .fold(0, |acc, (&l, sh)| add(acc, mul(l, sh[k])));
                (signed(s) as f64 / denom) as f32
            })
            .collect();
        meter.compute = start.elapsed();
        let mut cost = meter.cost();
        cost.open("aggregate-model", 1);
        Ok(Metered { value, cost })
    }
}

/// The `shamir` SMPC plugin.
pub fn factory() -> Factory<dyn SmpcProtocol> {
    Factory::new(
        PluginInfo::new(
            "shamir",
            env!("CARGO_PKG_VERSION"),
            "t-of-n Shamir secure aggregation over M61 among the validators (honest majority, dropout-tolerant; no encrypted inference)",
        )
        .cite("Shamir, How to share a secret, CACM 1979; Ben-Or, Goldwasser and Wigderson, STOC 1988"),
        |p| {
            let params: ShamirParams = p.parse()?;
            Ok(Box::new(ShamirAggregation::new(params)) as Box<dyn SmpcProtocol>)
        },
    )
}
