//! PBFT replica state machine, message by message: votes counted per distinct sender and
//! digest, the pre-prepare acceptance rules, NEW-VIEW validation (O recomputed from V, highest
//! view wins, null requests fill gaps), the f + 1 join rule, doubling timeouts, behaviours,
//! message sizes.

use securefl_consensus::pbft::{
    Behaviour, Fault, Msg, NULL_DIGEST, NewView, Params, Pbft, PreparedProof, Proposal, Replica,
    StableProof, VOTE_BYTES, ViewChange, Vote,
};
use securefl_consensus::sim::{Action, Batch, Message, Node};

const T: u64 = 500_000;

fn cfg(n: usize, faults: Vec<Fault>) -> Pbft {
    Pbft::new(
        n,
        &Params {
            faults,
            ..Params::default()
        },
    )
    .unwrap()
}

fn batch(id: u64) -> Batch {
    Batch {
        id,
        digest: [id as u8 + 1; 32],
        bytes: 100,
    }
}

fn pp(view: u64, seq: u64, b: Option<Batch>) -> Msg {
    Msg::PrePrepare(Proposal {
        view,
        seq,
        digest: b.map_or(NULL_DIGEST, |b| b.digest),
        batch: b,
    })
}

fn vote(view: u64, seq: u64, digest: [u8; 32]) -> Vote {
    Vote { view, seq, digest }
}

fn sent(actions: &[Action<Msg>]) -> Vec<&Msg> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Broadcast { msg } | Action::Send { msg, .. } => Some(msg),
            _ => None,
        })
        .collect()
}

fn has(actions: &[Action<Msg>], pred: impl Fn(&Msg) -> bool) -> bool {
    sent(actions).into_iter().any(pred)
}

fn finalized(actions: &[Action<Msg>]) -> Vec<(u64, Vec<u64>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Finalize {
                height, batches, ..
            } => Some((*height, batches.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn votes_count_per_distinct_sender_and_digest() {
    let mut r = Replica::new(1, &cfg(4, vec![]));
    let b = batch(7);
    let out = r.on_message(0, 0, pp(0, 1, Some(b)));
    assert!(has(
        &out,
        |m| matches!(m, Msg::Prepare(v) if v.digest == b.digest)
    ));
    // q = 3: the pre-prepare stands in for the primary, so 2 prepares from backups (this
    // replica's own and one more) are needed. Duplicates, other digests and the primary's own
    // PREPARE do not count.
    let wrong = [9; 32];
    for (from, v) in [
        (2, vote(0, 1, wrong)),
        (0, vote(0, 1, b.digest)),
        (3, vote(1, 1, b.digest)),
    ] {
        let out = r.on_message(0, from, Msg::Prepare(v));
        assert!(!has(&out, |m| matches!(m, Msg::Commit(_))), "{from} {v:?}");
    }
    let out = r.on_message(0, 2, Msg::Prepare(vote(0, 1, b.digest)));
    assert!(has(
        &out,
        |m| matches!(m, Msg::Commit(v) if v.digest == b.digest)
    ));
    // Commits: own + 2 more matching, from distinct replicas.
    for (from, v) in [
        (2, vote(0, 1, b.digest)),
        (2, vote(0, 1, b.digest)),
        (3, vote(0, 1, wrong)),
    ] {
        let out = r.on_message(0, from, Msg::Commit(v));
        assert!(finalized(&out).is_empty(), "{from} {v:?}");
    }
    let out = r.on_message(0, 0, Msg::Commit(vote(0, 1, b.digest)));
    assert_eq!(finalized(&out), vec![(1, vec![7])]);
    assert_eq!(r.last_executed(), 1);
}

#[test]
fn pre_prepare_acceptance_rules() {
    let b = batch(1);
    let mut r = Replica::new(1, &cfg(4, vec![]));
    let prepares = |out: &[Action<Msg>]| has(out, |m| matches!(m, Msg::Prepare(_)));
    // Not from the primary of view 0.
    assert!(!prepares(&r.on_message(0, 2, pp(0, 1, Some(b)))));
    // Digest is not the batch's.
    let forged = Msg::PrePrepare(Proposal {
        view: 0,
        seq: 1,
        digest: [3; 32],
        batch: Some(b),
    });
    assert!(!prepares(&r.on_message(0, 0, forged)));
    // Outside the watermarks (h = 0, H = 2K = 32).
    assert!(!prepares(&r.on_message(0, 0, pp(0, 0, Some(b)))));
    assert!(!prepares(&r.on_message(0, 0, pp(0, 33, Some(b)))));
    // Accepted once; a conflicting one for the same (view, seq) is not.
    assert!(prepares(&r.on_message(0, 0, pp(0, 1, Some(b)))));
    assert!(!prepares(&r.on_message(0, 0, pp(0, 1, Some(batch(2))))));
    assert!(!prepares(&r.on_message(0, 0, pp(0, 1, Some(b)))));
    assert!(prepares(&r.on_message(0, 0, pp(0, 32, Some(batch(3))))));
}

fn vc(view: u64, replica: usize, prepared: Vec<PreparedProof>) -> ViewChange {
    ViewChange {
        view,
        replica,
        stable: StableProof {
            seq: 0,
            digest: NULL_DIGEST,
            signers: vec![],
        },
        prepared,
    }
}

fn cert(view: u64, seq: u64, b: Batch, prepares: Vec<usize>) -> PreparedProof {
    PreparedProof {
        view,
        seq,
        digest: b.digest,
        batch: Some(b),
        prepares,
    }
}

fn proposal(view: u64, seq: u64, b: Option<Batch>) -> Proposal {
    Proposal {
        view,
        seq,
        digest: b.map_or(NULL_DIGEST, |b| b.digest),
        batch: b,
    }
}

#[test]
fn new_view_is_recomputed_and_checked() {
    let (a, c, d) = (batch(1), batch(2), batch(3));
    // View 2 (primary 2). Seq 1 prepared with `a` in view 0 and with `c` in view 1: the
    // highest view wins. Seq 2 prepared nowhere: null. Seq 3 prepared with `d`.
    let v = vec![
        vc(2, 0, vec![cert(0, 1, a, vec![1, 2])]),
        vc(
            2,
            1,
            vec![cert(1, 1, c, vec![0, 2]), cert(1, 3, d, vec![0, 3])],
        ),
        vc(2, 2, vec![]),
    ];
    let o = vec![
        proposal(2, 1, Some(c)),
        proposal(2, 2, None),
        proposal(2, 3, Some(d)),
    ];
    let good = NewView {
        view: 2,
        primary: 2,
        view_changes: v.clone(),
        pre_prepares: o.clone(),
    };
    let n4 = cfg(4, vec![]);
    let mut bad_o = good.clone();
    bad_o.pre_prepares[0] = proposal(2, 1, Some(a));
    let mut short = good.clone();
    short.view_changes.pop();
    let mut dup = good.clone();
    dup.view_changes[2] = v[0].clone();
    let mut weak_cert = good.clone();
    weak_cert.view_changes[0].prepared[0].prepares = vec![1];
    let mut primary_prepare = good.clone();
    primary_prepare.view_changes[1].prepared[1].prepares = vec![1, 3];
    let mut unsigned = good.clone();
    unsigned.primary = 1;
    for (what, nv) in [
        ("not signed by the view's primary", unsigned),
        ("O differs from V's selection", bad_o),
        ("fewer than q view-changes", short),
        ("duplicate sender", dup),
        ("prepared certificate below q - 1", weak_cert),
        ("prepare counted from the primary", primary_prepare),
    ] {
        let mut r = Replica::new(3, &n4);
        r.on_message(0, 2, Msg::NewView(nv));
        assert_eq!((r.view(), r.is_active()), (0, true), "accepted: {what}");
    }
    // Relayed by another replica, the primary's NEW-VIEW still counts.
    let mut relayed = Replica::new(3, &n4);
    relayed.on_message(0, 1, Msg::NewView(good.clone()));
    assert_eq!((relayed.view(), relayed.is_active()), (2, true));
    let mut r = Replica::new(3, &n4);
    let out = r.on_message(0, 2, Msg::NewView(good));
    assert_eq!((r.view(), r.is_active()), (2, true));
    // The backup multicasts a PREPARE for each pre-prepare in O.
    for p in o {
        assert!(has(&out, |m| matches!(m, Msg::Prepare(v)
            if v.view == 2 && v.seq == p.seq && v.digest == p.digest)));
    }
}

#[test]
fn f_plus_one_view_changes_make_a_replica_join() {
    let mut r = Replica::new(3, &cfg(4, vec![]));
    let joins = |out: &[Action<Msg>]| has(out, |m| matches!(m, Msg::ViewChange(v) if v.view == 1));
    // One (possibly faulty) replica cannot force a view change.
    assert!(!joins(&r.on_message(
        0,
        0,
        Msg::ViewChange(vc(1, 0, vec![]))
    )));
    assert!(r.is_active());
    assert!(joins(&r.on_message(
        0,
        1,
        Msg::ViewChange(vc(1, 1, vec![]))
    )));
    assert_eq!((r.view(), r.is_active()), (1, false));
}

#[test]
fn view_change_timeout_doubles() {
    let mut r = Replica::new(3, &cfg(4, vec![]));
    let timer = |out: &[Action<Msg>], after: u64| {
        out.iter().find_map(|a| match a {
            Action::SetTimer { id, after: t } if *t == after => Some(*id),
            _ => None,
        })
    };
    let id = timer(&r.on_input(0, batch(1)), T).expect("request timer T");
    for (view, wait) in [(1, 2 * T), (2, 4 * T), (3, 8 * T)] {
        let out = r.on_timer(0, id);
        assert!(has(
            &out,
            |m| matches!(m, Msg::ViewChange(v) if v.view == view)
        ));
        // The NEW-VIEW timer starts with q VIEW-CHANGEs for the view, doubled each time.
        let mut started = None;
        for from in [0, 1] {
            let out = r.on_message(0, from, Msg::ViewChange(vc(view, from, vec![])));
            started = started.or(timer(&out, wait));
        }
        assert_eq!(started, Some(id), "view {view}: timer {wait}");
    }
}

#[test]
fn behaviours_change_what_is_sent() {
    let b = batch(1);
    // Crash-silent: nothing at all.
    let mut r = Replica::new(
        0,
        &cfg(
            4,
            vec![Fault {
                node: 0,
                behaviour: Behaviour::CrashSilent,
            }],
        ),
    );
    assert!(r.on_input(0, b).is_empty() && !r.is_honest());
    // Equivocating primary: two digests for (view 0, seq 1), to different backups.
    let mut r = Replica::new(
        0,
        &cfg(
            4,
            vec![Fault {
                node: 0,
                behaviour: Behaviour::EquivocatingLeader,
            }],
        ),
    );
    let out = r.on_input(0, b);
    let digests: std::collections::BTreeSet<_> = sent(&out)
        .into_iter()
        .filter_map(|m| match m {
            Msg::PrePrepare(p) if p.seq == 1 => Some(p.digest),
            _ => None,
        })
        .collect();
    assert_eq!(
        digests.len(),
        2,
        "one batch, and a null request for the other half"
    );
    // It backs the second one with a COMMIT as well.
    assert!(has(&out, |m| matches!(m, Msg::Commit(v) if v.seq == 1)));
    // A wrong-content primary proposes the batch's id with another digest; an honest backup
    // holding the client's copy refuses it, a wrong-content one votes for it.
    let wrong = cfg(
        4,
        vec![Fault {
            node: 0,
            behaviour: Behaviour::WrongContent,
        }],
    );
    let out = Replica::new(0, &wrong).on_input(0, b);
    let forged = sent(&out).into_iter().find_map(|m| match m {
        Msg::PrePrepare(p) => Some(p),
        _ => None,
    });
    let forged = forged.expect("a proposal");
    assert_ne!(forged.digest, b.digest);
    let prepares = |r: &mut Replica| {
        r.on_input(0, b);
        let out = r.on_message(0, 0, Msg::PrePrepare(forged.clone()));
        has(&out, |m| matches!(m, Msg::Prepare(_)))
    };
    assert!(!prepares(&mut Replica::new(1, &wrong)));
    let colluding = cfg(
        4,
        vec![Fault {
            node: 1,
            behaviour: Behaviour::WrongContent,
        }],
    );
    assert!(prepares(&mut Replica::new(1, &colluding)));
    // A state-transfer liar claims a height far above its own.
    let liar = cfg(
        4,
        vec![Fault {
            node: 2,
            behaviour: Behaviour::LyingStateTransfer,
        }],
    );
    let out = Replica::new(2, &liar).on_message(0, 3, Msg::Fetch { after: 0 });
    assert!(has(&out, |m| matches!(
        m,
        Msg::Blocks { height: 1_000, .. }
    )));
    // Withheld and invalid votes.
    for (behaviour, expect) in [
        (Behaviour::WithholdVotes, None),
        (Behaviour::InvalidVotes, Some(false)),
        (Behaviour::Honest, Some(true)),
    ] {
        let mut r = Replica::new(1, &cfg(4, vec![Fault { node: 1, behaviour }]));
        let out = r.on_message(0, 0, pp(0, 1, Some(b)));
        let prepare = sent(&out).into_iter().find_map(|m| match m {
            Msg::Prepare(v) => Some(v.digest == b.digest),
            _ => None,
        });
        assert_eq!(prepare, expect, "{behaviour:?}");
    }
}

#[test]
fn message_sizes_and_signatures() {
    let b = batch(1);
    assert_eq!(VOTE_BYTES, 24 + 32 + 64);
    assert_eq!(Msg::Prepare(vote(0, 1, b.digest)).size(), VOTE_BYTES);
    assert_eq!(pp(0, 1, Some(b)).size(), VOTE_BYTES + 100 + 8);
    assert_eq!(pp(0, 1, Some(b)).signatures(), 1);
    let v = vc(1, 0, vec![cert(0, 1, b, vec![1, 2])]);
    // Its own signature, then the certificate's pre-prepare and two prepares.
    assert_eq!(Msg::ViewChange(v.clone()).signatures(), 1 + 3);
    assert!(Msg::ViewChange(v).size() > 3 * VOTE_BYTES + 100);
}

#[test]
fn hostile_messages_never_panic() {
    let big = u64::MAX;
    let b = batch(1);
    let forged_stable = StableProof {
        seq: big - big % 16,
        digest: [1; 32],
        signers: vec![0, 1, 2],
    };
    let mut hostile = vc(big, 0, vec![]);
    hostile.stable = forged_stable.clone();
    let msgs = vec![
        pp(big, big, Some(b)),
        pp(0, big, Some(b)),
        Msg::Prepare(vote(big, big, b.digest)),
        Msg::Commit(vote(0, big, b.digest)),
        Msg::Commit(vote(big, 1, b.digest)),
        Msg::Checkpoint {
            seq: big,
            digest: [0; 32],
        },
        Msg::ViewChange(hostile.clone()),
        Msg::ViewChange(ViewChange {
            replica: 1,
            ..hostile.clone()
        }),
        Msg::ViewChange(vc(big, 7, vec![cert(big, big, b, vec![9, 9, 9])])),
        Msg::NewView(NewView {
            view: big,
            primary: (big % 4) as usize,
            view_changes: (0..3)
                .map(|i| ViewChange {
                    replica: i,
                    ..hostile.clone()
                })
                .collect(),
            pre_prepares: vec![],
        }),
        Msg::Fetch { after: big },
        Msg::Blocks {
            height: big,
            blocks: vec![],
        },
    ];
    for who in 0..4 {
        let mut r = Replica::new(who, &cfg(4, vec![]));
        r.on_input(0, b);
        for from in [0, 1, 2, 3, 99] {
            for m in &msgs {
                r.on_message(0, from, m.clone());
            }
        }
        for id in 0..6 {
            r.on_timer(0, id);
        }
        r.on_recover(0);
        // The forged NEW-VIEW and VIEW-CHANGEs for the last view moved nobody there.
        assert!(r.view() < big, "replica {who}");
    }
}
