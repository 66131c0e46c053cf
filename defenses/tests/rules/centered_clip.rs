//! `centered-clip`: a huge outlier moves the result by at most about τ·f/(n − f).

use securefl_api::{Defense, Params as RawParams, Verdict};
use securefl_defenses::centered_clip::{CenteredClip, Params, centered_clip};

use crate::{assert_close, run, setting, updates};

#[test]
fn centered_clip_stays_near_the_honest_mean_despite_a_huge_outlier() {
    // Honest mean (1, 0.025); the plain mean would be about (200.8, 200.0).
    let u = updates(&[
        &[1.0, 0.0],
        &[1.1, 0.0],
        &[0.9, 0.0],
        &[1.0, 0.1],
        &[1000.0, 1000.0],
    ]);
    let c = centered_clip(&u, 2.0, 3).unwrap();
    let off = ((c.delta[0] - 1.0).powi(2) + (c.delta[1] - 0.025).powi(2)).sqrt();
    // The fixed point sits τ·f/(n − f) = 0.5 from the honest mean; three steps reach 0.49.
    assert!(off < 0.5 && off > 0.45, "{:?} is {off} away", c.delta);
    assert!(
        c.verdicts
            .iter()
            .all(|v| v.verdict == Verdict::NotApplicable && v.score.is_none())
    );
}

#[test]
fn centered_clip_without_clipping_is_the_mean() {
    let u = updates(&[&[1.0, 2.0], &[3.0, 4.0]]);
    assert_close(&centered_clip(&u, 100.0, 1).unwrap().delta, &[2.0, 3.0]);
    let mut d = CenteredClip::new(Params::default()).unwrap();
    assert!(d.caps().needs_plaintext && !d.caps().produces_verdicts);
    let agg = run(&mut d, &[1.0, 1.0], setting(2, 0), &u).unwrap();
    assert_eq!(agg.model().unwrap(), [3.0, 4.0]);
}

#[test]
fn centered_clip_refuses_bad_parameters() {
    for (text, field) in [("tau = 0.0", "tau"), ("iterations = 0", "iterations")] {
        let raw = RawParams::from_toml(text).unwrap();
        let err = CenteredClip::new(raw.parse().unwrap()).unwrap_err();
        assert_eq!(err.field.as_deref(), Some(field));
    }
}
