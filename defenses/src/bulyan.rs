//! `bulyan`: El Mhamdi, Guerraoui & Rouault, "The Hidden Vulnerability of Distributed Learning
//! in Byzantium", ICML 2018.
//!
//! 1. Selection: Krum is applied recursively, θ = n − 2f times; each time the update with the
//!    lowest Krum score among those not yet selected (scores recomputed over that remaining set,
//!    neighbour count clamped as in [`crate::krum::scores`]) joins the selection set.
//! 2. Aggregation: for each coordinate, the β = θ − 2f selected values closest to the selected
//!    values' median are averaged (equal distances go to the smaller value).
//!
//! Sample counts are ignored. Verdicts: the θ selected updates are accepted, the others
//! rejected; every score is the update's Krum score over all n updates (lower is more central).
//!
//! Needs: the updates in the clear (`needs_plaintext = true`, a privacy cost the result tables
//! show); no SMPC call, so the aggregation cost is zero.
//! Precondition: n ≥ 4f + 3, where f is the `f` parameter or else the run's number of
//! malicious hospitals; `check` refuses other settings.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, PluginError, PluginInfo,
    Registry, RegistryError, Setting,
};

use crate::krum::{self, Params};
use crate::math;
use crate::plain::{self, Combined};

/// The defense; its parameters are Krum's (`f`).
#[derive(Debug, Clone, Copy)]
pub struct Bulyan {
    params: Params,
}

impl Bulyan {
    /// A Bulyan defense with these parameters.
    pub fn new(params: Params) -> Self {
        Self { params }
    }
}

/// Fails unless n ≥ 4f + 3.
pub fn precondition(n: usize, f: usize) -> Result<(), PluginError> {
    if n > 4 * f + 2 {
        return Ok(());
    }
    Err(PluginError::invalid(format!(
        "bulyan needs n >= 4f + 3 (El Mhamdi et al. 2018): n = {n} hospitals, f = {f} \
         gives {n} < {}",
        4 * f + 3
    )))
}

/// The indices of the θ = n − 2f updates chosen by recursive Krum, in order of selection.
pub fn select(d2: &[Vec<f64>], f: usize) -> Vec<usize> {
    let n = d2.len();
    let mut remaining: Vec<usize> = (0..n).collect();
    let mut selected = Vec::with_capacity(n.saturating_sub(2 * f));
    while selected.len() < n.saturating_sub(2 * f) {
        let s = krum::scores(d2, &remaining, f);
        let best = math::argsort(&s)[0];
        selected.push(remaining.remove(best));
    }
    selected
}

/// Mean of the `beta` values of `sorted` closest to its median.
fn closest_to_median(sorted: &[f64], beta: usize, buf: &mut Vec<f64>) -> f64 {
    let med = math::median_sorted(sorted);
    buf.clear();
    buf.extend_from_slice(sorted);
    buf.sort_by(|a, b| (a - med).abs().total_cmp(&(b - med).abs()));
    math::mean(&buf[..beta])
}

/// Bulyan over the round's updates.
pub fn bulyan(updates: &[ClientUpdate], f: usize) -> Result<Combined, PluginError> {
    let dim = plain::dim("bulyan", updates)?;
    let n = updates.len();
    precondition(n, f)?;
    let d2 = math::pairwise_sq_dists(updates);
    let selected = select(&d2, f);
    let beta = selected.len() - 2 * f;
    let mut buf = Vec::with_capacity(selected.len());
    let delta = math::per_coordinate(&math::rows(updates, &selected), dim, |sorted| {
        closest_to_median(sorted, beta, &mut buf)
    });
    let all: Vec<usize> = (0..n).collect();
    let scores = krum::scores(&d2, &all, f);
    Ok(Combined {
        delta,
        verdicts: plain::decided(updates, &plain::mask(n, &selected), &scores),
    })
}

impl Defense for Bulyan {
    fn caps(&self) -> DefenseCaps {
        plain::caps(true)
    }

    fn check(&self, setting: &Setting) -> Result<(), PluginError> {
        precondition(setting.hospitals, plain::resolve_f(self.params.f, setting))
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        let f = plain::resolve_f(self.params.f, &ctx.setting);
        plain::aggregate_with("bulyan", ctx.global, updates, |u| bulyan(u, f))
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "bulyan",
        env!("CARGO_PKG_VERSION"),
        "recursive Krum selection, then a coordinate-wise mean around the median (plaintext)",
    )
    .cite("El Mhamdi et al., The Hidden Vulnerability of Distributed Learning in Byzantium, ICML 2018");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        Ok(Box::new(Bulyan::new(p.parse()?)) as Box<dyn Defense>)
    }))
}
