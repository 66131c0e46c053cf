//! Partitioners: splits of the training set over hospitals.
//!
//! Every partitioner is deterministic for `ctx.seed`, returns disjoint index lists sorted within
//! each hospital, and refuses (never silently weakens) a setting that cannot give every hospital
//! at least `ctx.min_samples` images (and at least one).

pub mod dirichlet;
pub mod iid;
pub mod pathological;
pub mod quantity_skew;

use rand::seq::SliceRandom;
use rand_distr::{Distribution, Gamma};
use securefl_api::{ParamError, PartitionCtx, PluginError, Rng};

pub use dirichlet::Dirichlet;
pub use iid::Iid;
pub use pathological::Pathological;
pub use quantity_skew::QuantitySkew;

/// How many Dirichlet draws are tried before a setting is refused.
pub const MAX_ATTEMPTS: usize = 1000;

/// An invalid-setting error from partitioner `name`.
fn invalid(name: &str, msg: impl std::fmt::Display) -> PluginError {
    PluginError::invalid(format!("{name}: {msg}"))
}

/// The fewest images a hospital may get: `ctx.min_samples`, and never zero.
fn min_samples(ctx: &PartitionCtx) -> usize {
    ctx.min_samples.max(1)
}

/// Checks what every partitioner needs: hospitals, labels in range, enough images.
fn check_common(name: &str, ctx: &PartitionCtx, labels: &[u8]) -> Result<(), PluginError> {
    if ctx.hospitals == 0 {
        return Err(invalid(name, "there must be at least one hospital"));
    }
    let bad = labels.iter().position(|&l| usize::from(l) >= ctx.classes);
    if let Some(i) = bad {
        let msg = format!(
            "label {} at index {i} is out of range for {} classes",
            labels[i], ctx.classes
        );
        return Err(invalid(name, msg));
    }
    let min = min_samples(ctx);
    if ctx
        .hospitals
        .checked_mul(min)
        .is_none_or(|need| need > labels.len())
    {
        let msg = format!(
            "{} hospitals cannot each get {min} of {} images",
            ctx.hospitals,
            labels.len()
        );
        return Err(invalid(name, msg));
    }
    Ok(())
}

/// Sorts each hospital's indices.
fn finish(mut parts: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    parts.iter_mut().for_each(|p| p.sort_unstable());
    parts
}

/// The indices of each class, in order.
fn by_class(labels: &[u8], classes: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        groups[usize::from(l)].push(i);
    }
    groups
}

/// Checks a Dirichlet concentration parameter.
fn check_alpha(alpha: f64) -> Result<(), ParamError> {
    if alpha.is_finite() && alpha > 0.0 {
        Ok(())
    } else {
        Err(ParamError::field(
            "alpha",
            format!("must be positive and finite, got {alpha}"),
        ))
    }
}

/// One draw from the symmetric Dirichlet(alpha) over `k` outcomes (via Gamma variates).
fn dirichlet(rng: &mut Rng, alpha: f64, k: usize) -> Vec<f64> {
    let Ok(gamma) = Gamma::new(alpha, 1.0) else {
        return vec![1.0 / k as f64; k];
    };
    let mut p: Vec<f64> = (0..k).map(|_| gamma.sample(rng)).collect();
    let sum: f64 = p.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        p.iter_mut().for_each(|x| *x /= sum);
    } else {
        // Every variate underflowed (tiny alpha): the limit is all mass on one outcome.
        let hot = rand::Rng::gen_range(rng, 0..k);
        p = (0..k).map(|i| if i == hot { 1.0 } else { 0.0 }).collect();
    }
    p
}

/// Splits `n` items by proportions `p` (cumulative rounding, so the counts sum to `n`).
fn cut_counts(n: usize, p: &[f64]) -> Vec<usize> {
    let mut counts = Vec::with_capacity(p.len());
    let (mut acc, mut prev) = (0.0, 0usize);
    for (i, x) in p.iter().enumerate() {
        acc += x;
        let cum = if i + 1 == p.len() {
            n
        } else {
            ((acc * n as f64).round() as usize).clamp(prev, n)
        };
        counts.push(cum - prev);
        prev = cum;
    }
    counts
}

/// Draws, for each group of `sizes`, Dirichlet(alpha) shares over the hospitals until every
/// hospital's total reaches the minimum; returns the counts (group x hospital).
fn draw_counts(
    name: &str,
    ctx: &PartitionCtx,
    alpha: f64,
    sizes: &[usize],
) -> Result<Vec<Vec<usize>>, PluginError> {
    let (h, min) = (ctx.hospitals, min_samples(ctx));
    for attempt in 0..MAX_ATTEMPTS {
        let mut rng = securefl_api::rng(ctx.seed, &[name, "draw", &attempt.to_string()]);
        let table: Vec<Vec<usize>> = sizes
            .iter()
            .map(|&n| cut_counts(n, &dirichlet(&mut rng, alpha, h)))
            .collect();
        if (0..h).all(|j| table.iter().map(|row| row[j]).sum::<usize>() >= min) {
            return Ok(table);
        }
    }
    let n: usize = sizes.iter().sum();
    Err(invalid(
        name,
        format!(
            "no draw in {MAX_ATTEMPTS} attempts gave each of {h} hospitals at least {min} of {n} \
             images with alpha = {alpha}; raise alpha, or lower hospitals or min-samples"
        ),
    ))
}

/// Shuffles each group and deals it to hospitals by `counts` (group x hospital).
fn deal(groups: &[Vec<usize>], counts: &[Vec<usize>], rng: &mut Rng) -> Vec<Vec<usize>> {
    let h = counts.first().map_or(0, Vec::len);
    let mut parts = vec![Vec::new(); h];
    for (group, row) in groups.iter().zip(counts) {
        let mut idx = group.clone();
        idx.shuffle(rng);
        let mut rest = idx.as_slice();
        for (part, &c) in parts.iter_mut().zip(row) {
            let (take, tail) = rest.split_at(c);
            part.extend_from_slice(take);
            rest = tail;
        }
    }
    finish(parts)
}

#[cfg(test)]
mod tests;
