//! The training checks: training lowers the loss, is deterministic under a seed, and two
//! backends train alike.

use super::{
    LOGIT_TOLERANCE, Outcome, SPECS, call, ctx, ensure, learnable_images, mean_cross_entropy,
    random_images, train, weights,
};
use crate::{CnnBackend, ImageSet, ModelSpec, Optimizer, TrainOutcome};

/// The mean cross-entropy of `weights` on `data`, from the backend's own logits.
fn loss_of(
    backend: &dyn CnnBackend,
    spec: &ModelSpec,
    weights: &[f32],
    data: &ImageSet,
) -> Result<f64, String> {
    let logits = call("predict", || backend.predict(spec, weights, data))?;
    let logits: Vec<f64> = logits.into_iter().map(f64::from).collect();
    Ok(mean_cross_entropy(&logits, &data.labels, spec.classes))
}

/// (b) Training lowers the loss: on an easy task, three epochs of Adam end with a lower training
/// loss than one, lower the loss of the model, and classify more than 90 of 96 images.
pub fn training_lowers_the_loss(backend: &dyn CnnBackend) -> Outcome {
    let data = learnable_images(96, 5);
    let start = weights(&SPECS[0], 1);
    let adam = Optimizer::adam(1e-3);
    let three = train(backend, &ctx(3, 16, adam, 9), &start, &data)?;
    let one = train(backend, &ctx(1, 16, adam, 9), &start, &data)?;
    ensure(three.train_loss < one.train_loss, || {
        format!(
            "last-epoch loss {} after 3 epochs, {} after 1",
            three.train_loss, one.train_loss
        )
    })?;
    let before = loss_of(backend, &SPECS[0], &start, &data)?;
    let after = loss_of(backend, &SPECS[0], &three.weights, &data)?;
    ensure(after < before, || {
        format!("model loss {before} before training, {after} after")
    })?;
    let logits = call("predict", || {
        backend.predict(&SPECS[0], &three.weights, &data)
    })?;
    let correct = logits
        .chunks(2)
        .zip(&data.labels)
        .filter(|(row, label)| (row[1] > row[0]) == (**label == 1))
        .count();
    ensure(correct > 90, || {
        format!("{correct}/96 correct on an easy task")
    })
}

/// (d) Seeded training is deterministic: the same seed gives bit-identical weights and loss, a
/// different seed (another batch order) different weights.
pub fn seeded_training_is_deterministic(backend: &dyn CnnBackend) -> Outcome {
    let data = learnable_images(64, 6);
    let start = weights(&SPECS[0], 2);
    let adam = Optimizer::adam(1e-3);
    let a = train(backend, &ctx(2, 16, adam, 7), &start, &data)?;
    let b = train(backend, &ctx(2, 16, adam, 7), &start, &data)?;
    let c = train(backend, &ctx(2, 16, adam, 8), &start, &data)?;
    let bits = |o: &TrainOutcome| o.weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
    ensure(bits(&a) == bits(&b), || {
        "the same seed gave different weights".to_owned()
    })?;
    ensure(a.train_loss.to_bits() == b.train_loss.to_bits(), || {
        format!(
            "the same seed gave losses {} and {}",
            a.train_loss, b.train_loss
        )
    })?;
    ensure(bits(&a) != bits(&c), || {
        "seeds 7 and 8 gave the same weights".to_owned()
    })
}

/// Two backends agree: the same imported weights give logits within [`LOGIT_TOLERANCE`] for
/// every spec, and two epochs of SGD with momentum (four batches each) end within `1e-5` of each
/// other, weight by weight and in loss, which needs the same batches, loss and optimiser.
pub fn backends_agree(a: &dyn CnnBackend, b: &dyn CnnBackend) -> Outcome {
    for (n, spec) in SPECS.iter().enumerate() {
        let w = weights(spec, 60 + n as u64);
        let images = random_images(7, spec.in_channels, spec.classes as u8, 70 + n as u64);
        let la = call("predict", || a.predict(spec, &w, &images))?;
        let lb = call("predict", || b.predict(spec, &w, &images))?;
        ensure(la.len() == lb.len(), || {
            format!("{spec:?}: {} and {} logits", la.len(), lb.len())
        })?;
        for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
            ensure(f64::from(x - y).abs() <= LOGIT_TOLERANCE, || {
                format!("{spec:?}: logit {i} is {x} on one backend, {y} on the other")
            })?;
        }
    }
    let sgd = Optimizer::Sgd {
        lr: 0.05,
        momentum: 0.9,
        weight_decay: 1e-4,
    };
    let data = learnable_images(32, 8);
    let start = weights(&SPECS[0], 3);
    let ta = train(a, &ctx(2, 8, sgd, 11), &start, &data)?;
    let tb = train(b, &ctx(2, 8, sgd, 11), &start, &data)?;
    ensure((ta.train_loss - tb.train_loss).abs() <= 1e-5, || {
        format!("training losses {} and {}", ta.train_loss, tb.train_loss)
    })?;
    let worst = ta
        .weights
        .iter()
        .zip(&tb.weights)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    ensure(worst <= 1e-5, || {
        format!("trained weights differ by up to {worst}")
    })
}
