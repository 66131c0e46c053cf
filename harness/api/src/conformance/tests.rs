//! The suite fails the backends it should: stand-ins built on the reference forward pass that
//! skip training, check no input, or shift their logits.

use super::*;

/// Predicts with the reference forward pass (offset by `shift`) and never trains.
struct Stub {
    shift: f32,
}

impl CnnBackend for Stub {
    fn train(
        &self,
        _ctx: &TrainCtx,
        start: &[f32],
        _data: &ImageSet,
    ) -> Result<TrainOutcome, PluginError> {
        Ok(TrainOutcome {
            weights: start.to_vec(),
            train_loss: f32::NAN,
        })
    }

    fn predict(
        &self,
        spec: &ModelSpec,
        weights: &[f32],
        images: &ImageSet,
    ) -> Result<Vec<f32>, PluginError> {
        Ok((0..images.len())
            .flat_map(|i| reference::forward_one(spec, weights, images, i))
            .map(|v| v as f32 + self.shift)
            .collect())
    }

    fn device(&self) -> String {
        "cpu".to_owned()
    }
}

#[test]
fn the_reference_itself_passes_the_logit_and_round_trip_checks() {
    let stub = Stub { shift: 0.0 };
    logits_match_reference(&stub).unwrap();
    weights_round_trip_exactly(&stub).unwrap();
}

#[test]
fn logits_off_by_twice_the_tolerance_fail() {
    let err = logits_match_reference(&Stub { shift: 2e-5 }).unwrap_err();
    assert!(err.contains("image 0 class 0"), "{err}");
}

#[test]
fn a_backend_that_does_not_learn_fails_the_training_checks() {
    let stub = Stub { shift: 0.0 };
    assert!(training_lowers_the_loss(&stub).is_err());
    assert!(gradient_matches_reference(&stub).is_err());
    let err = seeded_training_is_deterministic(&stub).unwrap_err();
    assert!(
        err.contains("different seeds") || err.contains("same"),
        "{err}"
    );
}

#[test]
fn a_panic_on_bad_input_is_reported_not_propagated() {
    let err = mismatched_inputs_are_errors(&Stub { shift: 0.0 }).unwrap_err();
    assert!(
        err.starts_with("train with RGB images for a grey model: accepted"),
        "{err}"
    );
    let panicked = run(|| Stub { shift: 0.0 }.predict(&SPECS[0], &[], &random_images(1, 1, 2, 0)));
    assert!(panicked.unwrap_err().starts_with("panicked: "));
}

#[test]
fn mean_cross_entropy_is_log_sum_exp_minus_the_label_logit() {
    let logits = [0.0, 0.0, 2.0, 0.0];
    let want = (2f64.ln() + ((1.0 + (-2f64).exp()).ln())) / 2.0;
    assert!((mean_cross_entropy(&logits, &[1, 0], 2) - want).abs() < 1e-12);
}
