//! Hospital updates and the verdicts defenses give them.

use crate::CostRecord;

/// One hospital's contribution to a round.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientUpdate {
    /// Hospital index, `0..hospitals`.
    pub hospital: usize,
    /// Training images the update was computed on (the FedAvg weight).
    pub samples: usize,
    /// Local model minus the round's global model, in the flat layout of [`crate::model`].
    pub delta: Vec<f32>,
    /// Mean training loss of the last local epoch.
    pub train_loss: f32,
}

impl ClientUpdate {
    /// Euclidean norm of the update.
    pub fn norm(&self) -> f64 {
        self.delta
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt()
    }
}

/// A defense's decision about one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The update was used.
    Accepted,
    /// The update was excluded.
    Rejected,
    /// The defense does not decide per update (median, trimmed mean, plain FedAvg).
    NotApplicable,
}

impl Verdict {
    /// The value written to `clients.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::NotApplicable => "n/a",
        }
    }
}

/// A verdict with the score it was based on.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientVerdict {
    /// Hospital index.
    pub hospital: usize,
    /// The decision.
    pub verdict: Verdict,
    /// The score behind it (e.g. encrypted validation accuracy), when there is one.
    pub score: Option<f64>,
    /// What producing this verdict cost (encrypted verification), zero when nothing was run.
    pub cost: CostRecord,
}
