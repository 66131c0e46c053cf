//! `fltrust`: the trust-score math as a pure function, and one round through a mock backend.

use securefl_api::{
    CnnBackend, Defense, ImageSet, ModelSpec, PluginError, TrainCtx, TrainOutcome, Verdict,
};
use securefl_defenses::fltrust::{FlTrust, Params, combine, root_indices, trust_scores};

use crate::{assert_close, images, setting, updates, with_ctx};

use Verdict::{Accepted as A, Rejected as R};

/// g₀ = (3, 4), norm 5. Update 0 points the same way (TS 1, rescaled to (3, 4)); update 1 the
/// opposite way (TS 0); update 2 is orthogonal (TS 0); update 3 = (0, 1) has cos 0.8 and is
/// rescaled to (0, 5). Delta = (1·(3, 4) + 0.8·(0, 5)) / 1.8 = (5/3, 40/9).
const UPDATES: [&[f32]; 4] = [&[6.0, 8.0], &[-3.0, -4.0], &[4.0, -3.0], &[0.0, 1.0]];
const REFERENCE: [f32; 2] = [3.0, 4.0];

#[test]
fn fltrust_gives_zero_trust_against_the_reference_direction() {
    let ts = trust_scores(&updates(&UPDATES), &REFERENCE);
    assert_close(&ts, &[1.0, 0.0, 0.0, 0.8]);
    let c = combine(&updates(&UPDATES), &REFERENCE).unwrap();
    assert_close(&c.delta, &[5.0 / 3.0, 40.0 / 9.0]);
    assert_eq!(
        c.verdicts.iter().map(|v| v.verdict).collect::<Vec<_>>(),
        [A, R, R, A]
    );
    assert_eq!(c.verdicts[3].score, Some(ts[3]));
}

#[test]
fn fltrust_keeps_the_global_model_when_nothing_is_trusted() {
    let c = combine(&updates(&UPDATES[1..3]), &REFERENCE).unwrap();
    assert_close(&c.delta, &[0.0, 0.0]);
    assert!(c.verdicts.iter().all(|v| v.verdict == R));
    assert!(combine(&updates(&UPDATES), &[1.0]).is_err());
}

#[test]
fn fltrust_root_set_is_a_seeded_sample_of_the_validation_split() {
    let a = root_indices(3, 50, 10);
    assert_eq!(a, root_indices(3, 50, 10));
    assert_ne!(a, root_indices(4, 50, 10));
    assert!(a.len() == 10 && a.windows(2).all(|w| w[0] < w[1]) && a[9] < 50);
    assert_eq!(root_indices(3, 5, 100), [0, 1, 2, 3, 4]);
}

/// Training moves the weights by (3, 4), and only on a 3-image root set.
struct Reference;
impl CnnBackend for Reference {
    fn train(
        &self,
        _: &TrainCtx,
        start: &[f32],
        data: &ImageSet,
    ) -> Result<TrainOutcome, PluginError> {
        if data.len() != 3 {
            return Err(PluginError::invalid(format!(
                "root set of {} images",
                data.len()
            )));
        }
        let weights = start.iter().zip(REFERENCE).map(|(w, r)| w + r).collect();
        Ok(TrainOutcome {
            weights,
            train_loss: 0.0,
        })
    }
    fn predict(&self, _: &ModelSpec, _: &[f32], _: &ImageSet) -> Result<Vec<f32>, PluginError> {
        Err(PluginError::invalid("fltrust must not predict"))
    }
    fn device(&self) -> String {
        "mock".into()
    }
}

#[test]
fn fltrust_trains_the_reference_on_the_root_set() {
    let mut d = FlTrust::new(Params { root_size: 3 }).unwrap();
    assert!(d.caps().needs_plaintext && d.caps().produces_verdicts);
    let global = [1.0, -1.0];
    let agg = with_ctx(&global, setting(4, 1), &Reference, &images(5), |ctx| {
        d.aggregate(ctx, &updates(&UPDATES))
    })
    .unwrap();
    let want = [1.0 + 5.0 / 3.0, -1.0 + 40.0 / 9.0];
    assert!(
        (agg.model().unwrap()[0] - want[0]).abs() < 1e-6
            && (agg.model().unwrap()[1] - want[1]).abs() < 1e-6
    );
    assert_eq!(
        agg.verdicts.iter().map(|v| v.verdict).collect::<Vec<_>>(),
        [A, R, R, A]
    );
    let empty = with_ctx(&global, setting(4, 1), &Reference, &images(0), |ctx| {
        d.aggregate(ctx, &updates(&UPDATES))
    });
    assert!(
        empty
            .unwrap_err()
            .to_string()
            .contains("validation split is empty")
    );
}
