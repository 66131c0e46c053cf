//! The attack plugin kind: what malicious hospitals do to their data or their update.

use crate::{ClientUpdate, ImageSet, ModelSpec, PluginError};

/// Which information an attack uses (its threat model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackKnowledge {
    /// Only the attacker's own data and update.
    Own,
    /// The benign updates of the round as well (omniscient attacks such as LIE, IPM, min-max).
    Omniscient,
}

impl AttackKnowledge {
    /// The value written to result rows.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Own => "own",
            Self::Omniscient => "omniscient",
        }
    }
}

/// What a malicious hospital knows when it attacks.
#[derive(Debug, Clone, Copy)]
pub struct AttackCtx<'a> {
    /// The federated round, from 1.
    pub round: usize,
    /// The attacking hospital.
    pub hospital: usize,
    /// Number of hospitals.
    pub hospitals: usize,
    /// Number of malicious hospitals.
    pub malicious: usize,
    /// The malicious hospitals (the attacker's colluders, itself included), ascending.
    pub colluders: &'a [usize],
    /// The round's global model.
    pub global: &'a [f32],
    /// Training images of every hospital this round, indexed by hospital (the FedAvg weights;
    /// their sum is the weighted aggregate's denominator). Model replacement sizes its boost
    /// from it.
    pub samples: &'a [usize],
    /// The architecture.
    pub spec: ModelSpec,
    /// Number of classes.
    pub classes: usize,
    /// This attack call's derived seed.
    pub seed: u64,
    /// The round's benign updates when the attack is [`AttackKnowledge::Omniscient`], else empty.
    pub benign: &'a [ClientUpdate],
}

/// A poisoning attack.
///
/// Both hooks default to doing nothing: a data-poisoning attack overrides
/// [`Attack::poison_data`], a model-poisoning attack [`Attack::poison_update`].
/// Contract: the result depends only on the inputs and `ctx.seed`.
pub trait Attack: Send + Sync {
    /// The information the attack uses.
    fn knowledge(&self) -> AttackKnowledge;

    /// Alters the attacker's local training data before it trains (called every round it acts).
    fn poison_data(&self, _ctx: &AttackCtx<'_>, _data: &mut ImageSet) -> Result<(), PluginError> {
        Ok(())
    }

    /// Alters the attacker's trained update before it is submitted.
    ///
    /// Called once per attacking hospital per round, in hospital order, on the engine's thread,
    /// so an adaptive attack may keep state across rounds.
    fn poison_update(
        &mut self,
        _ctx: &AttackCtx<'_>,
        _update: &mut ClientUpdate,
    ) -> Result<(), PluginError> {
        Ok(())
    }

    /// For a backdoor attack, the probe set that measures its success: the images of `test`
    /// whose true label is not the backdoor target, with the trigger stamped and relabelled to
    /// the target, so accuracy on it is the attack success rate. `classes` is the dataset's
    /// class count (a target outside it is an error).
    ///
    /// Defaults to `Ok(None)`: the attack plants no trigger.
    fn trigger_test_set(
        &self,
        _test: &ImageSet,
        _classes: usize,
    ) -> Result<Option<ImageSet>, PluginError> {
        Ok(None)
    }
}
