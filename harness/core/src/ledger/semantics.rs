//! What the blocks of a sound chain say, beyond their signatures: the shape a run writes
//! (`record.rs`), checked block by block.
//!
//! - Genesis (round 0) holds the key directory and the initial model's hash.
//! - Then, round by round with increasing round numbers, a verdict block (one commitment per
//!   hospital, each by its hospital, and at most one verdict per validator and hospital),
//!   optionally followed by the same round's aggregation block (the aggregation record and the
//!   new global model's hash). A round whose verdict block was not final has no blocks; one
//!   whose aggregation was not final has only its verdict block.
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
