//! Builds the chain a run records: a genesis block with the key directory (the seal quorum and
//! every public key) and the initial model's hash, then one block per finalized batch of round
//! records, each signed and sealed.

use ed25519_dalek::VerifyingKey;
use securefl_api::{Transaction, TxKind};

use super::block::{Block, Header, SignedTx, merkle_root};
use super::codec::{Reader, Writer};
use super::keys::{Keyring, Role};
use super::model_hash;

/// The chain being written.
pub struct Chain {
    keys: Keyring,
    quorum: u32,
    prev: [u8; 32],
    height: u64,
    genesis: Option<[u8; 32]>,
}

impl Chain {
    /// An empty chain signed with `keys`, whose blocks count with `quorum` validator seals (the
    /// consensus protocol's commit quorum, recorded in genesis).
    pub fn new(keys: Keyring, quorum: usize) -> Self {
        Self {
            keys,
            quorum: quorum as u32,
            prev: [0; 32],
            height: 0,
            genesis: None,
        }
    }

    /// Blocks written so far.
    pub fn blocks(&self) -> u64 {
        self.height
    }

    /// Hash of the last block (zeros before genesis).
    pub fn tip(&self) -> [u8; 32] {
        self.prev
    }

    /// Hash of the genesis block, once written.
    pub fn genesis_hash(&self) -> Option<[u8; 32]> {
        self.genesis
    }

    /// The genesis block: the public key directory and the hash of the initial global model,
    /// both signed and the block sealed by every validator.
    pub fn genesis(&mut self, initial: &[f32]) -> Block {
        let all: Vec<usize> = (0..self.keys.validators()).collect();
        let dir = Transaction {
            kind: TxKind::KeyDirectory,
            round: 0,
            author: 0,
            payload: encode_directory(self.quorum, &self.keys.directory()),
        };
        let model = Transaction {
            kind: TxKind::GlobalModel,
            round: 0,
            author: 0,
            payload: model_hash(initial).to_vec(),
        };
        let block = self.seal(0, &[dir, model], 0, &all, 0);
        self.genesis = Some(self.prev);
        block
    }

    /// The next block: `txs` of `round`, proposed by validator `proposer` and final at
    /// `time_us`; each transaction is signed as [`signers`] says (by the validators `sealers`
    /// where it takes validators), and the block is sealed by `sealers`.
    pub fn seal(
        &mut self,
        round: u32,
        txs: &[Transaction],
        proposer: u32,
        sealers: &[usize],
        time_us: u64,
    ) -> Block {
        let txs: Vec<SignedTx> = txs.iter().map(|t| self.sign(t, sealers)).collect();
        let header = Header {
            height: self.height,
            round,
            prev: self.prev,
            merkle_root: merkle_root(&txs),
            proposer,
            time_us,
        };
        let hash = header.hash();
        let msg = Block::seal_message(&hash);
        let seals = sealers
            .iter()
            .map(|&v| {
                (
                    v as u32,
                    self.keys.sign(Role::Validator, v, &msg).to_bytes(),
                )
            })
            .collect();
        self.prev = hash;
        self.height += 1;
        Block { header, txs, seals }
    }

    fn sign(&self, tx: &Transaction, validators: &[usize]) -> SignedTx {
        let msg = SignedTx::signing_message(tx);
        let signatures = match signers(tx.kind) {
            Signers::Author(role) => {
                let a = tx.author as usize;
                vec![(tx.author, self.keys.sign(role, a, &msg).to_bytes())]
            }
            Signers::Validators => validators
                .iter()
                .map(|&v| {
                    (
                        v as u32,
                        self.keys.sign(Role::Validator, v, &msg).to_bytes(),
                    )
                })
                .collect(),
        };
        SignedTx {
            tx: tx.clone(),
            signatures,
        }
    }
}

/// Who signs a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signers {
    /// Its author alone, a key of this role: a hospital's commitment, a validator's verdict.
    Author(Role),
    /// A majority of the validators: the key directory, the aggregation, the global model.
    Validators,
}

/// Who signs a transaction of `kind`.
pub fn signers(kind: TxKind) -> Signers {
    match kind {
        TxKind::ModelCommitment => Signers::Author(Role::Hospital),
        TxKind::Verdict => Signers::Author(Role::Validator),
        _ => Signers::Validators,
    }
}

/// The key directory's payload: the seal quorum (u32), then `(role u8 · index u32 · key 32)`
/// per key.
pub fn encode_directory(quorum: u32, dir: &[(Role, u32, VerifyingKey)]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u32(quorum);
    for (role, i, key) in dir {
        w.u8(role.byte()).u32(*i).raw(key.as_bytes());
    }
    w.0
}

/// A decoded key directory: the seal quorum and the public keys.
pub type Directory = (u32, Vec<(Role, u32, VerifyingKey)>);

/// Reads a key directory payload.
pub fn decode_directory(payload: &[u8]) -> Result<Directory, String> {
    let mut r = Reader::new(payload);
    let quorum = r.u32()?;
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let role = Role::from_byte(r.u8()?).ok_or("unknown key role")?;
        let index = r.u32()?;
        let key = VerifyingKey::from_bytes(&r.array()?)
            .map_err(|_| format!("{} {index}: not an ed25519 key", role.as_str()))?;
        out.push((role, index, key));
    }
    Ok((quorum, out))
}
