//! Detection metrics of a run: the defense's verdicts against the ground truth.
//!
//! A rejected malicious update is a true positive, an accepted one a false negative; a rejected
//! honest update is a false positive. Only verdict-producing defenses count: with `n/a`
//! verdicts (median, trimmed mean, FedAvg) every rate is a missing value, never a made-up one.
//! `detection.csv` is one row; its columns are documented in `results/README.md`.

use std::fmt::Write as _;

use securefl_api::Verdict;

use crate::records::{ClientRow, RoundRow};

/// The confusion counts and rates of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Detection {
    /// Updates with an accepted/rejected verdict.
    pub judged: usize,
    /// Malicious updates submitted (whatever the defense).
    pub malicious: usize,
    /// Malicious updates rejected.
    pub true_positives: usize,
    /// Malicious updates accepted.
    pub false_negatives: usize,
    /// Honest updates rejected.
    pub false_positives: usize,
    /// Honest updates accepted.
    pub true_negatives: usize,
    /// First round in which a malicious update was rejected.
    pub first_rejection: Option<usize>,
    /// First round in which a malicious update was submitted.
    pub first_attack: Option<usize>,
    /// Test accuracy of the final global model.
    pub final_accuracy: f64,
    /// Backdoor success rate of the final global model, when the attack plants a trigger.
    pub final_asr: Option<f64>,
}

impl Detection {
    /// Summarizes a run's rows.
    pub fn of(clients: &[ClientRow], rounds: &[RoundRow]) -> Self {
        let mut d = Self::default();
        for c in clients {
            if c.malicious {
                d.malicious += 1;
                d.first_attack.get_or_insert(c.round);
            }
            match (c.verdict, c.malicious) {
                (Verdict::NotApplicable, _) => continue,
                (Verdict::Rejected, true) => {
                    d.true_positives += 1;
                    d.first_rejection.get_or_insert(c.round);
                }
                (Verdict::Accepted, true) => d.false_negatives += 1,
                (Verdict::Rejected, false) => d.false_positives += 1,
                (Verdict::Accepted, false) => d.true_negatives += 1,
            }
            d.judged += 1;
        }
        if let Some(last) = rounds.last() {
            d.final_accuracy = last.test.accuracy;
            d.final_asr = last.backdoor_asr;
        }
        d
    }

    /// Rejected share of the judged malicious updates.
    pub fn tpr(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Rejected share of the judged honest updates.
    pub fn fpr(&self) -> Option<f64> {
        ratio(
            self.false_positives,
            self.false_positives + self.true_negatives,
        )
    }

    /// Malicious share of the rejected updates.
    pub fn precision(&self) -> Option<f64> {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// Rounds from the first attack to the first rejection of a malicious update (0 when the
    /// first attack was caught at once).
    pub fn rounds_to_first_rejection(&self) -> Option<usize> {
        Some(self.first_rejection? - self.first_attack?)
    }
}

fn ratio(num: usize, den: usize) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// `detection.csv`: one header line and one row.
pub fn detection_csv(d: &Detection) -> String {
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let opt_n = |v: Option<usize>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut out = format!("{}\n", securefl_results::DETECTION.header());
    let _ = writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        d.judged,
        d.malicious,
        d.true_positives,
        d.false_negatives,
        d.false_positives,
        d.true_negatives,
        opt(d.tpr()),
        opt(d.fpr()),
        opt(d.precision()),
        opt_n(d.first_attack),
        opt_n(d.first_rejection),
        opt_n(d.rounds_to_first_rejection()),
        d.final_accuracy,
        opt(d.final_asr)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::round::empty_row;
    use securefl_api::CostRecord;

    fn client(round: usize, malicious: bool, verdict: Verdict) -> ClientRow {
        ClientRow {
            round,
            hospital: 0,
            malicious,
            samples: 1,
            train_loss: 0.0,
            update_norm: 0.0,
            verdict,
            verify_score: None,
            train_s: 0.0,
            verify: CostRecord::default(),
        }
    }

    #[test]
    fn counts_verdicts_against_the_ground_truth() {
        use Verdict::{Accepted as A, Rejected as R};
        let rows = [
            client(1, true, A),
            client(1, false, A),
            client(2, true, R),
            client(2, false, R),
            client(3, true, R),
            client(3, false, A),
            client(3, false, A),
        ];
        let mut last = empty_row(3, Metrics::default());
        last.test.accuracy = 0.75;
        let d = Detection::of(&rows, &[last]);
        assert_eq!(
            (
                d.true_positives,
                d.false_negatives,
                d.false_positives,
                d.true_negatives
            ),
            (2, 1, 1, 3)
        );
        assert_eq!(d.tpr(), Some(2.0 / 3.0));
        assert_eq!(d.fpr(), Some(0.25));
        assert_eq!(d.precision(), Some(2.0 / 3.0));
        assert_eq!(d.rounds_to_first_rejection(), Some(1));
        let csv = detection_csv(&d);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0].split(',').count(), lines[1].split(',').count());
        assert!(lines[1].ends_with(",0.75,"), "{}", lines[1]);
    }

    #[test]
    fn defenses_without_verdicts_give_missing_rates() {
        let rows = [
            client(1, true, Verdict::NotApplicable),
            client(1, false, Verdict::NotApplicable),
        ];
        let d = Detection::of(&rows, &[]);
        assert_eq!((d.judged, d.malicious), (0, 1));
        assert_eq!((d.tpr(), d.fpr(), d.precision()), (None, None, None));
        assert_eq!(d.rounds_to_first_rejection(), None);
    }
}
