//! The CI fuzz run: a few thousand inputs per target, seeded; any panic fails with the input's
//! panic message. The long runs are recorded in `fuzz/README.md`.

use securefl_fuzz::{Target, fuzz};

#[test]
fn every_target_survives_a_short_seeded_run() {
    for t in Target::ALL {
        let r = fuzz(t, 2026, 5_000).unwrap();
        assert_eq!(
            r.panics,
            0,
            "{}: {:?}",
            r.target,
            r.first_panic.map(|p| p.1)
        );
        assert!(
            r.accepted > 0,
            "{}: nothing accepted: the mutator never reaches the checks",
            r.target
        );
        assert!(r.accepted < r.inputs, "{}: everything accepted", r.target);
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let a = fuzz(Target::Ledger, 9, 500).unwrap();
    let b = fuzz(Target::Ledger, 9, 500).unwrap();
    assert_eq!(a, b);
}
