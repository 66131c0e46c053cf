//! Adapts an [`Mpc`] protocol to the harness's [`SmpcProtocol`] plugin trait.
//!
//! Models and datasets are shared once and kept by id. Verification runs the encrypted network
//! on the shared dataset in batches and opens only what the query asks for. Aggregation is
//! FedAvg over the *same* shares that were verified: each party multiplies its shares by the
//! public integer weights and sums them locally; only the weighted sum is opened, then divided
//! by the total weight in the clear.

use std::time::Instant;

use securefl_api::layout::ChannelLast;
use securefl_api::smpc::{DataId, EvalOutcome, EvalQuery, Score};
use securefl_api::{
    ImageSet, Metered, ModelSpec, PluginError, ShareId, SmpcCaps, SmpcCtx, SmpcProtocol,
};

use crate::mpc::Mpc;
use crate::net::Meter;
use crate::nn::{self, SharedData, SharedModel};
use crate::norm;

/// Builds a protocol instance from a seed (the first call's derived seed).
pub type MakeFn<P> = Box<dyn Fn(u64) -> P + Send>;

/// An [`Mpc`] protocol as an SMPC plugin.
pub struct MpcPlugin<P: Mpc> {
    name: String,
    caps: SmpcCaps,
    make: MakeFn<P>,
    batch: usize,
    proto: Option<P>,
    shared: Shared<P>,
}

/// What the protocol holds: shared models (by [`ShareId`]) and datasets (by [`DataId`]).
pub struct Shared<P: Mpc> {
    models: Vec<Option<SharedModel<P>>>,
    data: Vec<SharedData<P>>,
}

impl<P: Mpc> Shared<P> {
    /// The shared model `id` of this round.
    fn model(&self, id: ShareId) -> Result<&SharedModel<P>, PluginError> {
        self.models
            .get(id.0)
            .and_then(Option::as_ref)
            .ok_or_else(|| PluginError::invalid(format!("smpc: no shared model {}", id.0)))
    }
}

impl<P: Mpc> MpcPlugin<P> {
    /// The plugin `name` with capabilities `caps`, evaluating `batch` images at a time.
    pub fn new(name: &str, caps: SmpcCaps, batch: usize, make: MakeFn<P>) -> Self {
        Self {
            name: name.to_owned(),
            caps,
            make,
            batch: batch.max(1),
            proto: None,
            shared: Shared {
                models: Vec::new(),
                data: Vec::new(),
            },
        }
    }

    /// Runs `f` on the protocol and returns its result with the cost it added.
    fn metered<T>(
        &mut self,
        seed: u64,
        f: impl FnOnce(&mut P, &mut Shared<P>) -> Result<T, PluginError>,
    ) -> Result<Metered<T>, PluginError> {
        let p = self.proto.get_or_insert_with(|| (self.make)(seed));
        let before: Meter = p.meter().clone();
        let t = Instant::now();
        let out = f(p, &mut self.shared);
        p.meter().compute += t.elapsed();
        let cost = p.meter().since(&before);
        Ok(Metered { value: out?, cost })
    }
}

impl<P: Mpc + Send> SmpcProtocol for MpcPlugin<P>
where
    P::A: Send,
    P::B: Send,
{
    fn caps(&self) -> SmpcCaps {
        self.caps
    }

    fn begin_round(&mut self, _ctx: &SmpcCtx) {
        self.shared.models.clear();
    }

    fn share_models(
        &mut self,
        ctx: &SmpcCtx,
        spec: &ModelSpec,
        models: &[&[f32]],
    ) -> Result<Metered<Vec<ShareId>>, PluginError> {
        self.metered(ctx.seed, |p, shared| {
            let mut ids = Vec::new();
            for m in models {
                if m.len() != spec.param_count() {
                    return Err(PluginError::invalid(format!(
                        "smpc: model has {} weights, {} needs {}",
                        m.len(),
                        spec.arch.name(),
                        spec.param_count()
                    )));
                }
                ids.push(ShareId(shared.models.len()));
                shared.models.push(Some(nn::share_model(p, spec, m)));
            }
            Ok(ids)
        })
    }

    fn share_dataset(
        &mut self,
        ctx: &SmpcCtx,
        data: &ImageSet,
        classes: usize,
    ) -> Result<Metered<DataId>, PluginError> {
        self.metered(ctx.seed, |p, shared| {
            shared.data.push(nn::share_data(p, data, classes));
            Ok(DataId(shared.data.len() - 1))
        })
    }

    fn evaluate(
        &mut self,
        ctx: &SmpcCtx,
        model: ShareId,
        data: DataId,
        query: &EvalQuery,
    ) -> Result<Metered<EvalOutcome>, PluginError> {
        let batch = self.batch;
        self.metered(ctx.seed, |p, shared| {
            let m = shared.model(model)?;
            let d = shared.data.get(data.0).ok_or_else(|| {
                PluginError::invalid(format!("smpc: no shared dataset {}", data.0))
            })?;
            let (per_class, predicted) = nn::evaluate(p, m, d, batch);
            let weights = ScoreWeights::new(query.score, d.class_counts());
            let value = p.sum(&p.mul_public(&per_class, &weights.per_class));
            let passed = pass_bit(p, &per_class, d.class_counts(), &value, &weights, query);
            let score = query
                .reveal_score
                .then(|| p.reveal(&value)[0] as f64 / weights.denominator as f64);
            let predictions = query
                .reveal_predictions
                .then(|| p.reveal(&predicted).iter().map(|&v| v as u32).collect());
            Ok(EvalOutcome {
                total: d.len() as u64,
                score,
                passed,
                predictions,
            })
        })
    }

    fn norm_bound(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        reference: ShareId,
        factor: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        if !(factor.is_finite() && factor >= 1.0) {
            return Err(PluginError::invalid(format!(
                "smpc {}: norm bound factor {factor} is not a number ≥ 1",
                self.name
            )));
        }
        self.metered(ctx.seed, |p, shared| {
            let g = shared.model(reference)?;
            let ms = models
                .iter()
                .map(|&id| Ok(&shared.model(id)?.params))
                .collect::<Result<Vec<_>, PluginError>>()?;
            Ok(norm::within_bound(p, &ms, &g.params, factor))
        })
    }

    fn aggregate(
        &mut self,
        ctx: &SmpcCtx,
        ids: &[ShareId],
        weights: &[f64],
    ) -> Result<Metered<Vec<f32>>, PluginError> {
        let ints = integer_weights(&self.name, ids.len(), weights)?;
        self.metered(ctx.seed, |p, shared| {
            let models = ids
                .iter()
                .map(|&id| shared.model(id))
                .collect::<Result<Vec<_>, _>>()?;
            let spec = models[0].spec();
            let params: Vec<&P::A> = models.iter().map(|m| &m.params).collect();
            let fx = p.fixed();
            let total: u64 = ints.iter().sum();
            let opened = weighted_sum(p, &params, &ints);
            let internal: Vec<f32> = opened
                .iter()
                .map(|&v| (fx.decode(v) / total as f64) as f32)
                .collect();
            Ok(ChannelLast::new(&spec).export(&internal))
        })
    }
}

/// Opens `sum_h w_h * x_h` for public integer weights: local products and sums, one reveal.
pub fn weighted_sum<P: Mpc>(p: &mut P, shares: &[&P::A], weights: &[u64]) -> Vec<u64> {
    let mut sum = p.mul_public(shares[0], &[weights[0]]);
    for (x, &w) in shares.iter().zip(weights).skip(1) {
        sum = p.add(&sum, &p.mul_public(x, &[w]));
    }
    p.reveal(&sum)
}

/// Largest weight used as an integer as is; larger or fractional weights are quantized.
pub const MAX_INT_WEIGHT: f64 = (1u64 << 20) as f64;

/// Bits of quantized weights: the largest weight becomes 2^16.
pub const WEIGHT_BITS: u32 = 16;

/// FedAvg weights as public integers, after [`securefl_api::smpc::check_weights`]; `protocol`
/// names the caller in errors.
pub fn integer_weights(protocol: &str, n: usize, weights: &[f64]) -> Result<Vec<u64>, PluginError> {
    securefl_api::smpc::check_weights(protocol, n, weights)?;
    Ok(quantize_weights(weights))
}

/// Sample counts (integers up to [`MAX_INT_WEIGHT`]) are used as they are; other weights are
/// scaled so the largest is 2^[`WEIGHT_BITS`] and rounded (a relative error below 2^-16 each).
pub fn quantize_weights(weights: &[f64]) -> Vec<u64> {
    if weights
        .iter()
        .all(|&w| w.fract() == 0.0 && w <= MAX_INT_WEIGHT)
    {
        return weights.iter().map(|&w| w as u64).collect();
    }
    let max = weights.iter().copied().fold(0.0, f64::max);
    let top = f64::from(1u32 << WEIGHT_BITS);
    weights
        .iter()
        .map(|&w| (w / max * top).round() as u64)
        .collect()
}

/// Opens whether every condition of `query` holds: the comparisons run as one vector
/// comparison, the logic in shares, and only the final bit is opened.
fn pass_bit<P: Mpc>(
    p: &mut P,
    per_class: &P::A,
    counts: &[u64],
    value: &P::A,
    weights: &ScoreWeights,
    query: &EvalQuery,
) -> Option<bool> {
    // Each margin is ≥ 0 exactly when its condition holds.
    let mut margins = Vec::new();
    let margin = |p: &P, w: &ScoreWeights, bar: f64| {
        let v = p.sum(&p.mul_public(per_class, &w.per_class));
        p.sub(&v, &p.public(&[w.at_least(bar)]))
    };
    if let Some(t) = query.min_score {
        margins.push(p.sub(value, &p.public(&[weights.at_least(t)])));
    }
    if let Some(t) = query.floor_accuracy {
        let balanced = ScoreWeights::new(Score::BalancedAccuracy, counts);
        let present = counts.iter().filter(|&&n| n > 0).count().max(1);
        margins.push(margin(p, &ScoreWeights::new(Score::Accuracy, counts), t));
        margins.push(margin(p, &balanced, 1.0 / present as f64 + ABOVE_CHANCE));
    }
    if margins.is_empty() {
        return None;
    }
    let bits = p.drelu(&p.concat(&margins.iter().collect::<Vec<_>>()));
    let bit = |p: &P, i: usize| p.gather_bits(&bits, &[i]);
    let mut pass = None;
    if query.min_score.is_some() {
        pass = Some(bit(p, 0));
    }
    if query.floor_accuracy.is_some() {
        // a OR b = NOT (NOT a AND NOT b).
        let at = margins.len() - 2;
        let (a, b) = (p.not(&bit(p, at)), p.not(&bit(p, at + 1)));
        let neither = p.and(&a, &b);
        let floor = p.not(&neither);
        pass = Some(match pass {
            Some(s) => p.and(&s, &floor),
            None => floor,
        });
    }
    pass.map(|b| p.reveal_bits(&b)[0])
}

/// How far above chance (in balanced accuracy) a model must be to clear the floor without the
/// plain-accuracy branch.
const ABOVE_CHANCE: f64 = 0.01;

/// A score as a public integer combination of per-class correct counts:
/// `score = Σ_c per_class[c] · correct_c / denominator`.
struct ScoreWeights {
    per_class: Vec<u64>,
    denominator: u64,
}

/// Fixed-point bits of the balanced-accuracy weights `⌊2^K / n_c⌋`: with at most a few dozen
/// classes the weighted sum stays far below the comparison range `2^47`, and the score is
/// within `C / 2^K` (below 1e-10) of the exact balanced accuracy.
const BALANCED_BITS: u32 = 40;

/// Scores this close below a pass bar still pass (far above the weights' rounding, far below
/// one image in a validation split).
const SCORE_TOLERANCE: f64 = 1e-9;

impl ScoreWeights {
    fn new(score: Score, counts: &[u64]) -> Self {
        match score {
            Score::Accuracy => Self {
                per_class: vec![1; counts.len()],
                denominator: counts.iter().sum::<u64>().max(1),
            },
            Score::BalancedAccuracy => {
                let present = counts.iter().filter(|&&n| n > 0).count() as u64;
                Self {
                    per_class: counts
                        .iter()
                        .map(|&n| (1u64 << BALANCED_BITS).checked_div(n).unwrap_or(0))
                        .collect(),
                    denominator: present.max(1) << BALANCED_BITS,
                }
            }
        }
    }

    /// The smallest weighted sum whose score is at least `score` (clamped to [0, 1]), less
    /// [`SCORE_TOLERANCE`]: the rounded balanced-accuracy weights put a score that equals the
    /// bar (a constant predictor against a constant-predictor floor) a hair below it.
    fn at_least(&self, score: f64) -> u64 {
        ((score - SCORE_TOLERANCE).clamp(0.0, 1.0) * self.denominator as f64).ceil() as u64
    }
}
