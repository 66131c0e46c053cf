//! PoA under benign faults: a network partition (both sides fork, the minority reorganizes
//! after the heal) and crashed authorities (their steps stay empty; finality stalls only when
//! too few authorities remain, and a recovered node syncs the blocks it missed).

use std::collections::BTreeSet;

use securefl_consensus::poa::{self, Authority};
use securefl_consensus::sim::{Crash, NetConfig, NodeId, Partition, SECOND, Simulation, Time};

use crate::poa_support::{assert_all_final, assert_no_repeats, feed, params};

const SPLIT: Time = 10 * SECOND + SECOND / 2;
const HEAL: Time = 40 * SECOND + SECOND / 2;
const MAJORITY: [NodeId; 4] = [0, 1, 2, 3];
const MINORITY: [NodeId; 3] = [4, 5, 6];

/// Seven authorities split 4/3 during `[10.5 s, 40.5 s)`, a batch a second to everyone; runs
/// until just before the heal.
fn split_run(finality: f64) -> Simulation<Authority> {
    let net = NetConfig {
        partitions: vec![Partition {
            start_us: SPLIT,
            heal_us: HEAL,
            groups: vec![MAJORITY.to_vec(), MINORITY.to_vec()],
        }],
        ..NetConfig::default()
    };
    let mut sim = Simulation::new(poa::honest(&params(finality), 7).unwrap(), net, 21);
    feed(&mut sim, 0, 60, SECOND / 4, SECOND);
    sim.run_until(HEAL - SECOND / 10, |_| false);
    sim
}

/// The highest step among blocks `nodes` finalized so far.
fn max_final_step(sim: &Simulation<Authority>, nodes: &[NodeId]) -> u64 {
    sim.metrics
        .finality
        .iter()
        .filter(|f| nodes.contains(&f.node))
        .map(|f| sim.nodes()[f.node].block(&f.digest).unwrap().step)
        .max()
        .unwrap_or(0)
}

/// After the heal: one head everywhere, the minority reorganized, every batch final once,
/// no conflicting finality.
fn check_healed(mut sim: Simulation<Authority>) {
    sim.run_until(80 * SECOND + SECOND / 2, |_| false);
    let head = sim.nodes()[0].head().digest;
    for a in sim.nodes() {
        assert_eq!(a.head().digest, head, "node {} did not converge", a.node());
        assert!(a.forks_observed() > 0, "node {} saw no fork", a.node());
        assert!(a.finalized().height + 6 >= a.head().height);
    }
    for &m in &MINORITY {
        let a = &sim.nodes()[m];
        // The minority sealed 14 blocks during the split (steps ≡ 4, 5, 6 mod 7 in 11..=40).
        assert_eq!(a.max_reorg_depth(), 14, "node {m}");
        assert_eq!(a.reorgs(), 1, "node {m}");
    }
    for &m in &MAJORITY {
        assert_eq!(sim.nodes()[m].max_reorg_depth(), 0, "node {m}");
    }
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
    let all: Vec<NodeId> = (0..7).collect();
    assert_all_final(&sim, &all, &(0..60).collect());
    // Batches of the abandoned minority branch were sealed again, once, on the winning one.
    assert_no_repeats(&sim, 4);
}

#[test]
fn partition_two_thirds_nobody_finalizes_split_blocks() {
    let sim = split_run(2.0 / 3.0);
    let heights = |side: &[NodeId]| -> BTreeSet<u64> {
        side.iter().map(|&i| sim.nodes()[i].head().height).collect()
    };
    // Both sides kept sealing from the common block at height 10: the majority in steps
    // ≡ 0..=3 mod 7 (16 of steps 11..=40), the minority in steps ≡ 4..=6 (14).
    assert_eq!(heights(&MAJORITY), BTreeSet::from([10 + 16]));
    assert_eq!(heights(&MINORITY), BTreeSet::from([10 + 14]));
    // Five distinct signers are needed: neither side (4 or 3 authorities) finalizes a block
    // sealed during the split, only pre-split blocks: the minority up to step 9 (signers 2, 3
    // on the common chain, then 4, 5, 6), the majority up to step 6 (6, then 0..=3).
    assert_eq!(max_final_step(&sim, &MINORITY), 9);
    assert_eq!(max_final_step(&sim, &MAJORITY), 6);
    check_healed(sim);
}

#[test]
fn partition_half_majority_finalizes_minority_does_not() {
    let sim = split_run(0.5);
    // Four distinct signers: the majority side has them, the minority does not.
    assert!(max_final_step(&sim, &MAJORITY) >= 35);
    assert!(max_final_step(&sim, &MINORITY) <= 10);
    check_healed(sim);
}

#[test]
fn one_crash_skips_its_steps_and_finality_continues() {
    // Five authorities, 2/3 needs four distinct signers: four remain after node 2 stops.
    let mut sim = Simulation::new(
        poa::honest(&params(2.0 / 3.0), 5).unwrap(),
        NetConfig::default(),
        5,
    );
    feed(&mut sim, 0, 35, SECOND / 4, SECOND);
    sim.crash(Crash {
        node: 2,
        at: SPLIT,
        recover: None,
    });
    sim.run_until(HEAL, |_| false);
    let live = [0, 1, 3, 4];
    let a = &sim.nodes()[0];
    for d in a.best_chain() {
        let b = a.block(&d).unwrap();
        assert!(b.author != 2 || b.step <= 10, "a block by the crashed node");
    }
    for &i in &live {
        let n = &sim.nodes()[i];
        // Steps 1..=40 less the six of node 2 after the crash (12, 17, ..., 37).
        assert_eq!(n.head().height, 40 - 6, "node {i}");
        // The newest block is final once four distinct authors (at most five steps) built on
        // it: never more than four blocks behind the head.
        assert!(n.head().height - n.finalized().height <= 4, "node {i}");
    }
    assert_all_final(&sim, &live, &(0..35).collect());
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
}

#[test]
fn two_crashes_stall_finality_until_one_recovers_and_syncs() {
    // Five authorities, four signers needed: with nodes 1 and 2 down only three seal, so no
    // block sealed after the crash can become final until node 2 returns at 30.5 s.
    let mut sim = Simulation::new(
        poa::honest(&params(2.0 / 3.0), 5).unwrap(),
        NetConfig::default(),
        6,
    );
    feed(&mut sim, 0, 50, SECOND / 4, SECOND);
    sim.crash(Crash {
        node: 1,
        at: SPLIT,
        recover: None,
    });
    sim.crash(Crash {
        node: 2,
        at: SPLIT,
        recover: Some(30 * SECOND + SECOND / 2),
    });
    sim.run_until(30 * SECOND, |_| false);
    for i in [0, 3, 4] {
        let n = &sim.nodes()[i];
        assert!(
            n.finalized().step <= 10,
            "node {i} finalized step {}",
            n.finalized().step
        );
        assert!(n.head().height >= 10 + 11, "node {i} stopped sealing");
    }
    let stalled = sim.nodes()[0].finalized().height;

    sim.run_until(60 * SECOND + SECOND / 2, |_| false);
    let back = [0, 2, 3, 4];
    let head = sim.nodes()[0].head().digest;
    for &i in &back {
        let n = &sim.nodes()[i];
        assert_eq!(n.head().digest, head, "node {i}");
        assert!(n.finalized().height > stalled + 20, "node {i}");
    }
    // Node 2 fetched the blocks sealed while it was down.
    assert!(sim.metrics.by_type["sync-request"].messages >= 10);
    assert!(sim.metrics.by_type["sync-block"].messages >= 10);
    assert_all_final(&sim, &back, &(0..50).collect());
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
}
