//! `fltrust`: Cao, Fang, Liu & Gong, "FLTrust: Byzantine-robust Federated Learning via Trust
//! Bootstrapping", NDSS 2021.
//!
//! The server trains a reference update g₀ on a root dataset: `root-size` images (default 100,
//! the paper's default) drawn without replacement from the validation split with the seeded
//! generator `rng(ctx.seed, ["fltrust", "root"])` (all of them when the split is smaller),
//! trained from the global model with the backend and the hospitals' own training settings
//! (`ctx.train`: same epochs, batch size, optimiser; its seed is this call's seed).
//! Each update gᵢ gets the trust score TSᵢ = ReLU(cos(gᵢ, g₀)) (0 for a zero update), is rescaled
//! to ‖g₀‖, and the round's delta is Σ TSᵢ·ĝᵢ / Σ TSᵢ. Sample counts are ignored.
//! If every trust score is 0 (or g₀ is zero), the delta is zero: the global model stays
//! unchanged for the round.
//! Verdicts: TSᵢ > 0 accepted, TSᵢ = 0 rejected; the score is TSᵢ.
//!
//! Needs: the updates and the validation images in the clear (`needs_plaintext = true`, a
//! privacy cost the result tables show), and one plaintext training run per round on the
//! server; no SMPC call, so the aggregation cost is zero. Preconditions: a non-empty validation
//! split (checked when aggregating); no setting is refused up front.

use securefl_api::{
    Aggregate, ClientUpdate, Defense, DefenseCaps, DefenseCtx, Factory, ParamError, PluginError,
    PluginInfo, Registry, RegistryError, epoch_order, rng,
};
use serde::Deserialize;

use crate::math;
use crate::plain::{self, Combined};

/// Parameters of `fltrust`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Images in the root dataset, drawn from the validation split.
    #[serde(default = "default_root_size")]
    pub root_size: usize,
}

fn default_root_size() -> usize {
    100
}

impl Default for Params {
    fn default() -> Self {
        Self {
            root_size: default_root_size(),
        }
    }
}

/// The defense.
#[derive(Debug, Clone, Copy)]
pub struct FlTrust {
    params: Params,
}

impl FlTrust {
    /// Validates the parameters (`root-size` at least 1).
    pub fn new(params: Params) -> Result<Self, ParamError> {
        if params.root_size == 0 {
            return Err(ParamError::field(
                "root-size",
                "the root dataset needs at least one image",
            ));
        }
        Ok(Self { params })
    }
}

/// The root dataset: `root_size` of `available` indices (all when fewer), seeded, ascending.
pub fn root_indices(seed: u64, available: usize, root_size: usize) -> Vec<usize> {
    let mut idx = epoch_order(&mut rng(seed, &["fltrust", "root"]), available);
    idx.truncate(root_size);
    idx.sort_unstable();
    idx
}

/// Trust scores ReLU(cos(gᵢ, g₀)); 0 when either vector is zero.
pub fn trust_scores(updates: &[ClientUpdate], reference: &[f32]) -> Vec<f64> {
    let ref_norm = math::dot(reference, reference).sqrt();
    updates
        .iter()
        .map(|u| {
            let den = u.norm() * ref_norm;
            if den > 0.0 {
                (math::dot(&u.delta, reference) / den).max(0.0)
            } else {
                0.0
            }
        })
        .collect()
}

/// FLTrust's combination of the updates given the server's reference update g₀.
pub fn combine(updates: &[ClientUpdate], reference: &[f32]) -> Result<Combined, PluginError> {
    let dim = plain::dim("fltrust", updates)?;
    if reference.len() != dim {
        return Err(PluginError::invalid(format!(
            "fltrust: the reference update has {} weights, the updates {dim}",
            reference.len()
        )));
    }
    let ts = trust_scores(updates, reference);
    let total: f64 = ts.iter().sum();
    let ref_norm = math::dot(reference, reference).sqrt();
    let mut delta = vec![0.0; dim];
    if total > 0.0 {
        for (u, &t) in updates.iter().zip(&ts).filter(|(_, t)| **t > 0.0) {
            let w = t * ref_norm / u.norm() / total;
            for (d, &v) in delta.iter_mut().zip(&u.delta) {
                *d += w * f64::from(v);
            }
        }
    }
    let accepted: Vec<bool> = ts.iter().map(|&t| t > 0.0).collect();
    Ok(Combined {
        delta,
        verdicts: plain::decided(updates, &accepted, &ts),
    })
}

/// Trains the server's reference update g₀ on the root dataset.
fn reference_update(ctx: &DefenseCtx<'_>, root_size: usize) -> Result<Vec<f32>, PluginError> {
    if ctx.validation.is_empty() {
        return Err(PluginError::invalid(
            "fltrust: the validation split is empty, so there is no root dataset",
        ));
    }
    let idx = root_indices(ctx.seed, ctx.validation.len(), root_size);
    let root = ctx.validation.subset(&idx);
    let out = ctx.backend.train(&ctx.train, ctx.global, &root)?;
    if out.weights.len() != ctx.global.len() {
        return Err(PluginError::failed(format!(
            "fltrust: the backend returned {} weights for a {}-weight model",
            out.weights.len(),
            ctx.global.len()
        )));
    }
    Ok(out
        .weights
        .iter()
        .zip(ctx.global)
        .map(|(w, g)| w - g)
        .collect())
}

impl Defense for FlTrust {
    fn caps(&self) -> DefenseCaps {
        plain::caps(true)
    }

    fn aggregate(
        &mut self,
        ctx: &mut DefenseCtx<'_>,
        updates: &[ClientUpdate],
    ) -> Result<Aggregate, PluginError> {
        plain::check_len("fltrust", ctx.global, updates)?;
        let reference = reference_update(ctx, self.params.root_size)?;
        plain::aggregate_with("fltrust", ctx.global, updates, |u| combine(u, &reference))
    }
}

pub(crate) fn register(reg: &mut Registry) -> Result<(), RegistryError> {
    let info = PluginInfo::new(
        "fltrust",
        env!("CARGO_PKG_VERSION"),
        "weights updates by their cosine trust against a server update on a root dataset (plaintext)",
    )
    .cite("Cao et al., FLTrust: Byzantine-robust Federated Learning via Trust Bootstrapping, NDSS 2021");
    reg.add::<dyn Defense>(Factory::new(info, |p| {
        Ok(Box::new(FlTrust::new(p.parse()?)?) as Box<dyn Defense>)
    }))
}
