//! What a simulation measures: messages and bytes by type, finality per node, and the safety
//! invariant (no two honest nodes finalize different blocks at one height).

use std::collections::BTreeMap;

use super::{NodeId, Time};

/// Messages and bytes of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeCount {
    /// Messages sent.
    pub messages: u64,
    /// Bytes sent.
    pub bytes: u64,
}

/// One node finalizing one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finality {
    /// The node.
    pub node: NodeId,
    /// The block's height.
    pub height: u64,
    /// The block's digest.
    pub digest: [u8; 32],
    /// When.
    pub time: Time,
    /// The batches it carries.
    pub batches: Vec<u64>,
    /// Their digests, in the same order.
    pub contents: Vec<[u8; 32]>,
    /// Its finality proof: the nodes whose votes made it final at this node.
    pub proof: Vec<NodeId>,
}

/// Everything a run records.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    /// Sent messages by type.
    pub by_type: BTreeMap<&'static str, TypeCount>,
    /// Messages lost on the way.
    pub lost: u64,
    /// Events processed (deliveries, timers, inputs, crashes).
    pub events: u64,
    /// Every finality event, in simulated-time order.
    pub finality: Vec<Finality>,
    /// Per node: height → finalized digest.
    pub finalized: Vec<BTreeMap<u64, [u8; 32]>>,
    /// `(node, batch id)` → when the node first finalized a block carrying the batch.
    pub batch_final: BTreeMap<(NodeId, u64), Time>,
    /// `(node, batch id)` → the digest of the batch in that first block.
    pub batch_content: BTreeMap<(NodeId, u64), [u8; 32]>,
    /// `(node, batch id)` → the finality proof of that first block.
    pub batch_proof: BTreeMap<(NodeId, u64), Vec<NodeId>>,
}

impl Metrics {
    /// Metrics for `n` nodes.
    pub fn new(n: usize) -> Self {
        Self {
            finalized: vec![BTreeMap::new(); n],
            ..Self::default()
        }
    }

    /// Counts one sent message.
    pub fn sent(&mut self, kind: &'static str, bytes: u64) {
        let c = self.by_type.entry(kind).or_default();
        c.messages += 1;
        c.bytes += bytes;
    }

    /// Records a node's finality; a node finalizing a height twice keeps its first digest (a
    /// second, different one is a safety violation of its own, kept in `finality`).
    pub fn finalize(&mut self, f: Finality) {
        self.finalized[f.node].entry(f.height).or_insert(f.digest);
        for (i, &b) in f.batches.iter().enumerate() {
            self.batch_final.entry((f.node, b)).or_insert(f.time);
            if let Some(&d) = f.contents.get(i) {
                self.batch_content.entry((f.node, b)).or_insert(d);
            }
            self.batch_proof
                .entry((f.node, b))
                .or_insert_with(|| f.proof.clone());
        }
        self.finality.push(f);
    }

    /// Total messages and bytes.
    pub fn total(&self) -> TypeCount {
        self.by_type
            .values()
            .fold(TypeCount::default(), |a, c| TypeCount {
                messages: a.messages + c.messages,
                bytes: a.bytes + c.bytes,
            })
    }

    /// Heights at which honest nodes (`honest[i]`) finalized different digests, or one honest
    /// node finalized two: each with the digests seen.
    pub fn conflicts(&self, honest: &[bool]) -> Vec<(u64, Vec<[u8; 32]>)> {
        let mut seen: BTreeMap<u64, Vec<[u8; 32]>> = BTreeMap::new();
        for f in self.finality.iter().filter(|f| honest[f.node]) {
            let ds = seen.entry(f.height).or_default();
            if !ds.contains(&f.digest) {
                ds.push(f.digest);
            }
        }
        seen.into_iter().filter(|(_, ds)| ds.len() > 1).collect()
    }

    /// The time at which every node in `nodes` had finalized `height`, if all did.
    pub fn all_final_at(&self, nodes: &[NodeId], height: u64) -> Option<Time> {
        nodes
            .iter()
            .map(|&n| {
                self.finality
                    .iter()
                    .find(|f| f.node == n && f.height == height)
                    .map(|f| f.time)
            })
            .try_fold(0, |acc, t| t.map(|t| acc.max(t)))
    }
}
