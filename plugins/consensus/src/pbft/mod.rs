//! `pbft`: Practical Byzantine Fault Tolerance (Castro & Liskov, TOCS 2002), block-adapted.
//!
//! Each [`crate::sim::Batch`] is a client request, handed to every replica (the client
//! multicasts it); the primary of view `v` (replica `v mod n`) orders pending batches in arrival
//! order, one batch per sequence number, and a sequence number is a block height. A replica
//! whose request timer fires while it holds unexecuted batches multicasts them (REQUEST) before
//! it asks for a view change, so a primary that missed a batch gets it and f + 1 replicas time
//! out together; nothing is relayed while requests get ordered (`requests`).
//!
//! * Normal case: PRE-PREPARE / PREPARE / COMMIT with the quorum `q = ⌈(n + f + 1) / 2⌉`
//!   ([`quorum`]; `2f + 1` only when `n = 3f + 1`). Votes are counted per distinct sender and
//!   per (view, seq, digest). A replica executes (and finalizes) a block once it is
//!   committed-local and every lower sequence number has executed.
//! * Checkpoints every K sequence numbers, watermarks `h < seq ≤ h + 2K`, garbage collection
//!   at stable checkpoints (`q` matching CHECKPOINTs).
//! * State transfer: a replica that learns it is behind (a stable checkpoint above what it
//!   executed, f + 1 COMMITs for a sequence number it has not executed, f + 1 peers showing a
//!   higher height, a recovery) fetches committed blocks with their commit certificates and
//!   executes them in order; it keeps retrying, with a bounded back-off, while it is behind, and
//!   new evidence brings the short retry delay back. Vote bookkeeping for lagging replicas is
//!   bounded by the log window.
//! * View change: VIEW-CHANGE with the stable checkpoint proof and the P set; the new primary
//!   sends NEW-VIEW with O from the selection rule (highest-view prepared digest, null requests
//!   for gaps); backups recompute O and reject a mismatch; f + 1 VIEW-CHANGEs for higher views
//!   make a replica join; the timeout doubles on each successive view change. A NEW-VIEW more
//!   than 2n views ahead needs f + 1 senders, and the last view (`u64::MAX`, which has no
//!   successor) is never entered. Duplicate VIEW-CHANGEs and messages for installed views are
//!   dropped by their header before any certificate is verified
//!   ([`crate::sim::Node::verify_cost`]).
//! * Byzantine behaviours ([`Behaviour`]): crash-silent, equivocating leader, withheld votes,
//!   votes for invalid blocks, spurious view change.
//!
//! Deviations from the paper, declared: signatures are modelled (the simulator authenticates
//! senders and certificates list their signers; no behaviour forges); requests are piggybacked
//! in prepared certificates and NEW-VIEW rather than fetched separately; state transfer ships
//! certified blocks (the ledger) instead of a state snapshot; no client replies are simulated
//! (finality at the replica is the measured event).

mod byzantine;
mod checkpoint;
mod config;
mod messages;
mod normal;
mod replica;
mod requests;
mod run;
mod view_change;

pub use config::{Behaviour, Fault, Params, Pbft, max_faulty, messages_per_block, quorum};
pub use messages::{
    CertifiedBlock, DIGEST_BYTES, Digest, HEADER_BYTES, Msg, NULL_DIGEST, NewView, PreparedProof,
    Proposal, SIGNATURE_BYTES, StableProof, VOTE_BYTES, ViewChange, Vote, block_digest,
};
pub use replica::Replica;
pub use run::{Workload, simulate};
