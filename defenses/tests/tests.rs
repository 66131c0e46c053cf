//! Defenses on hand-computed inputs.

use securefl_api::{
    Arch, ClientUpdate, CnnBackend, Defense, DefenseCtx, ImageSet, ModelSpec, Optimizer,
    PluginError, Setting, SmpcCtx, SmpcProtocol, TrainCtx, TrainOutcome, Verdict,
};
use securefl_defenses::FedAvg;
use securefl_plain::Plaintext;

/// A backend that must not be called by the defenses under test.
struct Unused;
impl CnnBackend for Unused {
    fn train(&self, _: &TrainCtx, _: &[f32], _: &ImageSet) -> Result<TrainOutcome, PluginError> {
        unreachable!("defense under test must not train")
    }
    fn predict(&self, _: &ModelSpec, _: &[f32], _: &ImageSet) -> Result<Vec<f32>, PluginError> {
        unreachable!("defense under test must not predict")
    }
    fn device(&self) -> String {
        "none".into()
    }
}

fn update(hospital: usize, samples: usize, delta: &[f32]) -> ClientUpdate {
    ClientUpdate {
        hospital,
        samples,
        delta: delta.to_vec(),
        train_loss: 0.0,
    }
}

#[test]
fn fedavg_weights_by_samples() {
    let global = [1.0f32, 1.0];
    let updates = [update(0, 1, &[4.0, 0.0]), update(1, 3, &[0.0, 8.0])];
    // Models [5, 1] and [1, 9]; 1/4 * [5, 1] + 3/4 * [1, 9] = [2, 7].
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let mut smpc = Plaintext::default();
    let sctx = SmpcCtx {
        round: 1,
        validators: 2,
        seed: 0,
    };
    let models: Vec<Vec<f32>> = updates
        .iter()
        .map(|u| u.delta.iter().zip(&global).map(|(d, g)| d + g).collect())
        .collect();
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let shares = smpc.share_models(&sctx, &spec, &refs).unwrap().value;
    let validation = ImageSet {
        height: 28,
        width: 28,
        channels: 1,
        pixels: vec![],
        labels: vec![],
    };
    let mut ctx = DefenseCtx {
        round: 1,
        global: &global,
        spec,
        seed: 0,
        setting: Setting {
            hospitals: 2,
            malicious: 0,
        },
        smpc: &mut smpc,
        shares: &shares,
        validation_share: None,
        backend: &Unused,
        train: TrainCtx {
            spec,
            epochs: 1,
            batch_size: 1,
            optimizer: Optimizer::adam(1e-3),
            seed: 0,
        },
        validation: &validation,
    };
    let agg = FedAvg.aggregate(&mut ctx, &updates).unwrap();
    assert_eq!(agg.model, vec![2.0, 7.0]);
    assert!(
        agg.verdicts
            .iter()
            .all(|v| v.verdict == Verdict::NotApplicable)
    );
    assert_eq!(
        agg.verdicts.iter().map(|v| v.hospital).collect::<Vec<_>>(),
        [0, 1]
    );
}
