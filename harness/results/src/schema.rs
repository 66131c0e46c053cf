//! The columns of every per-run result table, in the order they are written, with the kind a
//! typed copy (Parquet) gives each and its unit; the threat-model columns a sweep adds; and each
//! column's meaning, read from `results/README.md` (embedded at build time), so that the meaning
//! is written once. A test checks that the README documents exactly these columns, in order.
//!
//! Columns are only ever appended; a change of meaning or order bumps [`SCHEMA_VERSION`].

/// The result schema: recorded in every manifest (`[run] schema`) and every Parquet file.
pub const SCHEMA_VERSION: u32 = 7;

/// What a result-table column holds: the type a typed copy of the table (Parquet) gives it.
/// A CSV cannot tell (a float that happens to be integral is written without a decimal point,
/// and an empty column has no values at all), so the schema says it, never inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A signed 64-bit integer (counts, bytes, rounds, microseconds).
    Int,
    /// A 64-bit float (metrics, scores, norms; the `_s` wall-clock columns).
    Float,
    /// `true` or `false`.
    Bool,
    /// Text (names, verdicts, `;`-separated lists).
    Text,
}

/// The unit of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A federated round number, or a number of rounds.
    Round,
    /// An index (hospital, class).
    Index,
    /// A count of things (updates, messages, images, failures, heights).
    Count,
    /// Payload bytes.
    Bytes,
    /// Wall-clock seconds (the only values allowed to differ between runs of one config).
    Seconds,
    /// Simulated microseconds.
    Micros,
    /// A share in [0, 1] (accuracies, recalls, rates, AUC).
    Fraction,
    /// Mean cross-entropy, in nats.
    Nats,
    /// A Euclidean norm of model weights.
    Norm,
    /// A score whose unit depends on the defense.
    Score,
    /// `true` or `false`.
    Flag,
    /// Text: names, verdicts, `;`-separated lists.
    Text,
}

/// One column: its name, kind and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The header name.
    pub name: &'static str,
    /// The typed kind.
    pub kind: ColumnKind,
    /// The unit.
    pub unit: Unit,
}

/// One per-run table: its file name and columns in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The file in a run folder.
    pub file: &'static str,
    /// The columns, in the order written.
    pub columns: &'static [Column],
}

use Unit::{Bytes, Count, Flag, Fraction, Index, Micros, Nats, Norm, Round, Score, Seconds, Text};

const fn col(name: &'static str, unit: Unit) -> Column {
    let kind = match unit {
        Round | Index | Count | Bytes | Micros => ColumnKind::Int,
        Seconds | Fraction | Nats | Norm | Score => ColumnKind::Float,
        Flag => ColumnKind::Bool,
        Text => ColumnKind::Text,
    };
    Column { name, kind, unit }
}

/// `rounds.csv`: one row per round.
pub const ROUNDS: Table = Table {
    file: "rounds.csv",
    columns: &[
        col("round", Round),
        col("test_accuracy", Fraction),
        col("test_loss", Nats),
        col("test_balanced_accuracy", Fraction),
        col("test_auc", Fraction),
        col("accepted", Count),
        col("rejected", Count),
        col("smpc_bytes", Bytes),
        col("smpc_offline_bytes", Bytes),
        col("smpc_messages", Count),
        col("smpc_rounds", Count),
        col("smpc_max_party_bytes", Bytes),
        col("smpc_party_bytes", Text),
        col("consensus_finalized", Flag),
        col("consensus_latency_us", Micros),
        col("consensus_messages", Count),
        col("consensus_bytes", Bytes),
        col("consensus_rounds", Count),
        col("consensus_view_changes", Count),
        col("consensus_forks", Count),
        col("consensus_reorg_depth", Count),
        col("consensus_agreement_us", Micros),
        col("consensus_by_type", Text),
        col("aggregation_bytes", Bytes),
        col("aggregation_offline_bytes", Bytes),
        col("aggregation_messages", Count),
        col("aggregation_rounds", Count),
        col("aggregation_max_party_bytes", Bytes),
        col("aggregation_party_bytes", Text),
        col("train_s", Seconds),
        col("attack_s", Seconds),
        col("defense_s", Seconds),
        col("smpc_compute_s", Seconds),
        col("aggregation_compute_s", Seconds),
        col("consensus_s", Seconds),
        col("eval_s", Seconds),
        col("round_s", Seconds),
        col("backdoor_asr", Fraction),
        col("plaintext_updates", Flag),
        col("smpc_trunc_failures", Count),
        col("smpc_range_failures", Count),
        col("smpc_opened", Text),
        col("consensus_conflicts", Count),
        col("consensus_wrong_content", Count),
    ],
};

/// `clients.csv`: one row per round and hospital.
pub const CLIENTS: Table = Table {
    file: "clients.csv",
    columns: &[
        col("round", Round),
        col("hospital", Index),
        col("malicious", Flag),
        col("samples", Count),
        col("train_loss", Nats),
        col("update_norm", Norm),
        col("verdict", Text),
        col("verify_score", Score),
        col("verify_bytes", Bytes),
        col("verify_offline_bytes", Bytes),
        col("verify_messages", Count),
        col("verify_rounds", Count),
        col("verify_max_party_bytes", Bytes),
        col("verify_party_bytes", Text),
        col("train_s", Seconds),
        col("verify_compute_s", Seconds),
    ],
};

/// `detection.csv`: one row per run.
pub const DETECTION: Table = Table {
    file: "detection.csv",
    columns: &[
        col("judged", Count),
        col("malicious_updates", Count),
        col("true_positives", Count),
        col("false_negatives", Count),
        col("false_positives", Count),
        col("true_negatives", Count),
        col("tpr", Fraction),
        col("fpr", Fraction),
        col("precision", Fraction),
        col("first_attack_round", Round),
        col("first_rejection_round", Round),
        col("rounds_to_first_rejection", Round),
        col("final_accuracy", Fraction),
        col("final_backdoor_asr", Fraction),
    ],
};

/// `classes.csv`: one row per round and class.
pub const CLASSES: Table = Table {
    file: "classes.csv",
    columns: &[
        col("round", Round),
        col("class", Index),
        col("name", Text),
        col("support", Count),
        col("recall", Fraction),
    ],
};

/// Every per-run table, in the README's order.
pub const TABLES: [Table; 4] = [ROUNDS, CLIENTS, DETECTION, CLASSES];

/// The threat-model columns, from a run manifest's `[threat_model]`, that a sweep repeats on
/// every row of its merged tables.
pub const THREAT_COLUMNS: [Column; 4] = [
    col("threat_smpc", Text),
    col("threat_consensus", Text),
    col("threat_attacker", Text),
    col("threat_plaintext", Flag),
];

impl Table {
    /// The CSV header line (without a line break).
    pub fn header(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        names.join(",")
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column's meaning as `results/README.md` documents it under this table's heading.
    pub fn meaning(&self, name: &str) -> Option<String> {
        readme::documented(README, self.file)
            .into_iter()
            .find(|(names, _)| names.iter().any(|n| n == name))
            .map(|(_, meaning)| meaning)
    }
}

/// The kind of a column of any per-run table or a threat-model column; `None` for any other
/// name. A name in several tables has one kind in all of them.
pub fn column_kind(name: &str) -> Option<ColumnKind> {
    TABLES
        .iter()
        .flat_map(|t| t.columns)
        .chain(&THREAT_COLUMNS)
        .find(|c| c.name == name)
        .map(|c| c.kind)
}

/// `results/README.md`, embedded: the one place meanings are written.
pub const README: &str = include_str!("../../../results/README.md");

pub mod readme {
    //! Reading the column tables of `results/README.md`.

    /// The rows of the column table under the heading that names `file` (`## \`rounds.csv\``):
    /// each row's backticked column names (one row may document several) and its meaning.
    pub fn documented(readme: &str, file: &str) -> Vec<(Vec<String>, String)> {
        let heading = format!("## `{file}`");
        let mut rows = Vec::new();
        let mut inside = false;
        for line in readme.lines() {
            if line.starts_with("## ") {
                inside = line.starts_with(&heading);
                continue;
            }
            if !inside || !line.starts_with("| `") {
                continue;
            }
            let mut cells = line.trim_matches('|').splitn(2, " | ");
            let (Some(names), Some(meaning)) = (cells.next(), cells.next()) else {
                continue;
            };
            let names = names
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            rows.push((
                names,
                meaning.trim().trim_end_matches('|').trim().to_owned(),
            ));
        }
        rows
    }
}
