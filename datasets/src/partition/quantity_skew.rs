//! `quantity-skew`: hospital sizes from Dirichlet(alpha), labels IID.
//!
//! Sizes are one Dirichlet(alpha) draw over the hospitals; a draw leaving a hospital below the
//! minimum is redrawn (at most [`super::MAX_ATTEMPTS`] times), then the setting is refused.

use securefl_api::{Factory, ParamError, PartitionCtx, Partitioner, PluginError, PluginInfo};
use serde::Deserialize;

use super::{check_alpha, check_common, deal, draw_counts};

/// The parameters of `quantity-skew`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QuantitySkewParams {
    /// Concentration: small gives very unequal sizes, large near-equal ones.
    pub alpha: f64,
}

/// Dirichlet quantity skew with IID labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuantitySkew {
    alpha: f64,
}

impl QuantitySkew {
    /// A partitioner with concentration `alpha` (positive, finite).
    pub fn new(alpha: f64) -> Result<Self, ParamError> {
        check_alpha(alpha)?;
        Ok(Self { alpha })
    }
}

impl Partitioner for QuantitySkew {
    fn split(&self, ctx: &PartitionCtx, labels: &[u8]) -> Result<Vec<Vec<usize>>, PluginError> {
        check_common("quantity-skew", ctx, labels)?;
        let all: Vec<usize> = (0..labels.len()).collect();
        let counts = draw_counts("quantity-skew", ctx, self.alpha, &[all.len()])?;
        let mut rng = securefl_api::rng(ctx.seed, &["quantity-skew", "shuffle"]);
        Ok(deal(&[all], &counts, &mut rng))
    }
}

/// The registry factory of `quantity-skew` (parameter `alpha`).
pub fn factory() -> Factory<dyn Partitioner> {
    let info = PluginInfo::new(
        "quantity-skew",
        env!("CARGO_PKG_VERSION"),
        "quantity skew: hospital sizes from Dirichlet(alpha), labels IID",
    )
    .cite(
        "Li, Diao, Chen and He, Federated learning on non-IID data silos: an experimental study, \
         ICDE 2022 (arXiv:2102.02079)",
    );
    Factory::new(info, |params| {
        let p: QuantitySkewParams = params.parse()?;
        Ok(Box::new(QuantitySkew::new(p.alpha)?) as Box<dyn Partitioner>)
    })
}
