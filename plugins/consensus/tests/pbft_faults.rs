//! PBFT under faults: liveness after a partition heals and after the primary crashes (a view
//! change happens), an equivocating primary (no conflicting commits; a view change recovers),
//! withheld and invalid votes and spurious view changes from up to f replicas (live, safe, and
//! the spurious ones alone cannot change the view), and state transfer for a replica that was
//! down for many checkpoint windows.

use securefl_consensus::pbft::{Behaviour, Fault, Params, Pbft, Replica, Workload, simulate};
use securefl_consensus::sim::{Crash, Delay, MS, NetConfig, Partition, SECOND, Simulation, Time};

fn net(partitions: Vec<Partition>) -> NetConfig {
    NetConfig {
        delay: Delay::Uniform {
            min_us: 2 * MS,
            max_us: 12 * MS,
        },
        partitions,
        ..NetConfig::default()
    }
}

fn work(count: usize) -> Workload {
    Workload {
        count,
        bytes: 2_000,
        start: 0,
        interval: 20 * MS,
    }
}

fn params(k: u64, faults: &[(usize, Behaviour)]) -> Params {
    Params {
        checkpoint_interval: k,
        view_change_timeout_us: 200 * MS,
        faults: faults
            .iter()
            .map(|&(node, behaviour)| Fault { node, behaviour })
            .collect(),
        ..Params::default()
    }
}

/// Runs and checks safety and that every honest replica not left crashed executed every batch,
/// each once, with heights 1, 2, 3, ... in order.
fn live(
    n: usize,
    p: &Params,
    net: NetConfig,
    w: Workload,
    crashes: &[Crash],
) -> Simulation<Replica> {
    let cfg = Pbft::new(n, p).unwrap();
    let sim = simulate(&cfg, net, 7, &w.batches(7), crashes, 60 * SECOND);
    let honest = sim.honest();
    assert!(sim.metrics.conflicts(&honest).is_empty());
    let down = |i: usize| crashes.iter().any(|c| c.node == i && c.recover.is_none());
    for r in sim
        .nodes()
        .iter()
        .filter(|r| honest[r.id()] && !down(r.id()))
    {
        assert_eq!(r.executed_batches(), w.count, "replica {}", r.id());
        let mine: Vec<_> = sim
            .metrics
            .finality
            .iter()
            .filter(|f| f.node == r.id())
            .collect();
        let heights: Vec<u64> = mine.iter().map(|f| f.height).collect();
        assert_eq!(heights, (1..=heights.len() as u64).collect::<Vec<_>>());
        let batches: usize = mine.iter().map(|f| f.batches.len()).sum();
        assert_eq!(
            batches,
            w.count,
            "replica {}: a batch executed twice",
            r.id()
        );
    }
    sim
}

fn count(sim: &Simulation<Replica>, kind: &str) -> u64 {
    sim.metrics.by_type.get(kind).map_or(0, |c| c.messages)
}

fn views(sim: &Simulation<Replica>) -> Vec<u64> {
    sim.nodes().iter().map(Replica::view).collect()
}

#[test]
fn partition_heals_then_everyone_finalizes() {
    let heal: Time = 2 * SECOND;
    // No side has a quorum (n = 4 split 2 / 2; n = 7 split 3 / 4 with q = 5): nothing
    // finalizes before the heal; everything does after it.
    for (n, group) in [(4, vec![0, 1]), (7, vec![0, 1, 2]), (6, vec![0, 1, 2])] {
        let split = Partition {
            start_us: 0,
            heal_us: heal,
            groups: vec![group],
        };
        let sim = live(n, &params(16, &[]), net(vec![split]), work(5), &[]);
        assert!(
            sim.metrics.finality.iter().all(|f| f.time >= heal),
            "n = {n}"
        );
    }
    // The primary alone in a minority: the majority changes view meanwhile; after the heal the
    // old primary catches up.
    let split = Partition {
        start_us: 0,
        heal_us: heal,
        groups: vec![vec![0]],
    };
    let sim = live(7, &params(2, &[]), net(vec![split]), work(8), &[]);
    assert!(views(&sim).iter().all(|&v| v >= 1), "{:?}", views(&sim));
}

#[test]
fn primary_crash_causes_a_view_change_and_batches_finalize() {
    for n in [4, 5, 7, 10] {
        let crash = Crash {
            node: 0,
            at: 50 * MS,
            recover: None,
        };
        let sim = live(n, &params(4, &[]), net(vec![]), work(10), &[crash]);
        assert!(count(&sim, "view-change") > 0 && count(&sim, "new-view") > 0);
        assert!(
            views(&sim)[1..].iter().all(|&v| v >= 1),
            "n = {n}: {:?}",
            views(&sim)
        );
        // A crash-silent primary from the start does the same.
        let p = params(4, &[(0, Behaviour::CrashSilent)]);
        let sim = live(n, &p, net(vec![]), work(10), &[]);
        assert!(views(&sim)[1..].iter().all(|&v| v >= 1));
    }
}

#[test]
fn equivocating_primary_is_safe_and_replaced() {
    for n in [4, 5, 7, 10] {
        let p = params(4, &[(0, Behaviour::EquivocatingLeader)]);
        let sim = live(n, &p, net(vec![]), work(6), &[]);
        assert!(count(&sim, "new-view") > 0, "n = {n}");
        assert!(
            views(&sim)[1..].iter().all(|&v| v >= 1),
            "n = {n}: {:?}",
            views(&sim)
        );
    }
}

#[test]
fn withheld_and_invalid_votes_from_up_to_f() {
    for behaviour in [Behaviour::WithholdVotes, Behaviour::InvalidVotes] {
        for (n, faulty) in [
            (4, vec![1]),
            (4, vec![0]),
            (5, vec![4]),
            (7, vec![2, 5]),
            (10, vec![0, 3, 9]),
        ] {
            let faults: Vec<_> = faulty.iter().map(|&i| (i, behaviour)).collect();
            live(n, &params(4, &faults), net(vec![]), work(6), &[]);
        }
    }
    // Mixed: one of each Byzantine behaviour that still talks, n = 10, f = 3.
    let faults = [
        (0, Behaviour::EquivocatingLeader),
        (4, Behaviour::InvalidVotes),
        (7, Behaviour::WithholdVotes),
    ];
    live(10, &params(4, &faults), net(vec![]), work(6), &[]);
}

#[test]
fn spurious_view_changes_from_f_replicas_change_nothing() {
    for (n, faulty) in [(4, vec![1]), (7, vec![2, 5]), (10, vec![1, 4, 8])] {
        let faults: Vec<_> = faulty
            .iter()
            .map(|&i| (i, Behaviour::SpuriousViewChange))
            .collect();
        let sim = live(n, &params(4, &faults), net(vec![]), work(30), &[]);
        assert!(count(&sim, "view-change") > 0);
        assert_eq!(count(&sim, "new-view"), 0, "n = {n}");
        assert!(views(&sim).iter().all(|&v| v == 0), "n = {n}");
    }
}

#[test]
fn state_transfer_after_a_long_crash() {
    // K = 2, L = 4: the replica misses 30 blocks, far beyond the watermark window, and must
    // fetch them with their certificates (the log holding them is garbage-collected).
    for (n, node) in [(4, 3), (7, 6), (6, 2)] {
        let crash = Crash {
            node,
            at: MS,
            recover: Some(3 * SECOND),
        };
        let sim = live(n, &params(2, &[]), net(vec![]), work(30), &[crash]);
        assert!(count(&sim, "blocks") > 0);
        let r = &sim.nodes()[node];
        assert_eq!(r.last_executed(), 30);
        let last = sim.metrics.finality.iter().filter(|f| f.node == node);
        assert!(last.clone().all(|f| f.time >= 3 * SECOND));
        assert_eq!(last.count(), 30);
    }
}

#[test]
fn lagging_replica_catches_up_while_others_progress() {
    // Cut off for a while (messages to it are held, not lost), then more blocks arrive: it
    // catches up through stable checkpoints above its state and state transfer.
    let split = Partition {
        start_us: 0,
        heal_us: 1500 * MS,
        groups: vec![vec![3]],
    };
    let w = Workload {
        count: 60,
        bytes: 500,
        start: 0,
        interval: 40 * MS,
    };
    let sim = live(4, &params(2, &[]), net(vec![split]), w, &[]);
    assert!(sim.nodes()[3].low_watermark() >= 56);
}
