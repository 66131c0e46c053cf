//! `median` on small vectors, odd and even n.

use securefl_api::{Defense, Verdict};
use securefl_defenses::median::{Median, median};

use crate::{assert_close, run, setting, updates};

#[test]
fn median_of_odd_n_is_the_middle_value() {
    let c = median(&updates(&[&[1.0, 5.0], &[3.0, -1.0], &[2.0, 0.0]])).unwrap();
    assert_close(&c.delta, &[2.0, 0.0]);
}

#[test]
fn median_of_even_n_is_the_mean_of_the_two_middle_values() {
    let u = updates(&[&[1.0, 5.0], &[3.0, -1.0], &[2.0, 0.0], &[10.0, 2.0]]);
    let c = median(&u).unwrap();
    assert_close(&c.delta, &[2.5, 1.0]);
}

#[test]
fn median_gives_no_verdict_and_adds_to_the_global_model() {
    let mut d = Median;
    assert!(d.caps().needs_plaintext && !d.caps().produces_verdicts);
    let u = updates(&[&[1.0, 5.0], &[3.0, -1.0], &[2.0, 0.0]]);
    let agg = run(&mut d, &[1.0, 1.0], setting(3, 1), &u).unwrap();
    assert_eq!(agg.model().unwrap(), [3.0, 1.0]);
    assert!(
        agg.verdicts
            .iter()
            .all(|v| v.verdict == Verdict::NotApplicable && v.score.is_none())
    );
    assert!(median(&[]).is_err());
}
