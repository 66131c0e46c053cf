//! A deterministic discrete-event network simulator for consensus protocols.
//!
//! Protocols are pure state machines ([`Node`]): they react to an input, a message or a timer
//! with a list of [`Action`]s and never see a clock, a thread or a socket. The [`Simulation`]
//! owns the nodes, an event queue ordered by `(time, sequence)`, the network model
//! ([`network::NetConfig`]: delays, loss, partitions), the fault schedule (crashes and
//! recoveries) and a per-node CPU queue, and it records everything a run is measured by
//! ([`metrics::Metrics`]).
//!
//! Determinism: simulated time is an integer (microseconds); every random draw comes from a
//! seeded stream owned by one component (the network's delays, its losses); events at the same
//! time run in the order they were scheduled. The same nodes, config and seed give the same
//! trace, event for event.

pub mod engine;
pub mod metrics;
pub mod network;

pub use engine::{Crash, Simulation};
pub use metrics::{Finality, Metrics, TypeCount};
pub use network::{Delay, NetConfig, Partition};

/// Simulated time in microseconds.
pub type Time = u64;

/// A node's index, `0..n`.
pub type NodeId = usize;

/// One millisecond of simulated time.
pub const MS: Time = 1_000;

/// One second of simulated time.
pub const SECOND: Time = 1_000_000;

/// A protocol message as the network sees it.
pub trait Message: Clone + std::fmt::Debug {
    /// The message type, for per-type counts (`"prepare"`, `"commit"`, ...).
    fn kind(&self) -> &'static str;
    /// Bytes on the wire (payload, signatures and certificates).
    fn size(&self) -> u64;
    /// Signatures the receiver verifies (its CPU cost, see [`NetConfig::verify_us`]).
    fn signatures(&self) -> u64 {
        1
    }
}

/// What a node asks the simulator to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<M> {
    /// Send `msg` to one node.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        msg: M,
    },
    /// Send `msg` to every other node (one message per receiver).
    Broadcast {
        /// The message.
        msg: M,
    },
    /// Fire [`Node::on_timer`] with `id` after `after`; setting a timer that is already set
    /// replaces it.
    SetTimer {
        /// The timer's name, chosen by the node.
        id: u64,
        /// Delay from now.
        after: Time,
    },
    /// Cancel timer `id` if it is set.
    CancelTimer {
        /// The timer's name.
        id: u64,
    },
    /// The node considers the block `digest` at `height` final (recorded, never undone).
    Finalize {
        /// Height (sequence number) of the block.
        height: u64,
        /// The block's digest.
        digest: [u8; 32],
        /// The [`Batch`]es the block carries, by id (empty for a null or empty block).
        batches: Vec<u64>,
        /// Their digests, in the same order: the content this node holds final.
        contents: Vec<[u8; 32]>,
        /// The nodes whose votes made it final here (a PBFT commit certificate, the distinct
        /// Aura authorities that built on it), by validator index: its finality proof.
        proof: Vec<NodeId>,
    },
}

/// What the outside world asks a protocol to order: a batch of ledger transactions, known to the
/// protocol by its id, digest and size (the transactions themselves stay with the ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// Its id, unique within a run.
    pub id: u64,
    /// blake2b-256 of its transactions.
    pub digest: [u8; 32],
    /// Its size on the wire.
    pub bytes: u64,
}

impl Batch {
    /// The same batch with other content under its id (a Byzantine proposer's wrong accepted
    /// set or model hash): its digest altered.
    pub fn with_other_content(self) -> Self {
        let mut digest = self.digest;
        digest[31] ^= 0xa5;
        digest[0] |= 1;
        Self { digest, ..self }
    }

    /// Whether this batch is the client's copy of its id in `client` (a batch the client never
    /// handed over cannot be checked and passes).
    pub fn matches_client(&self, client: &std::collections::BTreeMap<u64, [u8; 32]>) -> bool {
        client.get(&self.id).is_none_or(|d| *d == self.digest)
    }
}

/// A protocol participant: a pure state machine driven by the simulator.
pub trait Node {
    /// Its messages.
    type Msg: Message;
    /// What the outside world hands it (a block of transactions to order).
    type Input: Clone;

    /// Called once at time 0.
    fn on_start(&mut self, now: Time) -> Vec<Action<Self::Msg>>;
    /// An input from outside (for example a client request).
    fn on_input(&mut self, now: Time, input: Self::Input) -> Vec<Action<Self::Msg>>;
    /// Signatures this node verifies before it handles `msg` from `from`, given its state: the
    /// CPU cost the simulator charges when the message arrives ([`NetConfig::verify_us`] each).
    /// A node that can drop a duplicate or stale message by its header returns fewer than
    /// [`Message::signatures`], which is the default.
    fn verify_cost(&self, from: NodeId, msg: &Self::Msg) -> u64 {
        let _ = from;
        msg.signatures()
    }
    /// A message from `from` (the network authenticates senders: `from` is never spoofed).
    fn on_message(&mut self, now: Time, from: NodeId, msg: Self::Msg) -> Vec<Action<Self::Msg>>;
    /// A timer set by this node fired.
    fn on_timer(&mut self, now: Time, id: u64) -> Vec<Action<Self::Msg>>;
    /// The node restarts after a crash with the state it had (its timers were lost).
    fn on_recover(&mut self, now: Time) -> Vec<Action<Self::Msg>> {
        self.on_start(now)
    }
    /// True when the node follows the protocol (safety is checked among honest nodes only).
    fn is_honest(&self) -> bool {
        true
    }
}
