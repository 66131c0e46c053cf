//! The SMPC protocol plugin kind: secret-shared models, encrypted evaluation, secure aggregation.

use crate::{CostRecord, ImageSet, ModelSpec, PluginError};

/// The adversary a protocol is secure against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityModel {
    /// No secrecy at all: values are handled in the clear.
    Plaintext,
    /// Parties follow the protocol but try to learn from what they see.
    SemiHonest,
    /// Parties may deviate arbitrarily.
    Malicious,
}

impl SecurityModel {
    /// The value written to result rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::SemiHonest => "semi-honest",
            Self::Malicious => "malicious",
        }
    }
}

/// What a protocol offers and assumes (the capability matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpcCaps {
    /// Compute parties (0 for plaintext).
    pub parties: usize,
    /// The adversary model.
    pub security: SecurityModel,
    /// True when security needs an honest majority of the parties.
    pub honest_majority: bool,
    /// True when a trusted dealer supplies correlated randomness.
    pub dealer: bool,
    /// True when [`SmpcProtocol::evaluate`] is implemented.
    pub inference: bool,
}

/// Per-call context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmpcCtx {
    /// The federated round, from 1.
    pub round: usize,
    /// Number of validators (the parties of protocols whose party count follows the federation).
    pub validators: usize,
    /// This call's derived seed (shares, masks, dealer material).
    pub seed: u64,
}

/// A handle to a secret-shared model held by the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShareId(pub usize);

/// A value together with what it cost to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct Metered<T> {
    /// The result.
    pub value: T,
    /// Its cost.
    pub cost: CostRecord,
}

/// A handle to a secret-shared labelled image set held by the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataId(pub usize);

/// The validation score encrypted evaluation computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Score {
    /// Correct predictions over images.
    Accuracy,
    /// The mean over the classes present in the set of each class's recall: a constant
    /// predictor scores 1/C whatever the class balance.
    BalancedAccuracy,
}

impl Score {
    /// The name used in configs and result rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accuracy => "accuracy",
            Self::BalancedAccuracy => "balanced-accuracy",
        }
    }
}

/// What encrypted evaluation may open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalQuery {
    /// The score computed (in shares).
    pub score: Score,
    /// Open whether the score is at least this value.
    pub min_score: Option<f64>,
    /// A floor, ANDed in shares with the score's condition (only the conjunction is opened): a
    /// model clears it when its balanced accuracy is at least one point above chance (1/C for
    /// the C classes present) or its plain accuracy is at least `floor_accuracy` (meant for the
    /// majority-class share, so that a constant predictor of the majority class clears it and
    /// one of another class does not).
    pub floor_accuracy: Option<f64>,
    /// Open the score itself.
    pub reveal_score: bool,
    /// Open every predicted class: for tests and accuracy-parity studies only, never in a run.
    pub reveal_predictions: bool,
    /// Keep the shared score, and the floor's bit when a floor is given, with the model for a
    /// rule over the round's models ([`SmpcProtocol::median_rule`]) instead of opening a pass
    /// bit (`min_score` must then be `None`).
    pub keep: bool,
}

/// What encrypted evaluation opened; everything else stays secret-shared.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalOutcome {
    /// Number of images evaluated.
    pub total: u64,
    /// The score, when the query asked to open it.
    pub score: Option<f64>,
    /// The pass bit, when the query gave a threshold (all of its conditions held).
    pub passed: Option<bool>,
    /// The predicted classes, when the query asked to open them.
    pub predictions: Option<Vec<u32>>,
}

/// Checks the weights of [`SmpcProtocol::aggregate`]: one per model, at least one model, all
/// finite and non-negative, not all zero. Returns their sum; `protocol` names the caller in
/// errors.
pub fn check_weights(protocol: &str, models: usize, weights: &[f64]) -> Result<f64, PluginError> {
    if models == 0 || models != weights.len() {
        return Err(PluginError::invalid(format!(
            "smpc {protocol}: {models} models and {} weights; need as many of each, at least one",
            weights.len()
        )));
    }
    let total: f64 = weights.iter().sum();
    if weights.iter().any(|w| !w.is_finite() || *w < 0.0) || total <= 0.0 {
        return Err(PluginError::invalid(format!(
            "smpc {protocol}: weights must be finite, non-negative, not all zero"
        )));
    }
    Ok(total)
}

/// Which Krum scores pass [`SmpcProtocol::neighbours_kept`], compared in shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NeighbourRule {
    /// At most `factor²` times the round's upper-median score.
    Bound(f64),
    /// Not among the `drop` highest scores (ties broken by submission order): Multi-Krum's
    /// selection by rank.
    Lowest(usize),
}

/// A secure multi-party computation protocol.
///
/// Contract:
/// - shares live inside the protocol and are named by [`ShareId`]; the shares that are
///   evaluated are the shares that are aggregated, so a model cannot change in between;
/// - only what a method returns is opened;
/// - every call reports its honest cost (bytes, messages, rounds) in [`Metered::cost`];
/// - [`SmpcProtocol::begin_round`] drops the previous round's model shares (shared datasets
///   stay).
pub trait SmpcProtocol: Send {
    /// Capabilities and assumptions.
    fn caps(&self) -> SmpcCaps;

    /// Refuses federations the protocol cannot run in (for example too few validators).
    fn check(&self, _validators: usize) -> Result<(), PluginError> {
        Ok(())
    }

    /// The fixed-point grid of the shares (fractional bits `f`: a weight `x` is shared as
    /// `round(x·2^f)`), when the protocol has one. The engine rounds every model to it before
    /// committing it to the ledger and sharing it, so the commitment is of exactly the model
    /// that is verified and aggregated.
    fn grid(&self) -> Option<u32> {
        None
    }

    /// Forgets the previous round's model shares.
    fn begin_round(&mut self, _ctx: &SmpcCtx) {}

    /// Secret-shares submitted models (flat weights) among the parties.
    fn share_models(
        &mut self,
        ctx: &SmpcCtx,
        spec: &ModelSpec,
        models: &[&[f32]],
    ) -> Result<Metered<Vec<ShareId>>, PluginError>;

    /// Secret-shares a labelled image set with `classes` classes (the validators' validation
    /// split, once per run).
    fn share_dataset(
        &mut self,
        _ctx: &SmpcCtx,
        _data: &ImageSet,
        _classes: usize,
    ) -> Result<Metered<DataId>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no encrypted inference".into(),
        ))
    }

    /// Encrypted inference of a shared model on a shared image set.
    fn evaluate(
        &mut self,
        _ctx: &SmpcCtx,
        _model: ShareId,
        _data: DataId,
        _query: &EvalQuery,
    ) -> Result<Metered<EvalOutcome>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no encrypted inference".into(),
        ))
    }

    /// Opens, for each of `models`, whether every weight lies in `[−bound, bound)`. The check
    /// runs on the shared encoding itself, so no choice of ring elements passes it out of range;
    /// a model that fails must not be used, and the norm bound accepts only models that passed.
    fn range_check(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _bound: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no range check".into(),
        ))
    }

    /// The range check of [`SmpcProtocol::range_check`] with its bits kept in shares: each model
    /// is replaced by itself times its bit (a model out of range becomes the zero model, so every
    /// model is in range afterwards), and its bit joins its next opened pass bit, as in
    /// [`SmpcProtocol::norm_bound_kept`]. Nothing is opened.
    fn range_check_kept(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _bound: f64,
    ) -> Result<Metered<()>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no range check".into(),
        ))
    }

    /// The widest weight bound (real units) under which [`SmpcProtocol::norm_bound`] squares and
    /// compares exactly for models of `params` weights and `factor`, when the protocol has a
    /// norm bound: a range check wider than it is refused.
    fn norm_weight_limit(&self, _params: usize, _factor: f64) -> Option<f64> {
        None
    }

    /// Opens, for each of `models`, whether its Euclidean distance to `reference` is at most
    /// `factor` times the upper median of the models' distances to it; the distances stay
    /// secret-shared.
    fn norm_bound(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _reference: ShareId,
        _factor: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no norm bound".into(),
        ))
    }

    /// The norm bound's bits of [`SmpcProtocol::norm_bound`], kept secret-shared: each model's
    /// next opened pass bit (from [`SmpcProtocol::evaluate`] or [`SmpcProtocol::median_rule`])
    /// is its acceptance condition AND its norm bit, so that only the verdict is opened.
    fn norm_bound_kept(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _reference: ShareId,
        _factor: f64,
    ) -> Result<Metered<()>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no norm bound".into(),
        ))
    }

    /// Keeps, for each of `models` (range-checked), the bit that its summed squared distance to
    /// its `k` nearest other models (Krum's score, in shares) passes `rule`; the bit joins the
    /// model's next opened pass bit, as in [`SmpcProtocol::norm_bound_kept`]. Nothing is opened.
    fn neighbours_kept(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _k: usize,
        _rule: NeighbourRule,
    ) -> Result<Metered<()>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no neighbour rule".into(),
        ))
    }

    /// Opens, for each of `models` (each evaluated with [`EvalQuery::keep`]), whether its kept
    /// score is at least the median of their kept scores minus `margin` and its kept floor bit
    /// holds. The scores and the median stay secret-shared: only these bits are opened.
    fn median_rule(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _margin: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no median rule in shares".into(),
        ))
    }

    /// Opens, for each of `models` (each evaluated with [`EvalQuery::keep`] on `data`, as is
    /// `reference`), whether its recall averaged over the classes its hospital reports holding
    /// (`class_counts[i]`, the hospital's training class histogram, input secret-shared) is at
    /// least `reference`'s under the same weights minus `margin`, AND its kept floor and
    /// conditions. Only these bits are opened.
    fn class_rule(
        &mut self,
        _ctx: &SmpcCtx,
        _models: &[ShareId],
        _reference: ShareId,
        _data: DataId,
        _class_counts: &[Vec<u64>],
        _margin: f64,
    ) -> Result<Metered<Vec<bool>>, PluginError> {
        Err(PluginError::Unsupported(
            "this protocol has no class-conditional rule in shares".into(),
        ))
    }

    /// Weighted average of shared models; opens only the average.
    fn aggregate(
        &mut self,
        ctx: &SmpcCtx,
        models: &[ShareId],
        weights: &[f64],
    ) -> Result<Metered<Vec<f32>>, PluginError>;
}
