//! The rows of the result tables and their CSV form.
//!
//! The columns are the result contract's (`securefl_results::schema`, documented in
//! `results/README.md`, schema [`SCHEMA_VERSION`]); columns ending in `_s` are wall-clock seconds
//! and are the only ones allowed to differ between two runs of the same config.

use std::fmt::Write as _;

use securefl_api::{CostRecord, Verdict};

use crate::metrics::Metrics;

use securefl_results::{CLASSES, CLIENTS, ROUNDS};
pub use securefl_results::{ColumnKind, SCHEMA_VERSION, column_kind, csv_text, without_timing};

/// Wall-clock seconds per phase of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseTimes {
    /// Local training (all hospitals, in parallel).
    pub train: f64,
    /// Model poisoning and pre-aggregation.
    pub attack: f64,
    /// Sharing, verification and aggregation.
    pub defense: f64,
    /// Ledger consensus.
    pub consensus: f64,
    /// Test-set evaluation.
    pub eval: f64,
    /// The whole round.
    pub total: f64,
}

/// One row of `rounds.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundRow {
    /// Round number (0 is the initial model).
    pub round: usize,
    /// The new global model on the test split.
    pub test: Metrics,
    /// Updates accepted by the defense.
    pub accepted: usize,
    /// Updates rejected by the defense.
    pub rejected: usize,
    /// SMPC cost of sharing, verification and aggregation.
    pub smpc: CostRecord,
    /// SMPC cost of the secure aggregation alone.
    pub aggregation: CostRecord,
    /// True when the round's block is final.
    pub finalized: bool,
    /// Simulated consensus latency.
    pub consensus_latency_us: u64,
    /// Consensus messages and bytes.
    pub consensus: CostRecord,
    /// Consensus view changes.
    pub view_changes: u64,
    /// Forks seen by consensus.
    pub forks: u64,
    /// Deepest reorganisation of a node's best chain.
    pub reorg_depth: u64,
    /// Heights at which honest validators finalized different blocks, first seen this round.
    pub conflicts: u64,
    /// Validators holding final a block of this round's records with other content.
    pub wrong_content: u64,
    /// Simulated time until the verdict block was final (honest validators agree on the
    /// accepted set); `None` when it was not final.
    pub agreement_us: Option<u64>,
    /// Consensus messages and bytes by type.
    pub consensus_by_type: Vec<(String, u64, u64)>,
    /// Wall-clock phases.
    pub times: PhaseTimes,
    /// Share of the trigger set the new global model classifies as the backdoor target, when
    /// the attack plants a trigger.
    pub backdoor_asr: Option<f64>,
    /// True when updates were read in the clear (a plaintext defense or any pre-aggregator).
    pub plaintext_updates: bool,
}

/// One row of `clients.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientRow {
    /// Round number.
    pub round: usize,
    /// Hospital index.
    pub hospital: usize,
    /// True when the hospital attacked in this round (ground truth).
    pub malicious: bool,
    /// Training images.
    pub samples: usize,
    /// Mean training loss of the last local epoch.
    pub train_loss: f32,
    /// Euclidean norm of the submitted update.
    pub update_norm: f64,
    /// The defense's verdict.
    pub verdict: Verdict,
    /// The score behind the verdict.
    pub verify_score: Option<f64>,
    /// Local training wall time.
    pub train_s: f64,
    /// What verifying this hospital's model cost (zero for defenses that do not verify).
    pub verify: CostRecord,
}

/// Messages and bytes by type as one cell, `type:messages:bytes;...` in name order.
fn by_type_cell(by_type: &[(String, u64, u64)]) -> String {
    by_type
        .iter()
        .map(|(k, n, b)| format!("{k}:{n}:{b}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// `rounds.csv`.
pub fn rounds_csv(rows: &[RoundRow]) -> String {
    let mut out = format!("{}\n", ROUNDS.header());
    for r in rows {
        let (t, m, c, a) = (&r.times, &r.test, &r.smpc, &r.aggregation);
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},",
            r.round,
            m.accuracy,
            m.loss,
            m.balanced_accuracy,
            opt(m.auc),
            r.accepted,
            r.rejected
        );
        let _ = write!(out, "{},", cost_cells(c));
        let k = &r.consensus;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},",
            r.finalized,
            r.consensus_latency_us,
            k.messages,
            k.bytes,
            k.rounds,
            r.view_changes,
            r.forks,
            r.reorg_depth,
            opt(r.agreement_us),
            by_type_cell(&r.consensus_by_type)
        );
        let _ = write!(out, "{},", cost_cells(a));
        let secs = [
            t.train,
            t.attack,
            t.defense,
            c.compute.as_secs_f64(),
            a.compute.as_secs_f64(),
            t.consensus,
            t.eval,
            t.total,
        ];
        let _ = write!(out, "{},", secs.map(|v| format!("{v:.3}")).join(","));
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{}",
            opt(r.backdoor_asr),
            r.plaintext_updates,
            c.trunc_failures,
            c.range_failures,
            c.opened_cell(),
            r.conflicts,
            r.wrong_content
        );
    }
    out
}

/// The cost columns `bytes,offline_bytes,messages,rounds,max_party_bytes,party_bytes`.
fn cost_cells(c: &CostRecord) -> String {
    format!(
        "{},{},{},{},{},{}",
        c.bytes,
        c.offline_bytes,
        c.messages,
        c.rounds,
        c.max_party_bytes(),
        c.party_bytes_cell()
    )
}

/// `clients.csv`.
pub fn clients_csv(rows: &[ClientRow]) -> String {
    let mut out = format!("{}\n", CLIENTS.header());
    for r in rows {
        let v = &r.verify;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},",
            r.round,
            r.hospital,
            r.malicious,
            r.samples,
            r.train_loss,
            r.update_norm,
            r.verdict.as_str(),
            opt(r.verify_score)
        );
        let _ = write!(out, "{},", cost_cells(v));
        let _ = writeln!(out, "{:.3},{:.3}", r.train_s, v.compute.as_secs_f64());
    }
    out
}

/// `classes.csv`: recall per class and round.
pub fn classes_csv(rows: &[RoundRow], names: &[String]) -> String {
    let mut out = format!("{}\n", CLASSES.header());
    for r in rows {
        for (c, name) in names.iter().enumerate() {
            let _ = writeln!(
                out,
                "{},{c},{},{},{}",
                r.round,
                csv_text(name),
                r.test.support[c],
                opt(r.test.recall[c])
            );
        }
    }
    out
}

/// An empty field for a missing value.
fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_rows_have_the_same_width() {
        let row = ClientRow {
            round: 1,
            hospital: 0,
            malicious: false,
            samples: 3,
            train_loss: 0.5,
            update_norm: 1.0,
            verdict: Verdict::NotApplicable,
            verify_score: None,
            train_s: 0.1,
            verify: CostRecord::default(),
        };
        let csv = clients_csv(&[row]);
        let widths: Vec<usize> = csv.lines().map(|l| l.split(',').count()).collect();
        assert_eq!(widths, [16, 16]);
    }

    #[test]
    fn failure_counters_openings_and_conflicts_reach_the_round_rows() {
        let mut row = crate::round::empty_row(1, Metrics::default());
        row.smpc.trunc_failures = 3;
        row.smpc.range_failures = 2;
        row.smpc.open("range-bit", 11);
        row.smpc.open("pass-bit", 10);
        row.conflicts = 4;
        row.wrong_content = 2;
        let csv = rounds_csv(&[row]);
        let (header, line) = csv.split_once('\n').unwrap();
        assert!(
            header.ends_with(
                ",smpc_trunc_failures,smpc_range_failures,smpc_opened,consensus_conflicts,consensus_wrong_content"
            )
        );
        assert!(
            line.trim_end()
                .ends_with(",3,2,range-bit:11;pass-bit:10,4,2"),
            "{line}"
        );
        assert_eq!(column_kind("consensus_conflicts"), Some(ColumnKind::Int));
        assert_eq!(
            column_kind("consensus_wrong_content"),
            Some(ColumnKind::Int)
        );
        assert_eq!(
            header.split(',').count(),
            line.trim_end().split(',').count()
        );
        assert_eq!(column_kind("smpc_opened"), Some(ColumnKind::Text));
        assert_eq!(column_kind("smpc_range_failures"), Some(ColumnKind::Int));
    }
}
