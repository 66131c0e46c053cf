//! What the blocks of a sound chain say, beyond their signatures: the shape a run writes
//! (`record.rs`), checked block by block.
//!
//! - Genesis (round 0) holds the key directory and the initial model's hash.
//! - Then, round by round with increasing round numbers, a verdict block (one commitment per
//!   hospital, each by its hospital, and at most one verdict per validator and hospital),
//!   optionally followed by the same round's aggregation block (the aggregation record and the
//!   new global model's hash). A round whose verdict block was not final has no blocks; one
//!   whose aggregation was not final has only its verdict block.
//! - With the run's `rounds.csv` ([`check_rounds`]), the rounds are contiguous: every round
//!   the table lists as final has its aggregation block, every round with an aggregation block
//!   is final there, and the ledger names no round the table does not.
//! - The aggregation record names the hospitals that a strict majority of the signed verdicts
//!   did not reject ([`super::finalized_verdicts`]), each once, in order, with a positive
//!   sample count; or nobody, and then the global model is the previous one, kept.

use securefl_api::{Transaction, TxKind, Verdict};

use super::block::Block;
use super::finalized_verdicts;

/// The state between blocks.
#[derive(Debug, Default)]
pub struct Rounds {
    /// Blocks seen.
    blocks: usize,
    /// The last round with blocks.
    round: u32,
    /// The hospitals the last verdict block's majority did not reject, until its aggregation.
    pending: Option<Vec<u32>>,
    /// The last recorded global-model hash.
    model: Vec<u8>,
    /// Rounds with an aggregation block (their model is the global model).
    pub aggregated: std::collections::BTreeSet<u32>,
    /// Rounds with any block.
    pub recorded: std::collections::BTreeSet<u32>,
}

impl Rounds {
    /// Checks the next block, given the key directory's hospital and validator counts.
    pub fn next(&mut self, b: &Block, hospitals: usize, validators: usize) -> Result<(), String> {
        let txs: Vec<Transaction> = b.txs.iter().map(|t| t.tx.clone()).collect();
        let kinds: Vec<TxKind> = txs.iter().map(|t| t.kind).collect();
        let round = b.header.round;
        let first = self.blocks == 0;
        self.blocks += 1;
        match kinds.as_slice() {
            [TxKind::KeyDirectory, TxKind::GlobalModel] if first && round == 0 => {
                self.model = hash_of(&txs[1])?;
                Ok(())
            }
            _ if first => Err("genesis must hold the key directory and the initial model".into()),
            [TxKind::Aggregation, TxKind::GlobalModel] => self.aggregation(round, &txs),
            _ => self.verdicts(round, &txs, hospitals, validators),
        }
    }

    fn verdicts(
        &mut self,
        round: u32,
        txs: &[Transaction],
        hospitals: usize,
        validators: usize,
    ) -> Result<(), String> {
        if round <= self.round {
            return Err(format!(
                "a verdict block of round {round} after round {}",
                self.round
            ));
        }
        let commitments: Vec<&Transaction> = txs
            .iter()
            .filter(|t| t.kind == TxKind::ModelCommitment)
            .collect();
        let authors: Vec<u32> = commitments.iter().map(|t| t.author).collect();
        if authors != (0..hospitals as u32).collect::<Vec<_>>() {
            return Err(format!(
                "commitments by hospitals {authors:?}, not one by each of {hospitals} in order"
            ));
        }
        if let Some(t) = commitments.iter().find(|t| t.payload.len() != 32) {
            return Err(format!("hospital {}'s commitment is not a hash", t.author));
        }
        let mut seen = std::collections::BTreeSet::new();
        for t in txs.iter().filter(|t| t.kind != TxKind::ModelCommitment) {
            let hospital = verdict_of(t, hospitals, validators)?;
            if !seen.insert((t.author, hospital)) {
                return Err(format!(
                    "validator {} judged hospital {hospital} twice",
                    t.author
                ));
            }
        }
        let decided = finalized_verdicts(txs, hospitals, validators);
        self.pending = Some(
            (0..hospitals as u32)
                .filter(|&h| decided[h as usize] != Verdict::Rejected)
                .collect(),
        );
        self.round = round;
        self.recorded.insert(round);
        Ok(())
    }

    fn aggregation(&mut self, round: u32, txs: &[Transaction]) -> Result<(), String> {
        let Some(accepted) = self.pending.take().filter(|_| round == self.round) else {
            return Err(format!(
                "an aggregation block of round {round} without that round's verdict block before it"
            ));
        };
        let averaged = aggregated(&txs[0].payload)?;
        let model = hash_of(&txs[1])?;
        if averaged.is_empty() {
            if model != self.model {
                return Err(
                    "no hospital averaged, but the global model is not the previous one".into(),
                );
            }
        } else if averaged != accepted {
            return Err(format!(
                "aggregates hospitals {averaged:?}, but the signed verdicts' majority accepted {accepted:?}"
            ));
        }
        self.model = model;
        self.aggregated.insert(round);
        Ok(())
    }
}

/// The hospital a verdict judges, checking its author, hospital and verdict name.
fn verdict_of(t: &Transaction, hospitals: usize, validators: usize) -> Result<u32, String> {
    if t.kind != TxKind::Verdict {
        return Err(format!("a {} in a verdict block", t.kind.as_str()));
    }
    if t.author as usize >= validators {
        return Err(format!("a verdict by validator {}", t.author));
    }
    let (h, name) = t
        .payload
        .split_first_chunk::<4>()
        .ok_or("a verdict without a hospital")?;
    let h = u32::from_le_bytes(*h);
    let known = [Verdict::Accepted, Verdict::Rejected, Verdict::NotApplicable]
        .iter()
        .any(|v| v.as_str().as_bytes() == name);
    if h as usize >= hospitals || !known {
        return Err(format!(
            "validator {}'s verdict on hospital {h} is not a verdict",
            t.author
        ));
    }
    Ok(h)
}

/// The hospitals of an aggregation record, each with a positive sample count, in order.
fn aggregated(payload: &[u8]) -> Result<Vec<u32>, String> {
    if !payload.len().is_multiple_of(12) {
        return Err("the aggregation record is not (hospital, samples) pairs".into());
    }
    let mut out: Vec<u32> = Vec::new();
    for pair in payload.chunks_exact(12) {
        let h = u32::from_le_bytes([pair[0], pair[1], pair[2], pair[3]]);
        let samples = u64::from_le_bytes(pair[4..].try_into().unwrap_or_default());
        if samples == 0 || out.last().is_some_and(|&l| l >= h) {
            return Err(format!(
                "the aggregation record lists hospital {h} out of order or without samples"
            ));
        }
        out.push(h);
    }
    Ok(out)
}

fn hash_of(t: &Transaction) -> Result<Vec<u8>, String> {
    if t.payload.len() == 32 {
        Ok(t.payload.clone())
    } else {
        Err(format!("the {} record is not a hash", t.kind.as_str()))
    }
}

/// Checks the ledger's rounds against the run's `rounds.csv` text (see the module docs).
pub fn check_rounds(rounds: &Rounds, csv: &str) -> Result<(), String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|c| *c == name)
            .ok_or_else(|| format!("no `{name}` column"))
    };
    let (r_col, f_col) = (col("round")?, col("consensus_finalized")?);
    let mut listed = std::collections::BTreeSet::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let round: u32 = cells
            .get(r_col)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("row {} has no round number", i + 1))?;
        if round as usize != i {
            return Err(format!(
                "row {} is round {round}: rounds are not contiguous",
                i + 1
            ));
        }
        listed.insert(round);
        let is_final = cells.get(f_col) == Some(&"true");
        if round > 0 && is_final != rounds.aggregated.contains(&round) {
            return Err(match is_final {
                true => format!(
                    "round {round} is final here, but the ledger has no aggregation block for it"
                ),
                false => format!("round {round} is not final here, but the ledger aggregated it"),
            });
        }
    }
    match rounds.recorded.iter().find(|r| !listed.contains(r)) {
        Some(r) => Err(format!(
            "the ledger records round {r}, which this table does not list"
        )),
        None => Ok(()),
    }
}
