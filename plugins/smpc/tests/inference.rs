//! Encrypted inference agrees with plaintext inference of the same weights on real data.

use std::time::Instant;

use securefl_api::{Arch, CnnBackend, Dataset, ModelSpec, Optimizer, TrainCtx};
use securefl_backend_dfdx::DfdxBackend;
use securefl_datasets::testing::real_data_dir;
use securefl_smpc::additive::Additive2pc;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::nn;
use securefl_smpc::replicated::Replicated3pc;
use securefl_smpc::ring::Fixed;

/// A paper CNN trained for one epoch on (at most 3,000 images of) the training split.
fn trained(flag: &str) -> Option<(ModelSpec, Vec<f32>, Dataset)> {
    let dir = real_data_dir()?;
    let mut ctx = securefl_datasets::locate::data_ctx_from(|_| None, false);
    ctx.search_dirs = vec![dir];
    let data = securefl_datasets::load(flag, &ctx).unwrap();
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: data.train.channels,
        classes: data.classes(),
    };
    let start = spec.init_weights(&mut securefl_api::rng(1, &["init"]));
    let subset = data
        .train
        .subset(&(0..data.train.len().min(3000)).collect::<Vec<_>>());
    let tctx = TrainCtx {
        spec,
        epochs: 1,
        batch_size: 64,
        optimizer: Optimizer::adam(1e-3),
        seed: 2,
    };
    let weights = DfdxBackend.train(&tctx, &start, &subset).unwrap().weights;
    Some((spec, weights, data))
}

/// Plaintext arg-max (ties to the lower class).
fn plain_predictions(spec: &ModelSpec, weights: &[f32], data: &Dataset) -> Vec<u64> {
    let logits = DfdxBackend.predict(spec, weights, &data.test).unwrap();
    logits
        .chunks(spec.classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |best, (i, &v)| if v > row[best] { i } else { best }) as u64
        })
        .collect()
}

fn agreement<P: Mpc>(mut p: P, flag: &str) {
    let Some((spec, weights, data)) = trained(flag) else {
        return;
    };
    let plain = plain_predictions(&spec, &weights, &data);
    let t = Instant::now();
    let model = nn::share_model(&mut p, &spec, &weights);
    let shared = nn::share_data(&mut p, &data.test, spec.classes);
    let (per_class, predicted) = nn::evaluate(&mut p, &model, &shared, 512);
    let secure = p.reveal(&predicted);
    let per_class = p.reveal(&per_class);
    let correct: u64 = per_class.iter().sum();
    // Per-class correct counts (behind balanced accuracy) equal those of the opened predictions.
    for (c, &got) in per_class.iter().enumerate() {
        let expected = secure
            .iter()
            .zip(&data.test.labels)
            .filter(|(a, l)| usize::from(**l) == c && **a == c as u64)
            .count() as u64;
        assert_eq!(got, expected, "{flag}: class {c}");
    }
    let same = secure.iter().zip(&plain).filter(|(a, b)| a == b).count();
    let rate = same as f64 / plain.len() as f64;
    let plain_correct = plain
        .iter()
        .zip(&data.test.labels)
        .filter(|(a, l)| **a == u64::from(**l))
        .count() as u64;
    let (failures, mb) = (
        p.meter().trunc_failures,
        p.meter().online_bytes() / 1_000_000,
    );
    eprintln!(
        "{flag}: agreement {same}/{} = {rate:.4}, encrypted correct {correct} vs plaintext {plain_correct}, {:.1} s, trunc failures {}, {} MB online",
        plain.len(),
        t.elapsed().as_secs_f64(),
        failures,
        mb
    );
    assert!(
        rate >= 0.995,
        "{flag}: encrypted predictions agree with plaintext on {rate}"
    );
    assert!(correct.abs_diff(plain_correct) <= plain.len() as u64 / 200);
}

#[test]
fn additive_2pc_matches_plaintext_on_pneumoniamnist() {
    agreement(Additive2pc::new(Fixed::new(16), 5), "pneumoniamnist");
}

#[test]
fn additive_2pc_matches_plaintext_on_bloodmnist() {
    agreement(Additive2pc::new(Fixed::new(16), 6), "bloodmnist");
}

#[test]
fn replicated_3pc_matches_plaintext_on_pneumoniamnist() {
    agreement(Replicated3pc::new(Fixed::new(16), 7), "pneumoniamnist");
}

#[test]
fn replicated_3pc_matches_plaintext_on_bloodmnist() {
    agreement(Replicated3pc::new(Fixed::new(16), 8), "bloodmnist");
}
