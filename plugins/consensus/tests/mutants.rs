//! The mutation check: each known bug that `securefl_consensus::mutant` can inject must make a
//! safety suite fail. PBFT's mutants run against the randomized PBFT suite (`pbft_safety.rs`,
//! n = 4..10, seeds in order, until the first violation); Aura's against the randomized PoA
//! suite (`poa_safety.rs`) and then the deterministic split of `poa_byzantine.rs` under the
//! 2/3 rule. A mutant that makes the protocol panic counts as caught too.

use std::panic::{AssertUnwindSafe, catch_unwind};

use securefl_consensus::mutant::{self, Mutant};

use crate::{pbft_safety, pbft_twins, poa_byzantine, poa_safety};

/// The first failure of a suite under `m`: the violation, or the panic.
fn first_failure(m: Mutant) -> Option<String> {
    let attempt = |f: &dyn Fn() -> Result<(), String>| match catch_unwind(AssertUnwindSafe(|| {
        mutant::with(m, f)
    })) {
        Ok(r) => r.err(),
        Err(_) => Some("the protocol panicked".into()),
    };
    if m == Mutant::AuraRepeatedAuthors {
        for theta in [0.5, 2.0 / 3.0] {
            for seed in 0..poa_safety::RUNS {
                if let Some(e) = attempt(&|| poa_safety::run(theta, seed)) {
                    return Some(e);
                }
            }
        }
        return attempt(&|| {
            // The honest split of the clone-attack scenario, 2/3 rule, no clone.
            let sim = poa_byzantine::clone_attack(2.0 / 3.0, &[]);
            match sim.metrics.conflicts(&sim.honest()).as_slice() {
                [] => Ok(()),
                c => Err(format!(
                    "poa split: conflicting finality at heights {:?}",
                    c.len()
                )),
            }
        });
    }
    for n in 4..=10 {
        for seed in 0..1000 {
            if let Some(e) = attempt(&|| pbft_safety::run(n, seed).map(drop)) {
                return Some(e);
            }
        }
    }
    None
}

#[test]
fn every_mutant_is_caught_by_a_safety_suite() {
    let missed: Vec<Mutant> = Mutant::ALL
        .into_iter()
        .filter(|&m| first_failure(m).is_none())
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} mutants survive the safety suites: {missed:?}",
        missed.len(),
        Mutant::ALL.len()
    );
}

/// The first Twins scenario that fails under `m` (`pbft_twins.rs`, either twinned primary).
fn twins_failure(m: Mutant) -> Option<String> {
    (0..2).find_map(|twin| {
        (0..4096).find_map(|index| {
            match catch_unwind(AssertUnwindSafe(|| {
                mutant::with(m, || pbft_twins::run(twin, index))
            })) {
                Ok(r) => r.err(),
                Err(_) => Some("the protocol panicked".into()),
            }
        })
    })
}

#[test]
fn twins_alone_catch_every_pbft_mutant() {
    let pbft = [
        Mutant::QuorumTwoF,
        Mutant::VotesIgnoreDigest,
        Mutant::SkipPSetRule,
    ];
    let missed: Vec<Mutant> = pbft
        .into_iter()
        .filter(|&m| twins_failure(m).is_none())
        .collect();
    assert!(missed.is_empty(), "Twins miss {missed:?}");
}
