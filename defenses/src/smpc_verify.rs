//! `smpc-verify`: the paper's defense. Every submitted model is scored by encrypted inference on
//! the validators' secret-shared validation split; models that fail the acceptance rule are
//! rejected, and the accepted ones are averaged by secure aggregation over the same shares
//! (weighted by sample counts), so a hospital cannot swap its model after verification.
//!
//! Score (`score`): `balanced-accuracy` (default; the mean per-class recall, so a model that
//! always predicts one class scores 1/C whatever the class balance) or `accuracy`. Both come
//! from shared per-class counts of correct predictions.
//!
//! Acceptance rules (`rule`), each ANDed in shares with the floor below:
//! - `absolute`: accept when the score ≥ `threshold`. Only the pass bit is opened (plus the
//!   score when `reveal-score = true`).
//! - `relative-global`: accept when the score ≥ the current global model's encrypted score −
//!   `margin`. The global model is public, so its score is opened; each submission opens only
//!   its pass bit (plus its score when asked).
//! - `relative-median`: accept when the score ≥ the median of this round's submissions −
//!   `margin`. The scores stay shared: the median and the comparison run in shares
//!   (`securefl_smpc::median`), and each submission opens only its pass bit (plus its score
//!   when asked); `smpc_opened` shows it.
//! - `class-conditional`: accept when the model's recall averaged over the classes its hospital
//!   reports holding (weighted by the hospital's training class histogram, which the hospital
//!   inputs secret-shared) is at least the global model's recall over the same classes −
//!   `margin`: a skewed hospital is judged like with like (`securefl_smpc::classwise`). The
//!   global model is evaluated once per round with its per-class counts kept in shares;
//!   each submission opens only its pass bit. Under label skew use it with `floor = "none"`
//!   (the floor judges a model on every class). The histogram is self-reported: a malicious
//!   hospital may claim the classes its model does best on, which makes it look like an honest
//!   hospital holding only those classes and no better.
//!
//! Cross-hospital validation (`validation = "cross-hospital"`, with `class-conditional` and no
//! floor): instead of the validators' one split, every hospital judges every model on a split of
//! its own (its share of the validation images, dealt in its training case mix), and each
//! hospital's verdicts are its own row on the ledger, whose strict majority decides
//! (`crate::cross_hospital`). One ledger validator per hospital; a validator that holds none of
//! the classes a model's hospital reports has no evidence and passes it.
//!
//! Floor (`floor`): a model must beat chance (balanced accuracy one point above 1/C) or, failing
//! that, reach the plain accuracy of always predicting the majority class (`"constant"`, the
//! default), or of a fixed value; `"none"` drops the floor. In the first round every honest
//! model may still be a constant predictor of the majority class and every attacker one of
//! another class: balanced accuracy cannot tell them apart (both 1/C), plain accuracy can; once
//! models beat chance the plain-accuracy branch no longer matters (a plain-accuracy floor alone
//! rejected honest models with balanced accuracy 0.76 and plain accuracy below 0.742).
//!
//! Norm bound (`norm-bound`, default 2; 0 turns it off): a model is also rejected when its
//! distance to the global model exceeds the factor times the round's upper median distance. The
//! distances are computed and compared in shares (`securefl_smpc::norm`), and each model's bit
//! stays shared and is ANDed into its pass bit, so the one bit opened per model is its verdict. Boosted updates (sign flipping ×4, scaling, model replacement) are several times longer
//! than honest ones (sign flipping 2.8–5.4× and scaling 6.8–13× the upper median on IID
//! PneumoniaMNIST, against at most 1.6× for honest updates, `results/recovery`; honest ones
//! reached 2.1× under Dirichlet 0.5 without attack, 5 of 200 updates), while the boosted model
//! may still score like the global model: encrypted inference alone let about half of them
//! through. It holds while fewer than half of the submissions are malicious.
//!
//! Default: `relative-median`, margin 0.05, balanced accuracy, the constant floor, norm bound 2,
//! weight bound 4, min-accepted 2. With the first five (before the range check existed), on PneumoniaMNIST (10 IID hospitals, 3 malicious, 20 rounds, seeds 1, 2, 42,
//! `paper/README.md`): sign flipping ×4 rejected 180/180 malicious and 8/420 honest updates and
//! ended at 0.860 mean test accuracy, model replacement (scaling) 180/180 and 17/420 at 0.860,
//! against 0.850 for FedAvg without attack; on BloodMNIST every attack: 180/180 and 3/420 at
//! 0.821, against 0.820. The numbers below were measured without the norm bound and before the
//! dfdx gradient fix, on PneumoniaMNIST (10 hospitals, 2 local epochs, `additive-2pc`, seed 42;
//! `paper/README.md`):
//! - against 3 of 10 hospitals flipping and boosting their update 4x (IID, 20 rounds), it
//!   rejected 46/60 malicious updates and 1/140 honest ones and ended at 0.857 test accuracy
//!   (0.856 without attack). With `relative-global` (margin 0.15 or 0.05) the attackers passed
//!   in round 2, when the global model was still barely better than chance, the global model
//!   collapsed to a constant predictor (0.625) and never recovered: 17/60 rejected. With plain
//!   accuracy as the score (`relative-global` 0.15, unboosted flips), a flipped model that
//!   predicts the majority class (0.742 on the 74%-pneumonia split) passed from round 2 on.
//! - with 10 honest hospitals under Dirichlet(0.5) label skew (8 rounds) it rejected 25/80
//!   honest updates (`relative-global` 0.15: 24/80, 0.05: 35/80, both with an earlier,
//!   stricter floor). Every rule rejects hospitals whose data is so skewed that their model
//!   predicts one class.
//! - against model replacement (boost about 10) it rejected 49/60 and ended at 0.856; against
//!   label flipping and the BadNets backdoor 60/60 each (`paper/README.md`).
//! - the malicious updates it misses are late-round flips of small updates: the flipped model
//!   is then still close to the global model and scores like it, and it does little harm.
//!
//! Neighbour bound (`neighbour-bound`, default 0 = off): a model is also rejected when its
//! summed squared distance to its `n − f − 2` nearest other submissions (Krum's score) exceeds
//! the factor squared times the round's upper-median score, computed and compared in shares
//! (`securefl_smpc::neighbours`) and ANDed into the verdict bit. It answers attackers who keep an
//! honest length but point away from the honest cluster (the adaptive study: on BloodMNIST the
//! gate-aware sign flip passed any norm factor). Exact comparisons need narrow weights: with the
//! paper CNN use `weight-bound = 2` (factor up to 3); wider settings stop the run with one line.
//!
//! Neighbour rank (`neighbour-rank = true`, default off): Multi-Krum's selection in shares. The
//! `f` submissions with the highest Krum score (`f` the run's malicious count, ties broken by
//! submission order) are rejected, ranked by pairwise comparisons in shares
//! (`securefl_smpc::neighbours::lowest`); no score or rank is opened. Unlike the bound it rejects
//! `f` models every round, honest ones when fewer attack. It may be combined with the bound.
//!
//! Range check (`weight-bound`, default 4): before any other use, every weight of every
//! submission (and of the global model) must lie in `[−weight-bound, weight-bound)`, checked in
//! shares on the fixed-point encoding itself (`securefl_smpc::range`). The bit stays shared: each
//! model is multiplied by it, so a model out of range becomes the zero model to every later check
//! (and to the aggregate, were a lying majority to include it), and the bit is ANDed into the
//! model's one opened verdict bit. The global model is public and checked in the clear.
//! This closes the encoding gap of the `ring-wrap` attack (a squared distance wrapped around the
//! ring behind a dead channel), makes the norm bound's sums exact (they are computed without
//! truncation and compared over the full ring), and refuses non-finite models (encoded out of
//! range). It does not bound encrypted inference's activations: weights within ±4 can still
//! drive a deep layer past the comparison's exact range, and a range failure in a pass bit then
//! stops the run rather than deciding a verdict (`smpc_range_failures` counts those of ReLUs).
//!
//! Aggregation: the verdicts go on the ledger first; the engine opens the secure FedAvg of the
//! models the finalized verdict block includes, once, after it is final. With fewer than
//! `min-accepted` (default 2) included models the global model is kept, so no round publishes
//! a single hospital's model to everyone; a hospital whose own model is the only other one
//! included still learns the other model from the average, so `min-accepted` should exceed the
//! number of colluders the threat model allows.
//! Threat model: the validators run the SMPC protocol's security model; hospitals may submit
//! arbitrary models. Reference: the paper "Secure Federated Learning in Healthcare Using
//! Blockchain and SMPC" (verification by SMPC encrypted inference before aggregation).

use securefl_api::smpc::{DataId, EvalQuery, Score};
use securefl_api::{
    Aggregate, ClientUpdate, ClientVerdict, CostRecord, Defense, DefenseCaps, DefenseCtx, Factory,
    ImageSet, NeighbourRule, NextModel, ParamError, PluginError, PluginInfo, Registry,
    RegistryError, ShareId, SmpcCtx, SmpcProtocol, Verdict,
};
use serde::Deserialize;

/// The acceptance rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    /// Score at least `threshold`.
    Absolute,
    /// Score at least the global model's minus `margin`.
    RelativeGlobal,
    /// Score at least the round's median minus `margin`.
    RelativeMedian,
    /// Recall averaged over the classes the hospital reports holding at least the global
    /// model's there minus `margin` (the histogram secret-shared; `securefl_smpc::classwise`).
    ClassConditional,
}

/// The floor every rule adds, checked in shares: beat chance in balanced accuracy, or reach this
/// plain accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Floor {
    /// `"constant"` or `"none"`.
    Named(FloorName),
    /// A fixed accuracy in [0, 1].
    Accuracy(f64),
}

/// The named floors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FloorName {
    /// The accuracy of the best constant predictor (always the majority class, "ZeroR") on the
    /// validation split. The validators hold the split, so this is their own statistic.
    Constant,
    /// No floor.
    None,
}

impl Floor {
    /// The minimum plain accuracy on `validation`, if any.
    fn accuracy(self, validation: &ImageSet, classes: usize) -> Option<f64> {
        match self {
            Self::Accuracy(a) => Some(a),
            Self::Named(FloorName::None) => None,
            Self::Named(FloorName::Constant) => {
                let top = validation.class_counts(classes).into_iter().max();
                Some(top.unwrap_or(0) as f64 / validation.len().max(1) as f64)
            }
        }
    }
}

/// Parameters of `smpc-verify`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The acceptance rule.
    #[serde(default = "default_rule")]
    pub rule: Rule,
    /// Minimum score for `absolute`.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// Allowed shortfall for the relative rules (score points, 0.05 = 5 points).
    #[serde(default = "default_margin")]
    pub margin: f64,
    /// Open each submission's score (for the `verify_score` column); `reveal-accuracy` is the
    /// older name.
    #[serde(default, alias = "reveal-accuracy")]
    pub reveal_score: bool,
    /// The floor's plain accuracy (see the module docs).
    #[serde(default = "default_floor")]
    pub floor: Floor,
    /// The validation score: `"accuracy"` or `"balanced-accuracy"`.
    #[serde(default = "default_score")]
    pub score: ScoreName,
    /// Reject models farther from the global model than this factor times the round's upper
    /// median distance (checked in shares); 0 turns the bound off.
    #[serde(default = "default_norm_bound")]
    pub norm_bound: f64,
    /// Reject models whose summed squared distance to their `n − f − 2` nearest other models
    /// (Krum's score, `f` the run's malicious count) exceeds this factor squared times the
    /// round's upper-median score (checked in shares); 0 (the default) turns it off.
    #[serde(default)]
    pub neighbour_bound: f64,
    /// Reject the `f` models with the highest Krum score (`f` the run's malicious count), ranked
    /// in shares: Multi-Krum's selection.
    #[serde(default)]
    pub neighbour_rank: bool,
    /// Every weight of a submitted model must lie in `[−weight-bound, weight-bound)`, checked in
    /// shares on its fixed-point encoding before any other use.
    #[serde(default = "default_weight_bound")]
    pub weight_bound: f64,
    /// Fewest accepted models for an aggregate; with fewer the global model is kept, so a
    /// round never publishes one hospital's model.
    #[serde(default = "default_min_accepted")]
    pub min_accepted: usize,
    /// Who validates: `"central"` (the validators' one split) or `"cross-hospital"` (each
    /// hospital on a split of its own, each with its own verdicts; the ledger's majority decides).
    #[serde(default = "default_validation")]
    pub validation: Validation,
}

/// Who validates, on what data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validation {
    /// The validators' one secret-shared split; every validator signs the one verdict.
    Central,
    /// Every hospital on its own secret-shared split, with its own verdicts
    /// (`crate::cross_hospital`).
    CrossHospital,
}

fn default_validation() -> Validation {
    Validation::Central
}

/// The validation score, as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScoreName {
    /// Correct predictions over images.
    Accuracy,
    /// Mean per-class recall.
    BalancedAccuracy,
}

impl ScoreName {
    fn score(self) -> Score {
        match self {
            Self::Accuracy => Score::Accuracy,
            Self::BalancedAccuracy => Score::BalancedAccuracy,
        }
    }
}

fn default_score() -> ScoreName {
    ScoreName::BalancedAccuracy
}

fn default_rule() -> Rule {
    Rule::RelativeMedian
}
fn default_threshold() -> f64 {
    0.6
}
fn default_margin() -> f64 {
    0.05
}
fn default_norm_bound() -> f64 {
    2.0
}
fn default_weight_bound() -> f64 {
    4.0
}
fn default_min_accepted() -> usize {
    2
}
fn default_floor() -> Floor {
    Floor::Named(FloorName::Constant)
}

/// The defense.
#[derive(Debug, Clone, Copy)]
pub struct SmpcVerify {
    params: Params,
}

impl SmpcVerify {
    /// Validates the parameters.
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if !(0.0..=1.0).contains(&params.threshold) {
            return Err(ParamError::field(
                "threshold",
                format!("{} is not an accuracy in [0, 1]", params.threshold),
            ));
        }
        if !(0.0..=1.0).contains(&params.margin) {
            return Err(ParamError::field(
                "margin",
                format!("{} is not in [0, 1]", params.margin),
            ));
        }
        if !(params.norm_bound == 0.0 || params.norm_bound.is_finite() && params.norm_bound >= 1.0)
        {
            return Err(ParamError::field(
                "norm-bound",
                format!("{} is neither 0 (off) nor a factor ≥ 1", params.norm_bound),
            ));
        }
        if !(params.neighbour_bound == 0.0
            || params.neighbour_bound.is_finite() && params.neighbour_bound >= 1.0)
        {
            return Err(ParamError::field(
                "neighbour-bound",
                format!(
                    "{} is neither 0 (off) nor a factor ≥ 1",
                    params.neighbour_bound
                ),
            ));
        }
        if !(params.weight_bound.is_finite() && params.weight_bound > 0.0) {
            return Err(ParamError::field(
                "weight-bound",
                format!("{} is not a positive number", params.weight_bound),
            ));
        }
        if params.min_accepted == 0 {
            return Err(ParamError::field(
                "min-accepted",
                "0 would let a round with no accepted model publish an aggregate",
            ));
        }
        if params.validation == Validation::CrossHospital
            && (params.rule != Rule::ClassConditional
                || params.floor != Floor::Named(FloorName::None))
        {
            return Err(ParamError::field(
                "validation",
                "cross-hospital validation judges with the class-conditional rule and no floor: \
                 set rule = \"class-conditional\" and floor = \"none\"",
            ));
        }
        if let Floor::Accuracy(a) = params.floor
            && !(0.0..=1.0).contains(&a)
        {
            return Err(ParamError::field(
                "floor",
                format!("{a} is not an accuracy in [0, 1]"),
            ));
        }
        Ok(Self { params })
    }
}

impl Defense for SmpcVerify {
    fn caps(&self) -> DefenseCaps {
        DefenseCaps {
            needs_plaintext: false,
            produces_verdicts: true,
            needs_inference: true,
        }
    }

    fn validates_per_hospital(&self) -> bool {
        self.params.validation == Validation::CrossHospital
    }

    fn check_smpc(&self, smpc: &dyn SmpcProtocol, params: usize) -> Result<(), PluginError> {
        let (bound, factor) = (self.params.weight_bound, self.params.norm_bound);
        match smpc.norm_weight_limit(params, factor.max(1.0)) {
            Some(limit) if factor > 0.0 && bound > limit => Err(PluginError::invalid(format!(
                "smpc-verify: `weight-bound` {bound} is wider than the norm bound can square exactly \
                 for {params} weights at the protocol's frac-bits: use at most {limit} (or lower \
                 frac-bits or norm-bound)"
            ))),
            _ => Ok(()),
        }
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let data = ctx.validation_share.ok_or_else(|| {
            PluginError::invalid("smpc-verify: the SMPC protocol holds no validation set")
        })?;
        let score = self.params.score.score();
        let floor = self.params.floor.accuracy(ctx.validation, ctx.spec.classes);
        let sctx = SmpcCtx {
            round: ctx.round,
            validators: ctx.setting.hospitals,
            seed: ctx.seed,
        };
        // The global model is public: its range is checked in the clear. It is shared and
        // range-checked with the submissions in shares (the norm bound needs it checked); that
        // and the other round-level checks are billed to the round, each verification to its
        // verdict.
        let bound = self.params.weight_bound;
        // One grid step inside the bound, so that no rounding puts it outside in shares.
        let step = ctx.smpc.grid().map_or(0.0, |f| 0.5f64.powi(f as i32));
        if let Some(w) = ctx
            .global
            .iter()
            .find(|w| w.is_nan() || f64::from(w.abs()) >= bound - step)
        {
            return Err(PluginError::invalid(format!(
                "smpc-verify: the global model has a weight {w} outside ±{bound}"
            )));
        }
        let mut reference_cost = CostRecord::default();
        let shared = ctx.smpc.share_models(&sctx, &ctx.spec, &[ctx.global])?;
        reference_cost += shared.cost;
        let global = shared.value[0];
        let ids: Vec<ShareId> = ctx.shares.iter().copied().chain([global]).collect();
        // Kept in shares: a submission out of range becomes the zero model, and its range bit,
        // like its norm bit below, is ANDed into its one opened verdict bit.
        reference_cost += ctx.smpc.range_check_kept(&sctx, &ids, bound)?.cost;
        let bar = match self.params.rule {
            Rule::Absolute => Some(self.params.threshold),
            Rule::RelativeGlobal => {
                let (global, cost) = global_score(ctx, &sctx, global, data, score)?;
                reference_cost += cost;
                Some(global - self.params.margin)
            }
            Rule::RelativeMedian => None,
            // Cross-hospital validation evaluates the global model on each validator's split.
            Rule::ClassConditional if self.params.validation == Validation::CrossHospital => None,
            Rule::ClassConditional => {
                reference_cost += keep_global(ctx, &sctx, global, data, score)?;
                None
            }
        };
        let keep = matches!(
            self.params.rule,
            Rule::RelativeMedian | Rule::ClassConditional
        );
        let query = EvalQuery {
            score,
            min_score: bar,
            floor_accuracy: floor,
            reveal_score: self.params.reveal_score,
            reveal_predictions: false,
            keep,
        };
        if self.params.norm_bound > 0.0 {
            let factor = self.params.norm_bound;
            let kept = ctx
                .smpc
                .norm_bound_kept(&sctx, ctx.shares, global, factor)?;
            reference_cost += kept.cost;
        }
        let k = updates
            .len()
            .saturating_sub(ctx.setting.malicious + 2)
            .max(1);
        let mut neighbour_rules = Vec::new();
        if self.params.neighbour_bound > 0.0 {
            neighbour_rules.push(NeighbourRule::Bound(self.params.neighbour_bound));
        }
        if self.params.neighbour_rank {
            neighbour_rules.push(NeighbourRule::Lowest(ctx.setting.malicious));
        }
        for rule in neighbour_rules {
            let shares = ctx.shares;
            reference_cost += ctx.smpc.neighbours_kept(&sctx, shares, k, rule)?.cost;
        }
        let margin = self.params.margin;
        if self.params.validation == Validation::CrossHospital {
            let mut verdicts = crate::cross_hospital::pending(updates);
            let cost = &mut reference_cost;
            let votes = crate::cross_hospital::votes(
                ctx,
                &sctx,
                global,
                &query,
                margin,
                &mut verdicts,
                cost,
            )?;
            return Ok(Aggregate {
                next: NextModel::SecureFedAvg {
                    min_accepted: self.params.min_accepted,
                },
                verdicts,
                cost: reference_cost,
                votes,
            });
        }
        let mut verdicts = score_all(ctx, &sctx, data, &query, updates)?;
        let round_rule = match self.params.rule {
            Rule::RelativeMedian => Some(ctx.smpc.median_rule(&sctx, ctx.shares, margin)?),
            Rule::ClassConditional => {
                if ctx.class_counts.len() != updates.len() {
                    return Err(PluginError::invalid(
                        "smpc-verify: rule class-conditional needs each hospital's class histogram",
                    ));
                }
                let (shares, counts) = (ctx.shares, ctx.class_counts);
                Some(
                    ctx.smpc
                        .class_rule(&sctx, shares, global, data, counts, margin)?,
                )
            }
            Rule::Absolute | Rule::RelativeGlobal => None,
        };
        if let Some(pass) = round_rule {
            reference_cost += pass.cost;
            for (v, ok) in verdicts.iter_mut().zip(pass.value) {
                v.verdict = if ok {
                    Verdict::Accepted
                } else {
                    Verdict::Rejected
                };
            }
        }
        Ok(Aggregate {
            next: NextModel::SecureFedAvg {
                min_accepted: self.params.min_accepted,
            },
            verdicts,
            cost: reference_cost,
            votes: Vec::new(),
        })
    }
}

/// Encrypted evaluation of every submission; verdicts from the pass bit when a threshold is given.
fn score_all(
    ctx: &mut DefenseCtx<'_>,
    sctx: &SmpcCtx,
    data: DataId,
    query: &EvalQuery,
    updates: &[ClientUpdate],
) -> Result<Vec<ClientVerdict>, PluginError> {
    updates
        .iter()
        .zip(ctx.shares)
        .map(|(u, &share)| {
            let out = ctx.smpc.evaluate(sctx, share, data, query)?;
            let verdict = match out.value.passed {
                Some(true) => Verdict::Accepted,
                Some(false) => Verdict::Rejected,
                None => Verdict::NotApplicable,
            };
            Ok(ClientVerdict {
                hospital: u.hospital,
                verdict,
                score: out.value.score,
                cost: out.cost,
            })
        })
        .collect()
}

/// Evaluates the shared global model with its per-class counts kept (nothing opened), and what
/// it cost.
fn keep_global(
    ctx: &mut DefenseCtx<'_>,
    sctx: &SmpcCtx,
    global: ShareId,
    data: DataId,
    score: Score,
) -> Result<CostRecord, PluginError> {
    let query = EvalQuery {
        score,
        min_score: None,
        floor_accuracy: None,
        reveal_score: false,
        reveal_predictions: false,
        keep: true,
    };
    Ok(ctx.smpc.evaluate(sctx, global, data, &query)?.cost)
}

/// The shared global model's encrypted validation score (opened), and what it cost.
fn global_score(
    ctx: &mut DefenseCtx<'_>,
    sctx: &SmpcCtx,
    global: ShareId,
    data: DataId,
    score: Score,
) -> Result<(f64, CostRecord), PluginError> {
    let query = EvalQuery {
        score,
        min_score: None,
        floor_accuracy: None,
        reveal_score: true,
        reveal_predictions: false,
        keep: false,
    };
    let out = ctx.smpc.evaluate(sctx, global, data, &query)?;
    let mut cost = out.cost;
    for (what, _) in &mut cost.opened {
        if what == "score" {
            "global-score".clone_into(what);
        }
    }
    Ok((out.value.score.unwrap_or(0.0), cost))
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "smpc-verify",
        env!("CARGO_PKG_VERSION"),
        "rejects models whose encrypted validation accuracy fails a rule; secure FedAvg of the rest",
    )
    .cite("Secure Federated Learning in Healthcare Using Blockchain and SMPC (verification by encrypted inference)");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        let params: Params = p.parse()?;
        Ok(Box::new(SmpcVerify::new(params)?) as Box<dyn Defense>)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<SmpcVerify, ParamError> {
        let p = securefl_api::Params::from_toml(text).expect("toml");
        SmpcVerify::new(p.parse()?)
    }

    #[test]
    fn floors_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parsed("").unwrap().params.floor,
            Floor::Named(FloorName::Constant)
        );
        assert_eq!(
            parsed("floor = \"none\"").unwrap().params.floor,
            Floor::Named(FloorName::None)
        );
        assert_eq!(
            parsed("floor = 0.6").unwrap().params.floor,
            Floor::Accuracy(0.6)
        );
        let err = parsed("floor = 1.5").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("floor"));
        assert!(parsed("floor = \"median\"").is_err());
        assert_eq!(
            parsed("").unwrap().params.score,
            ScoreName::BalancedAccuracy
        );
        assert_eq!(
            parsed("score = \"accuracy\"").unwrap().params.score,
            ScoreName::Accuracy
        );
        assert!(parsed("score = \"auc\"").is_err());
        assert_eq!(parsed("").unwrap().params.norm_bound, 2.0);
        assert_eq!(parsed("norm-bound = 0").unwrap().params.norm_bound, 0.0);
        let err = parsed("norm-bound = 0.5").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("norm-bound"));
        assert!(
            parsed("reveal-accuracy = true")
                .unwrap()
                .params
                .reveal_score
        );
    }

    #[test]
    fn the_constant_floor_is_the_majority_class_share() {
        let set = ImageSet {
            pixels: vec![0; 4],
            labels: vec![1, 1, 1, 0],
            height: 1,
            width: 1,
            channels: 1,
        };
        let constant = Floor::Named(FloorName::Constant);
        assert_eq!(constant.accuracy(&set, 2), Some(0.75));
        assert_eq!(Floor::Named(FloorName::None).accuracy(&set, 2), None);
        assert_eq!(Floor::Accuracy(0.4).accuracy(&set, 2), Some(0.4));
    }
}
