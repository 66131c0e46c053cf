//! PoA (Aura) safety under random scenarios within Aura's assumption of synchrony: for each
//! finality threshold θ ∈ {1/2, 2/3}, 1,000 seeded runs with 4 to 10 authorities, up to f
//! Byzantine ones (f = 2s − n − 1 for s = ⌊θn⌋ + 1 signers: censoring, equivocating, sealing
//! wrong content or silent, random authorities), uniform or log-normal delays far below the
//! 1 s step, an honest crash-recovery at times, and 2 to 8 batches. No two honest nodes may
//! finalize different blocks at one height, and no honest node may finalize a batch twice or
//! with other content than the client's. Every run without a crash in which enough
//! authorities seal blocks that honest nodes take (n minus the silent and wrong-content ones,
//! at least s) is live: every honest node finalizes every batch.
//!
//! Partitions are left out on purpose: across a partition an honest authority may seal on both
//! branches in turn, and Aura's finality promises nothing there (`poa_byzantine.rs` has the
//! clone attack).

use rand::Rng as _;
use rand::seq::SliceRandom as _;
use securefl_consensus::poa::{self, Authority, Behaviour};
use securefl_consensus::sim::{Crash, Delay, MS, NetConfig, SECOND, Simulation};

use crate::poa_support::{batch, feed, final_batches, params};

/// Runs per threshold.
pub const RUNS: u64 = 1_000;

/// One seeded run at threshold `finality`; `Err` names the first violation and the scenario.
pub fn run(finality: f64, seed: u64) -> Result<(), String> {
    let mut rng = securefl_api::rng(seed, &["poa-safety", &finality.to_string()]);
    let p = params(finality);
    let n = rng.gen_range(4..=10);
    let f = (2 * p.signers_needed(n)).saturating_sub(n + 1);
    let mut behaviours = vec![Behaviour::Honest; n];
    let mut ids: Vec<usize> = (0..n).collect();
    ids.shuffle(&mut rng);
    for &i in &ids[..rng.gen_range(0..=f)] {
        behaviours[i] = match rng.gen_range(0..4) {
            0 => Behaviour::Censor { ids: None },
            1 => Behaviour::Equivocate,
            2 => Behaviour::WrongContent,
            _ => Behaviour::Silent,
        };
    }
    let delay = if rng.gen_bool(0.5) {
        Delay::Uniform {
            min_us: rng.gen_range(0..5) * MS,
            max_us: rng.gen_range(5..80) * MS,
        }
    } else {
        Delay::LogNormal {
            median_us: rng.gen_range(2..20) * MS,
            sigma: rng.gen_range(0.1..0.6),
        }
    };
    let net = NetConfig {
        delay,
        ..NetConfig::default()
    };
    let honest_ids: Vec<usize> = ids[f..].to_vec();
    let crash = rng.gen_bool(0.3).then(|| {
        let at = rng.gen_range(0..6_000) * MS;
        Crash {
            node: honest_ids[rng.gen_range(0..honest_ids.len())],
            at,
            recover: Some(at + rng.gen_range(100..5_000) * MS),
        }
    });
    let batches = rng.gen_range(2..=8);
    let every = rng.gen_range(100..1_500) * MS;
    let scenario = format!(
        "theta={finality} seed={seed} n={n} behaviours={behaviours:?} {net:?} crash={crash:?} batches={batches} every={every}us"
    );
    let nodes: Vec<Authority> = poa::authorities(&p, &behaviours).map_err(|e| e.to_string())?;
    let mut sim = Simulation::new(nodes, net, seed);
    if let Some(c) = crash {
        sim.crash(c);
    }
    feed(&mut sim, 0, batches, SECOND / 4, every);
    let end = batches * every + (2 * n as u64 + 12) * SECOND;
    sim.run_until(end, |_| false);
    // Live when enough authorities seal blocks honest nodes take (silent ones never seal, and
    // honest nodes refuse wrong content) and none crashed.
    let silent = behaviours
        .iter()
        .filter(|b| matches!(b, Behaviour::Silent | Behaviour::WrongContent))
        .count();
    let live = crash.is_none() && n - silent >= p.signers_needed(n);
    let honest = sim.honest();
    let conflicts = sim.metrics.conflicts(&honest);
    if !conflicts.is_empty() {
        return Err(format!("conflicting finality {conflicts:?}: {scenario}"));
    }
    for node in (0..n).filter(|&i| honest[i]) {
        let got = final_batches(&sim, node);
        if let Some((id, _)) = got.iter().find(|(_, c)| **c > 1) {
            return Err(format!(
                "node {node} finalized batch {id} twice: {scenario}"
            ));
        }
        let wrong = got
            .keys()
            .find(|&&id| sim.metrics.batch_content.get(&(node, id)) != Some(&batch(id).digest));
        if let Some(id) = wrong {
            return Err(format!(
                "node {node} finalized batch {id} with wrong content: {scenario}"
            ));
        }
        if live && got.len() as u64 != batches {
            return Err(format!(
                "node {node} finalized {} of {batches} batches: {scenario}",
                got.len()
            ));
        }
    }
    Ok(())
}

/// Every run at `finality`.
pub fn check(finality: f64) -> Result<(), String> {
    (0..RUNS).try_for_each(|seed| run(finality, seed))
}

#[test]
fn safety_half_finality() {
    check(0.5).unwrap();
}

#[test]
fn safety_two_thirds_finality() {
    check(2.0 / 3.0).unwrap();
}
