//! `smpc-verify` under each inference protocol: a model trained on flipped labels is rejected,
//! the clean model accepted, and the aggregate is the clean model.

use securefl_api::{
    Arch, CnnBackend, Dataset, Defense, DefenseCtx, ModelSpec, Optimizer, Params, Registry,
    Setting, SmpcCtx, SmpcProtocol, TrainCtx, Verdict,
};
use securefl_backend_dfdx::DfdxBackend;
use securefl_datasets::testing::real_data_dir;

/// PneumoniaMNIST from the real data directory (shared with the class-rule tests).
pub(crate) fn pneumonia() -> Option<Dataset> {
    let dir = real_data_dir()?;
    let mut ctx = securefl_datasets::locate::data_ctx_from(|_| None, false);
    ctx.search_dirs = vec![dir];
    Some(securefl_datasets::load("pneumoniamnist", &ctx).unwrap())
}

/// The SMPC protocols and the defenses (shared with the class-rule tests).
pub(crate) fn registry() -> Registry {
    let mut reg = Registry::default();
    securefl_smpc::register(&mut reg).unwrap();
    securefl_defenses::register(&mut reg).unwrap();
    reg
}

fn check(protocol: &str, rule: &str) {
    let Some(data) = pneumonia() else { return };
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let start = spec.init_weights(&mut securefl_api::rng(3, &["init"]));
    let tctx = TrainCtx {
        spec,
        epochs: 1,
        batch_size: 64,
        optimizer: Optimizer::adam(1e-3),
        seed: 4,
    };
    let train = data.train.subset(&(0..2000).collect::<Vec<_>>());
    let clean = DfdxBackend.train(&tctx, &start, &train).unwrap().weights;
    let mut flipped = train.clone();
    flipped.labels.iter_mut().for_each(|l| *l = 1 - *l);
    let poisoned = DfdxBackend.train(&tctx, &start, &flipped).unwrap().weights;

    let reg = registry();
    let mut smpc = reg
        .get::<dyn SmpcProtocol>(protocol)
        .unwrap()
        .build(&Params::empty())
        .unwrap();
    let sctx = SmpcCtx {
        round: 1,
        validators: 3,
        seed: 5,
    };
    let val = smpc.share_dataset(&sctx, &data.val, 2).unwrap().value;
    let shares = smpc
        .share_models(&sctx, &spec, &[&clean, &poisoned])
        .unwrap()
        .value;
    // The floor is an OR: above chance in balanced accuracy, or the plain-accuracy bar.
    let floor = |smpc: &mut Box<dyn SmpcProtocol>, model: usize, bar: f64| {
        let q = securefl_api::EvalQuery {
            score: securefl_api::Score::BalancedAccuracy,
            min_score: None,
            floor_accuracy: Some(bar),
            reveal_score: false,
            reveal_predictions: false,
            keep: false,
        };
        smpc.evaluate(&sctx, shares[model], val, &q)
            .unwrap()
            .value
            .passed
    };
    assert_eq!(floor(&mut smpc, 0, 1.0), Some(true), "clean: above chance");
    assert_eq!(
        floor(&mut smpc, 1, 0.0),
        Some(true),
        "flipped: accuracy bar 0"
    );
    assert_eq!(floor(&mut smpc, 1, 1.0), Some(false), "flipped: neither");
    let params = Params::from_toml(&format!("rule = \"{rule}\"\nreveal-score = true")).unwrap();
    let mut defense = reg
        .get::<dyn Defense>("smpc-verify")
        .unwrap()
        .build(&params)
        .unwrap();
    let updates: Vec<_> = [&clean, &poisoned]
        .iter()
        .enumerate()
        .map(|(h, m)| securefl_api::ClientUpdate {
            hospital: h,
            samples: 1000,
            delta: m.iter().zip(&clean).map(|(a, b)| a - b).collect(),
            train_loss: 0.0,
        })
        .collect();
    let mut ctx = DefenseCtx {
        round: 1,
        global: &clean,
        spec,
        seed: 6,
        setting: Setting {
            hospitals: 2,
            malicious: 1,
        },
        smpc: smpc.as_mut(),
        shares: &shares,
        validation_share: Some(val),
        backend: &DfdxBackend,
        train: tctx,
        validation: &data.val,
        class_counts: &[],
        hospital_validation: &[],
    };
    let agg = defense.aggregate(&mut ctx, &updates).unwrap();
    let verdicts: Vec<Verdict> = agg.verdicts.iter().map(|v| v.verdict).collect();
    let scores: Vec<f64> = agg.verdicts.iter().filter_map(|v| v.score).collect();
    eprintln!("{protocol} {rule}: verdicts {verdicts:?}, encrypted accuracies {scores:?}");
    assert_eq!(
        verdicts,
        [Verdict::Accepted, Verdict::Rejected],
        "{protocol} {rule}"
    );
    assert!(
        agg.verdicts
            .iter()
            .all(|v| v.cost.bytes > 0 && v.cost.rounds > 0)
    );
    // The defense leaves the aggregate to the engine, which opens it once, after consensus;
    // the aggregate of the accepted model alone is the clean model, within fixed-point error.
    assert_eq!(
        agg.next,
        securefl_api::NextModel::SecureFedAvg { min_accepted: 2 }
    );
    let alone = smpc.aggregate(&sctx, &shares[..1], &[1000.0]).unwrap();
    assert_eq!(alone.cost.opened_cell(), "aggregate-model:1");
    let err = alone
        .value
        .iter()
        .zip(&clean)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        err < 1e-4,
        "aggregate differs from the clean model by {err}"
    );
}

#[test]
fn additive_2pc_rejects_a_label_flipped_model() {
    check("additive-2pc", "relative-global");
    check("additive-2pc", "absolute");
}

#[test]
fn replicated_3pc_rejects_a_label_flipped_model() {
    check("replicated-3pc", "relative-median");
}

/// The score and the pass bits at `frac-bits = f`: the opened score, then whether the model
/// clears a bar just below it and one just above it.
fn bits_at(
    f: u32,
    spec: ModelSpec,
    weights: &[f32],
    val: &securefl_api::ImageSet,
) -> (f64, [Option<bool>; 2]) {
    let mut p = registry()
        .get::<dyn SmpcProtocol>("additive-2pc")
        .unwrap()
        .build(&Params::from_toml(&format!("frac-bits = {f}")).unwrap())
        .unwrap();
    let ctx = SmpcCtx {
        round: 1,
        validators: 2,
        seed: 9,
    };
    let data = p.share_dataset(&ctx, val, spec.classes).unwrap().value;
    let id = p.share_models(&ctx, &spec, &[weights]).unwrap().value[0];
    let query = |min_score: Option<f64>| securefl_api::EvalQuery {
        score: securefl_api::Score::BalancedAccuracy,
        min_score,
        floor_accuracy: None,
        reveal_score: min_score.is_none(),
        reveal_predictions: false,
        keep: false,
    };
    let mut eval = |q| p.evaluate(&ctx, id, data, &q).unwrap().value;
    let score = eval(query(None)).score.unwrap();
    let below = eval(query(Some(score - 1e-7))).passed;
    let above = eval(query(Some(score + 1e-4))).passed;
    (score, [below, above])
}

#[test]
fn balanced_accuracy_pass_bits_hold_at_high_frac_bits_with_eight_classes() {
    // With fixed 40-bit class weights, 8 classes overflowed the comparison from frac-bits 20
    // on and the pass bit was arbitrary; the weights now shrink with frac-bits and classes.
    let Some(dir) = real_data_dir() else { return };
    let mut ctx = securefl_datasets::locate::data_ctx_from(|_| None, false);
    ctx.search_dirs = vec![dir];
    let data = securefl_datasets::load("bloodmnist", &ctx).unwrap();
    let val = data.val.subset(&(0..96).collect::<Vec<_>>());
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 3,
        classes: 8,
    };
    let weights = spec.init_weights(&mut securefl_api::rng(5, &["bits"]));
    for f in [16, 20, 22, 24] {
        let (score, bits) = bits_at(f, spec, &weights, &val);
        assert!((0.0..=1.0).contains(&score), "frac-bits {f}: {score}");
        assert_eq!(
            bits,
            [Some(true), Some(false)],
            "frac-bits {f}, score {score}"
        );
    }
}
