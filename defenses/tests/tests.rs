//! Defenses on hand-computed inputs: `fedavg` here, the plaintext rules and pre-aggregators in
//! `rules/`, one file each.

mod rules;

use securefl_api::{
    Aggregate, Arch, ClientUpdate, CnnBackend, Defense, DefenseCtx, ImageSet, ModelSpec, NextModel,
    Optimizer, PluginError, PreAggregator, Setting, SmpcCtx, SmpcProtocol, TrainCtx, TrainOutcome,
    Verdict,
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

const SPEC: ModelSpec = ModelSpec {
    arch: Arch::PaperCnn,
    in_channels: 1,
    classes: 2,
};

/// An empty 1×1 grey validation split.
fn no_images() -> ImageSet {
    images(0)
}

/// `n` grey 1×1 images, labels 0.
fn images(n: usize) -> ImageSet {
    ImageSet {
        height: 1,
        width: 1,
        channels: 1,
        pixels: vec![0; n],
        labels: vec![0; n],
    }
}

/// Calls `f` with a context around a plaintext SMPC protocol and no shares.
fn with_ctx<R>(
    global: &[f32],
    setting: Setting,
    backend: &dyn CnnBackend,
    validation: &ImageSet,
    f: impl FnOnce(&mut DefenseCtx<'_>) -> R,
) -> R {
    let mut smpc = Plaintext::default();
    let mut ctx = DefenseCtx {
        round: 1,
        global,
        spec: SPEC,
        seed: 7,
        setting,
        smpc: &mut smpc,
        shares: &[],
        validation_share: None,
        backend,
        train: TrainCtx {
            spec: SPEC,
            epochs: 1,
            batch_size: 1,
            optimizer: Optimizer::adam(1e-3),
            seed: 7,
        },
        validation,
        class_counts: &[],
        hospital_validation: &[],
    };
    f(&mut ctx)
}

/// Runs a plaintext defense through its `Defense` impl, with a backend that must not be used.
fn run(
    defense: &mut dyn Defense,
    global: &[f32],
    setting: Setting,
    updates: &[ClientUpdate],
) -> Result<Aggregate, PluginError> {
    with_ctx(global, setting, &Unused, &no_images(), |ctx| {
        defense.aggregate(ctx, updates)
    })
}

/// Runs a pre-aggregator on `updates`.
fn apply(pre: &mut dyn PreAggregator, updates: &mut [ClientUpdate]) -> Result<(), PluginError> {
    let setting = Setting {
        hospitals: updates.len(),
        malicious: 0,
    };
    with_ctx(&[], setting, &Unused, &no_images(), |ctx| {
        pre.apply(ctx, updates)
    })
}

/// The setting with `hospitals` and `malicious`.
fn setting(hospitals: usize, malicious: usize) -> Setting {
    Setting {
        hospitals,
        malicious,
    }
}

/// One update per delta, hospitals `0..`, 10 samples each.
fn updates(deltas: &[&[f32]]) -> Vec<ClientUpdate> {
    deltas
        .iter()
        .enumerate()
        .map(|(h, d)| update(h, 10, d))
        .collect()
}

/// The verdicts, in order.
fn verdicts(agg: &[securefl_api::ClientVerdict]) -> Vec<Verdict> {
    agg.iter().map(|v| v.verdict).collect()
}

/// Asserts two vectors agree to 1e-9.
fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}");
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
    let spec = SPEC;
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
        class_counts: &[],
        hospital_validation: &[],
    };
    let agg = FedAvg.aggregate(&mut ctx, &updates).unwrap();
    // FedAvg leaves the secure average to the engine, which opens it once, after consensus.
    assert_eq!(agg.next, NextModel::SecureFedAvg { min_accepted: 1 });
    let avg = smpc.aggregate(&sctx, &shares, &[1.0, 3.0]).unwrap();
    assert_eq!(avg.value, vec![2.0, 7.0]);
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
