//! The class-conditional rule of `smpc-verify` on real PneumoniaMNIST: a hospital that holds only
//! one class submits a model that the whole-population rules reject and this rule accepts, a
//! label-flipping hospital is rejected by both, and the rule opens one bit per model. The same
//! with cross-hospital validation: each hospital judges every model on a split of its own, each
//! validator's verdicts are its own, and one bit per validator and model is opened.

use securefl_api::{
    Arch, ClientUpdate, CnnBackend, Defense, DefenseCtx, ImageSet, ModelSpec, Optimizer, Params,
    Setting, SmpcCtx, SmpcProtocol, TrainCtx, Verdict,
};
use securefl_backend_dfdx::DfdxBackend;

const SPEC: ModelSpec = ModelSpec {
    arch: Arch::PaperCnn,
    in_channels: 1,
    classes: 2,
};

const SCTX: SmpcCtx = SmpcCtx {
    round: 1,
    validators: 3,
    seed: 5,
};

/// `set`'s images of class `class`, at most `n` of them.
fn only(set: &ImageSet, class: u8, n: usize) -> ImageSet {
    let idx: Vec<usize> = (0..set.len())
        .filter(|&i| set.labels[i] == class)
        .take(n)
        .collect();
    set.subset(&idx)
}

/// The class histogram of `set`.
fn histogram(set: &ImageSet) -> Vec<u64> {
    (0..2u8)
        .map(|c| set.labels.iter().filter(|&&l| l == c).count() as u64)
        .collect()
}

/// `smpc-verify` with `rule` (no floor, no norm bound: the rule alone) on three submissions
/// from `global`: the verdicts and what the round opened.
fn verdicts(
    rule: &str,
    global: &[f32],
    models: &[&[f32]],
    counts: &[Vec<u64>],
    val: &ImageSet,
) -> (Vec<Verdict>, String) {
    let (v, _, opened) = judged(rule, global, models, counts, val, &[]);
    (v, opened)
}

/// `verdicts`, with each hospital's own validation split `own` (cross-hospital validation when
/// there are any): the verdicts, each validator's votes and what the round opened.
fn judged(
    rule: &str,
    global: &[f32],
    models: &[&[f32]],
    counts: &[Vec<u64>],
    val: &ImageSet,
    own: &[ImageSet],
) -> (Vec<Verdict>, Vec<Vec<Verdict>>, String) {
    let reg = crate::verify::registry();
    let mut smpc = reg
        .get::<dyn SmpcProtocol>("additive-2pc")
        .unwrap()
        .build(&Params::empty())
        .unwrap();
    let data = smpc.share_dataset(&SCTX, val, 2).unwrap().value;
    let shares = smpc.share_models(&SCTX, &SPEC, models).unwrap().value;
    let own_data: Vec<_> = own
        .iter()
        .map(|set| smpc.share_dataset(&SCTX, set, 2).unwrap().value)
        .collect();
    let mut params = format!("rule = \"{rule}\"\nfloor = \"none\"\nnorm-bound = 0\nmargin = 0.05");
    if !own.is_empty() {
        params.push_str("\nvalidation = \"cross-hospital\"");
    }
    let mut defense = reg
        .get::<dyn Defense>("smpc-verify")
        .unwrap()
        .build(&Params::from_toml(&params).unwrap())
        .unwrap();
    let updates: Vec<ClientUpdate> = models
        .iter()
        .enumerate()
        .map(|(h, m)| ClientUpdate {
            hospital: h,
            samples: 1000,
            delta: m.iter().zip(global).map(|(a, b)| a - b).collect(),
            train_loss: 0.0,
        })
        .collect();
    let mut ctx = DefenseCtx {
        round: 2,
        global,
        spec: SPEC,
        seed: 6,
        setting: Setting {
            hospitals: 3,
            malicious: 1,
        },
        smpc: smpc.as_mut(),
        shares: &shares,
        validation_share: Some(data),
        backend: &DfdxBackend,
        train: train_ctx(),
        validation: val,
        class_counts: counts,
        hospital_validation: &own_data,
    };
    let agg = defense.aggregate(&mut ctx, &updates).unwrap();
    let mut opened = agg.cost.clone();
    for v in &agg.verdicts {
        opened += v.cost.clone();
    }
    let v = agg.verdicts.iter().map(|v| v.verdict).collect();
    (v, agg.votes, opened.opened_cell())
}

fn train_ctx() -> TrainCtx {
    TrainCtx {
        spec: SPEC,
        epochs: 1,
        batch_size: 64,
        optimizer: Optimizer::adam(1e-3),
        seed: 4,
    }
}

/// A global model trained on 2,000 images and three hospitals' models trained from it: an IID
/// hospital, one that sees only normal images (the minority class), and a label flipper whose
/// data is skewed the other way; with the histograms each reports truthfully (the flipper's true
/// labels: all pneumonia).
fn three_hospitals(data: &securefl_api::Dataset) -> (Vec<f32>, [Vec<f32>; 3], [Vec<u64>; 3]) {
    let train = |start: &[f32], set: &ImageSet| {
        DfdxBackend.train(&train_ctx(), start, set).unwrap().weights
    };
    let start = SPEC.init_weights(&mut securefl_api::rng(3, &["init"]));
    let global = train(&start, &data.train.subset(&(0..2000).collect::<Vec<_>>()));
    let iid = data.train.subset(&(2000..3000).collect::<Vec<_>>());
    let skewed = only(&data.train, 0, 600);
    let mut flipped = only(
        &data.train.subset(&(3000..4000).collect::<Vec<_>>()),
        1,
        600,
    );
    flipped.labels.iter_mut().for_each(|l| *l = 1 - *l);
    let models = [
        train(&global, &iid),
        train(&global, &skewed),
        train(&global, &flipped),
    ];
    let counts = [histogram(&iid), histogram(&skewed), vec![0, 600]];
    (global, models, counts)
}

#[test]
fn a_one_class_hospital_is_judged_on_its_class_and_a_label_flipper_still_fails() {
    let Some(data) = crate::verify::pneumonia() else {
        return;
    };
    let (global, models, counts) = three_hospitals(&data);
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let (by_class, opened) = verdicts("class-conditional", &global, &refs, &counts, &data.val);
    assert_eq!(
        by_class,
        [Verdict::Accepted, Verdict::Accepted, Verdict::Rejected]
    );
    // One verdict bit per model, and the aggregate is left to the engine: nothing else.
    assert_eq!(opened, "pass-bit:3");
    let (by_global, _) = verdicts("relative-global", &global, &refs, &counts, &data.val);
    assert_eq!(
        by_global[1],
        Verdict::Rejected,
        "the whole-population rule rejects the one-class hospital: {by_global:?}"
    );
}

#[test]
fn cross_hospital_validators_each_judge_on_their_own_split_and_the_majority_decides() {
    let Some(data) = crate::verify::pneumonia() else {
        return;
    };
    let (global, models, counts) = three_hospitals(&data);
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    // Each hospital's own split follows its case mix: mixed, only normal, only pneumonia.
    let own = [
        data.val.subset(&(0..200).collect::<Vec<_>>()),
        only(&data.val, 0, 60),
        only(&data.val, 1, 60),
    ];
    let (decided, votes, opened) = judged(
        "class-conditional",
        &global,
        &refs,
        &counts,
        &data.val,
        &own,
    );
    let (a, r) = (Verdict::Accepted, Verdict::Rejected);
    assert_eq!(decided, [a, a, r], "votes {votes:?}");
    // The flipper claims pneumonia: the mixed and the pneumonia validators see it fail there;
    // the normal-only validator has no pneumonia images, no evidence, and passes it.
    assert_eq!(
        votes.iter().map(|row| row[2]).collect::<Vec<_>>(),
        [r, a, r]
    );
    assert!(votes.iter().all(|row| row[..2] == [a, a]), "{votes:?}");
    // One bit per validator and model, nothing else.
    assert_eq!(opened, "pass-bit:9");
}
