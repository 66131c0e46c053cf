//! PBFT fault-free runs: message counts per block equal the analytic 2n(n − 1) (plus n(n − 1)
//! CHECKPOINTs every K blocks), checkpoints move the watermarks and garbage-collect the log,
//! the primary waits at the high watermark, and the same seed gives the same trace.

use securefl_consensus::pbft::{
    Params, Pbft, Replica, VOTE_BYTES, Workload, messages_per_block, simulate,
};
use securefl_consensus::sim::{Delay, MS, NetConfig, SECOND, Simulation};

fn net() -> NetConfig {
    NetConfig {
        delay: Delay::Uniform {
            min_us: 2 * MS,
            max_us: 8 * MS,
        },
        ..NetConfig::default()
    }
}

fn run(n: usize, k: u64, w: Workload, seed: u64) -> Simulation<Replica> {
    let params = Params {
        checkpoint_interval: k,
        ..Params::default()
    };
    let cfg = Pbft::new(n, &params).unwrap();
    let mut sim = simulate(&cfg, net(), seed, &w.batches(seed), &[], 60 * SECOND);
    // Let the last CHECKPOINTs arrive.
    sim.run_until(120 * SECOND, |_| false);
    for r in sim.nodes() {
        assert_eq!(r.executed_batches(), w.count, "replica {}", r.id());
        assert_eq!(r.last_executed(), w.count as u64, "replica {}", r.id());
    }
    sim
}

fn count(sim: &Simulation<Replica>, kind: &str) -> u64 {
    sim.metrics.by_type.get(kind).map_or(0, |c| c.messages)
}

#[test]
fn message_counts_match_the_formula() {
    for n in [1, 2, 4, 5, 6, 7, 10, 13] {
        let blocks = 6;
        let w = Workload {
            count: blocks,
            bytes: 1_000,
            start: 0,
            interval: 30 * MS,
        };
        // K above the run length: no checkpoints.
        let sim = run(n, 16, w, 1);
        let (n64, b) = (n as u64, blocks as u64);
        assert_eq!(count(&sim, "pre-prepare"), b * (n64 - 1), "n = {n}");
        assert_eq!(count(&sim, "prepare"), b * (n64 - 1) * (n64 - 1), "n = {n}");
        assert_eq!(count(&sim, "commit"), b * n64 * (n64 - 1), "n = {n}");
        assert_eq!(
            sim.metrics.total().messages,
            b * messages_per_block(n),
            "n = {n}"
        );
        let pp_bytes = sim
            .metrics
            .by_type
            .get("pre-prepare")
            .map_or(0, |c| c.bytes);
        assert_eq!(pp_bytes, b * (n64 - 1) * (VOTE_BYTES + 1_000 + 8));
        // With K = 2: n(n − 1) CHECKPOINTs every 2 blocks on top.
        let sim = run(n, 2, w, 1);
        assert_eq!(
            count(&sim, "checkpoint"),
            b / 2 * n64 * (n64 - 1),
            "n = {n}"
        );
        assert_eq!(
            sim.metrics.total().messages,
            b * messages_per_block(n) + b / 2 * n64 * (n64 - 1),
            "n = {n}: {:?}",
            sim.metrics.by_type
        );
    }
}

#[test]
fn checkpoints_move_watermarks_and_collect_garbage() {
    // 40 batches at once with K = 2 (L = 4): the primary can run at most 4 sequence numbers
    // ahead of the last stable checkpoint, so it must wait for checkpoints to go on.
    let w = Workload {
        count: 40,
        bytes: 500,
        start: 0,
        interval: 0,
    };
    let sim = run(4, 2, w, 3);
    for r in sim.nodes() {
        assert_eq!(r.low_watermark(), 40, "replica {}", r.id());
        assert!(
            r.log_len() <= 4,
            "replica {} keeps {} entries",
            r.id(),
            r.log_len()
        );
    }
    assert_eq!(count(&sim, "checkpoint"), 20 * 4 * 3);
    assert_eq!(count(&sim, "view-change"), 0);
    // Heights finalize in order at every replica.
    for node in 0..4 {
        let h: Vec<u64> = sim
            .metrics
            .finality
            .iter()
            .filter(|f| f.node == node)
            .map(|f| f.height)
            .collect();
        assert_eq!(h, (1..=40).collect::<Vec<_>>());
    }
}

#[test]
fn same_seed_same_trace() {
    let w = Workload {
        count: 8,
        bytes: 2_000,
        start: 0,
        interval: 5 * MS,
    };
    let net = NetConfig {
        delay: Delay::LogNormal {
            median_us: 10 * MS,
            sigma: 0.8,
        },
        loss: 0.01,
        ..NetConfig::default()
    };
    let cfg = Pbft::new(7, &Params::default()).unwrap();
    let trace = |seed: u64| {
        let sim = simulate(&cfg, net.clone(), seed, &w.batches(seed), &[], 20 * SECOND);
        (
            sim.metrics.finality.clone(),
            sim.metrics.by_type.clone(),
            sim.metrics.events,
        )
    };
    let a = trace(11);
    assert_eq!(a, trace(11));
    assert_ne!(a.0, trace(12).0);
    assert!(!a.0.is_empty());
}
