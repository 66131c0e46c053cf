//! Helpers shared by the PoA test modules (`poa.rs`, `poa_faults.rs`, `poa_byzantine.rs`).

use std::collections::{BTreeMap, BTreeSet};

use securefl_consensus::poa::{Authority, Params};
use securefl_consensus::sim::{Batch, NetConfig, NodeId, Simulation, Time};

/// A batch of 1 kB with a digest derived from its id.
pub fn batch(id: u64) -> Batch {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&id.to_le_bytes());
    Batch {
        id,
        digest,
        bytes: 1_000,
    }
}

/// Params with step 1 s, the given threshold and the default block cap.
pub fn params(finality: f64) -> Params {
    Params {
        finality,
        ..Params::default()
    }
}

/// A simulation of `nodes` on the default network (5–15 ms delays).
pub fn simulate(nodes: Vec<Authority>, seed: u64) -> Simulation<Authority> {
    Simulation::new(nodes, NetConfig::default(), seed)
}

/// Hands batch `first + k` to every node at `start + k · every`, for `k < count`.
pub fn feed(sim: &mut Simulation<Authority>, first: u64, count: u64, start: Time, every: Time) {
    let nodes = sim.nodes().len();
    for k in 0..count {
        for node in 0..nodes {
            sim.input(start + k * every, node, batch(first + k));
        }
    }
}

/// Every batch id `node` finalized, with how often.
pub fn final_batches(sim: &Simulation<Authority>, node: NodeId) -> BTreeMap<u64, usize> {
    let mut out = BTreeMap::new();
    for f in sim.metrics.finality.iter().filter(|f| f.node == node) {
        for &id in &f.batches {
            *out.entry(id).or_insert(0) += 1;
        }
    }
    out
}

/// Asserts that each of `nodes` finalized each of `ids` exactly once.
pub fn assert_all_final(sim: &Simulation<Authority>, nodes: &[NodeId], ids: &BTreeSet<u64>) {
    for &node in nodes {
        let got = final_batches(sim, node);
        let missing: Vec<_> = ids.iter().filter(|i| !got.contains_key(i)).collect();
        assert!(
            missing.is_empty(),
            "node {node} never finalized {missing:?}"
        );
        assert!(
            got.values().all(|&c| c == 1),
            "node {node}: a batch final twice"
        );
    }
}

/// Asserts that no batch appears twice on `node`'s best chain.
pub fn assert_no_repeats(sim: &Simulation<Authority>, node: NodeId) {
    let a = &sim.nodes()[node];
    let mut seen = BTreeSet::new();
    for d in a.best_chain() {
        for id in a.block(&d).unwrap().batch_ids() {
            assert!(
                seen.insert(id),
                "node {node}: batch {id} twice on the best chain"
            );
        }
    }
}
