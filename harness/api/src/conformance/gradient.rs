//! The gradient check: one full-batch SGD step with learning rate 1 moves every weight by minus
//! the gradient of the mean cross-entropy, which is compared with central finite differences of
//! the reference forward pass ([`crate::reference`]) computed in f64.

use rand::Rng as _;

use super::{Outcome, SPECS, call, ensure, random_images};
use crate::{CnnBackend, ImageSet, ModelSpec, Optimizer, TrainCtx, reference};

/// Weights probed per parameter tensor.
const PROBES_PER_TENSOR: usize = 3;
/// Finite-difference step: small enough to cross a ReLU or max-pool kink only rarely.
const STEP: f32 = 1e-5;

/// Mean cross-entropy of `logits` (row-major, `classes` per image) against `labels`, in f64.
pub fn mean_cross_entropy(logits: &[f64], labels: &[u8], classes: usize) -> f64 {
    let total: f64 = logits
        .chunks(classes)
        .zip(labels)
        .map(|(row, &label)| {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
            log_sum - row[usize::from(label)]
        })
        .sum();
    total / labels.len() as f64
}

/// The reference loss of `weights` on `images`.
fn reference_loss(spec: &ModelSpec, weights: &[f32], images: &ImageSet) -> f64 {
    let logits: Vec<f64> = (0..images.len())
        .flat_map(|i| reference::forward_one(spec, weights, images, i))
        .collect();
    mean_cross_entropy(&logits, &images.labels, spec.classes)
}

/// Central difference of the reference loss along weight `i`, over the actual f32 step taken.
fn finite_difference(spec: &ModelSpec, weights: &[f32], images: &ImageSet, i: usize) -> f64 {
    let mut w = weights.to_vec();
    w[i] = weights[i] + STEP;
    let (up, up_loss) = (f64::from(w[i]), reference_loss(spec, &w, images));
    w[i] = weights[i] - STEP;
    let (down, down_loss) = (f64::from(w[i]), reference_loss(spec, &w, images));
    (up_loss - down_loss) / (up - down)
}

/// The flat indices probed: [`PROBES_PER_TENSOR`] seeded picks inside every parameter tensor.
fn probes(spec: &ModelSpec, seed: u64) -> Vec<usize> {
    let mut rng = crate::rng(seed, &["conformance", "probes"]);
    spec.param_layout()
        .iter()
        .flat_map(|t| {
            let range = t.range();
            (0..PROBES_PER_TENSOR)
                .map(|_| rng.gen_range(range.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The backend's gradient matches finite differences of the reference loss at three weights of
/// every parameter tensor, and its reported training loss is the reference loss, for every spec
/// of [`SPECS`] on a batch of four images: the backend differentiates the contract's loss.
pub fn gradient_matches_reference(backend: &dyn CnnBackend) -> Outcome {
    SPECS
        .iter()
        .try_for_each(|spec| gradient_matches_for(backend, *spec))
}

/// [`gradient_matches_reference`] for one spec.
fn gradient_matches_for(backend: &dyn CnnBackend, spec: ModelSpec) -> Outcome {
    let images = random_images(4, spec.in_channels, spec.classes as u8, 21);
    let start = spec.init_weights(&mut crate::rng(22, &["conformance", "gradient"]));
    let ctx = TrainCtx {
        spec,
        epochs: 1,
        batch_size: images.len(),
        optimizer: Optimizer::Sgd {
            lr: 1.0,
            momentum: 0.0,
            weight_decay: 0.0,
        },
        seed: 23,
    };
    let out = call("train", || backend.train(&ctx, &start, &images))?;
    let want_loss = reference_loss(&spec, &start, &images);
    ensure((f64::from(out.train_loss) - want_loss).abs() < 1e-5, || {
        format!(
            "{spec:?}: train loss {} but the reference loss is {want_loss}",
            out.train_loss
        )
    })?;
    for i in probes(&spec, 24) {
        let got = f64::from(start[i]) - f64::from(out.weights[i]);
        let want = finite_difference(&spec, &start, &images, i);
        ensure((got - want).abs() <= 1e-5 + 1e-3 * want.abs(), || {
            format!("{spec:?}: gradient of weight {i} is {got}, finite differences give {want}")
        })?;
    }
    Ok(())
}
