//! The norm bound in shares: the opened bits equal the plaintext rule `‖m_i − g‖ ≤ factor ·
//! upper median`, under both inference protocols, and the whole check is a handful of rounds.

use securefl_api::{Arch, ModelSpec, Params, Registry, ShareId, SmpcCtx, SmpcProtocol};

/// The registered SMPC plugin `name` (shared with the range tests).
pub(crate) fn protocol(name: &str) -> Box<dyn SmpcProtocol> {
    let mut reg = Registry::default();
    securefl_smpc::register(&mut reg).unwrap();
    reg.get::<dyn SmpcProtocol>(name)
        .unwrap()
        .build(&Params::empty())
        .unwrap()
}

const SPEC: ModelSpec = ModelSpec {
    arch: Arch::PaperCnn,
    in_channels: 1,
    classes: 2,
};

/// The global model and models at the given distances from it, in random directions.
fn models(distances: &[f64]) -> (Vec<f32>, Vec<Vec<f32>>) {
    let mut rng = securefl_api::rng(9, &["norm"]);
    let global = SPEC.init_weights(&mut rng);
    let models = distances
        .iter()
        .map(|&d| {
            let dir = SPEC.init_weights(&mut rng);
            let len = dir
                .iter()
                .map(|v| f64::from(*v).powi(2))
                .sum::<f64>()
                .sqrt();
            global
                .iter()
                .zip(&dir)
                .map(|(g, v)| g + (f64::from(*v) * d / len) as f32)
                .collect()
        })
        .collect();
    (global, models)
}

/// The plaintext rule.
fn expected(distances: &[f64], factor: f64) -> Vec<bool> {
    let mut sorted = distances.to_vec();
    sorted.sort_by(f64::total_cmp);
    let upper_median = sorted[sorted.len() / 2];
    distances
        .iter()
        .map(|&d| d <= factor * upper_median)
        .collect()
}

/// A protocol holding the global model and models at `distances` from it, and their ids (the
/// global model's last).
fn shared(name: &str, distances: &[f64]) -> (Box<dyn SmpcProtocol>, Vec<ShareId>) {
    let (global, models) = models(distances);
    let mut p = protocol(name);
    let mut all: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    all.push(&global);
    let ids = p.share_models(&CTX, &SPEC, &all).unwrap().value;
    (p, ids)
}

const CTX: SmpcCtx = SmpcCtx {
    round: 1,
    validators: 3,
    seed: 11,
};

fn bound(name: &str, distances: &[f64], factor: f64) -> (Vec<bool>, securefl_api::CostRecord) {
    let (mut p, ids) = shared(name, distances);
    let checked = p.range_check(&CTX, &ids, 4.0).unwrap().value;
    assert!(checked.iter().all(|&ok| ok), "{checked:?}");
    let (g, ms) = ids.split_last().unwrap();
    let out = p.norm_bound(&CTX, ms, *g, factor).unwrap();
    (out.value, out.cost)
}

#[test]
fn opened_bits_follow_the_plaintext_rule_under_both_protocols() {
    // Ten hospitals: seven honest around 1, three boosted; one honest a little long.
    let distances = [1.0, 1.1, 0.9, 1.2, 1.6, 0.95, 1.05, 4.0, 3.9, 2.6];
    for name in ["additive-2pc", "replicated-3pc"] {
        for factor in [2.0, 1.5, 4.0] {
            let (bits, cost) = bound(name, &distances, factor);
            assert_eq!(
                bits,
                expected(&distances, factor),
                "{name}, factor {factor}"
            );
            assert!(cost.bytes > 0 && cost.rounds > 0, "{name}: {cost:?}");
        }
    }
    // Factor 2 rejects exactly the three boosted models. Rounds under additive-2pc: all dot
    // products in one, a 48-bit comparison (1 + 6), bits to integers (1), the count comparison
    // (1 + 6), the opening (1).
    let (bits, cost) = bound("additive-2pc", &distances, 2.0);
    assert_eq!(bits.iter().filter(|b| !**b).count(), 3);
    assert_eq!(cost.rounds, 17);
}

#[test]
fn odd_counts_use_the_median_and_two_models_always_pass() {
    let distances = [0.5, 2.0, 1.0, 0.6, 1.1];
    let (bits, _) = bound("replicated-3pc", &distances, 1.5);
    assert_eq!(bits, expected(&distances, 1.5));
    assert_eq!(bits, [true, false, true, true, true]);
    let (bits, cost) = bound("additive-2pc", &[0.1, 5.0], 2.0);
    assert_eq!(bits, [true, true]);
    assert_eq!(cost.bytes, 0, "nothing to compare");
}

#[test]
fn models_must_pass_the_range_check_first() {
    let (mut p, ids) = shared("additive-2pc", &[1.0, 1.0, 1.0]);
    let err = p.norm_bound(&CTX, &ids[..3], ids[3], 2.0).unwrap_err();
    assert!(err.to_string().contains("range-checked"), "{err}");
    // A bound too wide for an exact sum of squares (±1024 at f = 16) is refused as well.
    p.range_check(&CTX, &ids, 1024.0).unwrap();
    let err = p.norm_bound(&CTX, &ids[..3], ids[3], 2.0).unwrap_err();
    assert!(err.to_string().contains("within ±"), "{err}");
}

#[test]
fn a_factor_below_one_is_refused() {
    let (mut p, ids) = shared("additive-2pc", &[1.0, 1.0, 1.0]);
    p.range_check(&CTX, &ids, 4.0).unwrap();
    let err = p.norm_bound(&CTX, &ids[..3], ids[3], 0.5).unwrap_err();
    assert!(err.to_string().contains("factor 0.5"), "{err}");
}

/// Eight 28×28 grey images, four of each class: enough for the pass bits to exist.
fn images() -> securefl_api::ImageSet {
    let mut rng = securefl_api::rng(3, &["images"]);
    securefl_api::ImageSet {
        height: 28,
        width: 28,
        channels: 1,
        pixels: (0..8 * 28 * 28)
            .map(|_| rand::Rng::r#gen::<u8>(&mut rng))
            .collect(),
        labels: vec![0, 1, 0, 1, 0, 1, 0, 1],
    }
}

#[test]
fn a_kept_norm_bit_is_anded_into_the_opened_verdict_and_never_opened_alone() {
    let distances = [1.0, 1.1, 0.9, 4.0, 1.05];
    let want = expected(&distances, 2.0);
    assert_eq!(want, [true, true, true, false, true]);
    for keep in [false, true] {
        let (mut p, ids) = shared("additive-2pc", &distances);
        p.range_check(&CTX, &ids, 4.0).unwrap();
        let data = p.share_dataset(&CTX, &images(), 2).unwrap().value;
        let (g, ms) = ids.split_last().unwrap();
        let kept = p.norm_bound_kept(&CTX, ms, *g, 2.0).unwrap();
        assert!(kept.cost.opened.is_empty(), "{:?}", kept.cost.opened);
        // Every score passes the score condition (≥ 0, or within a margin of 1 of the median),
        // so each opened verdict is the norm bit.
        let query = securefl_api::EvalQuery {
            score: securefl_api::Score::BalancedAccuracy,
            min_score: (!keep).then_some(0.0),
            floor_accuracy: None,
            reveal_score: false,
            reveal_predictions: false,
            keep,
        };
        let mut verdicts = Vec::new();
        for &id in ms {
            let out = p.evaluate(&CTX, id, data, &query).unwrap();
            let opened = out.cost.opened_cell();
            assert!(opened.is_empty() || opened == "pass-bit:1", "{opened}");
            verdicts.push(out.value.passed);
        }
        if keep {
            let out = p.median_rule(&CTX, ms, 1.0).unwrap();
            assert_eq!(out.cost.opened_cell(), "pass-bit:5");
            assert_eq!(out.value, want, "median rule");
        } else {
            let got: Vec<bool> = verdicts.into_iter().map(Option::unwrap).collect();
            assert_eq!(got, want, "absolute rule");
        }
    }
}
