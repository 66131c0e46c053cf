//! The replica: its state and the [`Node`] implementation that dispatches to the protocol parts
//! (normal case, checkpoints and state transfer, view change, Byzantine behaviours).

use std::collections::{BTreeMap, BTreeSet};

use super::config::{Behaviour, Pbft};
use super::messages::{CertifiedBlock, Digest, Msg, NewView, PreparedProof, Proposal, StableProof};
use super::messages::{NULL_DIGEST, ViewChange};
use crate::sim::{Action, Batch, Message, Node, NodeId, Time};

/// View-change timer: waits for a pending request (active) or for a NEW-VIEW (view change).
pub(super) const TIMER_VIEW: u64 = 1;
/// State-transfer timer: (re)fetch committed blocks while behind.
pub(super) const TIMER_FETCH: u64 = 2;
/// Retransmits this replica's VIEW-CHANGE while the view change lasts (lossy networks).
pub(super) const TIMER_RESEND: u64 = 3;
/// A spurious-view-change replica's periodic VIEW-CHANGE.
pub(super) const TIMER_SPURIOUS: u64 = 4;

/// Outgoing actions.
pub(super) type Out = Vec<Action<Msg>>;

/// One sequence number's log entry.
#[derive(Debug, Clone, Default)]
pub(super) struct Slot {
    /// The accepted PRE-PREPARE of the highest view seen (one digest per view).
    pub(super) pp: Option<Proposal>,
    /// PREPARE senders per (view, digest).
    pub(super) prepares: BTreeMap<(u64, Digest), BTreeSet<NodeId>>,
    /// COMMIT senders per (view, digest).
    pub(super) commits: BTreeMap<(u64, Digest), BTreeSet<NodeId>>,
    /// The highest-view prepared certificate.
    pub(super) prepared: Option<PreparedProof>,
    /// The view in which this replica prepared and sent its COMMIT.
    pub(super) commit_view: Option<u64>,
    /// Committed-local (queued for execution).
    pub(super) committed: bool,
}

/// A PBFT replica: a pure state machine for [`crate::sim::Simulation`].
#[derive(Debug, Clone)]
pub struct Replica {
    pub(super) id: NodeId,
    pub(super) n: usize,
    pub(super) f: usize,
    pub(super) q: usize,
    pub(super) k: u64,
    pub(super) base_timeout: Time,
    pub(super) fetch_timeout: Time,
    pub(super) behaviour: Behaviour,
    // View.
    pub(super) view: u64,
    pub(super) active: bool,
    pub(super) backoff: u32,
    pub(super) view_timer: bool,
    // Normal case.
    pub(super) log: BTreeMap<u64, Slot>,
    pub(super) deferred: BTreeMap<(u64, u64), Proposal>,
    pub(super) next_seq: u64,
    pub(super) assigned: BTreeSet<u64>,
    // Requests: arrival index → batch, and batch id → arrival index.
    pub(super) pending: BTreeMap<u64, Batch>,
    pub(super) pending_ids: BTreeMap<u64, u64>,
    pub(super) arrivals: u64,
    pub(super) executed_ids: BTreeSet<u64>,
    // The client's digest of every batch it handed this replica, by id: what proposals must carry.
    pub(super) client: BTreeMap<u64, Digest>,
    // Execution.
    pub(super) last_exec: u64,
    pub(super) state: Digest,
    pub(super) ready: BTreeMap<u64, CertifiedBlock>,
    pub(super) chain: Vec<CertifiedBlock>,
    // Checkpoints.
    pub(super) stable: StableProof,
    pub(super) checkpoint_votes: BTreeMap<u64, BTreeMap<Digest, BTreeSet<NodeId>>>,
    // State transfer.
    pub(super) target: u64,
    // COMMIT senders per sequence number in (last executed, last executed + L].
    pub(super) commit_evidence: BTreeMap<u64, BTreeSet<NodeId>>,
    pub(super) fetch_round: u64,
    pub(super) fetch_armed: bool,
    pub(super) fetch_after: Time,
    pub(super) fetch_tries: u32,
    pub(super) fetch_goal: u64,
    // Per peer: the highest sequence number it showed it reached (blocks, far votes).
    pub(super) heights: BTreeMap<NodeId, u64>,
    // View change.
    pub(super) view_changes: BTreeMap<u64, BTreeMap<NodeId, ViewChange>>,
    pub(super) new_view: Option<NewView>,
    pub(super) answered: BTreeSet<(NodeId, u64)>,
    // Per peer: the highest view it sent a VIEW-CHANGE or NEW-VIEW for.
    pub(super) vouches: BTreeMap<NodeId, u64>,
    // Spurious view change: the view it harasses and how often it has, for its back-off.
    pub(super) spurious_view: u64,
    pub(super) spurious_round: u32,
}

impl Replica {
    /// Replica `id` of `cfg`.
    pub fn new(id: NodeId, cfg: &Pbft) -> Self {
        Self {
            id,
            n: cfg.n,
            f: cfg.f,
            q: cfg.q,
            k: cfg.k,
            base_timeout: cfg.timeout,
            fetch_timeout: cfg.fetch_timeout,
            behaviour: cfg.behaviour(id),
            view: 0,
            active: true,
            backoff: 0,
            view_timer: false,
            log: BTreeMap::new(),
            deferred: BTreeMap::new(),
            next_seq: 1,
            assigned: BTreeSet::new(),
            pending: BTreeMap::new(),
            pending_ids: BTreeMap::new(),
            arrivals: 0,
            executed_ids: BTreeSet::new(),
            client: BTreeMap::new(),
            last_exec: 0,
            state: NULL_DIGEST,
            ready: BTreeMap::new(),
            chain: Vec::new(),
            stable: StableProof {
                seq: 0,
                digest: NULL_DIGEST,
                signers: Vec::new(),
            },
            checkpoint_votes: BTreeMap::new(),
            target: 0,
            commit_evidence: BTreeMap::new(),
            fetch_round: 0,
            fetch_armed: false,
            fetch_after: 0,
            fetch_tries: 0,
            fetch_goal: 0,
            heights: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            new_view: None,
            answered: BTreeSet::new(),
            vouches: BTreeMap::new(),
            spurious_view: 0,
            spurious_round: 0,
        }
    }

    /// Its index.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its behaviour.
    pub fn behaviour(&self) -> Behaviour {
        self.behaviour
    }

    /// The view it is in (or moving to, during a view change).
    pub fn view(&self) -> u64 {
        self.view
    }

    /// False while a view change is under way (normal-case messages are not accepted).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The last sequence number executed (finalized), in order.
    pub fn last_executed(&self) -> u64 {
        self.last_exec
    }

    /// Distinct batches executed.
    pub fn executed_batches(&self) -> usize {
        self.executed_ids.len()
    }

    /// The low watermark h (last stable checkpoint).
    pub fn low_watermark(&self) -> u64 {
        self.stable.seq
    }

    /// Sequence numbers held in the message log (garbage-collected at stable checkpoints).
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// Votes held as evidence of others' progress: COMMIT senders (at most L sequence numbers
    /// above the last executed one) plus CHECKPOINT votes (one per sender and checkpoint, at
    /// most L above the low watermark or the last executed one).
    pub fn tracked_votes(&self) -> usize {
        let commits: usize = self.commit_evidence.values().map(BTreeSet::len).sum();
        let checkpoints: usize = self
            .checkpoint_votes
            .values()
            .flat_map(BTreeMap::values)
            .map(BTreeSet::len)
            .sum();
        commits + checkpoints
    }

    /// A one-line summary of the replica's state, for diagnostics.
    pub fn summary(&self) -> String {
        let slots: Vec<String> = self
            .log
            .iter()
            .map(|(s, slot)| {
                let pp = slot.pp.as_ref().map(|p| (p.view, p.digest[0]));
                let prepared = slot.prepared.as_ref().map(|p| (p.view, p.digest[0]));
                format!("{s}:pp{pp:?}/pr{prepared:?}/c{}", u8::from(slot.committed))
            })
            .collect();
        let vcs: Vec<(u64, Vec<NodeId>)> = self
            .view_changes
            .iter()
            .map(|(v, m)| (*v, m.keys().copied().collect()))
            .collect();
        format!(
            "#{} {:?} view {}{} exec {} h {} pending {} timer {} backoff {} target {} vcs {vcs:?} [{}]",
            self.id,
            self.behaviour,
            self.view,
            if self.active { "" } else { " (changing)" },
            self.last_exec,
            self.stable.seq,
            self.pending.len(),
            self.view_timer,
            self.backoff,
            self.target,
            slots.join(" ")
        )
    }

    /// The primary of view `v`.
    pub(super) fn primary(&self, v: u64) -> NodeId {
        (v % self.n as u64) as NodeId
    }

    /// True when this replica is the primary of its view.
    pub(super) fn is_primary(&self) -> bool {
        self.primary(self.view) == self.id
    }

    /// The log window L = 2K.
    pub(super) fn window(&self) -> u64 {
        2 * self.k
    }

    /// The high watermark H = h + L.
    pub(super) fn high(&self) -> u64 {
        self.stable.seq.saturating_add(self.window())
    }

    /// The current view-change timeout: T doubled for each successive view change.
    pub(super) fn timeout(&self) -> Time {
        self.base_timeout.saturating_mul(1 << self.backoff.min(16))
    }

    /// (Re)starts the view-change timer.
    pub(super) fn arm_view_timer(&mut self, out: &mut Out) {
        self.view_timer = true;
        out.push(Action::SetTimer {
            id: TIMER_VIEW,
            after: self.timeout(),
        });
    }

    /// Stops the view-change timer.
    pub(super) fn stop_view_timer(&mut self, out: &mut Out) {
        if self.view_timer {
            self.view_timer = false;
            out.push(Action::CancelTimer { id: TIMER_VIEW });
        }
    }

    fn dispatch(&mut self, from: NodeId, msg: Msg, out: &mut Out) {
        if from >= self.n {
            return;
        }
        match msg {
            Msg::Request(b) => self.on_request(b, out),
            Msg::PrePrepare(p) => self.on_pre_prepare(from, p, out),
            Msg::Prepare(v) => self.on_prepare(from, v, out),
            Msg::Commit(v) => self.on_commit(from, v, out),
            Msg::Checkpoint { seq, digest } => self.on_checkpoint(from, seq, digest, out),
            Msg::ViewChange(vc) => self.on_view_change(from, vc, out),
            Msg::NewView(nv) => self.on_new_view(from, nv, out),
            Msg::Fetch { after } => self.on_fetch(from, after, out),
            Msg::Blocks { height, blocks } => self.on_blocks(from, height, blocks, out),
        }
    }

    fn run(&mut self, body: impl FnOnce(&mut Self, &mut Out)) -> Out {
        if self.behaviour == Behaviour::CrashSilent {
            return Vec::new();
        }
        let mut out = Vec::new();
        body(self, &mut out);
        self.filter(out)
    }
}

impl Node for Replica {
    type Msg = Msg;
    type Input = Batch;

    fn on_start(&mut self, _now: Time) -> Out {
        self.run(|r, out| r.start_spurious(out))
    }

    fn on_input(&mut self, _now: Time, input: Batch) -> Out {
        self.run(|r, out| {
            r.client.entry(input.id).or_insert(input.digest);
            r.on_request(input, out);
        })
    }

    fn on_message(&mut self, _now: Time, from: NodeId, msg: Msg) -> Out {
        self.run(|r, out| r.dispatch(from, msg, out))
    }

    fn on_timer(&mut self, _now: Time, id: u64) -> Out {
        self.run(|r, out| match id {
            TIMER_VIEW => r.on_view_timer(out),
            TIMER_FETCH => r.on_fetch_timer(out),
            TIMER_RESEND => r.resend_view_change(out),
            TIMER_SPURIOUS => r.spurious_view_change(out),
            _ => {}
        })
    }

    fn on_recover(&mut self, _now: Time) -> Out {
        self.run(|r, out| {
            // Timers were lost in the crash.
            r.view_timer = false;
            r.fetch_armed = false;
            r.fetch_tries = 0;
            if r.active {
                r.await_requests(out);
            } else {
                r.arm_view_timer(out);
                r.resend_view_change(out);
            }
            r.start_spurious(out);
            // Ask everyone for the blocks committed while this replica was down.
            let after = r.last_exec;
            out.push(Action::Broadcast {
                msg: Msg::Fetch { after },
            });
            r.behind(r.target, out);
        })
    }

    fn verify_cost(&self, from: NodeId, msg: &Msg) -> u64 {
        // The cheap header first: a VIEW-CHANGE already held from its sender for its view, or
        // one for a view already installed (answered, if at all, with the stored NEW-VIEW),
        // and a NEW-VIEW for a view already installed, are dropped unverified.
        let dropped = match msg {
            Msg::ViewChange(vc) => self.stale_view(vc.view) || self.holds(from, vc.view),
            Msg::NewView(nv) => self.stale_view(nv.view),
            _ => false,
        };
        if dropped { 0 } else { msg.signatures() }
    }

    fn is_honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }
}
