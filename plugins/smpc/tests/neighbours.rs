//! The neighbour-distance rules in shares equal the plaintext rules (Krum's score against the
//! upper median, and Multi-Krum's selection by rank), under both inference protocols, and the
//! bound says when a setting stays exact.

use rand::{Rng as _, SeedableRng};
use securefl_api::Rng;
use securefl_smpc::additive::Additive2pc;
use securefl_smpc::mpc::Mpc;
use securefl_smpc::neighbours::{lowest, safe, within_bound};
use securefl_smpc::replicated::Replicated3pc;
use securefl_smpc::ring::Fixed;

const FX: Fixed = Fixed { frac_bits: 16 };

/// Krum's scores of integer models from the `k` nearest (counting ties as `k` strictly nearer
/// ones do).
fn plain_scores(models: &[Vec<i64>], k: usize) -> Vec<i128> {
    let n = models.len();
    let dist = |a: &[i64], b: &[i64]| -> i128 {
        a.iter().zip(b).map(|(x, y)| i128::from(x - y).pow(2)).sum()
    };
    (0..n)
        .map(|i| {
            let row: Vec<i128> = (0..n)
                .filter(|&j| j != i)
                .map(|j| dist(&models[i], &models[j]))
                .collect();
            row.iter()
                .filter(|&&d| row.iter().filter(|&&o| o < d).count() < k)
                .sum()
        })
        .collect()
}

/// The plaintext bound: `16·s_i ≤ factor_int · s_(upper median)`.
fn plain(models: &[Vec<i64>], k: usize, factor: f64) -> Vec<bool> {
    let n = models.len();
    let scores = plain_scores(models, k);
    let mut sorted = scores.clone();
    sorted.sort_unstable();
    let upper = sorted[n / 2];
    let f2 = i128::from(securefl_smpc::norm::factor_int(factor) as u32);
    scores.iter().map(|&s| 16 * s <= f2 * upper).collect()
}

/// Ten integer models of `len` coordinates: seven honest ones near each other, three colluders
/// close together but shifted away from them.
fn clustered(seed: u64, len: usize) -> Vec<Vec<i64>> {
    let mut rng = Rng::seed_from_u64(seed);
    let centre: Vec<i64> = (0..len).map(|_| rng.gen_range(-60_000..60_000)).collect();
    (0..10)
        .map(|m| {
            let shift = if m >= 7 { 9_000 } else { 0 };
            centre
                .iter()
                .map(|&c| c + shift + rng.gen_range(-3_000..3_000))
                .collect()
        })
        .collect()
}

/// Shares each integer model as ring elements.
fn share<P: Mpc>(p: &mut P, models: &[Vec<i64>]) -> Vec<P::A> {
    models
        .iter()
        .map(|m| p.input(&m.iter().map(|&v| v as u64).collect::<Vec<_>>()))
        .collect()
}

fn check<P: Mpc>(make: impl Fn(u64) -> P) {
    let models = clustered(21, 257);
    for (k, factor) in [(5, 2.0), (5, 1.5), (3, 2.0), (8, 4.0)] {
        let mut p = make(3);
        let shared = share(&mut p, &models);
        let refs: Vec<&P::A> = shared.iter().collect();
        let bits = within_bound(&mut p, &refs, k, factor).unwrap();
        assert_eq!(
            p.reveal_bits(&bits),
            plain(&models, k, factor),
            "k {k}, factor {factor}"
        );
    }
    let mut p = make(4);
    let shared = share(&mut p, &models[..3]);
    let refs: Vec<&P::A> = shared.iter().collect();
    assert!(
        within_bound(&mut p, &refs, 1, 2.0).is_none(),
        "three models all pass"
    );
}

/// The plaintext selection: model `i` is kept unless its score is among the `drop` highest,
/// ties ranked by index.
fn plain_lowest(models: &[Vec<i64>], k: usize, drop: usize) -> Vec<bool> {
    let scores = plain_scores(models, k);
    let n = scores.len();
    (0..n)
        .map(|i| {
            let rank = (0..n)
                .filter(|&j| scores[j] < scores[i] || scores[j] == scores[i] && j < i)
                .count();
            rank + drop < n
        })
        .collect()
}

fn check_lowest<P: Mpc>(make: impl Fn(u64) -> P) {
    let mut models = clustered(23, 131);
    // Two equal models tie in score: the rank breaks the tie by index.
    models[5] = models[4].clone();
    for (k, drop) in [(5, 3), (3, 1), (8, 2), (5, 10)] {
        let mut p = make(5);
        let shared = share(&mut p, &models);
        let refs: Vec<&P::A> = shared.iter().collect();
        let bits = lowest(&mut p, &refs, k, drop).unwrap();
        let want = plain_lowest(&models, k, drop);
        assert_eq!(p.reveal_bits(&bits), want, "k {k}, drop {drop}");
        let dropped = want.iter().filter(|&&b| !b).count();
        assert_eq!(dropped, drop.min(models.len()), "k {k}, drop {drop}");
    }
    let mut p = make(6);
    let shared = share(&mut p, &models[..4]);
    let refs: Vec<&P::A> = shared.iter().collect();
    assert!(lowest(&mut p, &refs, 1, 0).is_none(), "drop 0 keeps all");
}

#[test]
fn the_rank_selection_equals_multi_krum_under_both_protocols() {
    check_lowest(|seed| Additive2pc::new(FX, seed));
    check_lowest(|seed| Replicated3pc::new(FX, seed));
}

#[test]
fn the_colluders_are_the_three_dropped_by_rank() {
    let models = clustered(22, 101);
    let kept = plain_lowest(&models, 5, 3);
    assert_eq!(kept.iter().filter(|&&b| !b).count(), 3);
    assert!(kept[..7].iter().all(|&b| b), "{kept:?}");
}

#[test]
fn the_bits_equal_the_plaintext_rule_under_both_protocols() {
    check(|seed| Additive2pc::new(FX, seed));
    check(|seed| Replicated3pc::new(FX, seed));
}

#[test]
fn the_colluders_far_from_the_honest_cluster_fail_at_factor_2() {
    let models = clustered(22, 101);
    let bits = plain(&models, 5, 2.0);
    assert_eq!(
        bits,
        [
            true, true, true, true, true, true, true, false, false, false
        ]
    );
}

#[test]
fn a_setting_is_exact_only_while_scores_times_the_factor_fit() {
    // The paper CNN's 56,642 weights at f = 16: within ±4 (2^18) five neighbours' worst-case
    // score times factor² reaches 2^62.1, too wide even at factor 2; within ±2 (2^17) factor 3
    // fits (2^61.3), and factor 4 does not.
    assert!(!safe(56_642, 18, 5, 2.0));
    assert!(safe(56_642, 17, 5, 2.0));
    assert!(safe(56_642, 17, 5, 3.0));
    assert!(!safe(56_642, 17, 5, 4.0));
}
