//! PBFT under Twins (Bano, Sonnino, Chursin, Perelman, Li, Ching & Malkhi, 2020): one replica's
//! identity runs on two nodes, each running the honest protocol, so together they equivocate at
//! every message type (pre-prepares, prepares, commits, checkpoints, view changes, new views,
//! state transfer) without any hand-written Byzantine code. n = 4 (f = 1) plus the twin: five
//! nodes. The run is cut into three 300 ms slots; in each, the five nodes are split into two
//! groups, or not at all, and every schedule is enumerated: 16 choices per slot (the 15 splits of
//! five nodes into two non-empty groups, and none), 16³ = 4,096 schedules, for the twinned
//! primary of view 0 and of view 1: 8,192 scenarios, seeded by their index (delays uniform in
//! 1–10 ms, three batches). After the last slot the network heals. No two honest replicas may
//! finalize different blocks at one height, and each honest replica finalizes submitted batches
//! or null requests only, heights in order, each batch once.

use securefl_consensus::pbft::{Params, Pbft, Workload};
use securefl_consensus::sim::{Delay, MS, NetConfig, Partition, SECOND, Simulation};

use crate::pbft_safety::honest_run;

/// Nodes: the four replicas and the twin.
const NODES: usize = 5;
/// The slots of a schedule and their length.
const SLOTS: usize = 3;
const SLOT: u64 = 300 * MS;

/// The split of choice `c` (0: none; 1..=15: the group holding node 0, by the bits of `c`
/// over nodes 1..4, the other nodes forming the second group).
fn split(c: usize) -> Option<Vec<usize>> {
    (c > 0).then(|| {
        let group: Vec<usize> = std::iter::once(0)
            .chain((1..NODES).filter(|i| c & (1 << (i - 1)) == 0))
            .collect();
        group
    })
}

/// Scenario `index` with `twin` the twinned identity; `Ok(live)` or the violation.
pub fn run(twin: usize, index: usize) -> Result<bool, String> {
    let schedule: Vec<usize> = (0..SLOTS).map(|s| (index >> (4 * s)) & 15).collect();
    let partitions = schedule
        .iter()
        .enumerate()
        .filter_map(|(s, &c)| {
            split(c).map(|group| Partition {
                start_us: s as u64 * SLOT,
                heal_us: (s as u64 + 1) * SLOT,
                groups: vec![group],
            })
        })
        .collect();
    let net = NetConfig {
        delay: Delay::Uniform {
            min_us: MS,
            max_us: 10 * MS,
        },
        partitions,
        ..NetConfig::default()
    };
    let params = Params {
        f: None,
        checkpoint_interval: 2,
        view_change_timeout_us: 150 * MS,
        state_transfer_timeout_us: 50 * MS,
        faults: Vec::new(),
    };
    let cfg = Pbft::new(4, &params).map_err(|e| e.to_string())?;
    let mut nodes = cfg.replicas();
    nodes.push(nodes[twin].clone());
    let identity = vec![0, 1, 2, 3, twin];
    let seed = (twin * 4096 + index) as u64;
    let mut sim = Simulation::with_twins(nodes, identity, net, seed)?;
    let workload = Workload {
        count: 3,
        bytes: 500,
        start: 0,
        interval: 100 * MS,
    };
    let batches = workload.batches(seed);
    for &(at, batch) in &batches {
        for node in 0..NODES {
            sim.input(at, node, batch);
        }
    }
    sim.run_until(4 * SECOND, |_| false);
    honest_run(&sim, &batches)
        .map_err(|e| format!("twin of {twin}, schedule {schedule:?} (seed {seed}): {e}"))
}

/// Every schedule with `twin` twinned; returns how many runs were live.
pub fn check(twin: usize) -> Result<usize, String> {
    let mut live = 0;
    for index in 0..16usize.pow(SLOTS as u32) {
        live += usize::from(run(twin, index)?);
    }
    Ok(live)
}

#[test]
fn twins_of_the_view_0_primary() {
    let live = check(0).unwrap();
    assert!(live > 0, "no run was live");
}

#[test]
fn twins_of_the_view_1_primary() {
    let live = check(1).unwrap();
    assert!(live > 0, "no run was live");
}
