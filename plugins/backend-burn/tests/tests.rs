//! The burn backend against the conformance suite (`securefl_api::conformance`), and against the
//! dfdx backend.

use securefl_api::conformance;
use securefl_api::{CnnBackend, Registry};
use securefl_backend_burn::BurnBackend;
use securefl_backend_dfdx::DfdxBackend;

#[test]
fn logits_match_the_reference_forward_pass() {
    conformance::logits_match_reference(&BurnBackend).unwrap();
}

#[test]
fn gradients_match_finite_differences_of_the_reference() {
    conformance::gradient_matches_reference(&BurnBackend).unwrap();
}

#[test]
fn training_lowers_the_loss() {
    conformance::training_lowers_the_loss(&BurnBackend).unwrap();
}

#[test]
fn weights_round_trip_exactly() {
    conformance::weights_round_trip_exactly(&BurnBackend).unwrap();
}

#[test]
fn seeded_training_is_deterministic() {
    conformance::seeded_training_is_deterministic(&BurnBackend).unwrap();
}

#[test]
fn mismatched_inputs_are_errors() {
    conformance::mismatched_inputs_are_errors(&BurnBackend).unwrap();
}

#[test]
fn burn_and_dfdx_agree_on_logits_and_training() {
    conformance::backends_agree(&BurnBackend, &DfdxBackend).unwrap();
}

#[test]
fn registers_as_burn_on_the_cpu() {
    let mut reg = Registry::default();
    securefl_backend_burn::register(&mut reg).unwrap();
    assert_eq!(reg.names::<dyn CnnBackend>(), ["burn"]);
    let backend = reg
        .get::<dyn CnnBackend>("burn")
        .unwrap()
        .build(&securefl_api::Params::empty())
        .unwrap();
    assert_eq!(backend.device(), "cpu");
}
