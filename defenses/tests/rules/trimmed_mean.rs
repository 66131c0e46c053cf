//! `trimmed-mean` on small vectors, odd and even n.

use securefl_api::{Defense, Verdict};
use securefl_defenses::trimmed_mean::{Params, TrimmedMean, trimmed_mean};

use crate::{assert_close, run, setting, updates};

#[test]
fn trimmed_mean_drops_beta_values_at_each_end() {
    // Column 0: 1 2 3 4 100 -> mean(2, 3, 4) = 3; column 1: -50 0 1 2 3 -> mean(0, 1, 2) = 1.
    let u = updates(&[
        &[100.0, 1.0],
        &[2.0, -50.0],
        &[3.0, 3.0],
        &[1.0, 0.0],
        &[4.0, 2.0],
    ]);
    let c = trimmed_mean(&u, 1).unwrap();
    assert_close(&c.delta, &[3.0, 1.0]);
    assert!(
        c.verdicts
            .iter()
            .all(|v| v.verdict == Verdict::NotApplicable)
    );
    assert_close(&trimmed_mean(&u, 0).unwrap().delta, &[22.0, -8.8]);
}

#[test]
fn trimmed_mean_of_even_n() {
    let u = updates(&[&[10.0], &[1.0], &[3.0], &[2.0]]);
    assert_close(&trimmed_mean(&u, 1).unwrap().delta, &[2.5]);
}

#[test]
fn trimmed_mean_defaults_beta_to_f_and_refuses_n_at_most_2_beta() {
    let d = TrimmedMean::new(Params::default());
    let err = d.check(&setting(4, 2)).unwrap_err().to_string();
    assert!(err.contains("n = 4") && err.contains("beta = 2"), "{err}");
    assert!(d.check(&setting(5, 2)).is_ok());
    assert!(
        TrimmedMean::new(Params { beta: Some(1) })
            .check(&setting(4, 2))
            .is_ok()
    );
    let mut d = TrimmedMean::new(Params::default());
    let u = updates(&[&[10.0], &[1.0], &[3.0], &[2.0]]);
    let agg = run(&mut d, &[1.0], setting(4, 1), &u).unwrap();
    assert_eq!(agg.model().unwrap(), [3.5]);
    assert!(run(&mut d, &[1.0], setting(4, 2), &u).is_err());
}
