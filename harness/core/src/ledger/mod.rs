//! The ledger: the transactions a round records (model commitments, verdicts, the aggregation
//! and the new global model's hash, blake2b-256 of the flat little-endian f32 weights), signed
//! with ed25519 keys derived from the run seed ([`keys`]), in blocks chained by blake2b with a
//! Merkle root of their transactions ([`block`], [`chain`]), appended to `ledger.bin` in the
//! run folder ([`store`]), and checked ([`verify`]) or printed ([`show`]) by `securefl ledger`.

pub mod block;
pub mod chain;
pub mod codec;
pub mod keys;
pub mod show;
pub mod store;
pub mod verify;

pub use block::Block;
pub use chain::Chain;
pub use keys::Keyring;
pub use show::show_run;
pub use verify::{Verified, model_file, verify_run};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use securefl_api::{ClientUpdate, ClientVerdict, Transaction, TxKind, Verdict};

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

/// The round's transactions, in ledger order:
/// - one `model-commitment` per hospital, authored by it: blake2b-256 of the model it submitted
///   (after any poisoning, before any pre-aggregation);
/// - one `verdict` per hospital, authored by the validators (author 0 for now): the hospital's
///   index (u32 LE) then the verdict's name;
/// - one `aggregation`: each included hospital (verdict not `rejected`) as its index (u32 LE)
///   and sample count (u64 LE), its FedAvg weight;
/// - one `global-model`: blake2b-256 of the proposed next global model.
pub fn round_transactions(
    round: usize,
    submitted: &[Vec<f32>],
    updates: &[ClientUpdate],
    verdicts: &[ClientVerdict],
    next_global: &[f32],
) -> Vec<Transaction> {
    let round = round as u32;
    let tx = |kind, author, payload| Transaction {
        kind,
        round,
        author,
        payload,
    };
    let mut txs: Vec<Transaction> = submitted
        .iter()
        .enumerate()
        .map(|(h, m)| tx(TxKind::ModelCommitment, h as u32, model_hash(m).to_vec()))
        .collect();
    txs.extend(verdicts.iter().map(|v| {
        let mut payload = (v.hospital as u32).to_le_bytes().to_vec();
        payload.extend_from_slice(v.verdict.as_str().as_bytes());
        tx(TxKind::Verdict, 0, payload)
    }));
    let included: Vec<u8> = verdicts
        .iter()
        .zip(updates)
        .filter(|(v, _)| v.verdict != Verdict::Rejected)
        .flat_map(|(v, u)| {
            [
                (v.hospital as u32).to_le_bytes().to_vec(),
                (u.samples as u64).to_le_bytes().to_vec(),
            ]
            .concat()
        })
        .collect();
    txs.push(tx(TxKind::Aggregation, 0, included));
    txs.push(tx(TxKind::GlobalModel, 0, model_hash(next_global).to_vec()));
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
