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
    ImageSet, Metered, ModelSpec, NeighbourRule, PluginError, ShareId, SmpcCaps, SmpcCtx,
    SmpcProtocol,
};

use crate::classwise;
use crate::median;
use crate::mpc::Mpc;
use crate::neighbours;
use crate::net::Meter;
use crate::nn::{self, SharedData, SharedModel};
use crate::norm;
use crate::range;

/// Builds a protocol instance from a seed (the first call's derived seed).
pub type MakeFn<P> = Box<dyn Fn(u64) -> P + Send>;

/// An [`Mpc`] protocol as an SMPC plugin.
pub struct MpcPlugin<P: Mpc> {
    name: String,
    frac_bits: u32,
    caps: SmpcCaps,
    make: MakeFn<P>,
    batch: usize,
    proto: Option<P>,
    shared: Shared<P>,
}

/// What the protocol holds: shared models (by [`ShareId`]) and datasets (by [`DataId`]).
pub struct Shared<P: Mpc> {
    models: Vec<Option<SharedModel<P>>>,
    /// For each model, its kept score and floor bit ([`EvalQuery::keep`]).
    kept: Vec<Option<Kept<P>>>,
    /// For each model, the range bound (ring units) it passed, if it passed one.
    in_range: Vec<Option<u64>>,
    /// For each model, its kept conditions (range and norm bits, ANDed), which every pass bit
    /// it opens this round includes.
    pending: Vec<Option<P::B>>,
    data: Vec<SharedData<P>>,
}

/// A kept evaluation: the shared score at scale `denominator`, the shared per-class counts of
/// correct predictions, and the shared floor bit.
struct Kept<P: Mpc> {
    value: P::A,
    per_class: P::A,
    floor: Option<P::B>,
    denominator: u64,
    /// The dataset it was evaluated on.
    data: DataId,
}

impl<P: Mpc> Shared<P> {
    /// The shared model `id` of this round.
    fn model(&self, id: ShareId) -> Result<&SharedModel<P>, PluginError> {
        self.models
            .get(id.0)
            .and_then(Option::as_ref)
            .ok_or_else(|| PluginError::invalid(format!("smpc: no shared model {}", id.0)))
    }

    /// ANDs bit `i` of `bits` into the kept conditions of `models[i]`, for every model.
    fn keep_each(&mut self, p: &mut P, models: &[ShareId], bits: &P::B) {
        for (i, &id) in models.iter().enumerate() {
            let bit = p.gather_bits(bits, &[i]);
            let joined = match self.pending[id.0].take() {
                Some(c) => p.and(&c, &bit),
                None => bit,
            };
            self.pending[id.0] = Some(joined);
        }
    }

    /// `bit` AND model `id`'s kept conditions (`None` when neither exists). The conditions stay
    /// for the round: every pass bit the model opens includes them (one per validator when
    /// each validator judges it on a split of its own).
    fn and_pending(&self, p: &mut P, id: ShareId, bit: Option<P::B>) -> Option<P::B> {
        match (bit, self.pending[id.0].clone()) {
            (Some(b), Some(c)) => Some(p.and(&b, &c)),
            (b, c) => b.or(c),
        }
    }

    /// Fails unless model `id` passed a range check within `±limit` (ring units).
    fn checked(&self, id: ShareId, limit: u64, what: &str) -> Result<(), PluginError> {
        match self.in_range.get(id.0).copied().flatten() {
            Some(b) if b <= limit => Ok(()),
            Some(b) => Err(PluginError::invalid(format!(
                "smpc: {what} needs models range-checked within ±{limit} ring units, model share {} \
                 was checked within ±{b}: lower smpc-verify's weight-bound (or frac-bits)",
                id.0
            ))),
            None => Err(PluginError::invalid(format!(
                "smpc: {what} needs range-checked models, model share {} was not checked (or failed)",
                id.0
            ))),
        }
    }
}

impl<P: Mpc> MpcPlugin<P> {
    /// The plugin `name` with capabilities `caps`, sharing on the grid of `frac_bits` and
    /// evaluating `batch` images at a time.
    pub fn new(name: &str, caps: SmpcCaps, frac_bits: u32, batch: usize, make: MakeFn<P>) -> Self {
        Self {
            name: name.to_owned(),
            frac_bits,
            caps,
            make,
            batch: batch.max(1),
            proto: None,
            shared: Shared {
                models: Vec::new(),
                kept: Vec::new(),
                in_range: Vec::new(),
                pending: Vec::new(),
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

    fn grid(&self) -> Option<u32> {
        Some(self.frac_bits)
    }

    fn norm_weight_limit(&self, params: usize, factor: f64) -> Option<f64> {
        let bits = range::norm_safe_bits(params, norm::factor_int(factor));
        Some(2f64.powi(bits as i32 - self.frac_bits as i32))
    }

    fn begin_round(&mut self, _ctx: &SmpcCtx) {
        self.shared.models.clear();
        self.shared.kept.clear();
        self.shared.in_range.clear();
        self.shared.pending.clear();
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
                shared.kept.push(None);
                shared.in_range.push(None);
                shared.pending.push(None);
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
        let name = self.name.clone();
        self.metered(ctx.seed, |p, shared| {
            balanced_bits(p.fixed().frac_bits, classes)
                .map_err(|e| PluginError::invalid(format!("smpc {name}: {e}")))?;
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
        if query.keep && query.min_score.is_some() {
            return Err(PluginError::invalid(
                "smpc: a kept evaluation takes no min_score (the round-level rule decides)",
            ));
        }
        self.metered(ctx.seed, |p, shared| {
            let m = shared.model(model)?;
            let d = shared.data.get(data.0).ok_or_else(|| {
                PluginError::invalid(format!("smpc: no shared dataset {}", data.0))
            })?;
            let (per_class, predicted) = nn::evaluate(p, m, d, batch);
            let (total, counts) = (d.len() as u64, d.class_counts().to_vec());
            let k =
                balanced_bits(p.fixed().frac_bits, counts.len()).map_err(PluginError::invalid)?;
            let weights = ScoreWeights::new(query.score, &counts, k);
            let value = p.sum(&p.mul_public(&per_class, &weights.per_class));
            let bit = pass_share(p, &per_class, &counts, &value, &weights, query)?;
            // Kept conditions join the opened bit (or the kept floor of the median rule); with
            // no bit to open they stay pending and are never opened.
            let bit = if bit.is_some() || query.keep {
                shared.and_pending(p, model, bit)
            } else {
                None
            };
            let passed = if query.keep {
                shared.kept[model.0] = Some(Kept {
                    value: value.clone(),
                    per_class: per_class.clone(),
                    floor: bit,
                    denominator: weights.denominator,
                    data,
                });
                None
            } else {
                bit.map(|b| p.reveal_bits(&b)[0])
            };
            let score = query
                .reveal_score
                .then(|| p.reveal(&value)[0] as f64 / weights.denominator as f64);
            let predictions: Option<Vec<u32>> = query
                .reveal_predictions
                .then(|| p.reveal(&predicted).iter().map(|&v| v as u32).collect());
            Ok(EvalOutcome {
                total,
                score,
                passed,
                predictions,
            })
        })
        .map(|mut out| {
            let o = &out.value;
            let opened = [
                ("pass-bit", u64::from(o.passed.is_some())),
                ("score", u64::from(o.score.is_some())),
                (
                    "prediction",
                    o.predictions.as_ref().map_or(0, |v| v.len() as u64),
                ),
            ];
            for (what, count) in opened.into_iter().filter(|(_, c)| *c > 0) {
                out.cost.open(what, count);
            }
            out
        })
    }

    fn range_check(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        bound: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        let name = self.name.clone();
        let mut out = self.metered(ctx.seed, |p, shared| {
            let ring = ring_bound(p, &name, bound)?;
            let params = models
                .iter()
                .map(|&id| Ok(&shared.model(id)?.params))
                .collect::<Result<Vec<_>, PluginError>>()?;
            let pass = range::in_range(p, &params, ring);
            for (&id, &ok) in models.iter().zip(&pass) {
                shared.in_range[id.0] = ok.then_some(ring);
            }
            Ok(pass)
        })?;
        out.cost.open("range-bit", models.len() as u64);
        Ok(out)
    }

    fn median_rule(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        margin: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        let name = self.name.clone();
        let mut out = self.metered(ctx.seed, |p, shared| {
            let kept = models
                .iter()
                .map(|&id| {
                    shared.kept.get(id.0).and_then(Option::as_ref).ok_or_else(|| {
                        PluginError::invalid(format!(
                            "smpc {name}: the median rule needs model share {} evaluated with keep",
                            id.0
                        ))
                    })
                })
                .collect::<Result<Vec<_>, PluginError>>()?;
            let Some(first) = kept.first() else {
                return Ok(Vec::new());
            };
            let floors: Vec<&P::B> = kept.iter().filter_map(|k| k.floor.as_ref()).collect();
            if kept.iter().any(|k| k.denominator != first.denominator)
                || !(floors.is_empty() || floors.len() == kept.len())
            {
                return Err(PluginError::invalid(format!(
                    "smpc {name}: the median rule's models were evaluated with different queries"
                )));
            }
            let floors = (!floors.is_empty()).then(|| p.concat_bits(&floors));
            if !(margin.is_finite() && (0.0..=1.0).contains(&margin)) {
                return Err(PluginError::invalid(format!(
                    "smpc {name}: median rule margin {margin} is not in [0, 1]"
                )));
            }
            // Floor: the integer rule `2s + margin2 ≥ M2` must not accept a score a fraction of
            // a step below the real bar.
            let margin2 = (2.0 * margin * first.denominator as f64).floor() as u64;
            let scores: Vec<&P::A> = kept.iter().map(|k| &k.value).collect();
            let before = p.meter().range_failures;
            let pass = median::median_rule(p, &scores, floors.as_ref(), margin2);
            loud(p, before, &name, "the median rule")?;
            Ok(pass)
        })?;
        out.cost.open("pass-bit", models.len() as u64);
        Ok(out)
    }

    fn norm_bound(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        reference: ShareId,
        factor: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        let mut out = self.norm_bits(ctx, models, reference, factor, |p, _, bits| match bits {
            Some(b) => p.reveal_bits(&b),
            None => vec![true; models.len()],
        })?;
        // Below three models every model passes without a comparison: nothing is opened.
        let opened = if out.value.len() >= 3 {
            out.value.len()
        } else {
            0
        };
        out.cost.open("norm-bit", opened as u64);
        Ok(out)
    }

    fn norm_bound_kept(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        reference: ShareId,
        factor: f64,
    ) -> Result<Metered<()>, PluginError> {
        self.norm_bits(ctx, models, reference, factor, |p, shared, bits| {
            if let Some(b) = bits {
                shared.keep_each(p, models, &b);
            }
        })
    }

    fn neighbours_kept(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        k: usize,
        rule: NeighbourRule,
    ) -> Result<Metered<()>, PluginError> {
        // The rank compares unscaled scores: as exact as a bound of factor 1.
        let factor = match rule {
            NeighbourRule::Bound(factor) => factor,
            NeighbourRule::Lowest(_) => 1.0,
        };
        check_factor(&self.name, "neighbour bound", factor)?;
        let name = self.name.clone();
        self.metered(ctx.seed, |p, shared| {
            let mut ms = Vec::with_capacity(models.len());
            for &id in models {
                let m = &shared.model(id)?.params;
                let ring = shared
                    .in_range
                    .get(id.0)
                    .copied()
                    .flatten()
                    .ok_or_else(|| {
                        PluginError::invalid(format!(
                            "smpc {name}: the neighbour bound needs range-checked models"
                        ))
                    })?;
                let bits = 64 - ring.saturating_sub(1).leading_zeros();
                if !neighbours::safe(P::len(m), bits, k, factor) {
                    return Err(PluginError::invalid(format!(
                        "smpc {name}: a neighbour bound of factor {factor} over {k} neighbours \
                         cannot compare exactly with weights within ±{} ring units: lower \
                         smpc-verify's weight-bound (2 fits factor 3 with the paper CNN)",
                        ring
                    )));
                }
                ms.push(m);
            }
            let before = p.meter().range_failures;
            let bits = match rule {
                NeighbourRule::Bound(factor) => neighbours::within_bound(p, &ms, k, factor),
                NeighbourRule::Lowest(drop) => neighbours::lowest(p, &ms, k, drop),
            };
            loud(p, before, &name, "the neighbour rule")?;
            if let Some(b) = bits {
                shared.keep_each(p, models, &b);
            }
            Ok(())
        })
    }

    fn range_check_kept(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        bound: f64,
    ) -> Result<Metered<()>, PluginError> {
        let name = self.name.clone();
        self.metered(ctx.seed, |p, shared| {
            let ring = ring_bound(p, &name, bound)?;
            if models.is_empty() {
                return Ok(());
            }
            let params = models
                .iter()
                .map(|&id| Ok(&shared.model(id)?.params))
                .collect::<Result<Vec<_>, PluginError>>()?;
            let (bits, clamped) = range::clamp(p, &params, ring);
            for (&id, params) in models.iter().zip(clamped) {
                let spec = shared.model(id)?.spec();
                shared.models[id.0] = Some(nn::model_from_params(p, &spec, params));
                shared.in_range[id.0] = Some(ring);
            }
            shared.keep_each(p, models, &bits);
            Ok(())
        })
    }

    fn class_rule(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        reference: ShareId,
        data: DataId,
        class_counts: &[Vec<u64>],
        margin: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        let name = self.name.clone();
        let mut out = self.metered(ctx.seed, |p, shared| {
            class_bits(
                p,
                shared,
                &name,
                models,
                reference,
                data,
                class_counts,
                margin,
            )
        })?;
        out.cost.open("pass-bit", models.len() as u64);
        Ok(out)
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
        .map(|mut out| {
            out.cost.open("aggregate-model", 1);
            out
        })
    }
}

impl<P: Mpc> MpcPlugin<P> {
    /// The norm bound's shared bits for `models` (`None` below three models: all pass), handed
    /// to `then`, after checking the factor and that every model passed a narrow enough range
    /// check.
    fn norm_bits<T>(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        reference: ShareId,
        factor: f64,
        then: impl FnOnce(&mut P, &mut Shared<P>, Option<P::B>) -> T,
    ) -> Result<Metered<T>, PluginError> {
        check_factor(&self.name, "norm bound", factor)?;
        let name = self.name.clone();
        self.metered(ctx.seed, |p, shared| {
            let g = shared.model(reference)?;
            let limit = 1u64 << range::norm_safe_bits(P::len(&g.params), norm::factor_int(factor));
            for &id in models.iter().chain([&reference]) {
                shared.checked(id, limit, "the norm bound")?;
            }
            let ms = models
                .iter()
                .map(|&id| Ok(&shared.model(id)?.params))
                .collect::<Result<Vec<_>, PluginError>>()?;
            let before = p.meter().range_failures;
            let bits = norm::within_bound(p, &ms, &g.params, factor);
            loud(p, before, &name, "the norm bound's count")?;
            Ok(then(p, shared, bits))
        })
    }
}

/// The opened bits of [`SmpcProtocol::class_rule`] (see [`classwise`]).
#[expect(
    clippy::too_many_arguments,
    reason = "the trait method's arguments, passed through"
)]
fn class_bits<P: Mpc>(
    p: &mut P,
    shared: &mut Shared<P>,
    name: &str,
    models: &[ShareId],
    reference: ShareId,
    data: DataId,
    class_counts: &[Vec<u64>],
    margin: f64,
) -> Result<Vec<bool>, PluginError> {
    let counts = shared
        .data
        .get(data.0)
        .ok_or_else(|| PluginError::invalid(format!("smpc {name}: no shared dataset {}", data.0)))?
        .class_counts()
        .to_vec();
    if class_counts.len() != models.len() || class_counts.iter().any(|h| h.len() != counts.len()) {
        return Err(PluginError::invalid(format!(
            "smpc {name}: the class rule needs one {}-class histogram per model",
            counts.len()
        )));
    }
    if !(margin.is_finite() && (0.0..=1.0).contains(&margin)) {
        return Err(PluginError::invalid(format!(
            "smpc {name}: class rule margin {margin} is not in [0, 1]"
        )));
    }
    let kept = |id: ShareId| {
        shared
            .kept
            .get(id.0)
            .and_then(Option::as_ref)
            .filter(|k| k.data == data)
            .ok_or_else(|| {
                PluginError::invalid(format!(
                    "smpc {name}: the class rule needs model share {} evaluated with keep on \
                     dataset {}",
                    id.0, data.0
                ))
            })
    };
    let global = kept(reference)?.per_class.clone();
    let correct: Vec<P::A> = models
        .iter()
        .map(|&id| Ok(kept(id)?.per_class.clone()))
        .collect::<Result<_, PluginError>>()?;
    let k = balanced_bits(p.fixed().frac_bits, counts.len()).map_err(PluginError::invalid)?;
    let weights = ScoreWeights::new(Score::BalancedAccuracy, &counts, k).per_class;
    // Each hospital inputs its own fractions; the validators see only shares.
    let hists: Vec<P::A> = class_counts
        .iter()
        .map(|h| p.input(&classwise::fractions(h)))
        .collect();
    let scale = (1u64 << k) as f64 * f64::from(1u32 << classwise::HIST_BITS);
    let margin = (margin * scale).floor() as u64;
    let refs: Vec<&P::A> = correct.iter().collect();
    let bits = classwise::at_least_global(p, &refs, &global, &hists, &weights, margin);
    let mut pass = Vec::with_capacity(models.len());
    for (i, &id) in models.iter().enumerate() {
        let bit = p.gather_bits(&bits, &[i]);
        // The kept floor holds the model's conditions as of its evaluation on `data`.
        let floor = shared.kept[id.0].as_mut().and_then(|k| k.floor.take());
        pass.push(match floor {
            Some(f) => p.and(&bit, &f),
            None => bit,
        });
    }
    let all = p.concat_bits(&pass.iter().collect::<Vec<_>>());
    Ok(p.reveal_bits(&all))
}

/// Refuses a bound's `factor` unless it is a number ≥ 1.
fn check_factor(name: &str, what: &str, factor: f64) -> Result<(), PluginError> {
    if factor.is_finite() && factor >= 1.0 {
        return Ok(());
    }
    Err(PluginError::invalid(format!(
        "smpc {name}: {what} factor {factor} is not a number ≥ 1"
    )))
}

/// The range bound `bound` (real units) in ring units, refused unless it is representable.
fn ring_bound<P: Mpc>(p: &P, name: &str, bound: f64) -> Result<u64, PluginError> {
    let ring = bound * p.fixed().scale();
    if !(ring >= 1.0 && ring < (1u64 << 62) as f64) {
        return Err(PluginError::invalid(format!(
            "smpc {name}: range bound {bound} is not representable at frac-bits {}",
            p.fixed().frac_bits
        )));
    }
    Ok(ring as u64)
}

/// Fails when a comparison since `before` had an input outside its exact range: the bit it
/// opened is then arbitrary, and a verdict must never rest on it.
fn loud<P: Mpc>(p: &mut P, before: u64, name: &str, what: &str) -> Result<(), PluginError> {
    let failures = p.meter().range_failures - before;
    if failures > 0 {
        return Err(PluginError::invalid(format!(
            "smpc {name}: {failures} comparison inputs of {what} were outside the ring's exact \
             range, so its opened bits cannot be trusted"
        )));
    }
    Ok(())
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

/// Whether every condition of `query` holds, as one shared bit: the comparisons run as one
/// vector comparison and the logic in shares; nothing is opened.
fn pass_share<P: Mpc>(
    p: &mut P,
    per_class: &P::A,
    counts: &[u64],
    value: &P::A,
    weights: &ScoreWeights,
    query: &EvalQuery,
) -> Result<Option<P::B>, PluginError> {
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
        let balanced = ScoreWeights::new(Score::BalancedAccuracy, counts, weights.bits);
        let present = counts.iter().filter(|&&n| n > 0).count().max(1);
        margins.push(margin(
            p,
            &ScoreWeights::new(Score::Accuracy, counts, weights.bits),
            t,
        ));
        margins.push(margin(p, &balanced, 1.0 / present as f64 + ABOVE_CHANCE));
    }
    if margins.is_empty() {
        return Ok(None);
    }
    let before = p.meter().range_failures;
    let bits = p.drelu(&p.concat(&margins.iter().collect::<Vec<_>>()));
    loud(p, before, "evaluation", "the pass bit")?;
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
    Ok(pass)
}

/// How far above chance (in balanced accuracy) a model must be to clear the floor without the
/// plain-accuracy branch.
const ABOVE_CHANCE: f64 = 0.01;

/// A score as a public integer combination of per-class correct counts:
/// `score = Σ_c per_class[c] · correct_c / denominator`.
struct ScoreWeights {
    per_class: Vec<u64>,
    denominator: u64,
    /// Fixed-point bits `K` of the balanced-accuracy weights.
    bits: u32,
}

/// Fewest fixed-point bits `K` the balanced-accuracy weights may have: the score is then within
/// `C / 2^K` of the exact balanced accuracy, at most 2^-20 for every class count allowed, far
/// below one image of a validation split (the pass bars allow twice that rounding).
const MIN_BALANCED_BITS: u32 = 20;

/// The bits `K` of the balanced-accuracy weights `⌊2^K / n_c⌋` for `classes` classes at
/// `frac_bits`: a score `Σ_c w_c·correct_c` is at most `D = C·2^K`, the values the pass bits and
/// the median rule compare lie in `(−4D, 4D)` and must stay inside the comparison's exact range
/// `2^(63 − f)`, so `K = 60 − f − ⌈log2 C⌉` (at most 40).
/// Settings that leave fewer than `MIN_BALANCED_BITS + ⌈log2 C⌉` bits are refused.
pub fn balanced_bits(frac_bits: u32, classes: usize) -> Result<u32, String> {
    let log_c = 64 - (classes.max(1) as u64 - 1).leading_zeros();
    let k = 60u32.saturating_sub(frac_bits + log_c).min(40);
    if k < MIN_BALANCED_BITS + log_c {
        return Err(format!(
            "frac-bits {frac_bits} leaves {k} bits for the balanced accuracy of {classes} classes \
             (at least {} needed): use frac-bits ≤ {}",
            MIN_BALANCED_BITS + log_c,
            60 - MIN_BALANCED_BITS - 2 * log_c
        ));
    }
    Ok(k)
}

/// Scores this close below a pass bar still pass (far above the weights' rounding, far below
/// one image in a validation split).
const SCORE_TOLERANCE: f64 = 1e-9;

impl ScoreWeights {
    fn new(score: Score, counts: &[u64], bits: u32) -> Self {
        match score {
            Score::Accuracy => Self {
                per_class: vec![1; counts.len()],
                denominator: counts.iter().sum::<u64>().max(1),
                bits,
            },
            Score::BalancedAccuracy => {
                let present = counts.iter().filter(|&&n| n > 0).count() as u64;
                Self {
                    per_class: counts
                        .iter()
                        .map(|&n| (1u64 << bits).checked_div(n).unwrap_or(0))
                        .collect(),
                    denominator: present.max(1) << bits,
                    bits,
                }
            }
        }
    }

    /// The smallest weighted sum whose score is at least `score` (clamped to [0, 1]), less
    /// [`SCORE_TOLERANCE`]: the rounded balanced-accuracy weights put a score that equals the
    /// bar (a constant predictor against a constant-predictor floor) a hair below it.
    fn at_least(&self, score: f64) -> u64 {
        let rounding = 2.0 * self.per_class.len() as f64 / (1u64 << self.bits) as f64;
        let tolerance = SCORE_TOLERANCE.max(rounding);
        ((score - tolerance).clamp(0.0, 1.0) * self.denominator as f64).ceil() as u64
    }
}
