//! The attacker's copy of `smpc-verify`'s neighbour rules: Krum's score (Blanchard et al.,
//! NeurIPS 2017) of every submission, with the colluders' copies of the candidate among them, and
//! the bound (`neighbour-bound`) or Multi-Krum's rank selection (`neighbour-rank`) on it.
//!
//! Exact in omniscient mode: the benign updates are the round's, the `m` colluders submit the
//! candidate (so their distances to each other are 0), and `k = n − m − 2` as the gate takes it
//! with the run's malicious count `m`. The benign-to-benign distances are computed once per
//! round; each candidate costs one distance to each benign update.

/// The benign updates' squared distances and what the gate's neighbour rules need.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Neighbours {
    /// `d[i][j] = ‖u_i − u_j‖²` over the benign updates.
    benign: Vec<Vec<f64>>,
    /// Colluders submitting the candidate.
    colluders: usize,
    /// The bound's factor (0: off).
    factor: f64,
    /// Whether the gate drops the `colluders` highest scores.
    rank: bool,
    /// Safety factor (≤ 1) on every comparison the candidate must win.
    slack: f64,
}

/// Squared Euclidean distance, in `f64`.
fn dist2(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum()
}

/// The sum of the `k` smallest of `row`.
fn nearest_sum(mut row: Vec<f64>, k: usize) -> f64 {
    row.sort_by(f64::total_cmp);
    row.iter().take(k).sum()
}

impl Neighbours {
    /// The rules over `benign` updates with `colluders` copies of each candidate.
    pub(crate) fn new(
        benign: &[&[f32]],
        colluders: usize,
        factor: f64,
        rank: bool,
        slack: f64,
    ) -> Self {
        let benign = benign
            .iter()
            .map(|a| benign.iter().map(|b| dist2(a, b)).collect())
            .collect();
        Self {
            benign,
            colluders,
            factor,
            rank,
            slack,
        }
    }

    /// Krum's score of every benign update, then of the candidate, given the candidate's squared
    /// distance to each benign update.
    pub(crate) fn scores(&self, to_candidate: &[f64]) -> (Vec<f64>, f64) {
        let (b, m) = (self.benign.len(), self.colluders);
        let n = b + m;
        let k = n.saturating_sub(m + 2).clamp(1, n.saturating_sub(1).max(1));
        let benign = (0..b)
            .map(|i| {
                let mut row: Vec<f64> = (0..b)
                    .filter(|&j| j != i)
                    .map(|j| self.benign[i][j])
                    .collect();
                row.extend(std::iter::repeat_n(to_candidate[i], m));
                nearest_sum(row, k)
            })
            .collect();
        let mut row = vec![0.0; m.saturating_sub(1)];
        row.extend_from_slice(to_candidate);
        (benign, nearest_sum(row, k))
    }

    /// Whether a candidate passes every rule the gate runs; rules apply from four submissions,
    /// as in the gate.
    pub(crate) fn ok(&self, benign: &[&[f32]], candidate: &[f32]) -> bool {
        if self.benign.len() + self.colluders < 4 || self.colluders == 0 {
            return true;
        }
        let to: Vec<f64> = benign.iter().map(|u| dist2(u, candidate)).collect();
        let (scores, own) = self.scores(&to);
        let bound_ok = self.factor == 0.0 || {
            let mut all = scores.clone();
            all.extend(std::iter::repeat_n(own, self.colluders));
            all.sort_by(|a, b| b.total_cmp(a));
            let upper = all[all.len().div_ceil(2) - 1];
            own <= self.slack * self.factor * self.factor * upper
        };
        // Exactly `colluders` scores are dropped: all of them must be benign ones.
        let rank_ok = !self.rank
            || scores.iter().filter(|&&s| own <= self.slack * s).count() >= self.colluders;
        bound_ok && rank_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Vec<f32>> {
        // Four benign updates on a line at 0, 1, 2, 3.
        (0..4).map(|i| vec![i as f32, 0.0]).collect()
    }

    #[test]
    fn the_candidates_copies_sit_at_distance_zero() {
        let rows = rows();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        // n = 6, m = 2, k = 2: the candidate's nearest are its copy (0) and the closest benign.
        let nb = Neighbours::new(&refs, 2, 0.0, true, 1.0);
        let to: Vec<f64> = refs.iter().map(|u| dist2(u, &[10.0, 0.0])).collect();
        let (benign, own) = nb.scores(&to);
        assert_eq!(own, 49.0);
        // Benign 0: distances 1, 4, 9 and two copies at 100: the two nearest sum to 5.
        assert_eq!(benign, [5.0, 2.0, 2.0, 5.0]);
    }

    #[test]
    fn rank_needs_as_many_higher_benign_scores_as_colluders() {
        let rows = rows();
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let nb = Neighbours::new(&refs, 2, 0.0, true, 1.0);
        // At 1.5 the candidate's own score is 0.25 + 0 = 0.25, below every benign score.
        assert!(nb.ok(&refs, &[1.5, 0.0]));
        assert!(!nb.ok(&refs, &[10.0, 0.0]));
        let bound = Neighbours::new(&refs, 2, 2.0, false, 1.0);
        assert!(bound.ok(&refs, &[1.5, 0.0]));
        assert!(!bound.ok(&refs, &[10.0, 0.0]));
    }

    #[test]
    fn no_rule_binds_below_four_submissions() {
        let rows = rows();
        let refs: Vec<&[f32]> = rows[..2].iter().map(Vec::as_slice).collect();
        let nb = Neighbours::new(&refs, 1, 2.0, true, 1.0);
        assert!(nb.ok(&refs, &[100.0, 0.0]));
    }
}
