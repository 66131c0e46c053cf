//! PBFT configuration: fault threshold and quorum arithmetic, parameters, Byzantine behaviours.

use serde::Deserialize;

use super::replica::Replica;
use crate::sim::{NodeId, Time};

/// The largest `f` with `n ≥ 3f + 1`: `⌊(n − 1) / 3⌋`.
pub fn max_faulty(n: usize) -> usize {
    n.saturating_sub(1) / 3
}

/// The quorum `⌈(n + f + 1) / 2⌉`: any two quorums share at least one correct replica. It equals
/// `2f + 1` only when `n = 3f + 1`; the naive `2f + 1` is unsafe otherwise (n = 5, 6, 8, 9, ...).
pub fn quorum(n: usize, f: usize) -> usize {
    (n + f + 1).div_ceil(2)
}

/// Messages per committed block in the fault-free case, checkpoints excluded: PRE-PREPARE `n − 1`
/// + PREPARE `(n − 1)²` + COMMIT `n(n − 1)` = `2n(n − 1)`.
pub fn messages_per_block(n: usize) -> u64 {
    let n = n as u64;
    2 * n * n.saturating_sub(1)
}

/// How a replica behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Never sends anything (and never finalizes).
    CrashSilent,
    /// As primary, sends one block to half of the backups and a different block (the next
    /// pending batch, or a null request) to the other half; otherwise follows the protocol.
    EquivocatingLeader,
    /// Never sends PREPARE or COMMIT.
    WithholdVotes,
    /// Sends its PREPAREs and COMMITs for a digest nobody proposed.
    InvalidVotes,
    /// Keeps multicasting VIEW-CHANGE messages for the next view while staying in its view.
    SpuriousViewChange,
    /// As primary, proposes each batch with content other than the client's (a wrong accepted
    /// set or model hash: the batch's digest altered); as a backup, votes for such content
    /// without checking it (wrong-content replicas collude). Honest replicas refuse a proposal
    /// whose batch differs from the one the client gave them.
    WrongContent,
    /// Sends VIEW-CHANGEs that claim nothing prepared (it hides its prepared certificates).
    LyingViewChange,
    /// As a new primary, sends a NEW-VIEW whose O set re-proposes every sequence number as a
    /// null request, against the selection rule (backups recompute O and refuse it).
    BadNewView,
    /// Answers state-transfer requests with lies it can tell without forging a signature: a
    /// height far above its own, and its blocks with commit certificates cut below the quorum.
    LyingStateTransfer,
}

impl Behaviour {
    /// Every behaviour, honest first.
    pub const ALL: [Self; 10] = [
        Self::Honest,
        Self::CrashSilent,
        Self::EquivocatingLeader,
        Self::WithholdVotes,
        Self::InvalidVotes,
        Self::SpuriousViewChange,
        Self::WrongContent,
        Self::LyingViewChange,
        Self::BadNewView,
        Self::LyingStateTransfer,
    ];

    /// The Byzantine behaviours.
    pub const BYZANTINE: [Self; 9] = [
        Self::CrashSilent,
        Self::EquivocatingLeader,
        Self::WithholdVotes,
        Self::InvalidVotes,
        Self::SpuriousViewChange,
        Self::WrongContent,
        Self::LyingViewChange,
        Self::BadNewView,
        Self::LyingStateTransfer,
    ];
}

/// One faulty replica of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fault {
    /// The replica.
    pub node: NodeId,
    /// What it does.
    pub behaviour: Behaviour,
}

/// PBFT parameters (config table `[consensus]` of a run).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Params {
    /// Byzantine faults to tolerate; default `⌊(n − 1) / 3⌋`. Refused when `n < 3f + 1`.
    #[serde(default)]
    pub f: Option<usize>,
    /// K: a checkpoint every K sequence numbers (default 16); the log window is L = 2K.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: u64,
    /// Base view-change timeout T (default 500 ms); it doubles on each successive view change.
    #[serde(default = "default_view_change_timeout")]
    pub view_change_timeout_us: Time,
    /// How long a replica that knows it is behind waits before (re)fetching committed blocks
    /// from its peers (default 100 ms).
    #[serde(default = "default_state_transfer_timeout")]
    pub state_transfer_timeout_us: Time,
    /// Faulty replicas (all others are honest). More than `f` of them voids the guarantees;
    /// it is allowed so that experiments can show it.
    #[serde(default)]
    pub faults: Vec<Fault>,
}

fn default_checkpoint_interval() -> u64 {
    16
}

fn default_view_change_timeout() -> Time {
    500_000
}

fn default_state_transfer_timeout() -> Time {
    100_000
}

impl Default for Params {
    fn default() -> Self {
        Self {
            f: None,
            checkpoint_interval: default_checkpoint_interval(),
            view_change_timeout_us: default_view_change_timeout(),
            state_transfer_timeout_us: default_state_transfer_timeout(),
            faults: Vec::new(),
        }
    }
}

/// A checked PBFT configuration for `n` replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pbft {
    pub(super) n: usize,
    pub(super) f: usize,
    pub(super) q: usize,
    pub(super) k: u64,
    pub(super) timeout: Time,
    pub(super) fetch_timeout: Time,
    pub(super) behaviours: Vec<Behaviour>,
}

impl Pbft {
    /// Checks `params` for `n` replicas; the error names the problem (for example `n` and `f`
    /// when `n < 3f + 1`).
    pub fn new(n: usize, params: &Params) -> Result<Self, String> {
        if n == 0 {
            return Err("pbft: n = 0 replicas; at least 1 is needed".into());
        }
        let f = params.f.unwrap_or_else(|| max_faulty(n));
        // In u128, 3f + 1 cannot overflow for any usize f.
        let need = 3 * f as u128 + 1;
        if (n as u128) < need {
            return Err(format!(
                "pbft: n = {n} replicas cannot tolerate f = {f} Byzantine faults: PBFT needs \
                 n ≥ 3f + 1 = {need} (largest f for n = {n} is {})",
                max_faulty(n)
            ));
        }
        if params.checkpoint_interval == 0 {
            return Err("pbft: checkpoint-interval must be at least 1".into());
        }
        if params.view_change_timeout_us == 0 || params.state_transfer_timeout_us == 0 {
            return Err(
                "pbft: view-change-timeout-us and state-transfer-timeout-us must be > 0".into(),
            );
        }
        let mut behaviours = vec![Behaviour::Honest; n];
        for fault in &params.faults {
            match behaviours.get_mut(fault.node) {
                None => {
                    return Err(format!(
                        "pbft: fault names replica {}, but there are {n} replicas",
                        fault.node
                    ));
                }
                Some(b) if *b != Behaviour::Honest => {
                    return Err(format!(
                        "pbft: replica {} is listed twice in faults",
                        fault.node
                    ));
                }
                Some(b) => *b = fault.behaviour,
            }
        }
        Ok(Self {
            n,
            f,
            q: if crate::mutant::active(crate::mutant::Mutant::QuorumTwoF) {
                2 * f
            } else {
                quorum(n, f)
            },
            k: params.checkpoint_interval,
            timeout: params.view_change_timeout_us,
            fetch_timeout: params.state_transfer_timeout_us,
            behaviours,
        })
    }

    /// Number of replicas.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Byzantine faults tolerated.
    pub fn f(&self) -> usize {
        self.f
    }

    /// Quorum size `⌈(n + f + 1) / 2⌉`.
    pub fn quorum(&self) -> usize {
        self.q
    }

    /// Checkpoint interval K.
    pub fn checkpoint_interval(&self) -> u64 {
        self.k
    }

    /// Log window L = 2K: the high watermark is the stable checkpoint plus L.
    pub fn log_window(&self) -> u64 {
        2 * self.k
    }

    /// The behaviour of replica `i`.
    pub fn behaviour(&self, i: NodeId) -> Behaviour {
        self.behaviours.get(i).copied().unwrap_or_default()
    }

    /// The `n` replicas, ready for a [`crate::sim::Simulation`].
    pub fn replicas(&self) -> Vec<Replica> {
        (0..self.n).map(|i| Replica::new(i, self)).collect()
    }
}
