//! `pbft` and `poa` as harness plugins: parameters parse (errors name the field), impossible
//! settings are refused, and each commit reports finality, latency and messages by type.

use securefl_api::{Consensus, ConsensusCtx, FaultModel, Params, Registry, Transaction, TxKind};

fn plugin(kind: &str, toml: &str) -> Result<Box<dyn Consensus>, String> {
    let mut reg = Registry::default();
    securefl_consensus::register(&mut reg).unwrap();
    let params = Params::from_toml(toml).map_err(|e| e.to_string())?;
    reg.get::<dyn Consensus>(kind)
        .unwrap()
        .build(&params)
        .map_err(|e| e.to_string())
}

fn txs(round: u32) -> Vec<Transaction> {
    (0..5)
        .map(|h| Transaction {
            kind: TxKind::ModelCommitment,
            round,
            author: h,
            payload: vec![h as u8; 32],
        })
        .collect()
}

fn ctx(round: usize, validators: usize) -> ConsensusCtx {
    ConsensusCtx {
        round,
        validators,
        seed: 5,
    }
}

#[test]
fn pbft_commits_each_block_with_the_analytic_message_count() {
    let mut c = plugin("pbft", "").unwrap();
    c.check(7).unwrap();
    assert_eq!(c.fault_model(), FaultModel::Byzantine { max_faulty: 0 });
    for r in 1..=3 {
        let rep = c.commit(&ctx(r, 7), &txs(r as u32)).unwrap();
        assert!(rep.finalized && rep.latency_us > 0, "{rep:?}");
        assert_eq!(rep.cost.messages, 2 * 7 * 6, "2n(n-1) per block");
        let kinds: Vec<&str> = rep.by_type.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(kinds, ["commit", "pre-prepare", "prepare"]);
        assert_eq!(rep.view_changes, 0);
        // Its seals are a commit certificate: at least the quorum ceil((7+2+1)/2) = 5.
        let sealers = rep.sealers.unwrap();
        assert!(sealers.len() >= c.seal_quorum(7), "{sealers:?}");
    }
    assert_eq!(c.fault_model(), FaultModel::Byzantine { max_faulty: 2 });
    assert_eq!(c.seal_quorum(7), 5);
}

#[test]
fn a_crashed_pbft_primary_costs_a_view_change() {
    let mut c = plugin("pbft", "crashes = [{ node = 0, at-us = 0 }]").unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert!(rep.finalized, "{rep:?}");
    assert!(
        rep.view_changes >= 1 && rep.latency_us >= 500_000,
        "{rep:?}"
    );
    assert!(rep.by_type.iter().any(|(k, _, _)| k == "view-change"));
    assert_eq!(
        rep.sealers,
        Some(vec![1, 2, 3]),
        "the crashed primary seals nothing"
    );
}

#[test]
fn pbft_refuses_n_below_3f_plus_1_and_unknown_keys() {
    let c = plugin("pbft", "f = 2").unwrap();
    let err = c.check(4).unwrap_err().to_string();
    assert!(err.contains("n = 4") && err.contains("f = 2"), "{err}");
    let err = plugin("pbft", "quorum = 3").err().unwrap();
    assert!(err.contains("quorum"), "{err}");
    let c = plugin("pbft", "crashes = [{ node = 9, at-us = 0 }]").unwrap();
    assert!(c.check(4).unwrap_err().to_string().contains("node 9"));
}

#[test]
fn poa_commits_blocks_and_refuses_bad_parameters() {
    let mut c = plugin("poa", "step-us = 100000").unwrap();
    c.check(4).unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert!(rep.finalized, "{rep:?}");
    // Final once 3 of 4 authorities (more than 2/3) have sealed on it: 2 steps and more after
    // the block carrying the batch.
    assert!(rep.latency_us >= 200_000, "{rep:?}");
    let kinds: Vec<&str> = rep.by_type.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(kinds, ["block"]);
    assert_eq!(rep.cost.messages % 3, 0, "n - 1 messages per block");
    // Sealed by the 3 distinct authorities that built on it, the quorum.
    assert_eq!(c.seal_quorum(4), 3);
    assert_eq!(rep.sealers.map(|s| s.len()), Some(3));
    let err = plugin("poa", "finality = 0.4").err().unwrap();
    assert!(err.contains("finality"), "{err}");
}

#[test]
fn an_unreachable_quorum_is_not_final_within_the_timeout() {
    // Two of four replicas down for good: no quorum of 3, nothing is final.
    let toml =
        "block-timeout-us = 2000000\ncrashes = [{ node = 2, at-us = 0 }, { node = 3, at-us = 0 }]";
    let mut c = plugin("pbft", toml).unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert!(!rep.finalized, "{rep:?}");
}

#[test]
fn nobody_up_is_not_final_and_a_lagging_replica_does_not_hold_the_block_back() {
    let all = "block-timeout-us = 1000000\ncrashes = [{ node = 0, at-us = 0 }, { node = 1, at-us = 0 }, { node = 2, at-us = 0 }, { node = 3, at-us = 0 }]";
    for kind in ["pbft", "poa"] {
        let mut c = plugin(kind, all).unwrap();
        let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
        assert!(!rep.finalized, "{kind}: {rep:?}");
        assert_eq!(rep.sealers, Some(vec![]), "{kind}");
    }
    // Replica 3 cut off for 10 s: the other three (a quorum, and a majority of validators)
    // finalize in tens of milliseconds, and the isolated replica's view changes do not count.
    let cut = "network = { partitions = [{ start-us = 0, heal-us = 10000000, groups = [[3]] }] }";
    let mut c = plugin("pbft", cut).unwrap();
    for r in 1..=3 {
        let rep = c.commit(&ctx(r, 4), &txs(r as u32)).unwrap();
        assert!(rep.finalized && rep.latency_us < 100_000, "{rep:?}");
        assert_eq!(rep.view_changes, 0, "{rep:?}");
        assert_eq!(rep.sealers, Some(vec![0, 1, 2]));
    }
}

/// The conflicting heights that `rounds` commits of PoA under the clone attack report: five
/// authorities, authority 4's key also on node 5, the network split into {0, 1, 4} and
/// {2, 3, 5} from 5.5 s to 30.5 s (`tests/poa_byzantine.rs` has the attack's anatomy).
fn clone_attack_conflicts(finality: &str, rounds: usize) -> u64 {
    let params = format!(
        "finality = {finality}\nclones = [4]\nblock-timeout-us = 4000000\n\
         network = {{ partitions = [{{ start-us = 5500000, heal-us = 30500000, groups = [[0, 1, 4], [2, 3, 5]] }}] }}"
    );
    let mut c = plugin("poa", &params).unwrap();
    c.check(5).unwrap();
    (1..=rounds)
        .map(|r| c.commit(&ctx(r, 5), &txs(r as u32)).unwrap().conflicts)
        .sum()
}

#[test]
fn commits_report_the_clone_attacks_safety_violations_under_half_finality_only() {
    let half = clone_attack_conflicts("0.5", 12);
    assert!(
        half > 0,
        "the clone attack under the 1/2 rule split finality"
    );
    assert_eq!(clone_attack_conflicts("0.6667", 12), 0);
    // A fault-free network reports none.
    let mut c = plugin("poa", "").unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert_eq!(rep.conflicts, 0);
}

#[test]
fn a_primary_proposing_wrong_content_is_refused_until_more_than_f_collude() {
    // One wrong-content replica (f = 1), the primary of view 0: honest backups refuse its
    // proposal, a view change follows, and the batch is final with its own content.
    let mut c = plugin(
        "pbft",
        "faults = [{ node = 0, behaviour = \"wrong-content\" }]",
    )
    .unwrap();
    for r in 1..=2 {
        let rep = c.commit(&ctx(r, 4), &txs(r as u32)).unwrap();
        assert!(rep.finalized, "{rep:?}");
        assert_eq!(rep.wrong_content, 0, "{rep:?}");
        if r == 1 {
            assert!(rep.view_changes >= 1, "{rep:?}");
        }
    }
    // Three of four collude: a commit quorum of their own certifies the wrong content. The
    // honest replica never votes for it, but state transfer trusts a commit certificate, so it
    // adopts the certified block too: all four hold the wrong content final. The run is told
    // (`wrong_content`), and no honest majority finalizes, so the round keeps its model.
    let three = "block-timeout-us = 2000000\nfaults = [\
        { node = 0, behaviour = \"wrong-content\" }, { node = 1, behaviour = \"wrong-content\" }, \
        { node = 2, behaviour = \"wrong-content\" }]";
    let mut c = plugin("pbft", three).unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert!(!rep.finalized, "{rep:?}");
    assert_eq!(rep.wrong_content, 4, "{rep:?}");
}

#[test]
fn a_poa_authority_sealing_wrong_content_is_refused_until_enough_collude() {
    // Four authorities, 2/3 finality (3 distinct sealers; f = 1).
    let one = "step-us = 100000\nfaults = [{ node = 1, behaviour = { kind = \"wrong-content\" } }]";
    let mut c = plugin("poa", one).unwrap();
    for r in 1..=2 {
        let rep = c.commit(&ctx(r, 4), &txs(r as u32)).unwrap();
        assert!(rep.finalized, "{rep:?}");
        assert_eq!(rep.wrong_content, 0, "{rep:?}");
    }
    // Three: their blocks carry the wrong content and reach 3 distinct sealers among
    // themselves; the honest authority refuses them, so only the colluders hold it final.
    let three = "step-us = 100000\nblock-timeout-us = 3000000\nfaults = [\
        { node = 0, behaviour = { kind = \"wrong-content\" } }, \
        { node = 1, behaviour = { kind = \"wrong-content\" } }, \
        { node = 2, behaviour = { kind = \"wrong-content\" } }]";
    let mut c = plugin("poa", three).unwrap();
    let rep = c.commit(&ctx(1, 4), &txs(1)).unwrap();
    assert!(!rep.finalized, "{rep:?}");
    assert_eq!(rep.wrong_content, 3, "{rep:?}");
}
