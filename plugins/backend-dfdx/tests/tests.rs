//! The dfdx backend against the conformance suite (`securefl_api::conformance`), and the weight
//! file.

use securefl_api::{Arch, ModelSpec, Rng, conformance};
use securefl_backend_dfdx::DfdxBackend;

#[test]
fn logits_match_the_reference_forward_pass() {
    conformance::logits_match_reference(&DfdxBackend).unwrap();
}

#[test]
fn gradients_match_finite_differences_of_the_reference() {
    conformance::gradient_matches_reference(&DfdxBackend).unwrap();
}

#[test]
fn training_lowers_the_loss() {
    conformance::training_lowers_the_loss(&DfdxBackend).unwrap();
}

#[test]
fn weights_round_trip_exactly() {
    conformance::weights_round_trip_exactly(&DfdxBackend).unwrap();
}

#[test]
fn seeded_training_is_deterministic() {
    conformance::seeded_training_is_deterministic(&DfdxBackend).unwrap();
}

#[test]
fn mismatched_inputs_are_errors() {
    conformance::mismatched_inputs_are_errors(&DfdxBackend).unwrap();
}

#[test]
fn a_short_weight_file_names_its_size() {
    use rand::SeedableRng;
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let weights = spec.init_weights(&mut Rng::seed_from_u64(11));
    let bytes = securefl_api::model::weights_to_bytes(&weights);
    let err = securefl_api::model::weights_from_bytes(&spec, &bytes[4..], "w.f32").unwrap_err();
    assert!(err.to_string().starts_with("w.f32: 224772 bytes"), "{err}");
}
