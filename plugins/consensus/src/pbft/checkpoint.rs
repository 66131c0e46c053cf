//! Checkpoints, watermarks and garbage collection; state transfer for lagging replicas.
//!
//! Every K executed sequence numbers a replica multicasts CHECKPOINT(seq, state digest); `q`
//! matching ones make the checkpoint stable: the low watermark h moves to it, H = h + 2K, and
//! the log at or below h is discarded. Executed blocks stay in the ledger (`chain`) with their
//! commit certificates, which is what state transfer ships: a replica that learns it is behind
//! (a stable checkpoint above what it executed, f + 1 COMMITs from distinct replicas for a
//! sequence number it has not executed, f + 1 peers showing a higher height, a recovery)
//! fetches the committed blocks from f + 1 peers in rotation, checks each commit certificate,
//! and executes them in order. It keeps asking while it is behind: FETCH_TRIES rounds at the
//! state-transfer timeout, then with the delay doubling up to 2^FETCH_BACKOFF_MAX times; any
//! new evidence brings the short delay back.
//!
//! Memory is bounded by the log window L = 2K: CHECKPOINT votes (one per sender and sequence
//! number) are kept up to L above the low watermark or the last executed block, and COMMIT
//! evidence up to L above the last executed block; a vote further ahead only raises its
//! sender's claimed height (one number per peer).

use super::messages::{CertifiedBlock, Digest, Msg, StableProof, block_digest, valid_signers};
use super::replica::{Out, Replica, TIMER_FETCH};
use crate::sim::{Action, NodeId, Time};

/// Fetch rounds at the state-transfer timeout before the retry delay starts doubling.
const FETCH_TRIES: u32 = 4;
/// The retry delay doubles at most this many times (64 × the state-transfer timeout).
const FETCH_BACKOFF_MAX: u32 = 6;

impl Replica {
    /// Multicasts this replica's CHECKPOINT for `seq` (just executed).
    pub(super) fn take_checkpoint(&mut self, seq: u64, out: &mut Out) {
        let digest = self.state;
        if seq <= self.stable.seq {
            return; // Already stable (this replica caught up by state transfer).
        }
        out.push(Action::Broadcast {
            msg: Msg::Checkpoint { seq, digest },
        });
        self.on_checkpoint(self.id, seq, digest, out);
    }

    /// A CHECKPOINT, counted per distinct sender and state digest.
    pub(super) fn on_checkpoint(&mut self, from: NodeId, seq: u64, digest: Digest, out: &mut Out) {
        if seq <= self.stable.seq || !seq.is_multiple_of(self.k) {
            return;
        }
        let top = self.stable.seq.max(self.last_exec);
        if seq > top.saturating_add(self.window()) {
            self.claim(from, seq, out);
            return;
        }
        let votes = self.checkpoint_votes.entry(seq).or_default();
        if votes.values().any(|v| v.contains(&from)) {
            return; // One vote per sender and checkpoint.
        }
        let voters = votes.entry(digest).or_default();
        voters.insert(from);
        if voters.len() >= self.q {
            let proof = StableProof {
                seq,
                digest,
                signers: voters.iter().copied().collect(),
            };
            self.adopt_stable(proof, out);
            self.replay_deferred(out);
            self.propose(out);
        }
    }

    /// Adopts a stable checkpoint: moves the watermarks, garbage-collects the log, and starts
    /// state transfer when this replica has not executed up to it.
    pub(super) fn adopt_stable(&mut self, proof: StableProof, out: &mut Out) {
        if proof.seq <= self.stable.seq {
            return;
        }
        let h = proof.seq;
        self.stable = proof;
        self.log = self.log.split_off(&h.saturating_add(1));
        self.checkpoint_votes = self.checkpoint_votes.split_off(&h.saturating_add(1));
        if self.last_exec < h {
            self.behind(h, out);
        }
    }

    /// New evidence that blocks up to `seq` were committed by others: fetches them unless this
    /// replica executes them on its own before the state-transfer timer fires, and brings the
    /// retry delay back to the state-transfer timeout.
    pub(super) fn behind(&mut self, seq: u64, out: &mut Out) {
        self.target = self.target.max(seq);
        self.fetch_tries = 0;
        self.arm_fetch(out);
    }

    /// `from` showed that it reached `seq` (its executed height, or a vote beyond the window):
    /// once f + 1 peers show a height above the last executed block, a correct one reached it.
    pub(super) fn claim(&mut self, from: NodeId, seq: u64, out: &mut Out) {
        let h = self.heights.entry(from).or_insert(0);
        *h = (*h).max(seq);
        let mut claims: Vec<u64> = self.heights.values().copied().collect();
        claims.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&h) = claims.get(self.f)
            && h > self.last_exec
        {
            self.behind(h, out);
        }
    }

    /// The delay before the next fetch round: the state-transfer timeout for the first
    /// FETCH_TRIES fruitless rounds, then doubling, bounded.
    fn fetch_delay(&self) -> Time {
        let doublings = self
            .fetch_tries
            .saturating_sub(FETCH_TRIES)
            .min(FETCH_BACKOFF_MAX);
        self.fetch_timeout.saturating_mul(1 << doublings)
    }

    /// Arms the state-transfer timer while this replica is behind, unless it is armed already
    /// with a delay no longer than the current one.
    fn arm_fetch(&mut self, out: &mut Out) {
        if self.last_exec >= self.target {
            return;
        }
        let after = self.fetch_delay();
        if self.fetch_armed && self.fetch_after <= after {
            return;
        }
        self.fetch_armed = true;
        self.fetch_after = after;
        self.fetch_goal = self.target;
        out.push(Action::SetTimer {
            id: TIMER_FETCH,
            after,
        });
    }

    /// The state-transfer timer: still behind, ask f + 1 peers (rotating, so that at least one
    /// correct replica is asked) for the committed blocks after the last executed one.
    pub(super) fn on_fetch_timer(&mut self, out: &mut Out) {
        self.fetch_armed = false;
        // Only what was already known when the timer started counts: in a pipelined run the
        // target keeps moving ahead of execution without anything being lost.
        if self.last_exec < self.fetch_goal {
            self.fetch_tries = self.fetch_tries.saturating_add(1);
            self.probe(out);
        }
        self.arm_fetch(out);
    }

    /// Sends FETCH to the next f + 1 peers in rotation (their replies also carry their heights).
    pub(super) fn probe(&mut self, out: &mut Out) {
        let others = self.n - 1;
        if others == 0 {
            return;
        }
        let ask = (self.f + 1).min(others);
        for i in 0..ask as u64 {
            let k = ((self.fetch_round * ask as u64 + i) % others as u64) as usize;
            let to = (self.id + 1 + k) % self.n;
            out.push(Action::Send {
                to,
                msg: Msg::Fetch {
                    after: self.last_exec,
                },
            });
        }
        self.fetch_round += 1;
    }

    /// A FETCH: reply with up to L executed blocks after `after`, with their certificates.
    pub(super) fn on_fetch(&mut self, from: NodeId, after: u64, out: &mut Out) {
        if from == self.id {
            return;
        }
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(self.chain.len());
        let end = start
            .saturating_add(self.window() as usize)
            .min(self.chain.len());
        let (height, blocks) = self.state_transfer_reply(self.chain[start..end].to_vec());
        out.push(Action::Send {
            to: from,
            msg: Msg::Blocks { height, blocks },
        });
    }

    /// Certified blocks from a peer: each one's commit certificate is checked; valid ones are
    /// executed in order. A full reply means there may be more: ask the same peer again.
    pub(super) fn on_blocks(
        &mut self,
        from: NodeId,
        height: u64,
        blocks: Vec<CertifiedBlock>,
        out: &mut Out,
    ) {
        self.claim(from, height, out);
        let full = blocks.len() as u64 >= self.window();
        for b in blocks {
            let valid = b.seq > self.last_exec
                && b.digest == block_digest(b.batch.as_ref())
                && valid_signers(&b.commits, self.n, self.q, None);
            if valid {
                self.ready.entry(b.seq).or_insert(b);
            }
        }
        let before = self.last_exec;
        self.execute(out);
        if self.last_exec > before {
            self.behind(self.target, out);
        }
        if full && self.last_exec > before {
            out.push(Action::Send {
                to: from,
                msg: Msg::Fetch {
                    after: self.last_exec,
                },
            });
        }
    }
}
