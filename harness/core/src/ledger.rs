//! The transactions a round records: model commitments, verdicts, the aggregation and the new
//! global model's hash (blake2b-256 of the flat little-endian f32 weights).

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use securefl_api::{ClientVerdict, Transaction, TxKind};

/// blake2b-256 of flat weights, as little-endian f32 bytes.
pub fn model_hash(weights: &[f32]) -> [u8; 32] {
    let mut h = Blake2b::<U32>::new();
    for w in weights {
        h.update(w.to_le_bytes());
    }
    h.finalize().into()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The round's transactions, in ledger order.
pub fn round_transactions(
    round: usize,
    models: &[Vec<f32>],
    verdicts: &[ClientVerdict],
    global: &[f32],
) -> Vec<Transaction> {
    let round = round as u32;
    let mut txs: Vec<Transaction> = models
        .iter()
        .enumerate()
        .map(|(h, m)| Transaction {
            kind: TxKind::ModelCommitment,
            round,
            author: h as u32,
            payload: model_hash(m).to_vec(),
        })
        .collect();
    txs.extend(verdicts.iter().map(|v| Transaction {
        kind: TxKind::Verdict,
        round,
        author: v.hospital as u32,
        payload: v.verdict.as_str().as_bytes().to_vec(),
    }));
    let accepted: Vec<u8> = verdicts
        .iter()
        .flat_map(|v| (v.hospital as u32).to_le_bytes())
        .collect();
    txs.push(Transaction {
        kind: TxKind::Aggregation,
        round,
        author: 0,
        payload: accepted,
    });
    txs.push(Transaction {
        kind: TxKind::GlobalModel,
        round,
        author: 0,
        payload: model_hash(global).to_vec(),
    });
    txs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_every_weight() {
        let a = model_hash(&[1.0, 2.0]);
        assert_eq!(a, model_hash(&[1.0, 2.0]));
        assert_ne!(a, model_hash(&[1.0, 2.000_001]));
        assert_eq!(hex(&[0, 171]), "00ab");
    }
}
