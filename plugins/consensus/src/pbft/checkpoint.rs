//! Checkpoints, watermarks and garbage collection; state transfer for lagging replicas.
//!
//! Every K executed sequence numbers a replica multicasts CHECKPOINT(seq, state digest); `q`
//! matching ones make the checkpoint stable: the low watermark h moves to it, H = h + 2K, and
//! the log at or below h is discarded. Executed blocks stay in the ledger (`chain`) with their
//! commit certificates, which is what state transfer ships: a replica that learns it is behind
//! (a stable checkpoint above what it executed, or f + 1 matching COMMITs for a sequence number
//! it has not executed) fetches the committed blocks from f + 1 peers, checks each commit
//! certificate, and executes them in order.

use super::messages::{CertifiedBlock, Digest, Msg, StableProof, block_digest, valid_signers};
use super::replica::{Out, Replica, TIMER_FETCH};
use crate::sim::{Action, NodeId};

/// Fetch rounds without progress before a replica stops asking (until new evidence arrives):
/// evidence that a sequence number exists does not prove it will ever commit with that digest.
const FETCH_TRIES: u32 = 4;

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
        let voters = self
            .checkpoint_votes
            .entry(seq)
            .or_default()
            .entry(digest)
            .or_default();
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

    /// Notes that blocks up to `seq` were committed by others; fetches them unless this
    /// replica executes them on its own before the state-transfer timer fires.
    pub(super) fn behind(&mut self, seq: u64, out: &mut Out) {
        if seq > self.target {
            self.target = seq;
            self.fetch_tries = 0;
        }
        if self.last_exec < self.target && self.fetch_tries < FETCH_TRIES && !self.fetch_armed {
            self.fetch_armed = true;
            self.fetch_goal = self.target;
            out.push(Action::SetTimer {
                id: TIMER_FETCH,
                after: self.fetch_timeout,
            });
        }
    }

    /// The state-transfer timer: still behind, ask f + 1 peers (rotating, so that at least one
    /// correct replica is asked) for the committed blocks after the last executed one.
    pub(super) fn on_fetch_timer(&mut self, out: &mut Out) {
        self.fetch_armed = false;
        // Only what was already known when the timer started counts: in a pipelined run the
        // target keeps moving ahead of execution without anything being lost.
        if self.last_exec < self.fetch_goal && self.fetch_tries < FETCH_TRIES {
            self.fetch_tries += 1;
            self.probe(out);
        }
        self.behind(self.target, out);
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
        out.push(Action::Send {
            to: from,
            msg: Msg::Blocks {
                height: self.last_exec,
                blocks: self.chain[start..end].to_vec(),
            },
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
        // f + 1 replicas claim at least this height, so a correct one has executed it.
        self.heights.insert(from, height);
        let mut claims: Vec<u64> = self.heights.values().copied().collect();
        claims.sort_unstable_by(|a, b| b.cmp(a));
        if let Some(&h) = claims.get(self.f)
            && h > self.last_exec
        {
            self.behind(h, out);
        }
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
            self.fetch_tries = 0;
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
