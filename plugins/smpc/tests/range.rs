//! The range check and the median rule in shares: the opened bits equal the plaintext rule for
//! every ring element an attacker may choose, and only those bits are opened.

use rand::{Rng as _, SeedableRng};
use securefl_api::{Arch, ModelSpec, Rng, SmpcCtx};
use securefl_smpc::additive::Additive2pc;
use securefl_smpc::median::median_rule;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::range::{in_range, norm_safe_bits};
use securefl_smpc::replicated::Replicated3pc;
use securefl_smpc::ring::{Fixed, NOT_A_NUMBER};

const FX: Fixed = Fixed { frac_bits: 16 };

const CTX: SmpcCtx = SmpcCtx {
    round: 1,
    validators: 3,
    seed: 4,
};

/// Vectors of ring elements around the bound `b` and at the attacker's favourite places.
fn cases(b: u64) -> Vec<(Vec<u64>, bool)> {
    let inside = vec![
        0,
        1,
        b - 1,
        b.wrapping_neg(),
        FX.encode(-0.3),
        FX.encode(2.5),
    ];
    let mut out = vec![(inside.clone(), true)];
    for bad in [
        b,
        b.wrapping_neg() - 1,
        1 << 32,
        (1 << 32) - 256,
        1 << 48,
        1 << 63,
        NOT_A_NUMBER,
        i64::MAX as u64,
        u64::MAX - (1 << 40),
    ] {
        let mut v = inside.clone();
        v[3] = bad;
        out.push((v, false));
    }
    out
}

fn check_range<P: Mpc>(make: impl Fn(u64) -> P) {
    let b = 4 << FX.frac_bits;
    let cases = cases(b);
    let mut p = make(3);
    let shared: Vec<P::A> = cases.iter().map(|(v, _)| p.input(v)).collect();
    let refs: Vec<&P::A> = shared.iter().collect();
    let got = in_range(&mut p, &refs, b);
    let want: Vec<bool> = cases.iter().map(|(_, ok)| *ok).collect();
    assert_eq!(got, want);
}

#[test]
fn the_range_check_is_exact_on_every_ring_element_under_both_protocols() {
    check_range(|seed| Additive2pc::new(FX, seed));
    check_range(|seed| Replicated3pc::new(FX, seed));
}

#[test]
fn random_models_near_the_bound_are_judged_exactly() {
    let mut rng = Rng::seed_from_u64(8);
    let b = 1u64 << 18;
    let models: Vec<Vec<u64>> = (0..6)
        .map(|_| {
            (0..301)
                .map(|_| (rng.gen_range(-(b as i64) - 3..b as i64 + 3)) as u64)
                .collect()
        })
        .collect();
    let want: Vec<bool> = models
        .iter()
        .map(|m| {
            m.iter()
                .all(|&x| (-(b as i64)..b as i64).contains(&(x as i64)))
        })
        .collect();
    let mut p = Additive2pc::new(FX, 5);
    let shared: Vec<_> = models.iter().map(|m| p.input(m)).collect();
    let refs: Vec<_> = shared.iter().collect();
    assert_eq!(in_range(&mut p, &refs, b), want);
}

#[test]
fn the_norm_safe_range_keeps_the_squared_distance_below_the_ring() {
    // The paper CNN (56,642 weights for 2 classes) at factor 2: ±2^19 ring units, ±8 at f = 16.
    assert_eq!(norm_safe_bits(56_642, 64), 19);
    for (params, f2) in [(56_642usize, 64u64), (226_000, 64), (56_642, 144), (10, 16)] {
        let b = norm_safe_bits(params, f2);
        let worst = (params as u128) * (1u128 << (2 * b + 2)) * u128::from(f2);
        assert!(worst < 1 << 62, "{params} {f2}: {b}");
    }
}

/// The plaintext relative-median rule (the mean of the two middle scores for an even count).
fn plain_median_rule(scores: &[u64], margin2: u64) -> Vec<bool> {
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let twice = if n % 2 == 1 {
        2 * sorted[n / 2]
    } else {
        sorted[n / 2 - 1] + sorted[n / 2]
    };
    scores.iter().map(|&s| 2 * s + margin2 >= twice).collect()
}

fn check_median<P: Mpc>(make: impl Fn(u64) -> P) {
    let mut rng = Rng::seed_from_u64(12);
    for n in [1usize, 2, 3, 5, 10] {
        for _ in 0..4 {
            // Scores at the balanced-accuracy scale, with ties.
            let scores: Vec<u64> = (0..n).map(|_| rng.gen_range(0..8u64) << 37).collect();
            let floors: Vec<bool> = (0..n).map(|_| rng.gen_bool(0.8)).collect();
            let margin2 = 1u64 << 37;
            let mut p = make(n as u64);
            let shared: Vec<P::A> = scores.iter().map(|&s| p.input(&[s])).collect();
            let refs: Vec<&P::A> = shared.iter().collect();
            let f = p.input_bits(&floors);
            let got = median_rule(&mut p, &refs, Some(&f), margin2);
            let want: Vec<bool> = plain_median_rule(&scores, margin2)
                .iter()
                .zip(&floors)
                .map(|(a, b)| *a && *b)
                .collect();
            assert_eq!(got, want, "{scores:?} {floors:?}");
            assert_eq!(p.meter().range_failures, 0);
        }
    }
}

#[test]
fn the_median_rule_in_shares_equals_the_plaintext_rule() {
    check_median(|seed| Additive2pc::new(FX, seed));
    check_median(|seed| Replicated3pc::new(FX, seed));
}

/// A paper-CNN spec, an initialised model and the same model with one coordinate wrapped.
fn honest_and_wrapped() -> (ModelSpec, Vec<f32>, Vec<f32>) {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let honest = spec.init_weights(&mut securefl_api::rng(1, &["range"]));
    let mut wrapped = honest.clone();
    wrapped[200] += 65_536.0;
    (spec, honest, wrapped)
}

#[test]
fn a_model_with_a_wrapped_coordinate_or_nan_fails_the_plugin_range_check() {
    let (spec, honest, wrapped) = honest_and_wrapped();
    let mut nan = honest.clone();
    nan[7] = f32::NAN;
    let mut edge = honest.clone();
    edge[9] = -4.0;
    for name in ["additive-2pc", "replicated-3pc"] {
        let mut p = crate::norm::protocol(name);
        let ids = p
            .share_models(&CTX, &spec, &[&honest, &wrapped, &nan, &edge])
            .unwrap()
            .value;
        let out = p.range_check(&CTX, &ids, 4.0).unwrap();
        assert_eq!(out.value, [true, false, false, true], "{name}");
        assert_eq!(out.cost.opened_cell(), "range-bit:4");
        // Two 64-bit comparisons per weight: a few MB for four paper-CNN models.
        assert!(out.cost.bytes > 0 && out.cost.rounds > 0);
        assert!(p.range_check(&CTX, &ids, 0.0).is_err());
    }
}

#[test]
fn an_impossible_frac_bits_and_class_count_is_refused() {
    use securefl_smpc::plugin::balanced_bits;
    // The weights' bits shrink with frac-bits and the class count: every frac-bits the engine
    // accepts (8..=24) holds for up to 256 classes (u8 labels); beyond that it is refused.
    assert_eq!(balanced_bits(16, 2), Ok(40));
    assert_eq!(balanced_bits(16, 11), Ok(40));
    assert_eq!(balanced_bits(22, 8), Ok(35));
    assert_eq!(balanced_bits(24, 256), Ok(28));
    let err = balanced_bits(24, 1000).unwrap_err();
    assert!(
        err.contains("frac-bits 24") && err.contains("1000 classes"),
        "{err}"
    );
    assert!(balanced_bits(40, 11).is_err());
}

#[test]
fn a_kept_range_check_zeroes_a_wrapped_model_and_rejects_it_opening_only_the_verdict() {
    let (spec, honest, wrapped) = honest_and_wrapped();
    let images = securefl_api::ImageSet {
        height: 28,
        width: 28,
        channels: 1,
        pixels: (0..4 * 28 * 28).map(|i| (i % 251) as u8).collect(),
        labels: vec![0, 1, 0, 1],
    };
    let mut p = crate::norm::protocol("additive-2pc");
    let data = p.share_dataset(&CTX, &images, 2).unwrap().value;
    let ids = p
        .share_models(&CTX, &spec, &[&honest, &wrapped])
        .unwrap()
        .value;
    let kept = p.range_check_kept(&CTX, &ids, 4.0).unwrap();
    assert_eq!(kept.cost.opened_cell(), "", "the range stage opens nothing");
    assert!(kept.cost.bytes > 0);
    // Every score is ≥ 0, so each opened verdict is the kept range bit.
    let query = securefl_api::EvalQuery {
        score: securefl_api::Score::BalancedAccuracy,
        min_score: Some(0.0),
        floor_accuracy: None,
        reveal_score: false,
        reveal_predictions: false,
        keep: false,
    };
    let verdicts: Vec<Option<bool>> = ids
        .iter()
        .map(|&id| {
            let out = p.evaluate(&CTX, id, data, &query).unwrap();
            assert_eq!(out.cost.opened_cell(), "pass-bit:1");
            out.value.passed
        })
        .collect();
    assert_eq!(verdicts, [Some(true), Some(false)]);
    // Were a lying majority to include it, the wrapped share aggregates as the zero model.
    let zero = p.aggregate(&CTX, &ids[1..], &[1.0]).unwrap().value;
    assert!(zero.iter().all(|&w| w == 0.0));
    let same = p.aggregate(&CTX, &ids[..1], &[1.0]).unwrap().value;
    let err = same
        .iter()
        .zip(&honest)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(err < 1e-4, "the honest model is unchanged: {err}");
}
