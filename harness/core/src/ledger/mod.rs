//! The ledger: the transactions a round records (model commitments, verdicts, the aggregation
//! and the new global model's hash, blake2b-256 of the flat little-endian f32 weights), signed
//! with ed25519 keys that the run folder does not hold ([`keys`]), in blocks chained by blake2b
//! with a Merkle root of their transactions and sealed by the consensus protocol's quorum
//! ([`block`], [`chain`]), appended to `ledger.bin` in the run folder ([`store`]), and checked
//! ([`verify`], [`semantics`]) or printed ([`show`]) by `securefl ledger`.

pub mod block;
pub mod chain;
pub mod codec;
pub mod keys;
pub mod semantics;
pub mod show;
pub mod store;
pub mod verify;

pub use block::Block;
pub use chain::Chain;
pub use keys::Keyring;
pub use show::show_run;
pub use verify::{Anchor, Verified, model_file, verify_run};

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use std::collections::BTreeMap;

use securefl_api::{ClientVerdict, Transaction, TxKind, Verdict};

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

/// The 32 bytes written as 64 hex digits (a hash, a secret key).
pub fn unhex32(text: &str) -> Result<[u8; 32], String> {
    let bad = || format!("{text:?} is not 64 hex digits");
    if text.len() != 64 || !text.is_ascii() {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// A round's first block, the verdicts: one `model-commitment` per hospital, authored and signed
/// by it (blake2b-256 of the model it submitted, after any poisoning, before any
/// pre-aggregation), then one `verdict` per validator and hospital, authored and signed by the
/// validator: the hospital's index (u32 LE) then the verdict's name. Each validator signs its
/// own row of `votes` when the defense gave one (validators that decide separately), else the
/// defense's verdict. A lying validator (see `adversary.lying-validators`) signs the opposite
/// of every accept or reject it would have signed.
pub fn verdict_transactions(
    round: usize,
    submitted: &[Vec<f32>],
    verdicts: &[ClientVerdict],
    votes: &[Vec<Verdict>],
    validators: usize,
    lying: &[usize],
) -> Vec<Transaction> {
    let round = round as u32;
    let mut txs: Vec<Transaction> = submitted
        .iter()
        .enumerate()
        .map(|(h, m)| Transaction {
            kind: TxKind::ModelCommitment,
            round,
            author: h as u32,
            payload: model_hash(m).to_vec(),
        })
        .collect();
    for v in 0..validators {
        txs.extend(verdicts.iter().enumerate().map(|(i, c)| {
            let own = votes.get(v).and_then(|row| row.get(i)).copied();
            let verdict = match own.unwrap_or(c.verdict) {
                Verdict::Accepted if lying.contains(&v) => Verdict::Rejected,
                Verdict::Rejected if lying.contains(&v) => Verdict::Accepted,
                other => other,
            };
            let mut payload = (c.hospital as u32).to_le_bytes().to_vec();
            payload.extend_from_slice(verdict.as_str().as_bytes());
            Transaction {
                kind: TxKind::Verdict,
                round,
                author: v as u32,
                payload,
            }
        }));
    }
    txs
}

/// The verdict of each of `hospitals` hospitals in finalized transactions: the one a strict
/// majority of the `validators` signed (each validator counted once per hospital), rejected
/// when no verdict has a majority. This is "global consensus = majority of validated models".
pub fn finalized_verdicts(
    txs: &[Transaction],
    hospitals: usize,
    validators: usize,
) -> Vec<Verdict> {
    let mut votes: BTreeMap<(usize, u32), Verdict> = BTreeMap::new();
    for t in txs.iter().filter(|t| t.kind == TxKind::Verdict) {
        let Some((h, name)) = t.payload.split_first_chunk::<4>() else {
            continue;
        };
        let h = u32::from_le_bytes(*h) as usize;
        let verdict = [Verdict::Accepted, Verdict::Rejected, Verdict::NotApplicable]
            .into_iter()
            .find(|v| v.as_str().as_bytes() == name);
        if let (true, Some(v)) = (h < hospitals, verdict) {
            votes.entry((h, t.author)).or_insert(v);
        }
    }
    (0..hospitals)
        .map(|h| {
            let count = |want| {
                votes
                    .iter()
                    .filter(|((hh, _), v)| *hh == h && **v == want)
                    .count()
            };
            [Verdict::Accepted, Verdict::NotApplicable]
                .into_iter()
                .find(|&v| 2 * count(v) > validators)
                .unwrap_or(Verdict::Rejected)
        })
        .collect()
}

/// A round's second block: one `aggregation` (each included hospital's index, u32 LE, and
/// sample count, u64 LE, its FedAvg weight) and one `global-model` (blake2b-256 of the new
/// global model), both signed by the validators.
pub fn aggregation_transactions(
    round: usize,
    included: &[(usize, u64)],
    next_global: &[f32],
) -> Vec<Transaction> {
    let payload = included
        .iter()
        .flat_map(|&(h, n)| [(h as u32).to_le_bytes().to_vec(), n.to_le_bytes().to_vec()].concat())
        .collect();
    let tx = |kind, payload| Transaction {
        kind,
        round: round as u32,
        author: 0,
        payload,
    };
    vec![
        tx(TxKind::Aggregation, payload),
        tx(TxKind::GlobalModel, model_hash(next_global).to_vec()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(h: usize, v: Verdict) -> ClientVerdict {
        ClientVerdict {
            hospital: h,
            verdict: v,
            score: None,
            cost: securefl_api::CostRecord::default(),
        }
    }

    #[test]
    fn the_finalized_verdict_is_the_strict_majority_of_validators() {
        let verdicts = [
            verdict(0, Verdict::Accepted),
            verdict(1, Verdict::Rejected),
            verdict(2, Verdict::NotApplicable),
        ];
        let models = vec![vec![0.0f32]; 3];
        let of = |lying: &[usize]| {
            let txs = verdict_transactions(1, &models, &verdicts, &[], 5, lying);
            assert_eq!(txs.len(), 3 + 5 * 3, "3 commitments, 5 x 3 verdicts");
            finalized_verdicts(&txs, 3, 5)
        };
        let (a, r, na) = (Verdict::Accepted, Verdict::Rejected, Verdict::NotApplicable);
        assert_eq!(of(&[]), [a, r, na]);
        assert_eq!(of(&[0, 4]), [a, r, na]);
        assert_eq!(of(&[0, 1, 4]), [r, a, na]);
        // A validator counts once per hospital, however often it signs.
        let mut txs = verdict_transactions(1, &models, &verdicts, &[], 5, &[0, 1]);
        let dup = txs
            .iter()
            .find(|t| t.author == 0 && t.kind == TxKind::Verdict)
            .unwrap()
            .clone();
        txs.extend([dup.clone(), dup]);
        assert_eq!(finalized_verdicts(&txs, 3, 5)[0], a);
        // No majority (too few verdicts final): rejected.
        assert_eq!(finalized_verdicts(&txs[..3 + 6], 3, 5), [r; 3]);
    }

    #[test]
    fn each_validator_signs_its_own_votes_and_their_majority_decides() {
        let (a, r) = (Verdict::Accepted, Verdict::Rejected);
        // The defense's own verdicts say accept both; the validators' rows disagree.
        let verdicts = [verdict(0, a), verdict(1, a)];
        let votes = [vec![a, r], vec![a, r], vec![r, a], vec![a, a], vec![r, r]];
        let models = vec![vec![0.0f32]; 2];
        let of = |lying: &[usize]| {
            let txs = verdict_transactions(1, &models, &verdicts, &votes, 5, lying);
            let signed: Vec<Verdict> = txs
                .iter()
                .filter(|t| t.kind == TxKind::Verdict && t.payload[0] == 1)
                .map(|t| {
                    let name = &t.payload[4..];
                    if name == a.as_str().as_bytes() { a } else { r }
                })
                .collect();
            (finalized_verdicts(&txs, 2, 5), signed)
        };
        let (decided, signed) = of(&[]);
        assert_eq!(
            decided,
            [a, r],
            "3 of 5 accept hospital 0, 2 of 5 hospital 1"
        );
        assert_eq!(signed, [r, r, a, a, r], "validator v signs votes[v]");
        // Lying validators flip their own votes: two liars turn hospital 0's majority, one does not.
        assert_eq!(of(&[0, 3]).0, [r, r]);
        assert_eq!(of(&[2]).0, [a, r]);
    }

    #[test]
    fn hash_depends_on_every_weight() {
        let a = model_hash(&[1.0, 2.0]);
        assert_eq!(a, model_hash(&[1.0, 2.0]));
        assert_ne!(a, model_hash(&[1.0, 2.000_001]));
        assert_eq!(hex(&[0, 171]), "00ab");
    }
}
