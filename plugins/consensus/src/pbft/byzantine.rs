//! Byzantine behaviours: the deviations a faulty replica makes from the honest state machine.
//!
//! A faulty replica runs the honest protocol and then changes what it sends: it equivocates as
//! primary (with a COMMIT for its second block too), sends a NEW-VIEW against the selection
//! rule, hides its prepared certificates in its VIEW-CHANGEs, lies in state transfer (an
//! inflated height, certificates cut below the quorum), proposes or votes for wrong
//! content (a batch altered under its id: a wrong accepted set or model hash, which honest
//! backups refuse against the client's copy), withholds or corrupts its votes, or multicasts
//! spurious VIEW-CHANGEs (backing off while its view stays the same, starting over in every new
//! view). A crash-silent replica does
//! nothing at all (see [`Replica`]'s `run`).

use super::config::Behaviour;
use super::messages::{CertifiedBlock, Msg, Proposal, Vote, block_digest, hash};
use super::replica::{Out, Replica, TIMER_SPURIOUS};
use crate::sim::{Action, Batch};

/// A spurious view-changer's period doubles at most this many times (T/2 up to 16 T).
const SPURIOUS_BACKOFF_MAX: u32 = 5;

impl Replica {
    /// What this replica proposes for `batch`: the batch, or, for a wrong-content primary, the
    /// same batch with its digest altered (other content under the same id).
    pub(super) fn content_of(&self, batch: Batch) -> Batch {
        if self.behaviour == Behaviour::WrongContent {
            batch.with_other_content()
        } else {
            batch
        }
    }

    /// The O set this replica sends in its NEW-VIEW: the selection rule's, or, for a bad
    /// new primary, every entry turned into a null request.
    pub(super) fn new_view_proposals(&self, o: Vec<Proposal>) -> Vec<Proposal> {
        if self.behaviour != Behaviour::BadNewView {
            return o;
        }
        o.into_iter()
            .map(|p| Proposal {
                digest: block_digest(None),
                batch: None,
                ..p
            })
            .collect()
    }

    /// What this replica answers a FETCH with: its height and blocks, or, for a liar, a height
    /// far above its own and each block's certificate cut to `q − 1` signers.
    pub(super) fn state_transfer_reply(
        &self,
        mut blocks: Vec<CertifiedBlock>,
    ) -> (u64, Vec<CertifiedBlock>) {
        if self.behaviour != Behaviour::LyingStateTransfer {
            return (self.last_exec, blocks);
        }
        for b in &mut blocks {
            b.commits.truncate(self.q.saturating_sub(1));
        }
        (self.last_exec.saturating_add(1_000), blocks)
    }

    /// Whether a backup votes for proposal `p`: an honest one only when its batch is the one
    /// the client handed it (a batch it never received cannot be checked and passes); a
    /// wrong-content one always.
    pub(super) fn content_valid(&self, p: &Proposal) -> bool {
        self.behaviour == Behaviour::WrongContent
            || p.batch.is_none_or(|b| b.matches_client(&self.client))
    }

    /// Sends a PRE-PREPARE to the backups. An equivocating primary sends it to the first half
    /// of the backups and a conflicting one (the next unassigned pending batch, or a null
    /// request) for the same (view, seq) to the other half.
    pub(super) fn send_pre_prepare(&self, p: Proposal, out: &mut Out) {
        if self.behaviour != Behaviour::EquivocatingLeader {
            out.push(Action::Broadcast {
                msg: Msg::PrePrepare(p),
            });
            return;
        }
        let alt_batch = self
            .pending
            .values()
            .find(|b| !self.assigned.contains(&b.id) && Some(b.digest) != Some(p.digest))
            .copied();
        let alt = Proposal {
            digest: block_digest(alt_batch.as_ref()),
            batch: alt_batch,
            ..p.clone()
        };
        let backups: Vec<usize> = (0..self.n).filter(|&i| i != self.id).collect();
        let half = backups.len() / 2;
        for (rank, &to) in backups.iter().enumerate() {
            let msg = if rank < half { &p } else { &alt };
            out.push(Action::Send {
                to,
                msg: Msg::PrePrepare(msg.clone()),
            });
            // It backs the second block with its COMMIT too, as it will the first.
            if rank >= half {
                out.push(Action::Send {
                    to,
                    msg: Msg::Commit(Vote {
                        view: alt.view,
                        seq: alt.seq,
                        digest: alt.digest,
                    }),
                });
            }
        }
    }

    /// A spurious-view-change replica arms its periodic timer: every T/2 at first, doubling
    /// (up to 2^SPURIOUS_BACKOFF_MAX times) while its view stays the same, and back to T/2 once
    /// the view changes, so every new view is harassed again.
    pub(super) fn start_spurious(&mut self, out: &mut Out) {
        if self.behaviour == Behaviour::SpuriousViewChange {
            let base = (self.base_timeout / 2).max(1);
            let after = base.saturating_mul(1 << self.spurious_round.min(SPURIOUS_BACKOFF_MAX));
            out.push(Action::SetTimer {
                id: TIMER_SPURIOUS,
                after,
            });
        }
    }

    /// Multicasts a VIEW-CHANGE for the next view while staying in the current one.
    pub(super) fn spurious_view_change(&mut self, out: &mut Out) {
        if self.spurious_view == self.view {
            self.spurious_round = self.spurious_round.saturating_add(1);
        } else {
            self.spurious_view = self.view;
            self.spurious_round = 0;
        }
        let vc = self.own_view_change(self.view.saturating_add(1));
        out.push(Action::Broadcast {
            msg: Msg::ViewChange(vc),
        });
        self.start_spurious(out);
    }

    /// Applies the vote deviations to what the honest state machine wants to send.
    pub(super) fn filter(&self, out: Out) -> Out {
        match self.behaviour {
            Behaviour::WithholdVotes => out
                .into_iter()
                .filter(|a| {
                    !matches!(
                        a,
                        Action::Broadcast {
                            msg: Msg::Prepare(_) | Msg::Commit(_)
                        }
                    )
                })
                .collect(),
            Behaviour::InvalidVotes => out
                .into_iter()
                .map(|a| match a {
                    Action::Broadcast {
                        msg: Msg::Prepare(v),
                    } => Action::Broadcast {
                        msg: Msg::Prepare(invalid(v)),
                    },
                    Action::Broadcast {
                        msg: Msg::Commit(v),
                    } => Action::Broadcast {
                        msg: Msg::Commit(invalid(v)),
                    },
                    other => other,
                })
                .collect(),
            _ => out,
        }
    }
}

/// The same vote for a digest nobody proposed.
fn invalid(v: Vote) -> Vote {
    Vote {
        digest: hash(&[b"pbft-invalid-block", &v.seq.to_le_bytes(), &v.digest]),
        ..v
    }
}
