//! The simulator: delivery times follow the network model, partitions hold messages until they
//! heal, crashes drop events, the CPU queue serializes verification, and runs are deterministic.

use securefl_consensus::sim::{
    Action, Batch, Crash, Delay, Message, NetConfig, Node, NodeId, Partition, Simulation, Time,
};

#[derive(Debug, Clone)]
struct Ping(u64);

impl Message for Ping {
    fn kind(&self) -> &'static str {
        "ping"
    }
    fn size(&self) -> u64 {
        100
    }
}

/// Node 0 broadcasts a ping per input; every node records when each ping arrived and finalizes
/// it as height = ping number.
#[derive(Default)]
struct Echo {
    got: Vec<(Time, NodeId, u64)>,
}

impl Node for Echo {
    type Msg = Ping;
    type Input = Batch;
    fn on_start(&mut self, _now: Time) -> Vec<Action<Ping>> {
        Vec::new()
    }
    fn on_input(&mut self, _now: Time, input: Batch) -> Vec<Action<Ping>> {
        vec![Action::Broadcast {
            msg: Ping(input.id),
        }]
    }
    fn on_message(&mut self, now: Time, from: NodeId, msg: Ping) -> Vec<Action<Ping>> {
        self.got.push((now, from, msg.0));
        vec![Action::Finalize {
            height: msg.0,
            digest: [msg.0 as u8; 32],
            batches: vec![msg.0],
            contents: vec![[msg.0 as u8; 32]],
            proof: vec![from],
        }]
    }
    fn on_timer(&mut self, _now: Time, _id: u64) -> Vec<Action<Ping>> {
        Vec::new()
    }
}

fn batch(id: u64) -> Batch {
    Batch {
        id,
        digest: [0; 32],
        bytes: 0,
    }
}

fn sim(n: usize, net: NetConfig, seed: u64) -> Simulation<Echo> {
    Simulation::new((0..n).map(|_| Echo::default()).collect(), net, seed)
}

fn constant(us: Time) -> NetConfig {
    NetConfig {
        delay: Delay::Constant { us },
        verify_us: 0,
        ..NetConfig::default()
    }
}

#[test]
fn constant_delay_bandwidth_and_cpu_queue_give_the_computed_times() {
    // 100 bytes at 100 kB/s take 1 ms on the uplink; the broadcast to 3 nodes queues them.
    let net = NetConfig {
        bandwidth: 100_000,
        verify_us: 200,
        ..constant(10_000)
    };
    let mut s = sim(4, net, 1);
    s.input(0, 0, batch(7));
    s.run_until(u64::MAX, |_| false);
    let arrivals: Vec<Time> = (1..4).map(|i| s.nodes()[i].got[0].0).collect();
    assert_eq!(arrivals, [11_200, 12_200, 13_200]);
    assert_eq!(s.metrics.by_type["ping"].messages, 3);
    assert_eq!(s.metrics.by_type["ping"].bytes, 300);
    // Two pings to one node: the second waits for the first's verification.
    let mut s = sim(
        2,
        NetConfig {
            verify_us: 5_000,
            ..constant(0)
        },
        1,
    );
    s.input(0, 0, batch(1));
    s.input(0, 0, batch(2));
    s.run_until(u64::MAX, |_| false);
    let times: Vec<Time> = s.nodes()[1].got.iter().map(|g| g.0).collect();
    assert_eq!(times, [5_000, 10_000]);
}

#[test]
fn a_partition_holds_messages_until_it_heals() {
    let net = NetConfig {
        partitions: vec![Partition {
            start_us: 0,
            heal_us: 50_000,
            groups: vec![vec![0, 1]],
        }],
        ..constant(1_000)
    };
    let mut s = sim(4, net, 1);
    s.input(10, 0, batch(1));
    s.run_until(u64::MAX, |_| false);
    assert_eq!(s.nodes()[1].got[0].0, 1_010, "same side");
    assert_eq!(
        s.nodes()[2].got[0].0,
        51_000,
        "across: held, then in flight"
    );
    assert_eq!(s.nodes()[3].got[0].0, 51_000);
}

#[test]
fn a_crashed_node_misses_messages_until_it_recovers() {
    let mut s = sim(3, constant(1_000), 1);
    s.crash(Crash {
        node: 2,
        at: 500,
        recover: Some(5_000),
    });
    s.input(0, 0, batch(1));
    s.input(6_000, 0, batch(2));
    s.run_until(u64::MAX, |_| false);
    let ids: Vec<u64> = s.nodes()[2].got.iter().map(|g| g.2).collect();
    assert_eq!(ids, [2]);
    assert!(s.metrics.finalized[2].contains_key(&2));
    assert!(!s.metrics.finalized[2].contains_key(&1));
}

#[test]
fn loss_drops_about_the_configured_share_and_runs_are_deterministic() {
    let run = |seed| {
        let net = NetConfig {
            loss: 0.2,
            delay: Delay::LogNormal {
                median_us: 10_000,
                sigma: 1.0,
            },
            ..NetConfig::default()
        };
        let mut s = sim(11, net, seed);
        for i in 0..100 {
            s.input(i * 1_000, 0, batch(i));
        }
        s.run_until(u64::MAX, |_| false);
        let trace: Vec<(Time, NodeId, u64)> =
            s.nodes().iter().flat_map(|n| n.got.clone()).collect();
        (s.metrics.lost, trace)
    };
    let (lost, trace) = run(3);
    assert!((150..250).contains(&lost), "{lost} of 1000 lost at p = 0.2");
    assert_eq!(run(3), (lost, trace.clone()));
    assert_ne!(run(4).1, trace, "another seed, other delays");
}

#[test]
fn conflicting_finality_among_honest_nodes_is_reported() {
    let mut s = sim(3, constant(1_000), 1);
    s.input(0, 0, batch(5));
    s.run_until(u64::MAX, |_| false);
    assert!(s.metrics.conflicts(&s.honest()).is_empty());
    assert_eq!(s.metrics.all_final_at(&[1, 2], 5), Some(1_000));
    let mut forged = s.metrics.finality[0].clone();
    forged.digest = [9; 32];
    s.metrics.finalize(forged);
    assert_eq!(s.metrics.conflicts(&s.honest()).len(), 1);
}

#[test]
fn bad_network_settings_are_refused_with_the_field_named() {
    let bad = NetConfig {
        loss: 1.0,
        ..NetConfig::default()
    };
    assert!(bad.check(4).unwrap_err().contains("loss"));
    let bad = NetConfig {
        partitions: vec![Partition {
            start_us: 0,
            heal_us: 1,
            groups: vec![vec![7]],
        }],
        ..NetConfig::default()
    };
    assert!(bad.check(4).unwrap_err().contains("node 7"));
    let bad = Delay::Regions {
        region: vec![0, 2],
        latency_us: vec![vec![1, 2], vec![2, 1]],
    };
    assert!(bad.check().unwrap_err().contains("region 2"));
}
