//! `multi-krum` on the Krum example (scores 10, 3, 2, 3, 309).

use securefl_api::{Defense, Params as RawParams, Verdict};
use securefl_defenses::multi_krum::{MultiKrum, Params, multi_krum};

use super::krum::POINTS;
use crate::{assert_close, run, setting, updates, verdicts};

use Verdict::{Accepted as A, Rejected as R};

#[test]
fn multi_krum_averages_the_n_minus_f_best_by_default() {
    let mut d = MultiKrum::new(Params::default()).unwrap();
    let agg = run(&mut d, &[0.0, 0.0], setting(5, 1), &updates(&POINTS)).unwrap();
    // Mean of (3, 4), (2, 2), (1, 2), (1, 3).
    assert_eq!(agg.model().unwrap(), [1.75, 2.75]);
    assert_eq!(verdicts(&agg.verdicts), [A, A, A, A, R]);
}

#[test]
fn multi_krum_selects_the_m_lowest_scores_ties_to_the_lower_index() {
    // Scores 2 (hospital 2), then 3 for hospitals 1 and 3: hospital 1 wins the tie.
    let c = multi_krum(&updates(&POINTS), 1, 2).unwrap();
    assert_close(&c.delta, &[1.5, 2.0]);
    assert_eq!(verdicts(&c.verdicts), [R, A, A, R, R]);
}

#[test]
fn multi_krum_refuses_impossible_settings() {
    let d = MultiKrum::new(Params {
        f: None,
        m: Some(6),
    })
    .unwrap();
    let err = d.check(&setting(5, 1)).unwrap_err().to_string();
    assert!(err.contains("m = 6"), "{err}");
    let d = MultiKrum::new(Params::default()).unwrap();
    assert!(
        d.check(&setting(4, 1))
            .unwrap_err()
            .to_string()
            .contains("multi-krum")
    );
    let raw = RawParams::from_toml("m = 0").unwrap();
    let err = MultiKrum::new(raw.parse().unwrap()).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("m"));
}
