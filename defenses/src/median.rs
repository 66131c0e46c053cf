//! `median`: coordinate-wise median, Yin, Chen, Ramchandran & Bartlett, "Byzantine-Robust
//! Distributed Learning: Towards Optimal Statistical Rates", ICML 2018.
//!
//! Each coordinate of the round's delta is the median of that coordinate over all updates; for
//! an even n it is the mean of the two middle values. Sample counts are ignored.
//! The rule does not decide per update: every verdict is `n/a` with no score.
//!
//! Needs: the updates in the clear (`needs_plaintext = true`, a privacy cost the result tables
//! show); no SMPC call, so the aggregation cost is zero.
//! Preconditions: none that `check` refuses (it runs for any n ≥ 1); its guarantee needs fewer
//! than half the updates to be Byzantine (f < n/2), which the result tables show by the
//! malicious fraction.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, PluginError, PluginInfo,
    Registry, RegistryError,
};

use crate::math;
use crate::plain::{self, Combined};

/// The defense; it takes no parameters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Median;

/// The coordinate-wise median of the updates.
pub fn median(updates: &[ClientUpdate]) -> Result<Combined, PluginError> {
    let dim = plain::dim("median", updates)?;
    let all: Vec<usize> = (0..updates.len()).collect();
    Ok(Combined {
        delta: math::per_coordinate(&math::rows(updates, &all), dim, math::median_sorted),
        verdicts: plain::not_applicable(updates),
    })
}

impl Defense for Median {
    fn caps(&self) -> DefenseCaps {
        plain::caps(false)
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        plain::aggregate_with("median", ctx.global, updates, median)
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "median",
        env!("CARGO_PKG_VERSION"),
        "coordinate-wise median of the updates (plaintext)",
    )
    .cite("Yin et al., Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018 (median)");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        p.expect_none()?;
        Ok(Box::new(Median) as Box<dyn Defense>)
    }))
}
