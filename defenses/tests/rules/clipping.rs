//! `norm-clip` and `adaptive-clip` pre-aggregators bound every update's norm.

use securefl_api::{ClientUpdate, Params as RawParams};
use securefl_defenses::adaptive_clip::{self, AdaptiveClip, adaptive_bound};
use securefl_defenses::norm_clip::{self, NormClip};

use crate::{apply, updates};

fn deltas(u: &[ClientUpdate]) -> Vec<Vec<f32>> {
    u.iter().map(|u| u.delta.clone()).collect()
}

#[test]
fn norm_clip_scales_long_updates_down_to_the_bound() {
    let mut u = updates(&[&[3.0, 4.0], &[0.6, 0.8]]);
    let mut p = NormClip::new(norm_clip::Params { bound: 2.0 }).unwrap();
    apply(&mut p, &mut u).unwrap();
    assert_eq!(deltas(&u), [vec![1.2, 1.6], vec![0.6, 0.8]]);
    assert!(u.iter().all(|u| u.norm() <= 2.0 + 1e-6));
}

#[test]
fn norm_clip_needs_a_positive_bound() {
    let missing = RawParams::empty().parse::<norm_clip::Params>().unwrap_err();
    assert!(missing.message.contains("bound"), "{missing}");
    let raw = RawParams::from_toml("bound = -1.0").unwrap();
    let err = NormClip::new(raw.parse().unwrap()).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("bound"));
}

#[test]
fn adaptive_clip_bounds_norms_by_the_median_norm() {
    // Norms 10, 1, 5: median 5; (6, 8) becomes (3, 4).
    let mut u = updates(&[&[6.0, 8.0], &[0.6, 0.8], &[3.0, 4.0]]);
    assert_eq!(adaptive_bound(&u, 1.0), 5.0);
    let mut p = AdaptiveClip::new(adaptive_clip::Params { multiplier: 1.0 }).unwrap();
    apply(&mut p, &mut u).unwrap();
    assert_eq!(deltas(&u), [vec![3.0, 4.0], vec![0.6, 0.8], vec![3.0, 4.0]]);
    // Even n: norms 1, 3, 5, 10 give a median of 4, doubled by the multiplier to 8.
    let u = updates(&[&[0.0, 1.0], &[0.0, 3.0], &[0.0, 5.0], &[0.0, 10.0]]);
    assert_eq!(adaptive_bound(&u, 2.0), 8.0);
    let raw = RawParams::from_toml("multiplier = 0.0").unwrap();
    assert!(AdaptiveClip::new(raw.parse().unwrap()).is_err());
}
