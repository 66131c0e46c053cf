//! The consensus plugin kind: ordering each round's ledger transactions.

use crate::{CostRecord, PluginError};

/// What a round records on the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TxKind {
    /// The public keys of every hospital and validator (genesis only).
    KeyDirectory,
    /// A hospital's commitment to its submitted model (blake2b of the flat weights).
    ModelCommitment,
    /// A validator's verdict on a model.
    Verdict,
    /// Which models were aggregated, with which weights.
    Aggregation,
    /// The hash of the new global model.
    GlobalModel,
}

impl TxKind {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyDirectory => "key-directory",
            Self::ModelCommitment => "model-commitment",
            Self::Verdict => "verdict",
            Self::Aggregation => "aggregation",
            Self::GlobalModel => "global-model",
        }
    }
}

/// One ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// What it records.
    pub kind: TxKind,
    /// The federated round.
    pub round: u32,
    /// The hospital or validator that issued it.
    pub author: u32,
    /// The encoded content (hashes, verdict bytes).
    pub payload: Vec<u8>,
}

/// The faults a consensus protocol tolerates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultModel {
    /// No replication: nothing is tolerated (and nothing is agreed).
    Trusted,
    /// Up to `max_faulty` crashed nodes.
    Crash {
        /// Tolerated crashes.
        max_faulty: usize,
    },
    /// Up to `max_faulty` arbitrary (Byzantine) nodes.
    Byzantine {
        /// Tolerated Byzantine nodes.
        max_faulty: usize,
    },
}

/// Per-call context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsensusCtx {
    /// The federated round, from 1.
    pub round: usize,
    /// Number of validator nodes.
    pub validators: usize,
    /// This call's derived seed (network delays, faults).
    pub seed: u64,
}

/// What committing one round's transactions cost and gave.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitReport {
    /// True when the transactions are final.
    pub finalized: bool,
    /// Simulated time from proposal to finality, in microseconds.
    pub latency_us: u64,
    /// Messages and bytes exchanged.
    pub cost: CostRecord,
    /// View changes during the commit.
    pub view_changes: u64,
    /// Forks observed.
    pub forks: u64,
    /// Deepest switch of a node's best chain (blocks abandoned), 0 for protocols without forks.
    pub reorg_depth: u64,
    /// Safety violations first seen during this commit: heights at which honest nodes
    /// finalized different blocks (the simulator's conflict check); 0 for a trusted recorder.
    pub conflicts: u64,
    /// Validators that hold a block final carrying this commit's transactions with other
    /// content (a Byzantine proposer's wrong accepted set or model hash that enough colluding
    /// validators certified); 0 when validators refuse wrong content, as honest ones do.
    pub wrong_content: u64,
    /// Messages and bytes by type (`"prepare"`, `"block"`, ...), in name order.
    pub by_type: Vec<(String, u64, u64)>,
    /// The validators that finalized the block (they sign and seal it on the ledger); `None`
    /// for every validator (a trusted recorder).
    pub sealers: Option<Vec<usize>>,
}

impl CommitReport {
    /// A block that is final at once, at no cost (a trusted recorder).
    pub fn immediate() -> Self {
        Self {
            finalized: true,
            latency_us: 0,
            cost: CostRecord::default(),
            view_changes: 0,
            forks: 0,
            reorg_depth: 0,
            conflicts: 0,
            wrong_content: 0,
            by_type: Vec::new(),
            sealers: None,
        }
    }

    /// Adds `more` (a later commit of the same round): latencies, costs and counts add up,
    /// the reorg depth is the larger, and the round is final only if both are.
    pub fn absorb(&mut self, more: &Self) {
        self.finalized &= more.finalized;
        self.latency_us += more.latency_us;
        self.cost += more.cost.clone();
        self.view_changes += more.view_changes;
        self.forks += more.forks;
        self.conflicts += more.conflicts;
        self.wrong_content += more.wrong_content;
        self.reorg_depth = self.reorg_depth.max(more.reorg_depth);
        for (kind, n, b) in &more.by_type {
            match self.by_type.iter_mut().find(|(k, _, _)| k == kind) {
                Some((_, m, c)) => {
                    *m += n;
                    *c += b;
                }
                None => self.by_type.push((kind.clone(), *n, *b)),
            }
        }
        self.by_type.sort();
    }
}

/// A consensus protocol agreeing on each round's block of transactions.
///
/// Contract: `commit` runs the protocol to completion on its own simulated network (no wall
/// clock, no threads), deterministically for `ctx.seed`, and reports whether the block is final.
pub trait Consensus: Send {
    /// The faults tolerated by this configuration.
    fn fault_model(&self) -> FaultModel;

    /// How many validator seals prove a block final on the ledger: the protocol's commit
    /// quorum (PBFT's ⌈(n+f+1)/2⌉), at least a strict majority of `validators` (the default).
    fn seal_quorum(&self, validators: usize) -> usize {
        validators / 2 + 1
    }

    /// Refuses impossible settings (PBFT with n < 3f + 1).
    fn check(&self, _validators: usize) -> Result<(), PluginError> {
        Ok(())
    }

    /// Agrees on one block holding `txs`.
    fn commit(
        &mut self,
        ctx: &ConsensusCtx,
        txs: &[Transaction],
    ) -> Result<CommitReport, PluginError>;
}
