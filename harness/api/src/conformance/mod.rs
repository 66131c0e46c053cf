//! The conformance suite every CNN backend must pass.
//!
//! Each check takes a backend (`&dyn CnnBackend`), runs it on seeded synthetic data and returns
//! `Err` with a message saying what differed. A backend crate calls every check from its own
//! tests, one test per check:
//!
//! ```text
//! #[test]
//! fn logits_match_the_reference() {
//!     securefl_api::conformance::logits_match_reference(&MyBackend).unwrap();
//! }
//! ```
//!
//! The checks: [`logits_match_reference`], [`gradient_matches_reference`],
//! [`training_lowers_the_loss`], [`weights_round_trip_exactly`],
//! [`seeded_training_is_deterministic`] and [`mismatched_inputs_are_errors`].
//! The oracle is [`crate::reference`]; two backends are compared with each other by
//! [`backends_agree`]. A panic inside the backend is reported as a failure, not propagated.

mod data;
mod gradient;
mod inputs;
#[cfg(test)]
mod tests;
mod training;

use std::panic::{AssertUnwindSafe, catch_unwind};

pub use data::{learnable_images, random_images};
pub use gradient::{gradient_matches_reference, mean_cross_entropy};
pub use inputs::mismatched_inputs_are_errors;
pub use training::{backends_agree, seeded_training_is_deterministic, training_lowers_the_loss};

use crate::model::{weights_from_bytes, weights_to_bytes};
use crate::{
    Arch, CnnBackend, ImageSet, ModelSpec, Optimizer, PluginError, TrainCtx, TrainOutcome,
    reference,
};

/// What a check returns: `Err` says what failed.
pub type Outcome = Result<(), String>;

/// Largest absolute difference allowed between a backend's logits and the reference's.
pub const LOGIT_TOLERANCE: f64 = 1e-5;

/// The architectures every check covers: both CNNs, grey binary and RGB with 8 classes
/// (PneumoniaMNIST- and BloodMNIST-shaped).
pub const SPECS: [ModelSpec; 4] = [
    spec(Arch::PaperCnn, 1, 2),
    spec(Arch::PaperCnn, 3, 8),
    spec(Arch::WideCnn, 1, 2),
    spec(Arch::WideCnn, 3, 8),
];

const fn spec(arch: Arch, in_channels: usize, classes: usize) -> ModelSpec {
    ModelSpec {
        arch,
        in_channels,
        classes,
    }
}

/// `Ok` when `ok`, else `Err` with the message.
fn ensure(ok: bool, message: impl FnOnce() -> String) -> Outcome {
    if ok { Ok(()) } else { Err(message()) }
}

/// Runs `f`, turning a panic into `Err` with its message.
fn run<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("panicked: {text}")
    })
}

/// Runs a backend call that must succeed; an error or a panic becomes `Err`.
fn call<T>(what: &str, f: impl FnOnce() -> Result<T, PluginError>) -> Result<T, String> {
    run(f)?.map_err(|e| format!("{what} failed: {e}"))
}

/// Fresh PyTorch-default weights for `spec`, from `seed`.
fn weights(spec: &ModelSpec, seed: u64) -> Vec<f32> {
    spec.init_weights(&mut crate::rng(seed, &["conformance", "weights"]))
}

/// Compares `logits` with the reference forward pass of `weights` on every image.
fn compare_with_reference(
    spec: &ModelSpec,
    weights: &[f32],
    images: &ImageSet,
    logits: &[f32],
) -> Outcome {
    ensure(logits.len() == images.len() * spec.classes, || {
        format!(
            "{spec:?}: {} logits for {} images",
            logits.len(),
            images.len()
        )
    })?;
    for (i, row) in logits.chunks(spec.classes).enumerate() {
        let want = reference::forward_one(spec, weights, images, i);
        for (c, (&got, want)) in row.iter().zip(want).enumerate() {
            let diff = (f64::from(got) - want).abs();
            ensure(diff <= LOGIT_TOLERANCE, || {
                format!("{spec:?} image {i} class {c}: logit {got}, reference {want}")
            })?;
        }
    }
    Ok(())
}

/// (a) Logits of imported weights equal the reference forward pass within [`LOGIT_TOLERANCE`],
/// for every spec of [`SPECS`], and for 520 images at once (more than one inference batch).
pub fn logits_match_reference(backend: &dyn CnnBackend) -> Outcome {
    for (n, spec) in SPECS.iter().enumerate() {
        let w = weights(spec, n as u64);
        let images = random_images(5, spec.in_channels, spec.classes as u8, 100 + n as u64);
        let logits = call("predict", || backend.predict(spec, &w, &images))?;
        compare_with_reference(spec, &w, &images, &logits)?;
    }
    let (spec, w) = (SPECS[0], weights(&SPECS[0], 9));
    let images = random_images(520, 1, 2, 109);
    let logits = call("predict", || backend.predict(&spec, &w, &images))?;
    compare_with_reference(&spec, &w, &images, &logits)
}

/// One training call on `data` from `start`.
fn train(
    backend: &dyn CnnBackend,
    ctx: &TrainCtx,
    start: &[f32],
    data: &ImageSet,
) -> Result<TrainOutcome, String> {
    call("train", || backend.train(ctx, start, data))
}

/// A training context for the grey binary paper CNN.
fn ctx(epochs: usize, batch_size: usize, optimizer: Optimizer, seed: u64) -> TrainCtx {
    TrainCtx {
        spec: SPECS[0],
        epochs,
        batch_size,
        optimizer,
        seed,
    }
}

/// (c) Weights cross the interchange format exactly: training with learning rate 0 returns the
/// start weights bit for bit (import then export is the identity) for every spec, predictions
/// are repeatable, and a weight file read back predicts the same logits.
pub fn weights_round_trip_exactly(backend: &dyn CnnBackend) -> Outcome {
    let frozen = Optimizer::Sgd {
        lr: 0.0,
        momentum: 0.0,
        weight_decay: 0.0,
    };
    for (n, spec) in SPECS.iter().enumerate() {
        let start = weights(spec, 40 + n as u64);
        let data = random_images(6, spec.in_channels, spec.classes as u8, 50 + n as u64);
        let ctx = TrainCtx {
            spec: *spec,
            ..ctx(1, 4, frozen, 3)
        };
        let out = train(backend, &ctx, &start, &data)?;
        let moved = start
            .iter()
            .zip(&out.weights)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        ensure(out.weights.len() == start.len() && moved.is_none(), || {
            format!("{spec:?}: weights changed by a step of size 0 (first at {moved:?})")
        })?;
        let bytes = weights_to_bytes(&start);
        let back = weights_from_bytes(spec, &bytes, "w.f32").map_err(|e| e.to_string())?;
        let a = call("predict", || backend.predict(spec, &start, &data))?;
        let b = call("predict", || backend.predict(spec, &back, &data))?;
        let same = a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits());
        ensure(same, || {
            format!("{spec:?}: the same weights predicted different logits")
        })?;
    }
    Ok(())
}
