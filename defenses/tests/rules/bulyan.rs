//! `bulyan` on a 1-D example worked through by hand.

use securefl_api::{Defense, Verdict};
use securefl_defenses::bulyan::{Bulyan, bulyan};
use securefl_defenses::krum::Params;

use crate::{assert_close, run, setting, updates};

/// n = 7, f = 1: θ = 5 selected by recursive Krum, β = 3 averaged per coordinate.
/// Selection order: 2 (score 30), 1 (42, tie with 3 to the lower index), 3 (26), 0 (36, tie
/// with 4), 4 (3136, tie with the outlier 6). Selected values 0 1 2 5 6 have median 2; the
/// three closest are 2, 1, 0, so the delta is 1 (the plain mean would be 64 / 7).
const VALUES: [&[f32]; 7] = [&[0.0], &[1.0], &[2.0], &[5.0], &[6.0], &[100.0], &[-50.0]];

#[test]
fn bulyan_selects_by_recursive_krum_and_averages_around_the_median() {
    let c = bulyan(&updates(&VALUES), 1).unwrap();
    assert_close(&c.delta, &[1.0]);
    use Verdict::{Accepted as A, Rejected as R};
    let v: Vec<Verdict> = c.verdicts.iter().map(|v| v.verdict).collect();
    assert_eq!(v, [A, A, A, A, A, R, R]);
    // Scores are Krum scores over all seven (4 nearest): e.g. hospital 2: 4 + 1 + 9 + 16.
    let s: Vec<f64> = c.verdicts.iter().map(|v| v.score.unwrap()).collect();
    assert_close(&s, &[66.0, 43.0, 30.0, 51.0, 78.0, 37266.0, 10830.0]);
}

#[test]
fn bulyan_refuses_n_below_4f_plus_3_naming_n_and_f() {
    let d = Bulyan::new(Params::default());
    let err = d.check(&setting(10, 2)).unwrap_err().to_string();
    for part in ["bulyan", "n = 10", "f = 2", "4f + 3", "10 < 11"] {
        assert!(err.contains(part), "{err}");
    }
    assert!(d.check(&setting(6, 1)).is_err());
    assert!(d.check(&setting(7, 1)).is_ok());
    assert!(
        Bulyan::new(Params { f: Some(1) })
            .check(&setting(10, 2))
            .is_ok()
    );
    assert!(bulyan(&updates(&VALUES[..6]), 1).is_err());
}

#[test]
fn bulyan_defense_adds_the_delta_to_the_global_model() {
    let mut d = Bulyan::new(Params::default());
    assert!(d.caps().needs_plaintext && d.caps().produces_verdicts);
    let agg = run(&mut d, &[0.5], setting(7, 1), &updates(&VALUES)).unwrap();
    assert_eq!(agg.model().unwrap(), [1.5]);
}
