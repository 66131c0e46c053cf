//! Signed transactions and blocks: their encoding, Merkle root and hash.
//!
//! - A transaction's content is `kind u8 · round u32 · author u32 · payload (u32 length +
//!   bytes)`; it carries signatures `(signer u32, ed25519 64 bytes)` over
//!   `"securefl-tx-v1" · content`. A model commitment is signed by its hospital; every other
//!   kind by validators.
//! - A block is a header (`height u64 · round u32 · prev 32 · merkle root 32 · proposer u32 ·
//!   time_us u64`), its transactions, and seals: validator signatures over
//!   `"securefl-block-v1" · hash`, where the hash is blake2b-256 of `"securefl-header-v1" ·
//!   header`. The seals are the finality proof the consensus produced (a PBFT commit quorum,
//!   the Aura author, the trusted recorder).
//! - The Merkle root hashes leaves `blake2b(0x00 · transaction)` pairwise as
//!   `blake2b(0x01 · left · right)`; an odd node out is carried up unchanged (duplicating it,
//!   as Bitcoin does, lets two different lists share a root).

use blake2::Digest as _;
use blake2::digest::consts::U32;
use securefl_api::{Transaction, TxKind};

use super::codec::{Reader, Writer};

/// A signature with its signer's index (a hospital or validator, by the transaction kind).
pub type Sig = (u32, [u8; 64]);

/// A transaction and its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// The content.
    pub tx: Transaction,
    /// Signatures over [`SignedTx::signing_message`].
    pub signatures: Vec<Sig>,
}

/// Every kind, in encoding order.
const KINDS: [TxKind; 5] = [
    TxKind::KeyDirectory,
    TxKind::ModelCommitment,
    TxKind::Verdict,
    TxKind::Aggregation,
    TxKind::GlobalModel,
];

fn kind_byte(k: TxKind) -> u8 {
    KINDS.iter().position(|&x| x == k).unwrap_or(0) as u8
}

impl SignedTx {
    /// The encoded content.
    pub fn content(tx: &Transaction) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(kind_byte(tx.kind))
            .u32(tx.round)
            .u32(tx.author)
            .bytes(&tx.payload);
        w.0
    }

    /// What the signers sign.
    pub fn signing_message(tx: &Transaction) -> Vec<u8> {
        [b"securefl-tx-v1".as_slice(), &Self::content(tx)].concat()
    }

    /// Content then signatures.
    pub fn encode(&self, w: &mut Writer) {
        w.raw(&Self::content(&self.tx));
        encode_sigs(w, &self.signatures);
    }

    /// Reads one transaction.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, String> {
        let kind = *KINDS
            .get(r.u8()? as usize)
            .ok_or("unknown transaction kind")?;
        let tx = Transaction {
            kind,
            round: r.u32()?,
            author: r.u32()?,
            payload: r.bytes()?.to_vec(),
        };
        Ok(Self {
            tx,
            signatures: decode_sigs(r)?,
        })
    }
}

fn encode_sigs(w: &mut Writer, sigs: &[Sig]) {
    w.u32(sigs.len() as u32);
    for (signer, s) in sigs {
        w.u32(*signer).raw(s);
    }
}

fn decode_sigs(r: &mut Reader<'_>) -> Result<Vec<Sig>, String> {
    let n = r.u32()? as usize;
    if n * 68 > r.remaining() {
        return Err(format!("{n} signatures do not fit in what is left"));
    }
    (0..n).map(|_| Ok((r.u32()?, r.array()?))).collect()
}

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Position in the chain (genesis 0).
    pub height: u64,
    /// The federated round whose records it holds (0: genesis).
    pub round: u32,
    /// Hash of the previous block (zeros for genesis).
    pub prev: [u8; 32],
    /// Merkle root of the transactions.
    pub merkle_root: [u8; 32],
    /// The validator that proposed it.
    pub proposer: u32,
    /// Simulated time at which it was final (µs since the run's start).
    pub time_us: u64,
}

impl Header {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.height)
            .u32(self.round)
            .raw(&self.prev)
            .raw(&self.merkle_root)
            .u32(self.proposer)
            .u64(self.time_us);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(Self {
            height: r.u64()?,
            round: r.u32()?,
            prev: r.array()?,
            merkle_root: r.array()?,
            proposer: r.u32()?,
            time_us: r.u64()?,
        })
    }

    /// blake2b-256 of the encoded header.
    pub fn hash(&self) -> [u8; 32] {
        let mut w = Writer::default();
        w.raw(b"securefl-header-v1");
        self.encode(&mut w);
        blake(&[&w.0])
    }
}

/// A block: header, transactions, seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub txs: Vec<SignedTx>,
    /// Validator signatures over [`Block::seal_message`].
    pub seals: Vec<Sig>,
}

impl Block {
    /// What sealing validators sign: the header hash, tagged.
    pub fn seal_message(hash: &[u8; 32]) -> Vec<u8> {
        [b"securefl-block-v1".as_slice(), hash].concat()
    }

    /// The encoded block.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.header.encode(&mut w);
        w.u32(self.txs.len() as u32);
        for t in &self.txs {
            let mut tw = Writer::default();
            t.encode(&mut tw);
            w.bytes(&tw.0);
        }
        encode_sigs(&mut w, &self.seals);
        w.0
    }

    /// Reads a whole block (nothing may follow it).
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let mut r = Reader::new(bytes);
        let header = Header::decode(&mut r)?;
        let n = r.u32()? as usize;
        if n * 4 > r.remaining() {
            return Err(format!("{n} transactions do not fit in what is left"));
        }
        let txs = (0..n)
            .map(|i| {
                let mut tr = Reader::new(r.bytes()?);
                let t = SignedTx::decode(&mut tr).map_err(|e| format!("transaction {i}: {e}"))?;
                tr.end().map_err(|e| format!("transaction {i}: {e}"))?;
                Ok(t)
            })
            .collect::<Result<_, String>>()?;
        let seals = decode_sigs(&mut r)?;
        r.end()?;
        Ok(Self { header, txs, seals })
    }
}

/// The Merkle root of `txs` (see the module docs).
pub fn merkle_root(txs: &[SignedTx]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = txs
        .iter()
        .map(|t| {
            let mut w = Writer::default();
            t.encode(&mut w);
            blake(&[&[0], &w.0])
        })
        .collect();
    if level.is_empty() {
        return blake(&[&[2]]);
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                if let [l, r] = p {
                    blake(&[&[1], l, r])
                } else {
                    p[0]
                }
            })
            .collect();
    }
    level[0]
}

/// blake2b-256 of the concatenated parts.
pub fn blake(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake2::Blake2b::<U32>::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}
