//! Tests of `gate-aware`: parameters, the search boundary on synthetic updates, sharing,
//! the fallback, the BadNets data path, and determinism with real (reference) scoring.

use super::*;
use crate::testutil::{build, ctx, gaussian_updates, images, refused_field, update};
use securefl_api::{Arch, ModelSpec};

fn attack(params: &str) -> GateAware {
    let p: Params = securefl_api::Params::from_toml(params)
        .unwrap()
        .parse()
        .unwrap();
    GateAware::new(p).unwrap()
}

/// The returned strength passes the estimated norm bound, and `γ + 2 · tolerance` does not.
fn assert_boundary(c: &Crafted, tolerance: f64, what: &str) {
    let g = c.strength.unwrap_or_else(|| panic!("{what}: no strength"));
    assert!(g > 0.1 && g < 9.0, "{what}: γ {g}");
    assert_eq!(c.delta, c.line.at(g), "{what}");
    assert!(c.gate.norm_ok(norm(&c.delta)), "{what}");
    assert!(
        !c.gate.norm_ok(norm(&c.line.at(g + 2.0 * tolerance))),
        "{what}: γ + 2τ still passes"
    );
}

#[test]
fn parses_defaults_and_every_field() {
    let p: Params = securefl_api::Params::empty().parse().unwrap();
    assert_eq!(p.direction, Direction::SignFlip);
    assert_eq!(p.knowledge, Knowledge::Own);
    assert_eq!(
        (p.margin, p.norm_factor, p.slack, p.score_slack),
        (0.05, 2.0, 0.95, 0.0)
    );
    assert_eq!(
        (p.tolerance, p.max_strength, p.score_images),
        (1e-3, 10.0, 200)
    );
    let a = attack(
        "direction = \"backdoor\"\nknowledge = \"omniscient\"\nmargin = 0.1\nnorm-factor = 3\n\
         slack = 0.9\nscore-slack = 0.02\ntolerance = 0.01\nmax-strength = 5\nscore-images = 50\n\
         target = 1\ntrigger-size = 2\npoison-fraction = 0.25",
    );
    let p = a.params;
    assert_eq!(p.direction, Direction::Backdoor);
    assert_eq!(p.knowledge, Knowledge::Omniscient);
    assert_eq!(
        (p.margin, p.norm_factor, p.slack, p.score_slack),
        (0.1, 3.0, 0.9, 0.02)
    );
    assert_eq!(
        (p.tolerance, p.max_strength, p.score_images),
        (0.01, 5.0, 50)
    );
    assert!(a.backdoor.is_some());
    assert!(attack("direction = \"lie\"").backdoor.is_none());
    assert!(attack("norm-factor = 0").params.norm_factor == 0.0);
}

#[test]
fn bad_params_are_refused_with_the_field() {
    for (params, field) in [
        ("direction = \"boost\"", "direction"),
        ("knowledge = \"partial\"", "knowledge"),
        ("margin = 1.5", "margin"),
        ("norm-factor = 0.5", "norm-factor"),
        ("slack = 0", "slack"),
        ("slack = 1.2", "slack"),
        ("score-slack = -0.1", "score-slack"),
        ("tolerance = 0", "tolerance"),
        ("max-strength = -1", "max-strength"),
        ("direction = \"backdoor\"\nmax-strength = 1", "max-strength"),
        ("score-images = 0", "score-images"),
        ("target = 1", "target"),
        ("direction = \"lie\"\ntrigger-size = 2", "trigger-size"),
        (
            "direction = \"backdoor\"\npoison-fraction = 2",
            "poison-fraction",
        ),
        ("direction = \"backdoor\"\ntrigger-size = 0", "trigger-size"),
        ("gamma = 1", "gamma"),
        ("neighbour-rank = true", "neighbour-rank"),
        ("neighbour-bound = 2", "neighbour-bound"),
        (
            "knowledge = \"omniscient\"\nneighbour-bound = 0.5",
            "neighbour-bound",
        ),
    ] {
        assert_eq!(
            refused_field("gate-aware", params),
            Some(field.into()),
            "{params}"
        );
    }
}

#[test]
fn knowledge_follows_the_parameter() {
    let own = build("gate-aware", "").unwrap();
    assert_eq!(own.knowledge(), AttackKnowledge::Own);
    let omni = build("gate-aware", "knowledge = \"omniscient\"").unwrap();
    assert_eq!(omni.knowledge(), AttackKnowledge::Omniscient);
}

#[test]
fn omniscient_search_stops_at_the_norm_boundary_for_every_direction() {
    let honest = gaussian_updates(3, 9, 60);
    let own = gaussian_updates(4, 1, 60).remove(0);
    for dir in ["sign-flip", "lie", "backdoor"] {
        let params = format!("direction = \"{dir}\"\nknowledge = \"omniscient\"\ntolerance = 1e-4");
        let a = attack(&params);
        let mut u = update(0, 100, own.delta.clone());
        let c = a.craft(&ctx(&honest, &[]), &u, &BTreeMap::new()).unwrap();
        assert_boundary(&c, 1e-4, dir);
        assert_eq!(c.gate.dist.len(), 9);
        assert!(c.gate.scores.is_none(), "no images held: norm only");
        // The registered attack submits exactly this update.
        let mut registered = build("gate-aware", &params).unwrap();
        registered
            .poison_update(&ctx(&honest, &[]), &mut u)
            .unwrap();
        assert_eq!(u.delta, c.delta, "{dir}");
    }
}

#[test]
fn a_neighbour_rule_only_shortens_the_search_and_its_result_passes_it() {
    let honest = gaussian_updates(3, 9, 60);
    let own = gaussian_updates(4, 1, 60).remove(0);
    let u = update(0, 100, own.delta.clone());
    let rows: Vec<&[f32]> = honest.iter().map(|h| h.delta.as_slice()).collect();
    let craft = |extra: &str| {
        // LIE starts at the benign mean, the most central point, and moves away.
        attack(&format!(
            "direction = \"lie\"\nknowledge = \"omniscient\"\n{extra}"
        ))
        .craft(&ctx(&honest, &[]), &u, &BTreeMap::new())
        .unwrap()
    };
    let plain = craft("").strength.unwrap();
    for (extra, factor, rank) in [
        ("neighbour-rank = true", 0.0, true),
        ("neighbour-bound = 1.0", 1.0, false),
    ] {
        let c = craft(extra);
        let g = c.strength.unwrap();
        assert!(g <= plain, "{extra}: {g} > {plain}");
        let rule = Neighbours::new(&rows, 1, factor, rank, 0.95);
        assert!(rule.ok(&rows, &c.delta), "{extra}");
        assert!(
            !rule.ok(&rows, &c.line.at(10.0)),
            "{extra}: the rule never binds"
        );
    }
}

#[test]
fn own_mode_search_uses_the_colluders_seen_so_far() {
    let updates = gaussian_updates(5, 3, 60);
    let colluders = [0, 1, 2];
    let at = |h: usize| AttackCtx {
        hospital: h,
        hospitals: 10,
        malicious: 3,
        colluders: &colluders,
        ..ctx(&[], &[])
    };
    for dir in ["sign-flip", "lie", "backdoor"] {
        let params = format!("direction = \"{dir}\"\ntolerance = 1e-4");
        let mut a = attack(&params);
        let mut submitted = Vec::new();
        for (h, honest) in updates.iter().enumerate() {
            let mut u = update(h, 100, honest.delta.clone());
            a.poison_update(&at(h), &mut u).unwrap();
            submitted.push(u.delta);
        }
        // The third colluder's search, replayed from the same three honest updates.
        let seen: BTreeMap<usize, Vec<f32>> =
            (0..3).map(|h| (h, updates[h].delta.clone())).collect();
        let c = a.craft(&at(2), &updates[2], &seen).unwrap();
        assert_eq!(c.gate.dist.len(), 7, "{dir}: n − m benign distances");
        assert_boundary(&c, 1e-4, dir);
        assert_eq!(submitted[2], c.delta, "{dir}");
        if dir == "lie" {
            // One update has no spread: the first colluder keeps its honest update.
            assert_eq!(submitted[0], updates[0].delta);
        } else {
            assert_ne!(submitted[0], updates[0].delta, "{dir}");
        }
    }
}

#[test]
fn sign_flip_own_mode_is_bounded_by_slack_times_factor() {
    // A lone attacker among ten estimates every benign distance as its own: γ ≈ 0.95 · 2.
    let honest = update(0, 100, vec![3.0, -4.0]);
    let c = AttackCtx {
        hospitals: 10,
        ..ctx(&[], &[])
    };
    let mut a = attack("tolerance = 1e-6");
    let mut u = honest.clone();
    a.poison_update(&c, &mut u).unwrap();
    let gamma = -f64::from(u.delta[0]) / 3.0;
    assert!((gamma - 1.9).abs() < 1e-5, "{gamma}");
    assert!((norm(&u.delta) - 9.5).abs() < 1e-4);
}

#[test]
fn omniscient_colluders_share_the_first_crafted_update() {
    let honest = gaussian_updates(3, 8, 40);
    let colluders = [0, 9];
    let at = |h: usize| AttackCtx {
        hospital: h,
        hospitals: 10,
        malicious: 2,
        colluders: &colluders,
        round: 4,
        ..ctx(&honest, &[])
    };
    let mut a = build("gate-aware", "knowledge = \"omniscient\"").unwrap();
    let mut first = update(0, 100, vec![1.0; 40]);
    let mut second = update(9, 100, vec![-2.0; 40]);
    a.poison_update(&at(0), &mut first).unwrap();
    a.poison_update(&at(9), &mut second).unwrap();
    assert_eq!(first.delta, second.delta);
    // A new round crafts afresh from that round's benign updates.
    let other = gaussian_updates(8, 8, 40);
    let mut next = update(0, 100, vec![1.0; 40]);
    let later = AttackCtx { round: 5, ..at(0) };
    a.poison_update(
        &AttackCtx {
            benign: &other,
            ..later
        },
        &mut next,
    )
    .unwrap();
    assert_ne!(next.delta, first.delta);
}

#[test]
fn keeps_the_trained_update_when_even_the_smallest_strength_fails() {
    let honest = gaussian_updates(3, 9, 60);
    // A poisoned update five times the benign length fails the bound already unboosted.
    let big: Vec<f32> = honest[0].delta.iter().map(|v| 5.0 * v).collect();
    let a = attack("direction = \"backdoor\"\nknowledge = \"omniscient\"");
    let u = update(0, 100, big.clone());
    let c = a.craft(&ctx(&honest, &[]), &u, &BTreeMap::new()).unwrap();
    assert_eq!(c.strength, None);
    assert_eq!(c.delta, big);
    let mut registered = build(
        "gate-aware",
        "direction = \"backdoor\"\nknowledge = \"omniscient\"",
    )
    .unwrap();
    let mut u = update(0, 100, big.clone());
    registered
        .poison_update(&ctx(&honest, &[]), &mut u)
        .unwrap();
    assert_eq!(u.delta, big);
}

#[test]
fn omniscient_without_benign_updates_is_an_error() {
    let mut a = build("gate-aware", "knowledge = \"omniscient\"").unwrap();
    let mut u = update(0, 100, vec![1.0; 4]);
    assert!(a.poison_update(&ctx(&[], &[]), &mut u).is_err());
}

#[test]
fn backdoor_poisons_data_as_badnets_and_keeps_a_clean_copy() {
    let params = "target = 1\ntrigger-size = 4\npoison-fraction = 0.3";
    let ours = attack(&format!(
        "direction = \"backdoor\"\nscore-images = 10\n{params}"
    ));
    let badnets = build("backdoor", params).unwrap();
    let clean = images(30, 28, 1, 2);
    let (mut a, mut b) = (clean.clone(), clean.clone());
    let c = ctx(&[], &[]);
    ours.poison_data(&c, &mut a).unwrap();
    badnets.poison_data(&c, &mut b).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, clean);
    let held = ours.held(0).unwrap();
    assert_eq!(held.len(), 10);
    for i in 0..held.len() {
        assert!(
            (0..clean.len())
                .any(|j| clean.image(j) == held.image(i) && clean.labels[j] == held.labels[i]),
            "held image {i} is a clean image"
        );
    }
    assert_eq!(
        ours.trigger_test_set(&clean, 2).unwrap(),
        badnets.trigger_test_set(&clean, 2).unwrap()
    );
    // Other directions leave the data alone and plant no trigger.
    let flip = build("gate-aware", "").unwrap();
    let mut d = clean.clone();
    flip.poison_data(&c, &mut d).unwrap();
    assert_eq!(d, clean);
    assert_eq!(flip.trigger_test_set(&clean, 2).unwrap(), None);
    // Images the reference model cannot read are refused.
    let mut small = images(4, 10, 1, 2);
    assert!(flip.poison_data(&c, &mut small).is_err());
}

/// A two-class model, small benign updates around it, and 28x28 images labelled by the model's
/// own predictions (so that scores mean something).
fn scored_setting() -> (ModelSpec, Vec<f32>, Vec<ClientUpdate>, ImageSet) {
    let spec = ModelSpec {
        arch: Arch::PaperCnn,
        in_channels: 1,
        classes: 2,
    };
    let global = spec.init_weights(&mut rng(11, &["test-global"]));
    let honest: Vec<ClientUpdate> = gaussian_updates(6, 4, global.len())
        .into_iter()
        .map(|mut u| {
            u.delta.iter_mut().for_each(|v| *v *= 0.01);
            u
        })
        .collect();
    let mut data = images(40, 28, 1, 2);
    for i in 0..data.len() {
        let logits = securefl_api::reference::forward_one(&spec, &global, &data, i);
        data.labels[i] = u8::from(logits[1] > logits[0]);
    }
    (spec, global, honest, data)
}

/// Runs one omniscient attacker (data hook with `data_seed`) and returns its update and search.
fn scored_run(params: &str, data_seed: u64) -> (Vec<f32>, Crafted) {
    let (spec, global, honest, data) = scored_setting();
    let base = AttackCtx {
        global: &global,
        spec,
        hospitals: 5,
        ..ctx(&honest, &[])
    };
    let data_ctx = AttackCtx {
        seed: data_seed,
        ..base
    };
    let mut registered = build("gate-aware", params).unwrap();
    registered
        .poison_data(&data_ctx, &mut data.clone())
        .unwrap();
    let mut u = update(0, 100, vec![0.0; global.len()]);
    registered.poison_update(&base, &mut u).unwrap();
    let a = attack(params);
    a.poison_data(&data_ctx, &mut data.clone()).unwrap();
    let c = a
        .craft(
            &base,
            &update(0, 100, vec![0.0; global.len()]),
            &BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(
        u.delta, c.delta,
        "the registered attack submits the search's update"
    );
    // The crafted update passes the attacker's own estimate, scores included.
    let g = c.strength.expect("a strength passes");
    let held = a.held(0).unwrap();
    let scorer = Scorer::new(spec, &global, &held).unwrap();
    assert!(c.gate.scores.is_some());
    assert!(c.gate.score_ok(&scorer.eval(&c.line.at(g))));
    assert!(c.gate.norm_ok(norm(&c.delta)));
    (u.delta, c)
}

#[test]
fn scores_with_the_reference_model_and_is_deterministic() {
    let params =
        "direction = \"lie\"\nknowledge = \"omniscient\"\nscore-images = 8\ntolerance = 0.05";
    let (first, _) = scored_run(params, 7);
    assert_eq!(first, scored_run(params, 7).0);
    // Without the norm bound the score bar alone stops a long sign flip.
    let params = "knowledge = \"omniscient\"\nnorm-factor = 0\nmax-strength = 1000\n\
                  score-images = 8\ntolerance = 0.5";
    let (_, c) = scored_run(params, 7);
    let g = c.strength.unwrap();
    assert!(g < 1000.0, "{g}");
}
