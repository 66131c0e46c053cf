//! `trimmed-mean`: coordinate-wise β-trimmed mean, Yin, Chen, Ramchandran & Bartlett,
//! "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018.
//!
//! For each coordinate, the β largest and β smallest values are removed and the remaining
//! n − 2β are averaged (unweighted; sample counts are ignored).
//! The rule does not decide per update: every verdict is `n/a` with no score.
//!
//! Needs: the updates in the clear (`needs_plaintext = true`, a privacy cost the result tables
//! show); no SMPC call, so the aggregation cost is zero.
//! Precondition: n > 2β, where β is the `beta` parameter or else the run's number of malicious
//! hospitals; `check` refuses other settings.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, PluginError, PluginInfo,
    Registry, RegistryError, Setting,
};
use serde::Deserialize;

use crate::math;
use crate::plain::{self, Combined};

/// Parameters of `trimmed-mean`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Values trimmed at each end of every coordinate; default: the run's number of malicious
    /// hospitals.
    #[serde(default)]
    pub beta: Option<usize>,
}

/// The defense.
#[derive(Debug, Clone, Copy)]
pub struct TrimmedMean {
    params: Params,
}

impl TrimmedMean {
    /// A trimmed mean with these parameters.
    pub fn new(params: Params) -> Self {
        Self { params }
    }
}

/// Fails unless n > 2β.
pub fn precondition(n: usize, beta: usize) -> Result<(), PluginError> {
    if n > 2 * beta {
        return Ok(());
    }
    Err(PluginError::invalid(format!(
        "trimmed-mean needs n > 2 beta: n = {n} hospitals, beta = {beta} leaves no value to average"
    )))
}

/// The coordinate-wise β-trimmed mean of the updates.
pub fn trimmed_mean(updates: &[ClientUpdate], beta: usize) -> Result<Combined, PluginError> {
    let dim = plain::dim("trimmed-mean", updates)?;
    let n = updates.len();
    precondition(n, beta)?;
    let all: Vec<usize> = (0..n).collect();
    let delta = math::per_coordinate(&math::rows(updates, &all), dim, |sorted| {
        math::mean(&sorted[beta..n - beta])
    });
    Ok(Combined {
        delta,
        verdicts: plain::not_applicable(updates),
    })
}

impl Defense for TrimmedMean {
    fn caps(&self) -> DefenseCaps {
        plain::caps(false)
    }

    fn check(&self, setting: &Setting) -> Result<(), PluginError> {
        precondition(
            setting.hospitals,
            plain::resolve_f(self.params.beta, setting),
        )
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let beta = plain::resolve_f(self.params.beta, &ctx.setting);
        plain::aggregate_with("trimmed-mean", ctx.global, updates, |u| {
            trimmed_mean(u, beta)
        })
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "trimmed-mean",
        env!("CARGO_PKG_VERSION"),
        "coordinate-wise mean without the beta largest and smallest values (plaintext)",
    )
    .cite("Yin et al., Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018 (trimmed mean)");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        Ok(Box::new(TrimmedMean::new(p.parse()?)) as Box<dyn Defense>)
    }))
}
