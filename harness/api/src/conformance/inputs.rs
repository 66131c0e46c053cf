//! Bad input is an error, never a panic: weights, images, labels or training settings that do
//! not fit the model are refused with [`PluginError::Invalid`].

use super::{Outcome, data::relabelled, ensure, random_images, run};
use crate::{Arch, CnnBackend, ImageSet, ModelSpec, Optimizer, PluginError, TrainCtx};

/// One bad call and what makes it bad.
struct Case {
    what: &'static str,
    weights: Vec<f32>,
    images: ImageSet,
    batch_size: usize,
    epochs: usize,
}

/// The bad inputs, each with everything else valid, for the grey binary paper CNN.
fn cases(spec: &ModelSpec) -> Vec<Case> {
    let weights = spec.init_weights(&mut crate::rng(31, &["conformance", "inputs"]));
    let good = random_images(3, 1, 2, 32);
    let mut short_pixels = good.clone();
    short_pixels.pixels.pop();
    let small = ImageSet {
        height: 27,
        width: 27,
        pixels: vec![0; 3 * 27 * 27],
        ..good.clone()
    };
    let case = |what, weights: &[f32], images: &ImageSet| Case {
        what,
        weights: weights.to_vec(),
        images: images.clone(),
        batch_size: 2,
        epochs: 1,
    };
    let mut too_many = weights.clone();
    too_many.push(0.0);
    vec![
        case(
            "RGB images for a grey model",
            &weights,
            &random_images(3, 3, 2, 33),
        ),
        case("one weight too few", &weights[1..], &good),
        case("one weight too many", &too_many, &good),
        case("27x27 images", &weights, &small),
        case("one pixel value missing", &weights, &short_pixels),
        case(
            "a label equal to the class count",
            &weights,
            &relabelled(&good, 2),
        ),
        Case {
            batch_size: 0,
            ..case("batch size 0", &weights, &good)
        },
        Case {
            epochs: 0,
            ..case("zero epochs", &weights, &good)
        },
    ]
}

/// `Err(PluginError::Invalid)` passes; success, another error kind or a panic fails.
fn refused(call: &str, case: &Case, got: Result<Result<(), PluginError>, String>) -> Outcome {
    match got {
        Ok(Err(PluginError::Invalid(_))) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "{call} with {}: not an `Invalid` error: {e:?}",
            case.what
        )),
        Ok(Ok(())) => Err(format!("{call} with {}: accepted", case.what)),
        Err(panic) => Err(format!("{call} with {}: {panic}", case.what)),
    }
}

/// Every bad input is refused by `train` (and by `predict`, where it applies) without panicking,
/// and `predict` on no images returns no logits.
pub fn mismatched_inputs_are_errors(backend: &dyn CnnBackend) -> Outcome {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    for case in cases(&spec) {
        let ctx = TrainCtx {
            spec,
            epochs: case.epochs,
            batch_size: case.batch_size,
            optimizer: Optimizer::adam(1e-3),
            seed: 1,
        };
        let train = run(|| backend.train(&ctx, &case.weights, &case.images).map(drop));
        refused("train", &case, train)?;
        if case.batch_size > 0 && case.epochs > 0 {
            let predict = run(|| {
                backend
                    .predict(&spec, &case.weights, &case.images)
                    .map(drop)
            });
            refused("predict", &case, predict)?;
        }
    }
    let weights = spec.init_weights(&mut crate::rng(34, &["conformance", "inputs"]));
    let none = random_images(0, 1, 2, 35);
    let logits = run(|| backend.predict(&spec, &weights, &none))?;
    ensure(matches!(&logits, Ok(l) if l.is_empty()), || {
        format!("predict on no images: {logits:?}")
    })
}
