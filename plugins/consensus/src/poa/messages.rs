//! Blocks and the messages that carry them: a block announcement (sent once by its author to
//! every other node) and a simple ancestor sync (a node missing a block's parent asks the
//! sender for it).
//!
//! Sizes: a block is [`HEADER_BYTES`] of header, [`SIGNATURE_BYTES`] of seal, and per batch its
//! id and digest ([`BATCH_REF_BYTES`]) plus the batch's own bytes (the transactions travel in
//! the block, as in Ethereum).

use std::sync::Arc;

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest as _};

use crate::sim::{self, Batch};

/// A blake2b-256 hash.
pub type Digest = [u8; 32];

/// Bytes of a block header on the wire: parent hash, digest, height, step, author, extra data.
pub const HEADER_BYTES: u64 = 32 + 32 + 8 + 8 + 8 + 8;

/// Bytes of the author's seal (an ed25519 signature).
pub const SIGNATURE_BYTES: u64 = 64;

/// Bytes per batch reference in a block body (id and digest), on top of the batch's own bytes.
pub const BATCH_REF_BYTES: u64 = 8 + 32;

/// Bytes of a sync request (the wanted hash).
pub const SYNC_REQUEST_BYTES: u64 = 32;

/// A sealed block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The parent's digest (all zeros for genesis).
    pub parent: Digest,
    /// Height: genesis is 0.
    pub height: u64,
    /// The Aura step it was sealed in (genesis: 0).
    pub step: u64,
    /// The sealing authority's index (`step mod n`).
    pub author: usize,
    /// Free header data (Ethereum's extra-data): honest authorities write 0; an equivocator
    /// varies it so that its two blocks for one step differ.
    pub extra: u64,
    /// The batches it orders, in order.
    pub batches: Vec<Batch>,
    /// blake2b-256 over the header and the batch digests ([`Block::compute_digest`]).
    pub digest: Digest,
}

impl Block {
    /// The genesis block every authority starts from.
    pub fn genesis() -> Self {
        let mut b = Self {
            parent: [0; 32],
            height: 0,
            step: 0,
            author: 0,
            extra: 0,
            batches: Vec::new(),
            digest: [0; 32],
        };
        b.digest = b.compute_digest();
        b
    }

    /// A block on `parent`, sealed by `author` in `step`, with its digest computed.
    pub fn seal(parent: &Block, step: u64, author: usize, extra: u64, batches: Vec<Batch>) -> Self {
        let mut b = Self {
            parent: parent.digest,
            height: parent.height + 1,
            step,
            author,
            extra,
            batches,
            digest: [0; 32],
        };
        b.digest = b.compute_digest();
        b
    }

    /// blake2b-256 over a domain tag, the header fields and every batch's id and digest.
    pub fn compute_digest(&self) -> Digest {
        let mut h = Blake2b::<U32>::new();
        h.update(b"securefl-poa-block-v1");
        h.update(self.parent);
        h.update(self.height.to_le_bytes());
        h.update(self.step.to_le_bytes());
        h.update((self.author as u64).to_le_bytes());
        h.update(self.extra.to_le_bytes());
        h.update((self.batches.len() as u64).to_le_bytes());
        for batch in &self.batches {
            h.update(batch.id.to_le_bytes());
            h.update(batch.digest);
        }
        h.finalize().into()
    }

    /// Bytes on the wire: header, seal, batch references and batch contents.
    pub fn size(&self) -> u64 {
        let body: u64 = self
            .batches
            .iter()
            .map(|b| BATCH_REF_BYTES.saturating_add(b.bytes))
            .fold(0, u64::saturating_add);
        (HEADER_BYTES + SIGNATURE_BYTES).saturating_add(body)
    }

    /// The ids of the batches it carries, in order.
    pub fn batch_ids(&self) -> Vec<u64> {
        self.batches.iter().map(|b| b.id).collect()
    }
}

/// A PoA message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A block announced by its author (kind `"block"`: `n − 1` per block).
    Block(Arc<Block>),
    /// "Send me the block with this digest" (kind `"sync-request"`).
    SyncRequest {
        /// The missing block.
        want: Digest,
    },
    /// A block sent in answer to a [`Msg::SyncRequest`] (kind `"sync-block"`).
    SyncBlock(Arc<Block>),
}

impl sim::Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Self::Block(_) => "block",
            Self::SyncRequest { .. } => "sync-request",
            Self::SyncBlock(_) => "sync-block",
        }
    }

    fn size(&self) -> u64 {
        match self {
            Self::Block(b) | Self::SyncBlock(b) => b.size(),
            Self::SyncRequest { .. } => SYNC_REQUEST_BYTES,
        }
    }

    /// A block's seal is verified; a request needs no signature (the network authenticates
    /// its sender).
    fn signatures(&self) -> u64 {
        match self {
            Self::Block(_) | Self::SyncBlock(_) => 1,
            Self::SyncRequest { .. } => 0,
        }
    }
}
