//! PoA (Aura with rolling finality): parameters, the fault-free run (every batch final, the
//! analytic latency, `n − 1` block messages per block), determinism and a 100-authority run.
//! Faults and attacks are in `poa_faults.rs` and `poa_byzantine.rs`, helpers in
//! `poa_support.rs`.

use securefl_consensus::poa::{self, Authority, Behaviour, Params};
use securefl_consensus::sim::{NetConfig, NodeId, SECOND, Simulation, Time};

use crate::poa_support::{assert_all_final, assert_no_repeats, feed, params, simulate};

#[test]
fn params_defaults_and_validation() {
    let p = Params::default();
    assert_eq!(p.step_us, SECOND);
    assert!((p.finality - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(p.max_batches_per_block, 64);
    assert_eq!(p.check(), Ok(()));

    let bad = |p: Params| p.check().unwrap_err();
    let e = bad(params(0.4));
    assert!(e.contains("finality 0.4") && e.contains("[0.5, 1)"), "{e}");
    assert!(bad(params(1.0)).contains("finality 1"));
    assert!(bad(params(f64::NAN)).contains("finality NaN"));
    let e = bad(Params {
        step_us: 0,
        ..Params::default()
    });
    assert!(e.contains("step-us"), "{e}");
    let e = bad(Params {
        max_batches_per_block: 0,
        ..Params::default()
    });
    assert!(e.contains("max-batches-per-block"), "{e}");
    assert!(poa::honest(&params(0.3), 4).is_err());
    assert!(poa::with_clones(&params(0.5), &vec![Behaviour::Honest; 3], &[3]).is_err());
    assert!(poa::authorities(&params(0.5), &[]).is_err());

    // More than finality · n distinct signers: > n/2 and > 2n/3, exact at multiples.
    let half = params(0.5);
    let two_thirds = params(2.0 / 3.0);
    let table = [
        (3, 2, 3),
        (4, 3, 3),
        (5, 3, 4),
        (6, 4, 5),
        (7, 4, 5),
        (100, 51, 67),
    ];
    for (n, h, t) in table {
        assert_eq!(half.signers_needed(n), h, "1/2 of {n}");
        assert_eq!(two_thirds.signers_needed(n), t, "2/3 of {n}");
    }
    assert_eq!(params(0.999).signers_needed(4), 4);
}

#[test]
fn params_deserialize_kebab_case_and_refuse_unknown_keys() {
    use serde::Deserialize;
    use serde::de::value::{Error, MapDeserializer};
    let de = |kv: Vec<(&'static str, u64)>| {
        Params::deserialize(MapDeserializer::<_, Error>::new(kv.into_iter()))
    };
    let p = de(vec![("step-us", 4_000_000), ("max-batches-per-block", 8)]).unwrap();
    assert_eq!(p.step_us, 4_000_000);
    assert_eq!(p.max_batches_per_block, 8);
    assert!((p.finality - 2.0 / 3.0).abs() < 1e-12);
    let e = de(vec![("step_us", 1)]).unwrap_err().to_string();
    assert!(e.contains("unknown field `step_us`"), "{e}");

    let b = |kv: Vec<(&'static str, &'static str)>| {
        Behaviour::deserialize(MapDeserializer::<_, Error>::new(kv.into_iter()))
    };
    assert_eq!(b(vec![("kind", "silent")]).unwrap(), Behaviour::Silent);
    assert_eq!(
        b(vec![("kind", "equivocate")]).unwrap(),
        Behaviour::Equivocate
    );
    assert_eq!(
        b(vec![("kind", "censor")]).unwrap(),
        Behaviour::Censor { ids: None }
    );
    assert!(b(vec![("kind", "clone")]).is_err());
}

/// Fault-free, round-robin authors: block `h` is sealed in step `h` and is final once
/// `k = ⌊finality·n⌋ + 1` distinct authors have built on it, i.e. when block `h + k − 1` is
/// sealed: first at its author, exactly `(k − 1)` steps after block `h`; at the last node one
/// delivery (≤ 15 ms) plus a verification (50 µs) later.
fn fault_free(n: usize, finality: f64, expect_steps: u64) {
    let p = params(finality);
    let mut sim = simulate(poa::honest(&p, n).unwrap(), 7);
    feed(&mut sim, 0, 60, SECOND / 4, 300_000);
    sim.run_until(39 * SECOND + SECOND / 2, |_| false);
    let all: Vec<NodeId> = (0..n).collect();
    assert_all_final(&sim, &all, &(0..60).collect());
    assert!(sim.metrics.conflicts(&sim.honest()).is_empty());
    assert_no_repeats(&sim, 0);

    let k = p.signers_needed(n) as u64;
    assert_eq!(k - 1, expect_steps, "n {n}, finality {finality}");
    let node0 = &sim.nodes()[0];
    let chain = node0.best_chain();
    let mut checked = 0;
    for (h, d) in chain.iter().enumerate().skip(1) {
        let b = node0.block(d).unwrap();
        assert_eq!((b.height, b.step, b.author), (h as u64, h as u64, h % n));
        if b.step + k - 1 > 39 {
            continue;
        }
        let sealed = b.step * SECOND;
        let first = sim
            .metrics
            .finality
            .iter()
            .find(|f| f.height == b.height)
            .unwrap();
        assert_eq!(first.digest, b.digest);
        assert_eq!(first.time - sealed, expect_steps * SECOND, "height {h}");
        let last = sim.metrics.all_final_at(&all, b.height).unwrap();
        let latency = last - sealed;
        assert!(
            latency > expect_steps * SECOND && latency <= expect_steps * SECOND + 15_050,
            "height {h}: latency {latency} µs"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} heights checked");

    // Direct broadcast: every sealed block is one message to each other node; nothing else.
    let sealed: u64 = sim.nodes().iter().map(Authority::blocks_sealed).sum();
    assert_eq!(sealed, 39, "one block per step 1..=39");
    let by_type = &sim.metrics.by_type;
    assert_eq!(by_type["block"].messages, sealed * (n as u64 - 1));
    assert_eq!(by_type.len(), 1, "only block messages: {by_type:?}");
    for a in sim.nodes() {
        assert_eq!(
            (a.forks_observed(), a.reorgs(), a.invalid_blocks()),
            (0, 0, 0)
        );
    }
}

#[test]
fn fault_free_seven_two_thirds() {
    fault_free(7, 2.0 / 3.0, 4);
}

#[test]
fn fault_free_seven_half() {
    fault_free(7, 0.5, 3);
}

#[test]
fn fault_free_four_two_thirds() {
    fault_free(4, 2.0 / 3.0, 2);
}

#[test]
fn fault_free_five_half() {
    fault_free(5, 0.5, 2);
}

#[test]
fn empty_blocks_still_finalize() {
    // No batches at all: blocks are sealed anyway (as `--force-sealing`) and become final.
    let mut sim = simulate(poa::honest(&params(2.0 / 3.0), 4).unwrap(), 1);
    sim.run_until(20 * SECOND, |_| false);
    for a in sim.nodes() {
        assert!(a.finalized().height >= 16, "{}", a.finalized().height);
    }
    assert!(sim.metrics.finality.iter().all(|f| f.batches.is_empty()));
}

#[test]
fn block_cap_spreads_a_burst_over_blocks() {
    let p = Params {
        max_batches_per_block: 4,
        ..params(0.5)
    };
    let mut sim = simulate(poa::honest(&p, 4).unwrap(), 3);
    // 20 batches at once: five blocks of four.
    feed(&mut sim, 0, 20, SECOND / 2, 0);
    sim.run_until(20 * SECOND, |_| false);
    assert_all_final(&sim, &[0, 1, 2, 3], &(0..20).collect());
    let sizes: Vec<usize> = sim
        .metrics
        .finality
        .iter()
        .filter(|f| f.node == 0 && !f.batches.is_empty())
        .map(|f| f.batches.len())
        .collect();
    assert_eq!(sizes, vec![4; 5]);
}

/// A partitioned run with an equivocator: enough going on that any order dependence shows.
fn busy_run(seed: u64) -> Simulation<Authority> {
    let behaviours = [
        Behaviour::Honest,
        Behaviour::Equivocate,
        Behaviour::Honest,
        Behaviour::Honest,
        Behaviour::Honest,
    ];
    let nodes = poa::authorities(&params(2.0 / 3.0), &behaviours).unwrap();
    let net = NetConfig {
        partitions: vec![securefl_consensus::sim::Partition {
            start_us: 5 * SECOND,
            heal_us: 12 * SECOND,
            groups: vec![vec![0, 1, 2], vec![3, 4]],
        }],
        ..NetConfig::default()
    };
    let mut sim = Simulation::new(nodes, net, seed);
    feed(&mut sim, 0, 30, SECOND / 3, 500_000);
    sim.run_until(30 * SECOND, |_| false);
    sim
}

#[test]
fn same_seed_same_trace() {
    let a = busy_run(11);
    let b = busy_run(11);
    assert!(a.metrics.finality.len() > 50);
    assert_eq!(a.metrics.finality, b.metrics.finality);
    assert_eq!(a.metrics.by_type, b.metrics.by_type);
    assert_eq!(a.metrics.events, b.metrics.events);
    let heads = |s: &Simulation<Authority>| -> Vec<_> {
        s.nodes().iter().map(|n| n.head().digest).collect()
    };
    assert_eq!(heads(&a), heads(&b));
    // Another seed draws other delays: the same blocks, final at other times.
    let c = busy_run(12);
    let times = |s: &Simulation<Authority>| -> Vec<Time> {
        s.metrics.finality.iter().map(|f| f.time).collect()
    };
    assert_ne!(times(&a), times(&c));
}

#[test]
fn hundred_authorities() {
    let n = 100;
    let mut sim = simulate(poa::honest(&params(2.0 / 3.0), n).unwrap(), 5);
    feed(&mut sim, 0, 50, SECOND / 2, SECOND);
    sim.run_until(119 * SECOND + SECOND / 2, |_| false);
    let all: Vec<NodeId> = (0..n).collect();
    assert_all_final(&sim, &all, &(0..50).collect());
    // Block h is final at its sealer's successor 66 steps later: by step 119, height 53.
    for a in sim.nodes() {
        assert_eq!(a.finalized().height, 119 - 66);
        assert_eq!(a.head().height, 119);
    }
    assert_eq!(sim.metrics.by_type["block"].messages, 119 * 99);
}
