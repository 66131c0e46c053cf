//! `adaptive-clip` (pre-aggregator): norm bounding with a per-round bound, the median of the
//! round's update norms times `multiplier` (default 1), as FLAME clips to the median norm:
//! Nguyen et al., "FLAME: Taming Backdoors in Federated Learning", USENIX Security 2022.
//! The fixed-bound rule it adapts is Sun et al. 2019 (`norm-clip`).
//!
//! The bound is computed from the updates after earlier pre-aggregators ran, every update is
//! then scaled to at most that norm. With fewer than half the hospitals malicious, the median
//! norm lies between the smallest and the largest honest norm, so no update keeps a norm above
//! the largest honest one (times `multiplier`).
//!
//! Needs: the updates in the clear (every pre-aggregator reads them in the clear, after the
//! submitted models are committed to the ledger and before they are secret-shared: a privacy
//! cost). No setting is refused.

use securefl_api::{
    ClientUpdate, DefenseCtx, Factory, ParamError, PluginError, PluginInfo, PreAggregator,
    Registry, RegistryError,
};
use serde::Deserialize;

use crate::{math, norm_clip};

/// Parameters of `adaptive-clip`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// The bound is this multiple of the round's median update norm.
    #[serde(default = "default_multiplier")]
    pub multiplier: f64,
}

fn default_multiplier() -> f64 {
    1.0
}

/// The pre-aggregator.
#[derive(Debug, Clone, Copy)]
pub struct AdaptiveClip {
    multiplier: f64,
}

impl AdaptiveClip {
    /// Validates the parameters (`multiplier` positive and finite).
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if !(params.multiplier.is_finite() && params.multiplier > 0.0) {
            return Err(ParamError::field(
                "multiplier",
                format!("{} is not a positive factor", params.multiplier),
            ));
        }
        Ok(Self {
            multiplier: params.multiplier,
        })
    }
}

/// `multiplier` × the median of the updates' norms (0 for no update).
pub fn adaptive_bound(updates: &[ClientUpdate], multiplier: f64) -> f64 {
    let mut norms: Vec<f64> = updates.iter().map(ClientUpdate::norm).collect();
    norms.sort_by(f64::total_cmp);
    multiplier * math::median_sorted(&norms)
}

impl PreAggregator for AdaptiveClip {
    fn apply(
        &mut self,
        _ctx: &DefenseCtx<'_>,
        updates: &mut [ClientUpdate],
    ) -> Result<(), PluginError> {
        let bound = adaptive_bound(updates, self.multiplier);
        norm_clip::clip_all(updates, bound);
        Ok(())
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "adaptive-clip",
        env!("CARGO_PKG_VERSION"),
        "scales every update down to a multiple of the round's median update norm (plaintext)",
    )
    .cite("Nguyen et al., FLAME: Taming Backdoors in Federated Learning, USENIX Security 2022 (median-norm clipping); Sun et al. 2019 (norm bounding)");
    reg.add::<dyn PreAggregator>(Factory::new(info, |p| {
        Ok(Box::new(AdaptiveClip::new(p.parse()?)?) as Box<dyn PreAggregator>)
    }))
}
