//! The defense plugin kinds: pre-aggregators and aggregation rules.

use crate::smpc::DataId;
use crate::{
    ClientUpdate, ClientVerdict, CnnBackend, CostRecord, ImageSet, ModelSpec, PluginError, ShareId,
    SmpcProtocol, TrainCtx,
};

/// What a defense needs and what it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefenseCaps {
    /// True when the defense reads updates in the clear (a privacy cost the result tables show).
    pub needs_plaintext: bool,
    /// True when it decides per update (accepted or rejected); false gives `verdict = n/a`.
    pub produces_verdicts: bool,
    /// True when it needs the SMPC protocol's encrypted inference.
    pub needs_inference: bool,
}

/// The federation a defense is asked to work in, for precondition checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Number of hospitals submitting updates.
    pub hospitals: usize,
    /// Number of malicious hospitals the run configures (what `f` means in Krum or Bulyan).
    pub malicious: usize,
}

/// Everything a defense may use in one round.
pub struct DefenseCtx<'a> {
    /// The federated round, from 1.
    pub round: usize,
    /// The round's global model.
    pub global: &'a [f32],
    /// The architecture.
    pub spec: ModelSpec,
    /// This call's derived seed.
    pub seed: u64,
    /// The federation.
    pub setting: Setting,
    /// The SMPC protocol holding the submitted models' shares.
    pub smpc: &'a mut dyn SmpcProtocol,
    /// The share of each submitted model (global + delta), in the order of the updates.
    pub shares: &'a [ShareId],
    /// The validators' secret-shared copy of `validation`, when the protocol has inference.
    pub validation_share: Option<DataId>,
    /// The backend, for defenses that train or evaluate in the clear (FLTrust).
    pub backend: &'a dyn CnnBackend,
    /// The hospitals' local-training settings (for defenses that train a reference update);
    /// its `seed` is this call's seed.
    pub train: TrainCtx,
    /// The validation split held by the validators.
    pub validation: &'a ImageSet,
}

/// The outcome of a defense.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The next global model (for SMPC aggregation, exactly the opened average).
    pub model: Vec<f32>,
    /// One verdict per submitted update, in the order of the updates.
    pub verdicts: Vec<ClientVerdict>,
    /// The cost of secure aggregation (each verification's cost is in its verdict).
    pub cost: CostRecord,
}

/// An aggregation rule, possibly rejecting updates.
///
/// Contract: `aggregate` returns the next global model and one verdict per update;
/// a defense with `produces_verdicts = false` reports [`crate::Verdict::NotApplicable`], never a
/// made-up decision.
/// Impossible settings (Krum with n ≤ 2f + 2, Bulyan with n < 4f + 3) are refused by `check`
/// before the run starts.
pub trait Defense: Send {
    /// Needs and outputs.
    fn caps(&self) -> DefenseCaps;

    /// Refuses settings the rule cannot work in.
    fn check(&self, _setting: &Setting) -> Result<(), PluginError> {
        Ok(())
    }

    /// Combines the round's updates.
    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError>;
}

/// A transformation of the updates before the defense (clipping, bucketing).
///
/// Pre-aggregators always read updates in the clear, after the submitted models are committed
/// and before they are secret-shared; `ctx.shares` is empty for them.
pub trait PreAggregator: Send {
    /// Transforms the updates in place.
    fn apply(
        &mut self,
        ctx: &DefenseCtx<'_>,
        updates: &mut [ClientUpdate],
    ) -> Result<(), PluginError>;
}
