//! The harness's consensus plugins `pbft` and `poa`: one simulated network per run, continued
//! from round to round.
//!
//! Each `commit` hands the round's transactions to every validator as one [`Batch`] (digest:
//! blake2b-256 of the encoded transactions; size: their bytes plus a signature each) and runs
//! the simulation until a strict majority of the validators are honest nodes holding a block
//! with it final, or until `block-timeout-us` of simulated time has passed (then the block is
//! not final and the round keeps its global model); then the other honest, live validators get
//! as long again to catch up (laggards beyond that catch up while later commits run). The
//! report gives the simulated latency (to that majority, or the timeout), the messages and
//! bytes sent meanwhile (all of them, by type), the views the deciding majority moved through
//! since the last final block (view changes), and the forks and reorg depth honest nodes saw. The network, crashes and Byzantine validators come from the plugin's parameters; the
//! simulation's random streams derive from the first commit's seed.

use blake2::Digest as _;
use blake2::digest::consts::U32;
use securefl_api::{
    CommitReport, Consensus, ConsensusCtx, CostRecord, FaultModel, PluginError, Transaction,
};

use crate::sim::{Batch, Crash, NetConfig, Node, NodeId, Simulation, Time};

/// Counters a node exposes to the report.
pub trait Observed: Node<Input = Batch> {
    /// Its current view (PBFT), 0 for protocols without views.
    fn view_number(&self) -> u64 {
        0
    }
    /// Forks it has seen.
    fn forks_seen(&self) -> u64 {
        0
    }
    /// The deepest reorganisation of its best chain.
    fn deepest_reorg(&self) -> u64 {
        0
    }
}

impl Observed for crate::pbft::Replica {
    fn view_number(&self) -> u64 {
        self.view()
    }
}

impl Observed for crate::poa::Authority {
    fn forks_seen(&self) -> u64 {
        self.forks_observed()
    }
    fn deepest_reorg(&self) -> u64 {
        self.max_reorg_depth()
    }
}

/// Builds the nodes for `n` validators.
pub type MakeNodes<N> = Box<dyn Fn(usize) -> Result<Vec<N>, String> + Send>;

/// A function of the validator count: the fault model, the seal quorum.
pub type OfValidators<T> = Box<dyn Fn(usize) -> T + Send>;

/// A simulated protocol as a [`Consensus`] plugin.
pub struct SimConsensus<N: Observed> {
    name: &'static str,
    fault: OfValidators<FaultModel>,
    quorum: OfValidators<usize>,
    make: MakeNodes<N>,
    net: NetConfig,
    crashes: Vec<Crash>,
    block_timeout: Time,
    sim: Option<Simulation<N>>,
    next_batch: u64,
    validators: usize,
    /// The view in which the last final block was decided (by its deciding majority).
    decided_view: u64,
}

impl<N: Observed> SimConsensus<N> {
    /// The plugin `name` with its node builder, fault model, seal quorum, network, crash
    /// schedule and per-block timeout.
    pub fn new(
        name: &'static str,
        make: MakeNodes<N>,
        (fault, quorum): (OfValidators<FaultModel>, OfValidators<usize>),
        net: NetConfig,
        crashes: Vec<Crash>,
        block_timeout: Time,
    ) -> Self {
        Self {
            name,
            fault,
            quorum,
            make,
            net,
            crashes,
            block_timeout,
            sim: None,
            next_batch: 0,
            validators: 0,
            decided_view: 0,
        }
    }

    fn fail(&self, message: String) -> PluginError {
        let prefix = format!("{}: ", self.name);
        match message.starts_with(&prefix) {
            true => PluginError::invalid(message),
            false => PluginError::invalid(format!("{prefix}{message}")),
        }
    }

    fn simulation(&mut self, ctx: &ConsensusCtx) -> Result<&mut Simulation<N>, PluginError> {
        if self.sim.is_none() {
            let nodes = (self.make)(ctx.validators).map_err(|e| self.fail(e))?;
            let mut sim = Simulation::new(nodes, self.net.clone(), ctx.seed);
            for &c in &self.crashes {
                sim.crash(c);
            }
            self.sim = Some(sim);
            self.validators = ctx.validators;
        }
        self.sim
            .as_mut()
            .ok_or_else(|| PluginError::invalid("consensus: no simulation"))
    }
}

/// The batch standing for `txs`.
pub fn batch_of(id: u64, txs: &[Transaction]) -> Batch {
    let mut h = blake2::Blake2b::<U32>::new();
    let mut bytes = 0u64;
    for t in txs {
        h.update([t.kind as u8]);
        h.update(t.round.to_le_bytes());
        h.update(t.author.to_le_bytes());
        h.update((t.payload.len() as u64).to_le_bytes());
        h.update(&t.payload);
        // Kind, round, author, length, payload, and one ed25519 signature with its signer.
        bytes += 13 + t.payload.len() as u64 + 68;
    }
    Batch {
        id,
        digest: h.finalize().into(),
        bytes,
    }
}

/// What the report reads off the honest nodes `among`: the largest view, forks and reorg depth.
fn counters<N: Observed>(sim: &Simulation<N>, among: &[NodeId]) -> (u64, u64, u64) {
    among.iter().fold((0, 0, 0), |(v, f, r), &i| {
        let n = &sim.nodes()[i];
        (
            v.max(n.view_number()),
            f.max(n.forks_seen()),
            r.max(n.deepest_reorg()),
        )
    })
}

impl<N: Observed + Send> Consensus for SimConsensus<N>
where
    N::Msg: Send,
{
    fn fault_model(&self) -> FaultModel {
        (self.fault)(self.validators)
    }

    fn seal_quorum(&self, validators: usize) -> usize {
        (self.quorum)(validators).max(validators / 2 + 1)
    }

    fn check(&self, validators: usize) -> Result<(), PluginError> {
        // The network may name every simulated node, clones (PoA's clone attack) included.
        let nodes = (self.make)(validators).map_err(|e| self.fail(e))?;
        self.net.check(nodes.len()).map_err(|e| self.fail(e))?;
        if let Some(c) = self.crashes.iter().find(|c| c.node >= validators) {
            return Err(self.fail(format!(
                "crash of node {}, but there are {validators} validators",
                c.node
            )));
        }
        Ok(())
    }

    fn commit(
        &mut self,
        ctx: &ConsensusCtx,
        txs: &[Transaction],
    ) -> Result<CommitReport, PluginError> {
        let batch = batch_of(self.next_batch, txs);
        self.next_batch += 1;
        let (timeout, prev_view) = (self.block_timeout, self.decided_view);
        let sim = self.simulation(ctx)?;
        let start = sim.now();
        let n = sim.nodes().len();
        for node in 0..n {
            sim.input(start, node, batch);
        }
        let before = sim.metrics.by_type.clone();
        let validators = ctx.validators.min(n);
        let honest: Vec<NodeId> = {
            let h = sim.honest();
            (0..validators).filter(|&i| h[i]).collect()
        };
        let (_, forks0, reorg0) = counters(sim, &honest);
        let conflicts0 = sim.metrics.conflicts(&sim.honest()).len() as u64;
        let deciders = |s: &Simulation<N>| -> Vec<NodeId> {
            honest
                .iter()
                .copied()
                .filter(|&i| s.metrics.batch_final.contains_key(&(i, batch.id)))
                .collect()
        };
        // Final once a strict majority of the validators are honest nodes holding it final.
        let deadline = start.saturating_add(timeout);
        let finalized = sim.run_until(deadline, |s| 2 * deciders(s).len() > validators);
        let latency = sim.now() - start;
        let deciding = deciders(sim);
        if finalized {
            // Let the other honest, live validators catch up for as long again (so that a
            // fault-free block's messages are all counted in its own commit), no longer.
            let grace = sim.now().saturating_add(latency.max(1)).min(deadline);
            let everyone = |s: &Simulation<N>| {
                honest
                    .iter()
                    .all(|&i| s.is_crashed(i) || s.metrics.batch_final.contains_key(&(i, batch.id)))
            };
            sim.run_until(grace, everyone);
        }
        let (view, _, _) = counters(sim, &deciding);
        let (_, forks1, reorg) = counters(sim, &honest);
        let (view_changes, decided_view) = if finalized {
            (view.saturating_sub(prev_view), prev_view.max(view))
        } else {
            (0, prev_view)
        };
        // Its finality proof seals it: the validators whose votes made it final at the first
        // honest validator that holds it final (a PBFT commit certificate, the Aura
        // authorities that built on it), honest or not.
        let sealers = honest
            .iter()
            .find_map(|&i| sim.metrics.batch_proof.get(&(i, batch.id)))
            .map(|proof| proof.iter().copied().filter(|&v| v < validators).collect())
            .unwrap_or_default();
        let mut cost = CostRecord::default();
        let mut by_type = Vec::new();
        for (kind, c) in &sim.metrics.by_type {
            let old = before.get(kind).copied().unwrap_or_default();
            let (m, b) = (c.messages - old.messages, c.bytes - old.bytes);
            if m > 0 {
                by_type.push(((*kind).to_owned(), m, b));
            }
            cost.messages += m;
            cost.bytes += b;
        }
        let conflicts = sim.metrics.conflicts(&sim.honest()).len() as u64 - conflicts0;
        // Validators that hold this batch final with content other than what was handed in.
        let wrong_content = (0..validators)
            .filter(|&i| {
                let held = sim.metrics.batch_content.get(&(i, batch.id));
                held.is_some_and(|d| *d != batch.digest)
            })
            .count() as u64;
        self.decided_view = decided_view;
        Ok(CommitReport {
            finalized,
            latency_us: latency,
            cost,
            view_changes,
            forks: forks1 - forks0,
            // The deepest reorganisation so far, when this commit saw a deeper one.
            reorg_depth: if reorg > reorg0 { reorg } else { 0 },
            conflicts,
            wrong_content,
            by_type,
            sealers: Some(sealers),
        })
    }
}
