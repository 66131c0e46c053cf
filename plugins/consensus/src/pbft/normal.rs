//! The normal case: PRE-PREPARE, PREPARE, COMMIT, and in-order execution.

use super::messages::{
    CertifiedBlock, Digest, Msg, NULL_DIGEST, PreparedProof, Proposal, Vote, block_digest, hash,
};
use super::replica::{Out, Replica};
use crate::sim::{Action, NodeId};

impl Replica {
    /// The primary assigns sequence numbers to pending batches, in arrival order, one batch per
    /// sequence number, while the high watermark allows.
    pub(super) fn propose(&mut self, out: &mut Out) {
        if !self.active || !self.is_primary() {
            return;
        }
        self.next_seq = self.next_seq.max(self.stable.seq.saturating_add(1));
        while self.next_seq <= self.high() {
            let Some(batch) = self
                .pending
                .values()
                .find(|b| !self.assigned.contains(&b.id))
                .copied()
            else {
                return;
            };
            self.assigned.insert(batch.id);
            let batch = self.content_of(batch);
            let p = Proposal {
                view: self.view,
                seq: self.next_seq,
                digest: batch.digest,
                batch: Some(batch),
            };
            self.next_seq += 1;
            self.send_pre_prepare(p.clone(), out);
            self.log.entry(p.seq).or_default().pp = Some(p.clone());
            self.check_slot(p.seq, out);
        }
    }

    /// A PRE-PREPARE from `from`: accepted when it comes from the primary of the replica's
    /// view, its digest is the batch's, `h < seq ≤ H`, and no other digest was accepted for
    /// (view, seq). Messages for a later view, or above H, wait (bounded) until they apply.
    pub(super) fn on_pre_prepare(&mut self, from: NodeId, p: Proposal, out: &mut Out) {
        if p.view < self.view
            || from != self.primary(p.view)
            || from == self.id
            || p.digest != block_digest(p.batch.as_ref())
            || p.seq <= self.stable.seq
            || !self.content_valid(&p)
        {
            return;
        }
        if p.view > self.view || !self.active || p.seq > self.high() {
            let bound = self.view.saturating_add(2 * self.n as u64);
            if p.seq <= self.stable.seq.saturating_add(2 * self.window()) && p.view <= bound {
                self.deferred.entry((p.view, p.seq)).or_insert(p);
            }
            return;
        }
        self.accept_pre_prepare(p, out);
    }

    /// Records a PRE-PREPARE of the current view and, as a backup, multicasts a PREPARE.
    pub(super) fn accept_pre_prepare(&mut self, p: Proposal, out: &mut Out) {
        let backup = self.primary(p.view) != self.id;
        let slot = self.log.entry(p.seq).or_default();
        if slot.pp.as_ref().is_some_and(|old| old.view >= p.view) {
            // One digest per (view, seq): a second pre-prepare, equal or conflicting, is ignored.
            return;
        }
        let (seq, vote) = (
            p.seq,
            Vote {
                view: p.view,
                seq: p.seq,
                digest: p.digest,
            },
        );
        slot.pp = Some(p);
        // This sequence number exists: if it has not executed by the state-transfer timeout,
        // ask peers for it (its votes may have been lost).
        self.behind(seq, out);
        let slot = self.log.entry(seq).or_default();
        if backup {
            slot.prepares
                .entry(vote_key(vote.view, vote.digest))
                .or_default()
                .insert(self.id);
            out.push(Action::Broadcast {
                msg: Msg::Prepare(vote),
            });
        }
        self.check_slot(seq, out);
    }

    /// True when (view, seq) lies where votes are kept: a view not behind, inside the window.
    fn keeps(&self, v: &Vote) -> bool {
        v.view >= self.view
            && v.seq > self.stable.seq
            && v.seq <= self.stable.seq.saturating_add(2 * self.window())
    }

    /// A PREPARE, counted per distinct backup and per digest.
    pub(super) fn on_prepare(&mut self, from: NodeId, v: Vote, out: &mut Out) {
        if !self.keeps(&v) || from == self.primary(v.view) {
            return;
        }
        let slot = self.log.entry(v.seq).or_default();
        slot.prepares
            .entry(vote_key(v.view, v.digest))
            .or_default()
            .insert(from);
        if v.view == self.view && self.active {
            self.check_slot(v.seq, out);
        }
    }

    /// A COMMIT, counted per distinct sender and per digest; f + 1 COMMITs from distinct
    /// replicas for a sequence number not yet executed (one of them correct, so the number is
    /// prepared) also tell a lagging replica what to fetch. Evidence is kept for L sequence
    /// numbers above the last executed one; a COMMIT further ahead raises its sender's claim.
    pub(super) fn on_commit(&mut self, from: NodeId, v: Vote, out: &mut Out) {
        if v.seq > self.last_exec.saturating_add(self.window()) {
            self.claim(from, v.seq, out);
        } else if v.seq > self.last_exec {
            let voters = self.commit_evidence.entry(v.seq).or_default();
            voters.insert(from);
            if voters.len() > self.f {
                self.behind(v.seq, out);
            }
        }
        if !self.keeps(&v) {
            return;
        }
        let slot = self.log.entry(v.seq).or_default();
        slot.commits
            .entry(vote_key(v.view, v.digest))
            .or_default()
            .insert(from);
        if v.view == self.view && self.active {
            self.check_slot(v.seq, out);
        }
    }

    /// Moves `seq` forward: prepared → multicast COMMIT; committed-local → queue execution.
    pub(super) fn check_slot(&mut self, seq: u64, out: &mut Out) {
        let (view, id, q) = (self.view, self.id, self.q);
        let Some(slot) = self.log.get_mut(&seq) else {
            return;
        };
        let (digest, batch) = match &slot.pp {
            Some(pp) if pp.view == view => (pp.digest, pp.batch),
            _ => return,
        };
        let key = vote_key(view, digest);
        if slot.commit_view != Some(view) {
            let prepares = slot.prepares.get(&key);
            if prepares.map_or(0, |s| s.len()) + 1 < q {
                return;
            }
            slot.prepared = Some(PreparedProof {
                view,
                seq,
                digest,
                batch,
                prepares: prepares.into_iter().flatten().copied().collect(),
            });
            slot.commit_view = Some(view);
            slot.commits.entry(key).or_default().insert(id);
            out.push(Action::Broadcast {
                msg: Msg::Commit(Vote { view, seq, digest }),
            });
        }
        let Some(commits) = slot.commits.get(&key).filter(|s| s.len() >= q) else {
            return;
        };
        if slot.committed || seq <= self.last_exec {
            return;
        }
        slot.committed = true;
        let block = CertifiedBlock {
            seq,
            view,
            digest,
            batch,
            commits: commits.iter().copied().collect(),
        };
        self.ready.entry(seq).or_insert(block);
        self.execute(out);
    }

    /// Executes committed blocks in sequence order and finalizes them; a batch already executed
    /// at a lower height is not executed again (the block finalizes with no batches).
    pub(super) fn execute(&mut self, out: &mut Out) {
        let mut progressed = false;
        while let Some(block) = self.ready.remove(&(self.last_exec + 1)) {
            let (mut batches, mut contents) = (Vec::new(), Vec::new());
            if let Some(b) = block.batch {
                if self.executed_ids.insert(b.id) {
                    batches.push(b.id);
                    contents.push(b.digest);
                    progressed = true;
                }
                if let Some(idx) = self.pending_ids.remove(&b.id) {
                    self.pending.remove(&idx);
                }
            }
            let seq = block.seq;
            self.state = hash(&[&self.state, &seq.to_le_bytes(), &block.digest]);
            self.last_exec = seq;
            out.push(Action::Finalize {
                height: seq,
                digest: block.digest,
                batches,
                contents,
                proof: block.commits.clone(),
            });
            self.chain.push(block);
            if seq.is_multiple_of(self.k) {
                self.take_checkpoint(seq, out);
            }
        }
        self.ready = self.ready.split_off(&self.last_exec.saturating_add(1));
        self.commit_evidence = self
            .commit_evidence
            .split_off(&self.last_exec.saturating_add(1));
        if progressed && self.active {
            // A request executed in this view: the view-change back-off starts over.
            self.backoff = 0;
            if self.pending.is_empty() {
                self.stop_view_timer(out);
            } else {
                self.arm_view_timer(out);
            }
        }
    }

    /// Replays deferred PRE-PREPAREs that now apply (view installed, window moved).
    pub(super) fn replay_deferred(&mut self, out: &mut Out) {
        let (view, h, high) = (self.view, self.stable.seq, self.high());
        self.deferred.retain(|&(v, s), _| v >= view && s > h);
        if !self.active {
            return;
        }
        let now: Vec<_> = self
            .deferred
            .range((view, 0)..=(view, high))
            .map(|(&k, _)| k)
            .collect();
        for k in now {
            if let Some(p) = self.deferred.remove(&k) {
                self.accept_pre_prepare(p, out);
            }
        }
    }
}

/// Where a vote is counted: per view and digest (all digests together under the
/// `VotesIgnoreDigest` mutant).
pub(super) fn vote_key(view: u64, digest: Digest) -> (u64, Digest) {
    if crate::mutant::active(crate::mutant::Mutant::VotesIgnoreDigest) {
        (view, NULL_DIGEST)
    } else {
        (view, digest)
    }
}
