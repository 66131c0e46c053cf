//! `norm-clip` (pre-aggregator): fixed norm bounding, Sun, Kairouz, Suresh & McMahan, "Can You
//! Really Backdoor Federated Learning?", arXiv 1911.07963 (2019).
//!
//! Every update whose Euclidean norm exceeds `bound` is scaled down to norm `bound`:
//! g ← g · min(1, bound / ‖g‖). It runs before the defense, so it composes with any rule
//! (for Sun et al.'s setting: `norm-clip` then `fedavg`).
//!
//! Needs: the updates in the clear (every pre-aggregator reads them in the clear, after the
//! submitted models are committed to the ledger and before they are secret-shared: a privacy
//! cost). Parameter: `bound` (required, positive; its scale depends on the model). No setting
//! is refused.

use securefl_api::{
    ClientUpdate, DefenseCtx, Factory, ParamError, PluginError, PluginInfo, PreAggregator,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::math;

/// Parameters of `norm-clip`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The largest norm an update keeps.
    pub bound: f64,
}

/// The pre-aggregator.
#[derive(Debug, Clone, Copy)]
pub struct NormClip {
    bound: f64,
}

impl NormClip {
    /// Validates the parameters (`bound` positive and finite).
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if !(params.bound.is_finite() && params.bound > 0.0) {
            return Err(ParamError::field(
                "bound",
                format!("{} is not a positive norm", params.bound),
            ));
        }
        Ok(Self {
            bound: params.bound,
        })
    }
}

/// Scales every update with a norm above `bound` down to norm `bound`.
pub fn clip_all(updates: &mut [ClientUpdate], bound: f64) {
    for u in updates {
        let k = math::clip_factor(u.norm(), bound);
        if k < 1.0 {
            u.delta
                .iter_mut()
                .for_each(|v| *v = (f64::from(*v) * k) as f32);
        }
    }
}

impl PreAggregator for NormClip {
    fn apply(
        &mut self,
        _ctx: &DefenseCtx<'_>,
        updates: &mut [ClientUpdate],
    ) -> Result<(), PluginError> {
        clip_all(updates, self.bound);
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "norm-clip",
        env!("CARGO_PKG_VERSION"),
        "scales every update down to a fixed norm bound (plaintext)",
    )
    .cite("Sun et al., Can You Really Backdoor Federated Learning?, arXiv 1911.07963, 2019 (norm bounding)");
    reg.add::<dyn PreAggregator>(Factory::new(info, |p| {
        Ok(Box::new(NormClip::new(p.parse()?)?) as Box<dyn PreAggregator>)
    }))
}
