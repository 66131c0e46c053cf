//! `dirichlet`: per-class Dirichlet label skew (Yurochkin et al., ICML 2019), as NIID-Bench
//! (Li et al., ICDE 2022) implements it.
//!
//! This is not Hsu et al. (2019)'s variant, which draws each hospital's class mixture from
//! Dir(alpha * p); the per-class split used here is the one most FL benchmarks use.
//!
//! For each class, shares over the hospitals are drawn from a symmetric Dirichlet(alpha) and the
//! class's images are dealt by those shares: small alpha gives each hospital few classes, large
//! alpha approaches IID. A draw that leaves a hospital below the minimum is redrawn (derived
//! seeds, at most [`super::MAX_ATTEMPTS`] times), then the setting is refused.

use securefl_api::{Factory, ParamError, PartitionCtx, Partitioner, PluginError, PluginInfo};
use serde::Deserialize;

use super::{by_class, check_alpha, check_common, deal, draw_counts};

/// The parameters of `dirichlet`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DirichletParams {
    /// Concentration: small is skewed, large is near IID.
    pub alpha: f64,
}

/// Per-class Dirichlet label skew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dirichlet {
    alpha: f64,
}

impl Dirichlet {
    /// A partitioner with concentration `alpha` (positive, finite).
    pub fn new(alpha: f64) -> Result<Self, ParamError> {
        check_alpha(alpha)?;
        Ok(Self { alpha })
    }
}

impl Partitioner for Dirichlet {
    fn split(&self, ctx: &PartitionCtx, labels: &[u8]) -> Result<Vec<Vec<usize>>, PluginError> {
        check_common("dirichlet", ctx, labels)?;
        let groups = by_class(labels, ctx.classes);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        let counts = draw_counts("dirichlet", ctx, self.alpha, &sizes)?;
        let mut rng = securefl_api::rng(ctx.seed, &["dirichlet", "shuffle"]);
        Ok(deal(&groups, &counts, &mut rng))
    }
}

/// The registry factory of `dirichlet` (parameter `alpha`).
pub fn factory() -> Factory<dyn Partitioner> {
    let info = PluginInfo::new(
        "dirichlet",
        env!("CARGO_PKG_VERSION"),
        "label skew: each class dealt over hospitals by Dirichlet(alpha) shares",
    )
    .cite(
        "Yurochkin et al., Bayesian nonparametric federated learning of neural networks, \
         ICML 2019; as implemented in Li et al., Federated learning on non-IID data silos, ICDE 2022",
    );
    Factory::new(info, |params| {
        let p: DirichletParams = params.parse()?;
        Ok(Box::new(Dirichlet::new(p.alpha)?) as Box<dyn Partitioner>)
    })
}
