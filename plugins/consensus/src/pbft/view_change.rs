//! View change: VIEW-CHANGE with the stable checkpoint and the P set, NEW-VIEW with O computed
//! by the selection rule and recomputed by every backup, the f + 1 join rule, doubling
//! timeouts, and bounded view jumps (a NEW-VIEW far ahead needs f + 1 senders; the last view,
//! which has no successor, is never entered).

use std::collections::BTreeMap;

use super::config::Behaviour;
use super::messages::{Msg, NULL_DIGEST, NewView, PreparedProof, Proposal, StableProof};
use super::messages::{ViewChange, block_digest, valid_signers};
use super::replica::{Out, Replica, TIMER_RESEND};
use crate::sim::{Action, NodeId};

/// How many views past its own a replica accepts a NEW-VIEW for on the word of one sender
/// (two rotations of primaries); further only when f + 1 peers vouch for that view.
const VIEW_JUMP_PER_REPLICA: u64 = 2;

impl Replica {
    /// True when `w` is a view this replica has already installed (it is active in `w` or
    /// later): a message for it is answered, if at all, from what is stored.
    pub(super) fn stale_view(&self, w: u64) -> bool {
        w < self.view || (w == self.view && self.active)
    }

    /// True when this replica already holds `from`'s VIEW-CHANGE for view `w`.
    pub(super) fn holds(&self, from: NodeId, w: u64) -> bool {
        self.view_changes
            .get(&w)
            .is_some_and(|m| m.contains_key(&from))
    }

    /// Notes that `from` sent a VIEW-CHANGE or NEW-VIEW for view `w`.
    fn vouch(&mut self, from: NodeId, w: u64) {
        let v = self.vouches.entry(from).or_insert(0);
        *v = (*v).max(w);
    }

    /// True when view `w` may be entered: never the last view (it has no successor, so a
    /// replica there could never change view again), and far beyond this replica's view only
    /// when f + 1 peers (one of them correct) sent messages for `w` or a later view.
    fn plausible_view(&self, w: u64) -> bool {
        let jump = VIEW_JUMP_PER_REPLICA.saturating_mul(self.n as u64);
        let vouchers = self.vouches.values().filter(|&&v| v >= w).count();
        w < u64::MAX && (w <= self.view.saturating_add(jump) || vouchers > self.f)
    }

    /// This replica's VIEW-CHANGE for view `view`: its stable checkpoint and, for every
    /// sequence number above it, its highest-view prepared certificate.
    pub(super) fn own_view_change(&self, view: u64) -> ViewChange {
        let (h, high) = (self.stable.seq, self.high());
        ViewChange {
            view,
            replica: self.id,
            stable: self.stable.clone(),
            prepared: self
                .log
                .range(h.saturating_add(1)..=high)
                .filter_map(|(_, slot)| slot.prepared.clone())
                .filter(|_| self.behaviour != Behaviour::LyingViewChange)
                .collect(),
        }
    }

    /// Stops accepting normal-case messages and multicasts VIEW-CHANGE for view `w`.
    pub(super) fn start_view_change(&mut self, w: u64, out: &mut Out) {
        if w <= self.view {
            return;
        }
        self.view = w;
        self.active = false;
        self.backoff = self.backoff.saturating_add(1);
        self.stop_view_timer(out);
        let vc = self.own_view_change(w);
        self.view_changes.retain(|&v, _| v >= w);
        self.view_changes
            .entry(w)
            .or_default()
            .insert(self.id, vc.clone());
        out.push(Action::Broadcast {
            msg: Msg::ViewChange(vc),
        });
        out.push(Action::SetTimer {
            id: TIMER_RESEND,
            after: self.timeout(),
        });
        self.deferred.retain(|&(v, _), _| v >= w);
        self.progress_view_change(out);
    }

    /// Retransmits this replica's VIEW-CHANGE while the view change lasts, and probes f + 1
    /// peers for committed blocks: a replica that lost messages may be alone in asking for a
    /// view change while the others have moved on in their view.
    pub(super) fn resend_view_change(&mut self, out: &mut Out) {
        if self.active {
            return;
        }
        self.probe(out);
        if let Some(vc) = self
            .view_changes
            .get(&self.view)
            .and_then(|m| m.get(&self.id))
        {
            out.push(Action::Broadcast {
                msg: Msg::ViewChange(vc.clone()),
            });
        }
        out.push(Action::SetTimer {
            id: TIMER_RESEND,
            after: self.timeout(),
        });
    }

    /// Checks a VIEW-CHANGE: its checkpoint proof, and each prepared certificate (inside the
    /// window above the checkpoint, from an earlier view, digest matching its batch, `q − 1`
    /// distinct backups). An invalid one is dropped whole; it never hides the valid ones.
    pub(super) fn valid_view_change(&self, vc: &ViewChange) -> bool {
        let s = &vc.stable;
        let stable_ok = if s.seq == 0 {
            s.signers.is_empty() && s.digest == NULL_DIGEST
        } else {
            s.seq.is_multiple_of(self.k) && valid_signers(&s.signers, self.n, self.q, None)
        };
        let mut last = s.seq;
        let prepared_ok = vc.prepared.iter().all(|p| {
            let ok = p.seq > last
                && p.seq <= s.seq.saturating_add(self.window())
                && p.view < vc.view
                && p.digest == block_digest(p.batch.as_ref())
                && valid_signers(&p.prepares, self.n, self.q - 1, Some(self.primary(p.view)));
            last = p.seq;
            ok
        });
        vc.replica < self.n && stable_ok && prepared_ok
    }

    /// The selection rule: min-s is the latest stable checkpoint in V, max-s the highest
    /// prepared sequence number; each sequence number in (min-s, max-s] gets the digest
    /// prepared in the highest view, or a null request.
    pub(super) fn select(vcs: &[ViewChange], w: u64) -> (StableProof, Vec<Proposal>) {
        let stable = vcs
            .iter()
            .map(|vc| &vc.stable)
            .fold(None::<&StableProof>, |best, s| match best {
                Some(b) if b.seq >= s.seq => Some(b),
                _ => Some(s),
            })
            .cloned()
            .unwrap_or(StableProof {
                seq: 0,
                digest: NULL_DIGEST,
                signers: Vec::new(),
            });
        let mut best: BTreeMap<u64, &PreparedProof> = BTreeMap::new();
        let skip = crate::mutant::active(crate::mutant::Mutant::SkipPSetRule);
        for p in vcs.iter().flat_map(|vc| &vc.prepared).filter(|_| !skip) {
            if p.seq <= stable.seq {
                continue;
            }
            let e = best.entry(p.seq).or_insert(p);
            if (p.view, p.digest) > (e.view, e.digest) {
                *e = p;
            }
        }
        let max_s = best.keys().next_back().copied().unwrap_or(stable.seq);
        let o = (stable.seq.saturating_add(1)..=max_s)
            .map(|seq| match best.get(&seq) {
                Some(p) => Proposal {
                    view: w,
                    seq,
                    digest: p.digest,
                    batch: p.batch,
                },
                None => Proposal {
                    view: w,
                    seq,
                    digest: NULL_DIGEST,
                    batch: None,
                },
            })
            .collect();
        (stable, o)
    }

    /// A VIEW-CHANGE. A stale one (for a view already installed) is answered with the NEW-VIEW
    /// that installed it; f + 1 for views above this replica's make it join the highest view
    /// that f + 1 senders reached.
    pub(super) fn on_view_change(&mut self, from: NodeId, vc: ViewChange, out: &mut Out) {
        if vc.replica != from || from == self.id || vc.view == u64::MAX {
            return;
        }
        if self.stale_view(vc.view) {
            // Dropped by its header (see `verify_cost`): only the stored NEW-VIEW is sent back.
            let answer = self.active
                && (vc.view < self.view || self.is_primary())
                && self
                    .new_view
                    .as_ref()
                    .is_some_and(|nv| nv.view == self.view)
                && self.answered.insert((from, self.view));
            if let (true, Some(nv)) = (answer, &self.new_view) {
                out.push(Action::Send {
                    to: from,
                    msg: Msg::NewView(nv.clone()),
                });
            }
            return;
        }
        if self.holds(from, vc.view) || !self.valid_view_change(&vc) {
            return;
        }
        self.vouch(from, vc.view);
        self.view_changes
            .entry(vc.view)
            .or_default()
            .entry(from)
            .or_insert(vc);
        let mut ahead: BTreeMap<NodeId, u64> = BTreeMap::new();
        for (&v, senders) in self.view_changes.range(self.view.saturating_add(1)..) {
            for &s in senders.keys() {
                ahead.insert(s, v);
            }
        }
        if ahead.len() > self.f {
            let mut views: Vec<u64> = ahead.into_values().collect();
            views.sort_unstable_by(|a, b| b.cmp(a));
            self.start_view_change(views[self.f], out);
        }
        self.progress_view_change(out);
    }

    /// With `q` VIEW-CHANGEs for its view, a replica starts the NEW-VIEW timer; the new primary
    /// multicasts NEW-VIEW.
    fn progress_view_change(&mut self, out: &mut Out) {
        let Some(vcs) = self.view_changes.get(&self.view) else {
            return;
        };
        if self.active || vcs.len() < self.q {
            return;
        }
        let vcs: Vec<ViewChange> = vcs.values().take(self.q).cloned().collect();
        if !self.view_timer {
            self.arm_view_timer(out);
        }
        if self.is_primary() {
            let (stable, pre_prepares) = Self::select(&vcs, self.view);
            let nv = NewView {
                view: self.view,
                primary: self.id,
                view_changes: vcs,
                pre_prepares: self.new_view_proposals(pre_prepares),
            };
            out.push(Action::Broadcast {
                msg: Msg::NewView(nv.clone()),
            });
            self.install_new_view(nv, stable, out);
        }
    }

    /// A NEW-VIEW (from the primary or forwarded): V must hold `q` valid VIEW-CHANGEs for the
    /// view from distinct replicas, and O must equal what the selection rule gives; otherwise
    /// it is rejected and the view-change timer moves on to the next view. A view far ahead
    /// needs f + 1 senders (see `plausible_view`): V's signatures are modelled, not checked.
    pub(super) fn on_new_view(&mut self, from: NodeId, nv: NewView, out: &mut Out) {
        if self.stale_view(nv.view) || from == self.id || nv.primary != self.primary(nv.view) {
            return;
        }
        self.vouch(from, nv.view);
        if !self.plausible_view(nv.view) {
            return;
        }
        let senders: Vec<NodeId> = nv.view_changes.iter().map(|vc| vc.replica).collect();
        let valid = valid_signers(&senders, self.n, self.q, None)
            && nv
                .view_changes
                .iter()
                .all(|vc| vc.view == nv.view && self.valid_view_change(vc));
        if !valid {
            return;
        }
        let (stable, o) = Self::select(&nv.view_changes, nv.view);
        if o != nv.pre_prepares {
            return;
        }
        self.install_new_view(nv, stable, out);
    }

    /// Enters the new view: adopts the checkpoint min-s, installs O as the view's
    /// pre-prepares (backups multicast PREPAREs for them), and lets the primary order the
    /// outstanding batches after max-s.
    fn install_new_view(&mut self, nv: NewView, stable: StableProof, out: &mut Out) {
        let w = nv.view;
        self.view = w;
        self.active = true;
        out.push(Action::CancelTimer { id: TIMER_RESEND });
        self.view_changes.retain(|&v, _| v > w);
        let max_s = nv.pre_prepares.last().map_or(stable.seq, |p| p.seq);
        self.next_seq = max_s.max(stable.seq).saturating_add(1);
        self.assigned = nv
            .pre_prepares
            .iter()
            .filter_map(|p| p.batch.map(|b| b.id))
            .collect();
        self.adopt_stable(stable, out);
        let primary = self.is_primary();
        for p in &nv.pre_prepares {
            if p.seq <= self.stable.seq {
                continue;
            }
            let slot = self.log.entry(p.seq).or_default();
            slot.pp = Some(p.clone());
            if !primary {
                slot.prepares
                    .entry(super::normal::vote_key(w, p.digest))
                    .or_default()
                    .insert(self.id);
                out.push(Action::Broadcast {
                    msg: Msg::Prepare(super::messages::Vote {
                        view: w,
                        seq: p.seq,
                        digest: p.digest,
                    }),
                });
            }
        }
        let seqs: Vec<u64> = nv.pre_prepares.iter().map(|p| p.seq).collect();
        self.new_view = Some(nv);
        for seq in seqs {
            self.check_slot(seq, out);
        }
        self.stop_view_timer(out);
        self.await_requests(out);
        self.replay_deferred(out);
        self.propose(out);
    }
}
