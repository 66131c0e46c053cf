//! PoA with Byzantine authorities: the clone attack (Ekparinya, Gramoli & Jourjon, NDSS 2020)
//! breaks finality under the deployed 1/2 rule and not under 2/3; a censoring authority
//! cannot keep batches out of the ledger; an equivocator cannot split honest finality; a
//! silent authority only empties its steps; malformed blocks never panic a node.

use std::collections::BTreeSet;
use std::sync::Arc;

use securefl_consensus::poa::{self, Authority, Behaviour, Block, Msg};
use securefl_consensus::sim::{NetConfig, Node, NodeId, Partition, SECOND, Simulation, Time};

use crate::poa_support::{assert_all_final, assert_no_repeats, batch, feed, params};

const HONEST: [NodeId; 4] = [0, 1, 2, 3];

/// The clone attack, deterministic by construction. Five authorities; authority 4's key runs
/// on node 4 and on node 5. During `[5.5 s, 30.5 s)` the network splits into {0, 1, 4} and
/// {2, 3, 5}: each side has two honest authorities plus one instance of the clone, so each
/// side sees three distinct authorities sealing (steps ≡ 0, 1, 4 and ≡ 2, 3, 4 mod 5).
/// Under the 1/2 rule three signers (> 5/2) finalize, so both sides finalize their own branch
/// from height 6 on: conflicting finality among honest nodes, whatever the delays. Under 2/3
/// four are needed, which neither side has.
pub fn clone_attack(finality: f64, clones: &[usize]) -> Simulation<Authority> {
    let nodes = poa::with_clones(&params(finality), &vec![Behaviour::Honest; 5], clones).unwrap();
    let side_b = if clones.is_empty() {
        vec![2, 3]
    } else {
        vec![2, 3, 5]
    };
    let net = NetConfig {
        partitions: vec![Partition {
            start_us: 5 * SECOND + SECOND / 2,
            heal_us: 30 * SECOND + SECOND / 2,
            groups: vec![vec![0, 1, 4], side_b],
        }],
        ..NetConfig::default()
    };
    let mut sim = Simulation::new(nodes, net, 31);
    feed(&mut sim, 0, 40, SECOND / 4, SECOND);
    sim.run_until(60 * SECOND + SECOND / 2, |_| false);
    sim
}

#[test]
fn clone_attack_breaks_half_finality() {
    let sim = clone_attack(0.5, &[4]);
    let honest = sim.honest();
    assert_eq!(honest, vec![true, true, true, true, false, false]);
    let conflicts = sim.metrics.conflicts(&honest);
    assert!(!conflicts.is_empty(), "the clone attack failed");
    // The branches part after the common block at height 5.
    assert_eq!(conflicts[0].0, 6);
    assert!(
        conflicts.len() >= 10,
        "{} conflicting heights",
        conflicts.len()
    );
    // Finalized blocks are never reverted: the two sides stay on their own branches.
    let (a, b) = (&sim.nodes()[0], &sim.nodes()[2]);
    assert_eq!(a.head().digest, sim.nodes()[1].head().digest);
    assert_eq!(b.head().digest, sim.nodes()[3].head().digest);
    assert_ne!(a.head().digest, b.head().digest);
}

#[test]
fn clone_attack_fails_under_two_thirds() {
    let sim = clone_attack(2.0 / 3.0, &[4]);
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
    // After the heal the honest nodes join one chain and finality resumes.
    let head = sim.nodes()[0].head().digest;
    for &i in &HONEST {
        let n = &sim.nodes()[i];
        assert_eq!(n.head().digest, head, "node {i}");
        assert!(
            n.finalized().step >= 50,
            "node {i} final at step {}",
            n.finalized().step
        );
    }
    assert_all_final(&sim, &HONEST, &(0..40).collect());
}

#[test]
fn same_split_without_clone_is_safe_under_half() {
    // Control: {0, 1, 4} vs {2, 3} with no clone. The minority has two signers, fewer than
    // three: only the majority finalizes, and the minority reorganizes after the heal.
    let sim = clone_attack(0.5, &[]);
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
    let head = sim.nodes()[0].head().digest;
    assert!(sim.nodes().iter().all(|n| n.head().digest == head));
    assert!(sim.nodes()[2].max_reorg_depth() > 0);
    assert_all_final(&sim, &[0, 1, 2, 3, 4], &(0..40).collect());
}

/// When batch `id` is handed out (`feed(.., SECOND / 10, SECOND / 2)`).
fn input_time(id: u64) -> Time {
    SECOND / 10 + id * SECOND / 2
}

fn censor_run(ids: Option<BTreeSet<u64>>) -> Simulation<Authority> {
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Censor { ids },
        Behaviour::Honest,
        Behaviour::Honest,
    ];
    let nodes = poa::authorities(&params(2.0 / 3.0), &behaviours).unwrap();
    let mut sim = Simulation::new(nodes, NetConfig::default(), 41);
    feed(&mut sim, 0, 30, SECOND / 10, SECOND / 2);
    sim.run_until(25 * SECOND + SECOND / 2, |_| false);
    sim
}

/// For each block by authority 1 on node 0's chain: (its step, its batch ids, the targeted
/// batches that were pending when it sealed, i.e. handed out before and final later).
fn censor_blocks(sim: &Simulation<Authority>, targeted: impl Fn(u64) -> bool) -> Vec<usize> {
    let a = &sim.nodes()[0];
    let chain: Vec<&Block> = a.best_chain().iter().map(|d| a.block(d).unwrap()).collect();
    let step_of = |id: u64| {
        chain
            .iter()
            .find(|b| b.batch_ids().contains(&id))
            .map(|b| b.step)
    };
    let mut skipped = Vec::new();
    for b in chain.iter().filter(|b| b.author == 1) {
        assert!(
            b.batch_ids().iter().all(|&id| !targeted(id)),
            "block at step {} carries a censored batch",
            b.step
        );
        let pending = (0..30)
            .filter(|&id| targeted(id) && input_time(id) < b.step * SECOND)
            .filter(|&id| step_of(id).is_some_and(|s| s > b.step))
            .count();
        skipped.push(pending);
    }
    skipped
}

#[test]
fn censoring_authority_omits_targets_but_they_finalize() {
    let even: BTreeSet<u64> = (0..30).filter(|i| i % 2 == 0).collect();
    let sim = censor_run(Some(even));
    let skipped = censor_blocks(&sim, |id| id % 2 == 0);
    // Two batches arrive per step, one even: each of its blocks while batches flow (steps 1,
    // 5, 9, 13) leaves out the even batch of the step before; the next leader includes it.
    assert_eq!(skipped, vec![1, 1, 1, 1, 0, 0, 0]);
    // ...and still carried the odd ones.
    let a = &sim.nodes()[0];
    let odd_in_censor_blocks = a
        .best_chain()
        .iter()
        .map(|d| a.block(d).unwrap())
        .filter(|b| b.author == 1)
        .any(|b| b.batch_ids().iter().any(|id| id % 2 == 1));
    assert!(odd_in_censor_blocks);
    assert_all_final(&sim, &[0, 2, 3], &(0..30).collect());
    assert_no_repeats(&sim, 0);
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
}

#[test]
fn censoring_everything_yields_empty_blocks() {
    let sim = censor_run(None);
    let skipped = censor_blocks(&sim, |_| true);
    // Its blocks are empty and leave out both batches of the step before, while they flow.
    assert_eq!(
        skipped,
        vec![2; 4].into_iter().chain([0; 3]).collect::<Vec<_>>()
    );
    assert_all_final(&sim, &[0, 2, 3], &(0..30).collect());
}

#[test]
fn equivocation_is_seen_and_does_not_split_honest_finality() {
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Equivocate,
        Behaviour::Honest,
        Behaviour::Honest,
    ];
    let nodes = poa::authorities(&params(2.0 / 3.0), &behaviours).unwrap();
    let mut sim = Simulation::new(nodes, NetConfig::default(), 51);
    feed(&mut sim, 0, 30, SECOND / 10, SECOND / 2);
    // Stop after an honest step (26), not right after an equivocating one (25).
    sim.run_until(26 * SECOND + SECOND / 2, |_| false);
    let honest = [0, 2, 3];
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
    let head = sim.nodes()[0].head().digest;
    for &i in &honest {
        assert_eq!(sim.nodes()[i].head().digest, head, "node {i}");
    }
    // Node 0 got one version, nodes 2 and 3 the other; node 0 fetches the other version as
    // the parent of node 2's next block and so sees both.
    let seen: u64 = honest
        .iter()
        .map(|&i| sim.nodes()[i].equivocations_seen())
        .sum();
    assert!(seen >= 5, "{seen} equivocations seen");
    assert!(sim.nodes()[0].forks_observed() >= 5);
    assert_all_final(&sim, &honest, &(0..30).collect());
    assert_no_repeats(&sim, 0);
}

#[test]
fn silent_authority_leaves_its_steps_empty() {
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Honest,
        Behaviour::Honest,
        Behaviour::Silent,
    ];
    let nodes = poa::authorities(&params(2.0 / 3.0), &behaviours).unwrap();
    let mut sim = Simulation::new(nodes, NetConfig::default(), 61);
    feed(&mut sim, 0, 20, SECOND / 10, SECOND / 2);
    sim.run_until(20 * SECOND + SECOND / 2, |_| false);
    assert_eq!(sim.nodes()[3].blocks_sealed(), 0);
    // Steps 1..=20 less the five of authority 3.
    assert!(sim.nodes().iter().all(|n| n.head().height == 15));
    assert_all_final(&sim, &[0, 1, 2, 3], &(0..20).collect());
}

#[test]
fn malformed_blocks_are_refused_without_panic() {
    let mut nodes = poa::honest(&params(2.0 / 3.0), 4).unwrap();
    let node = &mut nodes[0];
    let genesis = Block::genesis();
    let now = 10 * SECOND;
    let good = Block::seal(&genesis, 1, 1, 0, vec![batch(1)]);
    let send = |n: &mut Authority, from: NodeId, b: Block| {
        n.on_message(now, from, Msg::Block(Arc::new(b)))
    };
    let mut bad = Vec::new();
    // Out of turn: step 2 belongs to authority 2.
    bad.push((1, Block::seal(&genesis, 2, 1, 0, vec![])));
    // Announced by a node that does not run the author's key.
    bad.push((3, good.clone()));
    // Far in the future.
    bad.push((1, Block::seal(&genesis, 101, 1, 0, vec![])));
    // Digest does not match the contents.
    let mut forged = good.clone();
    forged.batches.push(batch(2));
    bad.push((1, forged));
    // The same batch twice.
    bad.push((1, Block::seal(&genesis, 1, 1, 0, vec![batch(3), batch(3)])));
    // An author index beyond the authority set.
    bad.push((1, Block::seal(&genesis, 9, 9, 0, vec![])));
    // Step not after the parent's (parent known): step 1 on a step-1 parent.
    let child_same_step = Block::seal(&good, 1, 1, 0, vec![]);
    let n_bad = bad.len() as u64;
    for (from, b) in bad {
        assert!(send(node, from, b).is_empty());
    }
    assert_eq!(node.invalid_blocks(), n_bad);
    assert_eq!(node.head().height, 0);

    // A valid block is accepted; a child in the same step is refused once its parent is known.
    assert!(send(node, 1, good.clone()).is_empty());
    assert_eq!(node.head().digest, good.digest);
    send(node, 1, child_same_step);
    assert_eq!(node.invalid_blocks(), n_bad + 1);
    assert_eq!(node.head().digest, good.digest);

    // A child of an unknown parent waits and asks its sender for the parent.
    let orphan_parent = Block::seal(&good, 2, 2, 0, vec![]);
    let orphan = Block::seal(&orphan_parent, 3, 3, 0, vec![]);
    let out = send(node, 3, orphan.clone());
    assert!(
        matches!(&out[..], [securefl_consensus::sim::Action::Send { to: 3, msg: Msg::SyncRequest { want } }] if *want == orphan_parent.digest)
    );
    assert_eq!(node.head().digest, good.digest);
    node.on_message(now, 3, Msg::SyncBlock(Arc::new(orphan_parent)));
    assert_eq!(node.head().digest, orphan.digest);
}
