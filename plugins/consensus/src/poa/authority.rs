//! An Aura authority as a simulator node: it seals in its steps, validates and buffers blocks,
//! fetches missing ancestors, follows the best chain and finalizes by rolling finality.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::chain::Chain;
use super::messages::{Block, Digest, Msg};
use super::params::{Behaviour, Params};
use crate::sim::{Action, Batch, Node, NodeId, Time};

/// The step timer's id.
const STEP_TIMER: u64 = 0;

/// Blocks with unknown parents a node keeps at most (more are dropped: a Byzantine flood must
/// not grow memory without bound).
const MAX_ORPHANS: usize = 4096;

/// One authority key run by one simulator node.
///
/// The simulator's [`NodeId`] is not the authority index: with a clone attack two nodes run
/// the same key. Every node knows which authority each node runs (`authority_of`), as peers
/// know each other's keys.
#[derive(Debug, Clone)]
pub struct Authority {
    node: NodeId,
    index: usize,
    authority_of: Arc<[usize]>,
    n: usize,
    params: Params,
    behaviour: Behaviour,
    honest: bool,
    chain: Chain,
    /// Batches handed to this node and not yet finalized by it, by id.
    mempool: BTreeMap<u64, Batch>,
    /// The client's digest of every batch handed to this node, by id: what blocks must carry.
    client: BTreeMap<u64, Digest>,
    finalized_batches: BTreeSet<u64>,
    /// Blocks waiting for their parent, by the parent's digest.
    orphans: BTreeMap<Digest, Vec<Arc<Block>>>,
    orphan_count: usize,
    /// Missing blocks asked for, and whom they were asked from.
    requested: BTreeMap<Digest, BTreeSet<NodeId>>,
    /// First block seen per step, to notice two blocks in one step.
    by_step: BTreeMap<u64, Digest>,
    last_sealed_step: u64,
    sealed: u64,
    equivocations: u64,
    invalid: u64,
}

impl Authority {
    /// Node `node` running authority `authority_of[node]` among `n` authorities.
    ///
    /// It counts as honest when its behaviour is [`Behaviour::Honest`] and no other node runs
    /// the same authority (a cloned key is Byzantine on both instances).
    pub fn new(
        node: NodeId,
        authority_of: Arc<[usize]>,
        n: usize,
        params: Params,
        behaviour: Behaviour,
    ) -> Result<Self, String> {
        params.check()?;
        let index = *authority_of.get(node).ok_or_else(|| {
            format!(
                "poa: node {node} has no authority ({} nodes)",
                authority_of.len()
            )
        })?;
        if let Some(bad) = authority_of.iter().find(|&&a| a >= n) {
            return Err(format!(
                "poa: authority index {bad} out of range ({n} authorities)"
            ));
        }
        let cloned = authority_of.iter().filter(|&&a| a == index).count() > 1;
        Ok(Self {
            node,
            index,
            n,
            honest: behaviour == Behaviour::Honest && !cloned,
            chain: Chain::new(n, &params),
            params,
            behaviour,
            authority_of,
            mempool: BTreeMap::new(),
            client: BTreeMap::new(),
            finalized_batches: BTreeSet::new(),
            orphans: BTreeMap::new(),
            orphan_count: 0,
            requested: BTreeMap::new(),
            by_step: BTreeMap::new(),
            last_sealed_step: 0,
            sealed: 0,
            equivocations: 0,
            invalid: 0,
        })
    }

    /// Its simulator node id.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The authority (key) index it runs.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Its behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Its best block.
    pub fn head(&self) -> &Block {
        self.chain.head()
    }

    /// Its last finalized block.
    pub fn finalized(&self) -> &Block {
        self.chain.finalized()
    }

    /// A block it knows, by digest.
    pub fn block(&self, digest: &Digest) -> Option<&Block> {
        self.chain.get(digest).map(|b| &**b)
    }

    /// Its best chain from genesis to the head, by digest.
    pub fn best_chain(&self) -> Vec<Digest> {
        self.chain.best_chain()
    }

    /// Blocks it saw whose parent already had a child (forks observed).
    pub fn forks_observed(&self) -> u64 {
        self.chain.forks()
    }

    /// Best-chain switches that dropped at least one block.
    pub fn reorgs(&self) -> u64 {
        self.chain.reorgs()
    }

    /// The most blocks one best-chain switch dropped.
    pub fn max_reorg_depth(&self) -> u64 {
        self.chain.max_reorg()
    }

    /// Blocks it sealed (an equivocating step counts once).
    pub fn blocks_sealed(&self) -> u64 {
        self.sealed
    }

    /// Steps in which it saw two different blocks.
    pub fn equivocations_seen(&self) -> u64 {
        self.equivocations
    }

    /// Blocks it refused as invalid.
    pub fn invalid_blocks(&self) -> u64 {
        self.invalid
    }

    /// Blocks it knows, genesis included.
    pub fn known_blocks(&self) -> usize {
        self.chain.len()
    }

    /// How far in the future a block's step may begin: a tenth of a step (the simulator has
    /// one clock, so honest blocks are never early).
    fn drift(&self) -> Time {
        self.params.step_us / 10
    }

    /// Arms the timer for its next step after `step`.
    fn arm(&self, now: Time, step: u64) -> Vec<Action<Msg>> {
        if self.behaviour == Behaviour::Silent {
            return Vec::new();
        }
        let n = self.n as u64;
        let first = step + 1;
        let next = first + (self.index as u64 + n - first % n) % n;
        let at = next.saturating_mul(self.params.step_us);
        vec![Action::SetTimer {
            id: STEP_TIMER,
            after: at.saturating_sub(now),
        }]
    }

    /// Seals on its best head in `step` and announces the block (two for an equivocator).
    fn seal(&mut self, step: u64) -> Vec<Action<Msg>> {
        let head = self.chain.head().clone();
        if step <= head.step || step <= self.last_sealed_step {
            return Vec::new();
        }
        self.last_sealed_step = step;
        self.sealed += 1;
        let in_chain: BTreeSet<u64> = self
            .chain
            .unfinalized()
            .iter()
            .flat_map(|b| b.batches.iter().map(|x| x.id))
            .collect();
        let pending: Vec<Batch> = self
            .mempool
            .values()
            .filter(|b| !in_chain.contains(&b.id) && !self.behaviour.censors(b.id))
            .take(self.params.max_batches_per_block)
            .map(|b| self.content_of(*b))
            .collect();
        let block = Arc::new(Block::seal(&head, step, self.index, 0, pending));
        let mut out = Vec::new();
        if self.behaviour == Behaviour::Equivocate {
            // The twin differs in extra data and carries nothing: each half of the network
            // sees a different block for this step.
            let twin = Arc::new(Block::seal(&head, step, self.index, 1, Vec::new()));
            let others: Vec<NodeId> = (0..self.authority_of.len())
                .filter(|&i| i != self.node)
                .collect();
            let half = others.len() / 2;
            for (k, &to) in others.iter().enumerate() {
                let b = if k < half { &block } else { &twin };
                out.push(Action::Send {
                    to,
                    msg: Msg::Block(b.clone()),
                });
            }
        } else {
            out.push(Action::Broadcast {
                msg: Msg::Block(block.clone()),
            });
        }
        out.extend(self.accept(block));
        out
    }

    /// What this authority seals for `batch`: the batch, or, for a wrong-content authority, the
    /// batch with its digest altered (other content under the same id).
    fn content_of(&self, batch: Batch) -> Batch {
        if self.behaviour == Behaviour::WrongContent {
            batch.with_other_content()
        } else {
            batch
        }
    }

    /// Whether this authority takes `block`: an honest one only when each batch it carries is
    /// the one the client handed it (a batch it never received cannot be checked and passes);
    /// a wrong-content one always.
    fn content_valid(&self, block: &Block) -> bool {
        self.behaviour == Behaviour::WrongContent
            || block.batches.iter().all(|b| b.matches_client(&self.client))
    }

    /// Handles a block from `from` (its author when `direct`, or a sync answer).
    fn receive(
        &mut self,
        now: Time,
        from: NodeId,
        block: Arc<Block>,
        direct: bool,
    ) -> Vec<Action<Msg>> {
        if self.chain.get(&block.digest).is_some() {
            return Vec::new();
        }
        // A direct announcement comes from its author's node (the network authenticates it);
        // a synced block is checked by its seal, which the model takes as unforgeable.
        let sender_ok = !direct || self.authority_of.get(from) == Some(&block.author);
        if !sender_ok
            || !self.content_valid(&block)
            || self
                .chain
                .check_alone(&block, &self.params, now, self.drift())
                .is_err()
        {
            self.invalid += 1;
            return Vec::new();
        }
        if self.chain.get(&block.parent).is_none() {
            return self.buffer(from, block);
        }
        self.accept(block)
    }

    /// Keeps a block whose parent is missing and asks `from` for the parent (once per peer).
    fn buffer(&mut self, from: NodeId, block: Arc<Block>) -> Vec<Action<Msg>> {
        let parent = block.parent;
        let waiting = self.orphans.entry(parent).or_default();
        if !waiting.iter().any(|b| b.digest == block.digest) && self.orphan_count < MAX_ORPHANS {
            waiting.push(block);
            self.orphan_count += 1;
        }
        if from != self.node && self.requested.entry(parent).or_default().insert(from) {
            return vec![Action::Send {
                to: from,
                msg: Msg::SyncRequest { want: parent },
            }];
        }
        Vec::new()
    }

    /// Inserts a block whose parent is known, then any orphans it unblocks; finalizes what
    /// the new head makes final.
    fn accept(&mut self, block: Arc<Block>) -> Vec<Action<Msg>> {
        let mut moved = false;
        let mut stack = vec![block];
        while let Some(b) = stack.pop() {
            self.requested.remove(&b.digest);
            let Some(parent) = self.chain.get(&b.parent) else {
                continue;
            };
            // `check_alone` ran when the block arrived.
            if Chain::check_parent(&b, parent).is_err() {
                self.invalid += 1;
                self.drop_orphans_of(b.digest);
                continue;
            }
            match self.by_step.get(&b.step) {
                Some(d) if *d != b.digest => self.equivocations += 1,
                Some(_) => {}
                None => {
                    self.by_step.insert(b.step, b.digest);
                }
            }
            moved |= self.chain.insert(b.clone());
            if let Some(kids) = self.orphans.remove(&b.digest) {
                self.orphan_count -= kids.len();
                stack.extend(kids);
            }
        }
        if moved { self.finalize() } else { Vec::new() }
    }

    /// Drops the orphans that descend from an invalid block.
    fn drop_orphans_of(&mut self, digest: Digest) {
        let mut stack = vec![digest];
        while let Some(d) = stack.pop() {
            if let Some(kids) = self.orphans.remove(&d) {
                self.orphan_count -= kids.len();
                self.invalid += kids.len() as u64;
                stack.extend(kids.iter().map(|k| k.digest));
            }
        }
    }

    /// Emits `Finalize` for every block rolling finality newly makes final, in order.
    fn finalize(&mut self) -> Vec<Action<Msg>> {
        let mut out = Vec::new();
        let (newly, proof) = self.chain.advance_finality();
        for b in newly {
            let mut batches = Vec::with_capacity(b.batches.len());
            let mut contents = Vec::with_capacity(b.batches.len());
            for batch in &b.batches {
                // A batch already final (a Byzantine block may repeat one) is not final twice.
                if self.finalized_batches.insert(batch.id) {
                    batches.push(batch.id);
                    contents.push(batch.digest);
                }
                self.mempool.remove(&batch.id);
            }
            out.push(Action::Finalize {
                height: b.height,
                digest: b.digest,
                batches,
                contents,
                proof: proof.clone(),
            });
        }
        out
    }
}

impl Node for Authority {
    type Msg = Msg;
    type Input = Batch;

    fn on_start(&mut self, now: Time) -> Vec<Action<Msg>> {
        self.arm(now, self.params.step_at(now))
    }

    fn on_input(&mut self, _now: Time, batch: Batch) -> Vec<Action<Msg>> {
        self.client.entry(batch.id).or_insert(batch.digest);
        if !self.finalized_batches.contains(&batch.id) {
            self.mempool.entry(batch.id).or_insert(batch);
        }
        Vec::new()
    }

    fn on_message(&mut self, now: Time, from: NodeId, msg: Msg) -> Vec<Action<Msg>> {
        match msg {
            Msg::Block(b) => self.receive(now, from, b, true),
            Msg::SyncBlock(b) => self.receive(now, from, b, false),
            Msg::SyncRequest { want } => match self.chain.get(&want) {
                Some(b) => vec![Action::Send {
                    to: from,
                    msg: Msg::SyncBlock(b.clone()),
                }],
                None => Vec::new(),
            },
        }
    }

    fn on_timer(&mut self, now: Time, id: u64) -> Vec<Action<Msg>> {
        if id != STEP_TIMER {
            return Vec::new();
        }
        let step = self.params.step_at(now);
        let mut out = Vec::new();
        if step % self.n as u64 == self.index as u64 && self.behaviour != Behaviour::Silent {
            out = self.seal(step);
        }
        out.extend(self.arm(now, step));
        out
    }

    fn is_honest(&self) -> bool {
        self.honest
    }
}
