//! Config errors name the file, the line and the problem; plugins are built from the registry.

use std::path::Path;

use securefl_core::{Config, Plugins};

use crate::support::{config_text, registry};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(Path::new("exp.toml"), text).map_err(|e| e.to_string())
}

fn build(text: &str) -> Result<(), String> {
    let cfg = parse(text)?;
    Plugins::build(&cfg, &registry())
        .map(drop)
        .map_err(|e| e.to_string())
}

#[test]
fn a_valid_config_fills_defaults() {
    let cfg = parse(&config_text(3, 2)).unwrap();
    assert_eq!(cfg.name, "exp");
    assert_eq!(
        (cfg.partition.kind.as_str(), cfg.attack.kind.as_str()),
        ("iid", "none")
    );
    assert_eq!(
        (cfg.smpc.kind.as_str(), cfg.consensus.kind.as_str()),
        ("none", "none")
    );
    assert_eq!(cfg.federation.min_samples, 10);
    assert_eq!(cfg.adversary.from_round, 1);
    assert!(build(&config_text(3, 2)).is_ok());
}

#[test]
fn unknown_top_level_key_names_key_and_line() {
    let text = config_text(3, 2).replace("seed = 7", "seed = 7\nsede = 8");
    let err = parse(&text).unwrap_err();
    assert!(err.starts_with("exp.toml:3: unknown field `sede`"), "{err}");
}

#[test]
fn unknown_nested_key_names_key_and_line() {
    let text = config_text(3, 2).replace("rounds = 2", "rounds = 2\nround = 3");
    let err = parse(&text).unwrap_err();
    assert!(
        err.starts_with("exp.toml:7: unknown field `round`"),
        "{err}"
    );
}

#[test]
fn unknown_plugin_param_names_section_field_and_line() {
    let text = config_text(3, 2).replace(
        "flag = \"pneumoniamnist\"",
        "flag = \"pneumoniamnist\"\nsplit = \"val\"",
    );
    let err = build(&text).unwrap_err();
    assert!(
        err.starts_with("exp.toml:11: [dataset] `split`: unknown field `split`"),
        "{err}"
    );
}

#[test]
fn unknown_plugin_lists_known_ones() {
    let text = config_text(3, 2).replace("kind = \"fedavg\"", "kind = \"fedavgg\"");
    let err = build(&text).unwrap_err();
    assert!(
        err.starts_with(
            "exp.toml:21: [defense] `kind`: unknown defense plugin `fedavgg` (known: bulyan, \
             centered-clip, fedavg, fltrust, krum, median, multi-krum, smpc-verify, trimmed-mean)"
        ),
        "{err}"
    );
}

#[test]
fn unknown_inline_optimizer_field_is_refused() {
    let text = config_text(3, 2).replace("lr = 0.001", "lr = 0.001, momentum = 0.9");
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains("unknown field `momentum`") && err.starts_with("exp.toml:18:"),
        "{err}"
    );
}

#[test]
fn format_version_is_required_and_checked() {
    let err = parse(&config_text(3, 2).replace("securefl = 1\n", "")).unwrap_err();
    assert!(err.contains("missing `securefl = 1`"), "{err}");
    let err = parse(&config_text(3, 2).replace("securefl = 1", "securefl = 2")).unwrap_err();
    assert!(
        err.starts_with("exp.toml:1: config format 2 is not supported"),
        "{err}"
    );
}

#[test]
fn malformed_toml_is_one_line_with_its_position() {
    let err = parse("securefl = 1\nseed = [\n").unwrap_err();
    assert!(err.starts_with("exp.toml:") && !err.contains('\n'), "{err}");
}

#[test]
fn plugin_section_without_kind_is_refused() {
    let err = build(&config_text(3, 2).replace("kind = \"fedavg\"", "")).unwrap_err();
    assert!(err.contains("[defense] needs `kind"), "{err}");
}

#[test]
fn chestmnist_is_refused_as_multi_label() {
    let err = build(&config_text(3, 2).replace("pneumoniamnist", "chestmnist")).unwrap_err();
    assert!(err.contains("multi-label"), "{err}");
}

#[test]
fn resolved_config_round_trips_through_toml() {
    let cfg = parse(&config_text(3, 2)).unwrap();
    let text = toml::to_string(&cfg.resolved()).unwrap();
    let again = parse(&text).unwrap();
    assert_eq!(again.federation, cfg.federation);
    assert_eq!(again.train, cfg.train);
    assert_eq!(again.defense.kind, "fedavg");
}

#[test]
fn settings_that_cannot_run_are_refused_with_their_line() {
    let cases = [
        (
            "batch-size = 64",
            "batch-size = 0",
            "exp.toml:17: [train] `batch-size`: must be at least 1, got 0",
        ),
        (
            "local-epochs = 1",
            "local-epochs = 0",
            "exp.toml:16: [train] `local-epochs`: must be at least 1",
        ),
        (
            "hospitals = 3",
            "hospitals = 0",
            "exp.toml:5: [federation] `hospitals`: must be at least 1",
        ),
        (
            "lr = 0.001",
            "lr = nan",
            "exp.toml:18: [train] `lr`: must be positive and finite, got NaN",
        ),
        (
            "lr = 0.001",
            "lr = -1.0",
            "exp.toml:18: [train] `lr`: must be positive",
        ),
        (
            "lr = 0.001",
            "lr = 0.001, beta1 = 1.0",
            "exp.toml:18: [train] `beta1`: must be in [0, 1)",
        ),
        (
            "seed = 7",
            "seed = 7\nname = \"../..\"",
            "exp.toml:3: name \"../..\" must be",
        ),
        (
            "seed = 7",
            "seed = 7\nname = \"\"",
            "exp.toml:3: name \"\" must be",
        ),
    ];
    for (from, to, want) in cases {
        let err = parse(&config_text(3, 2).replace(from, to)).unwrap_err();
        assert!(err.starts_with(want), "{to}: {err}");
    }
}

#[test]
fn adversary_errors_point_at_the_adversary_table() {
    let text = format!("{}\n[adversary]\nfraction = 1.5\n", config_text(3, 2));
    let err = parse(&text).unwrap_err();
    assert!(
        err.starts_with("exp.toml:24: [adversary] `fraction`: 1.5 is not a fraction"),
        "{err}"
    );
    let text = format!("{}\n[adversary]\nhospitals = [1, 3]\n", config_text(3, 2));
    let err = parse(&text).unwrap_err();
    assert!(
        err.starts_with("exp.toml:24: [adversary] `hospitals`: hospital 3 does not exist"),
        "{err}"
    );
}

#[test]
fn validators_and_consensus_settings_are_checked() {
    let text = format!(
        "{}\n[adversary]\nlying-validators = [5]\n",
        config_text(3, 2)
    );
    let err = parse(&text).unwrap_err();
    assert!(
        err.contains("`lying-validators`: validator 5 does not exist (validators are 0..3)"),
        "{err}"
    );
    // A configured validator set: 4 validators for 3 hospitals.
    let four = config_text(3, 2).replace("[federation]\n", "[federation]\nvalidators = 4\n");
    build(&format!("{four}\n[adversary]\nlying-validators = [3]\n")).unwrap();
    let err = parse(&config_text(3, 2).replace("[federation]\n", "[federation]\nvalidators = 0\n"))
        .unwrap_err();
    assert!(err.contains("`validators`"), "{err}");
    // PBFT with 4 validators cannot tolerate f = 2: a config error at [consensus].
    let err = build(&format!("{four}\n[consensus]\nkind = \"pbft\"\nf = 2\n")).unwrap_err();
    assert!(
        err.starts_with("exp.toml:") && err.contains("n = 4") && err.contains("f = 2"),
        "{err}"
    );
}

#[test]
fn a_weight_bound_the_norm_bound_cannot_square_exactly_is_refused() {
    let gate = |params: &str| {
        config_text(3, 2).replace(
            "[defense]\nkind = \"fedavg\"",
            &format!(
                "[defense]\nkind = \"smpc-verify\"\n{params}\n\n[smpc]\nkind = \"additive-2pc\""
            ),
        )
    };
    assert_eq!(build(&gate("")), Ok(()));
    // ±8 is the widest range at f = 16 for the paper CNN with factor 2; ±16 is refused.
    assert_eq!(build(&gate("weight-bound = 8.0")), Ok(()));
    let err = build(&gate("weight-bound = 16.0")).unwrap_err();
    assert!(
        err.starts_with("exp.toml:")
            && err.contains("`weight-bound` 16 is wider")
            && err.contains("at most 8"),
        "{err}"
    );
    // A wider factor narrows the range: factor 4 at ±8 is refused.
    assert!(build(&gate("weight-bound = 8.0\nnorm-bound = 4.0")).is_err());
    assert_eq!(build(&gate("weight-bound = 8.0\nnorm-bound = 0")), Ok(()));
}

#[test]
fn cross_hospital_validation_needs_one_validator_per_hospital_and_the_class_rule() {
    let gate = |params: &str, federation: &str| {
        config_text(3, 2)
            .replace("[federation]\n", &format!("[federation]\n{federation}"))
            .replace(
                "[defense]\nkind = \"fedavg\"",
                &format!(
                    "[defense]\nkind = \"smpc-verify\"\n{params}\n\n[smpc]\nkind = \"additive-2pc\""
                ),
            )
    };
    let cross = "validation = \"cross-hospital\"\nrule = \"class-conditional\"\nfloor = \"none\"";
    assert_eq!(build(&gate(cross, "")), Ok(()));
    let err = build(&gate(cross, "validators = 4\n")).unwrap_err();
    assert!(
        err.starts_with("exp.toml:")
            && err.contains("[defense]")
            && err.contains("`federation.validators` is 4, the hospitals are 3"),
        "{err}"
    );
    let err = build(&gate("validation = \"cross-hospital\"", "")).unwrap_err();
    assert!(
        err.contains("`validation`") && err.contains("class-conditional"),
        "{err}"
    );
}

#[test]
fn ledger_keys_come_from_one_place_and_round_trip() {
    let base = config_text(3, 2);
    let err = parse(&format!(
        "{base}\n[ledger]\nkeys = \"k\"\nseeded-keys = true\n"
    ))
    .unwrap_err();
    assert!(
        err.contains("[ledger] `keys` and `seeded-keys` exclude each other"),
        "{err}"
    );
    let err = parse(&format!("{base}\n[ledger]\nkey = \"k\"\n")).unwrap_err();
    assert!(err.contains("unknown field `key`"), "{err}");
    // Unset, it leaves the resolved config (and so sweep cell ids) as it was.
    assert!(!parse(&base).unwrap().resolved().contains_key("ledger"));
    let cfg = parse(&format!("{base}\n[ledger]\nkeys = \"keys/site\"\n")).unwrap();
    let again = parse(&toml::to_string(&cfg.resolved()).unwrap()).unwrap();
    assert_eq!(again.ledger, cfg.ledger);
    assert_eq!(cfg.key_dir(), Some(Path::new("keys/site").to_path_buf()));
}
