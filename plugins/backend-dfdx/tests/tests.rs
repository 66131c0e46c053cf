//! Tests of the dfdx backend against the reference forward pass and for deterministic training.

use rand::{Rng as _, SeedableRng};
use securefl_api::{Arch, CnnBackend, ImageSet, ModelSpec, Optimizer, Rng, TrainCtx, reference};
use securefl_backend_dfdx::DfdxBackend;

fn random_images(n: usize, channels: usize, classes: u8, seed: u64) -> ImageSet {
    let mut rng = Rng::seed_from_u64(seed);
    ImageSet {
        height: 28,
        width: 28,
        channels,
        pixels: (0..n * 28 * 28 * channels).map(|_| rng.r#gen()).collect(),
        labels: (0..n).map(|_| rng.gen_range(0..classes)).collect(),
    }
}

#[test]
fn logits_match_the_reference_forward_pass() {
    for (arch, channels, classes) in [(Arch::PaperCnn, 1, 2), (Arch::WideCnn, 3, 8)] {
        let spec = ModelSpec {
            arch,
            in_channels: channels,
            classes,
        };
        let weights = spec.init_weights(&mut Rng::seed_from_u64(3));
        let images = random_images(5, channels, classes as u8, 4);
        let logits = DfdxBackend.predict(&spec, &weights, &images).unwrap();
        assert_eq!(logits.len(), 5 * classes);
        for i in 0..5 {
            let want = reference::forward_one(&spec, &weights, &images, i);
            for (c, w) in want.iter().enumerate() {
                let got = f64::from(logits[i * classes + c]);
                assert!(
                    (got - w).abs() < 1e-4,
                    "{arch:?} image {i} class {c}: {got} vs {w}"
                );
            }
        }
    }
}

#[test]
fn training_is_deterministic_and_lowers_the_loss() {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let mut data = random_images(96, 1, 2, 5);
    // Make the task learnable: class 1 images are bright.
    for i in 0..data.len() {
        let bright = data.labels[i] == 1;
        for p in &mut data.pixels[i * 784..(i + 1) * 784] {
            *p = if bright { p.saturating_add(90) } else { *p / 3 };
        }
    }
    let start = spec.init_weights(&mut Rng::seed_from_u64(1));
    let ctx = |epochs| TrainCtx {
        spec,
        epochs,
        batch_size: 16,
        optimizer: Optimizer::adam(1e-3),
        seed: 9,
    };
    let a = DfdxBackend.train(&ctx(3), &start, &data).unwrap();
    let b = DfdxBackend.train(&ctx(3), &start, &data).unwrap();
    assert_eq!(a.weights, b.weights, "same seed, same weights");
    let one = DfdxBackend.train(&ctx(1), &start, &data).unwrap();
    assert!(
        a.train_loss < one.train_loss,
        "{} !< {}",
        a.train_loss,
        one.train_loss
    );
    let logits = DfdxBackend.predict(&spec, &a.weights, &data).unwrap();
    let correct = (0..data.len())
        .filter(|&i| (logits[2 * i + 1] > logits[2 * i]) == (data.labels[i] == 1))
        .count();
    assert!(correct > 90, "{correct}/96 correct on an easy task");
}

#[test]
fn mismatched_inputs_are_errors() {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let images = random_images(2, 3, 2, 1);
    let weights = spec.init_weights(&mut Rng::seed_from_u64(0));
    assert!(DfdxBackend.predict(&spec, &weights, &images).is_err());
    assert!(
        DfdxBackend
            .predict(&spec, &weights[1..], &random_images(2, 1, 2, 1))
            .is_err()
    );
}

#[test]
fn weights_survive_the_weight_file() {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let weights = spec.init_weights(&mut Rng::seed_from_u64(11));
    let bytes = securefl_api::model::weights_to_bytes(&weights);
    let back = securefl_api::model::weights_from_bytes(&spec, &bytes, "w.f32").unwrap();
    assert_eq!(back, weights);
    let images = random_images(4, 1, 2, 2);
    assert_eq!(
        DfdxBackend.predict(&spec, &back, &images).unwrap(),
        DfdxBackend.predict(&spec, &weights, &images).unwrap()
    );
    let err = securefl_api::model::weights_from_bytes(&spec, &bytes[4..], "w.f32").unwrap_err();
    assert!(err.to_string().starts_with("w.f32: 224772 bytes"), "{err}");
}
