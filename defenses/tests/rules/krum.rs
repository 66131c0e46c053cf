//! `krum` on a 2-D example whose scores are computed by hand.

use securefl_api::{CostRecord, Defense, Verdict};
use securefl_defenses::krum::{Krum, Params, krum};

use crate::{assert_close, run, setting, updates, verdicts};

/// Points d, b, a, c, e: a = (1, 2) is the most central one, e = (11, 12) the outlier.
/// With f = 1, each score sums the 5 − 1 − 2 = 2 smallest squared distances:
/// d: 5 + 5, b: 1 + 2, a: 1 + 1, c: 1 + 2, e: 128 + 181.
pub(crate) const POINTS: [&[f32]; 5] = [
    &[3.0, 4.0],
    &[2.0, 2.0],
    &[1.0, 2.0],
    &[1.0, 3.0],
    &[11.0, 12.0],
];

#[test]
fn krum_picks_the_point_with_the_lowest_score() {
    let c = krum(&updates(&POINTS), 1).unwrap();
    assert_close(&c.delta, &[1.0, 2.0]);
    use Verdict::{Accepted as A, Rejected as R};
    assert_eq!(verdicts(&c.verdicts), [R, R, A, R, R]);
    let scores: Vec<f64> = c.verdicts.iter().map(|v| v.score.unwrap()).collect();
    assert_close(&scores, &[10.0, 3.0, 2.0, 3.0, 309.0]);
}

#[test]
fn krum_defense_moves_the_global_model_by_the_selected_update() {
    let mut d = Krum::new(Params::default());
    assert!(d.caps().needs_plaintext && d.caps().produces_verdicts);
    let agg = run(&mut d, &[10.0, 20.0], setting(5, 1), &updates(&POINTS)).unwrap();
    assert_eq!(agg.model().unwrap(), [11.0, 22.0]);
    assert_eq!(agg.cost, CostRecord::default());
    assert_eq!(agg.verdicts[2].hospital, 2);
}

#[test]
fn krum_refuses_n_at_most_2f_plus_2() {
    let d = Krum::new(Params::default());
    let err = d.check(&setting(4, 1)).unwrap_err().to_string();
    assert!(
        err.contains("krum") && err.contains("n = 4") && err.contains("f = 1"),
        "{err}"
    );
    assert!(err.contains("n > 2f + 2"), "{err}");
    assert!(d.check(&setting(5, 1)).is_ok());
    // An explicit `f` overrides the run's malicious count.
    assert!(
        Krum::new(Params { f: Some(0) })
            .check(&setting(4, 1))
            .is_ok()
    );
    // Asked anyway, the rule fails with an error, not a panic.
    assert!(krum(&updates(&POINTS[..4]), 1).is_err());
}

#[test]
fn krum_refuses_deltas_of_the_wrong_length() {
    let mut d = Krum::new(Params::default());
    let err = run(&mut d, &[0.0; 3], setting(5, 1), &updates(&POINTS)).unwrap_err();
    assert!(err.to_string().contains("3-weight model"), "{err}");
}
