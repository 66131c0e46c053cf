//! PBFT safety under random scenarios: for each n in {4, 5, 6, 7, 8, 9, 10}, 1,000 seeded runs
//! with up to f Byzantine replicas (random behaviours, random replicas, the primary often among
//! them), random K, timeouts, uniform or log-normal delays, healing partitions, small loss and
//! crash-recoveries; most runs order a few batches, about one in six orders 8 to 20 (several
//! checkpoints with the small K). No two honest replicas may finalize different digests at one
//! height; each honest replica finalizes heights 1, 2, 3, ... in order, only submitted batches
//! or null requests, each batch once; and every run without loss is live (all honest replicas
//! execute every batch within 4 simulated seconds).

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;
use securefl_consensus::pbft::{
    Behaviour, Fault, NULL_DIGEST, Params, Pbft, Replica, Workload, simulate,
};
use securefl_consensus::sim::{
    Batch, Crash, Delay, MS, NetConfig, Partition, SECOND, Simulation, Time,
};

/// One random scenario; `Debug` names everything needed to replay it.
#[derive(Debug)]
struct Scenario {
    params: Params,
    net: NetConfig,
    workload: Workload,
    crashes: Vec<Crash>,
}

fn scenario(n: usize, seed: u64) -> Scenario {
    let mut rng = securefl_api::rng(seed, &["pbft-safety", &n.to_string()]);
    let f = (n - 1) / 3;
    let mut ids: Vec<usize> = (0..n).collect();
    ids.shuffle(&mut rng);
    if rng.gen_bool(0.5) {
        // The primary of view 0 (and often of view 1) is among the faulty.
        let p = ids
            .iter()
            .position(|&i| i == rng.gen_range(0..2))
            .unwrap_or(0);
        ids.swap(0, p);
    }
    let faulty = rng.gen_range(0..=f);
    let faults = ids[..faulty]
        .iter()
        .map(|&node| Fault {
            node,
            behaviour: Behaviour::BYZANTINE[rng.gen_range(0..Behaviour::BYZANTINE.len())],
        })
        .collect();
    let params = Params {
        f: None,
        checkpoint_interval: [1, 2, 3, 16][rng.gen_range(0..4)],
        view_change_timeout_us: rng.gen_range(80..300) * MS,
        state_transfer_timeout_us: rng.gen_range(20..100) * MS,
        faults,
    };
    let delay = if rng.gen_bool(0.5) {
        Delay::Uniform {
            min_us: rng.gen_range(0..3) * MS,
            max_us: rng.gen_range(3..25) * MS,
        }
    } else {
        Delay::LogNormal {
            median_us: rng.gen_range(2..10) * MS,
            sigma: rng.gen_range(0.2..1.2),
        }
    };
    let partitions = (0..rng.gen_range(0..=2))
        .map(|_| {
            let start_us = rng.gen_range(0..800) * MS;
            let mut nodes: Vec<usize> = (0..n).collect();
            nodes.shuffle(&mut rng);
            let cut = rng.gen_range(1..n);
            Partition {
                start_us,
                heal_us: start_us + rng.gen_range(50..1000) * MS,
                groups: vec![nodes[..cut].to_vec()],
            }
        })
        .collect();
    let loss = if rng.gen_bool(0.5) {
        0.0
    } else {
        rng.gen_range(0.0..0.03)
    };
    let crashes = (0..rng.gen_range(0..=1))
        .map(|_| {
            let at = rng.gen_range(0..600) * MS;
            Crash {
                node: rng.gen_range(0..n),
                at,
                recover: Some(at + rng.gen_range(10..800) * MS),
            }
        })
        .collect();
    Scenario {
        params,
        net: NetConfig {
            delay,
            loss,
            partitions,
            ..NetConfig::default()
        },
        workload: Workload {
            count: if rng.gen_bool(1.0 / 6.0) {
                rng.gen_range(8..=20)
            } else {
                rng.gen_range(1..=5)
            },
            bytes: rng.gen_range(100..5000),
            start: 0,
            interval: rng.gen_range(0..40) * MS,
        },
        crashes,
    }
}

/// One scenario for `n`: `Err` names the first violation; `Ok(true)` for a lossy run in which
/// every honest replica executed every batch within 4 simulated seconds (required without
/// loss, where it is `Ok(false)`).
pub fn run(n: usize, seed: u64) -> Result<bool, String> {
    let s = scenario(n, seed);
    let cfg = Pbft::new(n, &s.params).map_err(|e| format!("n={n} seed={seed}: {e}"))?;
    let batches = s.workload.batches(seed);
    let sim = simulate(&cfg, s.net.clone(), seed, &batches, &s.crashes, 4 * SECOND);
    let live = honest_run(&sim, &batches).map_err(|e| format!("n={n} seed={seed}: {e}\n{s:#?}"))?;
    if s.net.loss == 0.0 && !live {
        return Err(format!("n={n} seed={seed}: not live without loss\n{s:#?}"));
    }
    Ok(live && s.net.loss > 0.0)
}

/// What the honest replicas of a finished run must show: no conflicting finality, only
/// submitted batches or null requests, heights 1, 2, 3, ... in order, each batch once. Returns
/// whether every honest replica executed every batch.
pub fn honest_run(sim: &Simulation<Replica>, batches: &[(Time, Batch)]) -> Result<bool, String> {
    let honest = sim.honest();
    let conflicts = sim.metrics.conflicts(&honest);
    if !conflicts.is_empty() {
        let heights: Vec<u64> = conflicts.iter().map(|c| c.0).collect();
        return Err(format!("conflicting finality at heights {heights:?}"));
    }
    let digests: BTreeSet<[u8; 32]> = batches.iter().map(|(_, b)| b.digest).collect();
    let nodes = (0..sim.nodes().len()).filter(|&i| honest[i]);
    for node in nodes.clone() {
        let mine: Vec<_> = sim
            .metrics
            .finality
            .iter()
            .filter(|f| f.node == node)
            .collect();
        if mine
            .iter()
            .any(|f| f.digest != NULL_DIGEST && !digests.contains(&f.digest))
        {
            return Err(format!("replica {node} finalized an unknown digest"));
        }
        let heights: Vec<u64> = mine.iter().map(|f| f.height).collect();
        if heights != (1..=heights.len() as u64).collect::<Vec<_>>() {
            return Err(format!("replica {node} finalized heights {heights:?}"));
        }
        let ids: Vec<u64> = mine
            .iter()
            .flat_map(|f| f.batches.iter().copied())
            .collect();
        if ids.len() != ids.iter().collect::<BTreeSet<_>>().len() {
            return Err(format!("replica {node} executed a batch twice"));
        }
    }
    let mut nodes = nodes;
    Ok(nodes.all(|i| sim.nodes()[i].executed_batches() == batches.len()))
}

/// Runs 1,000 scenarios for `n`: safety always; liveness whenever the network loses nothing.
/// Returns how many lossy runs were live too.
pub fn check(n: usize) -> Result<usize, String> {
    let mut lossy_live = 0;
    for seed in 0..1000 {
        lossy_live += usize::from(run(n, seed)?);
    }
    Ok(lossy_live)
}

#[test]
fn safety_n4() {
    assert!(check(4).unwrap() > 400);
}

#[test]
fn safety_n5() {
    assert!(check(5).unwrap() > 400);
}

#[test]
fn safety_n6() {
    assert!(check(6).unwrap() > 400);
}

#[test]
fn safety_n7() {
    assert!(check(7).unwrap() > 400);
}

#[test]
fn safety_n8() {
    assert!(check(8).unwrap() > 400);
}

#[test]
fn safety_n9() {
    assert!(check(9).unwrap() > 400);
}

#[test]
fn safety_n10() {
    assert!(check(10).unwrap() > 400);
}
