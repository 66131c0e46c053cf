//! Running PBFT on the simulator: a batch workload and a driver that hands every batch to every
//! replica and runs until all honest replicas that end up running have executed every batch.

use rand::RngCore;

use super::config::Pbft;
use super::replica::Replica;
use crate::sim::{Batch, Crash, NetConfig, Node, Simulation, Time};

/// `count` batches of `bytes` bytes, the first at `start`, one every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// Number of batches.
    pub count: usize,
    /// Bytes per batch.
    pub bytes: u64,
    /// Arrival of the first batch.
    pub start: Time,
    /// Time between batches.
    pub interval: Time,
}

impl Workload {
    /// The batches with their arrival times; ids `0..count`, digests drawn from `seed`.
    pub fn batches(&self, seed: u64) -> Vec<(Time, Batch)> {
        let mut rng = securefl_api::rng(seed, &["pbft", "batches"]);
        (0..self.count)
            .map(|i| {
                let mut digest = [0u8; 32];
                rng.fill_bytes(&mut digest);
                digest[0] |= 1; // never the null digest
                let at = self.start + i as Time * self.interval;
                let batch = Batch {
                    id: i as u64,
                    digest,
                    bytes: self.bytes,
                };
                (at, batch)
            })
            .collect()
    }
}

/// Runs `cfg`'s replicas on `net` with `seed`: every batch goes to every replica at its time,
/// `crashes` are applied, and the run stops once every honest replica that is not left crashed
/// has executed every batch, or at `deadline`.
pub fn simulate(
    cfg: &Pbft,
    net: NetConfig,
    seed: u64,
    batches: &[(Time, Batch)],
    crashes: &[Crash],
    deadline: Time,
) -> Simulation<Replica> {
    let mut sim = Simulation::new(cfg.replicas(), net, seed);
    for &(at, batch) in batches {
        for node in 0..cfg.n() {
            sim.input(at, node, batch);
        }
    }
    for &c in crashes {
        sim.crash(c);
    }
    let watched: Vec<usize> = (0..cfg.n())
        .filter(|&i| {
            cfg.behaviour(i) == super::Behaviour::Honest
                && !crashes.iter().any(|c| c.node == i && c.recover.is_none())
        })
        .collect();
    let total = batches.len();
    sim.run_until(deadline, |s| {
        watched
            .iter()
            .all(|&i| s.nodes()[i].is_honest() && s.nodes()[i].executed_batches() >= total)
    });
    sim
}
