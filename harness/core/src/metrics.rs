//! Test-set metrics from logits: accuracy, loss, per-class recall and AUC.
//!
//! AUC follows MedMNIST's evaluator: for two classes, the ROC AUC of the positive class's
//! probability; for more, the mean of one-vs-rest AUCs over classes (macro average).

/// Metrics of one model on one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Fraction of images whose arg-max logit is their label.
    pub accuracy: f64,
    /// Mean cross-entropy (natural log).
    pub loss: f64,
    /// Mean of the per-class recalls over classes present in the split.
    pub balanced_accuracy: f64,
    /// ROC AUC (macro one-vs-rest for more than two classes); `None` if undefined.
    pub auc: Option<f64>,
    /// Recall per class (`None` for a class absent from the split).
    pub recall: Vec<Option<f64>>,
    /// Images per class.
    pub support: Vec<usize>,
}

/// Computes the metrics of row-major `logits` `(labels.len(), classes)`.
pub fn evaluate(logits: &[f32], labels: &[u8], classes: usize) -> Metrics {
    let probs: Vec<Vec<f64>> = logits.chunks(classes).map(softmax).collect();
    let mut support = vec![0usize; classes];
    let mut hits = vec![0usize; classes];
    let mut loss = 0.0;
    for (p, &label) in probs.iter().zip(labels) {
        let l = usize::from(label);
        support[l] += 1;
        hits[l] += usize::from(argmax(p) == l);
        loss -= p[l].max(f64::MIN_POSITIVE).ln();
    }
    let n = labels.len().max(1) as f64;
    let recall: Vec<Option<f64>> = (0..classes)
        .map(|c| (support[c] > 0).then(|| hits[c] as f64 / support[c] as f64))
        .collect();
    let present: Vec<f64> = recall.iter().flatten().copied().collect();
    Metrics {
        accuracy: hits.iter().sum::<usize>() as f64 / n,
        loss: loss / n,
        balanced_accuracy: present.iter().sum::<f64>() / present.len().max(1) as f64,
        auc: auc(&probs, labels, classes),
        recall,
        support,
    }
}

fn softmax(row: &[f32]) -> Vec<f64> {
    let max = row
        .iter()
        .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
    let e: Vec<f64> = row.iter().map(|&v| (f64::from(v) - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

fn argmax(p: &[f64]) -> usize {
    // The first maximum wins, as in PyTorch's argmax.
    p.iter()
        .enumerate()
        .fold(0, |best, (i, &v)| if v > p[best] { i } else { best })
}

fn auc(probs: &[Vec<f64>], labels: &[u8], classes: usize) -> Option<f64> {
    let one_vs_rest = |c: usize| {
        let scores: Vec<(f64, bool)> = probs
            .iter()
            .zip(labels)
            .map(|(p, &l)| (p[c], usize::from(l) == c))
            .collect();
        binary_auc(&scores)
    };
    if classes == 2 {
        return one_vs_rest(1);
    }
    let aucs: Vec<f64> = (0..classes).filter_map(one_vs_rest).collect();
    (!aucs.is_empty()).then(|| aucs.iter().sum::<f64>() / aucs.len() as f64)
}

/// Mann–Whitney AUC with average ranks for ties; `None` without both positives and negatives.
pub fn binary_auc(scores: &[(f64, bool)]) -> Option<f64> {
    let pos = scores.iter().filter(|s| s.1).count();
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..]
            .iter()
            .position(|s| s.0.total_cmp(&sorted[i].0).is_ne())
            .map_or(sorted.len(), |k| i + k);
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += avg_rank * sorted[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_loss_and_recall_by_hand() {
        // Three images, two classes: predictions 1, 0, 1; labels 1, 1, 0.
        let logits = [0.0, 1.0, 2.0, 0.0, 0.0, 3.0];
        let m = evaluate(&logits, &[1, 1, 0], 2);
        assert!((m.accuracy - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(m.recall, vec![Some(0.0), Some(0.5)]);
        assert_eq!(m.support, vec![1, 2]);
        assert!((m.balanced_accuracy - 0.25).abs() < 1e-12);
        let ce = |z: [f64; 2], l: usize| -(z[l].exp() / (z[0].exp() + z[1].exp())).ln();
        let want = (ce([0.0, 1.0], 1) + ce([2.0, 0.0], 1) + ce([0.0, 3.0], 0)) / 3.0;
        assert!((m.loss - want).abs() < 1e-12);
    }

    #[test]
    fn auc_by_hand_with_ties() {
        assert_eq!(
            binary_auc(&[(0.1, false), (0.4, true), (0.35, false), (0.8, true)]),
            Some(1.0)
        );
        assert_eq!(binary_auc(&[(0.5, false), (0.5, true)]), Some(0.5));
        // Positives 0.3, 0.7; negatives 0.5, 0.1: pairs won 3 of 4.
        assert_eq!(
            binary_auc(&[(0.3, true), (0.7, true), (0.5, false), (0.1, false)]),
            Some(0.75)
        );
        assert_eq!(binary_auc(&[(0.3, true)]), None);
    }

    #[test]
    fn auc_terminates_on_nan_scores() {
        let auc = binary_auc(&[
            (f64::NAN, true),
            (f64::NAN, false),
            (0.2, true),
            (0.1, false),
        ]);
        assert!(auc.is_some());
    }

    #[test]
    fn multi_class_auc_is_the_macro_one_vs_rest_mean() {
        // A perfect classifier over three classes.
        let logits = [5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 5.0];
        let m = evaluate(&logits, &[0, 1, 2], 3);
        assert_eq!(m.auc, Some(1.0));
        assert_eq!(m.accuracy, 1.0);
    }
}
