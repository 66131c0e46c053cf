//! Shamir secure aggregation: field arithmetic, threshold secrecy, exact FedAvg, dropouts and
//! metered cost (`shared/docs/smpc-design.md` §4.1, §4.5).

use rand::{Rng as _, SeedableRng};
use securefl_api::{Arch, ModelSpec, Params, PluginError, SmpcCtx, SmpcProtocol};
use securefl_smpc::shamir::{
    self, HALF, P, ShamirAggregation, ShamirParams, embed, inv, lagrange_at_zero, mul, reconstruct,
    reduce, share, signed,
};

const SPEC: ModelSpec = ModelSpec {
    arch: Arch::PaperCnn,
    in_channels: 1,
    classes: 2,
};

fn ctx(validators: usize, seed: u64) -> SmpcCtx {
    SmpcCtx {
        round: 1,
        validators,
        seed,
    }
}

fn protocol(params: &str) -> Box<dyn SmpcProtocol> {
    shamir::factory()
        .build(&Params::from_toml(params).unwrap())
        .unwrap()
}

#[test]
fn mersenne_reduction_and_inverse_by_hand() {
    assert_eq!(P, 2_305_843_009_213_693_951);
    assert_eq!(reduce(u128::from(P)), 0);
    assert_eq!(reduce(u128::from(P) + 5), 5);
    // 2^61 ≡ 1, 2^64 ≡ 8, 2^122 ≡ 1, (p−1)^2 ≡ 1, 2^128 − 1 ≡ 2^6 − 1 (mod p).
    assert_eq!(reduce(1 << 61), 1);
    assert_eq!(reduce(1 << 64), 8);
    assert_eq!(reduce(1 << 122), 1);
    assert_eq!(mul(P - 1, P - 1), 1);
    assert_eq!(reduce(u128::MAX), 63);
    assert_eq!(mul(1 << 40, 1 << 30), 1 << 9);
    // 2·2^60 = 2^61 ≡ 1, so 2^−1 = 2^60; 3·1537228672809129301 = 2p + 1.
    assert_eq!(inv(2), Some(1 << 60));
    assert_eq!(inv(3), Some(1_537_228_672_809_129_301));
    assert_eq!(inv(0), None);
    assert_eq!(inv(P), None);
    for a in [1, 7, 12_345_678_901, P - 1] {
        assert_eq!(mul(a, inv(a).unwrap()), 1, "{a}");
    }
    assert_eq!(embed(-1), Some(P - 1));
    assert_eq!(signed(embed(-123_456).unwrap()), -123_456);
    assert_eq!(signed(embed(HALF as i64 - 1).unwrap()), HALF as i64 - 1);
    assert_eq!(embed(HALF as i64), None);
    assert_eq!(embed(-(HALF as i64)), None);
}

#[test]
fn every_t_plus_one_subset_of_five_reconstructs() {
    let (n, t) = (5, 2);
    let mut rng = securefl_api::rng(1, &["test"]);
    for secret in [0, 1, 42, P - 1, embed(-987_654_321).unwrap()] {
        let shares = share(secret, t, n, &mut rng);
        let mut subsets = 0;
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != t + 1 {
                continue;
            }
            let idx: Vec<usize> = (0..n).filter(|i| mask >> i & 1 == 1).collect();
            let points: Vec<u64> = idx.iter().map(|&i| i as u64 + 1).collect();
            let ys: Vec<u64> = idx.iter().map(|&i| shares[i]).collect();
            assert_eq!(reconstruct(&points, &ys), secret, "subset {idx:?}");
            subsets += 1;
        }
        assert_eq!(subsets, 10);
        // Lagrange coefficients at 0 sum to 1 (they reconstruct the constant polynomial 1).
        let l = lagrange_at_zero(&[1, 3, 5]);
        assert_eq!(l.iter().fold(0, |a, &x| shamir::add(a, x)), 1);
    }
}

/// Mean (as a fraction of p) and top-bit frequency of the given parties' shares (n = 5, t = 2).
fn share_statistics(
    secret: u64,
    parties: &[usize],
    rng: &mut impl rand::RngCore,
) -> Vec<(f64, f64)> {
    let (n, t, trials) = (5, 2, 20_000);
    let mut sum = vec![0.0; parties.len()];
    let mut top = vec![0u32; parties.len()];
    for _ in 0..trials {
        let s = share(secret, t, n, rng);
        for (k, &i) in parties.iter().enumerate() {
            sum[k] += s[i] as f64 / P as f64;
            top[k] += (s[i] >> 60) as u32;
        }
    }
    sum.iter()
        .zip(&top)
        .map(|(s, &b)| (s / f64::from(trials), f64::from(b) / f64::from(trials)))
        .collect()
}

#[test]
fn any_t_shares_look_uniform_whatever_the_secret() {
    let mut rng = securefl_api::Rng::seed_from_u64(7);
    // 20,000 samples: the standard deviation of a uniform mean is 0.29/√20000 ≈ 0.002 and of a
    // bit frequency 0.0035; 0.015 is over four of them.
    for parties in [[0, 1], [3, 4], [1, 4]] {
        for secret in [0, 1, P - 1, embed(-5).unwrap(), 1 << 60] {
            for (mean, top) in share_statistics(secret, &parties, &mut rng) {
                assert!(
                    (mean - 0.5).abs() < 0.015,
                    "{parties:?} {secret}: mean {mean}"
                );
                assert!(
                    (top - 0.5).abs() < 0.015,
                    "{parties:?} {secret}: top bit {top}"
                );
            }
        }
    }
}

fn random_models(count: usize, len: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = securefl_api::rng(seed, &["models"]);
    (0..count)
        .map(|_| (0..len).map(|_| rng.gen_range(-2.0f32..2.0)).collect())
        .collect()
}

fn plain_average(models: &[Vec<f32>], weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    (0..models[0].len())
        .map(|k| {
            models
                .iter()
                .zip(weights)
                .map(|(m, w)| w * f64::from(m[k]))
                .sum::<f64>()
                / total
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len());
    for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(g) - w).abs() <= tol,
            "coordinate {k}: {g} vs {w}"
        );
    }
}

fn run(p: &mut dyn SmpcProtocol, c: &SmpcCtx, models: &[Vec<f32>], weights: &[f64]) -> Vec<f32> {
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let ids = p.share_models(c, &SPEC, &refs).unwrap().value;
    p.aggregate(c, &ids, weights).unwrap().value
}

const ULP: f64 = 1.0 / 65536.0;

#[test]
fn integer_weighted_average_matches_plaintext_within_one_unit() {
    let models = random_models(10, 1_000, 3);
    let weights = [
        120.0,
        37.0,
        500.0,
        1.0,
        0.0,
        64.0,
        999.0,
        250.0,
        13.0,
        1_048_576.0,
    ];
    let want = plain_average(&models, &weights);
    for n in [3, 5, 7] {
        let mut p = protocol("");
        p.check(n).unwrap();
        let got = run(p.as_mut(), &ctx(n, 11), &models, &weights);
        assert_close(&got, &want, ULP);
    }
}

#[test]
fn maximal_dropouts_still_give_the_exact_result() {
    let models = random_models(10, 1_000, 4);
    let weights = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0];
    let want = plain_average(&models, &weights);
    let c = ctx(5, 21);
    let full = run(protocol("threshold = 2").as_mut(), &c, &models, &weights);
    assert_close(&full, &want, ULP);
    // n − (t+1) = 2 of 5 drop; the reveal uses the remaining 3. Several seeds drop different sets.
    for seed in 21..26 {
        let mut p = protocol("threshold = 2\ndropouts = 2");
        p.check(5).unwrap();
        let got = run(p.as_mut(), &ctx(5, seed), &models, &weights);
        assert_close(&got, &want, ULP);
        if seed == 21 {
            assert_eq!(
                got, full,
                "reconstruction is exact, so dropouts change nothing"
            );
        }
    }
    let mut p = protocol("threshold = 3\ndropouts = 3\nparties = 7");
    p.check(7).unwrap();
    assert_close(&run(p.as_mut(), &ctx(7, 5), &models, &weights), &want, ULP);
}

#[test]
fn fractional_weights_are_quantized_to_sixteen_bits() {
    let models = random_models(4, 500, 5);
    let weights = [0.1, 0.25, 0.3333, 0.05];
    let q = securefl_smpc::plugin::quantize_weights(&weights);
    assert_eq!(q[2], 65_536);
    assert_eq!(
        securefl_smpc::plugin::quantize_weights(&[3.0, 1_048_576.0]),
        [3, 1_048_576]
    );
    assert_eq!(
        securefl_smpc::plugin::quantize_weights(&[1.0, 2_097_152.0]),
        [0, 65_536],
        "integers above 2^20 are quantized"
    );
    let got = run(protocol("").as_mut(), &ctx(3, 1), &models, &weights);
    // The weights are off by at most max_w·2^−17, relative error ≲ 2^−17/0.05 on the smallest.
    assert_close(&got, &plain_average(&models, &weights), 4.0 * ULP);
}

#[test]
fn check_refuses_what_cannot_run() {
    let err = |params: &str, validators: usize| match protocol(params).check(validators) {
        Err(PluginError::Invalid(m)) => m,
        other => panic!("{params}: expected Invalid, got {other:?}"),
    };
    let m = err("parties = 4\nthreshold = 2", 4);
    assert!(m.contains("2t+1"), "{m}");
    assert!(!m.contains('\n'));
    let m = err("threshold = 2\ndropouts = 3", 5);
    assert!(m.contains("dropouts"), "{m}");
    let m = err("threshold = 0", 5);
    assert!(m.contains("t = 0"), "{m}");
    assert!(
        err("", 2).contains("t = 0"),
        "two validators leave no t >= 1"
    );
    assert!(err("parties = 7", 5).contains("validators"));
    assert!(err("frac-bits = 50", 5).contains("frac-bits"));
    protocol("threshold = 2\ndropouts = 2").check(5).unwrap();
    protocol("").check(3).unwrap();
    // Sharing refuses the same settings.
    let mut p = protocol("threshold = 2");
    assert!(p.share_models(&ctx(4, 0), &SPEC, &[&[1.0]]).is_err());
    // Unknown parameters are named.
    let e = shamir::factory()
        .build(&Params::from_toml("treshold = 1").unwrap())
        .err()
        .unwrap();
    assert_eq!(e.field.as_deref(), Some("treshold"));
}

#[test]
fn metered_costs_equal_the_formulas_for_five_parties() {
    let (n, t, len, count) = (5u64, 2u64, 1_000usize, 10u64);
    let models = random_models(count as usize, len, 6);
    let refs: Vec<&[f32]> = models.iter().map(Vec::as_slice).collect();
    let mut p = protocol("");
    let c = ctx(5, 8);
    let shared = p.share_models(&c, &SPEC, &refs).unwrap();
    let elem = 8 * len as u64;
    // Setup: n − t explicit elements per value from each owner, 1 round for all models.
    assert_eq!(shared.cost.bytes, count * (n - t) * elem);
    assert_eq!(shared.cost.messages, count * (n - t));
    assert_eq!(shared.cost.rounds, 1);
    assert_eq!(shared.cost.offline_bytes, 0);
    assert_eq!(shared.cost.max_party_bytes(), 0, "owners are not parties");
    let agg = p.aggregate(&c, &shared.value, &[1.0; 10]).unwrap();
    // Online: t+1 parties send their share to the n−1 others, 1 round.
    assert_eq!(agg.cost.bytes, (t + 1) * (n - 1) * elem);
    assert_eq!(agg.cost.messages, (t + 1) * (n - 1));
    assert_eq!(agg.cost.rounds, 1);
    assert_eq!(agg.cost.max_party_bytes(), (n - 1) * elem);
    let e = (n - 1) * elem;
    assert_eq!(agg.cost.party_bytes_cell(), format!("{e};{e};{e};0;0"));
    // With d = 2 dropouts the designated parties send to the n − d − 1 other survivors.
    let mut p = protocol("dropouts = 2");
    let ids = p.share_models(&c, &SPEC, &refs).unwrap().value;
    let agg = p.aggregate(&c, &ids, &[1.0; 10]).unwrap();
    assert_eq!(agg.cost.bytes, (t + 1) * (n - 2 - 1) * elem);
}

#[test]
fn overflow_is_refused_and_shares_do_not_outlive_the_round() {
    let c = ctx(3, 2);
    let mut p = protocol("");
    // 1e9 · 2^16 ≈ 2^46; times weight 2^20 and a second model that is 2^60 > (p−1)/2.
    let big = [1.0e9f32, 0.5];
    let ids = p.share_models(&c, &SPEC, &[&big, &big]).unwrap().value;
    match p.aggregate(&c, &ids, &[1_048_576.0, 1_048_576.0]) {
        Err(PluginError::Invalid(m)) => assert!(m.contains("too large"), "{m}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert!(p.aggregate(&c, &ids, &[1.0, 3.0]).is_ok());
    // A single value beyond the field cannot be encoded at all; NaN neither.
    assert!(p.share_models(&c, &SPEC, &[&[1.0e15]]).is_err());
    assert!(p.share_models(&c, &SPEC, &[&[f32::NAN]]).is_err());
    assert!(p.aggregate(&c, &ids, &[1.0]).is_err());
    assert!(p.aggregate(&c, &ids, &[-1.0, 2.0]).is_err());
    assert!(p.aggregate(&c, &ids, &[0.0, 0.0]).is_err());
    p.begin_round(&c);
    assert!(p.aggregate(&c, &ids, &[1.0, 1.0]).is_err());
}

#[test]
fn capabilities_and_plugin_info() {
    let f = shamir::factory();
    assert_eq!(f.info().name, "shamir");
    assert!(f.info().citation.as_deref().unwrap().contains("Shamir"));
    let caps = protocol("").caps();
    assert_eq!(caps.parties, 0, "n follows the validators");
    assert!(caps.honest_majority && !caps.dealer && !caps.inference);
    assert_eq!(caps.security, securefl_api::SecurityModel::SemiHonest);
    assert_eq!(protocol("parties = 7").caps().parties, 7);
    let p = ShamirAggregation::new(ShamirParams::default());
    assert_eq!(p.params().frac_bits, 16);
    assert_eq!(p.setting(9).unwrap(), (9, 4));
    let mut p = protocol("");
    let ids = p.share_models(&ctx(3, 0), &SPEC, &[&[1.0]]).unwrap().value;
    assert!(matches!(
        p.evaluate(
            &ctx(3, 0),
            ids[0],
            securefl_api::DataId(0),
            &securefl_api::EvalQuery {
                score: securefl_api::Score::Accuracy,
                min_score: None,
                floor_accuracy: None,
                reveal_score: true,
                reveal_predictions: false,
                keep: false,
            }
        ),
        Err(PluginError::Unsupported(_))
    ));
}
