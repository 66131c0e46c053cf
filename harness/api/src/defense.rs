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
    /// For each submission, the training class histogram its hospital reports (for rules that
    /// judge a model on its hospital's classes). Self-reported: a malicious hospital may report
    /// anything. Empty where the caller has none.
    pub class_counts: &'a [Vec<u64>],
    /// Each hospital's own validation split, secret-shared (hospital `v` holds the one at `v`),
    /// for defenses that validate per hospital ([`Defense::validates_per_hospital`]); empty
    /// otherwise.
    pub hospital_validation: &'a [DataId],
}

/// What the next global model is.
#[derive(Debug, Clone, PartialEq)]
pub enum NextModel {
    /// Computed by the defense: a plaintext rule's result, or the global model kept.
    Model(Vec<f32>),
    /// The sample-weighted secure average of the shares of the models that the *finalized*
    /// verdict block includes, opened by the engine once per round after that block is final
    /// (so nothing is opened before the ledger agrees on the accepted set, and one aggregate per
    /// round is opened, never a second one whose difference would reveal a model). With fewer
    /// than `min_accepted` included models the global model is kept.
    SecureFedAvg {
        /// Fewest included models for an aggregate.
        min_accepted: usize,
    },
}

/// The outcome of a defense.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The next global model, or how the engine computes it.
    pub next: NextModel,
    /// One verdict per submitted update, in the order of the updates.
    pub verdicts: Vec<ClientVerdict>,
    /// The round-level SMPC cost that is no single verification's (sharing the global model,
    /// the range check, the median rule, the norm bound), and the cost of aggregating when the
    /// defense aggregated itself. Each verification's own cost is in its verdict; a deferred
    /// secure average is billed by the engine.
    pub cost: CostRecord,
    /// Each validator's own verdict on each update (validator-major, one row per ledger
    /// validator), when validators decide separately; the ledger then records each validator's
    /// row, and the majority of the rows decides. Empty: every validator signs `verdicts`.
    pub votes: Vec<Vec<crate::Verdict>>,
}

impl Aggregate {
    /// The model the defense computed itself, if it did not defer it to the engine.
    pub fn model(&self) -> Option<&[f32]> {
        match &self.next {
            NextModel::Model(m) => Some(m),
            NextModel::SecureFedAvg { .. } => None,
        }
    }
}

/// An aggregation rule, possibly rejecting updates.
///
/// Contract: `aggregate` returns one verdict per update and the next global model, or defers it
/// to the engine ([`NextModel::SecureFedAvg`]);
/// a defense with `produces_verdicts = false` reports [`crate::Verdict::NotApplicable`], never a
/// made-up decision.
/// Impossible settings (Krum with n ≤ 2f + 2, Bulyan with n < 4f + 3) are refused by `check`
/// before the run starts.
pub trait Defense: Send {
    /// Needs and outputs.
    fn caps(&self) -> DefenseCaps;

    /// Refuses an SMPC protocol (with its encoding) the rule cannot work with, for models of at
    /// most `params` weights.
    fn check_smpc(&self, _smpc: &dyn SmpcProtocol, _params: usize) -> Result<(), PluginError> {
        Ok(())
    }

    /// Refuses settings the rule cannot work in.
    fn check(&self, _setting: &Setting) -> Result<(), PluginError> {
        Ok(())
    }

    /// True when each hospital validates with a split of its own
    /// ([`DefenseCtx::hospital_validation`]), one ledger validator per hospital, each with its
    /// own verdicts ([`Aggregate::votes`]).
    fn validates_per_hospital(&self) -> bool {
        false
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
