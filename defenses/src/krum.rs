//! `krum`: Blanchard, El Mhamdi, Guerraoui & Stainer, "Machine Learning with Adversaries:
//! Byzantine Tolerant Gradient Descent", NeurIPS 2017.
//!
//! Each update's score is the sum of squared distances to its n − f − 2 nearest other updates;
//! the update with the lowest score becomes the round's delta (ties go to the lowest index).
//! Verdicts: the selected update is accepted, every other one rejected; the score is the Krum
//! score (lower is more central).
//!
//! Needs: the updates in the clear (`needs_plaintext = true`, a privacy cost the result tables
//! show); no SMPC call, so the aggregation cost is zero. Sample counts are ignored.
//! Precondition: n > 2f + 2, where f is the `f` parameter or else the run's number of
//! malicious hospitals; `check` refuses other settings.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, PluginError, PluginInfo,
    Registry, RegistryError, Setting,
};
use serde::Deserialize;

use crate::math;
use crate::plain::{self, Combined};

/// Parameters of `krum` (and of the Krum step of `multi-krum` and `bulyan`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Byzantine updates tolerated; default: the run's number of malicious hospitals.
    #[serde(default)]
    pub f: Option<usize>,
}

/// The defense.
#[derive(Debug, Clone, Copy)]
pub struct Krum {
    params: Params,
}

impl Krum {
    /// A Krum defense with these parameters.
    pub fn new(params: Params) -> Self {
        Self { params }
    }
}

/// Fails unless n > 2f + 2 (the condition of Blanchard et al.); `rule` names the caller.
pub fn precondition(rule: &str, n: usize, f: usize) -> Result<(), PluginError> {
    if n > 2 * f + 2 {
        return Ok(());
    }
    Err(PluginError::invalid(format!(
        "{rule} needs n > 2f + 2 (Blanchard et al. 2017): n = {n} hospitals, f = {f} \
         gives {n} <= {}",
        2 * f + 2
    )))
}

/// Krum scores of the updates at `ids`, among themselves: each one's sum of squared distances
/// (from `d2`) to its k nearest others, k = |ids| − f − 2 clamped to [1, |ids| − 1]
/// (the clamp only matters in Bulyan's last, smaller rounds of selection).
pub fn scores(d2: &[Vec<f64>], ids: &[usize], f: usize) -> Vec<f64> {
    let m = ids.len();
    let k = m.saturating_sub(f + 2).max(1).min(m.saturating_sub(1));
    let mut near = Vec::with_capacity(m);
    ids.iter()
        .map(|&i| {
            near.clear();
            near.extend(ids.iter().filter(|&&j| j != i).map(|&j| d2[i][j]));
            near.sort_by(f64::total_cmp);
            near[..k].iter().sum()
        })
        .collect()
}

/// Krum over the round's updates: the lowest-scoring update is the delta.
pub fn krum(updates: &[ClientUpdate], f: usize) -> Result<Combined, PluginError> {
    plain::dim("krum", updates)?;
    precondition("krum", updates.len(), f)?;
    let d2 = math::pairwise_sq_dists(updates);
    let ids: Vec<usize> = (0..updates.len()).collect();
    let s = scores(&d2, &ids, f);
    let best = math::argsort(&s)[0];
    Ok(Combined {
        delta: updates[best].delta.iter().map(|&v| f64::from(v)).collect(),
        verdicts: plain::decided(updates, &plain::mask(updates.len(), &[best]), &s),
    })
}

impl Defense for Krum {
    fn caps(&self) -> DefenseCaps {
        plain::caps(true)
    }

    fn check(&self, setting: &Setting) -> Result<(), PluginError> {
        precondition(
            "krum",
            setting.hospitals,
            plain::resolve_f(self.params.f, setting),
        )
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let f = plain::resolve_f(self.params.f, &ctx.setting);
        plain::aggregate_with("krum", ctx.global, updates, |u| krum(u, f))
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "krum",
        env!("CARGO_PKG_VERSION"),
        "keeps the one update closest to its n - f - 2 nearest neighbours (plaintext)",
    )
    .cite("Blanchard et al., Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent, NeurIPS 2017");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        Ok(Box::new(Krum::new(p.parse()?)) as Box<dyn Defense>)
    }))
}
