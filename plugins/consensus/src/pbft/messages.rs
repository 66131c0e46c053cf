//! PBFT messages, their certificates, and their wire sizes and signature counts.
//!
//! Signatures are modelled, not computed: the simulator authenticates the sender of every
//! message, and a certificate names the replicas whose signed messages it carries. No behaviour
//! forges another replica's signature, so a certificate is checked structurally (distinct
//! senders, quorum size, matching view, sequence number and digest).

use blake2::{Blake2b, Digest as _, digest::consts::U32};

use crate::sim::{Batch, Message, NodeId};

/// A 32-byte digest.
pub type Digest = [u8; 32];

/// The digest of the null request (a block carrying no batch).
pub const NULL_DIGEST: Digest = [0; 32];

/// Bytes of a message header: type, view, sequence number, sender.
pub const HEADER_BYTES: u64 = 24;
/// Bytes of a digest.
pub const DIGEST_BYTES: u64 = 32;
/// Bytes of an ed25519 signature.
pub const SIGNATURE_BYTES: u64 = 64;
/// Bytes of a signed vote (PREPARE, COMMIT, CHECKPOINT): header, digest, signature.
pub const VOTE_BYTES: u64 = HEADER_BYTES + DIGEST_BYTES + SIGNATURE_BYTES;

/// The digest of a block: its batch's digest, or [`NULL_DIGEST`] for a null request.
pub fn block_digest(batch: Option<&Batch>) -> Digest {
    batch.map_or(NULL_DIGEST, |b| b.digest)
}

/// blake2b-256 over the concatenation of `parts`.
pub fn hash(parts: &[&[u8]]) -> Digest {
    let mut h = Blake2b::<U32>::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().into()
}

fn batch_bytes(batch: Option<&Batch>) -> u64 {
    batch.map_or(0, |b| b.bytes + 8)
}

/// True when `ids` are distinct replicas of `0..n`, at least `need` of them, none `excluded`.
pub fn valid_signers(ids: &[NodeId], n: usize, need: usize, excluded: Option<NodeId>) -> bool {
    let set: std::collections::BTreeSet<_> = ids.iter().collect();
    set.len() == ids.len() && ids.len() >= need && ids.iter().all(|&i| i < n && Some(i) != excluded)
}

/// A PRE-PREPARE: the primary of `view` assigns `seq` to a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The view.
    pub view: u64,
    /// The sequence number (block height).
    pub seq: u64,
    /// The block's digest.
    pub digest: Digest,
    /// The batch it orders; `None` for a null request.
    pub batch: Option<Batch>,
}

/// A PREPARE or COMMIT vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// The view.
    pub view: u64,
    /// The sequence number.
    pub seq: u64,
    /// The digest voted for.
    pub digest: Digest,
}

/// A stable checkpoint with its proof C: `q` matching CHECKPOINT messages (none for seq 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StableProof {
    /// The checkpoint's sequence number (the low watermark h).
    pub seq: u64,
    /// The state digest after executing `seq`.
    pub digest: Digest,
    /// The replicas whose CHECKPOINT messages prove it.
    pub signers: Vec<NodeId>,
}

/// A prepared certificate: a PRE-PREPARE and `q − 1` matching PREPAREs from backups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedProof {
    /// The view it prepared in.
    pub view: u64,
    /// The sequence number.
    pub seq: u64,
    /// The digest.
    pub digest: Digest,
    /// The batch (piggybacked so that the new primary can re-issue it).
    pub batch: Option<Batch>,
    /// The backups whose PREPAREs it carries.
    pub prepares: Vec<NodeId>,
}

/// A VIEW-CHANGE ⟨v+1, n_s, C, P, i⟩.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewChange {
    /// The view it moves to.
    pub view: u64,
    /// Its sender.
    pub replica: NodeId,
    /// The sender's last stable checkpoint with its proof.
    pub stable: StableProof,
    /// The P set: for each sequence number above the checkpoint, the highest-view prepared
    /// certificate the sender holds.
    pub prepared: Vec<PreparedProof>,
}

/// A NEW-VIEW ⟨v+1, V, O⟩.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewView {
    /// The new view.
    pub view: u64,
    /// Its signer, the primary of `view`: relayed copies keep it, and the model's signatures
    /// cannot be forged, so a receiver checks it instead of the sender.
    pub primary: NodeId,
    /// V: a quorum of VIEW-CHANGE messages for `view`.
    pub view_changes: Vec<ViewChange>,
    /// O: the pre-prepares computed from V (null requests fill gaps).
    pub pre_prepares: Vec<Proposal>,
}

/// A committed block with its commit certificate (q matching COMMITs), as state transfer ships it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertifiedBlock {
    /// Height.
    pub seq: u64,
    /// View of the commit certificate.
    pub view: u64,
    /// Digest.
    pub digest: Digest,
    /// Batch, `None` for a null request.
    pub batch: Option<Batch>,
    /// The replicas whose COMMITs certify it.
    pub commits: Vec<NodeId>,
}

/// A PBFT message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A client request (a batch) relayed by a replica that holds it and has not executed it
    /// (see `pbft::requests`); it carries the client's signature.
    Request(Batch),
    /// PRE-PREPARE carrying its batch.
    PrePrepare(Proposal),
    /// PREPARE.
    Prepare(Vote),
    /// COMMIT.
    Commit(Vote),
    /// CHECKPOINT ⟨n, d(state), i⟩: `seq` and the state digest.
    Checkpoint {
        /// The sequence number.
        seq: u64,
        /// State digest after executing `seq`.
        digest: Digest,
    },
    /// VIEW-CHANGE.
    ViewChange(ViewChange),
    /// NEW-VIEW.
    NewView(NewView),
    /// State transfer: "send me the committed blocks after `after`".
    Fetch {
        /// The requester's last executed sequence number.
        after: u64,
    },
    /// State transfer: committed blocks in order, each with its commit certificate.
    Blocks {
        /// The sender's last executed sequence number (a hint: f + 1 of them bound what a
        /// recovering replica fetches).
        height: u64,
        /// The blocks.
        blocks: Vec<CertifiedBlock>,
    },
}

impl StableProof {
    fn size(&self) -> u64 {
        8 + DIGEST_BYTES + self.signers.len() as u64 * VOTE_BYTES
    }
}

impl PreparedProof {
    fn size(&self) -> u64 {
        VOTE_BYTES + batch_bytes(self.batch.as_ref()) + self.prepares.len() as u64 * VOTE_BYTES
    }
}

impl ViewChange {
    fn size(&self) -> u64 {
        HEADER_BYTES
            + SIGNATURE_BYTES
            + self.stable.size()
            + self.prepared.iter().map(PreparedProof::size).sum::<u64>()
    }

    fn signatures(&self) -> u64 {
        1 + self.stable.signers.len() as u64
            + self
                .prepared
                .iter()
                .map(|p| 1 + p.prepares.len() as u64)
                .sum::<u64>()
    }
}

impl Message for Msg {
    fn kind(&self) -> &'static str {
        match self {
            Self::Request(_) => "request",
            Self::PrePrepare(_) => "pre-prepare",
            Self::Prepare(_) => "prepare",
            Self::Commit(_) => "commit",
            Self::Checkpoint { .. } => "checkpoint",
            Self::ViewChange(_) => "view-change",
            Self::NewView(_) => "new-view",
            Self::Fetch { .. } => "fetch",
            Self::Blocks { .. } => "blocks",
        }
    }

    fn size(&self) -> u64 {
        match self {
            Self::Request(b) => HEADER_BYTES + SIGNATURE_BYTES + batch_bytes(Some(b)),
            Self::PrePrepare(p) => VOTE_BYTES + batch_bytes(p.batch.as_ref()),
            Self::Prepare(_) | Self::Commit(_) | Self::Checkpoint { .. } => VOTE_BYTES,
            Self::ViewChange(vc) => vc.size(),
            Self::NewView(nv) => {
                HEADER_BYTES
                    + SIGNATURE_BYTES
                    + nv.view_changes.iter().map(ViewChange::size).sum::<u64>()
                    + nv.pre_prepares
                        .iter()
                        .map(|p| VOTE_BYTES + batch_bytes(p.batch.as_ref()))
                        .sum::<u64>()
            }
            Self::Fetch { .. } => HEADER_BYTES + SIGNATURE_BYTES,
            Self::Blocks { blocks, .. } => {
                HEADER_BYTES
                    + 8
                    + SIGNATURE_BYTES
                    + blocks
                        .iter()
                        .map(|b| {
                            HEADER_BYTES
                                + DIGEST_BYTES
                                + batch_bytes(b.batch.as_ref())
                                + b.commits.len() as u64 * VOTE_BYTES
                        })
                        .sum::<u64>()
            }
        }
    }

    fn signatures(&self) -> u64 {
        match self {
            Self::Request(_)
            | Self::PrePrepare(_)
            | Self::Prepare(_)
            | Self::Commit(_)
            | Self::Checkpoint { .. }
            | Self::Fetch { .. } => 1,
            Self::ViewChange(vc) => vc.signatures(),
            Self::NewView(nv) => {
                1 + nv
                    .view_changes
                    .iter()
                    .map(ViewChange::signatures)
                    .sum::<u64>()
                    + nv.pre_prepares.len() as u64
            }
            Self::Blocks { blocks, .. } => {
                1 + blocks.iter().map(|b| b.commits.len() as u64).sum::<u64>()
            }
        }
    }
}
