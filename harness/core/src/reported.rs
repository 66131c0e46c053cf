//! The class histograms that hospitals report with their updates, for verification rules that
//! judge a model on its hospital's classes. An honest hospital reports its true training
//! histogram; a malicious one reports what `adversary.report-classes` says: the truth, or the
//! lie that best serves it against such a rule (every sample claimed as the class its submitted
//! model recalls best on its own data, which needs nothing but that data and model).

use securefl_api::{ClientUpdate, CnnBackend, ImageSet, ModelSpec, PluginError};

use crate::config::ReportClasses;
use crate::engine::Experiment;

/// For each update, the histogram its hospital reports in round `r`.
pub(crate) fn reported(
    exp: &Experiment,
    r: usize,
    global: &[f32],
    updates: &[ClientUpdate],
) -> Result<Vec<Vec<u64>>, PluginError> {
    updates
        .iter()
        .map(|u| {
            let truth = &exp.class_counts[u.hospital];
            let lies = exp.cfg.adversary.report_classes == ReportClasses::Best
                && exp.malicious.contains(&u.hospital)
                && r >= exp.cfg.adversary.from_round;
            if !lies {
                return Ok(truth.clone());
            }
            let model: Vec<f32> = global.iter().zip(&u.delta).map(|(g, d)| g + d).collect();
            let own = exp.dataset.train.subset(&exp.shards[u.hospital]);
            let best = best_class(exp.plugins.backend.as_ref(), &exp.spec, &model, &own)?;
            let mut claim = vec![0; truth.len()];
            claim[best] = truth.iter().sum();
            Ok(claim)
        })
        .collect()
}

/// The class with the highest recall of `model` on `data` (the lowest index on ties; classes
/// absent from `data` are never chosen).
fn best_class(
    backend: &dyn CnnBackend,
    spec: &ModelSpec,
    model: &[f32],
    data: &ImageSet,
) -> Result<usize, PluginError> {
    let logits = backend.predict(spec, model, data)?;
    let (mut hits, mut seen) = (vec![0u64; spec.classes], vec![0u64; spec.classes]);
    for (row, &label) in logits.chunks(spec.classes).zip(&data.labels) {
        let predicted = row
            .iter()
            .enumerate()
            .fold(0, |best, (c, &v)| if v > row[best] { c } else { best });
        let label = usize::from(label);
        seen[label] += 1;
        hits[label] += u64::from(predicted == label);
    }
    let recall = |c: usize| hits[c] as f64 / seen[c].max(1) as f64;
    Ok((0..spec.classes)
        .filter(|&c| seen[c] > 0)
        .fold(None, |best: Option<usize>, c| match best {
            Some(b) if recall(b) >= recall(c) => Some(b),
            _ => Some(c),
        })
        .unwrap_or(0))
}
