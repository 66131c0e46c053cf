//! PBFT configuration: the quorum ⌈(n + f + 1) / 2⌉ (not 2f + 1 when n ≠ 3f + 1), the fault
//! threshold, the analytic message count, and refusal of n < 3f + 1 (also for an f so large
//! that 3f + 1 overflows).

use securefl_consensus::pbft::{
    Behaviour, Fault, Params, Pbft, max_faulty, messages_per_block, quorum,
};

#[test]
fn quorum_when_n_is_not_3f_plus_1() {
    // n = 5, 6, 8, 9: the naive 2f + 1 (3, 3, 5, 5) would be unsafe.
    for (n, f, q) in [(5, 1, 4), (6, 1, 4), (8, 2, 6), (9, 2, 6)] {
        assert_eq!(max_faulty(n), f, "f for n = {n}");
        assert_eq!(quorum(n, f), q, "q for n = {n}");
        assert_ne!(q, 2 * f + 1, "n = {n} must not use 2f + 1");
        assert_eq!(Pbft::new(n, &Params::default()).unwrap().quorum(), q);
    }
}

#[test]
fn quorum_when_n_is_3f_plus_1() {
    for (n, f, q) in [(4, 1, 3), (7, 2, 5), (10, 3, 7)] {
        assert_eq!(max_faulty(n), f);
        assert_eq!(quorum(n, f), q);
        assert_eq!(q, 2 * f + 1);
        let cfg = Pbft::new(n, &Params::default()).unwrap();
        assert_eq!((cfg.n(), cfg.f(), cfg.quorum()), (n, f, q));
    }
}

#[test]
fn any_two_quorums_share_a_correct_replica() {
    for n in 1..60 {
        let f = max_faulty(n);
        let q = quorum(n, f);
        assert!(
            2 * q > n + f,
            "n = {n}: two quorums overlap in fewer than f + 1"
        );
        assert!(
            q <= n - f,
            "n = {n}: a quorum needs a faulty replica to answer"
        );
    }
}

#[test]
fn n_below_3f_plus_1_is_refused() {
    for (n, f) in [(4, 2), (6, 2), (9, 3), (3, 1)] {
        let params = Params {
            f: Some(f),
            ..Params::default()
        };
        let err = Pbft::new(n, &params).unwrap_err();
        assert!(
            err.contains(&format!("n = {n}")) && err.contains(&format!("f = {f}")),
            "{err}"
        );
        assert!(err.contains("3f + 1"), "{err}");
    }
    // An explicit f that fits is accepted, and a smaller f gives a smaller quorum.
    let params = Params {
        f: Some(1),
        ..Params::default()
    };
    let cfg = Pbft::new(7, &params).unwrap();
    assert_eq!((cfg.f(), cfg.quorum()), (1, 5));
    assert!(Pbft::new(0, &Params::default()).is_err());
}

#[test]
fn other_parameters_are_checked() {
    let bad = [
        Params {
            checkpoint_interval: 0,
            ..Params::default()
        },
        Params {
            view_change_timeout_us: 0,
            ..Params::default()
        },
        Params {
            faults: vec![Fault {
                node: 4,
                behaviour: Behaviour::CrashSilent,
            }],
            ..Params::default()
        },
        Params {
            faults: vec![
                Fault {
                    node: 1,
                    behaviour: Behaviour::CrashSilent,
                },
                Fault {
                    node: 1,
                    behaviour: Behaviour::WithholdVotes,
                },
            ],
            ..Params::default()
        },
    ];
    for p in bad {
        assert!(Pbft::new(4, &p).is_err(), "{p:?}");
    }
}

#[test]
fn defaults() {
    let p = Params::default();
    assert_eq!(p.f, None);
    assert_eq!(p.checkpoint_interval, 16);
    assert_eq!(p.view_change_timeout_us, 500_000);
    assert_eq!(p.state_transfer_timeout_us, 100_000);
    let cfg = Pbft::new(4, &p).unwrap();
    assert_eq!((cfg.checkpoint_interval(), cfg.log_window()), (16, 32));
    assert!((0..4).all(|i| cfg.behaviour(i) == Behaviour::Honest));
}

#[test]
fn analytic_messages_per_block() {
    for (n, m) in [(4, 24), (7, 84), (10, 180), (13, 312), (16, 480)] {
        assert_eq!(messages_per_block(n), m);
    }
}

#[test]
fn a_huge_f_is_refused_not_overflowed() {
    for f in [usize::MAX, usize::MAX / 3, usize::MAX / 3 + 1] {
        let err = Pbft::new(
            4,
            &Params {
                f: Some(f),
                ..Params::default()
            },
        )
        .unwrap_err();
        assert!(err.contains("3f + 1"), "{err}");
    }
}
