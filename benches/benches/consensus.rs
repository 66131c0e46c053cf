//! Consensus on the simulator: simulated events per second of wall time, and the simulated
//! finality latency, for `pbft` and `poa` with n ∈ {4, 16, 64, 100} validators.
//!
//! Each run orders 10 batches of 10 kB handed to every validator 100 ms apart, on the default
//! network (uniform 5–15 ms delays, 50 µs per signature verified), until every validator has
//! finalized all of them. The latency (mean over batches of the time until the last validator
//! finalized it) is simulated time and is printed once per configuration; criterion measures
//! the wall time of the whole run, with the run's event count as its throughput.
//!
//! Run: `cargo bench --bench consensus`.

#![expect(
    missing_docs,
    reason = "the criterion macros generate undocumented functions"
)]

use std::io::Write as _;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use securefl_consensus::pbft::{self, Pbft};
use securefl_consensus::poa;
use securefl_consensus::sim::{Batch, MS, NetConfig, Node, SECOND, Simulation, Time};

const BATCHES: u64 = 10;
const EVERY: Time = 100 * MS;

fn batches() -> Vec<(Time, Batch)> {
    (0..BATCHES)
        .map(|i| {
            let mut digest = [1u8; 32];
            digest[..8].copy_from_slice(&i.to_le_bytes());
            let batch = Batch {
                id: i,
                digest,
                bytes: 10_000,
            };
            (i * EVERY, batch)
        })
        .collect()
}

/// Runs `nodes` on the default network until all of them finalized every batch; returns the
/// events processed and the mean simulated finality latency in ms.
fn run<N: Node<Input = Batch>>(nodes: Vec<N>, deadline: Time) -> (u64, f64) {
    let n = nodes.len();
    let mut sim = Simulation::new(nodes, NetConfig::default(), 42);
    let work = batches();
    for &(at, b) in &work {
        for node in 0..n {
            sim.input(at, node, b);
        }
    }
    let all = |s: &Simulation<N>| {
        (0..n).all(|i| (0..BATCHES).all(|b| s.metrics.batch_final.contains_key(&(i, b))))
    };
    assert!(sim.run_until(deadline, all), "not all batches final");
    let latency: f64 = work
        .iter()
        .map(|&(at, b)| {
            let last = (0..n)
                .filter_map(|i| sim.metrics.batch_final.get(&(i, b.id)))
                .max()
                .copied()
                .unwrap_or(at);
            (last - at) as f64 / 1000.0
        })
        .sum::<f64>()
        / BATCHES as f64;
    (sim.metrics.events, latency)
}

fn pbft_nodes(n: usize) -> Vec<pbft::Replica> {
    Pbft::new(n, &pbft::Params::default())
        .expect("valid n")
        .replicas()
}

fn poa_nodes(n: usize) -> Vec<poa::Authority> {
    poa::honest(&poa::Params::default(), n).expect("valid n")
}

fn consensus(c: &mut Criterion) {
    let mut g = c.benchmark_group("consensus");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for n in [4usize, 16, 64, 100] {
        let (events, latency) = run(pbft_nodes(n), 60 * SECOND);
        report("pbft", n, events, latency);
        g.throughput(Throughput::Elements(events));
        g.bench_function(BenchmarkId::new("pbft", n), |b| {
            b.iter(|| run(pbft_nodes(n), 60 * SECOND))
        });
        let (events, latency) = run(poa_nodes(n), 600 * SECOND);
        report("poa", n, events, latency);
        g.throughput(Throughput::Elements(events));
        g.bench_function(BenchmarkId::new("poa", n), |b| {
            b.iter(|| run(poa_nodes(n), 600 * SECOND))
        });
    }
    g.finish();
}

fn report(protocol: &str, n: usize, events: u64, latency_ms: f64) {
    let _ = writeln!(
        std::io::stderr(),
        "{protocol} n={n}: {events} events, mean simulated finality latency {latency_ms:.1} ms"
    );
}

/// The scale check: 100 PBFT replicas ordering 100 batches (checkpoints included).
fn pbft_100_blocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("consensus-100-blocks");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let cfg = Pbft::new(100, &pbft::Params::default()).expect("valid n");
    let work = pbft::Workload {
        count: 100,
        bytes: 10_000,
        start: 0,
        interval: 10 * MS,
    }
    .batches(7);
    let run = || pbft::simulate(&cfg, NetConfig::default(), 7, &work, &[], 600 * SECOND);
    let sim = run();
    let done = (0..100).all(|i| sim.nodes()[i].executed_batches() == 100);
    assert!(done, "not all batches final");
    report("pbft 100 blocks", 100, sim.metrics.events, 0.0);
    g.throughput(Throughput::Elements(sim.metrics.events));
    g.bench_function(BenchmarkId::new("pbft", 100), |b| b.iter(run));
    g.finish();
}

criterion_group!(benches, consensus, pbft_100_blocks);
criterion_main!(benches);
