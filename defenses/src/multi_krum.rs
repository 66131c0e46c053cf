//! `multi-krum`: Blanchard, El Mhamdi, Guerraoui & Stainer, "Machine Learning with Adversaries:
//! Byzantine Tolerant Gradient Descent", NeurIPS 2017 (Section 5, Multi-Krum).
//!
//! Krum scores are computed once over all n updates (one-shot, as in the paper and in Flower's
//! and ByzFL's implementations; Bulyan's selection is the iterative one), the m updates with the
//! lowest scores are selected (ties to the lowest index), and their plain, unweighted mean is the
//! round's delta, as in the paper (sample counts are ignored).
//! Verdicts: the selected updates are accepted, the others rejected; the score is the Krum score.
//!
//! Needs: the updates in the clear (`needs_plaintext = true`, a privacy cost the result tables
//! show); no SMPC call, so the aggregation cost is zero.
//! Preconditions: n > 2f + 2 and 1 ≤ m ≤ n, where f is the `f` parameter or else the run's
//! number of malicious hospitals, and m defaults to n − f; `check` refuses other settings.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, ParamError, PluginError,
    PluginInfo, Registry, RegistryError, Setting,
};
use serde::Deserialize;

use crate::plain::{self, Combined};
use crate::{krum, math};

/// Parameters of `multi-krum`.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Byzantine updates tolerated; default: the run's number of malicious hospitals.
    #[serde(default)]
    pub f: Option<usize>,
    /// Updates averaged; default n − f.
    #[serde(default)]
    pub m: Option<usize>,
}

/// The defense.
#[derive(Debug, Clone, Copy)]
pub struct MultiKrum {
    params: Params,
}

impl MultiKrum {
    /// Validates the parameters (`m` at least 1).
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if params.m == Some(0) {
            return Err(ParamError::field("m", "must select at least one update"));
        }
        Ok(Self { params })
    }

    fn resolve(&self, setting: &Setting) -> (usize, usize) {
        let f = plain::resolve_f(self.params.f, setting);
        let m = self.params.m.unwrap_or(setting.hospitals.saturating_sub(f));
        (f, m)
    }
}

/// Fails unless n > 2f + 2 and 1 ≤ m ≤ n.
pub fn precondition(n: usize, f: usize, m: usize) -> Result<(), PluginError> {
    krum::precondition("multi-krum", n, f)?;
    if (1..=n).contains(&m) {
        return Ok(());
    }
    Err(PluginError::invalid(format!(
        "multi-krum selects m = {m} updates, which needs 1 <= m <= n = {n}"
    )))
}

/// Multi-Krum: the unweighted mean of the m updates with the lowest Krum scores.
pub fn multi_krum(updates: &[ClientUpdate], f: usize, m: usize) -> Result<Combined, PluginError> {
    let dim = plain::dim("multi-krum", updates)?;
    let n = updates.len();
    precondition(n, f, m)?;
    let d2 = math::pairwise_sq_dists(updates);
    let ids: Vec<usize> = (0..n).collect();
    let s = krum::scores(&d2, &ids, f);
    let selected = &math::argsort(&s)[..m];
    Ok(Combined {
        delta: math::mean_of(updates, selected, dim),
        verdicts: plain::decided(updates, &plain::mask(n, selected), &s),
    })
}

impl Defense for MultiKrum {
    fn caps(&self) -> DefenseCaps {
        plain::caps(true)
    }

    fn check(&self, setting: &Setting) -> Result<(), PluginError> {
        let (f, m) = self.resolve(setting);
        precondition(setting.hospitals, f, m)
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let setting = Setting {
            hospitals: updates.len(),
            ..ctx.setting
        };
        let (f, m) = self.resolve(&setting);
        plain::aggregate_with("multi-krum", ctx.global, updates, |u| multi_krum(u, f, m))
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "multi-krum",
        env!("CARGO_PKG_VERSION"),
        "averages the m updates with the lowest Krum scores (plaintext)",
    )
    .cite("Blanchard et al., Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent, NeurIPS 2017 (Multi-Krum)");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        Ok(Box::new(MultiKrum::new(p.parse()?)?) as Box<dyn Defense>)
    }))
}
