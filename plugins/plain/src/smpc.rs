//! SMPC `none`: models are held and averaged in the clear.

use securefl_api::{
    CostRecord, Metered, ModelSpec, PluginError, SecurityModel, ShareId, SmpcCaps, SmpcCtx,
    SmpcProtocol,
};

/// Holds submitted models in the clear; has no encrypted inference.
#[derive(Debug, Default, Clone)]
pub struct Plaintext {
    models: Vec<Vec<f32>>,
}

impl SmpcProtocol for Plaintext {
    fn caps(&self) -> SmpcCaps {
        SmpcCaps {
            parties: 0,
            security: SecurityModel::Plaintext,
            honest_majority: false,
            dealer: false,
            inference: false,
        }
    }

    fn begin_round(&mut self, _ctx: &SmpcCtx) {
        self.models.clear();
    }

    fn share_models(
        &mut self,
        _ctx: &SmpcCtx,
        _spec: &ModelSpec,
        models: &[&[f32]],
    ) -> Result<Metered<Vec<ShareId>>, PluginError> {
        let first = self.models.len();
        self.models.extend(models.iter().map(|m| m.to_vec()));
        let ids = (first..self.models.len()).map(ShareId).collect();
        // Nothing is secret: every model is handed over in the clear.
        let mut cost = CostRecord::default();
        cost.open("model", models.len() as u64);
        Ok(Metered { value: ids, cost })
    }

    fn aggregate(
        &mut self,
        _ctx: &SmpcCtx,
        ids: &[ShareId],
        weights: &[f64],
    ) -> Result<Metered<Vec<f32>>, PluginError> {
        let total = securefl_api::smpc::check_weights("none", ids.len(), weights)?;
        let models = ids
            .iter()
            .map(|id| {
                self.models
                    .get(id.0)
                    .ok_or_else(|| PluginError::invalid(format!("smpc none: no model {}", id.0)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut sum = vec![0.0f64; models[0].len()];
        for (m, &w) in models.iter().zip(weights) {
            for (s, &v) in sum.iter_mut().zip(m.iter()) {
                *s += w * f64::from(v);
            }
        }
        let value = sum.into_iter().map(|s| (s / total) as f32).collect();
        let mut cost = CostRecord::default();
        cost.open("aggregate-model", 1);
        Ok(Metered { value, cost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use securefl_api::{Arch, ModelSpec};

    #[test]
    fn weighted_average_of_shared_models() {
        let mut p = Plaintext::default();
        let ctx = SmpcCtx {
            round: 1,
            validators: 3,
            seed: 0,
        };
        let spec = ModelSpec {
            arch: Arch::PaperCnn,
            in_channels: 1,
            classes: 2,
        };
        let ids = p
            .share_models(&ctx, &spec, &[&[5.0, 1.0], &[1.0, 9.0]])
            .unwrap()
            .value;
        let avg = p.aggregate(&ctx, &ids, &[1.0, 3.0]).unwrap();
        assert_eq!(avg.value, vec![2.0, 7.0]);
        // Nothing is sent; the average, like every model, is handed over in the clear.
        assert_eq!((avg.cost.bytes, avg.cost.rounds), (0, 0));
        assert_eq!(avg.cost.opened_cell(), "aggregate-model:1");
        assert!(p.aggregate(&ctx, &ids, &[1.0]).is_err());
        assert!(p.aggregate(&ctx, &ids, &[0.0, 0.0]).is_err());
        assert!(
            p.evaluate(
                &ctx,
                ids[0],
                securefl_api::DataId(0),
                &securefl_api::EvalQuery {
                    score: securefl_api::Score::Accuracy,
                    min_score: None,
                    floor_accuracy: None,
                    reveal_score: true,
                    reveal_predictions: false,
                    keep: false,
                }
            )
            .is_err()
        );
        p.begin_round(&ctx);
        assert!(
            p.aggregate(&ctx, &ids, &[1.0, 1.0]).is_err(),
            "shares are dropped between rounds"
        );
    }
}
