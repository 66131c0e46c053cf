//! PBFT review regressions, each a scenario that once stalled or misbehaved: f spurious
//! view-changers exhausting the honest replicas' CPU at a short timeout, state transfer giving
//! up for good, a batch the primary never received never being ordered, and forged views far
//! ahead.

use securefl_consensus::pbft::{
    Behaviour, Fault, Msg, NULL_DIGEST, NewView, Params, Pbft, Replica, StableProof, ViewChange,
    Vote, Workload, simulate,
};
use securefl_consensus::sim::{
    Action, Batch, Crash, Delay, MS, Message, NetConfig, Node, Partition, SECOND, Simulation,
};

/// Timer id of the state-transfer timer (see `pbft::replica`).
const TIMER_FETCH: u64 = 2;

fn faults(list: &[(usize, Behaviour)]) -> Vec<Fault> {
    list.iter()
        .map(|&(node, behaviour)| Fault { node, behaviour })
        .collect()
}

/// Runs and checks safety; returns the simulation and whether every honest replica executed
/// every batch.
fn run(
    n: usize,
    params: &Params,
    net: NetConfig,
    w: Workload,
    crashes: &[Crash],
    seed: u64,
) -> (Simulation<Replica>, bool) {
    let cfg = Pbft::new(n, params).unwrap();
    let sim = simulate(&cfg, net, seed, &w.batches(seed), crashes, 30 * SECOND);
    let honest = sim.honest();
    assert!(sim.metrics.conflicts(&honest).is_empty());
    let live = (0..n)
        .filter(|&i| honest[i])
        .all(|i| sim.nodes()[i].executed_batches() == w.count);
    (sim, live)
}

fn summaries(sim: &Simulation<Replica>) -> Vec<String> {
    sim.nodes().iter().map(Replica::summary).collect()
}

#[test]
fn f_spurious_view_changers_with_a_short_timeout_stay_live() {
    // The reviewer's p320: n = 10, replicas 0 and 9 spurious (2 ≤ f = 3), T = 31 ms, and a
    // partition that forces honest view changes. Full-price duplicate VIEW-CHANGEs every T/2
    // once kept every honest CPU busy for ever, so no view change could complete.
    let params = Params {
        checkpoint_interval: 16,
        view_change_timeout_us: 31 * MS,
        state_transfer_timeout_us: 49 * MS,
        faults: faults(&[
            (9, Behaviour::SpuriousViewChange),
            (0, Behaviour::SpuriousViewChange),
        ]),
        ..Params::default()
    };
    let net = NetConfig {
        delay: Delay::Uniform {
            min_us: MS,
            max_us: 54 * MS,
        },
        partitions: vec![Partition {
            start_us: 1_142 * MS,
            heal_us: 1_992 * MS,
            groups: vec![vec![3, 1, 8], vec![7, 6, 4, 5]],
        }],
        verify_us: 50,
        ..NetConfig::default()
    };
    let w = Workload {
        count: 25,
        bytes: 2_052,
        start: 0,
        interval: 5 * MS,
    };
    let (sim, live) = run(10, &params, net, w, &[], 320);
    assert!(live, "{:#?}", summaries(&sim));
}

#[test]
fn a_held_view_change_costs_no_verification() {
    let cfg = Pbft::new(4, &Params::default()).unwrap();
    let mut r = Replica::new(1, &cfg);
    let vc = Msg::ViewChange(ViewChange {
        view: 1,
        replica: 2,
        stable: StableProof {
            seq: 0,
            digest: NULL_DIGEST,
            signers: vec![],
        },
        prepared: vec![],
    });
    assert_eq!(r.verify_cost(2, &vc), vc.signatures());
    r.on_message(0, 2, vc.clone());
    assert_eq!(
        r.verify_cost(2, &vc),
        0,
        "a duplicate is dropped by its header"
    );
    assert_eq!(
        r.verify_cost(3, &vc),
        vc.signatures(),
        "another sender's is not"
    );
}

#[test]
fn spurious_view_changes_back_off() {
    let params = Params {
        faults: faults(&[(1, Behaviour::SpuriousViewChange)]),
        ..Params::default()
    };
    let mut r = Replica::new(1, &Pbft::new(4, &params).unwrap());
    let delay = |out: &[Action<Msg>]| {
        out.iter().find_map(|a| match a {
            Action::SetTimer { id, after } if *id == 4 => Some(*after),
            _ => None,
        })
    };
    let mut last = delay(&r.on_start(0)).expect("spurious timer");
    for _ in 0..4 {
        let out = r.on_timer(0, 4);
        assert!(out.iter().any(|a| matches!(
            a,
            Action::Broadcast {
                msg: Msg::ViewChange(_)
            }
        )));
        let next = delay(&out).expect("re-armed");
        assert!(next > last, "{next} after {last}");
        last = next;
    }
}

#[test]
fn state_transfer_never_gives_up_while_behind() {
    // The reviewer's `giveup`: f + 1 COMMITs for seq 2, many fruitless fetch rounds, then a
    // q-certified stable checkpoint at the same height.
    let cfg = Pbft::new(
        4,
        &Params {
            checkpoint_interval: 2,
            ..Params::default()
        },
    )
    .unwrap();
    let mut r = Replica::new(3, &cfg);
    let vote = Vote {
        view: 0,
        seq: 2,
        digest: [7; 32],
    };
    let rearmed = |out: &[Action<Msg>]| {
        out.iter()
            .any(|a| matches!(a, Action::SetTimer { id, .. } if *id == TIMER_FETCH))
    };
    let mut armed = false;
    for from in [0, 1] {
        armed |= rearmed(&r.on_message(0, from, Msg::Commit(vote)));
    }
    assert!(armed);
    let mut delays = Vec::new();
    for round in 0..12 {
        let out = r.on_timer(0, TIMER_FETCH);
        assert!(rearmed(&out), "round {round}: still behind, yet it stopped");
        delays.extend(out.iter().filter_map(|a| match a {
            Action::SetTimer { id, after } if *id == TIMER_FETCH => Some(*after),
            _ => None,
        }));
    }
    assert!(delays.windows(2).all(|d| d[0] <= d[1]), "{delays:?}");
    assert!(delays.last() > delays.first(), "backs off: {delays:?}");
    // New evidence (a stable checkpoint at the same height) brings the short delay back.
    let mut out = Vec::new();
    for from in [0, 1, 2] {
        out.extend(r.on_message(
            0,
            from,
            Msg::Checkpoint {
                seq: 2,
                digest: [9; 32],
            },
        ));
    }
    assert!(out.iter().any(|a| matches!(
        a,
        Action::SetTimer { id, after } if *id == TIMER_FETCH && Some(after) == delays.first()
    )));
}

#[test]
fn a_recovered_replica_catches_up_when_its_peers_are_idle() {
    // Fuzz n = 5 seed 1492 (heavy): replica 4 crashes twice, comes back after the last batch,
    // and its fetch rounds ran out before anyone could answer.
    let params = Params {
        checkpoint_interval: 2,
        view_change_timeout_us: 197 * MS,
        state_transfer_timeout_us: 54 * MS,
        faults: faults(&[(2, Behaviour::WithholdVotes)]),
        ..Params::default()
    };
    let net = NetConfig {
        delay: Delay::LogNormal {
            median_us: 16 * MS,
            sigma: 1.343_898_438_632_733_5,
        },
        ..NetConfig::default()
    };
    let crashes = [
        Crash {
            node: 4,
            at: 195 * MS,
            recover: Some(923 * MS),
        },
        Crash {
            node: 4,
            at: 46 * MS,
            recover: Some(125 * MS),
        },
    ];
    let w = Workload {
        count: 12,
        bytes: 2_881,
        start: 0,
        interval: 34 * MS,
    };
    let (sim, live) = run(5, &params, net, w, &crashes, 1492);
    assert!(live, "{:#?}", summaries(&sim));
}

#[test]
fn a_batch_the_primary_missed_is_relayed_and_ordered() {
    // Fuzz n = 4 seed 2644: replica 0 is crash-silent, 2 and 3 are down while batches keep
    // arriving, so only replica 1 (≤ f) holds them; it must relay them so that they get ordered.
    let params = Params {
        checkpoint_interval: 16,
        view_change_timeout_us: 56 * MS,
        state_transfer_timeout_us: 77 * MS,
        faults: faults(&[(0, Behaviour::CrashSilent)]),
        ..Params::default()
    };
    let net = NetConfig {
        delay: Delay::LogNormal {
            median_us: 4 * MS,
            sigma: 1.083_448_087_965_248_4,
        },
        partitions: vec![
            Partition {
                start_us: 493 * MS,
                heal_us: 945 * MS,
                groups: vec![vec![2], vec![3, 1]],
            },
            Partition {
                start_us: 557 * MS,
                heal_us: 1_848 * MS,
                groups: vec![vec![3, 1, 0], vec![]],
            },
        ],
        ..NetConfig::default()
    };
    let crashes = [
        Crash {
            node: 2,
            at: 438 * MS,
            recover: Some(1_150 * MS),
        },
        Crash {
            node: 3,
            at: 486 * MS,
            recover: Some(1_060 * MS),
        },
    ];
    let w = Workload {
        count: 21,
        bytes: 2_160,
        start: 0,
        interval: 55 * MS,
    };
    let (sim, live) = run(4, &params, net, w, &crashes, 2644);
    assert!(live, "{:#?}", summaries(&sim));
    let relayed = sim.metrics.by_type.get("request").map_or(0, |c| c.messages);
    assert!(relayed > 0);
}

#[test]
fn a_relayed_request_reaches_the_primarys_queue() {
    let cfg = Pbft::new(4, &Params::default()).unwrap();
    let b = Batch {
        id: 3,
        digest: [4; 32],
        bytes: 100,
    };
    // A backup whose request timer fires relays what it holds, then asks for a view change.
    let mut backup = Replica::new(2, &cfg);
    let timer = backup
        .on_input(0, b)
        .into_iter()
        .find_map(|a| match a {
            Action::SetTimer { id, .. } => Some(id),
            _ => None,
        })
        .expect("request timer");
    let out = backup.on_timer(0, timer);
    let relay = out.iter().find_map(|a| match a {
        Action::Broadcast {
            msg: m @ Msg::Request(_),
        } => Some(m.clone()),
        _ => None,
    });
    let relay = relay.expect("relayed");
    assert_eq!(relay.kind(), "request");
    // The primary of view 0, which never saw the batch, proposes it; a duplicate is ignored.
    let mut primary = Replica::new(0, &cfg);
    let out = primary.on_message(0, 2, relay.clone());
    assert!(out.iter().any(|a| matches!(
        a,
        Action::Broadcast { msg: Msg::PrePrepare(p) } if p.batch == Some(b)
    )));
    let again = primary.on_message(0, 1, relay);
    assert!(!again.iter().any(|a| matches!(
        a,
        Action::Broadcast {
            msg: Msg::PrePrepare(_)
        }
    )));
}

#[test]
fn forged_far_views_are_refused() {
    let cfg = Pbft::new(4, &Params::default()).unwrap();
    let forged = |view: u64, seq: u64| {
        let vcs = (0..3)
            .map(|replica| ViewChange {
                view,
                replica,
                stable: StableProof {
                    seq,
                    digest: if seq == 0 { NULL_DIGEST } else { [1; 32] },
                    signers: if seq == 0 { vec![] } else { vec![0, 1, 2] },
                },
                prepared: vec![],
            })
            .collect();
        Msg::NewView(NewView {
            view,
            primary: (view % 4) as usize,
            view_changes: vcs,
            pre_prepares: vec![],
        })
    };
    // One Byzantine sender (≤ f) cannot move a replica far ahead, nor to the last view.
    for view in [u64::MAX, 1_000_000] {
        let mut r = Replica::new(1, &cfg);
        r.on_message(0, 3, forged(view, 16 * 1000));
        assert_eq!((r.view(), r.low_watermark()), (0, 0), "view {view}");
    }
    // A NEW-VIEW for the next view is still accepted from anyone.
    let mut r = Replica::new(1, &cfg);
    r.on_message(0, 3, forged(1, 0));
    assert_eq!((r.view(), r.is_active()), (1, true));
    // u64::MAX has no successor view: even f + 1 senders cannot install it.
    let mut r = Replica::new(1, &cfg);
    for from in [0, 2, 3] {
        r.on_message(0, from, forged(u64::MAX, 0));
    }
    assert!(r.view() < u64::MAX);
}
